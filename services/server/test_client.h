// A small synchronous HTTP/1.1 client on Beast for tests (plain or TLS without
// certificate checks: tests use self-signed certificates on 127.0.0.1).
#ifndef TORI_SERVICES_SERVER_TEST_CLIENT_H_
#define TORI_SERVICES_SERVER_TEST_CLIENT_H_

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <string>

namespace tori::server::testing {

struct Reply {
  int status = -1;  // -1: no answer (the error is in body)
  std::string body;
  std::string content_type;
  std::string retry_after;
};

inline Reply Fetch(uint16_t port, const std::string& method, const std::string& target,
                   const std::string& token = "", const std::string& body = "", bool tls = false) {
  namespace asio = boost::asio;
  namespace beast = boost::beast;
  namespace http = beast::http;
  Reply reply;
  try {
    asio::io_context ioc;
    asio::ssl::context ctx(asio::ssl::context::tls_client);
    ctx.set_verify_mode(asio::ssl::verify_none);
    http::request<http::string_body> req{http::string_to_verb(method), target, 11};
    req.set(http::field::host, "127.0.0.1");
    if (!token.empty()) req.set(http::field::authorization, "Bearer " + token);
    req.body() = body;
    req.prepare_payload();
    beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.body_limit(64 * 1024 * 1024);
    const asio::ip::tcp::endpoint endpoint(asio::ip::make_address("127.0.0.1"), port);
    if (tls) {
      beast::ssl_stream<beast::tcp_stream> stream(ioc, ctx);
      beast::get_lowest_layer(stream).connect(endpoint);
      stream.handshake(asio::ssl::stream_base::client);
      http::write(stream, req);
      http::read(stream, buffer, parser);
    } else {
      beast::tcp_stream stream(ioc);
      stream.connect(endpoint);
      http::write(stream, req);
      http::read(stream, buffer, parser);
    }
    auto& res = parser.get();
    reply.status = static_cast<int>(res.result_int());
    reply.body = res.body();
    reply.content_type = std::string(res[http::field::content_type]);
    reply.retry_after = std::string(res[http::field::retry_after]);
  } catch (const std::exception& e) {
    reply.body = e.what();
  }
  return reply;
}

}  // namespace tori::server::testing

#endif  // TORI_SERVICES_SERVER_TEST_CLIENT_H_
