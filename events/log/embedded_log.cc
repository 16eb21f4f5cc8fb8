#include "events/log/embedded_log.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <thread>

#include "events/base/check.h"
#include "events/base/crc32c.h"
#include "events/base/fixed.h"
#include "events/log/internal/log_manifest.h"
#include "fmt/format.h"

namespace tori {
namespace {

constexpr std::string_view kSegmentMagic = "TORILOG1";
constexpr size_t kHeaderBytes = 20;
// A record's payload is one event: bounded well below 4 GiB.
constexpr uint32_t kPayloadBytesMax = 64u << 20;
constexpr size_t kReadChunkBytes = 1 << 20;

// DIR/DURABLE (embedded_log.h): "TORIDUR1" | u64 segment_first | u64 segment_bytes |
// u64 next_offset | u32 crc32c(the 32 bytes before it).
constexpr std::string_view kDurableName = "DURABLE";
constexpr std::string_view kDurableMagic = "TORIDUR1";
constexpr size_t kDurableBytes = 36;
// How long a writer waits for readers that are finding the end (a shared flock held
// for one scan of the last segment), and a reader for a writer in recovery to publish.
constexpr auto kWriterLockWait = std::chrono::seconds(2);
constexpr auto kReaderDurableWait = std::chrono::seconds(10);
constexpr auto kLockPoll = std::chrono::milliseconds(20);

struct DurableEnd {
  int64_t segment_first;
  uint64_t segment_bytes;
  int64_t next_offset;
};

std::string EncodeDurable(const DurableEnd& end) {
  std::string out(kDurableBytes, '\0');
  std::memcpy(out.data(), kDurableMagic.data(), kDurableMagic.size());
  EncodeFixed64(out.data() + 8, static_cast<uint64_t>(end.segment_first));
  EncodeFixed64(out.data() + 16, end.segment_bytes);
  EncodeFixed64(out.data() + 24, static_cast<uint64_t>(end.next_offset));
  EncodeFixed32(out.data() + 32, Crc32c(0, out.data(), 32));
  return out;
}

// nullopt when DIR/DURABLE is missing, empty (a writer in recovery) or does not check
// out (read while being rewritten): the caller asks again.
std::optional<DurableEnd> ReadDurable(const std::string& dir) {
  const std::string path = dir + "/" + std::string(kDurableName);
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  char bytes[kDurableBytes];
  const ssize_t got = ::pread(fd, bytes, sizeof(bytes), 0);
  ::close(fd);
  if (got != static_cast<ssize_t>(kDurableBytes) ||
      std::string_view(bytes, kDurableMagic.size()) != kDurableMagic ||
      DecodeFixed32(bytes + 32) != Crc32c(0, bytes, 32)) {
    return std::nullopt;
  }
  DurableEnd end{static_cast<int64_t>(DecodeFixed64(bytes + 8)), DecodeFixed64(bytes + 16),
                 static_cast<int64_t>(DecodeFixed64(bytes + 24))};
  if (end.segment_first < 0 || end.next_offset < end.segment_first ||
      end.segment_bytes < kSegmentMagic.size()) {
    return std::nullopt;
  }
  return end;
}

using log_internal::Errno;
using log_internal::SegmentName;
using log_internal::SyncDirectory;
using log_internal::WriteAll;

// Sequential reader of one segment file through a 1 MiB buffer.
class SegmentReader {
 public:
  SegmentReader(std::string path, int64_t first_offset)
      : path_(std::move(path)), expected_offset_(first_offset) {}
  ~SegmentReader() {
    if (fd_ >= 0) ::close(fd_);
  }

