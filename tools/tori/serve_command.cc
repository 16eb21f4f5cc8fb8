// `tori serve`: the HTTP API of SPEC section 7 over the data directory, until SIGINT or
// SIGTERM. Serve is the state's writer (write_routes.h): it opens the data directory as
// `tori ingest` does (on the embedded log it holds the log's writer lock, so the command
// line's writing commands refuse that directory, saying the log is in use, until it
// stops, while those that only read run beside it: ARCHITECTURE.md, "The service"; on
// Kafka it is the topic's writer), and follows the log four times a second. It signs
// checkpoints on POST /v1/checkpoint with --checkpoint-key (checkpoint_route.h).
#include <signal.h>

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <optional>
#include <sstream>

#include "fmt/format.h"
#include "services/server/api.h"
#include "services/server/checkpoint_route.h"
#include "services/server/http_server.h"
#include "services/server/write_routes.h"
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

// The log serve writes to, behind one pointer that the API and the writer keep: on
// Kafka, Regain() replaces it with a new writer of the topic when another process fenced
// this one (write_routes.h, "Several writers"). Used under the state's mutex only.
class RegainableLog final : public EventLog {
 public:
  RegainableLog(std::unique_ptr<EventLog> log, LogOptions options)
      : log_(std::move(log)), options_(std::move(options)) {}
  absl::Status Regain() {
    auto log = OpenWriterLog(options_);
    if (!log.ok()) return log.status();
    log_ = *std::move(log);
    fmt::print(stderr, "tori serve: another process had become the writer of the topic; this serve is the "
                       "writer again\n");
    return absl::OkStatus();
  }
  absl::StatusOr<LogPosition> Append(absl::Span<const AppendRecord> records) override {
    return log_->Append(records);
  }
  absl::StatusOr<LogPosition> AppendUnsynced(absl::Span<const AppendRecord> records) override {
    return log_->AppendUnsynced(records);
  }
  absl::Status Sync() override { return log_->Sync(); }
  absl::StatusOr<std::unique_ptr<LogCursor>> Read(const LogPosition& from) override { return log_->Read(from); }
  LogPosition End() const override { return log_->End(); }
  int32_t partition_count() const override { return log_->partition_count(); }

 private:
  std::unique_ptr<EventLog> log_;
  LogOptions options_;
};

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
  std::optional<note::Signer> checkpoint_signer;
  std::string checkpoint_origin;
  if (!options.checkpoint_key.empty()) {
    auto signer = ReadCheckpointKey(options.checkpoint_key, options.checkpoint_origin, checkpoint_origin);
    if (!signer.ok()) {
      fmt::print(stderr, "tori serve: --checkpoint-key: {}\n", std::string(signer.status().message()));
      return kExitUsage;
    }
    checkpoint_signer = *std::move(signer);
  } else if (!options.checkpoint_origin.empty()) {
    fmt::print(stderr, "tori serve: --checkpoint-origin needs --checkpoint-key\n");
    return kExitUsage;
  }
  LogOptions writer_options = data_options;
  writer_options.kafka_writer = true;
  auto data = OpenDataDir(writer_options, DataAccess::kWrite);
  if (!data.ok()) return Fail(data.status());
  // The grants are the log's access_granted and access_revoked events, as the state
  // holds them (at start, then after each write and each step of following the log);
  // --grants FILE adds more (tests, a first host token before the log has any).
  server::InMemoryAccessList access;
  size_t granted_in_log = 0;
  if (auto loaded = server::RefreshAccessList(*data->state, access, &granted_in_log); !loaded.ok()) {
    return Fail(loaded);
  }
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
  } else if (granted_in_log == 0 && data->state->applied() == data->log->End()) {
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
  RegainableLog log(std::move(data->log), writer_options);
  std::mutex state_mutex;
  server::WriterOptions writer_setup{.log = &log, .state = data->state.get(), .state_mutex = &state_mutex,
                                     .access = &access};
  if (!writer_options.kafka_brokers.empty()) writer_setup.regain_writer = [&log] { return log.Regain(); };
  server::Writer writer(writer_setup);
  server::ApiOptions api_options;
  api_options.more_handlers = writer.Handlers();
  server::CheckpointSigner sign_checkpoints;
  if (checkpoint_signer) {
    sign_checkpoints = [&log, &data, &checkpoint_signer, &checkpoint_origin, &data_options] {
      return SignCheckpoints(log, *data->state, data_options.data_dir, *checkpoint_signer, checkpoint_origin);
    };
  }
  api_options.more_handlers["POST /v1/checkpoint"] = server::CheckpointHandler(sign_checkpoints, &state_mutex);
  api_options.state_mutex = &state_mutex;
  api_options.log = &log;
  api_options.state = data->state.get();
  api_options.scratch_dir = data->ScratchPath("serve");
  api_options.data_dir = data_options.data_dir;
  api_options.access = &access;
  api_options.access_log = access_log;
  api_options.portal_secure_cookies = !options.tls_cert.empty();
  api_options.warm_reads = true;  // the latest quarter's explanations and reports computed ahead
  server::Api api(api_options);
  writer.set_metrics(&api.metrics());
  // Not ready until the state has caught up with the log (the first Follow below).
  api.metrics().SetLogLagEvents(
      std::max<int64_t>(1, server::LagEvents(data->state->applied(), log.End())));

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
  // Probes, writes and reads each on their own handler threads with their own cap on
  // requests in flight (http_server.h, ServeRequestClasses): posts that wait for their
  // group commit (the more wait, the more one commit takes: write_routes.h, PendingWrite)
  // never take a read's or a probe's slot or thread.
  server_options.request_classes = server::ServeRequestClasses();
  server_options.classify = server::ClassifyServeRequest;
  auto http = server::HttpServer::Start(server_options, [&api](const server::HttpRequest& r) { return api.Handle(r); });
  if (!http.ok()) return Fail(http.status());
  const std::string address =
      listen->first.find(':') != std::string::npos ? "[" + listen->first + "]" : listen->first;
  fmt::print("tori serve: listening on {}://{}:{}\n", options.tls_cert.empty() ? "http" : "https", address,
             (*http)->port());
  std::fflush(stdout);
  // Follows the log between the signals: what other writers appended is applied, and the
  // grants and revocations in it hold from then on.
  int signal_number = 0;
  std::string last_error;
  while (true) {
    auto lag = writer.Follow();
    if (!lag.ok() && std::string(lag.status().message()) != last_error) {
      last_error = std::string(lag.status().message());
      fmt::print(stderr, "tori serve: cannot follow the log (reads answer from the state as it is, /readyz says "
                         "not ready): {}\n", last_error);
      api.metrics().SetLogLagEvents(std::max<int64_t>(1, api.metrics().log_lag_events()));
    } else if (lag.ok()) {
      last_error.clear();
    }
    const timespec follow_interval{0, 250'000'000};
    signal_number = sigtimedwait(&stop_signals, nullptr, &follow_interval);
    if (signal_number == SIGINT || signal_number == SIGTERM) break;
  }
  fmt::print(stderr, "tori serve: stopping ({})\n", signal_number == SIGINT ? "SIGINT" : "SIGTERM");
  (*http)->Stop();
  if (access_log != stderr) std::fclose(access_log);
  std::error_code ec;
  std::filesystem::remove_all(api_options.scratch_dir, ec);
  return 0;
}

}  // namespace tori
