#include "tools/bench/serve_load_report.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>

#include "fmt/format.h"

namespace tori::bench {
namespace {

// The q-quantile of sorted latencies in ms (nearest rank), 0 for none.
double QuantileMs(const std::vector<uint32_t>& sorted_us, double q) {
  if (sorted_us.empty()) return 0;
  size_t rank = static_cast<size_t>(q * static_cast<double>(sorted_us.size()) + 0.999999);
  rank = std::clamp<size_t>(rank, 1, sorted_us.size());
  return sorted_us[rank - 1] / 1000.0;
}

std::string JsonEscaped(const std::string& text) {
  std::string out;
  for (const char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    if (static_cast<unsigned char>(c) < 0x20) {
      out += ' ';
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace

const char* ScenarioName(Scenario scenario) {
  switch (scenario) {
    case Scenario::kPostSingle: return "post-single";
    case Scenario::kPostBatch: return "post-batch";
    case Scenario::kReadInvoice: return "read-invoice";
    case Scenario::kReadExplain: return "read-explain";
  }
  return "?";
}

int64_t GroupStats::Answered() const {
  int64_t answered = 0;
  for (const auto& [status, count] : statuses) answered += count;
  return answered;
}

bool GroupStats::AllGood() const {
  for (const auto& [status, count] : statuses) {
    if (status != 200 && count > 0) return false;
  }
  return errors.empty() && unanswered == 0 && Answered() > 0 && accepted == events_posted;
}

void PrintTableHeader() {
  fmt::print(stderr, "{:<16} {:>5} {:>7} {:>7} {:>7} {:>9} {:>10} {:>8} {:>8} {:>8} {:>8} {:>7}  {}\n", "group",
             "conns", "rate", "reqs", "non200", "200/s", "events/s", "p50 ms", "p90 ms", "p99 ms", "max ms", "wall s",
             "outcomes");
}

void Report(const GroupSpec& spec, GroupStats& stats, const std::string& markdown) {
  std::sort(stats.latencies_us.begin(), stats.latencies_us.end());
  const double p50 = QuantileMs(stats.latencies_us, 0.50), p90 = QuantileMs(stats.latencies_us, 0.90),
               p99 = QuantileMs(stats.latencies_us, 0.99), max = QuantileMs(stats.latencies_us, 1.0);
  const int64_t answered = stats.Answered();
  const double wall_s = std::max(stats.wall_s, 1e-9);
  // Throughput counts the 200 answers: a quick refusal is no work done.
  const auto ok = stats.statuses.find(200);
  const double requests_per_s = (ok == stats.statuses.end() ? 0 : ok->second) / wall_s,
               events_per_s = stats.accepted / wall_s;
  int64_t non_200 = stats.unanswered, requests = answered + stats.unanswered;
  std::string statuses, errors;
  for (const auto& [status, count] : stats.statuses) {
    statuses += fmt::format("{}\"{}\":{}", statuses.empty() ? "" : ",", status, count);
    if (status != 200) non_200 += count;
  }
  for (const auto& [message, count] : stats.errors) {
    errors += fmt::format("{}\"{}\":{}", errors.empty() ? "" : ",", JsonEscaped(message), count);
    non_200 += count;
    requests += count;
  }
  const std::string rate = spec.rate_per_s > 0 ? fmt::format("{:g}", spec.rate_per_s) : "closed";
  fmt::print(
      "{{\"group\":\"{}\",\"scenario\":\"{}\",\"connections\":{},\"rate_per_s\":{:g},\"lines\":{},"
      "\"requests\":{},\"statuses\":{{{}}},\"errors\":{{{}}},\"unanswered\":{},\"events_posted\":{},"
      "\"events_accepted\":{},\"duplicates\":{},\"rejected\":{},\"ok_requests_per_s\":{:.1f},\"events_per_s\":{:.1f},"
      "\"latency_ms\":{{\"p50\":{:.3f},\"p90\":{:.3f},\"p99\":{:.3f},\"max\":{:.3f}}},\"wall_s\":{:.3f}{}}}\n",
      spec.name, ScenarioName(spec.scenario), spec.connections, spec.rate_per_s, IsPost(spec.scenario) ? spec.lines : 0,
      requests, statuses, errors, stats.unanswered, stats.events_posted, stats.accepted,
      stats.duplicates, stats.rejected, requests_per_s, events_per_s, p50, p90, p99, max, stats.wall_s,
      stats.first_refusal.empty() ? "" : fmt::format(",\"first_refusal\":\"{}\"", JsonEscaped(stats.first_refusal)));
  std::fflush(stdout);
  const std::string outcomes =
      IsPost(spec.scenario) ? fmt::format("accepted {}, duplicates {}, rejected {}", stats.accepted, stats.duplicates,
                                          stats.rejected)
                            : "";
  fmt::print(stderr, "{:<16} {:>5} {:>7} {:>7} {:>7} {:>9.1f} {:>10.0f} {:>8.2f} {:>8.2f} {:>8.2f} {:>8.2f} {:>7.2f}  {}\n",
             spec.name, spec.connections, rate, requests, non_200, requests_per_s,
             IsPost(spec.scenario) ? events_per_s : 0.0, p50, p90, p99, max, stats.wall_s, outcomes);
  if (!stats.first_refusal.empty()) fmt::print(stderr, "  first refusal: {}\n", stats.first_refusal.substr(0, 300));
  if (!markdown.empty()) {
    std::error_code ec;
    const bool fresh = !std::filesystem::exists(markdown, ec) || std::filesystem::file_size(markdown, ec) == 0;
    if (std::FILE* out = std::fopen(markdown.c_str(), "a")) {
      if (fresh) {
        fmt::print(out,
                   "| group | conns | rate/s | lines | answers | 200/s | events/s | p50 ms | p90 ms | p99 ms | max ms | wall s |\n"
                   "|---|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|\n");
      }
      std::string answers;
      for (const auto& [status, count] : stats.statuses) answers += fmt::format("{}{}x{}", answers.empty() ? "" : " ", count, status);
      if (!stats.errors.empty() || stats.unanswered > 0) {
        int64_t failed = stats.unanswered;
        for (const auto& [message, count] : stats.errors) failed += count;
        answers += fmt::format(" {} unanswered", failed);
      }
      fmt::print(out, "| {} | {} | {} | {} | {} | {:.1f} | {} | {:.2f} | {:.2f} | {:.2f} | {:.2f} | {:.1f} |\n", spec.name,
                 spec.connections, rate, IsPost(spec.scenario) ? std::to_string(spec.lines) : "-", answers,
                 requests_per_s, IsPost(spec.scenario) ? fmt::format("{:.0f}", events_per_s) : "-", p50, p90, p99, max,
                 stats.wall_s);
      std::fclose(out);
    }
  }
}

}  // namespace tori::bench
