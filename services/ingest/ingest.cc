#include "services/ingest/ingest.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <vector>

#include "events/base/check.h"
#include "events/base/identifiers.h"
#include "events/base/json_text.h"
#include "events/codec/codec.h"
#include "events/validate/validator.h"
#include "fmt/format.h"
#include "services/ingest/line_reader.h"

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
  explicit DeadLetterFile(std::string path) : path_(std::move(path)) {}
  ~DeadLetterFile() {
    if (file_ != nullptr) std::fclose(file_);
  }

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
  std::FILE* file_ = nullptr;
};

// Accepted events waiting for the next durable append.
struct PendingBatch {
  std::vector<std::string> payloads;
  std::vector<std::string> keys;
  void Clear() {
    payloads.clear();
    keys.clear();
  }
};

absl::Status CommitBatch(PendingBatch& batch, Validator& validator, EventLog& log,
                         StateStore& state) {
  if (batch.payloads.empty()) return absl::OkStatus();
  std::vector<AppendRecord> records;
  records.reserve(batch.payloads.size());
  for (size_t i = 0; i < batch.payloads.size(); ++i) {
    records.push_back({batch.keys[i], batch.payloads[i]});
  }
  TORI_ASSIGN_OR_RETURN(LogPosition end, log.Append(records));
  TORI_RETURN_IF_ERROR(state.Commit(validator.TakeWrites(), end));
  batch.Clear();
  return absl::OkStatus();
}

}  // namespace

std::string IngestSummary::Line() const {
  return fmt::format("accepted {}, duplicates {}, rejected {}", accepted, duplicates, rejected);
}

std::string PartitionKey(const events::Event& event, const ContactInfo* contact) {
  switch (event.payload_case()) {
    case events::Event::kServicePointOpened: return event.service_point_opened().service_point_id();
    case events::Event::kSpaceAllocated: return event.space_allocated().service_point_id();
    case events::Event::kAgreementSigned: return event.agreement_signed().service_point_id();
    case events::Event::kContactRecorded: return event.contact_recorded().service_point_id();
    case events::Event::kCostPosted: return event.cost_posted().service_point_id();
    case events::Event::kRoomBooked: return event.room_booked().service_point_id();
    case events::Event::kContactCorrected:
    case events::Event::kContactVoided:
      return contact != nullptr ? contact->service_point_id : "";
    default:
      return "";  // reference data without a point
  }
}

absl::StatusOr<uint64_t> CatchUp(EventLog& log, StateStore& state) {
  LogPosition from = state.applied();
  if (from.next_offsets.empty()) from.next_offsets.assign(log.partition_count(), 0);
  const LogPosition end = log.End();
  if (from.next_offsets.size() != end.next_offsets.size()) {
    return absl::FailedPreconditionError(fmt::format(
        "the state was built from a log with {} partitions, this log has {}; run `tori "
        "rebuild` or use the --data directory that belongs to this log",
        from.next_offsets.size(), end.next_offsets.size()));
  }
  for (size_t p = 0; p < end.next_offsets.size(); ++p) {
    if (from.next_offsets[p] > end.next_offsets[p]) {
      return absl::DataLossError(fmt::format(
          "the state has applied the log up to {}, but the log ends at {}: acknowledged events "
          "are missing from the log; restore the log from a backup",
          from.ToString(), end.ToString()));
    }
  }
  if (from == end) return 0;
  Validator validator(state, absl::InfinitePast());
  TORI_ASSIGN_OR_RETURN(auto cursor, log.Read(from));
  LogPosition position = from;
  LogRecord record;
  events::Event event;
  uint64_t applied = 0;
  while (true) {
    TORI_ASSIGN_OR_RETURN(bool more, cursor->Next(record));
    if (!more) break;
    if (!event.ParseFromArray(record.payload.data(), static_cast<int>(record.payload.size()))) {
      return absl::DataLossError(fmt::format("log record at partition {} offset {} is not a "
                                             "tori event",
                                             record.partition, record.offset));
    }
    if (event.schema_version() > kSchemaVersion) {
      return absl::FailedPreconditionError(fmt::format(
          "log record at partition {} offset {} has event schema version {}, this tori reads "
          "up to {}: upgrade tori to read this log",
          record.partition, record.offset, event.schema_version(), kSchemaVersion));
    }
    TORI_RETURN_IF_ERROR(validator.Record(event, record.payload));
    position.next_offsets[record.partition] = record.offset + 1;
    if (++applied % 8192 == 0) TORI_RETURN_IF_ERROR(state.Commit(validator.TakeWrites(), position));
  }
  TORI_RETURN_IF_ERROR(state.Commit(validator.TakeWrites(), position));
  return applied;
}

