// The embedded log's manifest: DIR/MANIFEST names every segment of the log in order,
// so that a segment file that goes missing (the first, one in the middle, the last) is
// noticed when the log is opened, without reading the segments. The segments' names
// say where each starts; the first starts the log (offset 0).
//
// File format (text): the line kManifestHeader, then one segment file name per line,
// in ascending order. It is written when the log is created and each time a segment
// is started, after the new segment is durable, through a temporary file that is
// fdatasynced and renamed (and the directory fsynced), so a crash leaves either the
// old or the new list; the old list lacks only the segment being started, which
// CheckSegments accepts after the listed ones.
//
// Thread safety: plain functions; one writer per directory (the log's lock).
#ifndef TORI_EVENTS_LOG_INTERNAL_LOG_MANIFEST_H_
#define TORI_EVENTS_LOG_INTERNAL_LOG_MANIFEST_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace tori::log_internal {

inline constexpr std::string_view kManifestName = "MANIFEST";
inline constexpr std::string_view kManifestHeader = "tori event log manifest v1";

// "<first offset, 20 digits>.log".
std::string SegmentName(int64_t first_offset);
// The first offset a segment file name stands for; nullopt when it is not one.
std::optional<int64_t> ParseSegmentName(std::string_view name);

// The first offsets listed in DIR/MANIFEST; nullopt when the file does not exist (a
// log written before manifests, or a new log). A damaged manifest is DataLoss.
absl::StatusOr<std::optional<std::vector<int64_t>>> ReadManifest(const std::string& dir);

// Replaces DIR/MANIFEST durably with `first_offsets` (ascending).
absl::Status WriteManifest(const std::string& dir, const std::vector<int64_t>& first_offsets);

// Checks the segments `found` in DIR (ascending first offsets) against the manifest's
// `listed` ones: each listed segment must be there, and a segment that is not listed
// may only follow the listed ones (a crash while a segment was started). Without a
// manifest, the first segment must start at offset 0. A missing segment is DataLoss
// naming its file and the offsets lost with it.
absl::Status CheckSegments(const std::string& dir,
                           const std::optional<std::vector<int64_t>>& listed,
                           const std::vector<int64_t>& found);

// fsync of a directory, so that a file created or renamed in it stays.
absl::Status SyncDirectory(const std::string& dir);

// The log's file helpers, shared by the manifest and the segments.
// Internal error "<what> <path>: <strerror(errno)>".
absl::Status Errno(std::string_view what, const std::string& path);
// Writes all `n` bytes to `fd` (retrying short writes and EINTR); on failure, the
// error names `path`.
absl::Status WriteAll(int fd, const char* data, size_t n, const std::string& path);

}  // namespace tori::log_internal

#endif  // TORI_EVENTS_LOG_INTERNAL_LOG_MANIFEST_H_
