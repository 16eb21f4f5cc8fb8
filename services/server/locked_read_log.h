// LockedReadLog: the serve's log, read outside the state's mutex by the replays of
// explanations, reports and e-invoices, without breaking EventLog's one-thread-at-a-time
// contract: every call into the real log or its cursor takes the state's mutex (the
// mutex every other use of the log holds: writes, following, readiness), and a cursor
// takes it once per kRecordsPerLock records (or kBytesPerLock), so a replay of hundreds of ms holds the
// mutex for many short spells (microseconds each) instead of once for all of it: the
// writers and the other reads go on meanwhile. Appends are refused (a replay only reads).
//
// A cursor of either log (EmbeddedCursor, the Kafka cursor) owns what it reads with
// (segment paths and files; a consumer of its own), so it stays valid when serve swaps
// its Kafka writer (RegainableLog) between two spells.
//
// Thread safety: as EventLog (one thread at a time), against any number of other
// threads that use the real log under `mutex`.
#ifndef TORI_SERVICES_SERVER_LOCKED_READ_LOG_H_
#define TORI_SERVICES_SERVER_LOCKED_READ_LOG_H_

#include <deque>
#include <memory>
#include <mutex>
#include <string>

#include "events/log/event_log.h"

namespace tori::server {

class LockedReadLog final : public EventLog {
 public:
  static constexpr size_t kRecordsPerLock = 4096;
  static constexpr size_t kBytesPerLock = 4u << 20;  // and at most about this many bytes

  LockedReadLog(EventLog& log, std::mutex& mutex) : log_(log), mutex_(mutex) {}

  absl::StatusOr<LogPosition> Append(absl::Span<const AppendRecord>) override {
    return absl::FailedPreconditionError("a replay for a read does not append to the log");
  }
  absl::StatusOr<std::unique_ptr<LogCursor>> Read(const LogPosition& from) override {
    std::lock_guard lock(mutex_);
    auto cursor = log_.Read(from);
    if (!cursor.ok()) return cursor.status();
    return std::unique_ptr<LogCursor>(new Cursor(*std::move(cursor), mutex_));
  }
  LogPosition End() const override {
    std::lock_guard lock(mutex_);
    return log_.End();
  }
  int32_t partition_count() const override {
    std::lock_guard lock(mutex_);
    return log_.partition_count();
  }

 private:
  class Cursor final : public LogCursor {
   public:
    Cursor(std::unique_ptr<LogCursor> cursor, std::mutex& mutex) : cursor_(std::move(cursor)), mutex_(mutex) {}
    ~Cursor() override {
      std::lock_guard lock(mutex_);
      cursor_.reset();
    }
    absl::StatusOr<bool> Next(LogRecord& record) override {
      if (buffer_.empty() && !ended_) {
        std::lock_guard lock(mutex_);
        LogRecord next;
        size_t bytes = 0;
        while (buffer_.size() < kRecordsPerLock && bytes < kBytesPerLock) {
          auto more = cursor_->Next(next);
          if (!more.ok()) return more.status();
          if (!*more) {
            ended_ = true;
            break;
          }
          bytes += next.payload.size();
          buffer_.push_back({next.partition, next.offset, std::string(next.payload)});
        }
      }
      if (buffer_.empty()) return false;
      current_ = std::move(buffer_.front());
      buffer_.pop_front();
      record.partition = current_.partition;
      record.offset = current_.offset;
      record.payload = current_.payload;  // valid until the next call, as LogCursor says
      return true;
    }

   private:
    struct Copied {
      int32_t partition = 0;
      int64_t offset = 0;
      std::string payload;
    };
    std::unique_ptr<LogCursor> cursor_;
    std::mutex& mutex_;
    std::deque<Copied> buffer_;  // copied; at most kRecordsPerLock, about kBytesPerLock
    Copied current_;
    bool ended_ = false;
  };

  EventLog& log_;
  std::mutex& mutex_;
};

}  // namespace tori::server

#endif  // TORI_SERVICES_SERVER_LOCKED_READ_LOG_H_
