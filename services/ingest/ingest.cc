#include "services/ingest/ingest.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <deque>
#include <filesystem>
#include <future>
#include <vector>

#include "events/base/check.h"
#include "events/base/identifiers.h"
#include "events/base/json_text.h"
#include "events/codec/codec.h"
#include "events/validate/validator.h"
#include "fmt/format.h"
#include "services/ingest/batch_pipe.h"
#include "services/ingest/line_reader.h"
#include "services/projector/projector.h"
#include "services/state/hash_chain.h"
#include "simdjson.h"

namespace tori {
namespace {

// Dead-letter records must not carry personal data either: every valid personal
// identity code in the raw bytes is masked.
std::string RedactPersonalData(std::string_view raw) {
  std::string out(raw);
  size_t from = 0;
  while (auto at = FindPersonalIdentityCode(std::string_view(out).substr(from))) {
    const size_t pos = from + *at;
    out.replace(pos, 11, std::string(11, '*'));
    from = pos + 11;
  }
  return out;
}

class DeadLetterFile {
 public:
  ~DeadLetterFile() {
    if (file_ != nullptr) std::fclose(file_);
  }

  explicit DeadLetterFile(std::string path,
                          std::function<absl::Status(std::string_view)> sink)
      : path_(std::move(path)), sink_(std::move(sink)) {}

  absl::Status Write(uint64_t line_number, const Rejection& rejection, std::string_view raw,
                     bool truncated) {
    if (file_ == nullptr) {
      file_ = std::fopen(path_.c_str(), "w");
      if (file_ == nullptr) {
        return absl::InternalError(
            fmt::format("cannot create {}: {}", path_, std::strerror(errno)));
      }
    }
    std::string record;
    JsonObjectWriter w(record);
    w.Int("line", static_cast<int64_t>(line_number))
        .String("reason", RejectReasonName(rejection.reason))
        .String("field", rejection.field)
        .String("message", rejection.message)
        .String("raw", RedactPersonalData(raw));  // AppendJsonString maps bad UTF-8 to U+FFFD
    if (truncated) w.Raw("raw_truncated", "true");
    w.Close();
    if (sink_) TORI_RETURN_IF_ERROR(sink_(record));
    record.push_back('\n');
    if (std::fwrite(record.data(), 1, record.size(), file_) != record.size()) {
      return absl::InternalError(fmt::format("cannot write {}: {}", path_, std::strerror(errno)));
    }
    return absl::OkStatus();
  }

  // Flushes and fsyncs; true when a file was written.
  absl::StatusOr<bool> Close() {
    if (file_ == nullptr) return false;
    const bool ok = std::fflush(file_) == 0 && ::fsync(::fileno(file_)) == 0;
    std::fclose(file_);
    file_ = nullptr;
    if (!ok) return absl::InternalError(fmt::format("cannot write {}", path_));
    return true;
  }

