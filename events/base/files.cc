#include "events/base/files.h"

#include <fstream>
#include <system_error>

#include "fmt/format.h"

namespace tori {

absl::Status WriteFileAtomically(const std::filesystem::path& path, std::string_view content) {
  const std::filesystem::path tmp = path.string() + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out.write(content.data(), static_cast<std::streamsize>(content.size()));
    if (!out) return absl::InternalError(fmt::format("cannot write {}", tmp.string()));
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    return absl::InternalError(fmt::format("cannot write {}: {}", path.string(), ec.message()));
  }
  return absl::OkStatus();
}

}  // namespace tori
