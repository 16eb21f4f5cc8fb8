#include "events/log/internal/log_manifest.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>

#include "absl/strings/str_join.h"
#include "fmt/format.h"

namespace tori::log_internal {
namespace {

constexpr size_t kDigits = 20;
// A manifest names one segment per 64 MiB of log: a million lines is 64 TiB.
constexpr size_t kManifestSegmentsMax = 1'000'000;

// The advice every message about missing segments ends with.
constexpr std::string_view kRestoreAdvice =
    "The log is the source of truth and tori never reads past a gap: restore the missing "
    "segment files from a backup into the log directory, then run the command again (not "
    "`tori rebuild` first: it would rebuild the state without the missing events)";

}  // namespace

std::string SegmentName(int64_t first_offset) { return fmt::format("{:020d}.log", first_offset); }

std::optional<int64_t> ParseSegmentName(std::string_view name) {
  if (name.size() != kDigits + 4 || name.substr(kDigits) != ".log") return std::nullopt;
  int64_t first = 0;
  for (char c : name.substr(0, kDigits)) {
    if (c < '0' || c > '9') return std::nullopt;
    if (first > (INT64_MAX - 9) / 10) return std::nullopt;
    first = first * 10 + (c - '0');
  }
  return first;
}

absl::StatusOr<std::optional<std::vector<int64_t>>> ReadManifest(const std::string& dir) {
  const std::string path = dir + "/" + std::string(kManifestName);
  std::error_code ec;
  if (!std::filesystem::exists(path, ec) && !ec) return std::nullopt;
  std::ifstream in(path, std::ios::binary);
  if (!in) return Errno("cannot read", path);
  auto damaged = [&](size_t line, std::string_view what) {
    return absl::DataLossError(fmt::format(
        "event log manifest {} is damaged at line {}: {}. It lists the log's segments so that a "
        "missing one is noticed; restore it from a backup (or, if every segment from "
        "{} on is present, remove it: tori writes it again from the segments it finds)",
        path, line, what, SegmentName(0)));
  };
  std::string text;
  std::getline(in, text);
  if (text != kManifestHeader) {
    return damaged(1, fmt::format("it does not start with '{}'", kManifestHeader));
  }
  std::vector<int64_t> listed;
  for (size_t line = 2; std::getline(in, text); ++line) {
    const std::optional<int64_t> first = ParseSegmentName(text);
    if (!first) return damaged(line, fmt::format("'{}' is not a segment file name", text));
    if (!listed.empty() && *first <= listed.back()) return damaged(line, "segments out of order");
    if (listed.size() == kManifestSegmentsMax) return damaged(line, "too many segments");
    listed.push_back(*first);
  }
  if (listed.empty()) return damaged(2, "it lists no segment");
  if (listed.front() != 0) return damaged(2, "the first segment does not start at offset 0");
  return listed;
}

absl::Status WriteManifest(const std::string& dir, const std::vector<int64_t>& first_offsets) {
  std::string text = std::string(kManifestHeader) + "\n";
  for (int64_t first : first_offsets) text += SegmentName(first) + "\n";
  const std::string path = dir + "/" + std::string(kManifestName);
  const std::string tmp = path + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Errno("cannot create", tmp);
  if (absl::Status written = WriteAll(fd, text.data(), text.size(), tmp); !written.ok()) {
    ::close(fd);
    return written;
  }
  const bool synced = ::fdatasync(fd) == 0;
  ::close(fd);
  if (!synced) return Errno("cannot sync", tmp);
  if (::rename(tmp.c_str(), path.c_str()) != 0) return Errno("cannot rename to", path);
  return SyncDirectory(dir);
}

absl::Status CheckSegments(const std::string& dir,
                           const std::optional<std::vector<int64_t>>& listed,
                           const std::vector<int64_t>& found) {
  if (!listed) {
    if (found.empty() || found.front() == 0) return absl::OkStatus();
    return absl::DataLossError(fmt::format(
        "event log incomplete: the first segment in {} is {}, but the log starts at offset 0: "
        "offsets 0..{} are missing (segment {} and any after it before {}). {}",
        dir, SegmentName(found.front()), found.front() - 1, SegmentName(0),
        SegmentName(found.front()), kRestoreAdvice));
  }
  const std::set<int64_t> present(found.begin(), found.end());
  std::vector<std::string> missing;
  for (size_t i = 0; i < listed->size(); ++i) {
    const int64_t first = (*listed)[i];
    if (present.count(first)) continue;
    if (i + 1 < listed->size()) {
      missing.push_back(
          fmt::format("{} (offsets {}..{})", SegmentName(first), first, (*listed)[i + 1] - 1));
    } else {
      missing.push_back(fmt::format(
          "{} (offsets {} and after: the last segment; where it ended is not recorded)",
          SegmentName(first), first));
    }
  }
  if (!missing.empty()) {
    return absl::DataLossError(fmt::format(
        "event log incomplete: {} of the {} segment files listed in {}/{} are missing: {}. {}",
        missing.size(), listed->size(), dir, kManifestName, absl::StrJoin(missing, ", "),
        kRestoreAdvice));
  }
  for (int64_t first : found) {
    const bool listed_here = std::binary_search(listed->begin(), listed->end(), first);
    if (!listed_here && first < listed->back()) {
      return absl::DataLossError(fmt::format(
          "event log corrupt: segment {} in {} is not listed in its {} although later segments "
          "are (a file from another log, or a damaged manifest); move the file away, or restore "
          "the manifest from a backup",
          SegmentName(first), dir, kManifestName));
    }
  }
  return absl::OkStatus();
}

absl::Status Errno(std::string_view what, const std::string& path) {
  return absl::InternalError(fmt::format("{} {}: {}", what, path, std::strerror(errno)));
}

absl::Status WriteAll(int fd, const char* data, size_t n, const std::string& path) {
  while (n > 0) {
    const ssize_t w = ::write(fd, data, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return Errno("cannot write", path);  // 0: no progress, never retried
    data += w;
    n -= static_cast<size_t>(w);
  }
  return absl::OkStatus();
}

absl::Status SyncDirectory(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Errno("cannot open directory", dir);
  const int rc = ::fsync(fd);
  ::close(fd);
  return rc == 0 ? absl::OkStatus() : Errno("cannot fsync directory", dir);
}

}  // namespace tori::log_internal