 private:
  std::string path_;
  std::function<absl::Status(std::string_view)> sink_;
  std::FILE* file_ = nullptr;
};

// Accepted events waiting for the next durable append. The payloads are views (for
// ingest, into the parsed batch's lines, which LogWriter copies before they go back).
struct PendingBatch {
  std::vector<std::string_view> payloads;
  std::vector<std::string> keys;
  void Clear() {
    payloads.clear();
    keys.clear();
  }
};

// Appends the batch durably; returns the log's end after it.
absl::StatusOr<LogPosition> AppendBatch(const PendingBatch& batch, EventLog& log) {
  std::vector<AppendRecord> records;
  records.reserve(batch.payloads.size());
  for (size_t i = 0; i < batch.payloads.size(); ++i) {
    records.push_back({batch.keys[i], batch.payloads[i]});
  }
  return log.Append(records);
}

// Ingest's appends, on a thread of their own while the next batches validate: each
// batch is copied (its lines go back to the parse stage), appended, added to the hash
// chain and synced there, so that the fdatasync, the kernel's copy and the chain do
// not hold up the applying thread (BENCHMARKS.md). One batch at a time, in order;
// Durable() waits until every batch handed over is durable, which the state's commits
// and the end of ingest require, and gives the log's end after them.
class LogWriter {
 public:
  // `chain`: the hash chain at the log's end, to extend (hash_chain.h), or none.
  LogWriter(EventLog& log, LogPosition end, std::optional<HashChain> chain)
      : log_(log), end_(std::move(end)), chain_(std::move(chain)) {}
  ~LogWriter() {
    if (running_.valid()) (void)running_.get();
  }
  // Hands `batch` over; an error is an earlier batch's.
  absl::Status Write(const PendingBatch& batch) {
    if (running_.valid()) TORI_RETURN_IF_ERROR(running_.get());
    Copy& copy = copies_[next_copy_];
    next_copy_ ^= 1;  // the other copy is free now: its append is done
    copy.bytes.clear();
    copy.records.clear();
    for (size_t i = 0; i < batch.payloads.size(); ++i) {
      copy.bytes.append(batch.keys[i]).append(batch.payloads[i]);
    }
    for (size_t i = 0, at = 0; i < batch.payloads.size(); ++i) {
      const std::string_view key(copy.bytes.data() + at, batch.keys[i].size());
      at += key.size();
      const std::string_view payload(copy.bytes.data() + at, batch.payloads[i].size());
      copy.records.push_back({key, payload});
      at += batch.payloads[i].size();
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

absl::Status CommitBatch(PendingBatch& batch, Validator& validator, Projector& projector,
                         EventLog& log, StateStore& state) {
  std::shared_ptr<const SealedBatch> sealed = validator.overlay().Seal();
  if (batch.payloads.empty()) {
    TORI_CHECK(sealed == nullptr);  // only accepted events write index entries
    return absl::OkStatus();
  }
  TORI_ASSIGN_OR_RETURN(std::vector<KeyValue> projection_writes, projector.TakeWrites(state));
  TORI_ASSIGN_OR_RETURN(LogPosition end, AppendBatch(batch, log));
  std::vector<KeyValue> index_writes;
  if (sealed != nullptr) {
    for (const auto& [key, value] : sealed->SortedWrites()) index_writes.emplace_back(key, value);
  }
  TORI_RETURN_IF_ERROR(state.Commit(index_writes, projection_writes, end));
  if (sealed != nullptr) validator.overlay().Release(1);
  batch.Clear();
  return absl::OkStatus();
}

// The path of a new event, whatever its source (a file, tori's own documents, a JSON
// Lines body): the validator judges it; an accepted one is applied to the projection
// (with the change the validator found, for a correction or void) and queued for the
// log under its partition key. Its payload must outlive the queue's append.
class NewEvents {
 public:
  NewEvents(Validator& validator, Projector& projector, PendingBatch& accepted)
      : validator_(validator), projector_(projector), accepted_(accepted) {}

  // `contact`: the event as a contact view, else `event`; `encoded`: its encoding;
  // `item`: its place among the batch's read-ahead items, if the batch was read ahead.
  absl::StatusOr<Verdict> Apply(const std::optional<ContactRecordedView>& contact,
                                const events::Event& event, std::string_view encoded,
                                std::string_view content_hash, std::optional<size_t> item,
                                Rejection& rejection) {
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

 private:
  Validator& validator_;
  Projector& projector_;
  PendingBatch& accepted_;
};

// The path of an event read from the log (accepted before: a catch-up or a replay):
// the validator records its index entries (the event_id's only when `event_ids` says
// so) and the projector applies it, with the change the validator found for a
// correction or void.
class LoggedEvents {
 public:
  LoggedEvents(Validator& validator, Projector& projector, EventIdIndex event_ids)
      : validator_(validator), projector_(projector), event_ids_(event_ids) {}

  // `contact`: the event as a contact view, else `event`; `content_hash`: unused when
  // the event_id index is skipped.
  absl::Status Apply(const std::optional<ContactRecordedView>& contact,
                     const events::Event& event, std::string_view content_hash) {
    const bool write_ids = event_ids_ == EventIdIndex::kWrite;
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

 private:
  Validator& validator_;
  Projector& projector_;
  const EventIdIndex event_ids_;
};

// The state's commits that run beside the applying thread (ingest and replays), one at
// a time: Start hands one over, Finish waits for it.
class CommitThread {
 public:
  // `index_writes` runs on the commit thread and gives the entries sorted by key (the
  // sort or merge happens there); what its views point into must live in what it
  // captures.
  void Start(StateStore& state, std::function<std::vector<KeyValueView>()> index_writes,
             std::vector<KeyValue> projection_writes, const LogPosition& applied) {
    TORI_CHECK(!running());
    running_ = std::async(std::launch::async, [&state, index_writes = std::move(index_writes),
                                               projection_writes = std::move(projection_writes),
                                               applied] {
      return state.CommitBulk(
          index_writes(),
          std::vector<KeyValueView>(projection_writes.begin(), projection_writes.end()), applied);
    });
  }
  bool running() const { return running_.valid(); }
  absl::Status Finish() { return running_.get(); }  // only while running()

 private:
  std::future<absl::Status> running_;
};

}  // namespace

std::string IngestSummary::Line() const {
  return fmt::format("accepted {}, duplicates {}, rejected {}", accepted, duplicates, rejected);
}

std::string IngestSummary::ReasonsLine() const {
  if (rejected_by_reason.empty()) return "";
  std::string out = "rejected by reason:";
  for (const auto& [reason, count] : rejected_by_reason) {
    fmt::format_to(std::back_inserter(out), "{} {} {}", out.back() == ':' ? "" : ",",
                   RejectReasonName(reason), count);
  }
  return out;
}

std::string PartitionKey(const events::Event& event, const events::ContactState* contact) {
  switch (event.payload_case()) {
    case events::Event::kServicePointOpened: return event.service_point_opened().service_point_id();
    case events::Event::kSpaceAllocated: return event.space_allocated().service_point_id();
    case events::Event::kAgreementSigned: return event.agreement_signed().service_point_id();
    case events::Event::kContactRecorded: return event.contact_recorded().service_point_id();
    case events::Event::kCostPosted: return event.cost_posted().service_point_id();
    case events::Event::kRoomBooked: return event.room_booked().service_point_id();
    case events::Event::kContactCorrected:
    case events::Event::kContactVoided:
      return contact != nullptr ? contact->service_point_id() : "";
    default:
      return "";  // reference data without a point
  }
}

absl::StatusOr<size_t> AppendEvents(EventLog& log, StateStore& state,
                                    const std::vector<events::Event>& events) {
  TORI_RETURN_IF_ERROR(CatchUp(log, state).status());
  Validator validator(state, absl::InfiniteFuture());
  TORI_ASSIGN_OR_RETURN(absl::TimeZone helsinki, HelsinkiTimeZone());
  Projector projector(helsinki);
  PendingBatch batch;
  NewEvents new_events(validator, projector, batch);
  std::deque<std::string> payloads;  // what batch.payloads views
  for (const auto& event : events) {
    const std::string& encoded = payloads.emplace_back(event.SerializeAsString());
    Rejection rejection;
    TORI_ASSIGN_OR_RETURN(Verdict verdict,
                          new_events.Apply(std::nullopt, event, encoded,
                                           Validator::ContentHash(encoded), std::nullopt,
                                           rejection));
    if (verdict == Verdict::kReject) {
      return absl::InternalError(fmt::format("cannot append {}: {} ({})", event.event_id(),
                                             rejection.message, RejectReasonName(rejection.reason)));
    }
  }
  const size_t appended = batch.payloads.size();
  TORI_RETURN_IF_ERROR(CommitBatch(batch, validator, projector, log, state));
  TORI_RETURN_IF_ERROR(state.Flush());
  return appended;
}

// Replays commit the state every 131,072 events; ingest after the batch that reaches
// 262,144 accepted events: each commit becomes one level-0 file per family, and
// larger ones make compaction rewrite level 1 less often (replays were slower with
// larger steps; BENCHMARKS.md, fifth session).
constexpr uint64_t kCatchUpCommitEvents = 1 << 17;
constexpr uint64_t kIngestCommitEvents = 1 << 18;
// Ingest reads up to this many records to bring the hash chain to the log's end.
constexpr int64_t kChainCatchUpRecordsMax = 1 << 16;

namespace {

// Log records decoded on the reader thread of CatchUp, in log order.
struct DecodedRecord {
  // A contact as a view into its payload's copy in the batch (no Event to fill and
  // read on the applying thread, where the first read of each missed the cache), any
  // other event decoded.
  std::optional<ContactRecordedView> contact;
  events::Event event;  // when `contact` is empty
  std::string content_hash;  // empty when the replay skips the event_id index
  ReplayedIds::Copy copy = ReplayedIds::Copy::kFirst;  // see ReplayedIds
  int32_t partition = 0;
  int64_t offset = 0;
};
struct DecodedBatch {
  static constexpr size_t kRecordsMax = 8192;
  std::vector<DecodedRecord> records;
  size_t size = 0;
  absl::Status status;  // why reading stopped early, after the records before it

  // Copies of the records' payloads, which contacts are viewed in: side by side in
  // chunks that never move (kept from fill to fill).
  static constexpr size_t kChunkBytes = 1 << 20;
  std::vector<std::string> chunks;
  size_t chunk = 0, chunk_used = 0;
  void ClearPayloads() { chunk = 0, chunk_used = 0; }
  std::string_view KeepPayload(std::string_view payload) {
    if (chunks.empty() || chunk_used + payload.size() > chunks[chunk].size()) {
      if (!chunks.empty()) ++chunk;
      if (chunk == chunks.size()) chunks.emplace_back(std::max(kChunkBytes, payload.size()), '\0');
      if (chunks[chunk].size() < payload.size()) chunks[chunk].resize(payload.size());
      chunk_used = 0;
    }
    char* at = chunks[chunk].data() + chunk_used;
    std::memcpy(at, payload.data(), payload.size());
    chunk_used += payload.size();
    return std::string_view(at, payload.size());
  }
};

// Reads the records between `from` and `end` and decodes them: the first stage of
// CatchUp, on its own thread.
class LogDecoder {
 public:
  // `hash`: whether records get their content hash (only the event_id index needs it).
  LogDecoder(LogCursor& cursor, const LogPosition& from, const LogPosition& end, bool hash,
             const std::function<void(const LogRecord&)>& observe_record, uint64_t records)
      : cursor_(cursor), end_(end), hash_(hash), observe_record_(observe_record),
        done_(end.next_offsets.size(), false), replayed_ids_(records) {
    for (size_t p = 0; p < end.next_offsets.size(); ++p) {
      if (from.next_offsets[p] >= end.next_offsets[p]) done_[p] = true, ++partitions_done_;
    }
  }

  // Fills `batch`; false when no records follow.
  bool Fill(DecodedBatch& batch, const std::atomic<bool>& stop) {
    batch.size = 0;
    batch.ClearPayloads();
    batch.status = absl::OkStatus();
    if (batch.records.size() < DecodedBatch::kRecordsMax) {
      batch.records.resize(DecodedBatch::kRecordsMax);
    }
    // Stop when every partition's records up to `end` are read.
    while (batch.size < DecodedBatch::kRecordsMax && partitions_done_ < done_.size()) {
      if (stop) return false;
      auto more = cursor_.Next(record_);
      if (!more.ok() || !*more) {
        batch.status = more.status();
        return false;
      }
      if (record_.offset >= end_.next_offsets[record_.partition]) continue;  // beyond `until`
      if (record_.offset + 1 == end_.next_offsets[record_.partition]) {
        done_[record_.partition] = true;
        ++partitions_done_;
      }
      if (observe_record_) observe_record_(record_);
      DecodedRecord& decoded = batch.records[batch.size];
      // The cursor's payload is gone at its next record: a contact's view is of a copy.
      decoded.contact = DecodeContactView(batch.KeepPayload(record_.payload));
      if (!decoded.contact && !DecodeEvent(record_.payload, decoded.event)) {
        batch.status = absl::DataLossError(fmt::format(
            "log record at partition {} offset {} is not a tori event", record_.partition,
            record_.offset));
        return false;
      }
      const uint32_t schema_version =
          decoded.contact ? decoded.contact->schema_version : decoded.event.schema_version();
      if (schema_version > kSchemaVersionRead) {
        batch.status = absl::FailedPreconditionError(fmt::format(
            "log record at partition {} offset {} has event schema version {}, this tori "
            "reads up to {}: upgrade tori to read this log",
            record_.partition, record_.offset, schema_version, kSchemaVersionRead));
        return false;
      }
      if (hash_) decoded.content_hash = Validator::ContentHash(record_.payload);
      // Here, in reading order, on this thread: the applying thread is the replay's
      // critical path.
      decoded.copy = decoded.contact ? replayed_ids_.Judge(*decoded.contact)
                                     : replayed_ids_.Judge(decoded.event);
      decoded.partition = record_.partition;
      decoded.offset = record_.offset;
      ++batch.size;
    }
    return partitions_done_ < done_.size();
  }

 private:
  LogCursor& cursor_;
  const LogPosition end_;
  const bool hash_;
  const std::function<void(const LogRecord&)>& observe_record_;
  std::vector<bool> done_;
  size_t partitions_done_ = 0;
  LogRecord record_;
  ReplayedIds replayed_ids_;
};

// Whether a replayed record is a copy of an earlier one (ReplayedIds), to be skipped:
// why, or nullopt to apply it. `store_holds_ids`: the state held ids before the replay,
// which only the index knows.
absl::StatusOr<std::optional<std::string>> CopyOf(const DecodedRecord& record,
                                                  Validator& validator, bool store_holds_ids) {
  const std::string_view event_id =
      record.contact ? record.contact->event_id : std::string_view(record.event.event_id());
  if (record.copy == ReplayedIds::Copy::kRepeatedEventId) {
    return fmt::format("event_id '{}' repeats an earlier record's", event_id);
  }
  if (store_holds_ids) {
    TORI_ASSIGN_OR_RETURN(bool known, validator.KnowsEventId(event_id));
    if (known) return fmt::format("event_id '{}' was applied before", event_id);
  }
  if (record.copy == ReplayedIds::Copy::kEntityPerhapsTaken || store_holds_ids) {
    TORI_ASSIGN_OR_RETURN(bool taken, record.contact
                                          ? validator.KnowsCreatedEntity(*record.contact)
                                          : validator.KnowsCreatedEntity(record.event));
    if (taken) {
      std::string key;
      if (record.contact) {
        Validator::CreatedEntityKey(*record.contact, key);
      } else {
        Validator::CreatedEntityKey(record.event, key);
      }
      std::replace(key.begin(), key.end(), '\0', ' ');  // an agreement version's key
      return fmt::format(
          "DUPLICATE_CONFLICT: event_id '{}' creates id '{}', which an earlier record "
          "created; ids of new entities are unique",
          event_id, key.substr(1));
    }
  }
  return std::nullopt;
}

}  // namespace

absl::Status CheckStateWithinLog(const LogPosition& applied, const LogPosition& log_end) {
  if (applied.next_offsets.empty()) return absl::OkStatus();  // a new state
  if (applied.next_offsets.size() != log_end.next_offsets.size()) {
    return absl::FailedPreconditionError(fmt::format(
        "the state was built from a log with {} partitions, this log has {}; run `tori "
        "rebuild` or use the --data directory that belongs to this log",
        applied.next_offsets.size(), log_end.next_offsets.size()));
  }
  for (size_t p = 0; p < log_end.next_offsets.size(); ++p) {
    if (applied.next_offsets[p] > log_end.next_offsets[p]) {
      return absl::DataLossError(fmt::format(
          "the state has applied the log up to {}, but the log ends at {}: acknowledged events "
          "(partition {}, offsets {}..{}) are missing from the log; restore the log from a backup",
          applied.ToString(), log_end.ToString(), p, log_end.next_offsets[p],
          applied.next_offsets[p] - 1));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<uint64_t> CatchUp(EventLog& log, StateStore& state, const CatchUpOptions& options) {
  LogPosition from = state.applied();
  if (from.next_offsets.empty()) from.next_offsets.assign(log.partition_count(), 0);
  const LogPosition log_end = log.End();
  const LogPosition end = options.until ? *options.until : log_end;
  if (options.until) {
    for (size_t p = 0; p < end.next_offsets.size() && end.next_offsets.size() == log_end.next_offsets.size(); ++p) {
      if (end.next_offsets[p] > log_end.next_offsets[p]) {
        return absl::InvalidArgumentError(fmt::format(
            "position {} lies beyond the end of the log ({})", end.ToString(), log_end.ToString()));
      }
    }
  }
  TORI_RETURN_IF_ERROR(CheckStateWithinLog(from, end));
  if (from == end) return 0;
  uint64_t total = 0;
  for (size_t p = 0; p < end.next_offsets.size(); ++p) {
    total += static_cast<uint64_t>(end.next_offsets[p] - from.next_offsets[p]);
  }
  LogPosition position = from;
  Validator validator(state, absl::InfinitePast());
  TORI_ASSIGN_OR_RETURN(absl::TimeZone helsinki, HelsinkiTimeZone());
  Projector projector(helsinki);
  // Each commit sorts and writes on a third thread while the next batch is applied;
  // one at a time. Until it is done the validator reads its entries from memory; the
  // projector reads counters from the state only after it (TakeWrites).
  CommitThread committing;
  bool committing_sealed = false;
  auto finish_commit = [&]() -> absl::Status {
    if (!committing.running()) return absl::OkStatus();
    const absl::Status status = committing.Finish();
    if (committing_sealed) validator.overlay().Release(1);
    return status;
  };
  auto commit = [&]() -> absl::Status {
    TORI_RETURN_IF_ERROR(finish_commit());
    std::shared_ptr<const SealedBatch> index_batch = validator.overlay().Seal();
    committing_sealed = index_batch != nullptr;
    TORI_ASSIGN_OR_RETURN(std::vector<KeyValue> projection_writes, projector.TakeWrites(state));
    committing.Start(state,
                     [index_batch] {
                       return index_batch != nullptr ? index_batch->SortedWrites()
                                                     : std::vector<IndexWriteView>{};
                     },
                     std::move(projection_writes), position);
    return absl::OkStatus();
  };
  LoggedEvents logged_events(validator, projector, options.event_ids);
  // Reading and decoding run on a second thread (the cursor lives longer than it).
  TORI_ASSIGN_OR_RETURN(auto cursor, log.Read(from));
  LogDecoder decoder(*cursor, from, end, options.event_ids == EventIdIndex::kWrite,
                     options.observe_record, total);
  bool store_holds_ids = false;
  for (int64_t offset : from.next_offsets) store_holds_ids = store_holds_ids || offset > 0;
  ingest_internal::BatchPipe<DecodedBatch> pipe(
      3, [&decoder](DecodedBatch& batch, const std::atomic<bool>& stop) {
        return decoder.Fill(batch, stop);
      });
  uint64_t applied = 0;
  bool last = false;
  while (!last) {
    std::unique_ptr<DecodedBatch> batch = pipe.TakeReady(last);
    for (size_t i = 0; i < batch->size; ++i) {
      const DecodedRecord& record = batch->records[i];
      position.next_offsets[record.partition] = record.offset + 1;
      if (record.copy != ReplayedIds::Copy::kFirst || store_holds_ids) {
        TORI_ASSIGN_OR_RETURN(std::optional<std::string> copy,
                              CopyOf(record, validator, store_holds_ids));
        if (copy) {
          if (options.on_copy_skipped) {
            options.on_copy_skipped({record.partition, record.offset, std::move(*copy)});
          }
          continue;
        }
      }
      TORI_RETURN_IF_ERROR(logged_events.Apply(record.contact, record.event,
                                               record.content_hash));
      // Counters are rewritten once per commit: commit in large steps (memory: the
      // index entries of one step, ~100 B each).
      if (++applied % kCatchUpCommitEvents == 0) {
        TORI_RETURN_IF_ERROR(commit());
        if (options.on_progress) options.on_progress(applied, total);
      }
    }
    // Commit what was applied before reporting a read error: it stays valid.
    if (!batch->status.ok()) {
      TORI_RETURN_IF_ERROR(commit());
      TORI_RETURN_IF_ERROR(finish_commit());
      return batch->status;
    }
    pipe.GiveBack(std::move(batch));
  }
  // Every record before `end` was read: the state is at `end`, also where a partition
  // ends with a Kafka transaction marker rather than a record.
  position = end;
  TORI_RETURN_IF_ERROR(commit());
  TORI_RETURN_IF_ERROR(finish_commit());
  return applied;
}

namespace {

// One line after the parse stage: the event, or why the line is no event.
struct ParsedLine {
  uint64_t number = 0;
  bool truncated = false;
  std::optional<Rejection> rejection;
  // For the dead-letter record: the line is read again from the file if it is rejected
  // after parsing (rejections are rare; copying every line is not free, BENCHMARKS.md);
  // kept when that is not possible (a pipe) or the parser rejected it.
  std::string raw;
  uint64_t file_offset = 0;
  size_t bytes = 0;
  bool raw_kept = false;
  // The event (a contact as a view), encoded and hashed where it was parsed, while it
  // is in the cache (on the applying thread its first read would miss).
  ParsedEvent parsed;
  std::array<char, 16> content_hash;
};

// Up to batch_events_max parsed lines; objects are reused from batch to batch.
struct ParsedBatch {
  std::vector<ParsedLine> lines;
  size_t size = 0;
  absl::Status status;     // a read error, reported after the lines before it
  uint64_t bytes_read = 0;
  absl::StatusOr<IndexOverlay::ReadAheadEntries> index_entries;  // what the events look up
};

// The parse stage of ingest: reads and parses lines on its own thread (BatchPipe).
class LineParser {
 public:
  // Also looks up the index entries the batch's events need (`validator` tells which
  // commits the lookup saw).
  LineParser(ingest_internal::LineReader& reader, size_t batch_events_max,
             IndexLookup& index, const Validator& validator)
      : reader_(reader), batch_events_max_(batch_events_max), index_(index),
        validator_(validator) {}

  // Fills `batch`; false after the end of the file (or a read error).
  bool Fill(ParsedBatch& batch, const std::atomic<bool>& stop) {
    batch.size = 0;
    batch.status = absl::OkStatus();
    bool more_lines = true;
    if (batch.lines.size() < batch_events_max_) batch.lines.resize(batch_events_max_);
    ingest_internal::LineReader::Line line;
    while (batch.size < batch_events_max_ && !stop) {
      auto more = reader_.Next(line);
      if (!more.ok() || !*more) {
        batch.status = more.status();
        more_lines = false;
        break;
      }
      if (line.blank()) continue;  // no event
      ParsedLine& parsed = batch.lines[batch.size++];
      parsed.number = line.number;
      parsed.truncated = line.truncated;
      parsed.file_offset = line.file_offset;
      parsed.bytes = line.text.size();
      parsed.raw_kept = line.truncated || !reader_.can_read_again();
      if (parsed.raw_kept) parsed.raw.assign(line.text);
      if (line.truncated) {
        parsed.rejection = Rejection{RejectReason::kMalformed, "",
                                     fmt::format("line is longer than {} bytes",
                                                 ingest_internal::LineReader::kLineBytesKeptMax)};
      } else {
        parsed.rejection = parser_.Parse(line.text, line.readable_bytes, parsed.parsed);
        if (parsed.rejection && !parsed.raw_kept) {
          parsed.raw.assign(line.text);
          parsed.raw_kept = true;
        }
        if (!parsed.rejection) Validator::ContentHash(parsed.parsed.encoded, parsed.content_hash);
      }
    }
    batch.bytes_read = reader_.bytes_read();
    std::vector<std::string> keys;
    std::vector<uint32_t> owner;
    keys.reserve(2 * batch.size);
    owner.reserve(2 * batch.size);
    uint32_t items = 0;  // the parsed events, in order
    for (size_t i = 0; i < batch.size; ++i) {
      const ParsedLine& parsed = batch.lines[i];
      if (parsed.rejection) continue;
      if (parsed.parsed.contact) {
        Validator::ReadAheadKeysOf(*parsed.parsed.contact, items++, keys, owner);
      } else {
        Validator::ReadAheadKeysOf(parsed.parsed.event, items++, keys, owner);
      }
    }
    batch.index_entries =
        IndexOverlay::ReadAhead(index_, IndexOverlay::SortKeys(std::move(keys), owner, items),
                                validator_.overlay().released_batches());
    return more_lines;
  }

 private:
  ingest_internal::LineReader& reader_;
  const size_t batch_events_max_;
  IndexLookup& index_;
  const Validator& validator_;
  JsonEventParser parser_;
};

}  // namespace

absl::StatusOr<IngestSummary> IngestFile(const std::string& path, EventLog& log,
                                         StateStore& state, const IngestOptions& options) {
  TORI_RETURN_IF_ERROR(CatchUp(log, state).status());
  ingest_internal::LineReader reader(JsonParserPaddingBytes());
  TORI_RETURN_IF_ERROR(reader.Open(path));

  IngestSummary summary;
  const std::string rejected_path = path + ".rejected.jsonl";
  std::error_code ec;
  std::filesystem::remove(rejected_path, ec);  // a stale one would describe another run
  DeadLetterFile dead_letters(rejected_path, options.dead_letter_sink);

  Validator validator(state, options.now, IndexOverlay::ReadAheads::kKeepForReadAheads);
  TORI_ASSIGN_OR_RETURN(absl::TimeZone helsinki, HelsinkiTimeZone());
  Projector projector(helsinki);
  PendingBatch accepted;
  NewEvents new_events(validator, projector, accepted);
  Rejection rejection;
  const absl::Time started = absl::Now();
  absl::Time next_progress = started + options.progress_interval;

  // Each batch is appended to the log and synced on another thread (LogWriter); the
  // state commits in larger steps, once the log holds them durably, as sorted files on
  // a third thread while the next batches validate (sorted files, not the memtable's
  // skip-list inserts of random ids: BENCHMARKS.md). Until a step is stored the
  // validator answers from its sealed batches (IndexOverlay); the projector reads
  // stored counters only after the step before is stored (TakeWrites). A crash leaves
  // the state behind the log, and the next run's CatchUp replays the difference.
  CommitThread committing;
  size_t committing_batches = 0;
  auto finish_commit = [&]() -> absl::Status {
    if (!committing.running()) return absl::OkStatus();
    TORI_RETURN_IF_ERROR(committing.Finish());
    validator.overlay().Release(committing_batches);
    return absl::OkStatus();
  };
  uint64_t accepted_since_commit = 0;
  // The hash chain is extended over each batch appended to a one-partition log, while
  // its records are in memory (hash_chain.h); one far behind the log is left to billing.
  std::optional<HashChain> chain;
  if (log.partition_count() == 1) {
    TORI_ASSIGN_OR_RETURN(HashChain kept, LoadHashChain(state, 1));
    const LogPosition log_end = log.End();
    const int64_t behind = log_end.next_offsets[0] - kept.covered().next_offsets[0];
    if (behind >= 0 && behind <= kChainCatchUpRecordsMax) {
      TORI_RETURN_IF_ERROR(ExtendHashChain(log, log_end, kept));
      chain = std::move(kept);
    }
  }
  LogWriter log_writer(log, log.End(), std::move(chain));
  auto commit = [&]() -> absl::Status {
    TORI_RETURN_IF_ERROR(finish_commit());
    std::vector<std::shared_ptr<const SealedBatch>> batches = validator.overlay().Unreleased();
    if (batches.empty()) return absl::OkStatus();
    // The state never runs ahead of the durable log.
    TORI_ASSIGN_OR_RETURN(const LogPosition appended, log_writer.Durable());
    TORI_ASSIGN_OR_RETURN(std::vector<KeyValue> projection_writes, projector.TakeWrites(state));
    committing_batches = batches.size();
    accepted_since_commit = 0;
    committing.Start(state,
                     [batches = std::move(batches)] { return IndexOverlay::MergedWrites(batches); },
                     std::move(projection_writes), appended);
    return absl::OkStatus();
  };

  LineParser parser(reader, options.batch_events_max, state, validator);
  ingest_internal::BatchPipe<ParsedBatch> parse_stage(
      3, [&parser](ParsedBatch& batch, const std::atomic<bool>& stop) {
        return parser.Fill(batch, stop);
      });
  bool last = false;
  while (!last) {
    std::unique_ptr<ParsedBatch> batch = parse_stage.TakeReady(last);
    TORI_RETURN_IF_ERROR(batch->index_entries.status());
    TORI_RETURN_IF_ERROR(validator.overlay().Prefetch(std::move(*batch->index_entries)));
    size_t prefetched_event = 0;  // the read-ahead's items: the parsed events
    for (size_t i = 0; i < batch->size; ++i) {
      ParsedLine& line = batch->lines[i];
      summary.lines = line.number;
      Verdict verdict = Verdict::kReject;
      const ParsedEvent& parsed = line.parsed;
      const std::string_view content_hash(line.content_hash.data(), line.content_hash.size());
      if (line.rejection) {
        rejection = std::move(*line.rejection);
      } else {
        // The accepted payload is copied (LogWriter) before the batch goes back.
        TORI_ASSIGN_OR_RETURN(verdict, new_events.Apply(parsed.contact, parsed.event,
                                                        parsed.encoded, content_hash,
                                                        prefetched_event++, rejection));
      }
      switch (verdict) {
        case Verdict::kAccept:
          ++summary.accepted;
          break;
        case Verdict::kDuplicate:
          ++summary.duplicates;
          break;
        case Verdict::kReject:
          ++summary.rejected;
          ++summary.rejected_by_reason[rejection.reason];
          if (!line.raw_kept) {
            TORI_ASSIGN_OR_RETURN(line.raw, reader.ReadAgain(line.file_offset, line.bytes));
          }
          if (rejection.reason == RejectReason::kMalformed &&
              !simdjson::validate_utf8(line.raw.data(), line.raw.size())) {
            ++summary.not_utf8_lines;
          }
          TORI_RETURN_IF_ERROR(
              dead_letters.Write(line.number, rejection, line.raw, line.truncated));
          break;
      }
    }
    // Ends the validator's batch; it answers from the overlay until committed.
    const bool wrote = validator.overlay().Seal() != nullptr;
    TORI_CHECK(wrote == !accepted.payloads.empty());  // only accepted events write entries
    if (wrote) {
      TORI_RETURN_IF_ERROR(log_writer.Write(accepted));
      accepted_since_commit += accepted.payloads.size();
      accepted.Clear();
    }
    if (accepted_since_commit >= kIngestCommitEvents) TORI_RETURN_IF_ERROR(commit());
    const absl::Status read_status = batch->status;
    const uint64_t bytes_read = batch->bytes_read;
    parse_stage.GiveBack(std::move(batch));
    TORI_RETURN_IF_ERROR(read_status);
    if (options.on_progress && absl::Now() >= next_progress) {
      next_progress = absl::Now() + options.progress_interval;
      options.on_progress({bytes_read, reader.file_bytes(), summary.lines,
                           absl::ToDoubleSeconds(absl::Now() - started)});
    }
  }
  TORI_RETURN_IF_ERROR(commit());
  TORI_RETURN_IF_ERROR(finish_commit());
  TORI_RETURN_IF_ERROR(log_writer.Durable().status());  // before the summary says accepted
  if (log_writer.chain()) TORI_RETURN_IF_ERROR(SaveHashChain(state, *log_writer.chain()));
  TORI_RETURN_IF_ERROR(state.Flush());
  TORI_ASSIGN_OR_RETURN(bool wrote_dead_letters, dead_letters.Close());
  if (wrote_dead_letters) summary.rejected_path = rejected_path;
  summary.log_end = log.End();
  return summary;
}

std::string_view LineOutcome::StatusName() const {
  switch (status) {
    case Status::kAccepted: return "accepted";
    case Status::kDuplicate: return "duplicate";
    case Status::kRejected: return "rejected";
  }
  return "rejected";
}

absl::StatusOr<std::vector<LineOutcome>> IngestLines(std::string_view body, EventLog& log,
                                                     StateStore& state, absl::Time now) {
  TORI_RETURN_IF_ERROR(CatchUp(log, state).status());
  Validator validator(state, now);
  TORI_ASSIGN_OR_RETURN(absl::TimeZone helsinki, HelsinkiTimeZone());
  Projector projector(helsinki);
  PendingBatch accepted;
  NewEvents new_events(validator, projector, accepted);
  JsonEventParser parser;
  std::deque<ParsedEvent> parsed_events;  // what accepted.payloads views
  std::vector<LineOutcome> outcomes;
  uint64_t line_number = 0;
  for (size_t from = 0; from < body.size();) {
    size_t end = body.find('\n', from);
    if (end == std::string_view::npos) end = body.size();
    std::string_view line = body.substr(from, end - from);
    from = end + 1;
    ++line_number;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.find_first_not_of(" \t") == std::string_view::npos) continue;  // no event
    if (outcomes.size() == kIngestLinesMax) {
      return absl::InvalidArgumentError(fmt::format(
          "the body has more than {} events; send them in several requests", kIngestLinesMax));
    }
    LineOutcome& outcome = outcomes.emplace_back();
    outcome.line = line_number;
    Rejection rejection;
    Verdict verdict = Verdict::kReject;
    ParsedEvent& parsed = parsed_events.emplace_back();
    if (auto problem = parser.Parse(line, line.size(), parsed)) {
      rejection = std::move(*problem);
    } else {
      TORI_ASSIGN_OR_RETURN(verdict, new_events.Apply(parsed.contact, parsed.event,
                                                      parsed.encoded,
                                                      Validator::ContentHash(parsed.encoded),
                                                      std::nullopt, rejection));
    }
    switch (verdict) {
      case Verdict::kAccept:
        outcome.status = LineOutcome::Status::kAccepted;
        break;
      case Verdict::kDuplicate:
        outcome.status = LineOutcome::Status::kDuplicate;
        parsed_events.pop_back();
        break;
      case Verdict::kReject:
        outcome.status = LineOutcome::Status::kRejected;
        outcome.rejection = std::move(rejection);
        parsed_events.pop_back();
        break;
    }
  }
  // Durable before it answers: the log's append is synced, then the state commits.
  TORI_RETURN_IF_ERROR(CommitBatch(accepted, validator, projector, log, state));
  TORI_RETURN_IF_ERROR(state.Flush());
  return outcomes;
}

}  // namespace tori