  // `bytes_max`: read only that many of the file's first bytes (a writer's durable
  // end); a file shorter than that is DataLoss.
  absl::Status Open(std::optional<uint64_t> bytes_max = std::nullopt) {
    fd_ = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ < 0) return Errno("cannot open log segment", path_);
    const off_t size = ::lseek(fd_, 0, SEEK_END);
    if (size < 0) return Errno("cannot size log segment", path_);
    file_bytes_ = static_cast<uint64_t>(size);
    if (bytes_max) {
      if (file_bytes_ < *bytes_max) {
        return absl::DataLossError(fmt::format(
            "event log corrupt: segment {} holds {} bytes, but the writer that holds the log "
            "synced {} bytes of it (DURABLE): the segment was cut; restore it from a backup",
            path_, file_bytes_, *bytes_max));
      }
      file_bytes_ = *bytes_max;
    }
    std::string magic(kSegmentMagic.size(), '\0');
    if (::pread(fd_, magic.data(), magic.size(), 0) != static_cast<ssize_t>(magic.size()) ||
        magic != kSegmentMagic) {
      return absl::DataLossError(fmt::format("event log corrupt: segment {} does not start with "
                                             "{} (byte offset 0): not a tori log segment, or its "
                                             "first bytes are damaged",
                                             path_, kSegmentMagic));
    }
    position_ = kSegmentMagic.size();
    return absl::OkStatus();
  }

  enum class Outcome { kRecord, kEnd, kTorn, kCorrupt };

  // Reads the record at the current position. On kTorn/kCorrupt, `problem` says why
  // and record_start() is where the bad record begins.
  Outcome Next(LogRecord& record, std::string& problem) {
    record_start_ = position_;
    if (position_ == file_bytes_) return Outcome::kEnd;
    if (file_bytes_ - position_ < kHeaderBytes) {
      problem = "incomplete record header";
      return Outcome::kTorn;
    }
    if (!Fill(kHeaderBytes)) return ReadFailed(problem);
    const char* h = buffer_.data() + buffer_pos_;
    const uint32_t payload_bytes = DecodeFixed32(h);
    const uint64_t offset = DecodeFixed64(h + 4);
    const uint32_t payload_crc = DecodeFixed32(h + 12);
    if (DecodeFixed32(h + 16) != Crc32c(0, h, 16) || payload_bytes > kPayloadBytesMax) {
      problem = "record header checksum mismatch";
      return RestIsZero() ? Outcome::kTorn : Outcome::kCorrupt;
    }
    if (file_bytes_ - position_ - kHeaderBytes < payload_bytes) {
      problem = "record payload cut short";
      return Outcome::kTorn;
    }
    if (!Fill(kHeaderBytes + payload_bytes)) return ReadFailed(problem);
    const char* payload = buffer_.data() + buffer_pos_ + kHeaderBytes;
    if (Crc32c(0, payload, payload_bytes) != payload_crc) {
      problem = "record payload checksum mismatch";
      // Torn only if it is the file's last record and ends in zeros (pages that never
      // reached the disk); a changed byte in a complete record is corruption.
      const bool is_last = position_ + kHeaderBytes + payload_bytes == file_bytes_;
      const size_t tail = std::min<size_t>(payload_bytes, 16);
      const bool zero_tail = std::all_of(payload + payload_bytes - tail, payload + payload_bytes,
                                         [](char c) { return c == 0; });
      return is_last && zero_tail ? Outcome::kTorn : Outcome::kCorrupt;
    }
    if (static_cast<int64_t>(offset) != expected_offset_) {
      problem = fmt::format("record has offset {} where {} was expected (records missing or "
                            "out of order)",
                            offset, expected_offset_);
      return Outcome::kCorrupt;
    }
    record.partition = 0;
    record.offset = expected_offset_++;
    record.payload = std::string_view(payload, payload_bytes);
    buffer_pos_ += kHeaderBytes + payload_bytes;
    position_ += kHeaderBytes + payload_bytes;
    return Outcome::kRecord;
  }

  uint64_t record_start() const { return record_start_; }
  int64_t expected_offset() const { return expected_offset_; }
  const std::string& path() const { return path_; }

