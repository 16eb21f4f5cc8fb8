// An issued document's inclusion proof from a data directory (SPEC section 10): what
// `tori proof --invoice` writes and `GET /v1/invoices/{id}/proof` answers, from the
// Merkle trees (DIR/merkle, opened read-only: never written here) and the checkpoints
// `tori checkpoint` signed (DIR/checkpoints/pN/<20-digit tree size>).
//
// Thread safety: pure functions over files; the trees are opened per call.
#ifndef TORI_EVENTS_MERKLE_INCLUSION_H_
#define TORI_EVENTS_MERKLE_INCLUSION_H_

#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "events/log/event_log.h"
#include "events/merkle/proof_file.h"

namespace tori::merkle {

std::string CheckpointDir(const std::string& data_dir, int32_t partition);
std::string CheckpointPath(const std::string& data_dir, int32_t partition, int64_t tree_size);
// The partition's checkpoints by tree size, smallest first (files named by their
// 20-digit size); none when the directory does not exist.
absl::StatusOr<std::vector<std::pair<int64_t, std::string>>> ListCheckpoints(const std::string& data_dir,
                                                                            int32_t partition);
// The record at `offset` of `partition`, read from the log; DataLoss when it has none.
absl::StatusOr<std::string> ReadLogRecord(EventLog& log, int32_t partition, int64_t offset);

struct BuiltInclusionProof {
  InclusionProofFile proof;
  int64_t offset = 0;            // of the issuing record in its partition
  std::string checkpoint_path;   // the checkpoint the proof leads to
  int64_t tree_size = 0;         // its tree size
};

// The canonical JSON of the document an issuing event's record carries
// (services/billing's IssuedDocumentJson; given here so events/ needs no services/).
using DocumentJsonFn = std::function<absl::StatusOr<std::string>(std::string_view record)>;

// The proof of the issued document `document_id` (an invoice or claim id) to the
// newest checkpoint of its partition, checked by the host before it is handed out: the
// tree must still give the signed root, the log must still hold the record the tree
// hashed, and the path must verify (else DataLoss). NotFound when no checkpoint covers
// the issuing event yet (the tree does not reach it, or the newest checkpoint is older):
// the host has not signed a checkpoint since the document was issued.
absl::StatusOr<BuiltInclusionProof> BuildInclusionProof(EventLog& log, const std::string& data_dir,
                                                        std::string_view document_id,
                                                        const DocumentJsonFn& document_json);

}  // namespace tori::merkle

#endif  // TORI_EVENTS_MERKLE_INCLUSION_H_
