// HttpServer on Boost.Beast: one Session per connection, plain or TLS (the same code
// over two stream types), reading with deadlines and limits, handlers on their own pool.
#include "services/server/http_server.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <optional>
#include <thread>

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include "events/base/json_text.h"
#include "fmt/format.h"

namespace tori::server {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

using BeastRequest = http::request<http::string_body>;
using BeastResponse = http::response<http::string_body>;

std::chrono::nanoseconds Chrono(absl::Duration d) { return absl::ToChronoNanoseconds(d); }

HttpRequest FromBeast(const BeastRequest& r, std::string remote) {
  HttpRequest request;
  request.method = std::string(r.method_string());
  request.target = std::string(r.target());
  if (auto it = r.find(http::field::authorization); it != r.end()) {
    request.authorization = std::string(it->value());
  }
  if (auto it = r.find(http::field::content_type); it != r.end()) {
    request.content_type = std::string(it->value());
  }
  if (auto it = r.find(http::field::cookie); it != r.end()) request.cookie = std::string(it->value());
  if (auto it = r.find(http::field::accept_language); it != r.end()) {
    request.accept_language = std::string(it->value());
  }
  request.body = r.body();
  request.remote = std::move(remote);
  return request;
}

BeastResponse ToBeast(const HttpResponse& r, unsigned version, bool keep_alive) {
  BeastResponse res;
  res.version(version);
  res.result(static_cast<unsigned>(r.status));
  res.set(http::field::server, "tori");
  res.set(http::field::content_type, r.content_type);
  res.set(http::field::cache_control, "no-store");
  res.set("X-Content-Type-Options", "nosniff");
  // Set-Cookie may come more than once (RFC 6265 section 3); any other header replaces.
  for (const auto& [name, value] : r.headers) {
    if (beast::iequals(name, "Set-Cookie")) {
      res.insert(name, value);
    } else {
      res.set(name, value);
    }
  }
  res.body() = r.body;
  res.keep_alive(keep_alive);
  res.prepare_payload();
  return res;
}

// The answer to a read that failed, or nullopt when the connection just ends (the
// peer closed, a deadline passed: the stream is closed already).
std::optional<HttpResponse> ReadErrorResponse(const beast::error_code& ec, size_t body_bytes_max) {
  if (ec == http::error::body_limit) {
    return ErrorResponse(413, "BODY_TOO_LARGE",
                         fmt::format("the body is over the limit of {} bytes; send fewer events per "
                                     "request", body_bytes_max));
  }
  if (ec == http::error::header_limit) {
    return ErrorResponse(431, "HEADER_TOO_LARGE",
                         fmt::format("the request line and headers are over {} bytes", kHeaderBytesMax));
  }
  if (ec.category() == make_error_code(http::error::end_of_stream).category() && ec != http::error::end_of_stream &&
      ec != http::error::partial_message) {
    return ErrorResponse(400, "BAD_REQUEST", fmt::format("malformed HTTP request: {}", ec.message()));
  }
  return std::nullopt;
}

// What every session shares; owned by the server, outlives every session (Stop joins
// all threads before it is destroyed).
// One request class's handler threads and the count of its requests in flight.
struct ClassState {
  RequestClass limits;
  std::unique_ptr<asio::thread_pool> pool;
  std::atomic<int> in_flight{0};
};

struct Shared {
  HttpServerOptions options;
  HttpHandler handler;
  std::vector<std::unique_ptr<ClassState>> classes;  // never empty
  std::atomic<int> connections{0};

  ClassState& ClassOf(const BeastRequest& request) const {
    size_t i = 0;
    if (options.classify) i = options.classify(request.method_string(), request.target());
    return *classes[std::min(i, classes.size() - 1)];
  }
};

HttpResponse OverloadedResponse(const RequestClass& limits) {
  HttpResponse r = ErrorResponse(
      503, "OVERLOADED",
      fmt::format("too many requests of this kind ({}) in flight, more than {}; retry after the time in "
                  "Retry-After", limits.name, limits.in_flight_max));
  r.headers.emplace_back("Retry-After", "1");
  return r;
}

template <class Stream>
class Session : public std::enable_shared_from_this<Session<Stream>> {
  static constexpr bool kTls = !std::is_same_v<Stream, beast::tcp_stream>;