absl::StatusOr<IngestSummary> IngestFile(const std::string& path, EventLog& log,
                                         StateStore& state, const IngestOptions& options) {
  TORI_RETURN_IF_ERROR(CatchUp(log, state).status());
  ingest_internal::LineReader reader(JsonParserPaddingBytes());
  TORI_RETURN_IF_ERROR(reader.Open(path));

  IngestSummary summary;
  const std::string rejected_path = path + ".rejected.jsonl";
  std::error_code ec;
  std::filesystem::remove(rejected_path, ec);  // a stale one would describe another run
  DeadLetterFile dead_letters(rejected_path);

  JsonEventParser parser;
  Validator validator(state, options.now);
  PendingBatch batch;
  events::Event event;
  std::string encoded;
  Rejection rejection;
  const absl::Time started = absl::Now();
  absl::Time next_progress = started + options.progress_interval;

  ingest_internal::LineReader::Line line;
  while (true) {
    TORI_ASSIGN_OR_RETURN(bool more, reader.Next(line));
    if (!more) break;
    summary.lines = line.number;
    if (line.text.empty()) continue;  // blank lines carry no event

    std::optional<Rejection> parse_rejection =
        line.truncated ? std::optional<Rejection>(Rejection{
                             RejectReason::kMalformed, "",
                             fmt::format("line is longer than {} bytes",
                                         ingest_internal::LineReader::kLineBytesKeptMax)})
                       : parser.Parse(line.text, line.readable_bytes, event);
    Verdict verdict = Verdict::kReject;
    if (parse_rejection) {
      rejection = std::move(*parse_rejection);
    } else {
      encoded.clear();
      TORI_CHECK(event.SerializeToString(&encoded));
      TORI_ASSIGN_OR_RETURN(verdict, validator.Check(event, encoded, rejection));
    }
    switch (verdict) {
      case Verdict::kAccept: {
        ++summary.accepted;
        std::optional<ContactInfo> contact;
        if (event.has_contact_corrected() || event.has_contact_voided()) {
          TORI_ASSIGN_OR_RETURN(contact, validator.FindContact(event.has_contact_corrected()
                                                                   ? event.contact_corrected().contact_id()
                                                                   : event.contact_voided().contact_id()));
        }
        batch.keys.push_back(PartitionKey(event, contact ? &*contact : nullptr));
        batch.payloads.push_back(encoded);
        break;
      }
      case Verdict::kDuplicate:
        ++summary.duplicates;
        break;
      case Verdict::kReject:
        ++summary.rejected;
        TORI_RETURN_IF_ERROR(dead_letters.Write(line.number, rejection, line.text, line.truncated));
        break;
    }
    if (batch.payloads.size() >= options.batch_events_max) {
      TORI_RETURN_IF_ERROR(CommitBatch(batch, validator, log, state));
    }
    if (options.on_progress && (line.number & 1023) == 0 && absl::Now() >= next_progress) {
      next_progress = absl::Now() + options.progress_interval;
      options.on_progress({reader.bytes_read(), reader.file_bytes(), line.number,
                           absl::ToDoubleSeconds(absl::Now() - started)});
    }
  }
  TORI_RETURN_IF_ERROR(CommitBatch(batch, validator, log, state));
  TORI_RETURN_IF_ERROR(state.Flush());
  TORI_ASSIGN_OR_RETURN(bool wrote_dead_letters, dead_letters.Close());
  if (wrote_dead_letters) summary.rejected_path = rejected_path;
  summary.log_end = log.End();
  return summary;
}

}  // namespace tori
