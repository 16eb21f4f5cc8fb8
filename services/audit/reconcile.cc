#include <fstream>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_split.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "events/base/calendar.h"
#include "events/base/check.h"
#include "events/base/json_text.h"
#include "events/validate/index_keys.h"
#include "fmt/format.h"
#include "services/audit/audit.h"
#include "services/projector/projector.h"

namespace tori {
namespace {

constexpr size_t kCsvLineBytesMax = 64 * 1024;

// When the agency's file says a contact happened, to the precision the file gives,
// as a Helsinki wall-clock time (exports from Excel drop offsets and seconds).
struct AgencyTime {
  enum class Precision { kDay, kMinute, kSecond };
  absl::CivilSecond helsinki;
  Precision precision;
  std::string text;  // as the file has it
};

struct AgencyRow {
  uint64_t line = 0;
  std::string service_code;               // empty when the file has no such column
  std::optional<AgencyTime> occurred_at;  // absent when no such column or empty
};

// Splits one CSV line (RFC 4180 quoting) into fields at `separator`.
std::vector<std::string> SplitCsv(std::string_view line, char separator) {
  std::vector<std::string> fields(1);
  bool quoted = false;
  for (size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
        fields.back() += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        fields.back() += c;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == separator) {
      fields.emplace_back();
    } else if (c != '\r') {
      fields.back() += c;
    }
  }
  return fields;
}

// Excel writes `;` where the decimal separator is a comma (Finnish, Swedish), `,`
// elsewhere: the one that occurs more often outside quotes in the header, `,` on a tie.
char DetectSeparator(std::string_view header) {
  size_t commas = 0, semicolons = 0;
  bool quoted = false;
  for (char c : header) {
    if (c == '"') quoted = !quoted;
    if (!quoted) {
      commas += c == ',';
      semicolons += c == ';';
    }
  }
  return semicolons > commas ? ';' : ',';
}

// Debian's Abseil has its own string_view.
std::string Strip(std::string_view text) {
  return std::string(absl::StripAsciiWhitespace(absl::string_view(text.data(), text.size())));
}

std::string HeaderName(std::string_view field) { return absl::AsciiStrToLower(Strip(field)); }

// RFC 3339 with an offset (the instant, to the second), or a Helsinki wall-clock
// time without one: ISO (2026-01-05 12:00[:00], T or space) or Finnish (5.1.2026
// 12:00[:00] or 12.00[.00]), or only a date.
std::optional<AgencyTime> ParseAgencyTime(std::string_view text, absl::TimeZone helsinki) {
  using Precision = AgencyTime::Precision;
  const std::string value = Strip(text);
  absl::Time instant;
  std::string error;
  if (absl::ParseTime(absl::RFC3339_full, value, &instant, &error)) {
    return AgencyTime{absl::ToCivilSecond(instant, helsinki), Precision::kSecond, value};
  }
  static constexpr std::pair<const char*, Precision> kLocalFormats[] = {
      {"%Y-%m-%dT%H:%M:%E*S", Precision::kSecond}, {"%Y-%m-%d %H:%M:%E*S", Precision::kSecond},
      {"%Y-%m-%dT%H:%M", Precision::kMinute},      {"%Y-%m-%d %H:%M", Precision::kMinute},
      {"%Y-%m-%d", Precision::kDay},               {"%d.%m.%Y %H:%M:%E*S", Precision::kSecond},
      {"%d.%m.%Y %H.%M.%E*S", Precision::kSecond}, {"%d.%m.%Y %H:%M", Precision::kMinute},
      {"%d.%m.%Y %H.%M", Precision::kMinute},      {"%d.%m.%Y", Precision::kDay},
  };
  for (const auto& [format, precision] : kLocalFormats) {
    // Parsed in UTC only to read the wall-clock fields back: no offset is applied.
    if (absl::ParseTime(format, value, absl::UTCTimeZone(), &instant, &error)) {
      return AgencyTime{absl::ToCivilSecond(instant, absl::UTCTimeZone()), precision, value};
    }
  }
  return std::nullopt;
}

// Whether tori's occurred_at is the agency's time, to the agency's precision.
bool SameTime(const AgencyTime& agency, absl::CivilSecond tori) {
  switch (agency.precision) {
    case AgencyTime::Precision::kDay:
      return absl::CivilDay(agency.helsinki) == absl::CivilDay(tori);
    case AgencyTime::Precision::kMinute:
      return absl::CivilMinute(agency.helsinki) == absl::CivilMinute(tori);
    case AgencyTime::Precision::kSecond:
      return agency.helsinki == tori;
  }
  return false;
}

absl::StatusOr<absl::flat_hash_map<std::string, AgencyRow>> ReadAgencyFile(const std::string& path,
                                                                          absl::TimeZone helsinki) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(fmt::format("cannot open {}", path));
  std::string line;
  if (!std::getline(in, line)) {
    return absl::InvalidArgumentError(fmt::format("{}: empty; line 1 must be a header with contact_id", path));
  }
  if (line.starts_with("\xEF\xBB\xBF")) line.erase(0, 3);  // Excel's "CSV UTF-8"
  const char separator = DetectSeparator(line);
  const auto header = SplitCsv(line, separator);
  int contact_column = -1, code_column = -1, time_column = -1;
  for (size_t i = 0; i < header.size(); ++i) {
    const std::string name = HeaderName(header[i]);
    if (name == "contact_id") contact_column = static_cast<int>(i);
    if (name == "service_code") code_column = static_cast<int>(i);
    if (name == "occurred_at") time_column = static_cast<int>(i);
  }
  if (contact_column < 0) {
    return absl::InvalidArgumentError(fmt::format(
        "{}:1: the header has no contact_id column (read with the separator '{}'; columns: "
        "contact_id, and optionally service_code, occurred_at; separator , or ;)",
        path, separator));
  }
  auto field = [](const std::vector<std::string>& fields, int column) {
    return column >= 0 && static_cast<int>(fields.size()) > column
               ? Strip(fields[column])
               : std::string();
  };
  absl::flat_hash_map<std::string, AgencyRow> rows;
  for (uint64_t number = 2; std::getline(in, line); ++number) {
    if (line.size() > kCsvLineBytesMax) {
      return absl::InvalidArgumentError(fmt::format("{}:{}: line longer than {} bytes", path, number, kCsvLineBytesMax));
    }
    if (line.empty() || line == "\r") continue;
    const auto fields = SplitCsv(line, separator);
    const std::string contact_id = field(fields, contact_column);
    if (contact_id.empty()) {
      return absl::InvalidArgumentError(fmt::format("{}:{}: field contact_id is empty", path, number));
    }
    AgencyRow row{number, field(fields, code_column), std::nullopt};
    if (const std::string time = field(fields, time_column); !time.empty()) {
      row.occurred_at = ParseAgencyTime(time, helsinki);
      if (!row.occurred_at) {
        return absl::InvalidArgumentError(fmt::format(
            "{}:{}: field occurred_at '{}' is not a time: write RFC 3339 "
            "(2026-01-05T12:00:00+02:00) or Helsinki time 2026-01-05 12:00[:00], "
            "5.1.2026 12:00[:00], or a date 2026-01-05 / 5.1.2026",
            path, number, time));
      }
    }
    auto [it, added] = rows.emplace(contact_id, std::move(row));
    if (!added) {
      return absl::InvalidArgumentError(fmt::format("{}:{}: contact_id '{}' appears again (first on line {})",
                                                    path, number, contact_id, it->second.line));
    }
  }
  return rows;
}

}  // namespace

