// The HTTP layer with real sockets: limits, timeouts, overload, keep-alive, TLS.
#include "services/server/http_server.h"

#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "gtest/gtest.h"
#include "services/server/test_client.h"

namespace tori::server {
namespace {

using testing::Fetch;

HttpResponse Echo(const HttpRequest& request) {
  HttpResponse r;
  r.body = request.method + " " + request.target + " " + std::to_string(request.body.size());
  return r;
}

std::unique_ptr<HttpServer> StartServer(HttpServerOptions options, HttpHandler handler = Echo) {
  options.port = 0;
  auto server = HttpServer::Start(options, std::move(handler));
  EXPECT_TRUE(server.ok()) << server.status();
  return server.ok() ? *std::move(server) : nullptr;
}

// A raw socket to the server, for clients that misbehave.
int Connect(uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  return fd;
}

std::string ReadAll(int fd) {
  std::string out;
  char chunk[4096];
  ssize_t n;
  while ((n = ::read(fd, chunk, sizeof chunk)) > 0) out.append(chunk, static_cast<size_t>(n));
  return out;
}

TEST(HttpServer, AnswersThroughTheHandler) {
  auto server = StartServer({});
  const auto reply = Fetch(server->port(), "POST", "/x?y=1", "", "abc");
  EXPECT_EQ(reply.status, 200);
  EXPECT_EQ(reply.body, "POST /x?y=1 3");
}

TEST(HttpServer, RefusesABodyOverTheLimitWith413) {
  HttpServerOptions options;
  options.body_bytes_max = 1000;
  auto server = StartServer(options);
  EXPECT_EQ(Fetch(server->port(), "POST", "/", "", std::string(1000, 'x')).status, 200);
  const auto reply = Fetch(server->port(), "POST", "/", "", std::string(1001, 'x'));
  EXPECT_EQ(reply.status, 413);
  EXPECT_NE(reply.body.find("BODY_TOO_LARGE"), std::string::npos);
}

TEST(HttpServer, RefusesAHeadOverTheLimitWith431) {
  auto server = StartServer({});
  const auto reply = Fetch(server->port(), "GET", "/" + std::string(kHeaderBytesMax, 'a'));
  EXPECT_EQ(reply.status, 431);
}

TEST(HttpServer, AnswersMalformedRequestsWith400AndCloses) {
  auto server = StartServer({});
  const int fd = Connect(server->port());
  const std::string garbage = "GET / HTTP/1.1\r\nContent-Length: banana\r\n\r\n";
  ASSERT_EQ(::write(fd, garbage.data(), garbage.size()), static_cast<ssize_t>(garbage.size()));
  const std::string answer = ReadAll(fd);  // returns: the server closes
  ::close(fd);
  EXPECT_TRUE(answer.starts_with("HTTP/1.1 400")) << answer;
}

TEST(HttpServer, ASlowClientIsDroppedAfterTheHeaderTimeoutAndStallsNoOne) {
  HttpServerOptions options;
  options.header_timeout = absl::Milliseconds(300);
  auto server = StartServer(options);
  // Half a request line, then nothing (slowloris).
  const int slow = Connect(server->port());
  ASSERT_EQ(::write(slow, "GET / HT", 8), 8);
  // Others are served meanwhile.
  const auto started = std::chrono::steady_clock::now();
  EXPECT_EQ(Fetch(server->port(), "GET", "/other").status, 200);
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::milliseconds(250));
  // The slow one is closed once its time is up.
  const std::string answer = ReadAll(slow);
  ::close(slow);
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(3));
  EXPECT_EQ(answer, "");
}

TEST(HttpServer, AClientThatStopsSendingItsBodyIsDroppedAfterTheBodyTimeout) {
  HttpServerOptions options;
  options.body_timeout = absl::Milliseconds(300);
  auto server = StartServer(options);
  const int fd = Connect(server->port());
  const std::string partial = "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n0123456789";
  ASSERT_EQ(::write(fd, partial.data(), partial.size()), static_cast<ssize_t>(partial.size()));
  const auto started = std::chrono::steady_clock::now();
  const std::string answer = ReadAll(fd);
  ::close(fd);
  EXPECT_EQ(answer, "");  // no request was handled
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(3));
}

