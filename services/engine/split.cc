// The two rounding rules of the engine: the largest-remainder split and the subsidy's
// half-away-from-zero rounding. Fractions of a cent exist only here, in 128-bit
// intermediates.
#include <algorithm>
#include <cstdint>
#include <limits>
#include <numeric>
#include <optional>
#include <vector>

#include "absl/numeric/int128.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/types/span.h"
#include "events/base/check.h"
#include "services/engine/engine.h"

namespace tori::engine {
namespace {

// -(2^63) has no positive int64 counterpart, so magnitudes live in uint64 and get their
// sign back through two's complement (well defined since C++20).
uint64_t MagnitudeOf(int64_t value) {
  return value < 0 ? 0 - static_cast<uint64_t>(value) : static_cast<uint64_t>(value);
}

int64_t WithSign(uint64_t magnitude, bool negative) {
  if (negative) {
    TORI_CHECK(magnitude <= uint64_t{1} << 63);
    return static_cast<int64_t>(0 - magnitude);
  }
  TORI_CHECK(magnitude <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max()));
  return static_cast<int64_t>(magnitude);
}

constexpr int64_t kPctE4OfWhole = 100 * 10'000;  // 100 % at scale 10^4

}  // namespace

absl::StatusOr<SplitExplanation> ExplainSplitLargestRemainder(
    int64_t amount_cents, absl::Span<const int64_t> weights) {
  if (weights.empty()) {
    return absl::InvalidArgumentError("largest-remainder split: needs at least one weight");
  }
  // K <= n * 2^63 fits 128 bits for any n a process can hold.
  absl::uint128 weight_total = 0;
  for (size_t i = 0; i < weights.size(); ++i) {
    if (weights[i] < 0) {
      return absl::InvalidArgumentError(absl::StrCat("largest-remainder split: weight ", i,
                                                     " is ", weights[i], ", must be >= 0"));
    }
    weight_total += static_cast<uint64_t>(weights[i]);
  }
  if (weight_total == 0) {
    return absl::InvalidArgumentError(
        "largest-remainder split: weights sum to 0; the caller chooses a fallback key");
  }

  const bool negative = amount_cents < 0;
  const uint64_t magnitude_cents = MagnitudeOf(amount_cents);
  SplitExplanation explanation;
  explanation.amount_cents = amount_cents;
  explanation.weight_total = weight_total;
  explanation.steps.resize(weights.size());

  // floor(a * k_i / K) <= a, and a * k_i < 2^126: no step overflows.
  uint64_t floor_total_cents = 0;
  std::vector<uint64_t> floor_cents(weights.size());
  for (size_t i = 0; i < weights.size(); ++i) {
    const absl::uint128 product =
        absl::uint128(magnitude_cents) * static_cast<uint64_t>(weights[i]);
    floor_cents[i] = absl::Uint128Low64(product / weight_total);
    explanation.steps[i].weight = weights[i];
    explanation.steps[i].remainder = product % weight_total;
    floor_total_cents += floor_cents[i];
  }
  TORI_CHECK(floor_total_cents <= magnitude_cents);
  const uint64_t leftover_cents = magnitude_cents - floor_total_cents;
  // The remainders sum to r * K with each below K, so r < n, and more than r of them
  // are non-zero: a weight of 0 never receives a leftover cent.
  TORI_CHECK(leftover_cents < weights.size());
  explanation.leftover_cents = leftover_cents;

  // Indices by remainder descending, then index ascending: a strict total order, so the
  // partial sort is deterministic.
  std::vector<size_t> order(weights.size());
  std::iota(order.begin(), order.end(), size_t{0});
  const auto by_largest_remainder = [&](size_t left, size_t right) {
    const absl::uint128& left_remainder = explanation.steps[left].remainder;
    const absl::uint128& right_remainder = explanation.steps[right].remainder;
    if (left_remainder != right_remainder) return left_remainder > right_remainder;
    return left < right;
  };
  std::partial_sort(order.begin(), order.begin() + static_cast<ptrdiff_t>(leftover_cents),
                    order.end(), by_largest_remainder);
  for (size_t rank = 0; rank < leftover_cents; ++rank) {
    explanation.steps[order[rank]].received_leftover_cent = true;
  }

  absl::int128 share_total_cents = 0;
  for (size_t i = 0; i < weights.size(); ++i) {
    SplitStep& step = explanation.steps[i];
    step.floor_cents = WithSign(floor_cents[i], negative);
    step.share_cents =
        WithSign(floor_cents[i] + (step.received_leftover_cent ? 1 : 0), negative);
    share_total_cents += step.share_cents;
  }
  // Conservation: no cent lost or created.
  TORI_CHECK(share_total_cents == amount_cents);
  return explanation;
}

absl::StatusOr<std::vector<int64_t>> SplitLargestRemainder(int64_t amount_cents,
                                                           absl::Span<const int64_t> weights) {
  auto explanation = ExplainSplitLargestRemainder(amount_cents, weights);
  if (!explanation.ok()) return explanation.status();
  std::vector<int64_t> shares_cents;
  shares_cents.reserve(explanation->steps.size());
  for (const SplitStep& step : explanation->steps) shares_cents.push_back(step.share_cents);
  return shares_cents;
}

absl::StatusOr<int64_t> SubsidyAmountCents(int64_t basis_cents, int64_t rate_pct_e4) {
  if (rate_pct_e4 < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("subsidy rate_pct_e4 is ", rate_pct_e4, ", must be >= 0"));
  }
  // |basis * rate| < 2^126: exact in 128 bits.
  const absl::uint128 product = absl::uint128(MagnitudeOf(basis_cents)) *
                                static_cast<uint64_t>(rate_pct_e4);
  absl::uint128 magnitude_cents = product / kPctE4OfWhole;
  // Half away from zero: round the magnitude half up, then restore the sign.
  if (2 * (product % kPctE4OfWhole) >= kPctE4OfWhole) magnitude_cents += 1;
  const bool negative = basis_cents < 0;
  const absl::uint128 magnitude_max =
      negative ? absl::uint128(uint64_t{1} << 63)
               : absl::uint128(std::numeric_limits<int64_t>::max());
  if (magnitude_cents > magnitude_max) {
    return absl::OutOfRangeError(absl::StrCat("subsidy of ", basis_cents, " cents at ",
                                              rate_pct_e4, " pct_e4 does not fit int64"));
  }
  return WithSign(absl::Uint128Low64(magnitude_cents), negative);
}

int64_t CapSubsidyCents(int64_t amount_cents, std::optional<int64_t> annual_cap_cents,
                        int64_t claimed_this_year_cents) {
  if (!annual_cap_cents.has_value()) return amount_cents;
  // cap - claimed can leave int64 when claimed is far negative: compute in 128 bits.
  const absl::int128 room_cents = absl::int128(*annual_cap_cents) - claimed_this_year_cents;
  const absl::int128 capped_cents = std::max(
      absl::int128(0), std::min(absl::int128(amount_cents), room_cents));
  return static_cast<int64_t>(capped_cents);
}

}  // namespace tori::engine
