// EmbeddedLog: the default event log, segment files in one directory, no server.
//
// On-disk format (written once here, read by the reader in the same file):
//   segment file "<first offset, 20 digits>.log" = "TORILOG1" then records;
//   record = u32 payload_bytes | u64 offset | u32 crc32c(payload) |
//            u32 crc32c(the 16 header bytes before it) | payload   (little-endian).
// Segments roll over at `segment_bytes_target`. One partition; offsets from 0.
//
// Durability: Append writes the whole batch and fdatasyncs before returning; a new
// segment's directory entry is fsynced too.
// Recovery on Open: the last segment is scanned. A torn tail, a record cut short by a
// crash (incomplete header, payload past the end of file, zeros to the end, or a last
// record whose checksum fails and whose last bytes are zeros), is cut off and reported
// in `recovery_note()`.
// Anything else that does not check out is DataLoss naming the segment and byte
// offset: corruption is never skipped. Earlier segments are checked as they are read.
// A second process opening the same directory gets FailedPrecondition (flock).
//
// Thread safety: one thread at a time.
#ifndef TORI_EVENTS_LOG_EMBEDDED_LOG_H_
#define TORI_EVENTS_LOG_EMBEDDED_LOG_H_

#include <memory>
#include <mutex>
#include <string>

#include "events/log/event_log.h"

namespace tori {

struct EmbeddedLogOptions {
  uint64_t segment_bytes_target = 64ull << 20;
};

class EmbeddedLog : public EventLog {
 public:
  // Opens or creates the log in `dir` (created if missing, parents too).
  static absl::StatusOr<std::unique_ptr<EmbeddedLog>> Open(const std::string& dir,
                                                           EmbeddedLogOptions options = {});
  ~EmbeddedLog() override;

  absl::StatusOr<LogPosition> Append(absl::Span<const AppendRecord> records) override;
  absl::StatusOr<LogPosition> AppendUnsynced(absl::Span<const AppendRecord> records) override;
  absl::Status Sync() override;
  absl::StatusOr<std::unique_ptr<LogCursor>> Read(const LogPosition& from) override;
  LogPosition End() const override;
  int32_t partition_count() const override { return 1; }

  // What Open had to repair, e.g. "cut 37 bytes of torn tail at 00..0.log offset 812";
  // empty when nothing.
  const std::string& recovery_note() const { return recovery_note_; }

 private:
  struct Segment {
    int64_t first_offset;
    std::string path;
  };
  EmbeddedLog(std::string dir, EmbeddedLogOptions options) : dir_(std::move(dir)), options_(options) {}
  absl::Status Recover();
  absl::Status StartSegment(int64_t first_offset);
  absl::StatusOr<LogPosition> AppendRecords(absl::Span<const AppendRecord> records, bool sync);

  std::string dir_;
  EmbeddedLogOptions options_;
  std::vector<Segment> segments_;
  int lock_fd_ = -1;
  // The last segment, open for appending; Sync on another thread reads it under the
  // mutex (StartSegment replaces it).
  mutable std::mutex tail_fd_mutex_;
  int tail_fd_ = -1;
  bool tail_unsynced_ = false;  // AppendUnsynced wrote to it since the last sync
  uint64_t tail_bytes_ = 0;     // its size
  int64_t next_offset_ = 0;
  std::string recovery_note_;
  std::string write_buffer_;
};

}  // namespace tori

#endif  // TORI_EVENTS_LOG_EMBEDDED_LOG_H_
