#include "services/server/write_routes.h"

#include <algorithm>
#include <random>
#include <set>

#include "absl/time/clock.h"
#include "events/base/check.h"
#include "events/base/json_text.h"
#include "events/validate/index_keys.h"
#include "fmt/format.h"
#include "services/ingest/ingest.h"
#include "services/server/internal/write_answers.h"

namespace tori::server {
namespace {

using write_internal::Json;
using write_internal::WriteFailed;

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

}  // namespace

int64_t LagEvents(const LogPosition& applied, const LogPosition& end) {
  int64_t lag = 0;
  for (size_t i = 0; i < end.next_offsets.size(); ++i) {
    lag += end.next_offsets[i] - (i < applied.next_offsets.size() ? applied.next_offsets[i] : 0);
  }
  return lag;
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
  if (request.caller->role == Role::kIntake) {
    std::lock_guard lock(*options_.state_mutex);
    auto scoped = IntakeScope(body, request.caller->service_point_id, *options_.state, allowed);
    if (!scoped.ok()) return WriteFailed(scoped.status());
    forbidden = *std::move(scoped);
  }
  PendingWrite pending;
  pending.body = forbidden.empty() ? body : std::string_view(allowed);
  pending.events = events - forbidden.size();
  {
    std::lock_guard queue_lock(queue_mutex_);
    queue_.push_back(&pending);
  }
  absl::StatusOr<std::vector<LineOutcome>> outcomes;
  {
    // Whoever holds the state takes every write waiting then, in one IngestLines call.
    std::lock_guard lock(*options_.state_mutex);
    while (!pending.done) TakeQueuedWrites();
    outcomes = std::move(pending.outcomes);
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

void Writer::TakeQueuedWrites() {
  std::vector<PendingWrite*> batch;
  size_t events = 0;
  {
    std::lock_guard queue_lock(queue_mutex_);
    while (!queue_.empty() && (batch.empty() || events + queue_.front()->events <= kIngestLinesMax)) {
      events += queue_.front()->events;
      batch.push_back(queue_.front());
      queue_.pop_front();
    }
  }
  if (batch.size() == 1) {
    batch[0]->outcomes = Ingest(batch[0]->body);
    batch[0]->done = true;
    return;
  }
  // The bodies one after another, each ending with a newline: body i's line n is line
  // first_line[i] + n of the whole, as IngestLines numbers lines.
  std::string whole;
  std::vector<uint64_t> first_line;
  uint64_t lines = 0;
  for (const PendingWrite* write : batch) {
    first_line.push_back(lines);
    whole.append(write->body);
    if (!write->body.empty() && write->body.back() != '\n') whole.push_back('\n');
    lines = static_cast<uint64_t>(std::count(whole.begin(), whole.end(), '\n'));
  }
  auto outcomes = Ingest(whole);
  for (PendingWrite* write : batch) {
    write->done = true;
    if (!outcomes.ok()) {
      write->outcomes = outcomes.status();
    } else {
      write->outcomes = std::vector<LineOutcome>();
    }
  }
  if (!outcomes.ok()) return;
  for (LineOutcome& outcome : *outcomes) {
    // The last body that starts before the line (an empty body has no lines).
    const size_t i =
        static_cast<size_t>(std::upper_bound(first_line.begin(), first_line.end(), outcome.line - 1) -
                            first_line.begin()) - 1;
    outcome.line -= first_line[i];
    batch[i]->outcomes->push_back(std::move(outcome));
  }
}

}  // namespace tori::server
