#include "events/base/decimal.h"

#include <cstdint>

#include "gtest/gtest.h"

namespace tori {
namespace {

struct ParseCase {
  const char* text;
  int scale;
  int64_t expected;
};

TEST(ParseDecimal, AcceptsSpecForms) {
  const ParseCase cases[] = {
      {"1234.50", 2, 123450}, {"1234.5", 2, 123450}, {"1234", 2, 123400},
      {"-0.01", 2, -1},       {"0", 2, 0},           {"-0", 2, 0},
      {"33.3333", 4, 333333}, {"100", 4, 1000000},   {"0.0001", 4, 1},
      {"007.10", 2, 710},     {"999999999999999.99", 2, 99999999999999999},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.text);
    auto parsed = ParseDecimal(c.text, c.scale, /*allow_negative=*/true);
    ASSERT_TRUE(parsed.ok()) << parsed.status();
    EXPECT_EQ(*parsed, c.expected);
  }
}

TEST(ParseDecimal, RejectsWhatIsNotAnExactDecimal) {
  for (const char* text : {"", "-", ".5", "1.", "1.2.3", "+1", " 1", "1 ", "1e3", "1,5",
                           "0x10", "NaN", "inf", "--1", "1-"}) {
    SCOPED_TRACE(text);
    EXPECT_FALSE(ParseDecimal(text, 2, true).ok());
  }
}

TEST(ParseDecimal, RejectsTooManyDecimalsAsOutOfRange) {
  auto parsed = ParseDecimal("1.005", 2, true);
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_NE(parsed.status().message().find("more than 2 decimals"), std::string::npos);
}

TEST(ParseDecimal, RejectsMagnitudeBeyondBound) {
  EXPECT_FALSE(ParseDecimal("1000000000000000.00", 2, true).ok());
  EXPECT_FALSE(ParseDecimal("99999999999999999999999", 2, true).ok());
}

TEST(ParseDecimal, RejectsNegativeWhenNotAllowed) {
  auto parsed = ParseDecimal("-1", 2, /*allow_negative=*/false);
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.status().code(), absl::StatusCode::kOutOfRange);
}

TEST(FormatDecimal, WritesExactlyScaleDecimals) {
  EXPECT_EQ(FormatDecimal(123450, 2), "1234.50");
  EXPECT_EQ(FormatDecimal(-1, 2), "-0.01");
  EXPECT_EQ(FormatDecimal(0, 2), "0.00");
  EXPECT_EQ(FormatDecimal(333333, 4), "33.3333");
  EXPECT_EQ(FormatDecimal(INT64_MIN, 2), "-92233720368547758.08");
  EXPECT_EQ(FormatDecimal(INT64_MAX, 2), "92233720368547758.07");
}

TEST(FormatDecimal, RoundTripsThroughParse) {
  for (int64_t v : {0LL, 1LL, -1LL, 99LL, 100LL, -12345678LL, 99999999999999999LL}) {
    auto back = ParseDecimal(FormatDecimal(v, 2), 2, true);
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(*back, v);
  }
}

}  // namespace
}  // namespace tori
