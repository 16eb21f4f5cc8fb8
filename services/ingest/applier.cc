#include "services/ingest/applier.h"

#include <utility>

#include "events/base/calendar.h"
#include "fmt/format.h"
#include "services/state/hash_chain.h"

namespace tori::ingest_internal {

// Appends of new events under SortedFiles, on a thread of their own while the next
// batches validate: each batch is copied (its payloads may go back to the source),
// appended, added to the hash chain and synced there, so that the fdatasync, the
// kernel's copy and the chain do not hold up the applying thread (BENCHMARKS.md). One
// batch at a time, in order; Durable() waits until every batch handed over is durable,
// which the state's commits and the end of ingest require, and gives the log's end
// after them.
class LogWriter {
 public:
  // `chain`: the hash chain at the log's end, to extend (hash_chain.h), or none.
  LogWriter(EventLog& log, LogPosition end, std::optional<HashChain> chain)
      : log_(log), end_(std::move(end)), chain_(std::move(chain)) {}
  ~LogWriter() {
    if (running_.valid()) (void)running_.get();
  }
  // Hands the batch over; an error is an earlier batch's.
  absl::Status Write(const std::vector<std::string_view>& payloads,
                     const std::vector<std::string>& keys) {
    if (running_.valid()) TORI_RETURN_IF_ERROR(running_.get());
    Copy& copy = copies_[next_copy_];
    next_copy_ ^= 1;  // the other copy is free now: its append is done
    copy.bytes.clear();
    copy.records.clear();
    for (size_t i = 0; i < payloads.size(); ++i) copy.bytes.append(keys[i]).append(payloads[i]);
    for (size_t i = 0, at = 0; i < payloads.size(); ++i) {
      const std::string_view key(copy.bytes.data() + at, keys[i].size());
      at += key.size();
      const std::string_view payload(copy.bytes.data() + at, payloads[i].size());
      copy.records.push_back({key, payload});
      at += payloads[i].size();
    }
    running_ = std::async(std::launch::async, [this, &copy] { return Append(copy.records); });
    return absl::OkStatus();
  }
  absl::StatusOr<LogPosition> Durable() {
    if (running_.valid()) TORI_RETURN_IF_ERROR(running_.get());
    return end_;
  }
  // The chain at the end, when it could be kept (after Durable).
  const std::optional<HashChain>& chain() const { return chain_; }

 private:
  struct Copy {
    std::string bytes;  // partition keys and payloads, side by side
    std::vector<AppendRecord> records;
  };
  absl::Status Append(const std::vector<AppendRecord>& records) {
    TORI_ASSIGN_OR_RETURN(LogPosition end, log_.AppendUnsynced(records));
    // The chain takes the batch when its records alone came between the two ends.
    const int64_t start = end.next_offsets.back() - static_cast<int64_t>(records.size());
    if (chain_ && end.next_offsets.size() == 1 && start == chain_->covered().next_offsets[0]) {
      for (const AppendRecord& record : records) chain_->Extend(0, record.payload);
    } else {
      chain_.reset();  // billing reads them
    }
    TORI_RETURN_IF_ERROR(log_.Sync());
    end_ = std::move(end);
    return absl::OkStatus();
  }

