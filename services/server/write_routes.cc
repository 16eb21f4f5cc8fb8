#include "services/server/write_routes.h"

#include <algorithm>
#include <random>
#include <set>

#include "absl/time/clock.h"
#include "events/base/check.h"
#include "events/base/json_text.h"
#include "events/base/sha256.h"
#include "events/validate/index_keys.h"
#include "fmt/format.h"
#include "services/ingest/ingest.h"
#include "services/projector/projector.h"
#include "simdjson.h"

namespace tori::server {
namespace {

namespace p = projection;

HttpResponse Json(std::string body, int status = 200) {
  HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

// The answer when the log or the state failed: nothing of the request is acknowledged.
HttpResponse WriteFailed(const absl::Status& status) {
  if (absl::IsFailedPrecondition(status)) {
    // Kafka: another process opened the topic as its writer and fenced this one.
    HttpResponse r = ErrorResponse(
        503, "NOT_THE_WRITER",
        fmt::format("this serve can no longer write to the log ({}); nothing of the request was taken: send it "
                    "to the serve that writes now, or restart this one",
                    std::string(status.message())));
    r.headers.emplace_back("Retry-After", "5");
    return r;
  }
  return ErrorResponse(500, "WRITE_FAILED",
                       fmt::format("nothing of the request was acknowledged ({}); send it again: the events "
                                   "already taken then count as duplicates",
                                   std::string(status.message())));
}

// Calls `visit(line_number, line)` for each line of a JSON Lines body that holds an
// event, numbered and trimmed as IngestLines numbers and trims them.
template <typename Visit>
void ForEachEventLine(std::string_view body, Visit&& visit) {
  uint64_t line_number = 0;
  for (size_t from = 0; from < body.size();) {
    size_t end = body.find('\n', from);
    if (end == std::string_view::npos) end = body.size();
    std::string_view line = body.substr(from, end - from);
    from = end + 1;
    ++line_number;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.find_first_not_of(" \t") == std::string_view::npos) continue;
    visit(line_number, line);
  }
}

LineOutcome Forbidden(uint64_t line, std::string field, std::string message) {
  LineOutcome outcome;
  outcome.line = line;
  outcome.status = LineOutcome::Status::kRejected;
  // FORBIDDEN is an answer of the API, not an ingest rule: the line never reaches
  // ingest, so it has no RejectReason (and no dead letter); ResultsJson names it.
  outcome.rejection = Rejection{RejectReason::kSchema, std::move(field), std::move(message)};
  return outcome;
}

// The lines of `body` an intake for `point` may not post (see write_routes.h), as
// outcomes; `allowed` gets the body with those lines blanked (numbering kept).
absl::StatusOr<std::vector<LineOutcome>> IntakeScope(std::string_view body, const std::string& point,
                                                     StateStore& state, std::string& allowed) {
  std::vector<LineOutcome> forbidden;
  std::set<std::string, std::less<>> own_contacts;  // recorded at `point` earlier in the body
  JsonEventParser parser;
  events::Event event;
  absl::Status failed;
  allowed.reserve(body.size());
  ForEachEventLine(body, [&](uint64_t line_number, std::string_view line) {
    if (!failed.ok()) return;
    if (parser.Parse(line, event).has_value()) return;  // ingest rejects it, as `tori ingest` would
    std::string field = "service_point_id", at;
    switch (event.payload_case()) {
      case events::Event::kContactRecorded:
        at = event.contact_recorded().service_point_id();
        if (at == point) own_contacts.insert(event.contact_recorded().contact_id());
        break;
      case events::Event::kRoomBooked: at = event.room_booked().service_point_id(); break;
      case events::Event::kContactCorrected:
      case events::Event::kContactVoided: {
        const std::string& id = event.has_contact_corrected() ? event.contact_corrected().contact_id()
                                                               : event.contact_voided().contact_id();
        field = "contact_id";
        if (own_contacts.contains(id)) {
          at = point;
          break;
        }
        auto stored = state.Get(index_keys::Key(index_keys::kContact, id));
        if (!stored.ok()) {
          failed = stored.status();
          return;
        }
        events::ContactState contact;
        if (*stored && contact.ParseFromString(**stored)) at = contact.service_point_id();
        if (at != point) {
          // The same answer for a contact of another point and one that does not exist.
          forbidden.push_back(Forbidden(
              line_number, field,
              fmt::format("contact '{}' is not a contact of service point '{}', the only one this intake token "
                          "posts for",
                          id, point)));
          return;
        }
        break;
      }
      default: {
        const auto* type = events::Event::descriptor()->FindFieldByNumber(event.payload_case());
        forbidden.push_back(Forbidden(
            line_number, "type",
            fmt::format("an intake token posts contact_recorded, contact_corrected, contact_voided and room_booked "
                        "events of its own service point; an event of type {} needs a host token",
                        type != nullptr ? type->name() : "payload-less")));
        return;
      }
    }
    if (at != point) {
      forbidden.push_back(Forbidden(
          line_number, field,
          fmt::format("service point '{}' is not '{}', the only one this intake token posts for", at, point)));
    }
  });
  TORI_RETURN_IF_ERROR(failed);
  if (forbidden.empty()) return forbidden;
  // Blank the forbidden lines, keeping their newlines, so IngestLines numbers the rest
  // as the body does (`forbidden` is in line order).
  size_t next = 0;
  uint64_t line_number = 0;
  for (size_t from = 0; from < body.size();) {
    size_t end = body.find('\n', from);
    const bool newline = end != std::string_view::npos;
    if (!newline) end = body.size();
    ++line_number;
    if (next < forbidden.size() && forbidden[next].line == line_number) {
      ++next;
    } else {
      allowed.append(body.substr(from, end - from));
    }
    if (newline) allowed.push_back('\n');
    from = end + 1;
  }
  return forbidden;
}

std::string ResultsJson(const std::vector<LineOutcome>& outcomes, const std::set<uint64_t>& forbidden_lines) {
  int64_t accepted = 0, duplicates = 0, rejected = 0;
  std::string results = "[";
  for (const LineOutcome& o : outcomes) {
    if (results.size() > 1) results += ",";
    JsonObjectWriter w(results);
    w.Int("line", static_cast<int64_t>(o.line)).String("status", o.StatusName());
    if (o.status == LineOutcome::Status::kRejected) {
      ++rejected;
      const bool forbidden = forbidden_lines.contains(o.line);
      w.String("reason", forbidden ? "FORBIDDEN" : RejectReasonName(o.rejection->reason))
          .String("field", o.rejection->field)
          .String("message", o.rejection->message);
    } else {
      o.status == LineOutcome::Status::kAccepted ? ++accepted : ++duplicates;
      w.String("reason", "").String("field", "").String("message", "");
    }
    w.Close();
  }
  results += "]";
  std::string body;
  JsonObjectWriter(body)
      .Int("accepted", accepted)
      .Int("duplicates", duplicates)
      .Int("rejected", rejected)
      .Raw("results", results)
      .Close();
  return body + "\n";
}

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

int64_t LagEvents(const LogPosition& applied, const LogPosition& end) {
  int64_t lag = 0;
  for (size_t i = 0; i < end.next_offsets.size(); ++i) {
    lag += end.next_offsets[i] - (i < applied.next_offsets.size() ? applied.next_offsets[i] : 0);
  }
  return lag;
}

events::Event GrantEvent(const NewToken& token, std::string_view role, std::string_view name,
                         std::string_view agency_id, std::string_view service_point_id, absl::Time now) {
  events::Event event;
  event.set_event_id("access-granted-" + token.token_id);
  event.set_occurred_at_unix_ns(absl::ToUnixNanos(now));
  event.set_schema_version(kSchemaVersionAccess);
  auto* e = event.mutable_access_granted();
  e->set_token_id(token.token_id);
  e->set_token_sha256(Sha256Hex(token.token));
  e->set_role(std::string(role));
  e->set_name(std::string(name));
  e->set_agency_id(std::string(agency_id));
  e->set_service_point_id(std::string(service_point_id));
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
        return access.Grant(grant);
      }));
  for (const std::string& id : revoked) {
    if (absl::Status s = access.Revoke(id); !s.ok() && !absl::IsNotFound(s)) return s;
  }
  if (count != nullptr) *count = n;
  return absl::OkStatus();
}

