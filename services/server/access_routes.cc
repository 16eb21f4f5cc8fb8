// The access routes of the writer (write_routes.h): POST /v1/access and
// DELETE /v1/access/{token_id}, the grant and revoke events, and the access list
// refreshed from the state's index.
#include <algorithm>

#include "absl/time/clock.h"
#include "events/base/check.h"
#include "events/base/json_text.h"
#include "events/base/sha256.h"
#include "events/validate/index_keys.h"
#include "fmt/format.h"
#include "services/projector/projector.h"
#include "services/server/internal/write_answers.h"
#include "services/server/write_routes.h"
#include "simdjson.h"

namespace tori::server {
namespace {

namespace p = projection;
using write_internal::Json;
using write_internal::WriteFailed;

// The host agency of `point` (index 'P': 8 bytes of area, then the host's id).
absl::StatusOr<std::optional<std::string>> PointHost(StateStore& state, std::string_view point) {
  TORI_ASSIGN_OR_RETURN(auto value, state.Get(index_keys::Key(index_keys::kPoint, point)));
  if (!value || value->size() < 8) return std::nullopt;
  return value->substr(8);
}

// Whether `agency` is `host` or a party to an agreement at a point `host` hosts.
absl::StatusOr<bool> IsAgencyOfHost(StateStore& state, const std::string& host, std::string_view agency) {
  if (agency == host) return true;
  bool found = false;
  TORI_RETURN_IF_ERROR(state.ForEachInProjection(
      std::string(1, p::kAgreement), [&](std::string_view key, std::string_view value) -> absl::Status {
        if (found) return absl::OkStatus();
        TORI_ASSIGN_OR_RETURN(auto e, p::ReadRecord<events::AgreementSigned>(state, key, value));
        if (std::find(e.parties().begin(), e.parties().end(), agency) == e.parties().end()) return absl::OkStatus();
        TORI_ASSIGN_OR_RETURN(auto point_host, PointHost(state, e.service_point_id()));
        found = point_host == host;
        return absl::OkStatus();
      }));
  return found;
}

// Whether a host of `host` may grant or revoke a token of `role` for `agency` / `point`.
absl::StatusOr<bool> HostManages(StateStore& state, const std::string& host, Role role, std::string_view agency,
                                 std::string_view point) {
  switch (role) {
    case Role::kHost: return agency == host;
    case Role::kIntake: {
      TORI_ASSIGN_OR_RETURN(auto point_host, PointHost(state, point));
      return point_host == host;
    }
    case Role::kAgency: return IsAgencyOfHost(state, host, agency);
    case Role::kAuditor: return false;
  }
  return false;
}

HttpResponse Rejected(const Rejection& r) {
  HttpResponse response;
  response.status = 400;
  JsonObjectWriter(response.body)
      .String("reason", RejectReasonName(r.reason))
      .String("field", r.field)
      .String("message", r.message)
      .Close();
  response.body += "\n";
  return response;
}

// A token_id as grants have them: 1..128 bytes of [A-Za-z0-9._:-], not "." or "..".
bool PlausibleTokenId(std::string_view id) {
  if (id.empty() || id.size() > kTokenIdBytesMax || id == "." || id == "..") return false;
  for (char c : id) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                    c == '_' || c == ':' || c == '-';
    if (!ok) return false;
  }
  return true;
}
}  // namespace

events::Event GrantEvent(const NewToken& token, std::string_view role, std::string_view name,
                         std::string_view agency_id, std::string_view service_point_id, absl::Time now,
                         std::string_view granted_by_agency_id) {
  events::Event event;
  event.set_event_id("access-granted-" + token.token_id);
  event.set_occurred_at_unix_ns(absl::ToUnixNanos(now));
  event.set_schema_version(granted_by_agency_id.empty() ? kSchemaVersionAccess : kSchemaVersionGrantedBy);
  auto* e = event.mutable_access_granted();
  e->set_token_id(token.token_id);
  e->set_token_sha256(Sha256Hex(token.token));
  e->set_role(std::string(role));
  e->set_name(std::string(name));
  e->set_agency_id(std::string(agency_id));
  e->set_service_point_id(std::string(service_point_id));
  e->set_granted_by_agency_id(std::string(granted_by_agency_id));
  return event;
}

events::Event RevokeEvent(std::string_view token_id, absl::Time now) {
  const int64_t now_ns = absl::ToUnixNanos(now);
  events::Event event;
  event.set_event_id(fmt::format("access-revoked-{}-{}", token_id, now_ns));
  event.set_occurred_at_unix_ns(now_ns);
  event.set_schema_version(kSchemaVersionAccess);
  event.mutable_access_revoked()->set_token_id(std::string(token_id));
  return event;
}

absl::Status RefreshAccessList(StateStore& state, InMemoryAccessList& access, size_t* count) {
  std::set<std::string, std::less<>> revoked, known;
  for (const AccessGrant& g : access.List()) known.insert(g.token_id);
  TORI_RETURN_IF_ERROR(state.ForEachInIndex(
      index_keys::KindPrefix(index_keys::kTokenRevoked), [&](std::string_view key, std::string_view) {
        revoked.emplace(index_keys::IdOf(key));
        return absl::OkStatus();
      }));
  size_t n = 0;
  TORI_RETURN_IF_ERROR(state.ForEachInIndex(
      index_keys::KindPrefix(index_keys::kToken), [&](std::string_view key, std::string_view value) {
        ++n;
        if (known.contains(index_keys::IdOf(key))) return absl::OkStatus();
        events::AccessGranted e;
        if (!e.ParseFromArray(value.data(), static_cast<int>(value.size()))) {
          return absl::DataLossError(fmt::format("index entry {} is not an AccessGranted; run `tori rebuild`",
                                                 index_keys::Escaped(key)));
        }
        auto digest = DigestOfHex(e.token_sha256());
        auto role = ParseRole(e.role());
        if (!digest || !role.ok()) {
          return absl::DataLossError(
              fmt::format("grant of token_id '{}' has a bad hash or role; run `tori rebuild`", e.token_id()));
        }
        AccessGrant grant;
        grant.token_id = e.token_id();
        grant.token_sha256 = *digest;
        grant.role = *role;
        grant.name = e.name();
        grant.agency_id = e.agency_id();
        grant.service_point_id = e.service_point_id();
        grant.granted_by_agency_id = e.granted_by_agency_id();
        return access.Grant(grant);
      }));
  for (const std::string& id : revoked) {
    if (absl::Status s = access.Revoke(id); !s.ok() && !absl::IsNotFound(s)) return s;
  }
  if (count != nullptr) *count = n;
  return absl::OkStatus();
}

