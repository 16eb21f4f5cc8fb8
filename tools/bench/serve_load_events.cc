#include "tools/bench/serve_load_events.h"

#include <charconv>
#include <fstream>

#include "absl/status/status.h"
#include "fmt/format.h"
#include "simdjson.h"

namespace tori::bench {
namespace {

// A JSON string literal's contents: the demo's values are plain ids, but a file is
// hostile until checked.
std::string Escaped(std::string_view text) {
  std::string out;
  for (const char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      out += fmt::format("\\u{:04x}", static_cast<unsigned>(c));
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace

absl::StatusOr<ContactSource> ContactSource::FromEventsFile(const std::string& path, size_t templates_max) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(fmt::format("{}: cannot read it (give the demo's demo-events.jsonl)", path));
  std::vector<std::pair<size_t, std::string>> contacts;  // (line number, text)
  size_t line_number = 0;
  for (std::string line; std::getline(in, line);) {
    ++line_number;
    if (line.find("\"type\":\"contact_recorded\"") != std::string::npos) contacts.emplace_back(line_number, line);
  }
  if (contacts.empty()) {
    return absl::InvalidArgumentError(fmt::format("{}: no contact_recorded line to copy (give the demo's "
                                                  "demo-events.jsonl)", path));
  }
  const size_t step = templates_max == 0 ? 1 : std::max<size_t>(1, contacts.size() / templates_max);
  ContactSource source;
  simdjson::dom::parser parser;
  for (size_t i = 0; i < contacts.size() && (templates_max == 0 || source.all_.size() < templates_max); i += step) {
    const auto& [number, text] = contacts[i];
    simdjson::dom::element event;
    if (parser.parse(text).get(event) != simdjson::SUCCESS) {
      return absl::InvalidArgumentError(fmt::format("{}:{}: not a JSON object", path, number));
    }
    std::map<std::string, std::string, std::less<>> field;
    for (const char* name : {"occurred_at", "service_point_id", "agency_id", "service_code", "channel", "handled_by"}) {
      std::string_view value;
      if (event[name].get(value) != simdjson::SUCCESS) {
        return absl::InvalidArgumentError(
            fmt::format("{}:{}: contact_recorded without the string field {} (SPEC section 2)", path, number, name));
      }
      field[name] = Escaped(value);
    }
    int64_t duration_s = 0;
    if (event["duration_s"].get(duration_s) != simdjson::SUCCESS) {
      return absl::InvalidArgumentError(
          fmt::format("{}:{}: contact_recorded without the integer field duration_s (SPEC section 2)", path, number));
    }
    Template t;
    t.head = "{\"event_id\":\"";
    t.middle = fmt::format("\",\"type\":\"contact_recorded\",\"occurred_at\":\"{}\",\"contact_id\":\"",
                           field["occurred_at"]);
    t.tail = fmt::format(
        "\",\"service_point_id\":\"{}\",\"agency_id\":\"{}\",\"service_code\":\"{}\",\"channel\":\"{}\","
        "\"handled_by\":\"{}\",\"duration_s\":{}}}\n",
        field["service_point_id"], field["agency_id"], field["service_code"], field["channel"], field["handled_by"],
        duration_s);
    source.by_point_[field["service_point_id"]].push_back(t);
    source.all_.push_back(std::move(t));
  }
  return source;
}

std::vector<std::string> ContactSource::Points() const {
  std::vector<std::string> points;
  for (const auto& [point, templates] : by_point_) points.push_back(point);
  return points;
}

void ContactSource::AppendLines(std::string_view point, std::string_view id_prefix, uint64_t* next_seq, size_t count,
                                std::string* body) const {
  const auto found = by_point_.find(point);
  const std::vector<Template>& templates = point.empty() || found == by_point_.end() ? all_ : found->second;
  char digits[24];
  for (size_t i = 0; i < count; ++i) {
    const uint64_t seq = (*next_seq)++;
    const Template& t = templates[seq % templates.size()];
    const auto end = std::to_chars(digits, digits + sizeof digits, seq).ptr;
    const std::string_view id_tail(digits, static_cast<size_t>(end - digits));
    body->append(t.head).append(id_prefix).append(id_tail);
    body->append(t.middle).append(id_prefix).append(id_tail);
    body->append(t.tail);
  }
}

}  // namespace tori::bench
