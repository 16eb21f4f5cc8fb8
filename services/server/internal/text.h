#ifndef TORI_SERVICES_SERVER_INTERNAL_TEXT_H_
#define TORI_SERVICES_SERVER_INTERNAL_TEXT_H_

// Splitting and trimming of request text (paths, queries, forms, headers). Hand-written
// because Debian's Abseil has its own absl::string_view, which absl::StrSplit wants.

#include <string_view>
#include <vector>

namespace tori::server::internal {

// Every piece between separators, empty ones included ("a,,b" -> "a", "", "b").
inline std::vector<std::string_view> Split(std::string_view text, char separator) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  while (true) {
    const size_t end = text.find(separator, start);
    parts.push_back(text.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start));
    if (end == std::string_view::npos) return parts;
    start = end + 1;
  }
}

// Without leading and trailing spaces, tabs, CRs and LFs.
inline std::string_view Trim(std::string_view text) {
  constexpr std::string_view kBlanks = " \t\r\n";
  const size_t first = text.find_first_not_of(kBlanks);
  if (first == std::string_view::npos) return {};
  return text.substr(first, text.find_last_not_of(kBlanks) - first + 1);
}

}  // namespace tori::server::internal

#endif  // TORI_SERVICES_SERVER_INTERNAL_TEXT_H_