TEST(HttpServer, KeepsAConnectionAliveForSeveralRequests) {
  auto server = StartServer({});
  const int fd = Connect(server->port());
  const std::string two = "GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  ASSERT_EQ(::write(fd, two.data(), two.size()), static_cast<ssize_t>(two.size()));
  const std::string answer = ReadAll(fd);
  ::close(fd);
  EXPECT_NE(answer.find("GET /a 0"), std::string::npos) << answer;
  EXPECT_NE(answer.find("GET /b 0"), std::string::npos) << answer;
}

TEST(HttpServer, AnswersBeyondTheRequestsInFlightWith503AndRetryAfter) {
  HttpServerOptions options;
  options.requests_in_flight_max = 1;
  std::atomic<bool> release{false};
  std::atomic<int> entered{0};
  auto server = StartServer(options, [&](const HttpRequest& r) {
    ++entered;
    while (!release) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    return Echo(r);
  });
  std::thread first([&] { EXPECT_EQ(Fetch(server->port(), "GET", "/slow").status, 200); });
  while (entered == 0) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  const auto reply = Fetch(server->port(), "GET", "/more");
  EXPECT_EQ(reply.status, 503);
  EXPECT_EQ(reply.retry_after, "1");
  release = true;
  first.join();
  EXPECT_EQ(Fetch(server->port(), "GET", "/after").status, 200);
}