 private:
  // Makes `n` bytes from position_ available at buffer_[buffer_pos_].
  bool Fill(size_t n) {
    if (buffer_end_ - buffer_pos_ >= n) return true;
    // The unread bytes to the front; the buffer only grows, so no read pays for
    // zeroing it first (as resizing it would).
    std::memmove(buffer_.data(), buffer_.data() + buffer_pos_, buffer_end_ - buffer_pos_);
    buffer_end_ -= buffer_pos_;
    buffer_pos_ = 0;
    const size_t want = std::max(n, kReadChunkBytes);
    const size_t have = buffer_end_;
    if (have >= want) return true;
    if (buffer_.size() < want) buffer_.resize(want);
    const uint64_t file_pos = position_ + have;
    const size_t to_read =
        static_cast<size_t>(std::min<uint64_t>(want - have, file_bytes_ - file_pos));
    size_t got = 0;
    while (got < to_read) {
      const ssize_t r = ::pread(fd_, buffer_.data() + have + got, to_read - got,
                                static_cast<off_t>(file_pos + got));
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) break;
      got += static_cast<size_t>(r);
    }
    buffer_end_ = have + got;
    return buffer_end_ >= n;
  }

  bool RestIsZero() {
    char chunk[4096];
    for (uint64_t pos = position_; pos < file_bytes_;) {
      const size_t n = static_cast<size_t>(std::min<uint64_t>(sizeof(chunk), file_bytes_ - pos));
      if (::pread(fd_, chunk, n, static_cast<off_t>(pos)) != static_cast<ssize_t>(n)) return false;
      if (std::any_of(chunk, chunk + n, [](char c) { return c != 0; })) return false;
      pos += n;
    }
    return true;
  }

  Outcome ReadFailed(std::string& problem) {
    problem = fmt::format("read error: {}", std::strerror(errno));
    return Outcome::kCorrupt;
  }

  std::string path_;
  int fd_ = -1;
  uint64_t file_bytes_ = 0;
  uint64_t position_ = 0;  // file offset of buffer_[buffer_pos_]
  uint64_t record_start_ = 0;
  int64_t expected_offset_;
  std::string buffer_;       // [buffer_pos_, buffer_end_) holds read bytes
  size_t buffer_pos_ = 0;
  size_t buffer_end_ = 0;
};

absl::Status ReadOnlyError(const std::string& dir) {
  return absl::FailedPreconditionError(
      fmt::format("the event log in {} was opened read-only: nothing can be appended", dir));
}

// Reads past every whole record of `reader`'s segment; returns how it ended: kEnd,
// kTorn or kCorrupt (with `problem`).
SegmentReader::Outcome SkipRecords(SegmentReader& reader, std::string& problem) {
  LogRecord record;
  while (true) {
    const auto outcome = reader.Next(record, problem);
    if (outcome != SegmentReader::Outcome::kRecord) return outcome;
  }
}

absl::Status CorruptionError(const SegmentReader& reader, const std::string& problem) {
  return absl::DataLossError(fmt::format(
      "event log corrupt: {} at byte offset {} of segment {} (record offset {}). The log is "
      "the source of truth: restore this segment from a backup; tori never skips a record",
      problem, reader.record_start(), reader.path(), reader.expected_offset()));
}

class EmbeddedCursor : public LogCursor {
 public:
  EmbeddedCursor(std::vector<std::pair<int64_t, std::string>> segments, int64_t from,
                 int64_t end)
      : segments_(std::move(segments)), from_(from), end_(end) {}

  absl::StatusOr<bool> Next(LogRecord& record) override {
    while (true) {
      if (next_offset_ >= end_) return false;
      if (!reader_) {
        if (segment_index_ >= segments_.size()) return false;
        const auto& [first, path] = segments_[segment_index_++];
        reader_ = std::make_unique<SegmentReader>(path, first);
        TORI_RETURN_IF_ERROR(reader_->Open());
      }
      std::string problem;
      switch (reader_->Next(record, problem)) {
        case SegmentReader::Outcome::kRecord:
          next_offset_ = record.offset + 1;
          if (record.offset < from_) continue;
          return true;
        case SegmentReader::Outcome::kEnd:
          TORI_RETURN_IF_ERROR(CheckBoundary());
          reader_.reset();
          continue;
        case SegmentReader::Outcome::kTorn:
        case SegmentReader::Outcome::kCorrupt:
          // After Open's recovery a bad record anywhere below the end is corruption.
          return CorruptionError(*reader_, problem);
      }
    }
  }

