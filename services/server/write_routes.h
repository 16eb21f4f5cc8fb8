// The write side of `tori serve` (SPEC section 7): POST /v1/events, POST /v1/access and
// DELETE /v1/access/{token_id}, and the following of the log. Library tori_server_write,
// the one part of the server that depends on ingest (the read API, tori_server, never
// writes).
//
// One writer. A serve that writes is the state's one writer: every write goes through
// IngestLines (the rules and code path of `tori ingest`: parse, validate, append durably,
// apply to the state, then answer), under the same mutex as every read of the state, so
// writes are serialised and a read sees the state between two writes, never inside one.
// Grants and revocations are events on that same path; once the event is durable the
// running serve's access list changes before the answer is sent, so a revoked token is
// refused from the next request on.
//
// Several writers (Kafka: two serve replicas on one topic, or a `tori ingest --kafka`
// beside a serve). The topic has one writer at a time (KafkaLog, "One writer"): opening
// as the writer fences the one before, whose open transaction is aborted. A serve whose
// write is fenced regains the writer (fencing the other in turn) and runs the write
// again: IngestLines first catches up with everything committed before the fence, and
// nothing of the fenced writer can be committed after it, so each event is judged
// against every event before it in log order: the same event_id posted to two
// replicas at once is taken once (the second is a duplicate), a conflicting one is
// DUPLICATE_CONFLICT.
//
// Following. Follow() applies what another writer appended to the log (on Kafka: a
// `tori ingest --kafka`, `tori access revoke --kafka` of another process) and refreshes
// the access list from the state's grants and revocations; `tori serve` calls it about
// four times a second. Its lag (events in the log the state has not applied) goes to the
// metrics and /readyz.
//
// Who may post what (ARCHITECTURE.md, "The service"):
//   - a host posts any event, as `tori ingest` on the host's machine does;
//   - an intake posts contact_recorded, contact_corrected, contact_voided and
//     room_booked events of its own service point (a correction or void: of a contact
//     recorded at its point); any other line is answered `rejected`, reason FORBIDDEN,
//     field service_point_id (or type), and the rules never judge it (IngestLines' gate,
//     asked at the line's place: a contact recorded by an earlier line, also of another
//     post of the same group commit, counts as recorded); the other lines of the
//     body are taken;
//   - a host grants host tokens of its own agency, intake tokens of the points it hosts
//     and agency tokens of its agency and of the parties to agreements at its points
//     (404 for any other, as for what does not exist); auditor tokens only on the
//     command line (403); it revokes the same grants, and 404 for every other.
//
// Thread safety: the handlers may be called from any number of threads at once; Follow
// from any one thread.
#ifndef TORI_SERVICES_SERVER_WRITE_ROUTES_H_
#define TORI_SERVICES_SERVER_WRITE_ROUTES_H_

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "events/log/event_log.h"
#include "events/codec/codec.h"
#include "services/server/access.h"
#include "services/server/metrics.h"
#include "services/ingest/ingest.h"
#include "services/server/router.h"
#include "services/state/state_store.h"

namespace tori::server {

struct WriterOptions {
  EventLog* log = nullptr;        // written; used only under `state_mutex`
  StateStore* state = nullptr;    // written; used only under `state_mutex`
  std::mutex* state_mutex = nullptr;  // the read API's (ApiOptions::state_mutex)
  InMemoryAccessList* access = nullptr;  // the router's
  Metrics* metrics = nullptr;     // may be null (set_metrics)
  // Kafka: makes `log` the topic's writer again after another process fenced it (an
  // Append failed with FailedPrecondition). Empty: a fenced write fails (503).
  std::function<absl::Status()> regain_writer;
};

// Posts are durable once the log's append is synced; the state commits them to RocksDB's
// memtables without a WAL and without a flush per post (BENCHMARKS.md, tenth session),
// so a crash loses the unflushed commits and the next start replays them from the log
// (ARCHITECTURE.md, "The service"). Follow flushes the state when posts were taken and
// the last flush is this old, to keep that replay short; a stopping serve's state
// flushes as it closes.
inline constexpr absl::Duration kStateFlushInterval = absl::Seconds(30);

// How often one write regains a fenced writer before it answers 503.
inline constexpr int kRegainAttemptsMax = 8;

// The most bytes a token_id in a path may have; longer ones are 404 unread.
inline constexpr size_t kTokenIdBytesMax = 128;

class Writer {
 public:
  explicit Writer(WriterOptions options) : options_(options) {}
  // The handlers by route name ("POST /v1/events", ...), for ApiOptions::more_handlers.
  std::map<std::string, RouteHandler> Handlers();
  void set_metrics(Metrics* metrics) { options_.metrics = metrics; }
  // Applies every event another writer appended, refreshes the grants, and returns the
  // lag left (0 once caught up); flushes the state when due (kStateFlushInterval), without
  // holding the state's mutex. From one thread at a time.
  absl::StatusOr<int64_t> Follow();
  // How many posts wait for the state now (tests: to hold posts in one group commit).
  size_t queued_writes() {
    std::lock_guard lock(queue_mutex_);
    return queue_.size();
  }