 public:
  Session(Stream stream, Shared* shared, std::string remote)
      : stream_(std::move(stream)), shared_(shared), remote_(std::move(remote)) {}
  ~Session() { --shared_->connections; }

  void Run() {
    if constexpr (kTls) {
      Lowest().expires_after(Chrono(shared_->options.header_timeout));
      stream_.async_handshake(ssl::stream_base::server,
                              [self = this->shared_from_this()](beast::error_code ec) {
                                if (!ec) self->ReadHeader(/*first=*/true);
                              });
    } else {
      ReadHeader(/*first=*/true);
    }
  }

 private:
  beast::tcp_stream& Lowest() { return beast::get_lowest_layer(stream_); }

  void ReadHeader(bool first) {
    parser_.emplace();
    parser_->header_limit(kHeaderBytesMax);
    parser_->body_limit(shared_->options.body_bytes_max);
    // The first request's head must come within header_timeout; a kept-alive
    // connection may wait idle_timeout for the next one.
    Lowest().expires_after(Chrono(first ? shared_->options.header_timeout : shared_->options.idle_timeout));
    http::async_read_header(stream_, buffer_, *parser_,
                            [self = this->shared_from_this()](beast::error_code ec, size_t) {
                              self->OnHeader(ec);
                            });
  }

  void OnHeader(beast::error_code ec) {
    if (ec) return OnReadError(ec);
    Lowest().expires_after(Chrono(shared_->options.body_timeout));
    http::async_read(stream_, buffer_, *parser_,
                     [self = this->shared_from_this()](beast::error_code ec, size_t) { self->OnBody(ec); });
  }

  void OnBody(beast::error_code ec) {
    if (ec) return OnReadError(ec);
    Lowest().expires_never();
    BeastRequest request = parser_->release();
    version_ = request.version();
    keep_alive_ = request.keep_alive();
    ClassState& klass = shared_->ClassOf(request);
    if (klass.in_flight.fetch_add(1) >= klass.limits.in_flight_max) {
      --klass.in_flight;
      return Write(OverloadedResponse(klass.limits));
    }
    asio::post(*klass.pool, [self = this->shared_from_this(), &klass,
                             request = FromBeast(request, remote_)]() mutable {
      HttpResponse response;
      try {
        response = self->shared_->handler(request);
      } catch (const std::exception& e) {  // e.g. bad_alloc: the request fails, not the server
        response = ErrorResponse(500, "INTERNAL", fmt::format("the request failed: {}", e.what()));
      }
      --klass.in_flight;
      auto executor = self->stream_.get_executor();
      asio::post(executor, [self = std::move(self), response = std::move(response)]() mutable {
        self->Write(response);
      });
    });
  }

  void OnReadError(const beast::error_code& ec) {
    if (parser_ && parser_->is_header_done()) version_ = parser_->get().version();
    if (auto response = ReadErrorResponse(ec, shared_->options.body_bytes_max)) {
      keep_alive_ = false;  // the rest of the stream cannot be trusted to frame requests
      return Write(*response);
    }
    Close();
  }

  void Write(const HttpResponse& response) {
    response_ = std::make_shared<BeastResponse>(ToBeast(response, version_, keep_alive_));
    // A client that does not read its answer is dropped like one that does not send.
    Lowest().expires_after(Chrono(shared_->options.body_timeout));
    http::async_write(stream_, *response_,
                      [self = this->shared_from_this()](beast::error_code ec, size_t) {
                        if (ec) return;
                        if (self->response_->need_eof()) return self->Close();
                        self->ReadHeader(/*first=*/false);
                      });
  }

  void Close() {
    if constexpr (kTls) {
      Lowest().expires_after(std::chrono::seconds(1));
      stream_.async_shutdown([self = this->shared_from_this()](beast::error_code) {
        beast::error_code ignored;
        self->Lowest().socket().close(ignored);
      });
    } else {
      beast::error_code ignored;
      Lowest().socket().shutdown(tcp::socket::shutdown_send, ignored);
    }
  }