absl::StatusOr<ReconcileReport> Reconcile(StateStore& state, const std::string& agency_id,
                                          engine::Quarter quarter, const std::string& csv_path) {
  TORI_ASSIGN_OR_RETURN(std::optional<std::string> agency,
                        state.GetProjection(projection::Key(projection::kAgency, {agency_id})));
  if (!agency) {
    return absl::NotFoundError(fmt::format(
        "agency '{}' is not an agency tori knows (no agency_registered event with that "
        "agency_id); `tori log --type agency_registered` lists them",
        agency_id));
  }
  TORI_ASSIGN_OR_RETURN(absl::TimeZone helsinki, HelsinkiTimeZone());
  TORI_ASSIGN_OR_RETURN(auto agency_rows, ReadAgencyFile(csv_path, helsinki));
  const std::string q = engine::QuarterName(quarter);
  ReconcileReport report;
  auto differ = [&](std::string contact_id, std::string status, std::string detail) {
    ++report.differences_by_status[status];
    report.differences.push_back({std::move(contact_id), std::move(status), std::move(detail)});
  };
  // Every contact tori knows: its state after corrections (index_keys.h).
  TORI_RETURN_IF_ERROR(state.ForEachInIndex(index_keys::KindPrefix(index_keys::kContact), [&](std::string_view key, std::string_view value) {
    if (const char* rule = IndexEntryProblem(key, value)) return state.Damaged("index", key, rule);
    events::ContactState contact;
    contact.ParseFromArray(value.data(), static_cast<int>(value.size()));  // checked just above
    const std::string contact_id(index_keys::IdOf(key));
    const std::string contact_quarter =
        QuarterName(QuarterOfInstant(absl::FromUnixNanos(contact.occurred_at_unix_ns()), helsinki));
    auto row = agency_rows.find(contact_id);
    if (row == agency_rows.end()) {
      if (contact.agency_id() == agency_id && contact_quarter == q && !contact.voided()) {
        differ(contact_id, "only_in_tori",
               fmt::format("attributed to {} at {}, not in the agency's file", agency_id,
                           contact.service_point_id()));
      }
      return absl::OkStatus();
    }
    if (contact.voided()) {
      differ(contact_id, "voided", "tori has this contact voided (not billed)");
    } else if (contact.agency_id() != agency_id) {
      differ(contact_id, "other_agency", fmt::format("tori attributes it to {}", contact.agency_id()));
    } else if (contact_quarter != q) {
      differ(contact_id, "other_quarter", fmt::format("tori counts it in {}", contact_quarter));
    } else if (!row->second.service_code.empty() && row->second.service_code != contact.service_code()) {
      differ(contact_id, "service_code_differs",
             fmt::format("agency file {}, tori {}", row->second.service_code, contact.service_code()));
    } else if (const auto& time = row->second.occurred_at;
               time && !SameTime(*time, absl::ToCivilSecond(
                                            absl::FromUnixNanos(contact.occurred_at_unix_ns()), helsinki))) {
      differ(contact_id, "occurred_at_differs",
             fmt::format("agency file {}, tori {}", time->text,
                         absl::FormatTime("%Y-%m-%dT%H:%M:%S%Ez",
                                          absl::FromUnixNanos(contact.occurred_at_unix_ns()), helsinki)));
    } else {
      ++report.matched;
    }
    agency_rows.erase(row);
    return absl::OkStatus();
  }));
  for (const auto& [contact_id, row] : agency_rows) {
    differ(contact_id, "only_in_agency_file",
           fmt::format("line {} of the agency's file; tori has no such contact", row.line));
  }
  std::sort(report.differences.begin(), report.differences.end(), [](const auto& a, const auto& b) {
    return std::tie(a.status, a.contact_id) < std::tie(b.status, b.contact_id);
  });
  return report;
}

