// Writing output files so that a reader never sees half of one.
#ifndef TORI_EVENTS_BASE_FILES_H_
#define TORI_EVENTS_BASE_FILES_H_

#include <filesystem>
#include <string_view>

#include "absl/status/status.h"

namespace tori {

// Writes `content` to `path` through a temporary file renamed over it: the file holds
// either its old content or all of the new.
absl::Status WriteFileAtomically(const std::filesystem::path& path, std::string_view content);

}  // namespace tori

#endif  // TORI_EVENTS_BASE_FILES_H_
