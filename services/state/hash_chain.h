// The tamper-evidence hash chain over the event log (issue #5, SPEC section 5).
//
// Per partition: head_0 = 32 zero bytes, head_{n+1} = SHA-256(head_n || payload_n),
// over every stored record in log order. Each issued document records the heads at its
// as_of ("p0:<hex>,p1:<hex>"), so a change, deletion or reordering of any event before
// it, even with valid record checksums, shows up when `tori verify` recomputes the
// chain from the log.
//
// Beside each head the chain keeps the partition's Merkle tree head (SPEC section 10,
// RFC 9162 over the same records, events/merkle): only its right edge, so that each
// issued document records the tree size and root at its as_of too, and `tori verify`
// recomputes them. It is the root that DIR/merkle's trees (log_tree.h) give at that
// size, and that a checkpoint of that size signs.
//
// The live state keeps the chain's progress (meta key "hash_chain"), so each billing
// run hashes only the records added since the last one. Ingest into a one-partition
// log extends it over each batch it appends, while the records are in memory (the
// main thread had time to spare; billing 10 M contacts read and hashed the whole log).
//
// Thread safety: one thread at a time.
#ifndef TORI_SERVICES_STATE_HASH_CHAIN_H_
#define TORI_SERVICES_STATE_HASH_CHAIN_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "events/log/event_log.h"
#include "events/merkle/merkle.h"
#include "services/state/state_store.h"

namespace tori {

class HashChain {
 public:
  explicit HashChain(int32_t partitions);
  // Extends partition `p`'s head by one record.
  void Extend(int32_t partition, std::string_view payload);
  // The same for the record at `offset`, which may lie past the progress: a Kafka log
  // read committed leaves offsets without records (transaction markers, aborted
  // records), which the chain passes over.
  void ExtendAt(int32_t partition, int64_t offset, std::string_view payload);
  // Moves the progress to `at` (not before it): every record before it was extended.
  void PassTo(const LogPosition& at);
  // "p0:<64 hex>,p1:..." of the current heads.
  std::string HeadsText() const;
  // The Merkle tree head of each partition (size: the records extended), in partition order.
  std::vector<merkle::TreeHead> TreeHeads() const;
  // Records covered per partition.
  const LogPosition& covered() const { return covered_; }

  // Text form with progress, for the state: "p0:<offset>:<hex>:<leaves>:<peaks' hex,
  // largest first>,...". A text of the form before the tree ("p0:<offset>:<hex>,...")
  // reads as a new chain: the next extension reads the log from its start once.
  std::string Serialize() const;
  // DataLoss naming the rule when `text` is not of that form.
  static absl::StatusOr<HashChain> Deserialize(std::string_view text);

 private:
  std::vector<std::string> heads_;  // raw 32-byte digests
  std::vector<merkle::TreeEdge> trees_;
  LogPosition covered_;
};

// The chain kept in `state` (a new one when none is), and keeping it.
absl::StatusOr<HashChain> LoadHashChain(StateStore& state, int32_t partitions);
absl::Status SaveHashChain(StateStore& state, const HashChain& chain);

// Extends `chain` by reading the log from its progress up to `at`, which must not lie
// before it.
absl::Status ExtendHashChain(EventLog& log, const LogPosition& at, HashChain& chain);

// The chain's heads and the trees' heads at `at`, extending the chain kept in `state`
// by reading the log (and, with `save_progress`, saving the new progress: a read-only
// state, e.g. a dry run's, is only read). `at` must not lie before the kept progress.
struct LogHeads {
  std::string chain_heads;                     // HeadsText()
  std::vector<merkle::TreeHead> tree_heads;    // TreeHeads()
};
absl::StatusOr<LogHeads> LogHeadsAt(EventLog& log, StateStore& state, const LogPosition& at,
                                    bool save_progress = true);

}  // namespace tori

#endif  // TORI_SERVICES_STATE_HASH_CHAIN_H_
