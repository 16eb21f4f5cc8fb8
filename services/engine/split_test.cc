// The largest-remainder split of SPEC section 3: examples, edge amounts, a property test.
#include <cstdint>
#include <limits>
#include <ostream>
#include <random>
#include <string>
#include <vector>

#include "absl/numeric/int128.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/engine/engine.h"

namespace tori::engine {
namespace {

using ::testing::ElementsAre;

constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
constexpr int64_t kMin = std::numeric_limits<int64_t>::min();

struct SplitExample {
  std::string name;
  int64_t amount_cents;
  std::vector<int64_t> weights;
  std::vector<int64_t> expected_cents;
};
void PrintTo(const SplitExample& example, std::ostream* os) { *os << example.name; }

// Each row worked by hand: floors, remainders a*k mod K, then leftover cents.
const std::vector<SplitExample> kExamples = {
    // 33 r1 each; 1 leftover; remainders tie, so the smallest index gets it.
    {"TieGoesToSmallerIndex", 100, {1, 1, 1}, {34, 33, 33}},
    {"NegativeAmountMirrorsPositive", -100, {1, 1, 1}, {-34, -33, -33}},
    {"ZeroAmountGivesZeroShares", 0, {1, 2}, {0, 0}},
    {"SinglePartyTakesAll", 12345, {7}, {12345}},
    {"SingleZeroAmount", 0, {1}, {0}},
    {"OneCentToFirstOfThree", 1, {1, 1, 1}, {1, 0, 0}},
    {"TwoCentsToFirstTwoOfThree", 2, {1, 1, 1}, {1, 1, 0}},
    // 10/3 = 3 r1, 20/3 = 6 r2: the larger remainder wins over the smaller index.
    {"LargestRemainderBeatsIndex", 10, {1, 2}, {3, 7}},
    // 5/6 = 0 r5, 10/6 = 1 r4, 15/6 = 2 r3: two leftovers to r5 and r4.
    {"LeftoversFollowRemainderOrder", 5, {1, 2, 3}, {1, 2, 2}},
    // 10/4 = 2 r2, 30/4 = 7 r2: tie among non-zero weights; zeros never get a cent.
    {"ZeroWeightsGetNothing", 10, {0, 1, 0, 3}, {0, 3, 0, 7}},
    {"NegativeWithZeroWeights", -10, {0, 1, 0, 3}, {0, -3, 0, -7}},
    {"ExactSplitHasNoLeftover", 600, {1, 2, 3}, {100, 200, 300}},
    // (2^63 - 1) / 2: floor 2^62 - 1 r1 each, one leftover to index 0.
    {"Int64MaxOverTwo", kMax, {1, 1}, {4611686018427387904, 4611686018427387903}},
    {"Int64MinOverTwo", kMin, {1, 1}, {-4611686018427387904, -4611686018427387904}},
    {"Int64MinSingleParty", kMin, {1}, {kMin}},
    // 2^63 / 3 = 3074457345618258602 r2 each: two leftovers to indices 0 and 1.
    {"Int64MinOverThree",
     kMin,
     {1, 1, 1},
     {-3074457345618258603, -3074457345618258603, -3074457345618258602}},
    // K = 2^64 - 1 exceeds int64: 100 (2^63-1) / K = 49 r 2^64-51 twice, 0 r100 once.
    {"HugeWeightsSumBeyondInt64", 100, {kMax, kMax, 1}, {50, 50, 0}},
    // K = 2^63: (2^63-1)^2 / 2^63 = 2^63 - 2 r1, (2^63-1) / 2^63 = 0 r 2^63-1.
    {"Int64MaxOverHugeAndTinyWeight", kMax, {kMax, 1}, {kMax - 1, 1}},
};

class SplitExampleTest : public ::testing::TestWithParam<SplitExample> {};

TEST_P(SplitExampleTest, MatchesHandComputedShares) {
  const SplitExample& example = GetParam();
  const auto shares = SplitLargestRemainder(example.amount_cents, example.weights);
  ASSERT_TRUE(shares.ok()) << shares.status();
  EXPECT_EQ(*shares, example.expected_cents);
}

INSTANTIATE_TEST_SUITE_P(Spec, SplitExampleTest, ::testing::ValuesIn(kExamples),
                         [](const auto& info) { return info.param.name; });

TEST(SplitLargestRemainder, RejectsNoWeights) {
  EXPECT_EQ(SplitLargestRemainder(100, {}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(SplitLargestRemainder, RejectsWeightsSummingToZeroSoCallerPicksFallback) {
  const auto shares = SplitLargestRemainder(100, std::vector<int64_t>{0, 0});
  EXPECT_EQ(shares.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(shares.status().message()), ::testing::HasSubstr("fallback"));
}

TEST(SplitLargestRemainder, RejectsNegativeWeight) {
  EXPECT_EQ(SplitLargestRemainder(100, std::vector<int64_t>{1, -1, 3}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(ExplainSplitLargestRemainder, RecordsFloorsRemaindersAndLeftoverCents) {
  const auto explanation = ExplainSplitLargestRemainder(-100, std::vector<int64_t>{1, 1, 1});
  ASSERT_TRUE(explanation.ok()) << explanation.status();
  EXPECT_EQ(explanation->amount_cents, -100);
  EXPECT_EQ(explanation->weight_total, 3);
  EXPECT_EQ(explanation->leftover_cents, 1u);
  EXPECT_THAT(explanation->steps,
              ElementsAre(SplitStep{1, -33, 1, true, -34}, SplitStep{1, -33, 1, false, -33},
                          SplitStep{1, -33, 1, false, -33}));
}

// ---------------------------------------------------------------- property test

// Raw mt19937_64 output (not std::uniform_int_distribution) so that a seed reproduces
// the same case with any standard library.
class Random {
 public:
  explicit Random(uint64_t seed) : engine_(seed) {}
  uint64_t Next() { return engine_(); }
  int64_t Between(int64_t low, int64_t high) {  // inclusive, high - low < 2^64 - 1
    const uint64_t span = static_cast<uint64_t>(high) - static_cast<uint64_t>(low) + 1;
    return static_cast<int64_t>(static_cast<uint64_t>(low) + Next() % span);
  }

 private:
  std::mt19937_64 engine_;
};

int64_t RandomAmount(Random& random) {
  switch (random.Next() % 4) {
    case 0: return random.Between(-1000, 1000);
    case 1: return static_cast<int64_t>(random.Next());  // anywhere in int64
    case 2: {
      const int64_t edges[] = {kMin, kMin + 1, -1, 0, 1, kMax - 1, kMax};
      return edges[random.Next() % 7];
    }
    default: return random.Between(-1'000'000'000, 1'000'000'000);
  }
}

std::vector<int64_t> RandomWeights(Random& random) {
  const size_t count = 1 + random.Next() % 12;
  const uint64_t mode = random.Next() % 4;
  std::vector<int64_t> weights(count);
  for (int64_t& weight : weights) {
    switch (mode) {
      case 0: weight = random.Between(0, 10); break;
      case 1: weight = random.Between(0, 1'000'000); break;
      case 2: weight = static_cast<int64_t>(random.Next() >> 1); break;  // up to 2^63 - 1
      default: weight = random.Next() % 3 == 0 ? random.Between(0, kMax) : 0; break;
    }
  }
  bool all_zero = true;
  for (int64_t weight : weights) all_zero = all_zero && weight == 0;
  if (all_zero) weights[random.Next() % count] = 1;
  return weights;
}

uint64_t Magnitude(int64_t value) {
  return value < 0 ? 0 - static_cast<uint64_t>(value) : static_cast<uint64_t>(value);
}

TEST(SplitLargestRemainderProperty, ConservesAmountAndStaysWithinOneCentOfExactShare) {
  constexpr uint64_t kSeeds = 5000;
  for (uint64_t seed = 1; seed <= kSeeds; ++seed) {
    SCOPED_TRACE(absl::StrCat("seed ", seed));
    Random random(seed);
    const int64_t amount_cents = RandomAmount(random);
    const std::vector<int64_t> weights = RandomWeights(random);
    const auto shares = SplitLargestRemainder(amount_cents, weights);
    ASSERT_TRUE(shares.ok()) << shares.status();
    ASSERT_EQ(shares->size(), weights.size());

    absl::uint128 weight_total = 0;
    for (int64_t weight : weights) weight_total += static_cast<uint64_t>(weight);
    const uint64_t magnitude = Magnitude(amount_cents);
    absl::int128 share_total = 0;
    std::vector<absl::uint128> remainders;
    std::vector<bool> got_leftover;
    for (size_t i = 0; i < weights.size(); ++i) {
      const int64_t share = (*shares)[i];
      share_total += share;
      // Same sign as the amount (or zero).
      ASSERT_TRUE(share == 0 || (share < 0) == (amount_cents < 0)) << "index " << i;
      // The exact share is f + remainder / K: a share is f, or f + 1 when a fraction
      // was left, never further than one cent away.
      const absl::uint128 product = absl::uint128(magnitude) * static_cast<uint64_t>(weights[i]);
      const absl::uint128 floor = product / weight_total;
      const absl::uint128 remainder = product % weight_total;
      const absl::uint128 share_magnitude = Magnitude(share);
      ASSERT_TRUE(share_magnitude == floor || (remainder != 0 && share_magnitude == floor + 1))
          << "index " << i << " share " << share;
      if (weights[i] == 0) {
        ASSERT_EQ(share, 0) << "index " << i;
      }
      remainders.push_back(remainder);
      got_leftover.push_back(share_magnitude == floor + 1);
    }
    ASSERT_TRUE(share_total == amount_cents);
    // Whoever got a leftover cent ranks above whoever did not: larger remainder, or the
    // same remainder and a smaller index.
    for (size_t i = 0; i < weights.size(); ++i) {
      for (size_t j = 0; j < weights.size(); ++j) {
        if (!got_leftover[i] || got_leftover[j]) continue;
        ASSERT_TRUE(remainders[i] > remainders[j] || (remainders[i] == remainders[j] && i < j))
            << "index " << i << " got a leftover cent before index " << j;
      }
    }
  }
}

}  // namespace
}  // namespace tori::engine