 private:
  // At the end of a segment: the next must start where it ended, and the last must
  // reach the end the log had when the cursor was made.
  absl::Status CheckBoundary() const {
    const int64_t ended_at = reader_->expected_offset();
    if (segment_index_ < segments_.size()) {
      const auto& [next_first, next_path] = segments_[segment_index_];
      if (next_first == ended_at) return absl::OkStatus();
      if (next_first > ended_at) {
        return absl::DataLossError(fmt::format(
            "event log incomplete: offsets {}..{} are missing: segment {} ends at offset {} and "
            "the next, {}, starts at {}. The log is the source of truth and tori never reads "
            "past a gap: restore the missing segment files from a backup, then run the command "
            "again (not `tori rebuild` first: it would rebuild the state without them)",
            ended_at, next_first - 1, reader_->path(), ended_at, next_path, next_first));
      }
      return absl::DataLossError(fmt::format(
          "event log corrupt: segment {} starts at offset {}, but segment {} already holds "
          "offsets up to {}; restore the log directory from a backup",
          next_path, next_first, reader_->path(), ended_at - 1));
    }
    if (ended_at < end_) {
      return absl::DataLossError(fmt::format(
          "event log incomplete: its last segment {} ends at offset {}, but the log held "
          "offsets up to {} when it was opened (a segment was cut or removed meanwhile); "
          "restore it from a backup",
          reader_->path(), ended_at, end_ - 1));
    }
    return absl::OkStatus();
  }

  std::vector<std::pair<int64_t, std::string>> segments_;
  size_t segment_index_ = 0;
  std::unique_ptr<SegmentReader> reader_;
  int64_t from_;
  int64_t end_;
  int64_t next_offset_ = 0;
};

}  // namespace

absl::StatusOr<std::unique_ptr<EmbeddedLog>> EmbeddedLog::Open(const std::string& dir,
                                                               EmbeddedLogOptions options) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    return absl::InternalError(fmt::format("cannot create log directory {}: {}", dir, ec.message()));
  }
  std::unique_ptr<EmbeddedLog> log(new EmbeddedLog(dir, options, /*read_only=*/false));
  const std::string lock_path = dir + "/LOCK";
  log->lock_fd_ = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (log->lock_fd_ < 0) return Errno("cannot open", lock_path);
  // Readers hold the lock shared only while they find the log's end: wait for them.
  const auto give_up = std::chrono::steady_clock::now() + kWriterLockWait;
  while (::flock(log->lock_fd_, LOCK_EX | LOCK_NB) != 0) {
    if (std::chrono::steady_clock::now() >= give_up) {
      return absl::FailedPreconditionError(fmt::format(
          "the event log in {} is in use by another tori process that writes to it (an "
          "ingest, a bill, a checkpoint, `tori project --follow` or a running `tori serve`); "
          "a directory has one writer at a time: wait for it to finish, or while serve runs "
          "write through its API (POST /v1/events, /v1/quarters/Q/bill, /v1/access, "
          "/v1/checkpoint); the commands that only read (verify, explain, reconcile, bill "
          "--dry-run, proof, status) run beside it",
          dir));
    }
    std::this_thread::sleep_for(kLockPoll);
  }
  TORI_RETURN_IF_ERROR(log->FindSegments());
  TORI_RETURN_IF_ERROR(log->Recover());
  // A log from before manifests, or a crash between starting a segment and listing it.
  const bool listed_all =
      log->manifest_ && log->manifest_->size() == log->segments_.size();
  if (!listed_all) TORI_RETURN_IF_ERROR(log->WriteManifest());
  // Opened only now, so that an open that fails changes nothing. Meanwhile readers use
  // the end an earlier writer published, which is still a durable prefix: recovery cuts
  // only what lies past every synced record.
  const std::string durable_path = dir + "/" + std::string(kDurableName);
  log->durable_fd_ = ::open(durable_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (log->durable_fd_ < 0) return Errno("cannot open", durable_path);
  log->PublishDurable(log->segments_.back().first_offset, log->tail_bytes_, log->next_offset_);
  return log;
}

