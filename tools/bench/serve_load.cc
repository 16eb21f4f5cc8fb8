// tori-serve-load: load for a running `tori serve` on 127.0.0.1 (issue #17's "Measure";
// ops/bench-serve runs the whole set). Front desks post contacts, agencies read
// invoices and explanations, each scenario group from its own keep-alive connections.
//
// Model:
//  - Open loop (`rate` > 0): a group's requests are due at t0 + k / rate, whatever the
//    answers do; a due request waits in the group's queue until one of its connections
//    is free, and its latency is counted from when it was due, not from when it could be
//    sent, so a server that falls behind shows it (no coordinated omission). The
//    percentiles are of the 200 answers; refusals (503, 4xx) are counted by status.
//    Closed loop (rate 0): each connection sends its next request once answered.
//  - Bounded: a group stops issuing at its request count or at --duration-s, whichever
//    comes first; what is still unanswered --drain-s after that is cut and counted as
//    unanswered. Only http://127.0.0.1 is accepted: this is a local benchmark.
//  - One io_context on one thread, so the generator takes at most one of the machine's
//    cores; bodies are built from templates (serve_load_events.h), about a millisecond
//    for 10,000 lines.
//  - A 503 is an answer (counted); a closed loop's connection then waits its Retry-After
//    (at most 2 s) before sending again.
//  - Every answer is counted by status, and for posts by outcome (accepted, duplicate,
//    rejected, summed from the answer's counts); --check exits 1 unless every request
//    was answered 200 and every posted event accepted.
#include <sys/resource.h>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <deque>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/status/statusor.h"
#include "fmt/format.h"
#include "tools/bench/serve_load_events.h"
#include "tools/bench/serve_load_options.h"
#include "tools/bench/serve_load_report.h"

namespace tori::bench {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using Clock = std::chrono::steady_clock;
using tcp = asio::ip::tcp;

constexpr size_t kAnswerBytesMax = 256u << 20;  // a 10,000-line post's results are ~1 MB

struct Shared {
  tcp::endpoint endpoint;
  const ContactSource* contacts = nullptr;
  std::vector<Credential> posters, readers;
  std::string run_id;
};

class Group;

// One keep-alive connection of a group; sends one request at a time.
class Connection {
 public:
  Connection(asio::io_context& ioc, Group& group, const Credential& credential, size_t index)
      : stream_(ioc), retry_timer_(ioc), group_(group), credential_(credential), next_invoice_(index) {}
  absl::Status Connect(const tcp::endpoint& endpoint);
  void Send(Clock::time_point due);
  void Close() {
    beast::error_code ignored;
    stream_.socket().close(ignored);
    retry_timer_.cancel();
  }

 private:
  void OnRead(beast::error_code ec);
  void Reconnect();

  beast::tcp_stream stream_;
  asio::steady_timer retry_timer_;  // a closed loop's wait after a 503's Retry-After
  tcp::endpoint endpoint_;
  Group& group_;
  const Credential& credential_;
  size_t next_invoice_;
  beast::flat_buffer buffer_;
  http::request<http::string_body> request_;
  std::optional<http::response_parser<http::string_body>> parser_;
  Clock::time_point due_;
  int64_t lines_ = 0;
};

class Group {
 public:
  Group(asio::io_context& ioc, GroupSpec spec, const Shared& shared, std::function<void()> on_done)
      : ioc_(ioc), spec_(std::move(spec)), shared_(shared), timer_(ioc), on_done_(std::move(on_done)) {}

  absl::Status Connect() {
    const auto& credentials = IsPost(spec_.scenario) ? shared_.posters : shared_.readers;
    for (int i = 0; i < spec_.connections; ++i) {
      const Credential& c = credentials[static_cast<size_t>(i) % credentials.size()];
      connections_.push_back(std::make_unique<Connection>(ioc_, *this, c, static_cast<size_t>(i)));
      if (auto status = connections_.back()->Connect(shared_.endpoint); !status.ok()) return status;
    }
    return absl::OkStatus();
  }

