// `tori access grant | list | revoke` (SPEC section 7): grants and revocations are
// events (access_granted, access_revoked) taken through ingest's rules and code path
// (IngestLines), so who could see what is part of the audited history. The token is
// printed once by grant and is never in an event, the state or a list: only its SHA-256.
//
// The validator's index holds the grants ('T' token_id -> AccessGranted) and the
// revocations ('R' token_id); LoadAccessList reads them for `tori serve`.
#include <set>

#include "absl/time/clock.h"
#include "events/base/check.h"
#include "events/base/json_text.h"
#include "events/codec/codec.h"
#include "events/validate/index_keys.h"
#include "fmt/format.h"
#include "services/ingest/ingest.h"
#include "services/server/access.h"
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
  std::set<std::string, std::less<>> revoked;
  TORI_RETURN_IF_ERROR(state.ForEachInIndex(
      index_keys::KindPrefix(index_keys::kTokenRevoked), [&](std::string_view key, std::string_view) {
        revoked.emplace(index_keys::IdOf(key));
        return absl::OkStatus();
      }));
  size_t n = 0;
  TORI_RETURN_IF_ERROR(state.ForEachInIndex(
      index_keys::KindPrefix(index_keys::kToken), [&](std::string_view key, std::string_view value) {
        events::AccessGranted e;
        if (!e.ParseFromArray(value.data(), static_cast<int>(value.size()))) {
          return absl::DataLossError(fmt::format("index entry {} is not an AccessGranted; run `tori rebuild`",
                                                 index_keys::Escaped(key)));
        }
        auto digest = server::DigestOfHex(e.token_sha256());
        auto role = server::ParseRole(e.role());
        if (!digest || !role.ok()) {
          return absl::DataLossError(fmt::format("grant of token_id '{}' has a bad hash or role; run `tori rebuild`",
                                                 e.token_id()));
        }
        server::AccessGrant grant;
        grant.token_id = e.token_id();
        grant.token_sha256 = *digest;
        grant.role = *role;
        grant.name = e.name();
        grant.agency_id = e.agency_id();
        grant.service_point_id = e.service_point_id();
        TORI_RETURN_IF_ERROR(access.Grant(grant));
        if (revoked.contains(e.token_id())) TORI_RETURN_IF_ERROR(access.Revoke(e.token_id()));
        ++n;
        return absl::OkStatus();
      }));
  if (count != nullptr) *count = n;
  return absl::OkStatus();
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
  events::Event event;
  event.set_event_id("access-granted-" + token->token_id);
  event.set_occurred_at_unix_ns(absl::ToUnixNanos(absl::Now()));
  event.set_schema_version(kSchemaVersionAccess);
  auto* e = event.mutable_access_granted();
  e->set_token_id(token->token_id);
  e->set_token_sha256(Sha256Hex(token->token));
  e->set_role(options.role);
  e->set_name(options.name);
  e->set_agency_id(options.agency_id);
  e->set_service_point_id(options.service_point_id);
  if (int rc = TakeEvent(data, event, "grant"); rc != 0) return rc;
  std::string out;
  JsonObjectWriter(out).String("token_id", token->token_id).String("token", token->token).Close();
  fmt::print("{}\n", out);
  return 0;
}

int RunAccessRevoke(const LogOptions& data, const std::string& token_id) {
  // The event_id names the moment too: a second revocation then meets the rule (revoked
  // already), not the event_id's idempotency check.
  const int64_t now = absl::ToUnixNanos(absl::Now());
  events::Event event;
  event.set_event_id(fmt::format("access-revoked-{}-{}", token_id, now));
  event.set_occurred_at_unix_ns(now);
  event.set_schema_version(kSchemaVersionAccess);
  event.mutable_access_revoked()->set_token_id(token_id);
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
    w.Raw("revoked", g.revoked ? "true" : "false").Close();
    fmt::print("{}\n", out);
  }
  return 0;
}

}  // namespace tori
