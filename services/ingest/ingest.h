// Ingest: JSON Lines file -> validated events in the log and the state
// (SPEC sections 2 and 6, `tori ingest`).
//
// The file is read as a stream (memory bounded by the batch and the longest line,
// whatever the file's size). Each line is parsed and validated; accepted events
// are appended to the log in batches, each batch durable before the state records
// it; rejected lines go to FILE.rejected.jsonl with their line number, reason,
// field, message and raw bytes. A rejected line changes nothing; every other
// line is still taken.
//
// Crash safety: on start, CatchUp() brings the state up to the log's end (an event
// appended before a crash is never validated twice), so a killed ingest can simply
// be run again: events already in the log count as duplicates.
//
// IngestFile, IngestLines, AppendEvents and CatchUp are configurations of one loop, a
// source of events plus a commit policy (services/ingest/applier.h).
//
// Thread safety: one thread at a time.
#ifndef TORI_SERVICES_INGEST_INGEST_H_
#define TORI_SERVICES_INGEST_INGEST_H_

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "events/codec/codec.h"
#include "events/codec/rejection.h"
#include "events/log/event_log.h"
#include "services/state/state_store.h"

namespace tori {

struct IngestProgress {
  uint64_t bytes_read = 0;
  uint64_t bytes_total = 0;
  uint64_t lines = 0;
  double elapsed_s = 0;
};

struct IngestOptions {
  absl::Time now = absl::Now();  // the CLOCK rule's reference
  size_t batch_events_max = 32768;
  // Called about once per `progress_interval`; may be empty.
  std::function<void(const IngestProgress&)> on_progress;
  absl::Duration progress_interval = absl::Seconds(2);
  // Also given every dead-letter record (the JSON object of FILE.rejected.jsonl), e.g.
  // the Kafka dead-letter topic; may be empty.
  std::function<absl::Status(std::string_view json_record)> dead_letter_sink;
};

struct IngestSummary {
  uint64_t accepted = 0;
  uint64_t duplicates = 0;
  uint64_t rejected = 0;
  uint64_t lines = 0;
  std::string rejected_path;  // set when rejected > 0
  LogPosition log_end;
  // The rejections per reason code (they sum to `rejected`).
  std::map<RejectReason, uint64_t> rejected_by_reason;
  // Rejected lines whose bytes are not UTF-8 (the file wants converting).
  uint64_t not_utf8_lines = 0;

  // "accepted A, duplicates D, rejected R" (SPEC section 2).
  std::string Line() const;
  // "rejected by reason: MALFORMED 1, UNKNOWN_REFERENCE 276" in code order; "" when
  // nothing was rejected.
  std::string ReasonsLine() const;
};

// Whether a replay writes the event_id index: it serves later ingests into the same
// state; scratch states that are only read (verify, as-of) skip it, which halves
// their index writes.
enum class EventIdIndex { kWrite, kSkip };

// A record a replay skipped as a copy of an earlier one (see ReplayedIds in
// events/validate/validator.h): where it is and why.
struct SkippedCopy {
  int32_t partition = 0;
  int64_t offset = 0;
  std::string why;  // names the event_id; "DUPLICATE_CONFLICT: ..." for a reused entity id
};

struct CatchUpOptions {
  // Stop at this position instead of the log's end.
  std::optional<LogPosition> until;
  // And end each partition before its first record that occurred later than this
  // (the log as it stood then: `bill --as-of DATE`); the state's applied position
  // says where the replay ended.
  std::optional<absl::Time> until_occurred;
  EventIdIndex event_ids = EventIdIndex::kWrite;
  // Sees each replayed record first, in log order per partition, on the reading
  // thread (e.g. verify's hash chain); it has seen them all when CatchUp returns OK.
  std::function<void(const LogRecord&)> observe_record;
  // Called on the caller's thread after each commit (every 131,072 events): events
  // applied so far by this call, and how many it applies in all (at most: Kafka
  // offsets may also count transaction markers).
  std::function<void(uint64_t applied, uint64_t total)> on_progress;
  // Called on the caller's thread for each record skipped as a copy; may be empty.
  std::function<void(const SkippedCopy&)> on_copy_skipped;
};

// OK when a state at `applied` can follow a log that ends at `log_end`: the same
// partitions, and nothing applied beyond the end (DataLoss: acknowledged events are
// missing from the log). A new state (no position) fits every log.
absl::Status CheckStateWithinLog(const LogPosition& applied, const LogPosition& log_end);

// Replays log records after the state's applied position into the state (index and
// projection), up to the log's end or to `options.until`, each event once: copies of
// an earlier record (its event_id again, or an entity id it created again) are
// skipped (`on_copy_skipped`). Returns how many records it applied.
absl::StatusOr<uint64_t> CatchUp(EventLog& log, StateStore& state,
                                 const CatchUpOptions& options = {});

// Ingests `path`. An error means the file could not be read to its end (or the log or
// state failed); everything committed before that stays committed.
absl::StatusOr<IngestSummary> IngestFile(const std::string& path, EventLog& log,
                                         StateStore& state, const IngestOptions& options);

// Appends events that tori itself writes (issued documents) durably and applies them to
// the state; an event already in the log (same event_id and content) is skipped. Returns
// how many were appended. A rejected event is an internal error: nothing is appended.
absl::StatusOr<size_t> AppendEvents(EventLog& log, StateStore& state,
                                    const std::vector<events::Event>& events);

// One line of a JSON Lines body and what became of it.
struct LineOutcome {
  enum class Status { kAccepted, kDuplicate, kRejected };
  uint64_t line = 0;  // 1-based, counting blank lines too
  Status status = Status::kRejected;
  std::optional<Rejection> rejection;  // when rejected: reason, field, message
  // "accepted", "duplicate" or "rejected".
  std::string_view StatusName() const;
};

// The most events one IngestLines call takes (one batch, held in memory).
inline constexpr size_t kIngestLinesMax = 32768;

// Ingests the JSON Lines `body` as one batch (for `tori serve`'s POST /v1/events): each
// non-blank line is parsed and judged as IngestFile judges a file's; the accepted events
// are appended to the log durably and applied to the state before it returns. Returns
// one outcome per non-blank line, in order. InvalidArgument (nothing taken) for more
// than kIngestLinesMax events; another error means the log or state failed, and nothing
// of the body is acknowledged (a retry's already appended events count as duplicates).
// Rejected lines go nowhere else: the caller answers them.
//
// `gate`, when given, is asked about each line that parsed, in line order, just before
// the rules judge it; a rejection it returns is the line's outcome (the line is not
// judged and changes nothing). `contact_point(id)` gives the service point of contact
// `id` as the state stands at that line: what was stored before the call and what the
// body's earlier accepted lines did (nullopt: no such contact). tori serve's intake
// scope (write_routes.h) is such a gate; an error from it fails the call.
using ContactPointLookup =
    std::function<absl::StatusOr<std::optional<std::string>>(std::string_view contact_id)>;
using LineGate = std::function<absl::StatusOr<std::optional<Rejection>>(
    uint64_t line, const ParsedEvent& parsed, const ContactPointLookup& contact_point)>;
absl::StatusOr<std::vector<LineOutcome>> IngestLines(std::string_view body, EventLog& log,
                                                     StateStore& state,
                                                     absl::Time now = absl::Now(),
                                                     const LineGate& gate = {});

// The partition key of an event in the log: its service point, so a point's events
// keep their order (corrections and voids go with their contact's point).
std::string PartitionKey(const events::Event& event, const events::ContactState* contact);

}  // namespace tori

#endif  // TORI_SERVICES_INGEST_INGEST_H_
