#include "services/ingest/ingest.h"

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <deque>
#include <filesystem>
#include <vector>

#include "events/base/check.h"
#include "events/base/identifiers.h"
#include "events/base/json_text.h"
#include "events/codec/codec.h"
#include "events/validate/validator.h"
#include "fmt/format.h"
#include "services/ingest/applier.h"
#include "services/ingest/batch_pipe.h"
#include "services/ingest/line_reader.h"
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
    // SPEC section 9's events of a point go with it: route stops and interpretations
    // come with the contacts' volume, so they must not all land on partition 0.
    case events::Event::kRouteStopRecorded: return event.route_stop_recorded().service_point_id();
    case events::Event::kInterpretationProvided:
      return event.interpretation_provided().service_point_id();
    case events::Event::kRoomRegistered: return event.room_registered().service_point_id();
    case events::Event::kBudgetSet: return event.budget_set().service_point_id();
    case events::Event::kContactCorrected:
    case events::Event::kContactVoided:
      return contact != nullptr ? contact->service_point_id() : "";
    default:
      return "";  // reference data without a point
  }
}


namespace {

// The source of AppendEvents: tori's own events, one batch. A rejected one is an
// internal error (nothing is appended: the batch is not ended).
class IssuedEventsSource {
 public:
  explicit IssuedEventsSource(const std::vector<events::Event>& events) : events_(events) {}

  absl::StatusOr<size_t> Take(ingest_internal::Applier&, bool& last) {
    last = true;
    return events_.size();
  }
  absl::Status Apply(size_t item, ingest_internal::Applier& applier) {
    const events::Event& event = events_[item];
    const std::string& encoded = encoded_.emplace_back(event.SerializeAsString());
    Rejection rejection;
    TORI_ASSIGN_OR_RETURN(Verdict verdict,
                          applier.ApplyNew(std::nullopt, event, encoded,
                                           Validator::ContentHash(encoded), std::nullopt,
                                           rejection));
    if (verdict == Verdict::kReject) {
      return absl::InternalError(fmt::format("cannot append {}: {} ({})", event.event_id(),
                                             rejection.message, RejectReasonName(rejection.reason)));
    }
    if (verdict == Verdict::kAccept) ++appended_;
    return absl::OkStatus();
  }
  absl::Status GiveBack() { return absl::OkStatus(); }
  std::optional<LogPosition> reached() const { return std::nullopt; }

  size_t appended() const { return appended_; }

 private:
  const std::vector<events::Event>& events_;
  std::deque<std::string> encoded_;  // what the applier's queue views until the batch ends
  size_t appended_ = 0;
};

}  // namespace