std::string ReconcileCsv(const ReconcileReport& report) {
  std::string out = "contact_id,status,detail\n";
  auto field = [](const std::string& text) {
    if (text.find_first_of(",\"\n") == std::string::npos) return text;
    std::string quoted = "\"";
    for (char c : text) quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
    return quoted + "\"";
  };
  for (const auto& d : report.differences) {
    out += fmt::format("{},{},{}\n", field(d.contact_id), d.status, field(d.detail));
  }
  return out;
}

std::string ReconcileJson(const ReconcileReport& report, const std::string& agency_id, engine::Quarter quarter,
                          const std::optional<ReconcileFiles>& files) {
  std::string by_status;
  JsonObjectWriter statuses(by_status);
  for (const auto& [status, count] : report.differences_by_status) statuses.Int(status, static_cast<int64_t>(count));
  statuses.Close();
  std::string differences = "[";
  for (const auto& d : report.differences) {
    if (differences.size() > 1) differences += ",";
    JsonObjectWriter(differences).String("contact_id", d.contact_id).String("status", d.status).String("detail", d.detail).Close();
  }
  differences += "]";
  std::string out;
  JsonObjectWriter w(out);
  w.String("agency_id", agency_id).String("quarter", engine::QuarterName(quarter));
  if (files) w.String("file", files->file);
  w.Raw("ok", report.ok() ? "true" : "false")
      .Int("matched", static_cast<int64_t>(report.matched))
      .Raw("differences_by_status", by_status)
      .Raw("differences", differences);
  if (files) w.String("differences_csv", files->differences_csv);
  w.Close();
  return out;
}

}  // namespace tori