  void Start(Clock::time_point t0, Clock::time_point deadline) {
    t0_ = last_answer_ = t0;
    deadline_ = deadline;
    live_ = static_cast<int>(connections_.size());
    for (auto& c : connections_) idle_.push_back(c.get());
    if (spec_.rate_per_s > 0) {
      Tick();
    } else {
      std::vector<Connection*> ready;
      ready.swap(idle_);
      for (Connection* c : ready) OnIdle(c);
    }
  }

  // The request's target and body for `credential`; counts the lines it posts.
  void Fill(const Credential& credential, size_t* next_invoice, http::request<http::string_body>* request,
            int64_t* lines) {
    request->body().clear();
    *lines = 0;
    if (IsPost(spec_.scenario)) {
      request->method(http::verb::post);
      request->target("/v1/events");
      const std::string prefix = fmt::format("load-{}-{}-", shared_.run_id, spec_.name);
      shared_.contacts->AppendLines(credential.scope, prefix, &next_seq_, static_cast<size_t>(spec_.lines),
                                    &request->body());
      *lines = spec_.lines;
    } else {
      const std::string& id = credential.invoices[(*next_invoice)++ % credential.invoices.size()];
      request->method(http::verb::get);
      request->target(spec_.scenario == Scenario::kReadExplain ? "/v1/invoices/" + id + "/explain"
                                                                : "/v1/invoices/" + id);
    }
    request->prepare_payload();
  }

  // A connection is free for the next request.
  void OnIdle(Connection* c) {
    if (aborted_) return;
    if (spec_.rate_per_s > 0) {
      idle_.push_back(c);
      Dispatch();
    } else if (!stopped_ && issued_ < spec_.requests_max && Clock::now() < deadline_) {
      ++issued_;
      ++in_flight_;
      c->Send(Clock::now());
    } else {
      stopped_ = true;
    }
    CheckDone();
  }

  void OnAnswer(Clock::time_point due, int status, const std::string& body, int64_t lines) {
    --in_flight_;
    last_answer_ = Clock::now();
    ++stats_.statuses[status];
    if (status == 200) {  // a quick 503 is no answer to time: it is counted, not timed
      const auto us = std::chrono::duration_cast<std::chrono::microseconds>(last_answer_ - due).count();
      stats_.latencies_us.push_back(static_cast<uint32_t>(std::min<int64_t>(us, UINT32_MAX)));
    } else {
      if (stats_.first_refusal.empty()) stats_.first_refusal = fmt::format("{} {}", status, body.substr(0, 300));
      return;
    }
    if (lines == 0) return;
    stats_.events_posted += lines;
    stats_.accepted += Count(body, "\"accepted\":");
    stats_.duplicates += Count(body, "\"duplicates\":");
    const int64_t rejected = Count(body, "\"rejected\":");
    stats_.rejected += rejected;
    if (stats_.first_refusal.empty() && (rejected > 0 || body.find("\"accepted\":") == std::string::npos)) {
      const size_t at = body.find("\"status\":\"rejected\"");
      stats_.first_refusal = at == std::string::npos ? body.substr(0, 300) : body.substr(at, body.find('}', at) - at);
    }
  }

  void OnError(const std::string& what) {
    --in_flight_;
    if (aborted_) {
      ++stats_.unanswered;
    } else {
      ++stats_.errors[what];
    }
    CheckDone();
  }

  // A connection that cannot reconnect leaves the group; with none left, what is due
  // is unanswered.
  void OnLost(const std::string& what) {
    ++stats_.errors["reconnect: " + what];
    if (--live_ == 0) {
      stopped_ = true;
      stats_.unanswered += static_cast<int64_t>(pending_.size());
      pending_.clear();
      timer_.cancel();
    }
    CheckDone();
  }