absl::StatusOr<std::unique_ptr<EmbeddedLog>> EmbeddedLog::OpenReadOnly(const std::string& dir) {
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) {
    return absl::NotFoundError(fmt::format("there is no event log in {}: no such directory", dir));
  }
  std::unique_ptr<EmbeddedLog> log(new EmbeddedLog(dir, {}, /*read_only=*/true));
  // Whether a writer holds the lock decides how the end is found (see the header). A
  // copy without the lock file (e.g. an archive) is read without one.
  const std::string lock_path = dir + "/LOCK";
  const int lock_fd = ::open(lock_path.c_str(), O_RDONLY | O_CLOEXEC);
  if (lock_fd < 0 && errno != ENOENT) return Errno("cannot open", lock_path);
  struct LockCloser {
    int fd;
    ~LockCloser() {
      if (fd >= 0) ::close(fd);  // also releases a shared flock
    }
  } closer{lock_fd};
  const auto give_up = std::chrono::steady_clock::now() + kReaderDurableWait;
  while (true) {
    if (lock_fd < 0 || ::flock(lock_fd, LOCK_SH | LOCK_NB) == 0) {
      TORI_RETURN_IF_ERROR(log->FindSegments());
      if (log->segments_.empty()) {
        return absl::NotFoundError(fmt::format("there is no event log in {}: no segment files", dir));
      }
      TORI_RETURN_IF_ERROR(log->FindEndReadOnly());
      return log;  // the shared lock goes with `closer`: a writer may start now
    }
    if (errno != EWOULDBLOCK) return Errno("cannot lock", lock_path);
    const absl::Status found = log->FindDurableEnd();
    if (found.ok()) {
      log->beside_writer_ = true;
      return log;
    }
    if (!absl::IsNotFound(found)) return found;
    log->segments_.clear();
    log->manifest_.reset();
    if (std::chrono::steady_clock::now() >= give_up) {
      return absl::FailedPreconditionError(fmt::format(
          "the event log in {} is held by a tori process that writes to it, which has not "
          "published where its durable records end ({}/{}) for {} s: it may still be "
          "recovering the log; run the command again in a moment",
          dir, dir, kDurableName,
          std::chrono::duration_cast<std::chrono::seconds>(kReaderDurableWait).count()));
    }
    std::this_thread::sleep_for(kLockPoll);
  }
}

bool EmbeddedLog::Exists(const std::string& dir) {
  std::error_code ec;
  const std::string manifest = dir + "/" + std::string(log_internal::kManifestName);
  if (std::filesystem::exists(manifest, ec)) return true;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    if (log_internal::ParseSegmentName(entry.path().filename().string())) return true;
  }
  return false;
}

absl::Status EmbeddedLog::FindSegments(std::optional<int64_t> last_first) {
  std::error_code ec;
  std::vector<int64_t> found;
  for (const auto& entry : std::filesystem::directory_iterator(dir_, ec)) {
    const std::optional<int64_t> first =
        log_internal::ParseSegmentName(entry.path().filename().string());
    if (first && (!last_first || *first <= *last_first)) {
      segments_.push_back({*first, entry.path().string()});
    }
  }
  if (ec) return absl::InternalError(fmt::format("cannot list {}: {}", dir_, ec.message()));
  std::sort(segments_.begin(), segments_.end(),
            [](const Segment& a, const Segment& b) { return a.first_offset < b.first_offset; });
  for (const Segment& segment : segments_) found.push_back(segment.first_offset);
  TORI_ASSIGN_OR_RETURN(manifest_, log_internal::ReadManifest(dir_));
  if (last_first && manifest_) {
    // Segments the writer started after the end it published are not ours to check.
    std::erase_if(*manifest_, [&](int64_t first) { return first > *last_first; });
  }
  return log_internal::CheckSegments(dir_, manifest_, found);
}

