#include "events/base/files.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <system_error>

#include "events/base/sha256.h"
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

absl::Status WriteFileDurably(const std::string& path, std::string_view content) {
  const std::string tmp = path + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return absl::InternalError(fmt::format("cannot create {}: {}", tmp, std::strerror(errno)));
  size_t done = 0;
  while (done < content.size()) {
    const ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break;
    done += static_cast<size_t>(n);
  }
  const bool ok = done == content.size() && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
    return absl::InternalError(fmt::format("cannot write {}: {}", path, std::strerror(errno)));
  }
  const std::filesystem::path parent = std::filesystem::path(path).parent_path();
  const std::string dir = parent.empty() ? "." : parent.string();
  const int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  const bool synced = dir_fd >= 0 && ::fsync(dir_fd) == 0;
  if (dir_fd >= 0) ::close(dir_fd);
  if (!synced) return absl::InternalError(fmt::format("cannot sync the directory {}: {}", dir, std::strerror(errno)));
  return absl::OkStatus();
}

std::string OutputFileName(std::string_view prefix, std::string_view id,
                           std::string_view extension) {
  constexpr size_t kEncodedBytesMax = 160;
  constexpr size_t kEncodedBytesKept = 120;
  std::string encoded;
  for (size_t i = 0; i < id.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(id[i]);
    const bool plain = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                       c == '_' || c == '-' || (c == '.' && !(i == 0 && prefix.empty()));
    if (plain) {
      encoded += static_cast<char>(c);
    } else {
      encoded += fmt::format("%{:02X}", c);
    }
  }
  if (encoded.size() > kEncodedBytesMax) {
    size_t cut = kEncodedBytesKept;
    // Not inside a "%XX".
    if (encoded[cut - 1] == '%') cut -= 1;
    else if (encoded[cut - 2] == '%') cut -= 2;
    encoded.resize(cut);
    encoded += '~';
    encoded += Sha256Hex(id).substr(0, 32);
  }
  std::string name(prefix);
  name += encoded;
  name += extension;
  return name;
}

absl::StatusOr<std::filesystem::path> PathInDirectory(const std::filesystem::path& dir,
                                                      std::string_view file_name) {
  constexpr size_t kNameBytesMax = 255;
  constexpr std::string_view kSeparatorsAndNul("/\\\0", 3);
  const bool plain = !file_name.empty() && file_name != "." && file_name != ".." &&
                     file_name.size() <= kNameBytesMax &&
                     file_name.find_first_of(kSeparatorsAndNul) == std::string_view::npos;
  if (!plain) {
    return absl::InvalidArgumentError(fmt::format(
        "refusing to write '{}' in {}: a file tori writes must be one plain name (not empty, "
        "'.' or '..', no '/', '\\' or NUL, at most {} bytes) so that it stays in that "
        "directory (a defect of tori: please report it with the ids billed)",
        file_name, dir.string(), kNameBytesMax));
  }
  return dir / std::string(file_name);
}

}  // namespace tori