 private:
  HttpResponse PostEvents(const RouteRequest& request);
  HttpResponse PostAccess(const RouteRequest& request);
  HttpResponse DeleteAccess(const RouteRequest& request);
  // IngestLines (with `gate`), once more after regaining the writer when another one
  // fenced this one; `before_attempt` (may be empty) runs before each attempt.
  absl::StatusOr<std::vector<LineOutcome>> Ingest(std::string_view body, const LineGate& gate,
                                                  const std::function<void()>& before_attempt);
  absl::StatusOr<LineOutcome> TakeEvent(const events::Event& event);

  // Group commit: a POST /v1/events body waiting for the state. The thread that holds
  // the state takes every body queued then (up to kIngestLinesMax events in all) as one
  // IngestLines call, so concurrent posts share one append, sync and commit; each gets
  // the outcomes of its own lines, numbered as in its body. An intake's lines pass its
  // scope in that call (IngestLines' gate), each at its place: a correction may follow
  // its contact's recording in another request of the same group.
  struct PendingWrite {
    std::string_view body;
    size_t events = 0;
    const std::string* intake_point = nullptr;  // an intake's: its service point
    // Written by the group's leader; read by the post once `done` (under queue_mutex_).
    absl::StatusOr<std::vector<LineOutcome>> outcomes;
    std::set<uint64_t> forbidden_lines;  // refused by the intake's scope (FORBIDDEN)
    bool done = false;
  };
  // The leader's work: takes the queued writes (at least the oldest one) and marks them
  // done; under state_mutex.
  void TakeQueuedWrites();
  // Ingests `batch`'s bodies as one and gives each its outcomes (or the error).
  void RunGroup(const std::vector<PendingWrite*>& batch);
  std::mutex queue_mutex_;
  std::deque<PendingWrite*> queue_;  // under queue_mutex_; bounded by the requests in flight
  bool leading_ = false;              // under queue_mutex_: a post is taking a group
  std::condition_variable group_done_;  // a group is done (or no post leads)
  WriterOptions options_;
  bool followed_once_ = false;  // under state_mutex
  std::atomic<uint64_t> unflushed_posts_{0};  // groups committed since Follow's last flush
  absl::Time last_flush_ = absl::Now();       // Follow's thread
};

// Events in the log after `applied` (per partition, summed).
int64_t LagEvents(const LogPosition& applied, const LogPosition& end);

// Adds to `access` the grants in the state's index it does not have yet, and revokes
// those the index says are revoked; `count` (may be null) gets how many grants the index
// holds. Never removes a grant (a grant is only ever revoked).
absl::Status RefreshAccessList(StateStore& state, InMemoryAccessList& access, size_t* count = nullptr);

// The events `tori access grant` and `revoke` (and the API) append: the grant's event_id
// is access-granted-TOKEN_ID; a revocation's names the moment too, so that a second
// revocation meets the rule (revoked already), not the event_id's idempotency check.
// `granted_by_agency_id`: the host agency granting through the API; empty on the machine.
events::Event GrantEvent(const NewToken& token, std::string_view role, std::string_view name,
                         std::string_view agency_id, std::string_view service_point_id, absl::Time now,
                         std::string_view granted_by_agency_id = "");
events::Event RevokeEvent(std::string_view token_id, absl::Time now);

}  // namespace tori::server

#endif  // TORI_SERVICES_SERVER_WRITE_ROUTES_H_
