// The Merkle tree over tori's event log (SPEC section 10): one tree per log partition
// (the embedded log has one; a Kafka topic has several), whose leaves are the
// partition's record payloads in offset order.
//
// On disk, under DIR/merkle/pN/ (derived data: removing it makes the next
// `tori checkpoint` rebuild it from the log):
//   level-00, level-08, ...  the tree's stored levels (merkle.h, FileHashStore)
//   HEAD                     "tori-merkle-head 1", leaves N, next_offset M: the tree
//                            covers the partition's records before offset M (Kafka
//                            offsets may skip transaction markers, so M >= N)
//   DOCUMENTS                one line per issued document found among the leaves:
//                            "LEAF OFFSET KIND DOCUMENT_ID" (KIND invoice|subsidy_claim)
// A catch-up flushes the tree (fdatasync), then replaces DOCUMENTS, then HEAD (each
// written whole, renamed into place): a crash leaves HEAD at or behind the tree, and
// an open cuts the tree and the documents back to HEAD. DIR/merkle/LOCK (flock) keeps
// a second writer out.
//
// Thread safety: one thread at a time.
#ifndef TORI_EVENTS_MERKLE_LOG_TREE_H_
#define TORI_EVENTS_MERKLE_LOG_TREE_H_

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "events/log/event_log.h"
#include "events/merkle/merkle.h"

namespace tori::merkle {

enum class DocumentKind { kInvoice, kSubsidyClaim };
std::string_view DocumentKindName(DocumentKind kind);  // "invoice", "subsidy_claim"

struct IssuedLeaf {
  int64_t leaf_index = 0;
  int64_t offset = 0;
  DocumentKind kind = DocumentKind::kInvoice;
  std::string document_id;
};

class LogTree {
 public:
  int32_t partition() const { return partition_; }
  int64_t size() const { return tree_->size(); }
  int64_t next_offset() const { return next_offset_; }
  MerkleTree& tree() { return *tree_; }
  const std::vector<IssuedLeaf>& documents() const { return documents_; }

 private:
  friend class LogTrees;
  int32_t partition_ = 0;
  std::string dir_;
  std::unique_ptr<FileHashStore> store_;
  std::unique_ptr<MerkleTree> tree_;
  int64_t next_offset_ = 0;
  std::vector<IssuedLeaf> documents_;
};

// The trees of every partition of one log, under one directory (DIR/merkle).
class LogTrees {
 public:
  // Opens (writable: creates, and locks) the trees of `partition_count` partitions.
  static absl::StatusOr<std::unique_ptr<LogTrees>> Open(const std::string& dir, int32_t partition_count,
                                                        bool read_only);
  ~LogTrees();
  // Brings every tree up to the log's end: reads only the records after each tree's
  // next_offset, hashes them, flushes. Returns how many leaves were added. Writable only.
  absl::StatusOr<int64_t> CatchUp(EventLog& log);
  LogTree& partition(int32_t p) { return *trees_[p]; }
  int32_t partition_count() const { return static_cast<int32_t>(trees_.size()); }
  // The issued document with this id (invoice id or claim id), in any partition.
  std::optional<std::pair<int32_t, IssuedLeaf>> FindDocument(std::string_view document_id) const;

 private:
  LogTrees() = default;
  absl::Status WriteHead(LogTree& tree);
  std::string dir_;
  bool read_only_ = true;
  int lock_fd_ = -1;
  std::vector<std::unique_ptr<LogTree>> trees_;
};

}  // namespace tori::merkle

#endif  // TORI_EVENTS_MERKLE_LOG_TREE_H_
