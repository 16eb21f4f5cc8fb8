// The Merkle tree of SPEC section 10: RFC 9162 (certificate transparency v2) hashing
// over a sequence of records, built incrementally, with inclusion and consistency
// proofs and their verification.
//
// Model: leaf hash = SHA-256(0x00 || record), node hash = SHA-256(0x01 || left ||
// right); the tree of n leaves is MTH(D[n]) of RFC 9162 section 2.1.1 (the left subtree
// of a node is the largest full tree of fewer than n leaves). A full subtree is a node
// (level L, index i): the hash of leaves [i * 2^L, (i + 1) * 2^L).
//
// Storage: a HashStore keeps the full subtrees of every kStoredLevelStep-th level (0, 8,
// 16, ...), in the spirit of C2SP tlog-tiles: about n * (1 + 1/256 + ...) hashes for n
// leaves. A node in between is computed from at most 2^7 stored hashes that lie side by
// side (one read), so an inclusion proof or a consistency proof costs O(log n) reads
// and at most a few hundred hashes, whatever n is.
//
// MerkleTree appends leaves one by one at O(1) amortised hashes: it keeps the right
// edge of the tree (the peaks of its full subtrees, at most 64), never rehashes, and
// hands the store each full subtree of a stored level once, when it completes.
//
// Verification (VerifyInclusion, VerifyConsistency) follows RFC 9162 sections 2.1.3.2
// and 2.1.4.2 word by word and needs nothing but its arguments.
//
// Thread safety: a MerkleTree and a HashStore are used by one thread at a time. The
// free functions are thread-safe.
#ifndef TORI_EVENTS_MERKLE_MERKLE_H_
#define TORI_EVENTS_MERKLE_MERKLE_H_

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "events/base/sha256.h"

namespace tori::merkle {

using Hash = Sha256Digest;

inline constexpr int kStoredLevelStep = 8;  // levels 0, 8, 16, ... are stored
inline constexpr int kLevelsMax = 63;       // tree sizes below 2^63

// RFC 9162 section 2.1.1, with a reusable hasher (one thread at a time).
class Hasher {
 public:
  Hash Leaf(std::string_view record);
  Hash Node(const Hash& left, const Hash& right);

 private:
  Sha256 sha_;
};
Hash LeafHash(std::string_view record);
Hash NodeHash(const Hash& left, const Hash& right);

// Where the full subtrees of the stored levels live. Stored level k is tree level
// k * kStoredLevelStep; its entry i is node (k * kStoredLevelStep, i). Entries of a
// level are appended in index order, each once.
class HashStore {
 public:
  virtual ~HashStore() = default;
  // Entries held at stored level k (0 for a level never written).
  virtual int64_t Count(int stored_level) const = 0;
  // Entries [begin, begin + out.size()) of stored level k; each is checked where the
  // store can (a damaged entry is DataLoss naming where it is, never a wrong hash).
  virtual absl::Status Read(int stored_level, int64_t begin, absl::Span<Hash> out) = 0;
  virtual absl::Status Append(int stored_level, absl::Span<const Hash> hashes) = 0;
  // Makes every append before it durable.
  virtual absl::Status Sync() = 0;
};

// Hashes in memory: for tests and for trees that live only as long as a process.
class MemoryHashStore : public HashStore {
 public:
  int64_t Count(int stored_level) const override;
  absl::Status Read(int stored_level, int64_t begin, absl::Span<Hash> out) override;
  absl::Status Append(int stored_level, absl::Span<const Hash> hashes) override;
  absl::Status Sync() override { return absl::OkStatus(); }
  // Counts of the reads so far (tests pin the O(log n) promise with it).
  int64_t reads() const { return reads_; }

 private:
  std::vector<std::vector<Hash>> levels_;
  int64_t reads_ = 0;
};

// Hashes in files under one directory, one file per stored level ("level-00",
// "level-08", ...), appended and fdatasynced by Sync. Each entry is 36 bytes: the hash
// and CRC-32C of (hash, level, index), so a changed, moved or zeroed entry is DataLoss
// naming the file and entry when it is read. A writing open cuts what a crash left
// beyond the tree's last whole size (a partial entry, levels ahead of level 0), a
// read-only open ignores it.
class FileHashStore : public HashStore {
 public:
  static absl::StatusOr<std::unique_ptr<FileHashStore>> Open(const std::string& dir, bool read_only);
  ~FileHashStore() override;
  int64_t Count(int stored_level) const override;
  absl::Status Read(int stored_level, int64_t begin, absl::Span<Hash> out) override;
  absl::Status Append(int stored_level, absl::Span<const Hash> hashes) override;
  absl::Status Sync() override;
  // Cuts the store to the tree of `tree_size` leaves (the entries of larger trees go).
  absl::Status Truncate(int64_t tree_size);
  const std::string& dir() const { return dir_; }

