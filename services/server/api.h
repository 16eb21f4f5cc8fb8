// The API of `tori serve` over the state (SPEC section 7): the route table's handlers,
// answering from the same library functions as the command line, so an answer is
// byte for byte what `tori explain --json`, `tori verify --json`, `tori reconcile
// --json` print (GET answers end with the newline the command line prints), and an
// invoice is byte for byte its object in invoices.json.
//
// Isolation: a host or agency caller sees only the invoices its agency issues or
// receives, reconciles only its own agency, and gets 404 for anything else, exactly
// as for what does not exist. Auditors see everything.
//
// The state is read one request at a time (StateStore is single-threaded): handlers
// that read it hold one mutex; health, readiness and metrics never wait for it.
// Explanations, the quarter's reports and the e-invoices replay the log up to the
// document's as_of (hundreds of ms) the first time only: the answer is kept in a
// ReadCache keyed by the issued documents (read_cache.h). The replay runs outside the
// state's mutex (the issued documents read under it first; the log read through a
// LockedReadLog, locked_read_log.h), so a cold explanation holds up no other request.
//
// Thread safety: Handle may be called from any number of threads at once.
#ifndef TORI_SERVICES_SERVER_API_H_
#define TORI_SERVICES_SERVER_API_H_

#include <atomic>
#include <condition_variable>
#include <thread>
#include <cstdio>
#include <semaphore>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>

#include "events/log/event_log.h"
#include "services/server/access.h"
#include "services/server/http_server.h"
#include "services/server/metrics.h"
#include "services/server/portal.h"
#include "services/server/read_cache.h"
#include "services/audit/audit.h"
#include "services/billing/billing.h"
#include "services/server/router.h"
#include "services/state/state_store.h"

namespace tori::server {

struct ApiOptions {
  EventLog* log = nullptr;      // read only here (more_handlers may write)
  StateStore* state = nullptr;  // read only here (more_handlers may write)
  std::string scratch_dir;      // replays of explain and verify, request bodies; emptied per use
  // The data directory's path: the Merkle trees (DIR/merkle) and signed checkpoints
  // (DIR/checkpoints) proofs are read from, never written. Empty: no proofs (404).
  std::string data_dir;
  const AccessList* access = nullptr;
  // One JSON line per request (time, remote, method, route, status, bytes, duration_ms,
  // token_id, role): never a token, a query or a body. Null: none.
  std::FILE* access_log = nullptr;
  // Handlers this library does not have, by route name ("POST /v1/events"): the write
  // routes (write_routes.h). They use the state under `state_mutex` as the reads do.
  std::map<std::string, RouteHandler> more_handlers;
  // The mutex around the state, shared with `more_handlers`; null: the Api's own.
  std::mutex* state_mutex = nullptr;
  bool portal_secure_cookies = false;  // served over TLS: the portal's cookies are Secure
  // The cache of explanations, reports and e-invoices (read_cache.h); 0: none kept.
  size_t read_cache_bytes = kReadCacheBytesMax;
  // Keep the latest quarter's explanations (whole invoice, JSON) and its Finnish reports
  // computed ahead: a thread checks the issued documents every second and replays what
  // changed (outside the state's mutex), so that the first reads after a bill do not
  // all wait for replays. `tori serve` sets it; tests leave it off.
  bool warm_reads = false;
};

// The hosts of the state's service points: the agencies a host token may act for.
absl::StatusOr<std::set<std::string>> HostsOfPoints(StateStore& state);

class Api {
 public:
  explicit Api(ApiOptions options);
  ~Api();
  Api(const Api&) = delete;
  Api& operator=(const Api&) = delete;
  HttpResponse Handle(const HttpRequest& request);
  const Router& router() const { return router_; }
  Metrics& metrics() { return metrics_; }
  const ReadCache& read_cache() const { return read_cache_; }

 private:
  std::vector<RouteHandler> Handlers();
  // The kept answer `key` from `issued`, or, on a miss, the answers `replay` computes
  // (key -> bytes; `key` among them), kept and returned. Called WITHOUT the state's
  // mutex: `replay` reads the log through a LockedReadLog and a scratch directory of
  // its own, at most kReplaysMax at once; a request that waited for a slot finds what
  // the one before computed.
  using Replay = std::function<absl::StatusOr<std::map<std::string, std::string>>(EventLog& log,
                                                                                 const std::string& scratch_dir)>;
  absl::StatusOr<std::shared_ptr<const std::string>> Replayed(const std::string& key, const IssuedSnapshot& issued,
                                                              const Replay& replay);
  static constexpr int kReplaysMax = 2;  // the machine's cores
  absl::StatusOr<std::shared_ptr<const std::string>> ReplayedExplanation(const std::string& key,
                                                                         const ExplainRequest& explain,
                                                                         const IssuedSnapshot& issued);
  // `key`: the xlsx's or the html's; both are kept.
  absl::StatusOr<std::shared_ptr<const std::string>> ReplayedReport(const std::string& key, engine::Quarter quarter,
                                                                    documents::Language language,
                                                                    const IssuedSnapshot& issued);
  void WarmLoop();  // ApiOptions::warm_reads
  ApiOptions options_;
  Metrics metrics_;
  ReadCache read_cache_;
  std::counting_semaphore<kReplaysMax> replay_slots_{kReplaysMax};
  std::atomic<uint64_t> replays_started_{0};  // names each replay's scratch directory
  std::mutex own_state_mutex_;
  std::mutex& state_mutex_;  // options_.state_mutex, or own_state_mutex_
  Router router_;
  std::unique_ptr<Portal> portal_;  // "/" and "/portal/...": pages over router_
  std::mutex warm_mutex_;
  std::condition_variable warm_wakeup_;
  bool stopping_ = false;  // under warm_mutex_
  std::thread warmer_;     // last: started after everything it uses, joined first
};

}  // namespace tori::server

#endif  // TORI_SERVICES_SERVER_API_H_
