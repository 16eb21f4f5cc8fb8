// `tori access grant | list | revoke` (SPEC section 7): grants and revocations are
// events (access_granted, access_revoked) taken through ingest's rules and code path
// (IngestLines), so who could see what is part of the audited history. The token is
// printed once by grant and is never in an event, the state or a list: only its SHA-256.
//
// The validator's index holds the grants ('T' token_id -> AccessGranted) and the
// revocations ('R' token_id); RefreshAccessList (write_routes.h) reads them.

#include "absl/time/clock.h"
#include "events/base/check.h"
#include "events/base/json_text.h"
#include "events/codec/codec.h"
#include "fmt/format.h"
#include "services/ingest/ingest.h"
#include "services/server/access.h"
#include "services/server/write_routes.h"
#include "tools/tori/commands.h"

namespace tori {
namespace {

// Takes one event through IngestLines; prints a rejection naming its rule.
int TakeEvent(const LogOptions& log_options, const events::Event& event, const char* command) {
  LogOptions data_options = log_options;
  data_options.kafka_writer = true;
  auto data = OpenDataDir(data_options, DataAccess::kWrite);
  if (!data.ok()) return Fail(data.status());
  auto outcomes = IngestLines(EventToJson(event), *data->log, *data->state);
  if (!outcomes.ok()) return Fail(outcomes.status());
  if (outcomes->size() != 1) {
    return Fail(absl::InternalError(fmt::format("tori access {}: one event gave {} outcomes", command,
                                                outcomes->size())));
  }
  const LineOutcome& outcome = outcomes->front();
  if (outcome.status == LineOutcome::Status::kRejected) {
    const Rejection& r = *outcome.rejection;
    fmt::print(stderr, "tori access {}: rejected: {} {}: {}\n", command, RejectReasonName(r.reason),
               r.field, r.message);
    return kExitFailed;
  }
  return 0;
}

}  // namespace

absl::Status LoadAccessList(StateStore& state, server::InMemoryAccessList& access, size_t* count) {
  return server::RefreshAccessList(state, access, count);
}

int RunAccessGrant(const LogOptions& data, const AccessGrantOptions& options) {
  auto role = server::ParseRole(options.role);
  if (!role.ok()) {
    fmt::print(stderr, "tori access grant: --role '{}' is not a role; one of host, agency, auditor, intake\n",
               options.role);
    return kExitUsage;
  }
  auto token = server::MakeToken();
  if (!token.ok()) return Fail(token.status());
  const events::Event event = server::GrantEvent(*token, options.role, options.name, options.agency_id,
                                                 options.service_point_id, absl::Now());
  if (int rc = TakeEvent(data, event, "grant"); rc != 0) return rc;
  std::string out;
  JsonObjectWriter(out).String("token_id", token->token_id).String("token", token->token).Close();
  fmt::print("{}\n", out);
  return 0;
}

int RunAccessRevoke(const LogOptions& data, const std::string& token_id) {
  const events::Event event = server::RevokeEvent(token_id, absl::Now());
  if (int rc = TakeEvent(data, event, "revoke"); rc != 0) return rc;
  fmt::print("tori access revoke: token_id {} revoked\n", token_id);
  return 0;
}

int RunAccessList(const LogOptions& data_options) {
  auto data = OpenDataDir(data_options, DataAccess::kRead);
  if (!data.ok()) return Fail(data.status());
  server::InMemoryAccessList access;
  if (auto loaded = LoadAccessList(*data->state, access, nullptr); !loaded.ok()) return Fail(loaded);
  for (const server::AccessGrant& g : access.List()) {
    std::string out;
    JsonObjectWriter w(out);
    w.String("token_id", g.token_id).String("role", server::RoleName(g.role)).String("name", g.name);
    if (!g.agency_id.empty()) w.String("agency_id", g.agency_id);
    if (!g.service_point_id.empty()) w.String("service_point_id", g.service_point_id);
    // Granted through POST /v1/access: the host whose invoices alone the token sees.
    if (!g.granted_by_agency_id.empty()) w.String("granted_by_agency_id", g.granted_by_agency_id);
    w.Raw("revoked", g.revoked ? "true" : "false").Close();
    fmt::print("{}\n", out);
  }
  return 0;
}

}  // namespace tori
