// Exact decimals: money, area and percentages as scaled int64 (SPEC section 1).
//
// Text "1234.50" with scale 2 is 123450; "33.3333" with scale 4 is 333333. No floating
// point anywhere. Parsing rejects more decimals than the scale allows, exponents,
// leading '+', spaces and magnitudes above `kDecimalMagnitudeMax`, with a message that
// names the rule. Thread-safe: pure functions.
#ifndef TORI_EVENTS_BASE_DECIMAL_H_
#define TORI_EVENTS_BASE_DECIMAL_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace tori {

// Scaled values stay below this bound: 10^17 cents is a trillion euros, far above any public
// budget, and keeps sums of millions of values inside int64.
inline constexpr int64_t kDecimalMagnitudeMax = 100'000'000'000'000'000;

// Scales used across tori.
inline constexpr int kMoneyScale = 2;  // cents
inline constexpr int kAreaScale = 2;   // centi-m2
inline constexpr int kPctScale = 4;    // percent x 10^4

// Parses "-12.5" style text with at most `max_decimals` digits after the point into
// value x 10^scale (scale == max_decimals). Error kind: InvalidArgument for syntax,
// OutOfRange for too many decimals or magnitude.
absl::StatusOr<int64_t> ParseDecimal(std::string_view text, int scale, bool allow_negative);

// Formats value x 10^-scale with exactly `scale` decimals: 123450, 2 -> "1234.50".
std::string FormatDecimal(int64_t scaled, int scale);

}  // namespace tori

#endif  // TORI_EVENTS_BASE_DECIMAL_H_
