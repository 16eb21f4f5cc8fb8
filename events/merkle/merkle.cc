// RFC 9162 hashing, the incremental tree, its proofs and their verification.
#include "events/merkle/merkle.h"

#include <algorithm>
#include <bit>
#include <limits>
#include <optional>

#include "events/base/check.h"
#include "fmt/format.h"

namespace tori::merkle {

Hash Hasher::Leaf(std::string_view record) {
  const unsigned char prefix = 0x00;
  return sha_.Update(&prefix, 1).Update(record).Finish();
}

Hash Hasher::Node(const Hash& left, const Hash& right) {
  const unsigned char prefix = 0x01;
  return sha_.Update(&prefix, 1).Update(left.data(), left.size()).Update(right.data(), right.size()).Finish();
}

Hash LeafHash(std::string_view record) { return Hasher().Leaf(record); }
Hash NodeHash(const Hash& left, const Hash& right) { return Hasher().Node(left, right); }

// ---------------------------------------------------------------- TreeEdge

void TreeEdge::AppendRecord(std::string_view record) {
  // One hasher a thread, reused: this runs once per record of the log (a hasher made
  // per digest costs about as much as the digest), and a member would make the edge
  // uncopyable.
  thread_local Hasher hasher;
  AppendLeafHash(hasher.Leaf(record));
}

void TreeEdge::AppendLeafHash(const Hash& leaf_hash) {
  TORI_CHECK(size_ < std::numeric_limits<int64_t>::max());
  thread_local Hasher hasher;
  Hash carry = leaf_hash;
  int h = 0;
  for (; (size_ >> h) & 1; ++h) carry = hasher.Node(edge_[h], carry);
  if (edge_.size() <= static_cast<size_t>(h)) edge_.resize(h + 1);
  edge_[h] = carry;
  ++size_;
}

Hash TreeEdge::Root() const {
  if (size_ == 0) return Sha256Of("");
  Hasher hasher;
  std::optional<Hash> root;
  for (int h = 0; h < static_cast<int>(edge_.size()); ++h) {
    if (((size_ >> h) & 1) == 0) continue;
    root = root ? hasher.Node(edge_[h], *root) : edge_[h];
  }
  return *root;
}

std::vector<Hash> TreeEdge::Peaks() const {
  std::vector<Hash> peaks;
  for (int h = static_cast<int>(edge_.size()) - 1; h >= 0; --h) {
    if ((size_ >> h) & 1) peaks.push_back(edge_[h]);
  }
  return peaks;
}

absl::StatusOr<TreeEdge> TreeEdge::FromPeaks(int64_t size, absl::Span<const Hash> peaks) {
  if (size < 0 || static_cast<size_t>(std::popcount(static_cast<uint64_t>(size))) != peaks.size()) {
    return absl::InvalidArgumentError(fmt::format(
        "a tree of {} leaves has one peak per set bit of its size, not {}", size, peaks.size()));
  }
  TreeEdge edge;
  edge.size_ = size;
  edge.edge_.resize(size == 0 ? 0 : 64 - std::countl_zero(static_cast<uint64_t>(size)));
  size_t next = 0;
  for (int h = static_cast<int>(edge.edge_.size()) - 1; h >= 0; --h) {
    if ((size >> h) & 1) edge.edge_[h] = peaks[next++];
  }
  return edge;
}

// ---------------------------------------------------------------- MemoryHashStore

int64_t MemoryHashStore::Count(int stored_level) const {
  return stored_level < static_cast<int>(levels_.size()) ? static_cast<int64_t>(levels_[stored_level].size()) : 0;
}

absl::Status MemoryHashStore::Read(int stored_level, int64_t begin, absl::Span<Hash> out) {
  ++reads_;
  if (begin < 0 || begin + static_cast<int64_t>(out.size()) > Count(stored_level)) {
    return absl::OutOfRangeError(fmt::format("stored level {} holds {} hashes, not [{}, {})", stored_level,
                                             Count(stored_level), begin, begin + out.size()));
  }
  std::copy_n(levels_[stored_level].begin() + begin, out.size(), out.begin());
  return absl::OkStatus();
}

absl::Status MemoryHashStore::Append(int stored_level, absl::Span<const Hash> hashes) {
  if (stored_level >= static_cast<int>(levels_.size())) levels_.resize(stored_level + 1);
  levels_[stored_level].insert(levels_[stored_level].end(), hashes.begin(), hashes.end());
  return absl::OkStatus();
}

int64_t WholeTreeSize(const HashStore& store) {
  // A tree of n leaves holds n >> (8k) entries at stored level k; n is whole when every
  // level holds at least that many.
  int64_t n = store.Count(0);
  for (int k = 1; k * kStoredLevelStep <= kLevelsMax; ++k) {
    const int shift = k * kStoredLevelStep;
    if ((n >> shift) == 0) break;
    const int64_t held = store.Count(k);
    if (held < (n >> shift)) n = ((held + 1) << shift) - 1;
  }
  return n;
}

// ---------------------------------------------------------------- MerkleTree

absl::StatusOr<std::unique_ptr<MerkleTree>> MerkleTree::Open(HashStore* store) {
  std::unique_ptr<MerkleTree> tree(new MerkleTree(store));
  const int64_t n = WholeTreeSize(*store);
  tree->size_ = n;
  // The peaks: for each set bit h of n, from the highest, the full subtree that follows
  // the ones before it.
  int64_t begin = 0;
  for (int h = kLevelsMax; h >= 0; --h) {
    if (((n >> h) & 1) == 0) continue;
    TORI_ASSIGN_OR_RETURN(tree->edge_[h], tree->Node(h, begin >> h));
    begin += int64_t{1} << h;
  }
  return tree;
}

void MerkleTree::AppendRecord(std::string_view record) { AppendLeafHash(hasher_.Leaf(record)); }

void MerkleTree::AppendLeafHash(const Hash& leaf_hash) {
  TORI_CHECK(size_ < std::numeric_limits<int64_t>::max());
  if (pending_.empty()) pending_.resize(1);
  pending_[0].push_back(leaf_hash);
  Hash carry = leaf_hash;
  int h = 0;
  const int64_t new_size = size_ + 1;
  // Each set low bit of size_ is a peak that the new leaf completes into a larger one.
  for (; (size_ >> h) & 1; ++h) {
    carry = hasher_.Node(edge_[h], carry);
    const int level = h + 1;
    if (level % kStoredLevelStep == 0) {
      const size_t k = level / kStoredLevelStep;
      if (pending_.size() <= k) pending_.resize(k + 1);
      pending_[k].push_back(carry);  // node (level, (new_size >> level) - 1)
    }
  }
  edge_[h] = carry;
  size_ = new_size;
}

bool MerkleTree::HasPending() const {
  return std::any_of(pending_.begin(), pending_.end(), [](const auto& p) { return !p.empty(); });
}

absl::Status MerkleTree::Flush() {
  // Lower levels first: a crash between two appends leaves a higher level short, which
  // WholeTreeSize reads as a smaller whole tree.
  for (size_t k = 0; k < pending_.size(); ++k) {
    if (pending_[k].empty()) continue;
    TORI_RETURN_IF_ERROR(store_->Append(static_cast<int>(k), pending_[k]));
    pending_[k].clear();
  }
  return store_->Sync();
}

Hash MerkleTree::Root() {
  if (size_ == 0) return Sha256Of("");
  std::optional<Hash> root;
  for (int h = 0; h <= kLevelsMax; ++h) {
    if (((size_ >> h) & 1) == 0) continue;
    root = root ? hasher_.Node(edge_[h], *root) : edge_[h];
  }
  return *root;
}

absl::StatusOr<Hash> MerkleTree::Node(int level, int64_t index) {
  const int k = level / kStoredLevelStep;
  const int below = level % kStoredLevelStep;
  std::array<Hash, size_t{1} << (kStoredLevelStep - 1)> hashes;
  const size_t count = size_t{1} << below;
  TORI_RETURN_IF_ERROR(store_->Read(k, index << below, absl::MakeSpan(hashes.data(), count)));
  for (size_t width = count; width > 1; width /= 2) {
    for (size_t i = 0; i < width / 2; ++i) hashes[i] = hasher_.Node(hashes[2 * i], hashes[2 * i + 1]);
  }
  return hashes[0];
}

absl::StatusOr<Hash> MerkleTree::RangeHash(int64_t begin, int64_t end) {
  // Full subtrees from the left, each the largest that begins at `begin` and fits;
  // then folded from the right (MTH's left subtree is always the larger).
  std::vector<Hash> parts;
  while (begin < end) {
    int level = 63 - std::countl_zero(static_cast<uint64_t>(end - begin));
    if (begin != 0) level = std::min(level, std::countr_zero(static_cast<uint64_t>(begin)));
    TORI_ASSIGN_OR_RETURN(Hash h, Node(level, begin >> level));
    parts.push_back(h);
    begin += int64_t{1} << level;
  }
  Hash root = parts.back();
  for (size_t i = parts.size() - 1; i-- > 0;) root = hasher_.Node(parts[i], root);
  return root;
}

namespace {
// The largest power of two smaller than n (n > 1).
int64_t SplitPoint(int64_t n) { return int64_t{1} << (63 - std::countl_zero(static_cast<uint64_t>(n - 1))); }
}  // namespace

absl::StatusOr<Hash> MerkleTree::RootAt(int64_t tree_size) {
  if (HasPending()) return absl::FailedPreconditionError("the tree has leaves not flushed to its store");
  if (tree_size < 0 || tree_size > size_) {
    return absl::InvalidArgumentError(fmt::format("no tree of size {}: the tree has {} leaves", tree_size, size_));
  }
  if (tree_size == 0) return Sha256Of("");
  return RangeHash(0, tree_size);
}

absl::StatusOr<Hash> MerkleTree::LeafHashAt(int64_t index) {
  if (HasPending()) return absl::FailedPreconditionError("the tree has leaves not flushed to its store");
  if (index < 0 || index >= size_) {
    return absl::InvalidArgumentError(fmt::format("no leaf {}: the tree has {} leaves", index, size_));
  }
  return Node(0, index);
}

absl::StatusOr<std::vector<Hash>> MerkleTree::InclusionProof(int64_t index, int64_t tree_size) {
  if (HasPending()) return absl::FailedPreconditionError("the tree has leaves not flushed to its store");
  if (tree_size > size_ || index < 0 || index >= tree_size) {
    return absl::InvalidArgumentError(
        fmt::format("no leaf {} in a tree of size {} (the tree has {} leaves)", index, tree_size, size_));
  }
  // PATH(m, D[begin:end]) from the top: the sibling of each step comes after the path
  // below it, so the list is built top-down and reversed.
  std::vector<Hash> path;
  int64_t begin = 0, end = tree_size, m = index;
  while (end - begin > 1) {
    const int64_t k = SplitPoint(end - begin);
    if (m < k) {
      TORI_ASSIGN_OR_RETURN(Hash h, RangeHash(begin + k, end));
      path.push_back(h);
      end = begin + k;
    } else {
      TORI_ASSIGN_OR_RETURN(Hash h, RangeHash(begin, begin + k));
      path.push_back(h);
      begin += k;
      m -= k;
    }
  }
  std::reverse(path.begin(), path.end());
  return path;
}

absl::StatusOr<std::vector<Hash>> MerkleTree::ConsistencyProof(int64_t old_size, int64_t new_size) {
  if (HasPending()) return absl::FailedPreconditionError("the tree has leaves not flushed to its store");
  if (old_size < 0 || old_size > new_size || new_size > size_) {
    return absl::InvalidArgumentError(fmt::format(
        "no consistency proof from size {} to size {} (the tree has {} leaves)", old_size, new_size, size_));
  }
  std::vector<Hash> proof;
  if (old_size == 0 || old_size == new_size) return proof;
  // SUBPROOF(m, D[begin:end], b) from the top, reversed at the end as for PATH.
  int64_t begin = 0, end = new_size, m = old_size;
  bool whole = true;  // b: the subtree is still the whole old tree
  while (true) {
    const int64_t n = end - begin;
    if (m == n) {
      if (!whole) {
        TORI_ASSIGN_OR_RETURN(Hash h, RangeHash(begin, end));
        proof.push_back(h);
      }
      break;
    }
    const int64_t k = SplitPoint(n);
    if (m <= k) {
      TORI_ASSIGN_OR_RETURN(Hash h, RangeHash(begin + k, end));
      proof.push_back(h);
      end = begin + k;
    } else {
      TORI_ASSIGN_OR_RETURN(Hash h, RangeHash(begin, begin + k));
      proof.push_back(h);
      begin += k;
      m -= k;
      whole = false;
    }
  }
  std::reverse(proof.begin(), proof.end());
  return proof;
}

// ---------------------------------------------------------------- verification

absl::Status VerifyInclusion(const Hash& leaf_hash, int64_t index, int64_t tree_size,
                             absl::Span<const Hash> path, const Hash& root) {
  if (index < 0 || index >= tree_size) {
    return absl::InvalidArgumentError(fmt::format("leaf index {} is not below the tree size {}", index, tree_size));
  }
  Hasher hasher;
  uint64_t fn = static_cast<uint64_t>(index), sn = static_cast<uint64_t>(tree_size - 1);
  Hash r = leaf_hash;
  for (const Hash& p : path) {
    if (sn == 0) return absl::InvalidArgumentError("the inclusion path is longer than the tree is high");
    if ((fn & 1) || fn == sn) {
      r = hasher.Node(p, r);
      if (!(fn & 1)) {
        while (!(fn & 1) && fn != 0) {
          fn >>= 1;
          sn >>= 1;
        }
      }
    } else {
      r = hasher.Node(r, p);
    }
    fn >>= 1;
    sn >>= 1;
  }
  if (sn != 0) return absl::InvalidArgumentError("the inclusion path is shorter than the tree is high");
  if (r != root) {
    return absl::InvalidArgumentError(
        "the inclusion path does not lead from the leaf to the root: the record, the path or the root "
        "was changed");
  }
  return absl::OkStatus();
}

absl::Status VerifyConsistency(int64_t old_size, int64_t new_size, const Hash& old_root,
                               const Hash& new_root, absl::Span<const Hash> path) {
  if (old_size < 0 || old_size > new_size) {
    return absl::InvalidArgumentError(
        fmt::format("the old tree ({} leaves) is larger than the new one ({}): a log never shrinks",
                    old_size, new_size));
  }
  if (old_size == 0) {
    if (!path.empty()) return absl::InvalidArgumentError("a proof from the empty tree must be empty");
    return absl::OkStatus();
  }
  if (old_size == new_size) {
    if (!path.empty()) return absl::InvalidArgumentError("a proof between equal sizes must be empty");
    if (old_root != new_root) {
      return absl::InvalidArgumentError(
          fmt::format("two different roots for the same tree size {}: the log's history was rewritten", old_size));
    }
    return absl::OkStatus();
  }
  if (path.empty()) return absl::InvalidArgumentError("the consistency proof is empty");
  std::vector<Hash> proof(path.begin(), path.end());
  if (std::has_single_bit(static_cast<uint64_t>(old_size))) proof.insert(proof.begin(), old_root);
  uint64_t fn = static_cast<uint64_t>(old_size - 1), sn = static_cast<uint64_t>(new_size - 1);
  while (fn & 1) {
    fn >>= 1;
    sn >>= 1;
  }
  Hasher hasher;
  Hash fr = proof[0], sr = proof[0];
  for (size_t i = 1; i < proof.size(); ++i) {
    const Hash& c = proof[i];
    if (sn == 0) return absl::InvalidArgumentError("the consistency proof is longer than the tree is high");
    if ((fn & 1) || fn == sn) {
      fr = hasher.Node(c, fr);
      sr = hasher.Node(c, sr);
      while (!(fn & 1) && fn != 0) {
        fn >>= 1;
        sn >>= 1;
      }
    } else {
      sr = hasher.Node(sr, c);
    }
    fn >>= 1;
    sn >>= 1;
  }
  if (sn != 0) return absl::InvalidArgumentError("the consistency proof is shorter than the tree is high");
  if (fr != old_root) {
    return absl::InvalidArgumentError(fmt::format(
        "the old tree ({} leaves) is not a prefix of the new one ({} leaves): the log's history "
        "before the old checkpoint was rewritten, or the proof was changed",
        old_size, new_size));
  }
  if (sr != new_root) {
    return absl::InvalidArgumentError(
        "the consistency proof does not lead to the new root: the new checkpoint or the proof was changed");
  }
  return absl::OkStatus();
}

}  // namespace tori::merkle