  // --drain-s after the deadline: what is due or in flight is unanswered.
  void Abort() {
    if (done_) return;
    aborted_ = stopped_ = true;
    timer_.cancel();
    stats_.unanswered += static_cast<int64_t>(pending_.size());
    pending_.clear();
    for (auto& c : connections_) c->Close();
    CheckDone();
  }

  // After the loop: a group that never got done (cut with nothing in flight) is timed
  // to its last answer too.
  void Finish() {
    if (!done_) stats_.wall_s = WallS();
  }

  // From t0 to the last answer; an open loop's window lasts at least until its next
  // request would have been due (1 request at 0.2/s is 5 s of load, not its latency).
  double WallS() const {
    auto end = last_answer_;
    if (spec_.rate_per_s > 0) end = std::max(end, std::min(Due(issued_), deadline_));
    return std::chrono::duration<double>(end - t0_).count();
  }

  void CheckDone() {
    if (done_ || !stopped_ || !pending_.empty() || in_flight_ > 0) return;
    done_ = true;
    stats_.wall_s = WallS();
    on_done_();
  }

  const GroupSpec& spec() const { return spec_; }
  GroupStats& stats() { return stats_; }
  bool aborted() const { return aborted_; }

 private:
  static int64_t Count(const std::string& body, std::string_view key) {
    const size_t at = body.find(key);
    int64_t value = 0;
    if (at != std::string::npos) std::from_chars(body.data() + at + key.size(), body.data() + body.size(), value);
    return value;
  }

  Clock::time_point Due(int64_t k) const {
    return t0_ + std::chrono::nanoseconds(static_cast<int64_t>(static_cast<double>(k) * 1e9 / spec_.rate_per_s));
  }

  // Queues every request due by now, hands them to free connections, waits for the next.
  void Tick() {
    const auto now = Clock::now();
    while (!stopped_) {
      const auto due = Due(issued_);
      if (issued_ >= spec_.requests_max || due >= deadline_) {
        stopped_ = true;
        break;
      }
      if (due > now) break;
      pending_.push_back(due);
      ++issued_;
    }
    Dispatch();
    if (!stopped_) {
      timer_.expires_at(Due(issued_));
      timer_.async_wait([this](beast::error_code ec) {
        if (!ec && !aborted_) Tick();
      });
    }
    CheckDone();
  }

  void Dispatch() {
    while (!pending_.empty() && !idle_.empty()) {
      Connection* c = idle_.back();
      idle_.pop_back();
      const auto due = pending_.front();
      pending_.pop_front();
      ++in_flight_;
      c->Send(due);
    }
  }

