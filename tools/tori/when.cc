// Dates and instants on the command line (`bill --as-of 2026-03-31`, `log
// --since/--until`); the replay of `bill --as-of` finds the log position an instant
// stands for (CatchUpOptions::until_occurred).
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

}  // namespace tori