  EventLog& log_;
  LogPosition end_;
  std::optional<HashChain> chain_;
  Copy copies_[2];
  int next_copy_ = 0;
  std::future<absl::Status> running_;
};

Applier::Applier(EventLog& log, StateStore& state, ApplierOptions options,
                 absl::TimeZone helsinki)
    : log_(log), state_(state), options_(std::move(options)),
      validator_(state, options_.now, options_.read_aheads), projector_(helsinki) {}

Applier::~Applier() {
  if (committing_.valid()) (void)committing_.get();
}

absl::StatusOr<std::unique_ptr<Applier>> Applier::Create(EventLog& log, StateStore& state,
                                                         ApplierOptions options) {
  TORI_ASSIGN_OR_RETURN(absl::TimeZone helsinki, HelsinkiTimeZone());
  std::unique_ptr<Applier> applier(new Applier(log, state, std::move(options), helsinki));
  if (applier->options_.origin == EventOrigin::kLogged) {
    applier->position_ = state.applied();
    if (applier->position_.next_offsets.empty()) {
      applier->position_.next_offsets.assign(log.partition_count(), 0);
    }
  } else if (applier->sorted_files()) {
    std::optional<HashChain> chain;
    const LogPosition log_end = log.End();
    if (applier->options_.hash_chain_behind_max && log.partition_count() == 1) {
      TORI_ASSIGN_OR_RETURN(HashChain kept, LoadHashChain(state, 1));
      if (log_end.Covers(kept.covered()) &&
          log_end.next_offsets[0] - kept.covered().next_offsets[0] <=
              *applier->options_.hash_chain_behind_max) {
        TORI_RETURN_IF_ERROR(ExtendHashChain(log, log_end, kept));
        chain = std::move(kept);
      }
    }
    applier->log_writer_ = std::make_unique<LogWriter>(log, log_end, std::move(chain));
  }
  return applier;
}

absl::StatusOr<Verdict> Applier::ApplyNew(const std::optional<ContactRecordedView>& contact,
                                          const events::Event& event, std::string_view encoded,
                                          std::string_view content_hash,
                                          std::optional<size_t> item, Rejection& rejection) {
  if (item) validator_.overlay().AtItem(*item);
  if (contact) {
    TORI_ASSIGN_OR_RETURN(Verdict verdict,
                          validator_.CheckContact(*contact, content_hash, rejection));
    if (verdict != Verdict::kAccept) return verdict;
    projector_.ApplyContact(*contact);
    accepted_.keys.emplace_back(contact->service_point_id);
  } else {
    ContactChange change;
    TORI_ASSIGN_OR_RETURN(Verdict verdict,
                          validator_.Check(event, content_hash, rejection, &change));
    if (verdict != Verdict::kAccept) return verdict;
    const bool changes_contact = event.has_contact_corrected() || event.has_contact_voided();
    TORI_RETURN_IF_ERROR(projector_.Apply(event, changes_contact ? &change : nullptr));
    accepted_.keys.push_back(PartitionKey(event, changes_contact ? &change.before : nullptr));
  }
  accepted_.payloads.push_back(encoded);
  return Verdict::kAccept;
}

absl::Status Applier::ApplyLogged(const std::optional<ContactRecordedView>& contact,
                                  const events::Event& event, std::string_view content_hash) {
  ++logged_applied_;
  ++since_commit_;
  const bool write_ids = options_.event_ids == EventIdIndex::kWrite;
  if (contact) {
    if (write_ids) {
      validator_.RecordContact(*contact, content_hash);
    } else {
      validator_.RecordContactEntities(*contact);
    }
    projector_.ApplyContact(*contact);
    return absl::OkStatus();
  }
  ContactChange change;
  TORI_RETURN_IF_ERROR(write_ids ? validator_.Record(event, content_hash, &change)
                                 : validator_.RecordEntities(event, &change));
  const bool changes_contact = event.has_contact_corrected() || event.has_contact_voided();
  return projector_.Apply(event, changes_contact ? &change : nullptr);
}

absl::Status Applier::EndBatch() {
  if (options_.origin == EventOrigin::kLogged) {
    // Logged events seal once per commit: one hashed batch, sorted on the commit thread.
    if (!sorted_files()) {
      TORI_RETURN_IF_ERROR(StartCommit());
      return FinishCommit();
    }
    if (since_commit_ < options_.commit.events) return absl::OkStatus();
    TORI_RETURN_IF_ERROR(StartCommit());
    if (options_.on_commit) options_.on_commit(logged_applied_);
    return absl::OkStatus();
  }
  if (!sorted_files()) return CommitAccepted();
  // New events seal every batch (its read-ahead's items end with it): the overlay
  // answers from the sealed batch until a commit stores it.
  const bool wrote = validator_.overlay().Seal() != nullptr;
  TORI_CHECK(wrote == !accepted_.payloads.empty());  // only accepted events write entries
  if (wrote) {
    TORI_RETURN_IF_ERROR(log_writer_->Write(accepted_.payloads, accepted_.keys));
    since_commit_ += accepted_.payloads.size();
    accepted_.Clear();
  }
  if (since_commit_ >= options_.commit.events) TORI_RETURN_IF_ERROR(StartCommit());
  return absl::OkStatus();
}

absl::Status Applier::CommitAccepted() {
  std::shared_ptr<const SealedBatch> sealed = validator_.overlay().Seal();
  if (accepted_.payloads.empty()) {
    TORI_CHECK(sealed == nullptr);  // only accepted events write index entries
    return absl::OkStatus();
  }
  TORI_ASSIGN_OR_RETURN(std::vector<KeyValue> projection_writes, projector_.TakeWrites(state_));
  std::vector<AppendRecord> records;
  records.reserve(accepted_.payloads.size());
  for (size_t i = 0; i < accepted_.payloads.size(); ++i) {
    records.push_back({accepted_.keys[i], accepted_.payloads[i]});
  }
  TORI_ASSIGN_OR_RETURN(LogPosition end, log_.Append(records));  // synced
  std::vector<KeyValue> index_writes;
  if (sealed != nullptr) {
    for (const auto& [key, value] : sealed->SortedWrites()) index_writes.emplace_back(key, value);
  }
  TORI_RETURN_IF_ERROR(state_.Commit(index_writes, projection_writes, end));
  if (sealed != nullptr) validator_.overlay().Release(1);
  accepted_.Clear();
  return absl::OkStatus();
}

absl::Status Applier::StartCommit() {
  TORI_RETURN_IF_ERROR(FinishCommit());
  std::function<std::vector<IndexWriteView>()> index_writes;
  LogPosition applied;
  if (options_.origin == EventOrigin::kNew) {
    std::vector<std::shared_ptr<const SealedBatch>> batches = validator_.overlay().Unreleased();
    if (batches.empty()) return absl::OkStatus();
    // The state never runs ahead of the durable log.
    TORI_ASSIGN_OR_RETURN(applied, log_writer_->Durable());
    committing_batches_ = batches.size();
    index_writes = [batches = std::move(batches)] { return IndexOverlay::MergedWrites(batches); };
  } else {
    std::shared_ptr<const SealedBatch> sealed = validator_.overlay().Seal();
    committing_batches_ = sealed != nullptr ? 1 : 0;
    applied = position_;
    index_writes = [sealed = std::move(sealed)] {
      return sealed != nullptr ? sealed->SortedWrites() : std::vector<IndexWriteView>{};
    };
  }
  TORI_ASSIGN_OR_RETURN(std::vector<KeyValue> projection_writes, projector_.TakeWrites(state_));
  since_commit_ = 0;
  // `index_writes` sorts or merges on the commit thread; its views point into the
  // sealed batches it captures.
  committing_ = std::async(
      std::launch::async, [&state = state_, index_writes = std::move(index_writes),
                           projection_writes = std::move(projection_writes),
                           applied = std::move(applied)] {
        return state.CommitBulk(
            index_writes(),
            std::vector<KeyValueView>(projection_writes.begin(), projection_writes.end()),
            applied);
      });
  return absl::OkStatus();
}

absl::Status Applier::FinishCommit() {
  if (!committing_.valid()) return absl::OkStatus();
  TORI_RETURN_IF_ERROR(committing_.get());
  if (committing_batches_ > 0) validator_.overlay().Release(committing_batches_);
  committing_batches_ = 0;
  return absl::OkStatus();
}

absl::Status Applier::Finish(const std::optional<LogPosition>& reached) {
  if (options_.origin == EventOrigin::kLogged) {
    if (reached) position_ = *reached;
    TORI_RETURN_IF_ERROR(StartCommit());
    return FinishCommit();
  }
  if (sorted_files()) {
    TORI_RETURN_IF_ERROR(StartCommit());
    TORI_RETURN_IF_ERROR(FinishCommit());
    TORI_RETURN_IF_ERROR(log_writer_->Durable().status());  // before a summary says accepted
    if (log_writer_->chain()) TORI_RETURN_IF_ERROR(SaveHashChain(state_, *log_writer_->chain()));
  }
  return options_.flush_state_at_finish ? state_.Flush() : absl::OkStatus();
}

}  // namespace tori::ingest_internal
