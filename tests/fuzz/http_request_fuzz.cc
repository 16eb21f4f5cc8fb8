// Raw request bytes (request line, headers, Authorization, body) through the server's
// parser and the route table: every input gets one of the statuses SPEC section 7 and
// the router give, never a crash; a request without the one valid token never reaches
// a handler of a route that needs one.
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>

#include "services/server/http_server.h"
#include "services/server/router.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using tori::server::AccessGrant;
using tori::server::HttpRequest;
using tori::server::HttpResponse;
using tori::server::RouteRequest;

// The token of the one grant (an agency's); seeds carry it in their Authorization.
constexpr char kToken[] = "0000000000000000000000000000000000000000000000000000000000000001";

struct Fixture {
  tori::server::InMemoryAccessList access;
  std::unique_ptr<tori::server::Router> router;
  Fixture() {
    AccessGrant grant{"fuzz", tori::Sha256Of(kToken), tori::server::Role::kAgency, "fuzz", "kela", "", false};
    FUZZ_CHECK(access.Grant(grant).ok(), "the fixture's grant");
    std::vector<tori::server::RouteHandler> handlers;
    for (size_t i = 0; i < std::size(tori::server::kRouteTable); ++i) {
      handlers.push_back([](const RouteRequest& r) {
        FUZZ_CHECK(r.route.public_route || (r.caller != nullptr && r.caller->token_id == "fuzz"),
                   "a handler ran for a request without the valid token");
        for (const auto& [name, value] : r.params) FUZZ_CHECK(!value.empty(), "an empty path parameter " + name);
        HttpResponse response;
        response.body = std::string(r.route.pattern);
        return response;
      });
    }
    handlers[0] = nullptr;  // one route without a handler: 501
    router = std::make_unique<tori::server::Router>(&access, std::move(handlers));
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Fixture* fixture = new Fixture();
  static const std::set<int> kStatuses = {200, 400, 401, 403, 404, 405, 413, 431, 501};
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  // A small body limit, so that inputs reach it.
  const HttpResponse response = tori::server::HandleRequestBytes(
      bytes, [&](const HttpRequest& request) { return fixture->router->Handle(request).response; },
      /*body_bytes_max=*/4096);
  FUZZ_CHECK(kStatuses.contains(response.status), "unexpected status " + std::to_string(response.status));
  FUZZ_CHECK(response.status == 200 || response.body.find("\"reason\":") != std::string::npos,
             "an error without a reason: " + response.body);
  return 0;
}
