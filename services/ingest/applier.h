// The applier: the one loop through which events enter the state, whatever their
// source (ingest.h's IngestFile, IngestLines, AppendEvents and CatchUp are its
// configurations).
//
// A *source* hands over batches of events in order. New events (a JSON Lines file, a
// request body, tori's own issued documents) are judged by the validator (Check), and
// the accepted ones go to the log under their partition key; logged events (the log
// from a position: a catch-up or a replay) were accepted when they were appended, and
// only their index entries are recorded (Record). Either way the validator says how a
// correction or void changed its contact (ContactChange), and the applier hands the
// event with that change to the projector: the projector never asks the validator.
//
// A *commit policy* says when the state commits:
// - EachBatch: each batch is appended to the log and synced, then committed to the
//   state, before the loop goes on (a request is answered only for durable events);
// - SortedFiles(n): after the batch that reaches n events the state commits, the index
//   entries as sorted files written on a commit thread while the next batches apply
//   (sorted files, not the memtable's skip-list inserts of random ids: BENCHMARKS.md);
//   new events' batches are appended and synced on a log thread meanwhile, and the
//   hash chain of a one-partition log is extended over them (hash_chain.h).
//
// Invariants: the state never runs ahead of the durable log (new events commit at the
// log's end after their append is synced, logged events at the position of the last
// record passed); until a commit is stored, the validator answers from its overlay's
// sealed batches and the projector reads stored counters only after the commit before
// is stored (Projector::TakeWrites), so each event is judged and applied as if every
// event before it were stored. A crash leaves the state behind the log, never ahead;
// the next CatchUp replays the difference.
//
// Thread safety: one thread at a time (the applier's own threads aside).
#ifndef TORI_SERVICES_INGEST_APPLIER_H_
#define TORI_SERVICES_INGEST_APPLIER_H_

#include <cstdint>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "events/base/check.h"
#include "events/codec/codec.h"
#include "events/codec/rejection.h"
#include "events/log/event_log.h"
#include "events/validate/validator.h"
#include "services/ingest/ingest.h"
#include "services/projector/projector.h"
#include "services/state/state_store.h"

namespace tori::ingest_internal {

struct CommitPolicy {
  enum class Kind { kEachBatch, kSortedFiles };
  Kind kind = Kind::kEachBatch;
  uint64_t events = 0;  // kSortedFiles: commit after the batch that reaches this many

  static CommitPolicy EachBatch() { return {Kind::kEachBatch, 0}; }
  static CommitPolicy SortedFiles(uint64_t events) { return {Kind::kSortedFiles, events}; }
};

// Whether a source's events are new (judged, then appended) or read from the log.
enum class EventOrigin { kNew, kLogged };

struct ApplierOptions {
  EventOrigin origin = EventOrigin::kNew;
  CommitPolicy commit;
  absl::Time now = absl::Now();  // the CLOCK rule's reference (Validator)
  // kKeepForReadAheads when the source prefetches each batch's index entries.
  IndexOverlay::ReadAheads read_aheads = IndexOverlay::ReadAheads::kNone;
  // Logged events: whether their event_id entries are written (see EventIdIndex).
  EventIdIndex event_ids = EventIdIndex::kWrite;
  // New events under SortedFiles: extend the hash chain of a one-partition log over
  // the appended batches when it is at most this many records behind the log's end
  // (reading them brings it there); one further behind is left to billing.
  std::optional<int64_t> hash_chain_behind_max;
  // Called after each commit the policy starts (not Finish's): how many logged events
  // were applied so far.
  std::function<void(uint64_t applied)> on_commit;
  // Whether Finish flushes the state's memtables (StateStore::Flush). The state writes
  // no WAL, so a commit still in a memtable is lost in a crash and replayed from the
  // log (CatchUp): the flush only shortens that replay. A command flushes at its end;
  // `tori serve`'s posts do not (each would pay a memtable flush: BENCHMARKS.md, tenth
  // session): their events are durable once the log's append is synced.
  bool flush_state_at_finish = true;
};

class LogWriter;

class Applier {
 public:
  // The state must be at the log's end for new events (CatchUp first); logged events
  // follow from the state's applied position.
  static absl::StatusOr<std::unique_ptr<Applier>> Create(EventLog& log, StateStore& state,
                                                         ApplierOptions options);
  ~Applier();
  Applier(const Applier&) = delete;
  Applier& operator=(const Applier&) = delete;

