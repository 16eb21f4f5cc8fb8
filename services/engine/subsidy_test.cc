// Subsidy rounding (half away from zero) and the annual cap of SPEC section 3.
#include <cstdint>
#include <limits>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "services/engine/engine.h"

namespace tori::engine {
namespace {

constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
constexpr int64_t kFiftyPct = 50'0000;
constexpr int64_t kHundredPct = 100'0000;

struct RoundingExample {
  std::string name;
  int64_t basis_cents;
  int64_t rate_pct_e4;
  int64_t expected_cents;
};
void PrintTo(const RoundingExample& example, std::ostream* os) { *os << example.name; }

const std::vector<RoundingExample> kRoundingExamples = {
    {"HalfOfThousandEuros", 100000, kFiftyPct, 50000},
    {"HalfCentRoundsUp", 1, kFiftyPct, 1},
    {"NegativeHalfCentRoundsAwayFromZero", -1, kFiftyPct, -1},
    {"OneAndHalfRoundsToTwo", 3, kFiftyPct, 2},
    {"MinusOneAndHalfRoundsToMinusTwo", -3, kFiftyPct, -2},
    {"FifteenPctOfTenCents", 10, 15'0000, 2},  // 1.5
    {"FifteenPctOfMinusTenCents", -10, 15'0000, -2},
    {"JustBelowHalfRoundsDown", 1, 49'9999, 0},     // 0.499999
    {"NegativeJustBelowHalfRoundsToZero", -1, 49'9999, 0},
    {"ThirdRate", 333, 33'3333, 111},               // 110.999889
    {"ZeroBasis", 0, kFiftyPct, 0},
    {"ZeroRate", 123456, 0, 0},
    {"FullRateOfInt64Max", kMax, kHundredPct, kMax},
    {"FullRateOfInt64Min", kMin, kHundredPct, kMin},
    {"HalfRateOfInt64Min", kMin, kFiftyPct, kMin / 2},
};

class SubsidyRoundingTest : public ::testing::TestWithParam<RoundingExample> {};

TEST_P(SubsidyRoundingTest, RoundsHalfAwayFromZero) {
  const RoundingExample& example = GetParam();
  const auto amount = SubsidyAmountCents(example.basis_cents, example.rate_pct_e4);
  ASSERT_TRUE(amount.ok()) << amount.status();
  EXPECT_EQ(*amount, example.expected_cents);
}

INSTANTIATE_TEST_SUITE_P(Spec, SubsidyRoundingTest, ::testing::ValuesIn(kRoundingExamples),
                         [](const auto& info) { return info.param.name; });

TEST(SubsidyAmountCents, RejectsNegativeRate) {
  EXPECT_EQ(SubsidyAmountCents(100, -1).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(SubsidyAmountCents, ReportsResultBeyondInt64) {
  EXPECT_EQ(SubsidyAmountCents(kMax, 2 * kHundredPct).status().code(),
            absl::StatusCode::kOutOfRange);
}

struct CapExample {
  std::string name;
  int64_t amount_cents;
  std::optional<int64_t> annual_cap_cents;
  int64_t claimed_this_year_cents;
  int64_t expected_cents;
};
void PrintTo(const CapExample& example, std::ostream* os) { *os << example.name; }

const std::vector<CapExample> kCapExamples = {
    {"NoCapKeepsAmount", 60000, std::nullopt, 999999, 60000},
    {"NoCapKeepsCreditQuarter", -500, std::nullopt, 0, -500},
    {"UnderCap", 60000, 100000, 0, 60000},
    {"CapLimitsSecondQuarter", 60000, 100000, 60000, 40000},
    {"CapReachedClaimsZero", 60000, 100000, 100000, 0},
    {"OverClaimedNeverBelowZero", 60000, 100000, 120000, 0},
    {"CappedCreditNeverBelowZero", -500, 100000, 0, 0},
    {"ExactlyAtCap", 100000, 100000, 0, 100000},
    {"FarNegativeClaimedDoesNotOverflow", 5, kMax, kMin, 5},
};

class SubsidyCapTest : public ::testing::TestWithParam<CapExample> {};

TEST_P(SubsidyCapTest, ClaimsMinOfAmountAndRoomLeftNeverBelowZero) {
  const CapExample& example = GetParam();
  EXPECT_EQ(CapSubsidyCents(example.amount_cents, example.annual_cap_cents,
                            example.claimed_this_year_cents),
            example.expected_cents);
}

INSTANTIATE_TEST_SUITE_P(Spec, SubsidyCapTest, ::testing::ValuesIn(kCapExamples),
                         [](const auto& info) { return info.param.name; });

}  // namespace
}  // namespace tori::engine
