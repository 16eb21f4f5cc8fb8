// POST /v1/events of `tori serve` measured (BENCHMARKS.md, "Tenth session: POST
// /v1/events"): the events of a JSON Lines file are posted as bodies of --lines lines,
// in file order, either in-process through server::Writer's handler (on a real data
// directory: DIR/log, the embedded log, and DIR/state) or over HTTP to a running
// `tori serve` (--port, keep-alive connections, a host token). --clients threads post
// at once; with --rate R the posts are started on a fixed schedule of R a second
// (open loop: a post's latency counts from its scheduled start, so a server that falls
// behind shows it), else each client posts again as soon as it is answered.
//
// Prints posts, events, answered outcomes, wall and CPU time (the process's own: the
// writer's work when in-process), events/s and the latency p50/p99/max. Bounded: at
// most --posts posts, and never more lines than the file has.
//
//   serve_write_bench --data D --events F --skip 2000 --lines 10000 --posts 10
//   serve_write_bench --data D --events F --skip 2000 --lines 1 --clients 50 --rate 500 --posts 5000
//   serve_write_bench --port 8080 --token T --events F ...  (over HTTP)
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "events/log/embedded_log.h"
#include "fmt/format.h"
#include "services/server/access.h"
#include "services/server/router.h"
#include "services/server/write_routes.h"
#include "services/state/state_store.h"

namespace tori {
namespace {

struct Flags {
  std::string data, events_path, token;
  int port = 0;
  size_t skip = 0, lines = 10000, posts = 10;
  int clients = 1;
  double rate = 0;
};

double CpuSeconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  auto s = [](const timeval& t) { return static_cast<double>(t.tv_sec) + t.tv_usec / 1e6; };
  return s(usage.ru_utime) + s(usage.ru_stime);
}

// One client's way to post a body: the answer's status and body.
using Post = std::function<std::pair<int, std::string>(const std::string& body)>;

class HttpClient {
 public:
  HttpClient(int port, std::string token) : port_(port), token_(std::move(token)) {}
  std::pair<int, std::string> Send(const std::string& body) {
    namespace http = boost::beast::http;
    for (int attempt = 0; attempt < 2; ++attempt) {
      try {
        if (!stream_) {
          stream_ = std::make_unique<boost::beast::tcp_stream>(ioc_);
          stream_->connect(boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"),
                                                        static_cast<uint16_t>(port_)));
          stream_->socket().set_option(boost::asio::ip::tcp::no_delay(true));
        }
        http::request<http::string_body> req{http::verb::post, "/v1/events", 11};
        req.set(http::field::host, "127.0.0.1");
        req.set(http::field::authorization, "Bearer " + token_);
        req.set(http::field::content_type, "application/x-ndjson");
        req.keep_alive(true);
        req.body() = body;
        req.prepare_payload();
        http::write(*stream_, req);
        http::response_parser<http::string_body> parser;
        parser.body_limit(64 << 20);
        http::read(*stream_, buffer_, parser);
        if (!parser.get().keep_alive()) Reset();
        return {static_cast<int>(parser.get().result_int()), parser.get().body()};
      } catch (const std::exception& e) {
        Reset();
        if (attempt == 1) return {-1, e.what()};
      }
    }
    return {-1, ""};
  }

 private:
  void Reset() {
    if (stream_) {
      boost::beast::error_code ignored;
      stream_->socket().close(ignored);
    }
    stream_.reset();
    buffer_.clear();
  }
  int port_;
  std::string token_;
  boost::asio::io_context ioc_;
  std::unique_ptr<boost::beast::tcp_stream> stream_;  // null: not connected
  boost::beast::flat_buffer buffer_;
};

int64_t CountAfter(const std::string& body, std::string_view name) {
  const std::string key = fmt::format("\"{}\":", name);
  const size_t at = body.find(key);
  return at == std::string::npos ? 0 : std::atoll(body.c_str() + at + key.size());
}

