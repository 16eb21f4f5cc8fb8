#include "services/documents/internal/text.h"

#include <cctype>

#include "events/base/decimal.h"
#include "events/base/json_text.h"
#include "fmt/format.h"

namespace tori::documents::internal {
namespace {

constexpr std::string_view kNoBreakSpace = "\u00a0";

bool IsContinuationByte(char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; }

// Groups the digits of `whole` (no sign) by three with `separator`.
std::string GroupDigits(std::string_view whole, std::string_view separator) {
  std::string out;
  const size_t n = whole.size();
  for (size_t i = 0; i < n; ++i) {
    if (i > 0 && (n - i) % 3 == 0) out += separator;
    out += whole[i];
  }
  return out;
}

}  // namespace

std::string DurationText(int64_t seconds) {
  const std::string sign = seconds < 0 ? "-" : "";
  const uint64_t s = seconds < 0 ? 0 - static_cast<uint64_t>(seconds) : static_cast<uint64_t>(seconds);
  return fmt::format("{}{}:{:02}:{:02}", sign, s / 3600, s / 60 % 60, s % 60);
}

std::string XmlEscape(std::string_view text) {
  const std::string clean = SanitizeUtf8(text);
  std::string out;
  out.reserve(clean.size());
  for (char c : clean) {
    const auto u = static_cast<unsigned char>(c);
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        if (u < 0x20 && c != '\t' && c != '\n' && c != '\r') break;  // not allowed in XML 1.0
        out += c;
    }
  }
  return out;
}

size_t CharCount(std::string_view text) {
  size_t count = 0;
  for (char c : text) count += IsContinuationByte(c) ? 0 : 1;
  return count;
}

std::string TruncateChars(std::string_view text, size_t max_chars) {
  const std::string clean = SanitizeUtf8(text);
  size_t chars = 0;
  for (size_t i = 0; i < clean.size(); ++i) {
    if (IsContinuationByte(clean[i])) continue;
    if (chars == max_chars) return clean.substr(0, i);
    ++chars;
  }
  return clean;
}

std::vector<std::string> SplitChars(std::string_view text, size_t max_chars) {
  std::string rest = SanitizeUtf8(text);
  std::vector<std::string> pieces;
  do {
    std::string piece = TruncateChars(rest, max_chars);
    rest.erase(0, piece.size());
    pieces.push_back(std::move(piece));
  } while (!rest.empty());
  return pieces;
}

std::string SafeToken(std::string_view text) {
  std::string out;
  for (char c : text) {
    const bool ok =
        std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '.' || c == '_' || c == '-';
    out += ok && static_cast<unsigned char>(c) < 0x80 ? c : '_';
  }
  return out;
}

std::string DecimalText(int64_t scaled, int scale, Language language) {
  std::string plain = FormatDecimal(scaled, scale);  // "-1234.50"
  const bool negative = !plain.empty() && plain[0] == '-';
  if (negative) plain.erase(0, 1);
  const size_t point = plain.find('.');
  const std::string_view whole = std::string_view(plain).substr(0, point);
  const bool english = language == Language::kEn;
  std::string out = negative ? "-" : "";
  out += GroupDigits(whole, english ? std::string_view(",") : kNoBreakSpace);
  if (point != std::string::npos) {
    out += english ? '.' : ',';
    out += plain.substr(point + 1);
  }
  return out;
}

std::string MoneyText(int64_t cents, Language language) {
  if (language == Language::kEn) {
    const std::string magnitude = DecimalText(cents < 0 ? -cents : cents, kMoneyScale, language);
    return fmt::format("{}€{}", cents < 0 ? "-" : "", magnitude);
  }
  return DecimalText(cents, kMoneyScale, language) + std::string(kNoBreakSpace) + "€";
}

std::string FinvoiceAmount(int64_t cents) {
  std::string text = FormatDecimal(cents, kMoneyScale);
  text[text.find('.')] = ',';
  return text;
}

std::string PercentText(int64_t pct_e4, Language language) {
  std::string text = FormatDecimal(pct_e4, kPctScale);  // "25.5000"
  while (text.back() == '0') text.pop_back();
  if (text.back() == '.') text.pop_back();
  if (language != Language::kEn) {
    const size_t point = text.find('.');
    if (point != std::string::npos) text[point] = ',';
  }
  return text;
}

namespace {
std::string BusinessIdDigits(std::string_view business_id) {
  std::string digits;
  for (char c : business_id) {
    if (c != '-') digits += c;
  }
  return digits;
}
}  // namespace

std::string OvtOfBusinessId(std::string_view business_id) {
  return "0037" + BusinessIdDigits(business_id);
}

std::string VatNumberOfBusinessId(std::string_view business_id) {
  return "FI" + BusinessIdDigits(business_id);
}

std::string DateText(absl::CivilDay day, Language language) {
  if (language == Language::kEn) {
    return fmt::format("{:04}-{:02}-{:02}", day.year(), day.month(), day.day());
  }
  return fmt::format("{}.{}.{}", day.day(), day.month(), day.year());
}

std::string CompactDate(absl::CivilDay day) {
  return fmt::format("{:04}{:02}{:02}", day.year(), day.month(), day.day());
}

std::string CompactIban(std::string_view iban) {
  std::string out;
  for (char c : iban) {
    if (c != ' ') out += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  return out;
}

bool IsValidIban(std::string_view iban) {
  const std::string compact = CompactIban(iban);
  if (compact.size() < 15 || compact.size() > 34) return false;
  if (!std::isalpha(static_cast<unsigned char>(compact[0])) ||
      !std::isalpha(static_cast<unsigned char>(compact[1])) ||
      !std::isdigit(static_cast<unsigned char>(compact[2])) ||
      !std::isdigit(static_cast<unsigned char>(compact[3]))) {
    return false;
  }
  // Move the first four characters to the end, letters as 10..35, then mod 97.
  const std::string rotated = compact.substr(4) + compact.substr(0, 4);
  int remainder = 0;
  for (char c : rotated) {
    if (std::isdigit(static_cast<unsigned char>(c))) {
      remainder = (remainder * 10 + (c - '0')) % 97;
    } else if (c >= 'A' && c <= 'Z') {
      remainder = (remainder * 100 + (c - 'A' + 10)) % 97;
    } else {
      return false;
    }
  }
  return remainder == 1;
}

}  // namespace tori::documents::internal
