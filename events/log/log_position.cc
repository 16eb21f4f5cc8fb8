#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "events/log/event_log.h"
#include "fmt/format.h"

namespace tori {

bool LogPosition::Covers(const LogPosition& other) const {
  if (other.next_offsets.empty()) return true;
  if (other.next_offsets.size() != next_offsets.size()) return false;
  for (size_t p = 0; p < next_offsets.size(); ++p) {
    if (next_offsets[p] < other.next_offsets[p]) return false;
  }
  return true;
}

std::string LogPosition::ToString() const {
  std::string out;
  for (size_t p = 0; p < next_offsets.size(); ++p) {
    if (p > 0) out.push_back(',');
    out += fmt::format("p{}:{}", p, next_offsets[p]);
  }
  return out;
}

absl::StatusOr<LogPosition> LogPosition::Parse(std::string_view text) {
  LogPosition position;
  // "12" alone is the embedded log's one partition.
  int64_t single;
  if (absl::SimpleAtoi(absl::string_view(text.data(), text.size()), &single) && single >= 0) {
    position.next_offsets.push_back(single);
    return position;
  }
  for (absl::string_view part : absl::StrSplit(absl::string_view(text.data(), text.size()), ',')) {
    int64_t offset;
    const size_t colon = part.find(':');
    if (colon == absl::string_view::npos || part.size() < 2 || part[0] != 'p' ||
        part.substr(1, colon - 1) != std::to_string(position.next_offsets.size()) ||
        !absl::SimpleAtoi(part.substr(colon + 1), &offset) || offset < 0) {
      return absl::InvalidArgumentError(fmt::format(
          "'{}' is not a log position; write p0:OFFSET,p1:OFFSET,... (or one number for the "
          "embedded log)",
          text));
    }
    position.next_offsets.push_back(offset);
  }
  return position;
}

}  // namespace tori