absl::Status EmbeddedLog::FindDurableEnd() {
  const std::optional<DurableEnd> end = ReadDurable(dir_);
  if (!end) return absl::NotFoundError("no durable end published");
  TORI_RETURN_IF_ERROR(FindSegments(end->segment_first));
  if (segments_.empty() || segments_.back().first_offset != end->segment_first) {
    return absl::DataLossError(fmt::format(
        "event log incomplete: the writer that holds the log in {} synced records into segment "
        "{}, which is not there; restore it from a backup",
        dir_, log_internal::SegmentName(end->segment_first)));
  }
  const Segment& last = segments_.back();
  SegmentReader reader(last.path, last.first_offset);
  TORI_RETURN_IF_ERROR(reader.Open(end->segment_bytes));
  std::string problem;
  // Every record below the durable end is whole: a torn one there is damage too.
  if (SkipRecords(reader, problem) != SegmentReader::Outcome::kEnd) {
    return CorruptionError(reader, problem);
  }
  if (reader.expected_offset() != end->next_offset) {
    return absl::DataLossError(fmt::format(
        "event log corrupt: the first {} bytes of segment {} hold records up to offset {}, but "
        "the writer that holds the log synced records up to offset {} there; restore the "
        "segment from a backup",
        end->segment_bytes, last.path, reader.expected_offset() - 1, end->next_offset - 1));
  }
  next_offset_ = end->next_offset;
  return absl::OkStatus();
}

void EmbeddedLog::PublishDurable(int64_t segment_first, uint64_t segment_bytes,
                                 int64_t next_offset) {
  std::lock_guard<std::mutex> lock(tail_fd_mutex_);
  if (durable_fd_ < 0 || next_offset < published_next_offset_) return;
  const std::string bytes = EncodeDurable({segment_first, segment_bytes, next_offset});
  // Best effort: a reader that finds it unreadable asks again; nothing here is the
  // log's durability, which the fdatasync before this call gave.
  if (::pwrite(durable_fd_, bytes.data(), bytes.size(), 0) == static_cast<ssize_t>(bytes.size())) {
    published_next_offset_ = next_offset;
  }
}

absl::Status EmbeddedLog::WriteManifest() {
  std::vector<int64_t> firsts;
  for (const Segment& segment : segments_) firsts.push_back(segment.first_offset);
  TORI_RETURN_IF_ERROR(log_internal::WriteManifest(dir_, firsts));
  manifest_ = std::move(firsts);
  return absl::OkStatus();
}

absl::Status EmbeddedLog::FindEndReadOnly() {
  const Segment& last = segments_.back();
  std::error_code ec;
  const uintmax_t bytes = std::filesystem::file_size(last.path, ec);
  if (ec) return absl::InternalError(fmt::format("cannot size {}: {}", last.path, ec.message()));
  if (bytes < kSegmentMagic.size()) {
    // Cut short at creation: it holds nothing; the log ends where it would begin.
    recovery_note_ = fmt::format("segment {} was cut short at creation; left in place (read-only)",
                                 last.path);
    next_offset_ = last.first_offset;
    segments_.pop_back();
    return absl::OkStatus();
  }
  SegmentReader reader(last.path, last.first_offset);
  TORI_RETURN_IF_ERROR(reader.Open());
  std::string problem;
  const auto outcome = SkipRecords(reader, problem);
  if (outcome == SegmentReader::Outcome::kCorrupt) return CorruptionError(reader, problem);
  if (outcome == SegmentReader::Outcome::kTorn) {
    recovery_note_ = fmt::format(
        "a torn tail ({}) at byte offset {} of {} is left in place (read-only): reads stop "
        "before it; the next command that writes cuts it",
        problem, reader.record_start(), last.path);
  }
  next_offset_ = reader.expected_offset();
  return absl::OkStatus();
}

