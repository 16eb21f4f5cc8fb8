// The calendar: Helsinki quarters of instants across both DST changes, quarter and
// month bounds in local time, leap years, the spelling of a quarter.
#include "events/base/calendar.h"

#include <string>

#include "fmt/format.h"
#include "gtest/gtest.h"

namespace tori {
namespace {

absl::Time At(const char* rfc3339) {
  absl::Time t;
  std::string error;
  EXPECT_TRUE(absl::ParseTime(absl::RFC3339_full, rfc3339, &t, &error)) << rfc3339 << ": " << error;
  return t;
}

absl::TimeZone Helsinki() {
  auto zone = HelsinkiTimeZone();
  EXPECT_TRUE(zone.ok()) << zone.status();
  return zone.ok() ? *zone : absl::UTCTimeZone();
}

TEST(HelsinkiTimeZone, LoadsTheRealZoneWithBothOffsets) {
  const absl::TimeZone helsinki = Helsinki();
  EXPECT_EQ(helsinki.name(), "Europe/Helsinki");
  EXPECT_EQ(absl::FormatTime("%Ez", At("2026-01-15T12:00:00Z"), helsinki), "+02:00");
  EXPECT_EQ(absl::FormatTime("%Ez", At("2026-07-15T12:00:00Z"), helsinki), "+03:00");
}

TEST(HelsinkiTimeZone, AZoneThatCannotBeLoadedNamesTzdataAndNeverFallsBack) {
  const auto zone = LoadTimeZoneNamed("Europe/No_Such_Zone");
  ASSERT_FALSE(zone.ok());
  EXPECT_EQ(zone.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(zone.status().message().find("Europe/No_Such_Zone"), std::string::npos) << zone.status();
  EXPECT_NE(zone.status().message().find("install the tzdata package"), std::string::npos)
      << zone.status();
}

// The EU rule, as the demo scenario once wrote it by hand: summer time from the last
// Sunday of March to the last Sunday of October, 01:00 UTC both times. tzdata must agree.
TEST(HelsinkiTimeZone, ChangesOffsetAtOneUtcOnTheLastSundaysOfMarchAndOctober) {
  const absl::TimeZone helsinki = Helsinki();
  for (int64_t year = 2000; year <= 2040; ++year) {
    for (int month : {3, 10}) {
      absl::CivilDay last_sunday = absl::CivilDay(absl::CivilMonth(year, month) + 1) - 1;
      while (absl::GetWeekday(last_sunday) != absl::Weekday::sunday) --last_sunday;
      const absl::Time change = absl::FromCivil(absl::CivilSecond(last_sunday) + 3600, absl::UTCTimeZone());
      const auto before = helsinki.At(change - absl::Seconds(1)).offset;
      const auto after = helsinki.At(change).offset;
      EXPECT_EQ(before, month == 3 ? 2 * 3600 : 3 * 3600) << year << "-" << month;
      EXPECT_EQ(after, month == 3 ? 3 * 3600 : 2 * 3600) << year << "-" << month;
    }
  }
}

TEST(QuarterOfInstant, FollowsTheHelsinkiCalendar) {
  const absl::TimeZone helsinki = Helsinki();
  struct Case {
    const char* instant;
    const char* quarter;
  } cases[] = {
      {"2025-12-31T21:59:59Z", "2025Q4"},  // 23:59:59 EET
      {"2025-12-31T22:00:00Z", "2026Q1"},  // midnight EET
      {"2026-03-31T20:59:59Z", "2026Q1"},  // 23:59:59 EEST (DST began 2026-03-29)
      {"2026-03-31T21:00:00Z", "2026Q2"},  // midnight EEST
      {"2026-03-31T22:30:00Z", "2026Q2"},  // SPEC's example
      {"2026-09-30T20:59:59Z", "2026Q3"},
      {"2026-09-30T21:00:00Z", "2026Q4"},
      {"2026-03-29T00:59:59Z", "2026Q1"},  // the DST change itself
      {"2026-10-25T00:30:00Z", "2026Q4"},  // the hour that happens twice
      {"2026-06-30T20:59:59Z", "2026Q2"},
      {"2026-06-30T21:00:00Z", "2026Q3"},
      {"2026-04-01T01:30:00+03:00", "2026Q2"},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(QuarterName(QuarterOfInstant(At(c.instant), helsinki)), c.quarter) << c.instant;
  }
}

TEST(QuarterBounds, AreHelsinkiMidnightsInTheOffsetOfTheirDay) {
  const absl::TimeZone helsinki = Helsinki();
  struct Case {
    Quarter quarter;
    const char* start;
    const char* end;
  } cases[] = {
      {{2026, 1}, "2025-12-31T22:00:00Z", "2026-03-31T21:00:00Z"},  // ends in summer time
      {{2026, 2}, "2026-03-31T21:00:00Z", "2026-06-30T21:00:00Z"},
      {{2026, 3}, "2026-06-30T21:00:00Z", "2026-09-30T21:00:00Z"},
      {{2026, 4}, "2026-09-30T21:00:00Z", "2026-12-31T22:00:00Z"},  // ends in winter time
  };
  for (const auto& c : cases) {
    EXPECT_EQ(QuarterStart(c.quarter, helsinki), At(c.start)) << QuarterName(c.quarter);
    EXPECT_EQ(QuarterEnd(c.quarter, helsinki), At(c.end)) << QuarterName(c.quarter);
    EXPECT_EQ(QuarterEnd(c.quarter, helsinki), QuarterStart(c.quarter.Next(), helsinki));
    // The last instant belongs to the quarter, the end to the next one.
    EXPECT_EQ(QuarterOfInstant(At(c.end) - absl::Nanoseconds(1), helsinki), c.quarter);
    EXPECT_EQ(QuarterOfInstant(At(c.end), helsinki), c.quarter.Next());
  }
  // 2026Q1 is an hour shorter than 90 days (the clocks went forward on 2026-03-29),
  // 2026Q4 an hour longer than 92 (back on 2026-10-25).
  EXPECT_EQ(QuarterEnd({2026, 1}, helsinki) - QuarterStart({2026, 1}, helsinki), absl::Hours(90 * 24 - 1));
  EXPECT_EQ(QuarterEnd({2026, 4}, helsinki) - QuarterStart({2026, 4}, helsinki), absl::Hours(92 * 24 + 1));
}

TEST(Quarter, DaysAndMonthsOfItsBounds) {
  const Quarter q2{2026, 2};
  EXPECT_EQ(q2.FirstMonth(), absl::CivilMonth(2026, 4));
  EXPECT_EQ(q2.FirstDay(), absl::CivilDay(2026, 4, 1));
  EXPECT_EQ(q2.LastDay(), absl::CivilDay(2026, 6, 30));
  EXPECT_EQ(q2.EndDay(), absl::CivilDay(2026, 7, 1));
  EXPECT_EQ((Quarter{2026, 1}.FirstDay()), absl::CivilDay(2026, 1, 1));
  EXPECT_EQ((Quarter{2026, 3}.FirstDay()), absl::CivilDay(2026, 7, 1));
  EXPECT_EQ((Quarter{2026, 4}.FirstDay()), absl::CivilDay(2026, 10, 1));
  EXPECT_EQ((Quarter{2026, 4}.LastDay()), absl::CivilDay(2026, 12, 31));
  EXPECT_EQ((Quarter{2026, 4}.EndDay()), absl::CivilDay(2027, 1, 1));
}

TEST(Quarter, LeapYearsLengthenTheFirstQuarter) {
  EXPECT_EQ((Quarter{2028, 1}.EndDay() - Quarter{2028, 1}.FirstDay()), 91);  // leap year
  EXPECT_EQ((Quarter{2026, 1}.EndDay() - Quarter{2026, 1}.FirstDay()), 90);
  EXPECT_EQ((Quarter{2100, 1}.EndDay() - Quarter{2100, 1}.FirstDay()), 90);  // century: no
  EXPECT_EQ((Quarter{2000, 1}.EndDay() - Quarter{2000, 1}.FirstDay()), 91);  // 400: yes
  EXPECT_EQ(QuarterOf(absl::CivilDay(2028, 2, 29)), (Quarter{2028, 1}));
  EXPECT_EQ((Quarter{2026, 2}.EndDay() - Quarter{2026, 2}.FirstDay()), 91);
  EXPECT_EQ((Quarter{2026, 3}.EndDay() - Quarter{2026, 3}.FirstDay()), 92);
  EXPECT_EQ((Quarter{2026, 4}.EndDay() - Quarter{2026, 4}.FirstDay()), 92);
}

TEST(Quarter, NextAndPreviousCrossTheYear) {
  EXPECT_EQ((Quarter{2025, 4}.Next()), (Quarter{2026, 1}));
  EXPECT_EQ((Quarter{2026, 1}.Previous()), (Quarter{2025, 4}));
  EXPECT_EQ((Quarter{2026, 2}.Next()), (Quarter{2026, 3}));
  EXPECT_EQ((Quarter{2026, 3}.Previous()), (Quarter{2026, 2}));
}

TEST(Quarter, OrdersChronologically) {
  EXPECT_LT((Quarter{2025, 4}), (Quarter{2026, 1}));
  EXPECT_LT((Quarter{2026, 1}), (Quarter{2026, 2}));
}

TEST(QuarterOf, MapsEachMonthToItsQuarter) {
  const int quarter_of_month[12] = {1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4};
  for (int month = 1; month <= 12; ++month) {
    EXPECT_EQ(QuarterOf(absl::CivilMonth(2026, month)), (Quarter{2026, quarter_of_month[month - 1]}))
        << month;
  }
  EXPECT_EQ(QuarterOf(absl::CivilDay(2026, 3, 31)), (Quarter{2026, 1}));
  EXPECT_EQ(QuarterOf(absl::CivilDay(2026, 4, 1)), (Quarter{2026, 2}));
}

TEST(ParseQuarter, ReadsWhatQuarterNameWrites) {
  for (int64_t year : {0, 1999, 2000, 2026, 2199, 9999}) {
    for (int q = 1; q <= 4; ++q) {
      const Quarter quarter{year, q};
      const auto parsed = ParseQuarter(QuarterName(quarter));
      ASSERT_TRUE(parsed.ok()) << parsed.status();
      EXPECT_EQ(*parsed, quarter);
    }
  }
  EXPECT_EQ(QuarterName(Quarter{2026, 1}), "2026Q1");
}

TEST(ParseQuarter, RejectsEveryOtherSpellingNamingTheTextAndTheForm) {
  for (const char* text : {"2026q1", "2026Q5", "2026Q0", "26Q1", " 2026Q1", "2026Q1 ", "2026-Q1",
                           "2026Q", "Q12026", "2026Q01", "+026Q1", "2026Q1\n", "", "２026Q1",
                           "-026Q1", "20261"}) {
    const auto parsed = ParseQuarter(text);
    ASSERT_FALSE(parsed.ok()) << '"' << text << '"';
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument) << text;
    EXPECT_NE(parsed.status().message().find(fmt::format("quarter \"{}\"", text)), std::string::npos)
        << parsed.status();
    EXPECT_NE(parsed.status().message().find("e.g. 2026Q1"), std::string::npos) << parsed.status();
  }
  EXPECT_NE(ParseQuarter("2026Q5").status().message().find("quarters 1..4"), std::string::npos);
}

TEST(ParseDay, ReadsRealDatesOnly) {
  EXPECT_EQ(*ParseDay("2028-02-29"), absl::CivilDay(2028, 2, 29));
  EXPECT_EQ(*ParseDay("2026-12-31"), absl::CivilDay(2026, 12, 31));
  for (const char* text : {"2026-02-29", "2026-02-30", "2026-13-01", "2026-00-10", "2026-1-01",
                           " 2026-01-01", "2026-01-01T00:00", "2026/01/01", ""}) {
    EXPECT_EQ(ParseDay(text).status().code(), absl::StatusCode::kInvalidArgument) << text;
  }
}

TEST(ParseMonth, ReadsYearAndMonthOnly) {
  EXPECT_EQ(*ParseMonth("2026-03"), absl::CivilMonth(2026, 3));
  EXPECT_EQ(QuarterOf(*ParseMonth("2026-04")), (Quarter{2026, 2}));
  for (const char* text : {"2026-13", "2026-00", "2026-3", "2026-03-01", "2026/03", " 2026-03", ""}) {
    EXPECT_EQ(ParseMonth(text).status().code(), absl::StatusCode::kInvalidArgument) << text;
  }
}

}  // namespace
}  // namespace tori