absl::StatusOr<std::vector<LineOutcome>> Writer::Ingest(std::string_view body) {
  auto outcomes = IngestLines(body, *options_.log, *options_.state);
  // Fenced by another writer: nothing of this attempt is visible. Fence it in turn;
  // IngestLines then catches up with all it committed before judging the body again.
  // Two replicas written at once fence each other back and forth: a random pause that
  // grows with each attempt lets one of them finish first (at most kRegainAttemptsMax).
  std::minstd_rand random(static_cast<uint32_t>(absl::ToUnixNanos(absl::Now())));
  for (int attempt = 1; attempt <= kRegainAttemptsMax && absl::IsFailedPrecondition(outcomes.status()) &&
                        options_.regain_writer;
       ++attempt) {
    absl::SleepFor(absl::Milliseconds(std::uniform_int_distribution<int>(0, 25 * attempt)(random)));
    TORI_RETURN_IF_ERROR(options_.regain_writer());
    outcomes = IngestLines(body, *options_.log, *options_.state);
  }
  return outcomes;
}

absl::StatusOr<LineOutcome> Writer::TakeEvent(const events::Event& event) {
  TORI_ASSIGN_OR_RETURN(auto outcomes, Ingest(EventToJson(event)));
  if (outcomes.size() != 1) {
    return absl::InternalError(fmt::format("one event gave {} outcomes", outcomes.size()));
  }
  return outcomes.front();
}

