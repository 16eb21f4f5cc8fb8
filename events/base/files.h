// Output files: named from ids safely, and written so that a reader never sees half of
// one.
#ifndef TORI_EVENTS_BASE_FILES_H_
#define TORI_EVENTS_BASE_FILES_H_

#include <filesystem>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace tori {

// Writes `content` to `path` through a temporary file renamed over it: the file holds
// either its old content or all of the new.
absl::Status WriteFileAtomically(const std::filesystem::path& path, std::string_view content);
// WriteFileAtomically, and durable on return: the temporary file is fsynced before the
// rename and the directory after it. For what must survive a power cut once reported
// written (checkpoints, a witness's state, proofs handed out).
absl::Status WriteFileDurably(const std::string& path, std::string_view content);

// The one way tori names a file it writes after an id (an invoice id, a quarter):
// `prefix`, then `id` with every byte other than [A-Za-z0-9._-] percent-encoded
// ("%2F", upper-case hex), then `extension`. Encoding instead of replacing keeps any
// two ids apart ("a/b" -> "a%2Fb", "a_b" stays); a '.' that would begin the name is
// encoded too. An encoded id longer than 160 bytes is cut to 120 and followed by '~'
// and 32 hex digits of the id's SHA-256, so names stay far below 255 bytes ('~' is
// always encoded otherwise, so such a name meets no other).
std::string OutputFileName(std::string_view prefix, std::string_view id,
                           std::string_view extension);

// `dir / file_name` when `file_name` is one plain name that stays in `dir`: not empty,
// ".", "..", no '/', '\' or NUL, at most 255 bytes. InvalidArgument otherwise, naming
// the name and the rule.
absl::StatusOr<std::filesystem::path> PathInDirectory(const std::filesystem::path& dir,
                                                      std::string_view file_name);

}  // namespace tori

#endif  // TORI_EVENTS_BASE_FILES_H_
