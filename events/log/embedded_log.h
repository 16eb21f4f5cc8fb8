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
// One writer: a second process opening the same directory to write gets
// FailedPrecondition (flock LOCK_EX on DIR/LOCK, held while the log is open).
//
// OpenReadOnly is for commands that only read (verify, explain, bill --dry-run): it
// writes nothing to the directory, not even the lock file, and never cuts or repairs
// anything. It works beside a writer (a running `tori serve`, `tori ingest`), reading
// the log's durable prefix as it stood when it opened:
//   - Beside a writer (DIR/LOCK held exclusively): the writer publishes in DIR/DURABLE
//     the end of what it has fdatasynced (its segment, that segment's bytes, the next
//     offset), after each synced append, each Sync, each new segment and its Open's
//     recovery (before that, the end an earlier writer published holds: recovery cuts
//     only past it; with none yet, readers wait up to 10 s). The reader reads exactly up to that end: every record below it must
//     check out (anything else is DataLoss, as always), and whatever lies past it (a
//     record being appended, an unsynced batch, a segment being started) is not looked
//     at, so an append in flight never looks like damage. DURABLE is a hint for readers
//     only, never fsynced: written after the data it covers was synced, it is never
//     ahead of what is durable.
//   - With no writer: the last segment is scanned as Open's recovery does, under a
//     shared flock held only while the end is found (a writer starting then waits up
//     to 2 s for it); a torn tail is left in place and reads stop before it
//     (noted in recovery_note()).
// Segments are never removed while the log is in use (only a segment cut short at
// creation, by a writer's recovery, past every durable record), so the reader's
// segments stay readable after it opened.
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
  // OpenReadOnly only: whether a writer held the log when it opened (it reads the
  // writer's durable end, see above).
  bool beside_writer() const { return beside_writer_; }

 private:
  struct Segment {
    int64_t first_offset;
    std::string path;
  };
  EmbeddedLog(std::string dir, EmbeddedLogOptions options, bool read_only)
      : dir_(std::move(dir)), options_(options), read_only_(read_only) {}
  // Lists the segments and checks them against the manifest; with `last_first`, only
  // the segments (and manifest lines) up to the one that starts there.
  absl::Status FindSegments(std::optional<int64_t> last_first = std::nullopt);
  absl::Status Recover();
  // Recover's reading half for a read-only log: finds the end, cuts nothing.
  absl::Status FindEndReadOnly();
  // OpenReadOnly beside a writer: the segments up to the writer's published durable
  // end, and that end. NotFound when none is published yet (a writer in recovery).
  absl::Status FindDurableEnd();
  // Writes the end of what is durable to DIR/DURABLE (see above); never moves it back.
  void PublishDurable(int64_t segment_first, uint64_t segment_bytes, int64_t next_offset);
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
  int durable_fd_ = -1;  // DIR/DURABLE, the writer's; under tail_fd_mutex_
  int64_t published_next_offset_ = -1;  // under tail_fd_mutex_
  bool beside_writer_ = false;
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
