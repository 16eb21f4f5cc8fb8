// The server's metrics in the Prometheus text format (GET /metrics): requests by route
// and status, latency histograms by route, the state's lag behind the log, posted events
// by outcome.
//
// Routes are the table's patterns (a fixed set, so the series stay bounded), never the
// paths with their ids.
//
// Thread safety: all methods may be called from any thread at once.
#ifndef TORI_SERVICES_SERVER_METRICS_H_
#define TORI_SERVICES_SERVER_METRICS_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

#include "absl/time/time.h"

namespace tori::server {

class Metrics {
 public:
  // Upper bounds of the latency buckets, seconds (then +Inf).
  static constexpr std::array<double, 12> kBucketsS = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                       0.1,   0.25,   0.5,   1,    2.5,   10};

  void ObserveRequest(std::string_view route, int status, absl::Duration latency);
  void SetLogLagEvents(int64_t events) { log_lag_events_ = events; }
  int64_t log_lag_events() const { return log_lag_events_; }
  // Lines of POST /v1/events bodies by outcome.
  void CountEvents(uint64_t accepted, uint64_t duplicates, uint64_t rejected) {
    events_accepted_ += accepted;
    events_duplicate_ += duplicates;
    events_rejected_ += rejected;
  }
  std::string Render() const;

 private:
  struct Histogram {
    std::array<uint64_t, kBucketsS.size() + 1> counts{};  // the last: +Inf
    double sum_s = 0;
    uint64_t count = 0;
  };
  mutable std::mutex mutex_;
  std::map<std::pair<std::string, int>, uint64_t> requests_;
  std::map<std::string, Histogram> latency_;
  std::atomic<int64_t> log_lag_events_{0};
  std::atomic<uint64_t> events_accepted_{0}, events_duplicate_{0}, events_rejected_{0};
};

}  // namespace tori::server

#endif  // TORI_SERVICES_SERVER_METRICS_H_
