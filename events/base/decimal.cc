#include "events/base/decimal.h"

#include "absl/strings/str_cat.h"
#include "fmt/format.h"

namespace tori {

absl::StatusOr<int64_t> ParseDecimal(std::string_view text, int scale, bool allow_negative) {
  if (text.empty()) return absl::InvalidArgumentError("empty decimal");
  size_t i = 0;
  bool negative = false;
  if (text[0] == '-') {
    if (!allow_negative) return absl::OutOfRangeError("must not be negative");
    negative = true;
    i = 1;
  }
  int64_t whole = 0;
  size_t whole_digits = 0;
  for (; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i, ++whole_digits) {
    if (whole_digits >= 18) return absl::OutOfRangeError("magnitude too large");
    whole = whole * 10 + (text[i] - '0');
  }
  if (whole_digits == 0) {
    return absl::InvalidArgumentError(
        fmt::format("'{}' is not a decimal number like 1234.50", text));
  }
  int64_t frac = 0;
  int frac_digits = 0;
  if (i < text.size() && text[i] == '.') {
    ++i;
    for (; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i) {
      if (frac_digits == scale) {
        return absl::OutOfRangeError(fmt::format("'{}' has more than {} decimals", text, scale));
      }
      frac = frac * 10 + (text[i] - '0');
      ++frac_digits;
    }
    if (frac_digits == 0) {
      return absl::InvalidArgumentError(fmt::format("'{}' has no digits after the point", text));
    }
  }
  if (i != text.size()) {
    return absl::InvalidArgumentError(
        fmt::format("'{}' is not a decimal number like 1234.50", text));
  }
  for (int d = frac_digits; d < scale; ++d) frac *= 10;
  int64_t unit = 1;
  for (int d = 0; d < scale; ++d) unit *= 10;
  if (whole >= kDecimalMagnitudeMax / unit) return absl::OutOfRangeError("magnitude too large");
  const int64_t scaled = whole * unit + frac;
  if (scaled >= kDecimalMagnitudeMax) return absl::OutOfRangeError("magnitude too large");
  return negative ? -scaled : scaled;
}

std::string FormatDecimal(int64_t scaled, int scale) {
  if (scale == 0) return absl::StrCat(scaled);
  // Work on the unsigned magnitude so INT64_MIN formats too.
  const bool negative = scaled < 0;
  uint64_t magnitude = negative ? ~static_cast<uint64_t>(scaled) + 1 : static_cast<uint64_t>(scaled);
  uint64_t unit = 1;
  for (int d = 0; d < scale; ++d) unit *= 10;
  return fmt::format("{}{}.{:0{}}", negative ? "-" : "", magnitude / unit, magnitude % unit,
                     scale);
}

}  // namespace tori
