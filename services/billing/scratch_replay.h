// ScratchReplay: the log as it stood at an earlier position, replayed into a state of
// its own in a scratch directory that it removes. Billing an issued quarter again
// (`bill --as-of`, a reissue), `explain` and `verify` compute from one.
//
// The replay writes no event-id index (EventIdIndex::kSkip): every event in the log
// was accepted when it was appended, and a replay applies each record once. A replay
// only moves forward; StartOverUnlessCovered empties the state for an earlier position.
//
// Thread safety: one thread at a time.
#ifndef TORI_SERVICES_BILLING_SCRATCH_REPLAY_H_
#define TORI_SERVICES_BILLING_SCRATCH_REPLAY_H_

#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "events/log/event_log.h"
#include "services/ingest/ingest.h"
#include "services/state/state_store.h"

namespace tori {

class ScratchReplay {
 public:
  // Removes whatever `dir` holds and opens an empty state there.
  static absl::StatusOr<std::unique_ptr<ScratchReplay>> Open(std::string dir);
  // Closes the state and removes `dir`.
  ~ScratchReplay();
  ScratchReplay(const ScratchReplay&) = delete;
  ScratchReplay& operator=(const ScratchReplay&) = delete;

  // Replays the log into the state up to `options.until` (the log's end when unset),
  // writing no event-id index whatever `options.event_ids` says. Returns the events
  // replayed (CatchUp's count).
  absl::StatusOr<uint64_t> CatchUpTo(EventLog& log, CatchUpOptions options);
  // Empties the state unless `at` covers its position (LogPosition::Covers), so that
  // a replay to `at` can follow. Returns whether it did.
  absl::StatusOr<bool> StartOverUnlessCovered(const LogPosition& at);

  StateStore& state() { return *state_; }

 private:
  explicit ScratchReplay(std::string dir) : dir_(std::move(dir)) {}
  absl::Status OpenEmpty();

  std::string dir_;
  std::unique_ptr<StateStore> state_;
};

// Replays the log up to `until` into a scratch state in `dir`, hands it to `use`, and
// removes it (also when `use` fails). `use`'s error is returned as it is.
absl::Status WithScratchReplay(EventLog& log, const std::string& dir, const LogPosition& until,
                               const std::function<absl::Status(StateStore&)>& use);
// The same for a replay that `replay` bounds (until, until_occurred); the state's
// applied position says where it ended.
absl::Status WithScratchReplay(EventLog& log, const std::string& dir,
                               const CatchUpOptions& replay,
                               const std::function<absl::Status(StateStore&)>& use);

}  // namespace tori

#endif  // TORI_SERVICES_BILLING_SCRATCH_REPLAY_H_
