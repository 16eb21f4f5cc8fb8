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

// Why an intake for `point` may not post `parsed` (see write_routes.h), or nullopt when
// it may. A correction or void names the point of its contact as the state stands at
// its line (IngestLines' `contact_point`: stored, or recorded by an accepted line before
// it, also one of another request of the same group commit).
absl::StatusOr<std::optional<Rejection>> IntakeRefusal(const std::string& point, const ParsedEvent& parsed,
                                                       const ContactPointLookup& contact_point) {
  auto forbidden = [](std::string field, std::string message) {
    // FORBIDDEN is an answer of the API, not an ingest rule: it has no RejectReason (and
    // no dead letter); the writer remembers the line and ResultsJson names it.
    return Rejection{RejectReason::kSchema, std::move(field), std::move(message)};
  };
  std::string_view at;
  if (parsed.contact) {
    at = parsed.contact->service_point_id;
  } else {
    const events::Event& event = parsed.event;
    switch (event.payload_case()) {
      case events::Event::kContactRecorded: at = event.contact_recorded().service_point_id(); break;
      case events::Event::kRoomBooked: at = event.room_booked().service_point_id(); break;
      case events::Event::kContactCorrected:
      case events::Event::kContactVoided: {
        const std::string& id = event.has_contact_corrected() ? event.contact_corrected().contact_id()
                                                              : event.contact_voided().contact_id();
        TORI_ASSIGN_OR_RETURN(std::optional<std::string> contact_at, contact_point(id));
        if (contact_at != point) {
          // The same answer for a contact of another point and one that does not exist.
          return forbidden("contact_id",
                           fmt::format("contact '{}' is not a contact of service point '{}', the only one this "
                                       "intake token posts for",
                                       id, point));
        }
        return std::nullopt;
      }
      default: {
        const auto* type = events::Event::descriptor()->FindFieldByNumber(event.payload_case());
        return forbidden("type", fmt::format("an intake token posts contact_recorded, contact_corrected, "
                                             "contact_voided and room_booked events of its own service point; an "
                                             "event of type {} needs a host token",
                                             type != nullptr ? type->name() : "payload-less"));
      }
    }
  }
  if (at != point) {
    return forbidden("service_point_id",
                     fmt::format("service point '{}' is not '{}', the only one this intake token posts for", at, point));
  }
  return std::nullopt;
}

