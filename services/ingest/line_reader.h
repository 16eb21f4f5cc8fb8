// Private to services/ingest: reads a file line by line through one buffer, with
// the padding simdjson wants after each line, and a cap on how much of an overlong
// line is kept.
#ifndef TORI_SERVICES_INGEST_LINE_READER_H_
#define TORI_SERVICES_INGEST_LINE_READER_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace tori::ingest_internal {

class LineReader {
 public:
  // Bytes kept of a line longer than this; the rest is skipped (and reported).
  static constexpr size_t kLineBytesKeptMax = 16u << 20;

  LineReader(size_t padding_bytes) : padding_bytes_(padding_bytes) {}
  ~LineReader();
  absl::Status Open(const std::string& path);

  struct Line {
    std::string_view text;   // without '\n' (and without a trailing '\r' or a leading BOM)
    size_t readable_bytes;   // bytes readable from text.data()
    uint64_t number;         // 1-based
    bool truncated;          // longer than kLineBytesKeptMax; text is its start
    uint64_t file_offset;    // of text's first byte (not for a truncated line)

    // Empty, or only JSON whitespace (space, tab, CR): a line that carries no event
    // and is skipped, whatever spaces an editor left in it. O(1) for a line that
    // starts with anything else.
    bool blank() const {
      return !truncated && text.find_first_not_of(" \t\r") == std::string_view::npos;
    }
  };
  // The next line; false at the end of the file.
  absl::StatusOr<bool> Next(Line& line);

  uint64_t bytes_read() const { return bytes_read_; }
  // Whether ReadAgain works: the file is a regular one (not a pipe).
  bool can_read_again() const { return regular_file_; }
  // `bytes` bytes of the file from `file_offset` (a line read before), read anew.
  absl::StatusOr<std::string> ReadAgain(uint64_t file_offset, size_t bytes) const;
  uint64_t file_bytes() const { return file_bytes_; }

 private:
  absl::Status Refill();
  // Drops a UTF-8 byte-order mark from the first line; refuses a UTF-16 file.
  absl::Status SkipByteOrderMark(Line& line) const;

  int fd_ = -1;
  std::string path_;
  size_t padding_bytes_;
  std::string buffer_;      // [begin_, end_) holds unread bytes; padding after end_
  size_t begin_ = 0;
  size_t end_ = 0;
  bool eof_ = false;
  uint64_t bytes_read_ = 0;
  uint64_t file_bytes_ = 0;
  uint64_t line_number_ = 0;
  bool regular_file_ = false;
};

}  // namespace tori::ingest_internal

#endif  // TORI_SERVICES_INGEST_LINE_READER_H_