EmbeddedLog::~EmbeddedLog() {
  if (tail_fd_ >= 0) ::close(tail_fd_);
  if (durable_fd_ >= 0) ::close(durable_fd_);
  if (lock_fd_ >= 0) ::close(lock_fd_);  // releases the flock
}

absl::Status EmbeddedLog::Recover() {
  if (segments_.empty()) return StartSegment(0);  // FindSegments: no manifest either
  const Segment& last = segments_.back();
  if (std::filesystem::file_size(last.path) < kSegmentMagic.size()) {
    // A crash right after creating the segment: start it again.
    const Segment torn = last;
    segments_.pop_back();
    if (::unlink(torn.path.c_str()) != 0) return Errno("cannot remove torn segment", torn.path);
    recovery_note_ = fmt::format("removed segment {} cut short at creation", torn.path);
    next_offset_ = torn.first_offset;
    return StartSegment(torn.first_offset);
  }
  SegmentReader reader(last.path, last.first_offset);
  TORI_RETURN_IF_ERROR(reader.Open());
  std::string problem;
  if (SkipRecords(reader, problem) == SegmentReader::Outcome::kCorrupt) {
    return CorruptionError(reader, problem);
  }
  tail_bytes_ = reader.record_start();
  next_offset_ = reader.expected_offset();
  tail_fd_ = ::open(last.path.c_str(), O_WRONLY | O_CLOEXEC);
  if (tail_fd_ < 0) return Errno("cannot open log segment", last.path);
  const off_t file_bytes = ::lseek(tail_fd_, 0, SEEK_END);
  if (file_bytes < 0) return Errno("cannot size", last.path);
  if (static_cast<uint64_t>(file_bytes) != tail_bytes_) {
    recovery_note_ = fmt::format("cut {} bytes of torn tail ({}) at byte offset {} of {}",
                                 static_cast<uint64_t>(file_bytes) - tail_bytes_, problem,
                                 tail_bytes_, last.path);
    if (::ftruncate(tail_fd_, static_cast<off_t>(tail_bytes_)) != 0 || ::fdatasync(tail_fd_) != 0) {
      return Errno("cannot cut torn tail of", last.path);
    }
    if (::lseek(tail_fd_, 0, SEEK_END) < 0) return Errno("cannot seek", last.path);
  } else if (::fdatasync(tail_fd_) != 0) {
    // Records a writer before appended unsynced and left: durable before they are
    // published to readers as such.
    return Errno("cannot sync", last.path);
  }
  return absl::OkStatus();
}

absl::Status EmbeddedLog::StartSegment(int64_t first_offset) {
  const std::string path = dir_ + "/" + SegmentName(first_offset);
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) return Errno("cannot create log segment", path);
  TORI_RETURN_IF_ERROR(WriteAll(fd, kSegmentMagic.data(), kSegmentMagic.size(), path));
  if (::fdatasync(fd) != 0) {
    ::close(fd);
    return Errno("cannot sync", path);
  }
  TORI_RETURN_IF_ERROR(SyncDirectory(dir_));
  {
    std::lock_guard<std::mutex> lock(tail_fd_mutex_);
    if (tail_fd_ >= 0) {
      // Records appended unsynced must be durable before their segment is let go.
      if (tail_unsynced_ && ::fdatasync(tail_fd_) != 0) {
        ::close(fd);
        return Errno("cannot sync", segments_.back().path);
      }
      ::close(tail_fd_);
    }
    tail_unsynced_ = false;
    tail_fd_ = fd;
    tail_bytes_ = kSegmentMagic.size();
    segments_.push_back({first_offset, path});
  }
  // Listed only once durable: a manifest never names a segment a crash could lose.
  TORI_RETURN_IF_ERROR(WriteManifest());
  // Everything before this segment was synced above; readers may follow it once listed.
  PublishDurable(first_offset, kSegmentMagic.size(), first_offset);
  return absl::OkStatus();
}

absl::StatusOr<LogPosition> EmbeddedLog::Append(absl::Span<const AppendRecord> records) {
  return AppendRecords(records, /*sync=*/true);
}