int Run(const Flags& flags) {
  std::ifstream in(flags.events_path);
  if (!in) {
    fmt::print(stderr, "cannot read --events {}\n", flags.events_path);
    return 1;
  }
  std::vector<std::string> bodies;
  {
    std::string line, body;
    size_t n = 0, in_body = 0;
    while (std::getline(in, line) && bodies.size() < flags.posts) {
      if (n++ < flags.skip) continue;
      body.append(line).push_back('\n');
      if (++in_body == flags.lines) {
        bodies.push_back(std::move(body));
        body.clear();
        in_body = 0;
      }
    }
  }
  // In-process: the writer over the data directory, a host caller.
  std::unique_ptr<EventLog> log;
  std::unique_ptr<StateStore> state;
  std::mutex state_mutex;
  server::InMemoryAccessList access;
  std::unique_ptr<server::Writer> writer;
  server::RouteHandler handler;
  server::AccessGrant host;
  host.role = server::Role::kHost;
  host.token_id = "bench";
  host.agency_id = "espoo";
  if (flags.port == 0) {
    auto opened_log = EmbeddedLog::Open(flags.data + "/log");
    if (!opened_log.ok()) {
      fmt::print(stderr, "{}\n", opened_log.status().ToString());
      return 1;
    }
    log = *std::move(opened_log);
    auto opened_state = StateStore::Open(flags.data + "/state");
    if (!opened_state.ok()) {
      fmt::print(stderr, "{}\n", opened_state.status().ToString());
      return 1;
    }
    state = *std::move(opened_state);
    writer = std::make_unique<server::Writer>(server::WriterOptions{
        .log = log.get(), .state = state.get(), .state_mutex = &state_mutex, .access = &access});
    if (auto lag = writer->Follow(); !lag.ok()) {
      fmt::print(stderr, "{}\n", lag.status().ToString());
      return 1;
    }
    handler = writer->Handlers().at("POST /v1/events");
  }
  const server::RouteSpec* route = nullptr;
  for (const auto& spec : server::kRouteTable) {
    if (spec.method == "POST" && spec.pattern == "/v1/events") route = &spec;
  }

  std::atomic<size_t> next{0};
  std::mutex results_mutex;
  std::vector<double> latencies_ms;
  int64_t accepted = 0, duplicates = 0, rejected = 0, failed = 0;
  const auto start = std::chrono::steady_clock::now();
  const double cpu_start = CpuSeconds();
  auto client = [&] {
    std::unique_ptr<HttpClient> http;
    if (flags.port != 0) http = std::make_unique<HttpClient>(flags.port, flags.token);
    while (true) {
      const size_t i = next.fetch_add(1);
      if (i >= bodies.size()) return;
      auto scheduled = std::chrono::steady_clock::now();
      if (flags.rate > 0) {
        scheduled = start + std::chrono::nanoseconds(static_cast<int64_t>(1e9 * static_cast<double>(i) / flags.rate));
        std::this_thread::sleep_until(scheduled);
      }
      std::pair<int, std::string> answer;
      if (http) {
        answer = http->Send(bodies[i]);
      } else {
        server::HttpRequest request;
        request.method = "POST";
        request.target = "/v1/events";
        request.body = bodies[i];
        server::HttpResponse response = handler(server::RouteRequest{request, *route, &host, {}, {}});
        answer = {response.status, std::move(response.body)};
      }
      const double ms =
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - scheduled).count();
      std::lock_guard lock(results_mutex);
      latencies_ms.push_back(ms);
      if (answer.first != 200) {
        if (failed++ == 0) fmt::print(stderr, "status {}: {}\n", answer.first, answer.second.substr(0, 300));
        continue;
      }
      accepted += CountAfter(answer.second, "accepted");
      duplicates += CountAfter(answer.second, "duplicates");
      rejected += CountAfter(answer.second, "rejected");
    }
  };
  std::vector<std::thread> threads;
  for (int c = 0; c < flags.clients; ++c) threads.emplace_back(client);
  for (auto& t : threads) t.join();
  const double wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const double cpu_s = CpuSeconds() - cpu_start;
  std::sort(latencies_ms.begin(), latencies_ms.end());
  auto at = [&](double q) {
    return latencies_ms.empty() ? 0.0 : latencies_ms[std::min(latencies_ms.size() - 1,
                                                               static_cast<size_t>(q * static_cast<double>(latencies_ms.size())))];
  };
  const int64_t events = accepted + duplicates + rejected;
  fmt::print("posts {} x {} lines, clients {}, rate {}: accepted {}, duplicates {}, rejected {}, failed posts {}\n",
             bodies.size(), flags.lines, flags.clients, flags.rate > 0 ? fmt::format("{}/s", flags.rate) : "closed",
             accepted, duplicates, rejected, failed);
  fmt::print("wall {:.3f} s, cpu {:.3f} s ({}), {:.0f} events/s, {:.0f} posts/s; latency p50 {:.2f} ms, p99 {:.2f} ms, "
             "max {:.2f} ms\n",
             wall_s, cpu_s, flags.port != 0 ? "the client's" : "in-process", static_cast<double>(events) / wall_s,
             static_cast<double>(bodies.size()) / wall_s, at(0.5), at(0.99), latencies_ms.empty() ? 0 : latencies_ms.back());
  return failed == 0 ? 0 : 1;
}

}  // namespace
}  // namespace tori

int main(int argc, char** argv) {
  tori::Flags flags;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string name = argv[i], value = argv[i + 1];
    if (name == "--data") flags.data = value;
    else if (name == "--events") flags.events_path = value;
    else if (name == "--token") flags.token = value;
    else if (name == "--port") flags.port = std::stoi(value);
    else if (name == "--skip") flags.skip = std::stoul(value);
    else if (name == "--lines") flags.lines = std::stoul(value);
    else if (name == "--posts") flags.posts = std::stoul(value);
    else if (name == "--clients") flags.clients = std::stoi(value);
    else if (name == "--rate") flags.rate = std::stod(value);
    else {
      fmt::print(stderr, "unknown flag {} (see the file's header)\n", name);
      return 2;
    }
  }
  if ((flags.data.empty() && flags.port == 0) || flags.events_path.empty() || flags.lines == 0 || flags.clients < 1) {
    fmt::print(stderr, "usage: serve_write_bench (--data DIR | --port P --token T) --events FILE [--skip N] "
                       "[--lines N] [--posts N] [--clients N] [--rate R]\n");
    return 2;
  }
  return tori::Run(flags);
}
