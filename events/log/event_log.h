// The event log: tori's single source of truth, append-only.
//
// Model: the log has one or more partitions; each partition is a sequence of records
// numbered by offsets 0, 1, 2, ... A record's payload is one serialized
// tori.schema.v1.Event. A LogPosition holds, per partition, the next offset to read:
// "everything before this position" is the unit of `as_of` in issued documents.
//
// Two implementations: EmbeddedLog (segment files under --data DIR, one partition,
// no server) and the Kafka log (one Kafka topic). Both give the same events in the
// same per-partition order, so billing gives the same invoices.
//
// Thread safety: an EventLog is used by one thread at a time; a LogCursor too.
#ifndef TORI_EVENTS_LOG_EVENT_LOG_H_
#define TORI_EVENTS_LOG_EVENT_LOG_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace tori {

struct LogPosition {
  std::vector<int64_t> next_offsets;  // index = partition

  bool operator==(const LogPosition&) const = default;
  // Whether every record before `other` is before this position too: the same
  // partitions, none of them behind `other`'s. An empty position (a new state's,
  // nothing applied) is covered by every position; an empty one covers only that.
  bool Covers(const LogPosition& other) const;
  // Whether the record at `offset` of `partition` is before this position.
  bool Contains(int32_t partition, int64_t offset) const {
    return partition >= 0 && static_cast<size_t>(partition) < next_offsets.size() &&
           offset < next_offsets[static_cast<size_t>(partition)];
  }
  // "p0:12,p1:7": stable text for documents and messages.
  std::string ToString() const;
  static absl::StatusOr<LogPosition> Parse(std::string_view text);
};

struct LogRecord {
  int32_t partition = 0;
  int64_t offset = 0;
  std::string_view payload;  // valid until the cursor moves on
};

struct AppendRecord {
  std::string_view partition_key;  // e.g. the service point: keeps its events in order
  std::string_view payload;
};

class LogCursor {
 public:
  virtual ~LogCursor() = default;
  // The next record; false at the end of what was in the log when the cursor was made.
  // A corrupt record is an error naming where it is; it is never skipped.
  virtual absl::StatusOr<bool> Next(LogRecord& record) = 0;
};

class EventLog {
 public:
  virtual ~EventLog() = default;
  // Appends `records` in order. Returns once every record is durable (fsync, or
  // acknowledged by all in-sync replicas), with the position just after them.
  virtual absl::StatusOr<LogPosition> Append(absl::Span<const AppendRecord> records) = 0;
  // For callers that overlap the wait for durability with other work (ingest): the
  // same append, durable only once Sync() returns after it (a crash of the process
  // keeps the records, a crash of the machine may not). By default both are Append's.
  virtual absl::StatusOr<LogPosition> AppendUnsynced(absl::Span<const AppendRecord> records) {
    return Append(records);
  }
  // Makes every record appended before the call durable; may run on another thread
  // than the appends.
  virtual absl::Status Sync() { return absl::OkStatus(); }
  // Reads every record at or after `from` up to the end as of this call.
  virtual absl::StatusOr<std::unique_ptr<LogCursor>> Read(const LogPosition& from) = 0;
  // The position after the last record.
  virtual LogPosition End() const = 0;
  virtual int32_t partition_count() const = 0;
};

}  // namespace tori

#endif  // TORI_EVENTS_LOG_EVENT_LOG_H_
