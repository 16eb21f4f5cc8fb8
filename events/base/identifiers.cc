#include "events/base/identifiers.h"

#include <cstdint>

#include "absl/time/civil_time.h"

namespace tori {
namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }
int Digit(char c) { return c - '0'; }

// Century of each sign in use since 2023; 0 for a character that is no sign.
int CenturyOfSign(char c) {
  switch (c) {
    case '+': return 1800;
    case '-': case 'U': case 'V': case 'W': case 'X': case 'Y': return 1900;
    case 'A': case 'B': case 'C': case 'D': case 'E': case 'F': return 2000;
    default: return 0;
  }
}

constexpr std::string_view kCheckCharacters = "0123456789ABCDEFHJKLMNPRSTUVWXY";

// `s` has at least 11 characters from the start; checks one candidate code there.
bool IsPersonalIdentityCodeAt(std::string_view s) {
  for (int i : {0, 1, 2, 3, 4, 5, 7, 8, 9}) {
    if (!IsDigit(s[i])) return false;
  }
  const int century = CenturyOfSign(s[6]);
  if (century == 0) return false;
  const int day = Digit(s[0]) * 10 + Digit(s[1]);
  const int month = Digit(s[2]) * 10 + Digit(s[3]);
  const int year = century + Digit(s[4]) * 10 + Digit(s[5]);
  if (month < 1 || month > 12 || day < 1) return false;
  const absl::CivilDay date(year, month, day);  // normalizes an impossible date
  if (date.day() != day || date.month() != month) return false;
  uint32_t nine_digits = 0;
  for (int i : {0, 1, 2, 3, 4, 5, 7, 8, 9}) nine_digits = nine_digits * 10 + Digit(s[i]);
  return kCheckCharacters[nine_digits % 31] == s[10];
}

}  // namespace

bool IsValidBusinessId(std::string_view text) {
  if (text.size() != 9 || text[7] != '-') return false;
  static constexpr int kWeights[7] = {7, 9, 10, 5, 8, 4, 2};
  int sum = 0;
  for (int i = 0; i < 7; ++i) {
    if (!IsDigit(text[i])) return false;
    sum += Digit(text[i]) * kWeights[i];
  }
  if (!IsDigit(text[8])) return false;
  const int r = sum % 11;
  if (r == 1) return false;
  const int check = r == 0 ? 0 : 11 - r;
  return Digit(text[8]) == check;
}

bool IsValidIban(std::string_view text) {
  if (text.size() < 15 || text.size() > 34) return false;
  auto upper = [](char c) { return c >= 'A' && c <= 'Z'; };
  if (!upper(text[0]) || !upper(text[1]) || !IsDigit(text[2]) || !IsDigit(text[3])) return false;
  // Move the first four characters to the end, letters as 10..35, then mod 97 == 1.
  int remainder = 0;
  for (size_t k = 0; k < text.size(); ++k) {
    const char c = text[(k + 4) % text.size()];
    if (IsDigit(c)) {
      remainder = (remainder * 10 + Digit(c)) % 97;
    } else if (upper(c)) {
      remainder = (remainder * 100 + (c - 'A' + 10)) % 97;
    } else {
      return false;
    }
  }
  return remainder == 1;
}

bool IsValidBic(std::string_view text) {
  if (text.size() != 8 && text.size() != 11) return false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    const bool letter = c >= 'A' && c <= 'Z';
    if (i < 6 ? !letter : !(letter || IsDigit(c))) return false;
  }
  return true;
}

std::optional<size_t> FindPersonalIdentityCode(std::string_view text) {
  constexpr size_t kLength = 11;
  if (text.size() < kLength) return std::nullopt;
  // Cheap filter first: position 6 of a candidate is a century sign.
  for (size_t i = 0; i + kLength <= text.size(); ++i) {
    if (CenturyOfSign(text[i + 6]) == 0 || !IsDigit(text[i])) continue;
    if (IsPersonalIdentityCodeAt(text.substr(i, kLength))) return i;
  }
  return std::nullopt;
}

}  // namespace tori