// Class 0 ("slow"): one thread, two in flight; class 1 ("fast"): its own thread and cap.
// While class 0's thread is blocked and its cap is full, class 1 is answered at once and
// class 0 gets 503 with Retry-After naming its class.
TEST(HttpServer, OneClassBacklogNeverTakesAnothersThreadsOrSlots) {
  HttpServerOptions options;
  options.request_classes = {{.name = "slow", .handler_threads = 1, .in_flight_max = 1},
                             {.name = "fast", .handler_threads = 1, .in_flight_max = 1}};
  options.classify = [](std::string_view, std::string_view target) -> size_t {
    return target.starts_with("/slow") ? 0 : 1;
  };
  std::atomic<bool> release{false};
  std::atomic<int> entered{0};
  auto server = StartServer(options, [&](const HttpRequest& r) {
    if (r.target.starts_with("/slow")) {
      ++entered;
      while (!release) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return Echo(r);
  });
  // The first holds class 0's only thread and its only slot: class 0 is full. (Never a
  // second one in flight: one that reached the server after the refused one below would
  // wait for the thread, and the test with it.)
  std::thread first([&] { EXPECT_EQ(Fetch(server->port(), "GET", "/slow/1").status, 200); });
  while (entered == 0) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  const testing::Reply refused = Fetch(server->port(), "GET", "/slow/2");
  EXPECT_EQ(refused.status, 503);
  EXPECT_EQ(refused.retry_after, "1");
  EXPECT_NE(refused.body.find("slow"), std::string::npos) << refused.body;
  for (int i = 0; i < 5; ++i) {
    const auto fast = Fetch(server->port(), "GET", "/fast");
    EXPECT_EQ(fast.status, 200);
    EXPECT_EQ(fast.body, "GET /fast 0");
  }
  release = true;
  first.join();
  EXPECT_EQ(Fetch(server->port(), "GET", "/slow/after").status, 200);
}

TEST(HttpServer, RefusesARequestClassWithoutThreadsOrSlots) {
  HttpServerOptions options;
  options.request_classes = {{.name = "reads", .handler_threads = 0, .in_flight_max = 4}};
  auto server = HttpServer::Start(options, Echo);
  ASSERT_FALSE(server.ok());
  EXPECT_NE(server.status().message().find("'reads'"), std::string::npos) << server.status();
}

TEST(ClassifyServeRequest, ProbesWritesAndReadsByMethodAndPathOnly) {
  EXPECT_EQ(ClassifyServeRequest("GET", "/healthz"), kProbeClass);
  EXPECT_EQ(ClassifyServeRequest("GET", "/readyz"), kProbeClass);
  EXPECT_EQ(ClassifyServeRequest("GET", "/metrics"), kProbeClass);
  EXPECT_EQ(ClassifyServeRequest("GET", "/metrics?x=1"), kProbeClass);
  EXPECT_EQ(ClassifyServeRequest("HEAD", "/healthz"), kProbeClass);
  // Only those paths exactly, only read: a post to a probe's path is no probe.
  EXPECT_EQ(ClassifyServeRequest("POST", "/metrics"), kReadClass);
  EXPECT_EQ(ClassifyServeRequest("GET", "/metricsx"), kReadClass);
  EXPECT_EQ(ClassifyServeRequest("GET", "/healthz/"), kReadClass);
  EXPECT_EQ(ClassifyServeRequest("POST", "/v1/events"), kWriteClass);
  EXPECT_EQ(ClassifyServeRequest("POST", "/v1/quarters/2026Q1/bill"), kWriteClass);
  EXPECT_EQ(ClassifyServeRequest("POST", "/v1/quarters/2026Q1/approve"), kWriteClass);
  EXPECT_EQ(ClassifyServeRequest("POST", "/v1/access"), kWriteClass);
  EXPECT_EQ(ClassifyServeRequest("DELETE", "/v1/access/abc"), kWriteClass);
  EXPECT_EQ(ClassifyServeRequest("POST", "/v1/checkpoint"), kWriteClass);
  // Reconcile posts a CSV but only reads the state.
  EXPECT_EQ(ClassifyServeRequest("POST", "/v1/reconcile?agency=A&quarter=2026Q1"), kReadClass);
  EXPECT_EQ(ClassifyServeRequest("GET", "/v1/invoices?quarter=2026Q1"), kReadClass);
  EXPECT_EQ(ClassifyServeRequest("GET", "/v1/invoices/X/explain"), kReadClass);
  EXPECT_EQ(ClassifyServeRequest("GET", "/v1/events"), kReadClass);
  EXPECT_EQ(ClassifyServeRequest("GET", "/"), kReadClass);
  EXPECT_EQ(ClassifyServeRequest("POST", "/portal/login"), kReadClass);
  EXPECT_EQ(ClassifyServeRequest("POST", "/portal/reconcile"), kReadClass);
  EXPECT_EQ(ClassifyServeRequest("", ""), kReadClass);
  EXPECT_EQ(ServeRequestClasses().size(), 3u);
  EXPECT_EQ(ServeRequestClasses()[kProbeClass].name, "probes");
  EXPECT_EQ(ServeRequestClasses()[kWriteClass].name, "writes");
  EXPECT_EQ(ServeRequestClasses()[kReadClass].name, "reads");
}

TEST(HttpServer, NamesAMissingTlsFile) {
  HttpServerOptions options;
  options.port = 0;
  options.tls_cert_path = "/nonexistent/cert.pem";
  options.tls_key_path = "/nonexistent/key.pem";
  auto server = HttpServer::Start(options, Echo);
  ASSERT_FALSE(server.ok());
  EXPECT_NE(server.status().message().find("--tls-cert /nonexistent/cert.pem"), std::string::npos);
}

TEST(HttpServer, ServesTlsWithAGeneratedCertificate) {
  const std::string dir = ::testing::TempDir() + "/tls-" + std::to_string(::getpid());
  const std::string make = "mkdir -p " + dir + " && openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 -keyout " +
                           dir + "/key.pem -out " + dir + "/cert.pem 2>/dev/null";
  ASSERT_EQ(std::system(make.c_str()), 0);
  HttpServerOptions options;
  options.tls_cert_path = dir + "/cert.pem";
  options.tls_key_path = dir + "/key.pem";
  auto server = StartServer(options);
  const auto reply = Fetch(server->port(), "GET", "/secure", "", "", /*tls=*/true);
  EXPECT_EQ(reply.status, 200) << reply.body;
  EXPECT_EQ(reply.body, "GET /secure 0");
  // Plain HTTP to a TLS port gets no answer.
  EXPECT_EQ(Fetch(server->port(), "GET", "/plain").status, -1);
}

TEST(HandleRequestBytes, ParsesOneRequestWithoutSockets) {
  EXPECT_EQ(HandleRequestBytes("GET /a HTTP/1.1\r\nHost: x\r\n\r\n", Echo).body, "GET /a 0");
  EXPECT_EQ(HandleRequestBytes("POST /a HTTP/1.1\r\nContent-Length: 5000\r\n\r\n", Echo, 100).status, 413);
  EXPECT_EQ(HandleRequestBytes("\x01\x02", Echo).status, 400);
  EXPECT_EQ(HandleRequestBytes("", Echo).status, 400);
}

}  // namespace
}  // namespace tori::server