std::string ResultsJson(const std::vector<LineOutcome>& outcomes, const std::set<uint64_t>& forbidden_lines) {
  int64_t accepted = 0, duplicates = 0, rejected = 0;
  std::string results = "[";
  results.reserve(72 * outcomes.size());
  for (const LineOutcome& o : outcomes) {
    if (results.size() > 1) results += ",";
    if (o.status != LineOutcome::Status::kRejected) {
      // The common case written directly: what JsonObjectWriter writes for it.
      o.status == LineOutcome::Status::kAccepted ? ++accepted : ++duplicates;
      fmt::format_to(std::back_inserter(results),
                     R"({{"line":{},"status":"{}","reason":"","field":"","message":""}})", o.line,
                     o.StatusName());
      continue;
    }
    ++rejected;
    const bool forbidden = forbidden_lines.contains(o.line);
    JsonObjectWriter(results)
        .Int("line", static_cast<int64_t>(o.line))
        .String("status", o.StatusName())
        .String("reason", forbidden ? "FORBIDDEN" : RejectReasonName(o.rejection->reason))
        .String("field", o.rejection->field)
        .String("message", o.rejection->message)
        .Close();
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

absl::StatusOr<std::vector<LineOutcome>> Writer::Ingest(std::string_view body, const LineGate& gate,
                                                         const std::function<void()>& before_attempt) {
  if (before_attempt) before_attempt();
  auto outcomes = IngestLines(body, *options_.log, *options_.state, absl::Now(), gate);
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
    if (before_attempt) before_attempt();
    outcomes = IngestLines(body, *options_.log, *options_.state, absl::Now(), gate);
  }
  return outcomes;
}

absl::StatusOr<LineOutcome> Writer::TakeEvent(const events::Event& event) {
  TORI_ASSIGN_OR_RETURN(auto outcomes, Ingest(EventToJson(event), {}, {}));
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
  std::unique_lock lock(*options_.state_mutex);
  const LogPosition end = options_.log->End();
  if (!(options_.state->applied() == end) || !followed_once_) {
    TORI_RETURN_IF_ERROR(CatchUp(*options_.log, *options_.state).status());
    TORI_RETURN_IF_ERROR(RefreshAccessList(*options_.state, *options_.access));
    followed_once_ = true;
  }
  const int64_t lag = std::max<int64_t>(0, LagEvents(options_.state->applied(), end));
  if (options_.metrics != nullptr) options_.metrics->SetLogLagEvents(lag);
  lock.unlock();
  // Posts go on meanwhile: a flush persists the state as of one commit, all families at
  // once (atomic_flush), whichever commit it is (StateStore: Flush on any thread).
  const absl::Time now = absl::Now();
  if (unflushed_posts_.load() > 0 && now - last_flush_ >= kStateFlushInterval) {
    unflushed_posts_ = 0;
    last_flush_ = now;
    TORI_RETURN_IF_ERROR(options_.state->Flush());
  }
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
  PendingWrite pending;
  pending.body = body;
  pending.events = events;
  if (request.caller->role == Role::kIntake) pending.intake_point = &request.caller->service_point_id;
  {
    // One post at a time leads: it takes the state and every write queued then, in one
    // IngestLines call. The others wait here, not for the state: a post whose group is
    // done returns at once, even while the next group holds the state.
    std::unique_lock queue_lock(queue_mutex_);
    queue_.push_back(&pending);
    while (!pending.done) {
      if (leading_) {
        group_done_.wait(queue_lock);
        continue;
      }
      leading_ = true;
      queue_lock.unlock();
      {
        std::lock_guard lock(*options_.state_mutex);
        TakeQueuedWrites();
      }
      queue_lock.lock();
      leading_ = false;
      group_done_.notify_all();
    }
  }
  absl::StatusOr<std::vector<LineOutcome>> outcomes = std::move(pending.outcomes);
  if (!outcomes.ok()) return WriteFailed(outcomes.status());
  // A host may post grants and revocations as events too: they hold from now on.
  if (request.caller->role == Role::kHost && body.find("\"access_") != std::string_view::npos) {
    std::lock_guard lock(*options_.state_mutex);
    if (absl::Status s = RefreshAccessList(*options_.state, *options_.access); !s.ok()) return WriteFailed(s);
  }
  const std::vector<LineOutcome>& all = *outcomes;
  const std::set<uint64_t>& forbidden_lines = pending.forbidden_lines;
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
  try {
    RunGroup(batch);
  } catch (const std::exception& e) {  // e.g. bad_alloc: the group fails, its posts are answered
    for (PendingWrite* write : batch) {
      write->outcomes = absl::InternalError(fmt::format("the write failed: {}", e.what()));
    }
  }
  // Answered: the leader wakes the group's posts (PostEvents) once it is done.
  std::lock_guard queue_lock(queue_mutex_);
  for (PendingWrite* write : batch) write->done = true;
}

void Writer::RunGroup(const std::vector<PendingWrite*>& batch) {
  // The bodies one after another, each ending with a newline: body i's line n is line
  // first_line[i] + n of the whole, as IngestLines numbers lines. One body is taken as
  // it is.
  std::string joined;
  std::vector<uint64_t> first_line;
  uint64_t lines = 0;
  for (const PendingWrite* write : batch) {
    first_line.push_back(lines);
    lines += static_cast<uint64_t>(std::count(write->body.begin(), write->body.end(), '\n'));
    if (batch.size() == 1) break;
    joined.append(write->body);
    if (!write->body.empty() && write->body.back() != '\n') {
      joined.push_back('\n');
      ++lines;
    }
  }
  const std::string_view whole = batch.size() == 1 ? batch[0]->body : std::string_view(joined);
  // The body (in `batch`) a line of the whole belongs to: the last that starts before it.
  auto body_of = [&first_line](uint64_t line) {
    return static_cast<size_t>(std::upper_bound(first_line.begin(), first_line.end(), line - 1) -
                               first_line.begin()) - 1;
  };
  // An intake's lines pass its scope at their place in the whole, after the lines before
  // them, of its body and of the bodies before it, were judged.
  const bool any_intake =
      std::any_of(batch.begin(), batch.end(), [](const PendingWrite* w) { return w->intake_point != nullptr; });
  LineGate gate;
  if (any_intake) {
    gate = [&](uint64_t line, const ParsedEvent& parsed,
               const ContactPointLookup& contact_point) -> absl::StatusOr<std::optional<Rejection>> {
      PendingWrite* write = batch[body_of(line)];
      if (write->intake_point == nullptr) return std::nullopt;
      TORI_ASSIGN_OR_RETURN(std::optional<Rejection> refused,
                            IntakeRefusal(*write->intake_point, parsed, contact_point));
      if (refused) write->forbidden_lines.insert(line - first_line[body_of(line)]);
      return refused;
    };
  }
  auto outcomes = Ingest(whole, gate, [&batch] {
    for (PendingWrite* write : batch) write->forbidden_lines.clear();
  });
  for (PendingWrite* write : batch) {
    if (!outcomes.ok()) {
      write->outcomes = outcomes.status();
    } else {
      write->outcomes = std::vector<LineOutcome>();
    }
  }
  if (outcomes.ok()) {
    ++unflushed_posts_;
    for (LineOutcome& outcome : *outcomes) {
      const size_t i = body_of(outcome.line);
      outcome.line -= first_line[i];
      batch[i]->outcomes->push_back(std::move(outcome));
    }
  }
}

}  // namespace tori::server
