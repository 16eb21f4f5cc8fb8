// `tori serve`: the HTTP API of SPEC section 7 over the data directory, read-only (as
// verify and explain open it), until SIGINT or SIGTERM.
#include <signal.h>

#include <cstdio>
#include <fstream>
#include <sstream>

#include "fmt/format.h"
#include "services/server/api.h"
#include "services/server/http_server.h"
#include "tools/tori/commands.h"

namespace tori {
namespace {

// "127.0.0.1:8080", "[::1]:8080" -> address and port.
absl::StatusOr<std::pair<std::string, uint16_t>> ParseListen(const std::string& text) {
  const size_t colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0) {
    return absl::InvalidArgumentError(fmt::format("--listen '{}' is not ADDRESS:PORT, e.g. 127.0.0.1:8080", text));
  }
  std::string address = text.substr(0, colon);
  if (address.size() > 2 && address.front() == '[' && address.back() == ']') address = address.substr(1, address.size() - 2);
  const std::string port_text = text.substr(colon + 1);
  if (port_text.empty() || port_text.size() > 5 || port_text.find_first_not_of("0123456789") != std::string::npos ||
      std::stoi(port_text) > 65535) {
    return absl::InvalidArgumentError(fmt::format("--listen '{}': the port must be 0..65535 (0: any free port)", text));
  }
  return std::pair{address, static_cast<uint16_t>(std::stoi(port_text))};
}

}  // namespace

int RunServe(const LogOptions& data_options, const ServeOptions& options) {
  auto listen = ParseListen(options.listen);
  if (!listen.ok()) {
    fmt::print(stderr, "tori serve: {}\n", std::string(listen.status().message()));
    return kExitUsage;
  }
  if (options.tls_cert.empty() != options.tls_key.empty()) {
    fmt::print(stderr, "tori serve: TLS needs both --tls-cert and --tls-key\n");
    return kExitUsage;
  }
  auto data = OpenDataDir(data_options, DataAccess::kRead);
  if (!data.ok()) return Fail(data.status());
  // The grants are the log's access_granted and access_revoked events, as the state
  // (caught up with the log by OpenDataDir) holds them when serve starts; --grants FILE
  // adds more (tests, a first host token before the log has any).
  server::InMemoryAccessList access;
  size_t granted_in_log = 0;
  if (auto loaded = LoadAccessList(*data->state, access, &granted_in_log); !loaded.ok()) return Fail(loaded);
  if (!options.grants_file.empty()) {
    std::ifstream in(options.grants_file, std::ios::binary);
    if (!in) return Fail(absl::NotFoundError(fmt::format("cannot read --grants {}", options.grants_file)));
    std::stringstream text;
    text << in.rdbuf();
    auto grants = server::ParseGrantsJsonLines(text.str());
    if (!grants.ok()) {
      return Fail(absl::InvalidArgumentError(
          fmt::format("--grants {}: {}", options.grants_file, std::string(grants.status().message()))));
    }
    for (const auto& grant : *grants) {
      if (auto granted = access.Grant(grant); !granted.ok()) {
        return Fail(absl::InvalidArgumentError(
            fmt::format("--grants {}: {}", options.grants_file, std::string(granted.message()))));
      }
    }
  } else if (granted_in_log == 0) {
    fmt::print(stderr, "tori serve: no grants in the log (`tori access grant`) and no --grants: every /v1/ "
                       "route answers 401 (health, readiness and metrics need no token)\n");
  }

  std::FILE* access_log = stderr;
  if (!options.access_log.empty()) {
    access_log = std::fopen(options.access_log.c_str(), "a");
    if (access_log == nullptr) {
      return Fail(absl::NotFoundError(fmt::format("cannot open --access-log {} for appending", options.access_log)));
    }
  }
  server::ApiOptions api_options;
  api_options.log = data->log.get();
  api_options.state = data->state.get();
  api_options.scratch_dir = data->ScratchPath("serve");
  api_options.data_dir = data_options.data_dir;
  api_options.access = &access;
  api_options.access_log = access_log;
  api_options.portal_secure_cookies = !options.tls_cert.empty();
  server::Api api(api_options);

  // SIGINT and SIGTERM are waited for below; blocked before the server's threads start,
  // so that none of them takes the signal.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  server::HttpServerOptions server_options;
  server_options.address = listen->first;
  server_options.port = listen->second;
  server_options.tls_cert_path = options.tls_cert;
  server_options.tls_key_path = options.tls_key;
  auto http = server::HttpServer::Start(server_options, [&api](const server::HttpRequest& r) { return api.Handle(r); });
  if (!http.ok()) return Fail(http.status());
  const std::string address =
      listen->first.find(':') != std::string::npos ? "[" + listen->first + "]" : listen->first;
  fmt::print("tori serve: listening on {}://{}:{}\n", options.tls_cert.empty() ? "http" : "https", address,
             (*http)->port());
  std::fflush(stdout);
  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);
  fmt::print(stderr, "tori serve: stopping ({})\n", signal_number == SIGINT ? "SIGINT" : "SIGTERM");
  (*http)->Stop();
  if (access_log != stderr) std::fclose(access_log);
  return 0;
}

}  // namespace tori