  Stream stream_;
  Shared* shared_;
  std::string remote_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::shared_ptr<BeastResponse> response_;
  unsigned version_ = 11;
  bool keep_alive_ = true;
};

class ServerImpl final : public HttpServer {
 public:
  ServerImpl(const HttpServerOptions& options, HttpHandler handler)
      : ioc_(options.io_threads), acceptor_(ioc_), tls_context_(ssl::context::tls_server) {
    shared_.options = options;
    shared_.handler = std::move(handler);
    std::vector<RequestClass> classes = options.request_classes;
    if (classes.empty()) {
      classes.push_back({.name = "requests", .handler_threads = options.handler_threads,
                         .in_flight_max = options.requests_in_flight_max});
    }
    for (const RequestClass& limits : classes) {
      auto klass = std::make_unique<ClassState>();
      klass->limits = limits;
      klass->pool = std::make_unique<asio::thread_pool>(static_cast<size_t>(limits.handler_threads));
      shared_.classes.push_back(std::move(klass));
    }
  }
  ~ServerImpl() override { Stop(); }

  absl::Status Listen() {
    const HttpServerOptions& options = shared_.options;
    tls_ = !options.tls_cert_path.empty();
    beast::error_code ec;
    if (tls_) {
      tls_context_.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                               ssl::context::no_sslv3 | ssl::context::no_tlsv1 |
                               ssl::context::no_tlsv1_1 | ssl::context::single_dh_use);
      tls_context_.use_certificate_chain_file(options.tls_cert_path, ec);
      if (ec) {
        return absl::InvalidArgumentError(fmt::format(
            "--tls-cert {}: {} (a PEM certificate chain is expected)", options.tls_cert_path, ec.message()));
      }
      tls_context_.use_private_key_file(options.tls_key_path, ssl::context::pem, ec);
      if (ec) {
        return absl::InvalidArgumentError(fmt::format(
            "--tls-key {}: {} (a PEM private key matching --tls-cert is expected)", options.tls_key_path,
            ec.message()));
      }
    }
    const auto address = asio::ip::make_address(options.address, ec);
    if (ec) {
      return absl::InvalidArgumentError(
          fmt::format("--listen: '{}' is no IP address: {}", options.address, ec.message()));
    }
    const tcp::endpoint endpoint(address, options.port);
    acceptor_.open(endpoint.protocol(), ec);
    if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(endpoint, ec);
    if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
      return absl::UnavailableError(fmt::format("cannot listen on {}:{}: {} (is another server on that "
                                                "port? choose another with --listen)",
                                                options.address, options.port, ec.message()));
    }
    port_ = acceptor_.local_endpoint().port();
    Accept();
    for (int i = 0; i < options.io_threads; ++i) threads_.emplace_back([this] { ioc_.run(); });
    return absl::OkStatus();
  }

  uint16_t port() const override { return port_; }

  void Stop() override {
    if (stopped_.exchange(true)) return;
    asio::post(ioc_, [this] {
      beast::error_code ignored;
      acceptor_.close(ignored);
    });
    ioc_.stop();
    for (auto& t : threads_) t.join();
    threads_.clear();
    // Handlers still running finish; their answers are dropped.
    for (auto& klass : shared_.classes) klass->pool->join();
  }

 private:
  void Accept() {
    acceptor_.async_accept(asio::make_strand(ioc_), [this](beast::error_code ec, tcp::socket socket) {
      if (ec) {
        if (ec == asio::error::operation_aborted) return;
      } else if (shared_.connections.load() >= shared_.options.connections_max) {
        beast::error_code ignored;
        socket.close(ignored);
      } else {
        ++shared_.connections;
        beast::error_code remote_ec;
        const auto remote = socket.remote_endpoint(remote_ec);
        std::string remote_text = remote_ec ? "" : remote.address().to_string();
        if (tls_) {
          std::make_shared<Session<beast::ssl_stream<beast::tcp_stream>>>(
              beast::ssl_stream<beast::tcp_stream>(beast::tcp_stream(std::move(socket)), tls_context_),
              &shared_, std::move(remote_text))
              ->Run();
        } else {
          std::make_shared<Session<beast::tcp_stream>>(beast::tcp_stream(std::move(socket)), &shared_,
                                                       std::move(remote_text))
              ->Run();
        }
      }
      if (acceptor_.is_open()) Accept();
    });
  }

  Shared shared_;
  asio::io_context ioc_;
  tcp::acceptor acceptor_;
  ssl::context tls_context_;
  bool tls_ = false;
  uint16_t port_ = 0;
  std::vector<std::thread> threads_;
  std::atomic<bool> stopped_{false};
};

}  // namespace

