// Test helper: an event log whose appends fail part way, as a Kafka append can (some
// records acknowledged, then the broker goes away) or a machine losing power while
// the embedded log writes.
#ifndef TORI_TESTS_FAILING_PART_WAY_LOG_H_
#define TORI_TESTS_FAILING_PART_WAY_LOG_H_

#include <algorithm>
#include <memory>

#include "events/base/check.h"
#include "events/log/event_log.h"

namespace tori::testing {

// Forwards to another log, except that the appends after its first `records_kept`
// records fail, with the records before them already in the log.
class FailingPartWayLog : public EventLog {
 public:
  FailingPartWayLog(EventLog& log, size_t records_kept) : log_(log), records_kept_(records_kept) {}

  absl::StatusOr<LogPosition> Append(absl::Span<const AppendRecord> records) override {
    const size_t kept = std::min(records.size(), records_kept_);
    records_kept_ -= kept;
    if (kept > 0) TORI_RETURN_IF_ERROR(log_.Append(records.first(kept)).status());
    if (kept < records.size()) {
      return absl::UnavailableError("the log went away part way through the append (test)");
    }
    return log_.End();
  }
  absl::StatusOr<std::unique_ptr<LogCursor>> Read(const LogPosition& from) override {
    return log_.Read(from);
  }
  LogPosition End() const override { return log_.End(); }
  int32_t partition_count() const override { return log_.partition_count(); }

 private:
  EventLog& log_;
  size_t records_kept_;
};

}  // namespace tori::testing

#endif  // TORI_TESTS_FAILING_PART_WAY_LOG_H_
