// FileHashStore: one append-only file per stored level, each entry checked by CRC-32C.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <vector>

#include "events/base/check.h"
#include "events/base/crc32c.h"
#include "events/merkle/merkle.h"
#include "fmt/format.h"

namespace tori::merkle {
namespace {

constexpr int64_t kEntryBytes = 36;  // hash, crc32c(hash, level byte, index u64 LE) LE
constexpr int kStoredLevelsMax = kLevelsMax / kStoredLevelStep + 1;

uint32_t EntryCrc(const Hash& hash, int stored_level, int64_t index) {
  unsigned char tail[9];
  tail[0] = static_cast<unsigned char>(stored_level);
  for (int i = 0; i < 8; ++i) tail[1 + i] = static_cast<unsigned char>(static_cast<uint64_t>(index) >> (8 * i));
  return Crc32c(Crc32c(0, hash.data(), hash.size()), tail, sizeof tail);
}

absl::Status Errno(std::string_view what, const std::string& path) {
  return absl::InternalError(fmt::format("{} {}: {}", what, path, std::strerror(errno)));
}

}  // namespace

struct FileHashStore::Level {
  std::string path;
  int fd = -1;
  int64_t count = 0;  // whole entries (a partial tail of a read-only open is not counted)
  bool dirty = false;
  ~Level() {
    if (fd >= 0) ::close(fd);
  }
};

FileHashStore::FileHashStore(std::string dir, bool read_only) : dir_(std::move(dir)), read_only_(read_only) {
  levels_.resize(kStoredLevelsMax);
}

FileHashStore::~FileHashStore() = default;

absl::StatusOr<std::unique_ptr<FileHashStore>> FileHashStore::Open(const std::string& dir, bool read_only) {
  std::error_code ec;
  if (!read_only) {
    std::filesystem::create_directories(dir, ec);
    if (ec) return absl::InternalError(fmt::format("cannot create {}: {}", dir, ec.message()));
  }
  std::unique_ptr<FileHashStore> store(new FileHashStore(dir, read_only));
  for (int k = 0; k < kStoredLevelsMax; ++k) TORI_RETURN_IF_ERROR(store->OpenLevel(k));
  // What a crash between the appends of two levels left: cut to the whole tree.
  TORI_RETURN_IF_ERROR(store->Truncate(WholeTreeSize(*store)));
  return store;
}

absl::Status FileHashStore::OpenLevel(int k) {
  auto level = std::make_unique<Level>();
  level->path = fmt::format("{}/level-{:02}", dir_, k * kStoredLevelStep);
  // Level 0 always exists in a writable store; higher levels once they get an entry.
  level->fd = ::open(level->path.c_str(), read_only_ ? O_RDONLY | O_CLOEXEC : O_RDWR | O_CLOEXEC | (k == 0 ? O_CREAT : 0),
                     0644);
  if (level->fd < 0) {
    if (errno == ENOENT) {
      levels_[k] = std::move(level);  // an empty level
      return absl::OkStatus();
    }
    return Errno("cannot open", level->path);
  }
  struct stat st;
  if (::fstat(level->fd, &st) != 0) return Errno("cannot stat", level->path);
  level->count = st.st_size / kEntryBytes;
  if (!read_only_ && st.st_size % kEntryBytes != 0) {
    // A partial entry: an append cut short by a crash before its sync.
    if (::ftruncate(level->fd, level->count * kEntryBytes) != 0) return Errno("cannot cut the torn tail of", level->path);
  }
  levels_[k] = std::move(level);
  return absl::OkStatus();
}

int64_t FileHashStore::Count(int k) const {
  return k >= 0 && k < kStoredLevelsMax ? levels_[k]->count : 0;
}

absl::Status FileHashStore::Read(int k, int64_t begin, absl::Span<Hash> out) {
  if (k < 0 || k >= kStoredLevelsMax || begin < 0 || begin + static_cast<int64_t>(out.size()) > Count(k)) {
    return absl::OutOfRangeError(fmt::format("stored level {} holds {} hashes, not [{}, {})", k, Count(k), begin,
                                             begin + static_cast<int64_t>(out.size())));
  }
  Level& level = *levels_[k];
  std::vector<unsigned char> bytes(out.size() * kEntryBytes);
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::pread(level.fd, bytes.data() + done, bytes.size() - done, begin * kEntryBytes + done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Errno("cannot read", level.path);
    if (n == 0) {
      return absl::DataLossError(fmt::format("{} ends before entry {}: the Merkle tree's files were cut; remove {} "
                                             "and the next `tori checkpoint` rebuilds it from the log",
                                             level.path, begin + done / kEntryBytes, dir_));
    }
    done += static_cast<size_t>(n);
  }
  for (size_t i = 0; i < out.size(); ++i) {
    const unsigned char* entry = bytes.data() + i * kEntryBytes;
    std::memcpy(out[i].data(), entry, kSha256Bytes);
    uint32_t stored = 0;
    for (int b = 0; b < 4; ++b) stored |= uint32_t{entry[kSha256Bytes + b]} << (8 * b);
    const int64_t index = begin + static_cast<int64_t>(i);
    if (stored != EntryCrc(out[i], k, index)) {
      return absl::DataLossError(fmt::format(
          "{} entry {} (byte {}) fails its checksum: the Merkle tree's files are damaged; remove {} and the "
          "next `tori checkpoint` rebuilds it from the log",
          level.path, index, index * kEntryBytes, dir_));
    }
  }
  return absl::OkStatus();
}

absl::Status FileHashStore::Append(int k, absl::Span<const Hash> hashes) {
  if (read_only_) return absl::FailedPreconditionError(fmt::format("{} is open read-only", dir_));
  TORI_CHECK(k >= 0 && k < kStoredLevelsMax);
  Level& level = *levels_[k];
  if (level.fd < 0) {
    level.fd = ::open(level.path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (level.fd < 0) return Errno("cannot create", level.path);
    // The new file's directory entry must be durable too.
    const int dir_fd = ::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir_fd < 0 || ::fsync(dir_fd) != 0) {
      if (dir_fd >= 0) ::close(dir_fd);
      return Errno("cannot sync the directory", dir_);
    }
    ::close(dir_fd);
  }
  std::vector<unsigned char> bytes(hashes.size() * kEntryBytes);
  for (size_t i = 0; i < hashes.size(); ++i) {
    unsigned char* entry = bytes.data() + i * kEntryBytes;
    std::memcpy(entry, hashes[i].data(), kSha256Bytes);
    const uint32_t crc = EntryCrc(hashes[i], k, level.count + static_cast<int64_t>(i));
    for (int b = 0; b < 4; ++b) entry[kSha256Bytes + b] = static_cast<unsigned char>(crc >> (8 * b));
  }
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::pwrite(level.fd, bytes.data() + done, bytes.size() - done, level.count * kEntryBytes + done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Errno("cannot write", level.path);
    done += static_cast<size_t>(n);
  }
  level.count += static_cast<int64_t>(hashes.size());
  level.dirty = true;
  return absl::OkStatus();
}

absl::Status FileHashStore::Sync() {
  for (auto& level : levels_) {
    if (!level->dirty) continue;
    if (::fdatasync(level->fd) != 0) return Errno("cannot sync", level->path);
    level->dirty = false;
  }
  return absl::OkStatus();
}

absl::Status FileHashStore::Truncate(int64_t tree_size) {
  for (int k = 0; k < kStoredLevelsMax; ++k) {
    const int shift = k * kStoredLevelStep;
    const int64_t keep = shift < 63 ? tree_size >> shift : 0;
    Level& level = *levels_[k];
    if (level.count <= keep) continue;
    level.count = keep;
    if (read_only_ || level.fd < 0) continue;  // only counted: nothing is written
    if (::ftruncate(level.fd, keep * kEntryBytes) != 0) return Errno("cannot truncate", level.path);
    level.dirty = true;
  }
  return absl::OkStatus();
}

}  // namespace tori::merkle