HttpResponse ErrorResponse(int status, std::string_view reason, std::string_view message) {
  HttpResponse r;
  r.status = status;
  JsonObjectWriter(r.body).String("reason", reason).String("message", message).Close();
  r.body += "\n";
  return r;
}

HttpResponse HandleRequestBytes(std::string_view bytes, const HttpHandler& handler, size_t body_bytes_max) {
  http::request_parser<http::string_body> parser;
  parser.header_limit(kHeaderBytesMax);
  parser.body_limit(body_bytes_max);
  parser.eager(true);
  beast::error_code ec;
  size_t offset = 0;
  while (!parser.is_done() && offset < bytes.size()) {
    const size_t used = parser.put(asio::buffer(bytes.data() + offset, bytes.size() - offset), ec);
    offset += used;
    if (ec == http::error::need_more) {
      ec = {};
      if (used == 0) break;
      continue;
    }
    if (ec) break;
  }
  // put_eof on a parser that got nothing would finish an empty message (Beast only
  // asserts against it in debug builds).
  if (!ec && !parser.got_some()) ec = http::error::partial_message;
  if (!ec && !parser.is_done()) parser.put_eof(ec);
  if (ec) {
    if (auto response = ReadErrorResponse(ec, body_bytes_max)) return *response;
    return ErrorResponse(400, "BAD_REQUEST", fmt::format("incomplete HTTP request: {}", ec.message()));
  }
  return handler(FromBeast(parser.get(), "fuzz"));
}

size_t ClassifyServeRequest(std::string_view method, std::string_view target) {
  const std::string_view path = target.substr(0, target.find('?'));
  const bool get = method == "GET" || method == "HEAD";
  if (get) {
    return path == "/healthz" || path == "/readyz" || path == "/metrics" ? kProbeClass : kReadClass;
  }
  if (path.starts_with("/v1/") && path != "/v1/reconcile") return kWriteClass;
  return kReadClass;
}

std::vector<RequestClass> ServeRequestClasses() {
  return {{.name = "probes", .handler_threads = 2, .in_flight_max = 16},
          {.name = "writes", .handler_threads = 16, .in_flight_max = 64},
          {.name = "reads", .handler_threads = 8, .in_flight_max = 64}};
}

absl::StatusOr<std::unique_ptr<HttpServer>> HttpServer::Start(const HttpServerOptions& options,
                                                               HttpHandler handler) {
  if (options.tls_cert_path.empty() != options.tls_key_path.empty()) {
    return absl::InvalidArgumentError("TLS needs both --tls-cert and --tls-key");
  }
  if (options.io_threads < 1 || options.handler_threads < 1 || options.requests_in_flight_max < 1) {
    return absl::InvalidArgumentError("the server needs at least one thread of each kind and one request in flight");
  }
  for (const RequestClass& limits : options.request_classes) {
    if (limits.handler_threads < 1 || limits.in_flight_max < 1) {
      return absl::InvalidArgumentError(fmt::format(
          "the request class '{}' needs at least one handler thread and one request in flight", limits.name));
    }
  }
  auto server = std::make_unique<ServerImpl>(options, std::move(handler));
  if (absl::Status listening = server->Listen(); !listening.ok()) return listening;
  return std::unique_ptr<HttpServer>(std::move(server));
}

}  // namespace tori::server