  asio::io_context& ioc_;
  GroupSpec spec_;
  const Shared& shared_;
  asio::steady_timer timer_;
  std::function<void()> on_done_;
  std::vector<std::unique_ptr<Connection>> connections_;
  std::vector<Connection*> idle_;
  std::deque<Clock::time_point> pending_;  // due, not yet sent (open loop)
  Clock::time_point t0_, deadline_, last_answer_;
  int64_t issued_ = 0, in_flight_ = 0;
  int live_ = 0;
  uint64_t next_seq_ = 0;
  bool stopped_ = false, aborted_ = false, done_ = false;
  GroupStats stats_;
};

absl::Status Connection::Connect(const tcp::endpoint& endpoint) {
  endpoint_ = endpoint;
  beast::error_code ec;
  stream_.socket().connect(endpoint, ec);
  if (ec) return absl::UnavailableError(fmt::format("connect to {}: {}", endpoint.port(), ec.message()));
  stream_.socket().set_option(tcp::no_delay(true), ec);
  return absl::OkStatus();
}

void Connection::Send(Clock::time_point due) {
  due_ = due;
  request_ = {};
  request_.version(11);
  request_.set(http::field::host, "127.0.0.1");
  request_.set(http::field::authorization, "Bearer " + credential_.token);
  request_.keep_alive(true);
  group_.Fill(credential_, &next_invoice_, &request_, &lines_);
  http::async_write(stream_, request_, [this](beast::error_code ec, size_t) {
    if (ec) {
      group_.OnError("write: " + ec.message());
      if (!group_.aborted()) Reconnect();
      return;
    }
    parser_.emplace();
    parser_->body_limit(kAnswerBytesMax);
    http::async_read(stream_, buffer_, *parser_, [this](beast::error_code ec, size_t) { OnRead(ec); });
  });
}

void Connection::OnRead(beast::error_code ec) {
  if (ec) {
    group_.OnError("read: " + ec.message());
    if (!group_.aborted()) Reconnect();
    return;
  }
  const auto& answer = parser_->get();
  const int status = static_cast<int>(answer.result_int());
  group_.OnAnswer(due_, status, answer.body(), lines_);
  if (!answer.keep_alive()) return Reconnect();
  // A closed loop waits as a 503's Retry-After asks (at most 2 s), as a front desk
  // would, instead of spending its requests on refusals; an open loop keeps its rate.
  int retry_after_s = 0;
  if (status == 503 && group_.spec().rate_per_s == 0 &&
      ParseNumber(std::string_view(answer[http::field::retry_after]), &retry_after_s) && retry_after_s > 0) {
    retry_timer_.expires_after(std::chrono::seconds(std::min(retry_after_s, 2)));
    retry_timer_.async_wait([this](beast::error_code ec) {
      if (!ec && !group_.aborted()) group_.OnIdle(this);
    });
    return;
  }
  group_.OnIdle(this);
}

void Connection::Reconnect() {
  Close();
  buffer_.clear();
  stream_.async_connect(endpoint_, [this](beast::error_code ec) {
    if (group_.aborted()) return;
    if (ec) {
      group_.OnLost(ec.message());
      return;
    }
    stream_.socket().set_option(tcp::no_delay(true), ec);
    group_.OnIdle(this);
  });
}

// The ids of the invoices `token` may see (GET /v1/invoices[?quarter=Q]), before the load.
absl::StatusOr<std::vector<std::string>> VisibleInvoices(const tcp::endpoint& endpoint, const std::string& token,
                                                         const std::string& quarter) {
  asio::io_context ioc;
  beast::tcp_stream stream(ioc);
  beast::error_code ec;
  stream.socket().connect(endpoint, ec);
  if (ec) return absl::UnavailableError(fmt::format("connect to 127.0.0.1:{}: {}", endpoint.port(), ec.message()));
  http::request<http::string_body> request{http::verb::get,
                                           quarter.empty() ? "/v1/invoices" : "/v1/invoices?quarter=" + quarter, 11};
  request.set(http::field::host, "127.0.0.1");
  request.set(http::field::authorization, "Bearer " + token);
  http::write(stream, request, ec);
  beast::flat_buffer buffer;
  http::response<http::string_body> answer;
  if (!ec) http::read(stream, buffer, answer, ec);
  if (ec) return absl::UnavailableError(fmt::format("GET /v1/invoices: {}", ec.message()));
  if (answer.result_int() != 200) {
    return absl::PermissionDeniedError(
        fmt::format("GET /v1/invoices answered {}: {}", answer.result_int(), answer.body().substr(0, 200)));
  }
  std::vector<std::string> ids;
  constexpr std::string_view kKey = "\"invoice_id\":\"";
  const std::string& body = answer.body();
  for (size_t at = body.find(kKey); at != std::string::npos; at = body.find(kKey, at)) {
    at += kKey.size();
    ids.push_back(body.substr(at, body.find('"', at) - at));
  }
  return ids;
}

struct Options {
  std::string url, events_path, run_id, markdown, quarter;
  std::vector<std::string> groups, post_tokens, agency_tokens;
  std::string scenario;
  GroupSpec single;
  double duration_s = 10, drain_s = 10;
  bool check = false;
};

absl::StatusOr<int> Run(const Options& options) {
  Shared shared;
  auto port = ParseLocalUrl(options.url);
  if (!port.ok()) return port.status();
  shared.endpoint = tcp::endpoint(asio::ip::make_address_v4("127.0.0.1"), *port);
  shared.run_id = options.run_id;
  if (shared.run_id.empty()) {
    std::random_device random;
    shared.run_id = fmt::format("{:08x}", random());
  }
  std::vector<GroupSpec> specs;
  if (!options.scenario.empty()) {
    auto spec = ParseGroup(options.scenario, options.single);
    if (!spec.ok()) return spec.status();
    specs.push_back(*spec);
  }
  for (const auto& text : options.groups) {
    GroupSpec defaults = options.single;
    defaults.rate_per_s = 0;
    auto spec = ParseGroup(text, defaults);
    if (!spec.ok()) return spec.status();
    specs.push_back(*spec);
  }
  if (specs.empty()) return absl::InvalidArgumentError("nothing to run: give --scenario or --group");
  for (size_t i = 0; i < specs.size(); ++i) {
    for (size_t j = 0; j < i; ++j) {
      if (specs[i].name == specs[j].name) {
        return absl::InvalidArgumentError(fmt::format(
            "two groups are named {}: name them (--group {}:name=OTHER,...), their event ids must differ",
            specs[i].name, specs[i].name));
      }
    }
  }
  const bool posts = std::any_of(specs.begin(), specs.end(), [](const GroupSpec& s) { return IsPost(s.scenario); });
  const bool reads = std::any_of(specs.begin(), specs.end(), [](const GroupSpec& s) { return !IsPost(s.scenario); });
  std::optional<ContactSource> contacts;
  if (posts) {
    if (options.events_path.empty()) return absl::InvalidArgumentError("posts need --events (the demo's demo-events.jsonl)");
    if (options.post_tokens.empty()) return absl::InvalidArgumentError("posts need --post-token (host's TOKEN or POINT=TOKEN)");
    auto source = ContactSource::FromEventsFile(options.events_path, /*templates_max=*/20000);
    if (!source.ok()) return source.status();
    contacts = *std::move(source);
    shared.contacts = &*contacts;
    const auto points = contacts->Points();
    for (const auto& text : options.post_tokens) {
      auto credential = ParseCredential(text, false);
      if (!credential.ok()) return credential.status();
      if (!credential->scope.empty() && std::find(points.begin(), points.end(), credential->scope) == points.end()) {
        return absl::InvalidArgumentError(fmt::format("--post-token {}=...: {} has no contact in {} (points: {})",
                                                      credential->scope, credential->scope, options.events_path,
                                                      fmt::join(points, ", ")));
      }
      shared.posters.push_back(*std::move(credential));
    }
  }
  if (reads) {
    if (options.agency_tokens.empty()) return absl::InvalidArgumentError("reads need --agency-token AGENCY=TOKEN");
    for (const auto& text : options.agency_tokens) {
      auto credential = ParseCredential(text, true);
      if (!credential.ok()) return credential.status();
      auto ids = VisibleInvoices(shared.endpoint, credential->token, options.quarter);
      if (!ids.ok()) return absl::Status(ids.status().code(), fmt::format("agency {}: {}", credential->scope, std::string(ids.status().message())));
      if (ids->empty()) {
        return absl::FailedPreconditionError(fmt::format(
            "agency {} sees no invoice{}: bill the quarter first, or leave its token out", credential->scope,
            options.quarter.empty() ? "" : " of " + options.quarter));
      }
      credential->invoices = *std::move(ids);
      shared.readers.push_back(*std::move(credential));
    }
  }

  asio::io_context ioc(1);
  asio::steady_timer drain(ioc);
  size_t running = specs.size();
  std::vector<std::unique_ptr<Group>> groups;
  for (const auto& spec : specs) {
    groups.push_back(std::make_unique<Group>(ioc, spec, shared, [&] {
      if (--running == 0) drain.cancel();
    }));
    if (auto status = groups.back()->Connect(); !status.ok()) return status;
  }
  const auto t0 = Clock::now();
  const auto deadline = t0 + std::chrono::microseconds(static_cast<int64_t>(options.duration_s * 1e6));
  for (auto& g : groups) g->Start(t0, deadline);
  drain.expires_at(deadline + std::chrono::microseconds(static_cast<int64_t>(options.drain_s * 1e6)));
  drain.async_wait([&](beast::error_code ec) {
    if (ec) return;
    for (auto& g : groups) g->Abort();
  });
  ioc.run();  // until every group is done (or cut) and no reconnect is pending

  rusage usage{};
  ::getrusage(RUSAGE_SELF, &usage);
  const double cpu_s = static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
                       static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
  fmt::print(stderr, "tori-serve-load: {:.2f} s of CPU in {:.2f} s\n", cpu_s,
             std::chrono::duration<double>(Clock::now() - t0).count());
  PrintTableHeader();
  bool all_good = true;
  for (auto& g : groups) {
    g->Finish();
    Report(g->spec(), g->stats(), options.markdown);
    all_good = all_good && g->stats().AllGood();
  }
  return options.check && !all_good ? 1 : 0;
}

}  // namespace
}  // namespace tori::bench

