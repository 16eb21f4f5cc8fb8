// Dates and instants on the command line, and the log position they stand for
// (`bill --as-of 2026-03-31`, `log --since/--until`): issue #15.10.
#include "absl/time/civil_time.h"
#include "events/base/calendar.h"
#include "events/base/check.h"
#include "events/codec/codec.h"
#include "fmt/format.h"
#include "tools/tori/commands.h"

namespace tori {

std::optional<absl::Time> ParseDateOrInstant(const std::string& text, bool day_end) {
  absl::Time instant;
  std::string error;
  if (absl::ParseTime(absl::RFC3339_full, text, &instant, &error)) return instant;
  const absl::StatusOr<absl::CivilDay> day = ParseDay(text);
  if (!day.ok()) return std::nullopt;
  const absl::StatusOr<absl::TimeZone> helsinki = HelsinkiTimeZone();
  if (!helsinki.ok()) {  // a date, but no zone to place it in: say what to install
    fmt::print(stderr, "tori: {}\n", std::string(helsinki.status().message()));
    return std::nullopt;
  }
  return absl::FromCivil(day_end ? *day + 1 : *day, *helsinki);
}

absl::StatusOr<LogPosition> LogPositionAt(EventLog& log, absl::Time instant) {
  const int32_t partitions = log.partition_count();
  LogPosition at{std::vector<int64_t>(partitions, 0)};
  std::vector<bool> cut(partitions, false);
  TORI_ASSIGN_OR_RETURN(auto cursor, log.Read(at));
  const int64_t instant_ns = absl::ToUnixNanos(instant);
  events::Event event;
  LogRecord record;
  const absl::Time started = absl::Now();
  absl::Time next_progress = started + absl::Seconds(2);
  uint64_t read = 0;
  while (true) {
    TORI_ASSIGN_OR_RETURN(bool more, cursor->Next(record));
    if (!more) break;
    if (++read % 65536 == 0 && absl::Now() >= next_progress) {  // a long log: say it is being read
      next_progress = absl::Now() + absl::Seconds(2);
      fmt::print(stderr, "as of: read {} events, {:.0f} s\n", read, absl::ToDoubleSeconds(absl::Now() - started));
    }
    if (cut[record.partition]) continue;
    int64_t occurred_at_ns;
    if (auto contact = DecodeContactView(record.payload)) {
      occurred_at_ns = contact->occurred_at_unix_ns;
    } else if (DecodeEvent(record.payload, event)) {
      occurred_at_ns = event.occurred_at_unix_ns();
    } else {
      return absl::DataLossError(
          fmt::format("the log's record p{}:{} is no event of schema v1", record.partition, record.offset));
    }
    if (occurred_at_ns > instant_ns) {
      cut[record.partition] = true;
    } else {
      at.next_offsets[record.partition] = record.offset + 1;
    }
  }
  return at;
}

}  // namespace tori
