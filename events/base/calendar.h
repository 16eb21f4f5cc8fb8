// tori's calendar (SPEC section 1): Europe/Helsinki local time, its days, months and
// quarters ("2026Q1"). The one place that knows the zone, how a quarter is spelled and
// where it begins and ends; engine, projector, billing, audit, the command line and the
// generators all use it.
//
// Model (Abseil's, absl/time/time.h): an instant is an `absl::Time`; a local date is an
// `absl::CivilDay` and a month an `absl::CivilMonth`, which carry no zone. A `Quarter`
// is a year and 1..4, also without a zone: its months and days are the same everywhere,
// only the instants of its bounds depend on Helsinki. Instants become local dates only
// through the zone (`absl::ToCivilDay(t, helsinki)`, `QuarterOfInstant`), and local
// dates become instants only through it (`absl::FromCivil`, `QuarterStart`).
//
// The zone: `HelsinkiTimeZone()` loads it from the system's tzdata (/usr/share/zoneinfo,
// or $TZDIR). Without it every caller fails with an error that names the package to
// install; never a fixed offset, which is wrong for half of every year (EET +02:00,
// EEST +03:00 from the last Sunday of March to the last Sunday of October).
//
// Layering rule: the zone is loaded where I/O is allowed (projector, billing, audit,
// the command line, the generators) and passed down as an `absl::TimeZone` value. The
// billing engine is pure: it works in quarters and civil days only and never loads or
// receives a zone; instants become quarters and days before it (projector, billing's
// load), and `now` becomes a date in billing.
//
// Thread safety: every function is thread-safe; a loaded zone is cached by Abseil, and
// `absl::TimeZone` is a cheap value to copy.
#ifndef TORI_EVENTS_BASE_CALENDAR_H_
#define TORI_EVENTS_BASE_CALENDAR_H_

#include <compare>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"

namespace tori {

inline constexpr std::string_view kHelsinkiZoneName = "Europe/Helsinki";

// Europe/Helsinki from the system's tzdata, or FailedPrecondition naming the tzdata
// package.
absl::StatusOr<absl::TimeZone> HelsinkiTimeZone();
// The zone named `name` (IANA), with the same error: for tests of that error.
absl::StatusOr<absl::TimeZone> LoadTimeZoneNamed(std::string_view name);

// A calendar quarter, written "2026Q1". Ordered chronologically.
struct Quarter {
  int64_t year = 0;
  int quarter_of_year = 1;  // 1..4

  absl::CivilMonth FirstMonth() const;  // 2026Q2 -> 2026-04
  absl::CivilDay FirstDay() const;      // 2026Q2 -> 2026-04-01
  absl::CivilDay LastDay() const;       // 2026Q2 -> 2026-06-30
  absl::CivilDay EndDay() const;        // exclusive: the next quarter's first day
  Quarter Next() const;                 // 2025Q4 -> 2026Q1
  Quarter Previous() const;             // 2026Q1 -> 2025Q4
  friend auto operator<=>(const Quarter&, const Quarter&) = default;
};

// "2026Q1"; the year in four digits (0999Q1), so ParseQuarter reads every name back.
std::string QuarterName(Quarter quarter);
// Exactly "YYYYQn": four digits, an upper-case Q, n in 1..4; nothing before or after.
// Anything else is InvalidArgument naming the text and the rule ("2026q1", "2026Q5",
// "26Q1", " 2026Q1", "2026-Q1"). Any four-digit year: issued events of earlier
// versions name quarters by this rule, and they must always load. (Events can only
// fall in 2000..2199, the codec's instants; the generator asks for that itself.)
absl::StatusOr<Quarter> ParseQuarter(std::string_view text);

// The quarter a local date (or a month: a CivilMonth converts) falls in.
Quarter QuarterOf(absl::CivilDay day);
// The Helsinki quarter of an instant: 2026-03-31T22:30:00Z is 2026-04-01 01:30 in
// Helsinki, so 2026Q2.
Quarter QuarterOfInstant(absl::Time instant, absl::TimeZone helsinki);
// The quarter's bounds as instants: [QuarterStart, QuarterEnd), Helsinki midnights of
// its first day and of the next quarter's first day.
absl::Time QuarterStart(Quarter quarter, absl::TimeZone helsinki);
absl::Time QuarterEnd(Quarter quarter, absl::TimeZone helsinki);

// Exactly "YYYY-MM-DD" (a real date) and "YYYY-MM"; anything else is InvalidArgument
// naming the text. No zone: these are local dates and months.
absl::StatusOr<absl::CivilDay> ParseDay(std::string_view text);
absl::StatusOr<absl::CivilMonth> ParseMonth(std::string_view text);

}  // namespace tori

#endif  // TORI_EVENTS_BASE_CALENDAR_H_