 private:
  struct Level;
  FileHashStore(std::string dir, bool read_only);
  absl::Status OpenLevel(int stored_level);
  std::string dir_;
  bool read_only_;
  std::vector<std::unique_ptr<Level>> levels_;
};

// The largest tree size whose stored levels `store` holds completely (the entries
// beyond it are ignored): what a crash between the appends of two levels leaves.
int64_t WholeTreeSize(const HashStore& store);

class MerkleTree {
 public:
  // The tree the store holds: its size is WholeTreeSize(*store); reads O(log n)
  // nodes to find its right edge. `store` must outlive the tree.
  static absl::StatusOr<std::unique_ptr<MerkleTree>> Open(HashStore* store);

  int64_t size() const { return size_; }
  // Appends one leaf: O(1) hashes amortised. The full subtrees it completes at stored
  // levels wait in memory until Flush.
  void AppendRecord(std::string_view record);
  void AppendLeafHash(const Hash& leaf_hash);
  // Hands the waiting subtrees to the store and syncs it.
  absl::Status Flush();
  // The root of the whole tree (RFC 9162 MTH; SHA-256 of nothing for the empty tree).
  Hash Root();

  // These read the store: Flush first (FailedPrecondition otherwise). Sizes and
  // indexes out of range are InvalidArgument.
  absl::StatusOr<Hash> RootAt(int64_t tree_size);
  absl::StatusOr<Hash> LeafHashAt(int64_t index);
  // RFC 9162 section 2.1.3.1: PATH(index, D[tree_size]), leaf level first.
  absl::StatusOr<std::vector<Hash>> InclusionProof(int64_t index, int64_t tree_size);
  // RFC 9162 section 2.1.4.1: PROOF(old_size, D[new_size]); empty for old_size 0 or
  // old_size == new_size.
  absl::StatusOr<std::vector<Hash>> ConsistencyProof(int64_t old_size, int64_t new_size);

 private:
  explicit MerkleTree(HashStore* store) : store_(store) {}
  // Node (level, index), a full subtree of the flushed tree.
  absl::StatusOr<Hash> Node(int level, int64_t index);
  // MTH(D[begin:end]) for begin aligned to a power of two >= end - begin.
  absl::StatusOr<Hash> RangeHash(int64_t begin, int64_t end);
  bool HasPending() const;

  HashStore* store_;
  Hasher hasher_;
  int64_t size_ = 0;
  std::array<Hash, kLevelsMax + 1> edge_{};  // edge_[h]: the peak of height h, if bit h of size_
  std::vector<std::vector<Hash>> pending_;   // per stored level, not yet in the store
};

// A tree's size and root: what a checkpoint signs, and what each issued document
// records of every partition at its as_of (SPEC section 10).
struct TreeHead {
  int64_t tree_size = 0;
  Hash root_hash{};
  friend bool operator==(const TreeHead&, const TreeHead&) = default;
};

// The right edge of a tree and nothing else: the peaks of its full subtrees (at most
// 64), so its root at each size it passes costs O(1) amortised hashes per leaf and no
// store. For keeping the tree head beside the log's hash chain (services/state), where
// no proof is ever made. Copyable; Append uses a hasher per thread.
class TreeEdge {
 public:
  int64_t size() const { return size_; }
  void AppendRecord(std::string_view record);
  void AppendLeafHash(const Hash& leaf_hash);
  // MTH of the leaves so far: MerkleTree::Root of the same leaves.
  Hash Root() const;
  TreeHead Head() const { return {size_, Root()}; }
  // The peaks, largest first (one per set bit of size()), and the edge they make.
  std::vector<Hash> Peaks() const;
  // InvalidArgument unless `peaks` has one hash per set bit of `size`.
  static absl::StatusOr<TreeEdge> FromPeaks(int64_t size, absl::Span<const Hash> peaks);

 private:
  int64_t size_ = 0;
  std::vector<Hash> edge_;  // edge_[h]: the peak of height h, if bit h of size_
};

// RFC 9162 section 2.1.3.2. OK, or InvalidArgument saying what does not hold.
absl::Status VerifyInclusion(const Hash& leaf_hash, int64_t index, int64_t tree_size,
                             absl::Span<const Hash> path, const Hash& root);
// RFC 9162 section 2.1.4.2, with its edge cases: old_size 0 needs an empty proof;
// old_size == new_size an empty proof and equal roots.
absl::Status VerifyConsistency(int64_t old_size, int64_t new_size, const Hash& old_root,
                               const Hash& new_root, absl::Span<const Hash> path);

}  // namespace tori::merkle

#endif  // TORI_EVENTS_MERKLE_MERKLE_H_
