#include "services/ingest/line_reader.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "fmt/format.h"

namespace tori::ingest_internal {
namespace {
constexpr size_t kChunkBytes = 4u << 20;
}

LineReader::~LineReader() {
  if (fd_ >= 0) ::close(fd_);
}

absl::Status LineReader::Open(const std::string& path) {
  path_ = path;
  fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd_ < 0) {
    return absl::NotFoundError(fmt::format("cannot open {}: {}", path, std::strerror(errno)));
  }
  struct stat st;
  if (::fstat(fd_, &st) == 0) {
    file_bytes_ = static_cast<uint64_t>(st.st_size);
    regular_file_ = S_ISREG(st.st_mode);
  }
  ::posix_fadvise(fd_, 0, 0, POSIX_FADV_SEQUENTIAL);
  buffer_.resize(kChunkBytes + padding_bytes_);
  return absl::OkStatus();
}

absl::Status LineReader::Refill() {
  // Move the unread tail to the front, grow if a line fills the buffer, then read.
  if (begin_ > 0) {
    std::memmove(buffer_.data(), buffer_.data() + begin_, end_ - begin_);
    end_ -= begin_;
    begin_ = 0;
  }
  if (buffer_.size() - padding_bytes_ - end_ < kChunkBytes / 2) {
    buffer_.resize(buffer_.size() + kChunkBytes);
  }
  const size_t room = buffer_.size() - padding_bytes_ - end_;
  ssize_t n;
  do {
    n = ::read(fd_, buffer_.data() + end_, room);
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    return absl::DataLossError(fmt::format("cannot read {} after {} bytes: {}", path_,
                                           bytes_read_, std::strerror(errno)));
  }
  if (n == 0) eof_ = true;
  end_ += static_cast<size_t>(n);
  bytes_read_ += static_cast<uint64_t>(n);
  std::memset(buffer_.data() + end_, 0, padding_bytes_);
  return absl::OkStatus();
}

absl::StatusOr<bool> LineReader::Next(Line& line) {
  bool truncated = false;
  size_t scanned = 0;  // bytes from begin_ already known to hold no newline
  while (true) {
    const char* start = buffer_.data() + begin_;
    const void* nl = std::memchr(start + scanned, '\n', end_ - begin_ - scanned);
    if (nl != nullptr || (eof_ && end_ > begin_)) {
      const size_t length = nl ? static_cast<const char*>(nl) - start : end_ - begin_;
      size_t text_length = length;
      if (text_length > 0 && start[text_length - 1] == '\r') --text_length;
      if (truncated && text_length > kLineBytesKeptMax) text_length = kLineBytesKeptMax;
      line.text = std::string_view(start, text_length);
      line.readable_bytes = buffer_.size() - begin_;
      line.number = ++line_number_;
      line.truncated = truncated;
      line.file_offset = bytes_read_ - (end_ - begin_);  // the buffer ends where the file was read
      if (line.number == 1) {
        auto status = SkipByteOrderMark(line);
        if (!status.ok()) return status;
      }
      begin_ += nl ? length + 1 : length;
      return true;
    }
    if (eof_) return false;
    scanned = end_ - begin_;
    if (scanned > kLineBytesKeptMax) {
      // Keep the line's first bytes only: drop what lies beyond the cap.
      truncated = true;
      end_ = begin_ + kLineBytesKeptMax;
      scanned = kLineBytesKeptMax;
    }
    auto status = Refill();  // moves the line to the front of the buffer
    if (!status.ok()) return status;
  }
}

absl::Status LineReader::SkipByteOrderMark(Line& line) const {
  // Excel and Notepad start UTF-8 files with a byte-order mark; it is no part of the
  // first event (which would be rejected, and every event referring to it after it).
  constexpr std::string_view kUtf8Bom = "\xEF\xBB\xBF";
  if (line.text.starts_with(kUtf8Bom)) {
    line.text.remove_prefix(kUtf8Bom.size());
    line.readable_bytes -= kUtf8Bom.size();
    line.file_offset += kUtf8Bom.size();
    return absl::OkStatus();
  }
  // Excel's "Unicode text" is UTF-16: every line would be rejected as not UTF-8.
  if (line.text.starts_with("\xFF\xFE") || line.text.starts_with("\xFE\xFF")) {
    return absl::InvalidArgumentError(fmt::format(
        "{} is UTF-16 (it starts with the byte-order mark {}); events are UTF-8: convert it "
        "with `iconv -f utf-16 -t utf-8 {} > {}.utf8.jsonl` and ingest that",
        path_, line.text.starts_with("\xFF") ? "FF FE" : "FE FF", path_, path_));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> LineReader::ReadAgain(uint64_t file_offset, size_t bytes) const {
  std::string out(bytes, '\0');
  size_t done = 0;
  while (done < bytes) {
    const ssize_t n = ::pread(fd_, out.data() + done, bytes - done,
                              static_cast<off_t>(file_offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      return absl::DataLossError(
          fmt::format("cannot read {} again at byte {} for a rejected line's dead-letter "
                      "record: {}; the file must not change while it is ingested, run the "
                      "ingest again once it is complete",
                      path_, file_offset + done,
                      n == 0 ? "the file got shorter" : std::strerror(errno)));
    }
    done += static_cast<size_t>(n);
  }
  return out;
}

}  // namespace tori::ingest_internal