int main(int argc, char** argv) {
  using tori::bench::Options;
  Options options;
  CLI::App app{
      "tori-serve-load: load for a running `tori serve` on 127.0.0.1 (issue #17; ops/bench-serve runs the "
      "issue's set). Prints one JSON object per scenario group on stdout and a table on stderr."};
  app.add_option("--url", options.url, "http://127.0.0.1:PORT of the running serve (no other host)")->required();
  app.add_option("--scenario", options.scenario,
                 "one group: post-single, post-batch, read-invoice or read-explain (with --rate, --connections, "
                 "--lines, --requests)");
  app.add_option("--group", options.groups,
                 "a group of its own, run at once with the others: SCENARIO[:name=N,rate=R,connections=C,lines=L,"
                 "requests=Q] (rate 0 = closed loop; requests default --requests); repeatable");
  app.add_option("--rate", options.single.rate_per_s, "--scenario's requests/s over all its connections (0: closed loop)")
      ->capture_default_str();
  app.add_option("--connections", options.single.connections, "--scenario's keep-alive connections")
      ->capture_default_str();
  app.add_option("--lines", options.single.lines, "events per post (post-batch)")->capture_default_str();
  app.add_option("--requests", options.single.requests_max, "requests per group at most")->capture_default_str();
  app.add_option("--duration-s", options.duration_s, "issue no request after this many seconds")
      ->capture_default_str();
  app.add_option("--drain-s", options.drain_s, "then wait at most this long for answers; the rest is unanswered")
      ->capture_default_str();
  app.add_option("--events", options.events_path, "the demo's demo-events.jsonl: the contacts that posts copy");
  app.add_option("--post-token", options.post_tokens,
                 "a host's TOKEN (posts any point) or an intake's POINT=TOKEN; post connections take them in turn");
  app.add_option("--agency-token", options.agency_tokens,
                 "AGENCY=TOKEN; read connections take them in turn and read that agency's invoices");
  app.add_option("--quarter", options.quarter, "read only this quarter's invoices (default: all it sees)");
  app.add_option("--run-id", options.run_id, "event ids are load-RUN-GROUP-N (default: random hex)");
  app.add_option("--markdown", options.markdown, "append a markdown table row per group to this file");
  app.add_flag("--check", options.check,
               "exit 1 unless every request was answered 200 and every posted event accepted");
  CLI11_PARSE(app, argc, argv);
  options.single.lines = options.scenario == "post-single" ? 1 : options.single.lines;
  if (options.duration_s <= 0 || options.duration_s > 3600 || options.drain_s < 0 || options.drain_s > 600) {
    fmt::print(stderr, "tori-serve-load: --duration-s must be in (0, 3600], --drain-s in [0, 600]\n");
    return 2;
  }
  auto code = tori::bench::Run(options);
  if (!code.ok()) {
    fmt::print(stderr, "tori-serve-load: {}\n", std::string(code.status().message()));
    return 2;
  }
  return *code;
}
