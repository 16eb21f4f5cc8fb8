#include <fstream>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_split.h"
#include "events/base/check.h"
#include "events/base/json_text.h"
#include "fmt/format.h"
#include "services/audit/audit.h"
#include "services/projector/projector.h"

namespace tori {
namespace {

constexpr size_t kCsvLineBytesMax = 64 * 1024;

struct AgencyRow {
  uint64_t line = 0;
  std::string service_code;  // empty when the file has no such column
};

// Splits one CSV line (RFC 4180 quoting) into fields.
std::vector<std::string> SplitCsv(std::string_view line) {
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
    } else if (c == ',') {
      fields.emplace_back();
    } else if (c != '\r') {
      fields.back() += c;
    }
  }
  return fields;
}

absl::StatusOr<absl::flat_hash_map<std::string, AgencyRow>> ReadAgencyFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(fmt::format("cannot open {}", path));
  std::string line;
  if (!std::getline(in, line)) {
    return absl::InvalidArgumentError(fmt::format("{}: empty; line 1 must be a header with contact_id", path));
  }
  const auto header = SplitCsv(line);
  int contact_column = -1, code_column = -1;
  for (size_t i = 0; i < header.size(); ++i) {
    if (header[i] == "contact_id") contact_column = static_cast<int>(i);
    if (header[i] == "service_code") code_column = static_cast<int>(i);
  }
  if (contact_column < 0) {
    return absl::InvalidArgumentError(fmt::format(
        "{}:1: the header has no contact_id column (columns: contact_id, and optionally "
        "service_code, occurred_at)", path));
  }
  absl::flat_hash_map<std::string, AgencyRow> rows;
  for (uint64_t number = 2; std::getline(in, line); ++number) {
    if (line.size() > kCsvLineBytesMax) {
      return absl::InvalidArgumentError(fmt::format("{}:{}: line longer than {} bytes", path, number, kCsvLineBytesMax));
    }
    if (line.empty() || line == "\r") continue;
    const auto fields = SplitCsv(line);
    if (static_cast<int>(fields.size()) <= contact_column || fields[contact_column].empty()) {
      return absl::InvalidArgumentError(fmt::format("{}:{}: field contact_id is empty", path, number));
    }
    AgencyRow row{number, code_column >= 0 && static_cast<int>(fields.size()) > code_column
                              ? fields[code_column] : ""};
    auto [it, added] = rows.emplace(fields[contact_column], row);
    if (!added) {
      return absl::InvalidArgumentError(fmt::format("{}:{}: contact_id '{}' appears again (first on line {})",
                                                    path, number, fields[contact_column], it->second.line));
    }
  }
  return rows;
}

}  // namespace

absl::StatusOr<ReconcileReport> Reconcile(StateStore& state, const std::string& agency_id,
                                          engine::Quarter quarter, const std::string& csv_path) {
  TORI_ASSIGN_OR_RETURN(auto agency_rows, ReadAgencyFile(csv_path));
  TORI_ASSIGN_OR_RETURN(absl::TimeZone helsinki, HelsinkiTimeZone());
  const std::string q = engine::QuarterName(quarter);
  ReconcileReport report;
  auto differ = [&](std::string contact_id, std::string status, std::string detail) {
    ++report.differences_by_status[status];
    report.differences.push_back({std::move(contact_id), std::move(status), std::move(detail)});
  };
  // Every contact tori knows: its state after corrections (index key 'C' + contact_id).
  TORI_RETURN_IF_ERROR(state.ForEachInIndex("C", [&](std::string_view key, std::string_view value) {
    if (const char* rule = IndexEntryProblem(key, value)) return state.Damaged("index", key, rule);
    events::ContactState contact;
    contact.ParseFromArray(value.data(), static_cast<int>(value.size()));  // checked just above
    const std::string contact_id(key.substr(1));
    const std::string contact_quarter = QuarterOfInstant(contact.occurred_at_unix_ns(), helsinki);
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

}  // namespace tori