absl::StatusOr<size_t> AppendEvents(EventLog& log, StateStore& state,
                                    const std::vector<events::Event>& events) {
  TORI_RETURN_IF_ERROR(CatchUp(log, state).status());
  ingest_internal::ApplierOptions options;
  options.origin = ingest_internal::EventOrigin::kNew;
  options.commit = ingest_internal::CommitPolicy::EachBatch();
  options.now = absl::InfiniteFuture();  // tori's own events: no CLOCK rule
  TORI_ASSIGN_OR_RETURN(auto applier, ingest_internal::Applier::Create(log, state, options));
  IssuedEventsSource source(events);
  TORI_RETURN_IF_ERROR(ingest_internal::RunApplier(source, *applier));
  return source.appended();
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
  // `until_occurred_ns`: each partition ends before its first record that occurred
  // later (CatchUpOptions::until_occurred).
  LogDecoder(LogCursor& cursor, const LogPosition& from, const LogPosition& end, bool hash,
             const std::function<void(const LogRecord&)>& observe_record, uint64_t records,
             std::optional<int64_t> until_occurred_ns)
      : cursor_(cursor), end_(end), hash_(hash), observe_record_(observe_record),
        until_occurred_ns_(until_occurred_ns), done_(end.next_offsets.size(), false),
        replayed_ids_(records) {
    for (size_t p = 0; p < end.next_offsets.size(); ++p) {
      if (!end.Contains(static_cast<int32_t>(p), from.next_offsets[p])) {
        done_[p] = true, ++partitions_done_;
      }
    }
  }

  // Where the records read end: `end`, or before the cut of `until_occurred_ns`. Final
  // once Fill returned false.
  const LogPosition& end() const { return end_; }

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
      if (!end_.Contains(record_.partition, record_.offset)) continue;  // beyond the end
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
      if (until_occurred_ns_ &&
          (decoded.contact ? decoded.contact->occurred_at_unix_ns
                           : decoded.event.occurred_at_unix_ns()) > *until_occurred_ns_) {
        end_.next_offsets[record_.partition] = record_.offset;  // the partition ends here
        done_[record_.partition] = true;
        ++partitions_done_;
        continue;
      }
      if (record_.offset + 1 == end_.next_offsets[record_.partition]) {
        done_[record_.partition] = true;
        ++partitions_done_;
      }
      if (observe_record_) observe_record_(record_);
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
  LogPosition end_;
  const bool hash_;
  const std::function<void(const LogRecord&)>& observe_record_;
  const std::optional<int64_t> until_occurred_ns_;
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


// The source of CatchUp: the log's records between the state's position and the end,
// read and decoded on a second thread (LogDecoder); copies of earlier records are
// passed over (CopyOf).
class LogSource {
 public:
  // `cursor` must outlive the source.
  LogSource(LogCursor& cursor, const LogPosition& from, const LogPosition& end,
            const CatchUpOptions& options, uint64_t records)
      : options_(options),
        decoder_(cursor, from, end, options.event_ids == EventIdIndex::kWrite,
                 options.observe_record, records,
                 options.until_occurred
                     ? std::optional<int64_t>(absl::ToUnixNanos(*options.until_occurred))
                     : std::nullopt),
        pipe_(3, [this](DecodedBatch& batch, const std::atomic<bool>& stop) {
          return decoder_.Fill(batch, stop);
        }) {
    // A state that held ids before the replay may hold any record's: ask the index.
    for (int64_t offset : from.next_offsets) store_holds_ids_ = store_holds_ids_ || offset > 0;
  }

  absl::StatusOr<size_t> Take(ingest_internal::Applier&, bool& last) {
    batch_ = pipe_.TakeReady(last);
    return batch_->size;
  }
  absl::Status Apply(size_t item, ingest_internal::Applier& applier) {
    const DecodedRecord& record = batch_->records[item];
    applier.Passed(record.partition, record.offset);
    if (record.copy != ReplayedIds::Copy::kFirst || store_holds_ids_) {
      TORI_ASSIGN_OR_RETURN(std::optional<std::string> copy,
                            CopyOf(record, applier.validator(), store_holds_ids_));
      if (copy) {
        if (options_.on_copy_skipped) {
          options_.on_copy_skipped({record.partition, record.offset, std::move(*copy)});
        }
        return absl::OkStatus();
      }
    }
    return applier.ApplyLogged(record.contact, record.event, record.content_hash);
  }
  absl::Status GiveBack() {
    absl::Status status = std::move(batch_->status);
    pipe_.GiveBack(std::move(batch_));
    return status;
  }
  // After the last batch: every record before it was read.
  std::optional<LogPosition> reached() const { return decoder_.end(); }

 private:
  const CatchUpOptions& options_;
  bool store_holds_ids_ = false;
  LogDecoder decoder_;
  ingest_internal::BatchPipe<DecodedBatch> pipe_;  // after decoder_: its thread uses it
  std::unique_ptr<DecodedBatch> batch_;
};

}  // namespace

absl::Status CheckStateWithinLog(const LogPosition& applied, const LogPosition& log_end) {
  if (applied.next_offsets.empty()) return absl::OkStatus();  // a new state
  if (applied.next_offsets.size() != log_end.next_offsets.size()) {
    return absl::FailedPreconditionError(fmt::format(
        "the state was built from a log with {} partitions, this log has {}; run `tori "
        "rebuild` or use the --data directory that belongs to this log",
        applied.next_offsets.size(), log_end.next_offsets.size()));
  }
  if (log_end.Covers(applied)) return absl::OkStatus();
  size_t p = 0;  // the first partition the state is ahead in
  while (log_end.Contains(static_cast<int32_t>(p), applied.next_offsets[p] - 1)) ++p;
  return absl::DataLossError(fmt::format(
      "the state has applied the log up to {}, but the log ends at {}: acknowledged events "
      "(partition {}, offsets {}..{}) are missing from the log; restore the log from a backup",
      applied.ToString(), log_end.ToString(), p, log_end.next_offsets[p],
      applied.next_offsets[p] - 1));
}

