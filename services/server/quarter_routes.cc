#include "services/server/quarter_routes.h"

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "fmt/format.h"
#include "services/billing/billing.h"
#include "services/server/api.h"
#include "services/projector/projector.h"

namespace tori::server {
namespace {

HttpResponse FromBillStatus(const absl::Status& status) {
  const std::string message(status.message());
  if (absl::IsInvalidArgument(status)) return ErrorResponse(400, "BAD_INPUT", message);
  if (absl::IsPermissionDenied(status)) return ErrorResponse(403, "OWN_PREPARATION", message);
  if (absl::IsFailedPrecondition(status)) return ErrorResponse(409, "CONFLICT", message);
  return ErrorResponse(500, "INTERNAL", message);
}

}  // namespace

HttpResponse BillQuarter(const RouteRequest& request, EventLog& log, StateStore& state,
                         const std::string& scratch_dir, bool approve) {
  const std::string quarter_text = request.Param("quarter");
  auto quarter = engine::ParseQuarter(quarter_text);
  if (!quarter.ok()) {
    return ErrorResponse(400, "BAD_QUARTER", fmt::format("quarter '{}' is not like 2026Q1", quarter_text));
  }
  const AccessGrant& caller = *request.caller;
  std::string person = caller.name;
  if (auto by = request.Query("by")) {
    if (!person.empty() && !SamePerson(*by, person)) {
      return ErrorResponse(403, "NOT_YOUR_NAME",
                           fmt::format("this token bills and approves as '{}', not as '{}'", person, *by));
    }
    if (person.empty()) person = *by;
  }
  if (person.empty()) {
    return ErrorResponse(400, "MISSING_BY", "this token has no name: name the person with ?by=NAME");
  }
  auto hosts = HostsOfPoints(state);
  if (!hosts.ok()) return FromBillStatus(hosts.status());
  if (!hosts->contains(caller.agency_id)) {
    return ErrorResponse(404, "NOT_FOUND", fmt::format("{} hosts no service point", caller.agency_id));
  }
  if (hosts->size() > 1) {
    return ErrorResponse(403, "OTHER_HOSTS",
                         fmt::format("other hosts' service points are billed in {} too; bill it with "
                                     "`tori bill --quarter {}`",
                                     quarter_text, quarter_text));
  }
  documents::Language language = documents::Language::kFi;
  if (auto text = request.Query("lang")) {
    auto parsed = documents::ParseLanguage(*text);
    if (!parsed.ok()) return ErrorResponse(400, "BAD_LANG", fmt::format("lang '{}' is not one of fi, sv, en", *text));
    language = *parsed;
  }
  BillRequest bill;
  bill.quarter = *quarter;
  bill.out_dir = scratch_dir + "/out";
  bill.scratch_dir = scratch_dir + "/replay";
  bill.by = person;
  bill.language = language;
  std::error_code ec;
  std::filesystem::remove_all(scratch_dir, ec);
  auto outcome = approve ? Approve(log, state, bill) : Bill(log, state, bill);
  std::string body;
  if (outcome.ok() && !outcome->files.empty()) {
    std::ifstream in(outcome->files.front(), std::ios::binary);  // invoices.json first
    std::stringstream s;
    s << in.rdbuf();
    body = s.str();
  }
  std::filesystem::remove_all(scratch_dir, ec);
  if (!outcome.ok()) return FromBillStatus(outcome.status());
  HttpResponse response;
  response.body = std::move(body);
  response.headers.emplace_back("X-Tori-Quarter-State", outcome->prepared ? "prepared" : "issued");
  return response;
}

}  // namespace tori::server
