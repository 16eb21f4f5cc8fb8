// "did you mean `tori bill`?" for a mistyped command (issue #15.14).
#include <algorithm>

#include "tools/tori/commands.h"

namespace tori {

namespace {
size_t EditDistance(const std::string& a, const std::string& b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}
}  // namespace

std::string NearestCommand(const std::string& typed, const std::vector<std::string>& commands) {
  std::string nearest;
  size_t best = std::string::npos;
  for (const auto& command : commands) {
    // A prefix ("recon") is as near as can be; otherwise a few edits, at most a third.
    const size_t distance = command.starts_with(typed) && typed.size() >= 2 ? 0 : EditDistance(typed, command);
    if (distance < best) {
      best = distance;
      nearest = command;
    }
  }
  return best <= std::max<size_t>(2, typed.size() / 3) ? nearest : "";
}

}  // namespace tori
