// libFuzzer target: the embedded log's reader (events/log) over a directory of segment
// files made from the input.
//
// The input is cut before each "TORILOG1" (a segment's magic); each piece is one
// segment file, named, as the writer names it, after the offset in its first record's
// header (or the one after the previous name when the piece is too short to hold
// one). Deleting a piece, crossing two logs over and flipping bytes then make the
// damage a disk or an operator would: gaps, overlaps, torn tails, bad checksums.
//
// Checks: Open either fails or gives a log whose records, read from the start, come in
// offsets 0, 1, 2, ... without a gap up to End(), or stop at an error that says so; a
// read from End() gives nothing; never a crash. (On main before issue #14.1's fix a
// missing segment is read over silently: this target finds that within seconds.)
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#include "events/log/embedded_log.h"
#include "fmt/format.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

namespace fs = std::filesystem;
constexpr std::string_view kMagic = "TORILOG1";
constexpr size_t kSegmentsMax = 16;  // a bound on files per input (each read costs a 1 MiB buffer)

// The pieces of `input`, each starting with the magic (bytes before the first are
// dropped).
std::vector<std::string_view> Segments(std::string_view input) {
  std::vector<std::string_view> pieces;
  size_t start = input.find(kMagic);
  while (start != std::string_view::npos && pieces.size() < kSegmentsMax) {
    const size_t next = input.find(kMagic, start + kMagic.size());
    pieces.push_back(input.substr(start, next == std::string_view::npos ? next : next - start));
    start = next;
  }
  return pieces;
}

uint64_t FirstRecordOffset(std::string_view piece, uint64_t otherwise) {
  // Header after the magic: u32 payload bytes, u64 offset (little-endian).
  if (piece.size() < kMagic.size() + 12) return otherwise;
  uint64_t offset = 0;
  for (int i = 7; i >= 0; --i) {
    offset = offset << 8 | static_cast<uint8_t>(piece[kMagic.size() + 4 + static_cast<size_t>(i)]);
  }
  return offset % 100'000'000;  // keeps names at 20 digits and offsets far from overflow
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tori;
  // In memory where there is /dev/shm: the log fsyncs its files and directory, which on
  // a disk would slow the fuzzing a hundredfold.
  static const struct ScratchDir {
    fs::path path = (fs::is_directory("/dev/shm") ? fs::path("/dev/shm") : fs::temp_directory_path()) /
                    fmt::format("tori-log-fuzz-{}", ::getpid());
    ~ScratchDir() { fs::remove_all(path); }
  } scratch;
  const fs::path& dir = scratch.path;
  fs::remove_all(dir);
  fs::create_directories(dir);
  uint64_t name = 0;
  for (std::string_view piece : Segments({reinterpret_cast<const char*>(data), size})) {
    name = FirstRecordOffset(piece, name);
    std::ofstream(dir / fmt::format("{:020d}.log", name), std::ios::binary)
        .write(piece.data(), static_cast<std::streamsize>(piece.size()));
    ++name;
  }

  auto log = EmbeddedLog::Open(dir.string(), {.segment_bytes_target = 4096});
  if (!log.ok()) {
    FUZZ_CHECK(!log.status().message().empty(), "an error without a message");
    return 0;
  }
  const int64_t end = (*log)->End().next_offsets[0];
  auto cursor = (*log)->Read(LogPosition{{0}});
  FUZZ_CHECK(cursor.ok(), std::string(cursor.status().message()));
  // A log starts at offset 0 (SPEC: offsets from 0) and never skips one.
  LogRecord record;
  int64_t expected = 0;
  while (true) {
    auto more = (*cursor)->Next(record);
    if (!more.ok()) {
      FUZZ_CHECK(!more.status().message().empty(), "an error without a message");
      break;
    }
    if (!*more) {
      FUZZ_CHECK(expected == end, fmt::format("read ended before offset {}, the log ends at {}",
                                              expected, end));
      break;
    }
    FUZZ_CHECK(record.offset == expected,
               fmt::format("offset {} read where {} was due: a gap or a step back", record.offset,
                           expected));
    ++expected;
  }
  auto at_end = (*log)->Read(LogPosition{{end}});
  FUZZ_CHECK(at_end.ok(), std::string(at_end.status().message()));
  auto nothing = (*at_end)->Next(record);
  FUZZ_CHECK(!nothing.ok() || !*nothing, "a record read from the end");
  return 0;
}