absl::StatusOr<LogPosition> EmbeddedLog::AppendUnsynced(absl::Span<const AppendRecord> records) {
  return AppendRecords(records, /*sync=*/false);
}

absl::Status EmbeddedLog::Sync() {
  if (read_only_) return ReadOnlyError(dir_);
  int fd;
  std::string path;
  DurableEnd end;
  {
    // A duplicate, so that the sync (long) needs no lock and survives a segment change
    // (which syncs the segment it leaves itself).
    std::lock_guard<std::mutex> lock(tail_fd_mutex_);
    fd = ::dup(tail_fd_);
    path = segments_.back().path;
    // What was written before the sync, which the sync makes durable.
    end = {segments_.back().first_offset, tail_bytes_, next_offset_};
  }
  if (fd < 0) return Errno("cannot sync", path);
  const bool synced = ::fdatasync(fd) == 0;
  ::close(fd);
  if (!synced) return Errno("cannot sync", path);
  PublishDurable(end.segment_first, end.segment_bytes, end.next_offset);
  return absl::OkStatus();
}

absl::StatusOr<LogPosition> EmbeddedLog::AppendRecords(absl::Span<const AppendRecord> records,
                                                       bool sync) {
  if (read_only_) return ReadOnlyError(dir_);
  if (records.empty()) return End();
  if (tail_bytes_ >= options_.segment_bytes_target) TORI_RETURN_IF_ERROR(StartSegment(next_offset_));
  write_buffer_.clear();
  int64_t offset = next_offset_;
  for (const AppendRecord& r : records) {
    if (r.payload.size() > kPayloadBytesMax) {
      return absl::InvalidArgumentError(
          fmt::format("event of {} bytes exceeds the log's record limit", r.payload.size()));
    }
    char header[kHeaderBytes];
    EncodeFixed32(header, static_cast<uint32_t>(r.payload.size()));
    EncodeFixed64(header + 4, static_cast<uint64_t>(offset++));
    EncodeFixed32(header + 12, Crc32c(0, r.payload.data(), r.payload.size()));
    EncodeFixed32(header + 16, Crc32c(0, header, 16));
    write_buffer_.append(header, kHeaderBytes);
    write_buffer_.append(r.payload);
  }
  const std::string& path = segments_.back().path;
  absl::Status written = WriteAll(tail_fd_, write_buffer_.data(), write_buffer_.size(), path);
  if (written.ok() && sync && ::fdatasync(tail_fd_) != 0) written = Errno("cannot sync", path);
  if (written.ok() && !sync) tail_unsynced_ = true;
  if (!written.ok()) {
    // Leave the file as it was, so a later append does not follow a partial batch.
    if (::ftruncate(tail_fd_, static_cast<off_t>(tail_bytes_)) == 0) {
      (void)::lseek(tail_fd_, 0, SEEK_END);
    }
    return written;
  }
  {
    // Sync on another thread reads these under the mutex.
    std::lock_guard<std::mutex> lock(tail_fd_mutex_);
    tail_bytes_ += write_buffer_.size();
    next_offset_ = offset;
  }
  if (sync) PublishDurable(segments_.back().first_offset, tail_bytes_, next_offset_);
  return End();
}

absl::StatusOr<std::unique_ptr<LogCursor>> EmbeddedLog::Read(const LogPosition& from) {
  if (from.next_offsets.size() != 1) {
    return absl::InvalidArgumentError(fmt::format(
        "position {} does not fit the embedded log, which has one partition", from.ToString()));
  }
  const int64_t start = from.next_offsets[0];
  std::vector<std::pair<int64_t, std::string>> segments;
  for (size_t i = 0; i < segments_.size(); ++i) {
    const bool next_starts_after = i + 1 == segments_.size() || segments_[i + 1].first_offset > start;
    if (next_starts_after) segments.push_back({segments_[i].first_offset, segments_[i].path});
  }
  return std::make_unique<EmbeddedCursor>(std::move(segments), start, next_offset_);
}

LogPosition EmbeddedLog::End() const { return LogPosition{{next_offset_}}; }

}  // namespace tori