absl::StatusOr<uint64_t> CatchUp(EventLog& log, StateStore& state, const CatchUpOptions& options) {
  LogPosition from = state.applied();
  if (from.next_offsets.empty()) from.next_offsets.assign(log.partition_count(), 0);
  const LogPosition log_end = log.End();
  const LogPosition end = options.until ? *options.until : log_end;
  if (options.until && end.next_offsets.size() == log_end.next_offsets.size() &&
      !log_end.Covers(end)) {
    return absl::InvalidArgumentError(fmt::format(
        "position {} lies beyond the end of the log ({})", end.ToString(), log_end.ToString()));
  }
  TORI_RETURN_IF_ERROR(CheckStateWithinLog(from, end));
  if (from == end) return 0;
  uint64_t total = 0;
  for (size_t p = 0; p < end.next_offsets.size(); ++p) {
    total += static_cast<uint64_t>(end.next_offsets[p] - from.next_offsets[p]);
  }
  ingest_internal::ApplierOptions applier_options;
  applier_options.origin = ingest_internal::EventOrigin::kLogged;
  // Counters are rewritten once per commit: commit in large steps (memory: the index
  // entries of one step, ~100 B each).
  applier_options.commit = ingest_internal::CommitPolicy::SortedFiles(kCatchUpCommitEvents);
  applier_options.now = absl::InfinitePast();  // unused: logged events are not judged
  applier_options.event_ids = options.event_ids;
  if (options.on_progress) {
    applier_options.on_commit = [&](uint64_t applied) { options.on_progress(applied, total); };
  }
  TORI_ASSIGN_OR_RETURN(auto applier,
                        ingest_internal::Applier::Create(log, state, applier_options));
  TORI_ASSIGN_OR_RETURN(auto cursor, log.Read(from));
  LogSource source(*cursor, from, end, options, total);
  TORI_RETURN_IF_ERROR(ingest_internal::RunApplier(source, *applier));
  return applier->logged_applied();
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


// The source of IngestFile: the file's lines, read and parsed on a second thread
// (LineParser), each batch's index entries read ahead; keeps the summary and writes
// the dead letters.
class FileSource {
 public:
  FileSource(ingest_internal::LineReader& reader, const IngestOptions& options,
             ingest_internal::Applier& applier, StateStore& state, IngestSummary& summary,
             DeadLetterFile& dead_letters)
      : reader_(reader), options_(options), summary_(summary), dead_letters_(dead_letters),
        parser_(reader, options.batch_events_max, state, applier.validator()),
        pipe_(3, [this](ParsedBatch& batch, const std::atomic<bool>& stop) {
          return parser_.Fill(batch, stop);
        }),
        started_(absl::Now()), next_progress_(started_ + options.progress_interval) {}

  absl::StatusOr<size_t> Take(ingest_internal::Applier& applier, bool& last) {
    batch_ = pipe_.TakeReady(last);
    TORI_RETURN_IF_ERROR(batch_->index_entries.status());
    TORI_RETURN_IF_ERROR(applier.validator().overlay().Prefetch(std::move(*batch_->index_entries)));
    prefetched_event_ = 0;
    return batch_->size;
  }
  absl::Status Apply(size_t item, ingest_internal::Applier& applier) {
    ParsedLine& line = batch_->lines[item];
    summary_.lines = line.number;
    Verdict verdict = Verdict::kReject;
    const ParsedEvent& parsed = line.parsed;
    const std::string_view content_hash(line.content_hash.data(), line.content_hash.size());
    if (line.rejection) {
      rejection_ = std::move(*line.rejection);
    } else {
      // The accepted payload is copied (LogWriter) before the batch goes back.
      TORI_ASSIGN_OR_RETURN(verdict, applier.ApplyNew(parsed.contact, parsed.event,
                                                      parsed.encoded, content_hash,
                                                      prefetched_event_++, rejection_));
    }
    switch (verdict) {
      case Verdict::kAccept:
        ++summary_.accepted;
        break;
      case Verdict::kDuplicate:
        ++summary_.duplicates;
        break;
      case Verdict::kReject:
        ++summary_.rejected;
        ++summary_.rejected_by_reason[rejection_.reason];
        if (!line.raw_kept) {
          TORI_ASSIGN_OR_RETURN(line.raw, reader_.ReadAgain(line.file_offset, line.bytes));
        }
        if (rejection_.reason == RejectReason::kMalformed &&
            !simdjson::validate_utf8(line.raw.data(), line.raw.size())) {
          ++summary_.not_utf8_lines;
        }
        TORI_RETURN_IF_ERROR(
            dead_letters_.Write(line.number, rejection_, line.raw, line.truncated));
        break;
    }
    return absl::OkStatus();
  }
  absl::Status GiveBack() {
    const absl::Status read_status = batch_->status;
    const uint64_t bytes_read = batch_->bytes_read;
    pipe_.GiveBack(std::move(batch_));
    TORI_RETURN_IF_ERROR(read_status);
    if (options_.on_progress && absl::Now() >= next_progress_) {
      next_progress_ = absl::Now() + options_.progress_interval;
      options_.on_progress({bytes_read, reader_.file_bytes(), summary_.lines,
                            absl::ToDoubleSeconds(absl::Now() - started_)});
    }
    return absl::OkStatus();
  }
  std::optional<LogPosition> reached() const { return std::nullopt; }

 private:
  ingest_internal::LineReader& reader_;
  const IngestOptions& options_;
  IngestSummary& summary_;
  DeadLetterFile& dead_letters_;
  LineParser parser_;
  ingest_internal::BatchPipe<ParsedBatch> pipe_;  // after parser_: its thread uses it
  std::unique_ptr<ParsedBatch> batch_;
  size_t prefetched_event_ = 0;  // the read-ahead's items: the batch's parsed events
  Rejection rejection_;
  const absl::Time started_;
  absl::Time next_progress_;
};

// The source of IngestLines: a request body's lines, one batch, judged as FileSource
// judges a file's (LineParser): every line parsed and hashed first, the index entries
// the batch's events look up read ahead in one MultiGet (IndexOverlay::ReadAhead) and
// laid over the overlay (Prefetch), then each event judged in line order. An outcome
// per non-blank line.
class BodySource {
 public:
  BodySource(std::string_view body, StateStore& state, const LineGate& gate)
      : body_(body), state_(state), gate_(gate) {}

  absl::StatusOr<size_t> Take(ingest_internal::Applier& applier, bool& last) {
    last = true;
    uint64_t line_number = 0;
    for (size_t from = 0; from < body_.size();) {
      size_t end = body_.find('\n', from);
      if (end == std::string_view::npos) end = body_.size();
      std::string_view line = body_.substr(from, end - from);
      from = end + 1;
      ++line_number;
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      if (line.find_first_not_of(" \t") == std::string_view::npos) continue;  // no event
      if (lines_.size() == kIngestLinesMax) {
        return absl::InvalidArgumentError(fmt::format(
            "the body has more than {} events; send them in several requests", kIngestLinesMax));
      }
      lines_.push_back({line_number, line});
    }
    // Parsed in place (the rest of the body is readable after a line, which spares a
    // copy when it is at least the parser's padding), each into its own slot: a contact
    // is a view into its slot's encoding, so the slots never move.
    parsed_.resize(lines_.size());
    std::vector<std::string> keys;
    std::vector<uint32_t> owner;
    keys.reserve(2 * lines_.size());
    owner.reserve(2 * lines_.size());
    uint32_t items = 0;  // the parsed events, in order: the read-ahead's items
    const char* body_end = body_.data() + body_.size();
    for (size_t i = 0; i < lines_.size(); ++i) {
      Line& line = lines_[i];
      ParsedEvent& parsed = parsed_[i];
      line.rejection = parser_.Parse(line.text, static_cast<size_t>(body_end - line.text.data()), parsed);
      if (line.rejection) continue;
      Validator::ContentHash(parsed.encoded, line.content_hash);
      line.item = items;
      if (parsed.contact) {
        Validator::ReadAheadKeysOf(*parsed.contact, items++, keys, owner);
      } else {
        Validator::ReadAheadKeysOf(parsed.event, items++, keys, owner);
      }
    }
    IndexOverlay& overlay = applier.validator().overlay();
    TORI_ASSIGN_OR_RETURN(
        IndexOverlay::ReadAheadEntries entries,
        IndexOverlay::ReadAhead(state_, IndexOverlay::SortKeys(std::move(keys), owner, items),
                                overlay.released_batches()));
    TORI_RETURN_IF_ERROR(overlay.Prefetch(std::move(entries)));
    outcomes_.reserve(lines_.size());
    return lines_.size();
  }
  absl::Status Apply(size_t item, ingest_internal::Applier& applier) {
    Line& line = lines_[item];
    LineOutcome& outcome = outcomes_.emplace_back();
    outcome.line = line.number;
    Rejection rejection;
    Verdict verdict = Verdict::kReject;
    std::optional<Rejection> refused;
    if (!line.rejection && gate_) {
      Validator& validator = applier.validator();
      const ContactPointLookup contact_point =
          [&validator](std::string_view id) -> absl::StatusOr<std::optional<std::string>> {
        TORI_ASSIGN_OR_RETURN(std::optional<events::ContactState> contact, validator.FindContact(id));
        if (!contact) return std::nullopt;
        return contact->service_point_id();
      };
      TORI_ASSIGN_OR_RETURN(refused, gate_(line.number, parsed_[item], contact_point));
    }
    if (line.rejection) {
      rejection = std::move(*line.rejection);
    } else if (refused) {
      rejection = std::move(*refused);
    } else {
      // The accepted encoding stays in parsed_ until the applier's commit (EndBatch).
      const ParsedEvent& parsed = parsed_[item];
      TORI_ASSIGN_OR_RETURN(
          verdict, applier.ApplyNew(parsed.contact, parsed.event, parsed.encoded,
                                    std::string_view(line.content_hash.data(), line.content_hash.size()),
                                    line.item, rejection));
    }
    switch (verdict) {
      case Verdict::kAccept:
        outcome.status = LineOutcome::Status::kAccepted;
        break;
      case Verdict::kDuplicate:
        outcome.status = LineOutcome::Status::kDuplicate;
        break;
      case Verdict::kReject:
        outcome.status = LineOutcome::Status::kRejected;
        outcome.rejection = std::move(rejection);
        break;
    }
    return absl::OkStatus();
  }
  absl::Status GiveBack() { return absl::OkStatus(); }
  std::optional<LogPosition> reached() const { return std::nullopt; }

  std::vector<LineOutcome>& outcomes() { return outcomes_; }

 private:
  struct Line {
    uint64_t number = 0;  // 1-based, blank lines counted
    std::string_view text;
    std::optional<Rejection> rejection;  // the parser's
    std::array<char, 16> content_hash{};
    size_t item = 0;  // among the parsed events
  };
  const std::string_view body_;
  StateStore& state_;
  const LineGate& gate_;
  std::vector<Line> lines_;
  JsonEventParser parser_;
  std::vector<ParsedEvent> parsed_;  // of lines_; what the applier's queue views
  std::vector<LineOutcome> outcomes_;
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

  ingest_internal::ApplierOptions applier_options;
  applier_options.origin = ingest_internal::EventOrigin::kNew;
  applier_options.commit = ingest_internal::CommitPolicy::SortedFiles(kIngestCommitEvents);
  applier_options.now = options.now;
  applier_options.read_aheads = IndexOverlay::ReadAheads::kKeepForReadAheads;
  applier_options.hash_chain_behind_max = kChainCatchUpRecordsMax;
  TORI_ASSIGN_OR_RETURN(auto applier,
                        ingest_internal::Applier::Create(log, state, applier_options));
  {
    FileSource source(reader, options, *applier, state, summary, dead_letters);
    TORI_RETURN_IF_ERROR(ingest_internal::RunApplier(source, *applier));
  }
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
                                                     StateStore& state, absl::Time now,
                                                     const LineGate& gate) {
  TORI_RETURN_IF_ERROR(CatchUp(log, state).status());
  ingest_internal::ApplierOptions options;
  options.origin = ingest_internal::EventOrigin::kNew;
  // Durable before it answers: the log's append is synced, then the state commits.
  options.commit = ingest_internal::CommitPolicy::EachBatch();
  options.now = now;
  // Durable without a memtable flush: see ApplierOptions::flush_state_at_finish.
  options.flush_state_at_finish = false;
  options.read_aheads = IndexOverlay::ReadAheads::kKeepForReadAheads;
  TORI_ASSIGN_OR_RETURN(auto applier, ingest_internal::Applier::Create(log, state, options));
  BodySource source(body, state, gate);
  TORI_RETURN_IF_ERROR(ingest_internal::RunApplier(source, *applier));
  return std::move(source.outcomes());
}

}  // namespace tori
