#include "services/billing/scratch_replay.h"

#include <filesystem>
#include <system_error>

#include "events/base/check.h"

namespace tori {

absl::StatusOr<std::unique_ptr<ScratchReplay>> ScratchReplay::Open(std::string dir) {
  std::unique_ptr<ScratchReplay> replay(new ScratchReplay(std::move(dir)));
  TORI_RETURN_IF_ERROR(replay->OpenEmpty());
  return replay;
}

ScratchReplay::~ScratchReplay() {
  state_.reset();
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

absl::Status ScratchReplay::OpenEmpty() {
  state_.reset();
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
  TORI_ASSIGN_OR_RETURN(state_, StateStore::Open(dir_));
  return absl::OkStatus();
}

absl::StatusOr<uint64_t> ScratchReplay::CatchUpTo(EventLog& log, CatchUpOptions options) {
  options.event_ids = EventIdIndex::kSkip;
  return CatchUp(log, *state_, options);
}

absl::StatusOr<bool> ScratchReplay::StartOverUnlessCovered(const LogPosition& at) {
  if (at.Covers(state_->applied())) return false;
  TORI_RETURN_IF_ERROR(OpenEmpty());
  return true;
}

absl::Status WithScratchReplay(EventLog& log, const std::string& dir, const LogPosition& until,
                               const std::function<absl::Status(StateStore&)>& use) {
  CatchUpOptions replay;
  replay.until = until;
  return WithScratchReplay(log, dir, replay, use);
}

absl::Status WithScratchReplay(EventLog& log, const std::string& dir,
                               const CatchUpOptions& replay,
                               const std::function<absl::Status(StateStore&)>& use) {
  TORI_ASSIGN_OR_RETURN(std::unique_ptr<ScratchReplay> scratch, ScratchReplay::Open(dir));
  TORI_RETURN_IF_ERROR(scratch->CatchUpTo(log, replay).status());
  return use(scratch->state());
}

}  // namespace tori