std::map<std::string, RouteHandler> Writer::Handlers() {
  return {
      {"POST /v1/events", [this](const RouteRequest& r) { return PostEvents(r); }},
      {"POST /v1/access", [this](const RouteRequest& r) { return PostAccess(r); }},
      {"DELETE /v1/access/{token_id}", [this](const RouteRequest& r) { return DeleteAccess(r); }},
  };
}

absl::StatusOr<int64_t> Writer::Follow() {
  std::lock_guard lock(*options_.state_mutex);
  const LogPosition end = options_.log->End();
  if (!(options_.state->applied() == end) || !followed_once_) {
    TORI_RETURN_IF_ERROR(CatchUp(*options_.log, *options_.state).status());
    TORI_RETURN_IF_ERROR(RefreshAccessList(*options_.state, *options_.access));
    followed_once_ = true;
  }
  const int64_t lag = std::max<int64_t>(0, LagEvents(options_.state->applied(), end));
  if (options_.metrics != nullptr) options_.metrics->SetLogLagEvents(lag);
  return lag;
}

HttpResponse Writer::PostEvents(const RouteRequest& request) {
  const std::string_view body = request.http.body;
  size_t events = 0;
  ForEachEventLine(body, [&](uint64_t, std::string_view) { ++events; });
  if (events > kIngestLinesMax) {
    return ErrorResponse(413, "TOO_MANY_EVENTS",
                         fmt::format("the body has {} events, more than the {} one request may carry; nothing was "
                                     "taken: send them in several requests",
                                     events, kIngestLinesMax));
  }
  std::vector<LineOutcome> forbidden;
  std::string allowed;
  absl::StatusOr<std::vector<LineOutcome>> outcomes;
  {
    std::lock_guard lock(*options_.state_mutex);
    if (request.caller->role == Role::kIntake) {
      auto scoped = IntakeScope(body, request.caller->service_point_id, *options_.state, allowed);
      if (!scoped.ok()) return WriteFailed(scoped.status());
      forbidden = *std::move(scoped);
    }
    outcomes = Ingest(forbidden.empty() ? body : std::string_view(allowed));
    if (!outcomes.ok()) return WriteFailed(outcomes.status());
    // A host may post grants and revocations as events too: they hold from now on.
    if (request.caller->role == Role::kHost && body.find("\"access_") != std::string_view::npos) {
      if (absl::Status s = RefreshAccessList(*options_.state, *options_.access); !s.ok()) return WriteFailed(s);
    }
  }
  std::set<uint64_t> forbidden_lines;
  for (const LineOutcome& o : forbidden) forbidden_lines.insert(o.line);
  std::vector<LineOutcome> all = *std::move(outcomes);
  all.insert(all.end(), std::make_move_iterator(forbidden.begin()), std::make_move_iterator(forbidden.end()));
  std::sort(all.begin(), all.end(), [](const LineOutcome& a, const LineOutcome& b) { return a.line < b.line; });
  if (options_.metrics != nullptr) {
    uint64_t taken[3] = {0, 0, 0};
    for (const LineOutcome& o : all) ++taken[static_cast<int>(o.status)];
    options_.metrics->CountEvents(taken[0], taken[1], taken[2]);
  }
  return Json(ResultsJson(all, forbidden_lines));
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
  const events::Event event =
      GrantEvent(*token, fields["role"], fields["name"], fields["agency_id"], fields["service_point_id"], absl::Now());
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
