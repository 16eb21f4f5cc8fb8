#include "services/server/metrics.h"

#include "fmt/format.h"

namespace tori::server {

void Metrics::ObserveRequest(std::string_view route, int status, absl::Duration latency) {
  const double seconds = absl::ToDoubleSeconds(latency);
  std::lock_guard lock(mutex_);
  ++requests_[{std::string(route), status}];
  Histogram& h = latency_[std::string(route)];
  size_t bucket = 0;
  while (bucket < kBucketsS.size() && seconds > kBucketsS[bucket]) ++bucket;
  ++h.counts[bucket];
  h.sum_s += seconds;
  ++h.count;
}

std::string Metrics::Render() const {
  std::string out;
  std::lock_guard lock(mutex_);
  out += "# HELP tori_http_requests_total HTTP requests answered, by route and status.\n";
  out += "# TYPE tori_http_requests_total counter\n";
  for (const auto& [key, count] : requests_) {
    out += fmt::format("tori_http_requests_total{{route=\"{}\",status=\"{}\"}} {}\n", key.first, key.second,
                       count);
  }
  out += "# HELP tori_http_request_duration_seconds Time to route, authenticate and handle a request (waiting for a handler thread and network I/O excluded).\n";
  out += "# TYPE tori_http_request_duration_seconds histogram\n";
  for (const auto& [route, h] : latency_) {
    uint64_t cumulative = 0;
    for (size_t i = 0; i < h.counts.size(); ++i) {
      cumulative += h.counts[i];
      const std::string le = i < kBucketsS.size() ? fmt::format("{}", kBucketsS[i]) : "+Inf";
      out += fmt::format("tori_http_request_duration_seconds_bucket{{route=\"{}\",le=\"{}\"}} {}\n", route, le,
                         cumulative);
    }
    out += fmt::format("tori_http_request_duration_seconds_sum{{route=\"{}\"}} {}\n", route, h.sum_s);
    out += fmt::format("tori_http_request_duration_seconds_count{{route=\"{}\"}} {}\n", route, h.count);
  }
  out += "# HELP tori_state_log_lag_events Events in the log that the served state has not applied.\n";
  out += "# TYPE tori_state_log_lag_events gauge\n";
  out += fmt::format("tori_state_log_lag_events {}\n", log_lag_events_.load());
  out += "# HELP tori_events_total Lines of POST /v1/events bodies, by outcome.\n";
  out += "# TYPE tori_events_total counter\n";
  out += fmt::format("tori_events_total{{outcome=\"accepted\"}} {}\n", events_accepted_.load());
  out += fmt::format("tori_events_total{{outcome=\"duplicate\"}} {}\n", events_duplicate_.load());
  out += fmt::format("tori_events_total{{outcome=\"rejected\"}} {}\n", events_rejected_.load());
  return out;
}

}  // namespace tori::server
