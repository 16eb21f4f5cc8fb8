// EmbeddedLog: the default event log, segment files in one directory, no server.
//
// On-disk format (written once here, read by the reader in the same file):
//   segment file "<first offset, 20 digits>.log" = "TORILOG1" then records;
//   record = u32 payload_bytes | u64 offset | u32 crc32c(payload) |
//            u32 crc32c(the 16 header bytes before it) | payload   (little-endian,
//            events/base/fixed.h).
// Segments roll over at `segment_bytes_target`. One partition; offsets from 0.
// DIR/MANIFEST lists every segment (internal/log_manifest.h).
//
// Completeness: the segments must be those of the manifest (or, for a log written
// before manifests, start at offset 0), and each must start where the one before it
// ended. A missing segment, first, middle or last, is DataLoss naming the file and the
// offsets lost: at Open against the manifest, and again by every cursor at each
// segment boundary. A log whose manifest lists segments but holds none is DataLoss,
// never a new empty log.
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
// OpenReadOnly is for commands that only read (verify, explain, bill --dry-run): it
// writes nothing to the directory, not even the lock file. A torn tail is left in
// place and reads stop before it (noted in recovery_note()); it shares the lock with
// other readers, and a writer that holds it makes it fail, as a reader makes a writer
// fail.
//
// Thread safety: one thread at a time.
#ifndef TORI_EVENTS_LOG_EMBEDDED_LOG_H_
#define TORI_EVENTS_LOG_EMBEDDED_LOG_H_

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

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
  // Opens an existing log to read it only (see above). NotFound when `dir` holds no
  // log (no segment and no manifest); Append and Sync then fail with
  // FailedPrecondition.
  static absl::StatusOr<std::unique_ptr<EmbeddedLog>> OpenReadOnly(const std::string& dir);
  // Whether `dir` holds a log (a manifest or a segment file), without opening it.
  static bool Exists(const std::string& dir);
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
  EmbeddedLog(std::string dir, EmbeddedLogOptions options, bool read_only)
      : dir_(std::move(dir)), options_(options), read_only_(read_only) {}
  // Lists the segments and checks them against the manifest.
  absl::Status FindSegments();
  absl::Status Recover();
  // Recover's reading half for a read-only log: finds the end, cuts nothing.
  absl::Status FindEndReadOnly();
  absl::Status WriteManifest();
  absl::Status StartSegment(int64_t first_offset);
  absl::StatusOr<LogPosition> AppendRecords(absl::Span<const AppendRecord> records, bool sync);

  std::string dir_;
  EmbeddedLogOptions options_;
  bool read_only_;
  std::vector<Segment> segments_;
  // From DIR/MANIFEST; nullopt when the log has none yet.
  std::optional<std::vector<int64_t>> manifest_;
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
