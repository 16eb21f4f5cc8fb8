#include "events/codec/internal/reader.h"

#include <algorithm>
#include <optional>

#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "events/base/check.h"
#include "events/base/decimal.h"
#include "events/base/identifiers.h"
#include "fmt/format.h"

namespace tori::codec_internal {
namespace {

bool AllDigits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

int ToInt(std::string_view digits) {
  int v = 0;
  for (char c : digits) v = v * 10 + (c - '0');
  return v;
}

// Instants outside this window are surely typos (and would overflow int64 ns).
const absl::Time kInstantMin = absl::FromCivil(absl::CivilSecond(2000, 1, 1), absl::UTCTimeZone());
const absl::Time kInstantMax = absl::FromCivil(absl::CivilSecond(2200, 1, 1), absl::UTCTimeZone());

// Seconds since the epoch of an instant in the common form "2026-02-14T08:42:11Z",
// without absl's general parser (the costliest step of parsing a contact line).
// Anything else, or a field out of range, is left to absl, which words the errors.
std::optional<int64_t> UnixSecondsOfCommonForm(std::string_view s) {
  if (s.size() != 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' ||
      s[16] != ':' || s[19] != 'Z') {
    return std::nullopt;
  }
  for (size_t i : {0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18}) {
    if (s[i] < '0' || s[i] > '9') return std::nullopt;
  }
  const int year = ToInt(s.substr(0, 4)), month = ToInt(s.substr(5, 2)),
            day = ToInt(s.substr(8, 2)), hour = ToInt(s.substr(11, 2)),
            minute = ToInt(s.substr(14, 2)), second = ToInt(s.substr(17, 2));
  if (month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59) {
    return std::nullopt;
  }
  const absl::CivilDay date(year, month, day);
  if (date.month() != month || date.day() != day) return std::nullopt;  // e.g. Feb 30
  const int64_t days = date - absl::CivilDay(1970, 1, 1);
  return days * 86400 + hour * 3600 + minute * 60 + second;
}

}  // namespace

bool Reader::Fail(RejectReason reason, std::string field, std::string message) {
  if (!failure_) failure_ = Rejection{reason, std::move(field), std::move(message)};
  return false;
}

std::string Reader::Path(std::string_view parent, std::string_view name) {
  if (parent.empty()) return std::string(name);
  return absl::StrCat(absl::string_view(parent.data(), parent.size()), ".",
                      absl::string_view(name.data(), name.size()));
}

std::string Reader::Index(std::string_view parent, size_t i) {
  return fmt::format("{}[{}]", parent, i);
}

bool Reader::CheckFields(dom::object obj, std::string_view path,
                         std::initializer_list<std::string_view> allowed) {
  TORI_CHECK(allowed.size() <= 64);
  const std::string_view* names = allowed.begin();
  uint64_t seen = 0;  // bit i: allowed[i] was seen
  size_t next = 0;    // lines list fields in the order of `allowed`: try that one first
  for (dom::key_value_pair field : obj) {
    const std::string_view key = field.key;
    size_t i = next;
    while (i < allowed.size() && names[i] != key) ++i;
    if (i == allowed.size()) {
      i = 0;
      while (i < next && names[i] != key) ++i;
      if (i == next) i = allowed.size();
    }
    if (i == allowed.size()) {
      return Fail(RejectReason::kSchema, Path(path, key),
                  fmt::format("unknown field '{}'; allowed here: {}", key,
                              fmt::join(allowed.begin(), allowed.end(), ", ")));
    }
    if (seen & (uint64_t{1} << i)) {
      return Fail(RejectReason::kSchema, Path(path, key),
                  fmt::format("field '{}' appears twice", key));
    }
    seen |= uint64_t{1} << i;
    next = i + 1;
  }
  // Field reads this object's fields from a cursor now: each appears once.
  checked_object_ = obj.begin();
  cursor_ = obj.begin();
  return true;
}

bool Reader::FindField(dom::object obj, std::string_view path, std::string_view name,
                       bool required, dom::element* out) {
  // A bool and an out-parameter, not an optional: copying the optional element out
  // stalls on store forwarding.
  bool found = false;
  if (checked_object_ && *checked_object_ == obj.begin()) {
    // Fields are unique here (CheckFields), and usually read in the line's order:
    // search on from the last one found, then from the start.
    auto search = [&](dom::object::iterator from, dom::object::iterator to) {
      for (dom::object::iterator it = from; it != to; ++it) {
        if (it.key_equals(name)) {
          *out = it.value();
          cursor_ = ++it;
          return true;
        }
      }
      return false;
    };
    const dom::object::iterator resume = cursor_;
    found = search(resume, obj.end()) || search(obj.begin(), resume);
  } else {
    found = obj.at_key(name).get(*out) == simdjson::SUCCESS;
  }
  if (!found || out->is_null()) {
    if (required) Fail(RejectReason::kSchema, Path(path, name), "missing required field");
    return false;
  }
  return true;
}

std::optional<dom::element> Reader::Field(dom::object obj, std::string_view path,
                                          std::string_view name, bool required) {
  dom::element el;
  if (!FindField(obj, path, name, required, &el)) return std::nullopt;
  return el;
}

template <typename MakePath>
bool Reader::CheckTextAt(std::string_view value, const MakePath& path, Text kind) {
  if (auto at = FindPersonalIdentityCode(value)) {
    return Fail(RejectReason::kPersonalData, path(),
                fmt::format("contains a Finnish personal identity code at character {}; "
                            "personal data must never enter the event log, remove it",
                            *at));
  }
  switch (kind) {
    case Text::kId:
    case Text::kNamingId:
      if (value.empty() || value.size() > kIdBytesMax) {
        return Fail(RejectReason::kRange, path(),
                    fmt::format("an id must be 1..{} characters, got {}", kIdBytesMax,
                                value.size()));
      }
      for (char c : value) {
        if (c < 0x20 || c > 0x7E) {
          return Fail(RejectReason::kRange, path(), "an id must be printable ASCII");
        }
      }
      if (kind == Text::kNamingId &&
          (value.front() == '.' || value.find_first_of("/\\") != std::string_view::npos)) {
        return Fail(RejectReason::kRange, path(),
                    "an agency, service point or program id must not contain '/' or '\\' nor "
                    "start with '.': it becomes part of invoice ids, file names and URLs; choose "
                    "another id");
      }
      return true;
    case Text::kName:
      if (value.empty()) return Fail(RejectReason::kRange, path(), "must not be empty");
      [[fallthrough]];
    case Text::kFree:
      if (value.size() > kTextBytesMax) {
        return Fail(RejectReason::kRange, path(),
                    fmt::format("text longer than {} bytes", kTextBytesMax));
      }
      return true;
  }
  return true;
}

bool Reader::CheckText(std::string_view value, const std::string& path, Text kind) {
  return CheckTextAt(value, [&path] { return path; }, kind);
}

bool Reader::StringValue(dom::element el, const std::string& path, Text kind, std::string* out) {
  std::string_view value;
  if (el.get_string().get(value) != simdjson::SUCCESS) {
    return Fail(RejectReason::kSchema, path, "must be a string");
  }
  if (!CheckText(value, path, kind)) return false;
  out->assign(value);
  return true;
}

bool Reader::StringView(dom::object obj, std::string_view path, std::string_view name, Text kind,
                        std::string_view* out) {
  dom::element el;
  if (!FindField(obj, path, name, /*required=*/true, &el)) return false;
  // The path is made only for a rejection: most lines pass every check.
  auto make_path = [&] { return Path(path, name); };
  if (el.get_string().get(*out) != simdjson::SUCCESS) {
    return Fail(RejectReason::kSchema, make_path(), "must be a string");
  }
  return CheckTextAt(*out, make_path, kind);
}

bool Reader::String(dom::object obj, std::string_view path, std::string_view name, Text kind,
                    std::string* out) {
  std::string_view value;
  if (!StringView(obj, path, name, kind, &value)) return false;
  out->assign(value);
  return true;
}

bool Reader::OptionalString(dom::object obj, std::string_view path, std::string_view name,
                            Text kind, std::string* out, bool* present) {
  auto el = Field(obj, path, name, /*required=*/false);
  *present = el.has_value();
  return !el || StringValue(*el, Path(path, name), kind, out);
}

bool Reader::DecimalValue(dom::element el, const std::string& path, int scale,
                          bool allow_negative, int64_t* out) {
  std::string_view text;
  if (el.get_string().get(text) != simdjson::SUCCESS) {
    return Fail(RejectReason::kSchema, path,
                fmt::format("must be a decimal string with at most {} decimals, like \"{}\"",
                            scale, scale == 2 ? "120.50" : "33.3333"));
  }
  auto parsed = ParseDecimal(text, scale, allow_negative);
  if (!parsed.ok()) {
    const auto reason = parsed.status().code() == absl::StatusCode::kOutOfRange
                            ? RejectReason::kRange
                            : RejectReason::kSchema;
    return Fail(reason, path, std::string(parsed.status().message()));
  }
  *out = *parsed;
  return true;
}

bool Reader::Decimal(dom::object obj, std::string_view path, std::string_view name, int scale,
                     bool allow_negative, int64_t* out) {
  auto el = Field(obj, path, name, /*required=*/true);
  return el && DecimalValue(*el, Path(path, name), scale, allow_negative, out);
}

bool Reader::Integer(dom::object obj, std::string_view path, std::string_view name, int64_t min,
                     int64_t max, int64_t* out) {
  dom::element el;
  if (!FindField(obj, path, name, /*required=*/true, &el)) return false;
  int64_t value;
  if (el.get_int64().get(value) != simdjson::SUCCESS) {
    return Fail(RejectReason::kSchema, Path(path, name), "must be an integer");
  }
  if (value < min || value > max) {
    return Fail(RejectReason::kRange, Path(path, name),
                fmt::format("must be in {}..{}, got {}", min, max, value));
  }
  *out = value;
  return true;
}

bool Reader::Object(dom::object obj, std::string_view path, std::string_view name, bool required,
                    std::optional<dom::object>* out) {
  auto el = Field(obj, path, name, required);
  if (!el) return !required;
  dom::object value;
  if (el->get_object().get(value) != simdjson::SUCCESS) {
    return Fail(RejectReason::kSchema, Path(path, name), "must be an object");
  }
  *out = value;
  return true;
}

bool Reader::Array(dom::object obj, std::string_view path, std::string_view name, bool required,
                   std::optional<dom::array>* out) {
  auto el = Field(obj, path, name, required);
  if (!el) return !required;
  dom::array value;
  if (el->get_array().get(value) != simdjson::SUCCESS) {
    return Fail(RejectReason::kSchema, Path(path, name), "must be an array");
  }
  *out = value;
  return true;
}

bool Reader::Date(dom::object obj, std::string_view path, std::string_view name, bool required,
                  std::string* out, bool* present) {
  auto el = Field(obj, path, name, required);
  *present = el.has_value();
  if (!el) return !required;
  const std::string field = Path(path, name);
  if (!StringValue(*el, field, Text::kFree, out)) return false;
  const std::string_view s = *out;
  if (s.size() != 10 || s[4] != '-' || s[7] != '-' || !AllDigits(s.substr(0, 4)) ||
      !AllDigits(s.substr(5, 2)) || !AllDigits(s.substr(8, 2))) {
    return Fail(RejectReason::kSchema, field, "must be a date like 2026-01-31");
  }
  const int year = ToInt(s.substr(0, 4)), month = ToInt(s.substr(5, 2)), day = ToInt(s.substr(8, 2));
  const absl::CivilDay date(year, month, day);
  if (year < 2000 || date.month() != month || date.day() != day) {
    return Fail(RejectReason::kRange, field, fmt::format("'{}' is not a calendar date", s));
  }
  return true;
}

bool Reader::Month(dom::object obj, std::string_view path, std::string_view name,
                   std::string* out) {
  if (!String(obj, path, name, Text::kFree, out)) return false;
  const std::string_view s = *out;
  if (s.size() != 7 || s[4] != '-' || !AllDigits(s.substr(0, 4)) || !AllDigits(s.substr(5, 2))) {
    return Fail(RejectReason::kSchema, Path(path, name), "must be a month like 2026-01");
  }
  const int year = ToInt(s.substr(0, 4)), month = ToInt(s.substr(5, 2));
  if (year < 2000 || month < 1 || month > 12) {
    return Fail(RejectReason::kRange, Path(path, name), fmt::format("'{}' is not a month", s));
  }
  return true;
}

bool Reader::Instant(dom::object obj, std::string_view path, std::string_view name,
                     int64_t* out) {
  std::string_view text;
  if (!StringView(obj, path, name, Text::kFree, &text)) return false;
  absl::Time t;
  if (std::optional<int64_t> seconds = UnixSecondsOfCommonForm(text)) {
    t = absl::FromUnixSeconds(*seconds);
  } else {
    std::string error;
    // absl tolerates surrounding spaces; RFC 3339 does not.
    const bool spaced = text.empty() || text.front() == ' ' || text.back() == ' ';
    if (spaced || !absl::ParseTime(absl::RFC3339_full, absl::string_view(text.data(), text.size()),
                                   &t, &error)) {
      return Fail(RejectReason::kSchema, Path(path, name),
                  fmt::format("'{}' is not an RFC 3339 instant with offset, like "
                              "2026-03-31T22:30:00Z",
                              text));
    }
  }
  if (t < kInstantMin || t >= kInstantMax) {
    return Fail(RejectReason::kRange, Path(path, name), "instant must lie in years 2000..2199");
  }
  *out = absl::ToUnixNanos(t);
  return true;
}

}  // namespace tori::codec_internal