  // The rules and the index overlay (a source reads ahead through it, or asks it
  // whether a replayed record is a copy).
  Validator& validator() { return validator_; }

  // A new event: the validator judges it; an accepted one is applied to the projection
  // and queued for the log. `contact`: the event as a contact view, else `event`;
  // `encoded`: its encoding, which must live until EndBatch returns; `item`: its place
  // among the batch's read-ahead items, if the batch was read ahead.
  absl::StatusOr<Verdict> ApplyNew(const std::optional<ContactRecordedView>& contact,
                                   const events::Event& event, std::string_view encoded,
                                   std::string_view content_hash, std::optional<size_t> item,
                                   Rejection& rejection);

  // A logged event: the source read the record at `partition`/`offset` (Passed, also
  // for a record it skips), then ApplyLogged applies it. `content_hash`: unused when
  // the event_id index is skipped.
  void Passed(int32_t partition, int64_t offset) {
    position_.next_offsets[static_cast<size_t>(partition)] = offset + 1;
  }
  absl::Status ApplyLogged(const std::optional<ContactRecordedView>& contact,
                           const events::Event& event, std::string_view content_hash);
  uint64_t logged_applied() const { return logged_applied_; }

  // Ends a source's batch: commits as the policy says.
  absl::Status EndBatch();
  // After the source's last batch, or its read error: commits what was applied (logged
  // events at `reached` when given: every record before it was read, also where a
  // partition ends with a Kafka transaction marker) and returns once the log and the
  // state hold it durably.
  absl::Status Finish(const std::optional<LogPosition>& reached);

 private:
  Applier(EventLog& log, StateStore& state, ApplierOptions options, absl::TimeZone helsinki);
  // Accepted events waiting for the next append. The payloads are views (for a file,
  // into the parsed batch's lines, which LogWriter copies before they go back).
  struct PendingBatch {
    std::vector<std::string_view> payloads;
    std::vector<std::string> keys;
    void Clear() {
      payloads.clear();
      keys.clear();
    }
  };
  // EachBatch for new events: append, sync, commit, here.
  absl::Status CommitAccepted();
  // Starts a commit on the commit thread (after the one before is stored).
  absl::Status StartCommit();
  // Waits for the running commit, if any, and releases the overlay's batches it stored.
  absl::Status FinishCommit();
  bool sorted_files() const { return options_.commit.kind == CommitPolicy::Kind::kSortedFiles; }

  EventLog& log_;
  StateStore& state_;
  const ApplierOptions options_;
  Validator validator_;
  Projector projector_;
  PendingBatch accepted_;
  std::unique_ptr<LogWriter> log_writer_;  // new events under SortedFiles
  LogPosition position_;                   // logged events: after the last record passed
  uint64_t logged_applied_ = 0;
  uint64_t since_commit_ = 0;  // events applied (logged) or accepted (new) since a commit
  std::future<absl::Status> committing_;  // the running commit
  size_t committing_batches_ = 0;         // the sealed batches it stores
};

// The loop: takes the source's batches in order, hands each event to the applier,
// ends each batch (the commit policy), and finishes. A Source provides
//   absl::StatusOr<size_t> Take(Applier&, bool& last): the next batch, how many items
//       it holds; `last` when no batch follows;
//   absl::Status Apply(size_t item, Applier&): the item through ApplyNew or
//       Passed/ApplyLogged, keeping what it reports of the outcome;
//   absl::Status GiveBack(): ends the batch; why reading stopped early, if it did;
//   std::optional<LogPosition> reached(): for logged events, the position read up to.
// What was applied before a read error is committed before the error is returned.
template <typename Source>
absl::Status RunApplier(Source& source, Applier& applier) {
  bool last = false;
  while (!last) {
    TORI_ASSIGN_OR_RETURN(const size_t items, source.Take(applier, last));
    for (size_t i = 0; i < items; ++i) TORI_RETURN_IF_ERROR(source.Apply(i, applier));
    TORI_RETURN_IF_ERROR(applier.EndBatch());
    const absl::Status read = source.GiveBack();
    if (!read.ok()) {
      TORI_RETURN_IF_ERROR(applier.Finish(std::nullopt));
      return read;
    }
  }
  return applier.Finish(source.reached());
}

}  // namespace tori::ingest_internal

#endif  // TORI_SERVICES_INGEST_APPLIER_H_
