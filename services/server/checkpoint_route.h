// POST /v1/checkpoint (host): the host signs the Merkle tree head of the log now, as
// `tori checkpoint` does (SPEC section 10), with the key `tori serve` was started with
// (--checkpoint-key). `tori checkpoint` appends its checkpoint_signed events to the log,
// so it is a writer and cannot run beside serve (the directory's one writer); this
// route is how a running serve gets the checkpoints that GET /v1/invoices/{id}/proof
// needs. The signing itself (bring DIR/merkle up to the log, write
// DIR/checkpoints/pN/..., append the events) is the command line's, passed in as
// `sign`, so both make the same files and the same events.
//
// Answers (JSON): 200 {"checkpoints": [{"partition", "origin", "tree_size", "root"
// (base64), "unchanged" (this key signed this size before: nothing new written),
// "signed_note"}], "leaves_added", "events_appended"}; 409 NO_CHECKPOINT_KEY when serve
// has no key; 500 CHECKPOINT_FAILED with the reason when signing failed.
//
// Thread safety: the handler may be called from any number of threads; `sign` runs
// under the state mutex, one at a time, between the write routes' commits.
#ifndef TORI_SERVICES_SERVER_CHECKPOINT_ROUTE_H_
#define TORI_SERVICES_SERVER_CHECKPOINT_ROUTE_H_

#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "services/server/router.h"

namespace tori::server {

struct SignedCheckpoint {
  int32_t partition = 0;
  std::string origin;  // "ORIGIN/pN"
  int64_t tree_size = 0;
  std::string root_base64;
  bool unchanged = false;  // this key had signed this size: its file stays as it was
  std::string signed_note;
  std::string path;  // DIR/checkpoints/pN/...: for the command line's output only
};

struct CheckpointOutcome {
  std::vector<SignedCheckpoint> checkpoints;
  int64_t leaves_added = 0;
  double catch_up_s = 0;
  int64_t events_appended = 0;
};

using CheckpointSigner = std::function<absl::StatusOr<CheckpointOutcome>()>;

// The 200 answer's body (with the newline every JSON answer ends with).
std::string CheckpointOutcomeJson(const CheckpointOutcome& outcome);

// POST /v1/checkpoint's handler. `sign` null: serve has no key (409).
RouteHandler CheckpointHandler(CheckpointSigner sign, std::mutex* state_mutex);

}  // namespace tori::server

#endif  // TORI_SERVICES_SERVER_CHECKPOINT_ROUTE_H_
