// An HTTP/1.1 server on Boost.Beast for `tori serve` (SPEC section 7): keep-alive,
// optional TLS (OpenSSL through Beast's ssl_stream), and limits on everything a client
// controls, so that a slow or hostile client never stalls the others:
//
//   - request head at most 16 KiB (431), body at most 16 MiB (413): the parser stops
//     reading at the limit, before it buffers more;
//   - the head must arrive within header_timeout, the body within body_timeout, a TLS
//     handshake within header_timeout, an idle keep-alive connection is closed after
//     idle_timeout;
//   - requests fall into classes (HttpServerOptions::request_classes, chosen by `classify`
//     from the method and path alone, before the handler and its token check); each class
//     has its own handler threads and its own cap on requests in flight, beyond which its
//     answer is 503 with Retry-After, without running the handler. One class's backlog
//     (posts waiting for their group commit) never takes another's slots or threads;
//     without classes there is one, of handler_threads and requests_in_flight_max;
//   - connections at most connections_max (beyond: accepted and closed at once).
//
// Sockets are served by asynchronous I/O on `io_threads` threads; handlers (which may
// block on the state) run on their class's threads, so a long handler delays only
// requests of its class that wait for a handler, never the reading or writing of others.
//
// Thread safety: Start, port and Stop may be called from any one thread; the handler is
// called from several threads at once and must be thread-safe.
#ifndef TORI_SERVICES_SERVER_HTTP_SERVER_H_
#define TORI_SERVICES_SERVER_HTTP_SERVER_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace tori::server {

// One request as the handler sees it (header names in lower case).
struct HttpRequest {
  std::string method;  // "GET", "POST", ...
  std::string target;  // path and query as sent, e.g. "/v1/invoices?quarter=2026Q1"
  std::string authorization;  // the Authorization header, "" when absent
  std::string content_type;
  std::string cookie;           // the Cookie header (the portal's session), "" when absent
  std::string accept_language;  // the portal's language when none is chosen
  std::string body;
  std::string remote;  // peer address, for the access log
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers
};

using HttpHandler = std::function<HttpResponse(const HttpRequest&)>;

inline constexpr size_t kHeaderBytesMax = 16 * 1024;
inline constexpr size_t kBodyBytesMax = 16 * 1024 * 1024;  // SPEC section 7

// A class of requests: its own handler threads and its own cap on requests in flight
// (being handled or waiting for one of its threads).
struct RequestClass {
  std::string name;  // for messages, e.g. "reads"
  int handler_threads = 4;
  int in_flight_max = 64;
};

// Picks a request's class, an index into HttpServerOptions::request_classes, from the
// method and the target (path and query as sent) alone. Runs on an I/O thread before the
// handler: it must be cheap and must not block. An index out of range means the last class.
using RequestClassifier = std::function<size_t(std::string_view method, std::string_view target)>;

struct HttpServerOptions {
  std::string address = "127.0.0.1";
  uint16_t port = 8080;  // 0: an ephemeral port (see HttpServer::port)
  // Both or neither: PEM files of the certificate (chain) and its private key.
  std::string tls_cert_path;
  std::string tls_key_path;
  int io_threads = 2;
  int handler_threads = 4;
  size_t body_bytes_max = kBodyBytesMax;
  absl::Duration header_timeout = absl::Seconds(10);
  absl::Duration body_timeout = absl::Seconds(60);
  absl::Duration idle_timeout = absl::Seconds(30);
  int requests_in_flight_max = 64;
  // When not empty, these classes (and `classify`; without it every request is of the
  // first class) replace handler_threads and requests_in_flight_max.
  std::vector<RequestClass> request_classes;
  RequestClassifier classify;
  int connections_max = 1024;
};

// The request classes of `tori serve` (ARCHITECTURE.md, "The service"), by index:
//   kProbeClass: GET (or HEAD) /healthz, /readyz, /metrics: cheap, never wait for the state;
//   kWriteClass: every other method than GET and HEAD under /v1/ (posts of events,
//     bill, approve, access, checkpoint) except POST /v1/reconcile, which only reads;
//   kReadClass: everything else (GET /v1/..., the portal, its forms, reconcile).
inline constexpr size_t kProbeClass = 0;
inline constexpr size_t kWriteClass = 1;
inline constexpr size_t kReadClass = 2;
size_t ClassifyServeRequest(std::string_view method, std::string_view target);
// serve's classes, in the order of the indices above: probes 2 threads and 16 in flight,
// writes 16 threads (the more posts wait, the more one group commit takes) and 64, reads
// 8 threads and 64.
std::vector<RequestClass> ServeRequestClasses();

// The answer to a request that never reaches a handler (bad syntax, limits).
HttpResponse ErrorResponse(int status, std::string_view reason, std::string_view message);

// Parses `bytes` as one HTTP/1.1 request with the server's limits and returns the
// handler's answer, or the error answer the server would send (400, 413, 431). The
// socket-free path of the server, for the fuzz target and tests.
HttpResponse HandleRequestBytes(std::string_view bytes, const HttpHandler& handler,
                                size_t body_bytes_max = kBodyBytesMax);

class HttpServer {
 public:
  // Binds, listens and starts serving. Errors name the address or the TLS file.
  static absl::StatusOr<std::unique_ptr<HttpServer>> Start(const HttpServerOptions& options,
                                                           HttpHandler handler);
  virtual ~HttpServer() = default;
  virtual uint16_t port() const = 0;
  // Stops accepting, closes the connections, joins the threads. Idempotent.
  virtual void Stop() = 0;
};

}  // namespace tori::server

#endif  // TORI_SERVICES_SERVER_HTTP_SERVER_H_
