#include "events/base/calendar.h"

#include <string>

#include "absl/status/status.h"
#include "fmt/format.h"

namespace tori {
namespace {

bool AllDigits(std::string_view text) {
  for (char c : text) {
    if (c < '0' || c > '9') return false;
  }
  return !text.empty();
}

int64_t Digits(std::string_view text) {  // AllDigits(text), at most 4 of them
  int64_t value = 0;
  for (char c : text) value = value * 10 + (c - '0');
  return value;
}

}  // namespace

absl::StatusOr<absl::TimeZone> LoadTimeZoneNamed(std::string_view name) {
  absl::TimeZone zone;
  if (!absl::LoadTimeZone(std::string(name), &zone)) {
    return absl::FailedPreconditionError(fmt::format(
        "cannot load the {} time zone from the system's tzdata (/usr/share/zoneinfo, or "
        "$TZDIR if set): install the tzdata package (apt-get install tzdata, or bash "
        "ops/setup). tori never falls back to a fixed offset: Helsinki is +02:00 in winter, "
        "+03:00 in summer",
        name));
  }
  return zone;
}

absl::StatusOr<absl::TimeZone> HelsinkiTimeZone() { return LoadTimeZoneNamed(kHelsinkiZoneName); }

absl::CivilMonth Quarter::FirstMonth() const {
  return absl::CivilMonth(year, 3 * (quarter_of_year - 1) + 1);
}
absl::CivilDay Quarter::FirstDay() const { return absl::CivilDay(FirstMonth()); }
absl::CivilDay Quarter::EndDay() const { return absl::CivilDay(FirstMonth() + 3); }
absl::CivilDay Quarter::LastDay() const { return EndDay() - 1; }
Quarter Quarter::Next() const { return QuarterOf(EndDay()); }
Quarter Quarter::Previous() const { return QuarterOf(FirstDay() - 1); }

std::string QuarterName(Quarter quarter) {
  return fmt::format("{:04}Q{}", quarter.year, quarter.quarter_of_year);  // as ParseQuarter reads it
}

absl::StatusOr<Quarter> ParseQuarter(std::string_view text) {
  const auto invalid = [&](std::string_view rule) {
    return absl::InvalidArgumentError(fmt::format(
        "quarter \"{}\": {}; write a quarter as YYYYQn with n in 1..4, e.g. 2026Q1", text, rule));
  };
  if (text.size() != 6 || !AllDigits(text.substr(0, 4)) || text[4] != 'Q' ||
      !AllDigits(text.substr(5, 1))) {
    return invalid("not of the form YYYYQn (four digits, an upper-case Q, one digit, nothing else)");
  }
  Quarter quarter;
  quarter.year = Digits(text.substr(0, 4));
  quarter.quarter_of_year = static_cast<int>(Digits(text.substr(5, 1)));
  if (quarter.quarter_of_year < 1 || quarter.quarter_of_year > 4) {
    return invalid("a year has quarters 1..4");
  }
  return quarter;
}

Quarter QuarterOf(absl::CivilDay day) {
  return Quarter{day.year(), (day.month() - 1) / 3 + 1};
}

Quarter QuarterOfInstant(absl::Time instant, absl::TimeZone helsinki) {
  return QuarterOf(absl::ToCivilDay(instant, helsinki));
}

absl::Time QuarterStart(Quarter quarter, absl::TimeZone helsinki) {
  return absl::FromCivil(quarter.FirstDay(), helsinki);
}

absl::Time QuarterEnd(Quarter quarter, absl::TimeZone helsinki) {
  return absl::FromCivil(quarter.EndDay(), helsinki);
}

absl::StatusOr<absl::CivilDay> ParseDay(std::string_view text) {
  if (text.size() == 10 && AllDigits(text.substr(0, 4)) && text[4] == '-' &&
      AllDigits(text.substr(5, 2)) && text[7] == '-' && AllDigits(text.substr(8, 2))) {
    const int64_t year = Digits(text.substr(0, 4));
    const int month = static_cast<int>(Digits(text.substr(5, 2)));
    const int day = static_cast<int>(Digits(text.substr(8, 2)));
    const absl::CivilDay date(year, month, day);  // normalizes 2026-02-30 to 2026-03-02
    if (date.year() == year && date.month() == month && date.day() == day) return date;
  }
  return absl::InvalidArgumentError(fmt::format("\"{}\" is not a calendar date like 2026-01-31", text));
}

absl::StatusOr<absl::CivilMonth> ParseMonth(std::string_view text) {
  if (text.size() == 7 && AllDigits(text.substr(0, 4)) && text[4] == '-' &&
      AllDigits(text.substr(5, 2))) {
    const int month = static_cast<int>(Digits(text.substr(5, 2)));
    if (month >= 1 && month <= 12) return absl::CivilMonth(Digits(text.substr(0, 4)), month);
  }
  return absl::InvalidArgumentError(fmt::format("\"{}\" is not a month like 2026-01", text));
}

}  // namespace tori