HttpResponse Writer::PostAccess(const RouteRequest& request) {
  simdjson::dom::parser parser;
  simdjson::dom::object object;
  if (parser.parse(request.http.body).get(object) != simdjson::SUCCESS) {
    return ErrorResponse(400, "BAD_INPUT",
                         "the body must be one JSON object: {\"role\", \"name\", \"agency_id\", \"service_point_id\"}");
  }
  std::map<std::string, std::string> fields;
  for (auto [key, value] : object) {
    std::string_view text;
    if ((key != "role" && key != "name" && key != "agency_id" && key != "service_point_id") ||
        value.get(text) != simdjson::SUCCESS || fields.contains(std::string(key))) {
      return ErrorResponse(400, "BAD_INPUT",
                           fmt::format("field '{}' is unknown, repeated or not a string; a grant has role, name, "
                                       "agency_id, service_point_id",
                                       std::string(key).substr(0, 64)));
    }
    fields[std::string(key)] = std::string(text);
  }
  auto role = ParseRole(fields["role"]);
  if (!role.ok()) return ErrorResponse(400, "BAD_INPUT", std::string(role.status().message()));
  if (*role == Role::kAuditor) {
    return ErrorResponse(403, "FORBIDDEN",
                         "an auditor reads everything of every host: grant it on the host's machine with `tori access "
                         "grant --role auditor`");
  }
  std::lock_guard lock(*options_.state_mutex);
  auto manages = HostManages(*options_.state, request.caller->agency_id, *role, fields["agency_id"],
                             fields["service_point_id"]);
  if (!manages.ok()) return WriteFailed(manages.status());
  if (!*manages) {
    return ErrorResponse(404, "NOT_FOUND",
                         "no such agency or service point among those you may grant tokens for (your agency, the "
                         "points you host, the parties to agreements at them)");
  }
  auto token = MakeToken();
  if (!token.ok()) return WriteFailed(token.status());
  // The caller's agency is the granter: the token sees only what that host issues or
  // receives (SeesParties), never another host's invoices to the same agency.
  const events::Event event = GrantEvent(*token, fields["role"], fields["name"], fields["agency_id"],
                                         fields["service_point_id"], absl::Now(), request.caller->agency_id);
  auto outcome = TakeEvent(event);
  if (!outcome.ok()) return WriteFailed(outcome.status());
  if (outcome->status == LineOutcome::Status::kRejected) return Rejected(*outcome->rejection);
  if (outcome->status != LineOutcome::Status::kAccepted) {
    return WriteFailed(absl::InternalError(fmt::format("a fresh grant {} was a duplicate", token->token_id)));
  }
  if (absl::Status s = RefreshAccessList(*options_.state, *options_.access); !s.ok()) return WriteFailed(s);
  std::string out;
  JsonObjectWriter(out).String("token_id", token->token_id).String("token", token->token).Close();
  return Json(out + "\n");
}

HttpResponse Writer::DeleteAccess(const RouteRequest& request) {
  const std::string token_id = request.Param("token_id");
  const HttpResponse not_found =
      ErrorResponse(404, "NOT_FOUND", "no such token_id among the grants you may revoke");
  if (!PlausibleTokenId(token_id)) return not_found;
  std::lock_guard lock(*options_.state_mutex);
  auto stored = options_.state->Get(index_keys::Key(index_keys::kToken, token_id));
  if (!stored.ok()) return WriteFailed(stored.status());
  events::AccessGranted grant;
  if (!*stored || !grant.ParseFromString(**stored)) return not_found;
  auto role = ParseRole(grant.role());
  if (!role.ok()) return not_found;
  auto manages =
      HostManages(*options_.state, request.caller->agency_id, *role, grant.agency_id(), grant.service_point_id());
  if (!manages.ok()) return WriteFailed(manages.status());
  if (!*manages) return not_found;
  std::string out;
  JsonObjectWriter(out).String("token_id", token_id).Raw("revoked", "true").Close();
  auto revoked = options_.state->Get(index_keys::Key(index_keys::kTokenRevoked, token_id));
  if (!revoked.ok()) return WriteFailed(revoked.status());
  if (*revoked) return Json(out + "\n");  // revoked already: the same answer (a retried DELETE)
  auto outcome = TakeEvent(RevokeEvent(token_id, absl::Now()));
  if (!outcome.ok()) return WriteFailed(outcome.status());
  if (outcome->status == LineOutcome::Status::kRejected) return Rejected(*outcome->rejection);
  // Refused from the next request on: the list changes before this answer is sent.
  if (absl::Status s = options_.access->Revoke(token_id); !s.ok() && !absl::IsNotFound(s)) return WriteFailed(s);
  return Json(out + "\n");
}

}  // namespace tori::server
