// The proofs `tori proof` writes and `tori verify-proof` checks (SPEC section 10), as
// JSON files that need nothing else: no data directory, only the host's (and
// witnesses') public keys.
//
//   {"format": "tori-inclusion-proof/v1", "document_kind": "invoice"|"subsidy_claim",
//    "document_id", "document" (the canonical JSON the issuing event's content_sha256
//    hashes, as a string), "partition", "leaf_index", "record" (base64 of the issuing
//    event's log record), "inclusion_path" [base64 hashes, leaf level first],
//    "as_of_consistency_path" [base64 hashes] (only when the issuing event records the
//    tree heads at its as_of: the tree of that size is a prefix of the checkpoint's),
//    "checkpoint" (the signed note)}
//   {"format": "tori-consistency-proof/v1", "old_checkpoint", "new_checkpoint",
//    "consistency_path" [base64 hashes]}
//
// Everything in a proof is checked: the document against the event's content hash, the
// event's kind and id against the proof's, the partition against the checkpoint's
// origin (ORIGIN/pN), the record against the signed root, and the tree head the event
// recorded at its as_of (the log the document was computed from) against the signed
// tree, of which it must be a prefix ending before the event.
//
// Thread safety: pure functions.
#ifndef TORI_EVENTS_MERKLE_PROOF_FILE_H_
#define TORI_EVENTS_MERKLE_PROOF_FILE_H_

#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "events/merkle/merkle.h"
#include "events/merkle/note.h"

namespace tori::merkle {

inline constexpr std::string_view kInclusionProofFormat = "tori-inclusion-proof/v1";
inline constexpr std::string_view kConsistencyProofFormat = "tori-consistency-proof/v1";
inline constexpr size_t kProofBytesMax = 16 << 20;  // a proof carries one document

struct InclusionProofFile {
  std::string document_kind;  // "invoice" or "subsidy_claim"
  std::string document_id;
  std::string document;
  int32_t partition = 0;
  int64_t leaf_index = 0;  // = the record's offset in an embedded log (Kafka skips markers)
  std::string record;
  std::vector<Hash> path;
  // PROOF(as_of tree size, D[checkpoint's size]); present iff the record's event records
  // tree heads (events of tori before them do not).
  std::optional<std::vector<Hash>> as_of_consistency_path;
  std::string checkpoint;  // the signed note

  std::string ToJson() const;
};

// The tree head of `partition` that the issuing event encoded in `record` recorded at its
// as_of: nullopt when the event records none (tori before SPEC section 10's heads);
// InvalidArgument when the record is no event, or records heads but none of that
// partition or a root that is not 32 bytes.
absl::StatusOr<std::optional<TreeHead>> RecordedTreeHead(std::string_view record, int32_t partition);

struct ConsistencyProofFile {
  std::string old_checkpoint, new_checkpoint;  // signed notes
  std::vector<Hash> path;

  std::string ToJson() const;
};

using ProofFile = std::variant<InclusionProofFile, ConsistencyProofFile>;
absl::StatusOr<ProofFile> ParseProofFile(std::string_view json);

// A signed note and the checkpoint its text is.
struct SignedCheckpoint {
  note::Note note;
  note::Checkpoint checkpoint;
};
absl::StatusOr<SignedCheckpoint> ParseSignedCheckpoint(std::string_view text, std::string_view what);
// The partition a checkpoint's origin names (ORIGIN/pN), nullopt for other origins.
std::optional<int32_t> PartitionOfOrigin(std::string_view origin);

// OK with a sentence for people saying what was proven, or the first thing that does
// not hold. An inclusion proof's checkpoint must be signed by every key; a
// consistency proof's new checkpoint by every key, its old one by the first (the log's).
absl::StatusOr<std::string> VerifyProofFile(const ProofFile& proof, absl::Span<const note::Verifier> keys);

}  // namespace tori::merkle

#endif  // TORI_EVENTS_MERKLE_PROOF_FILE_H_
