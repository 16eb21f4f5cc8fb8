// What the router decides before any handler runs (the isolation test in api_test.cc
// walks the whole table over real state).
#include "services/server/router.h"

#include "gtest/gtest.h"

namespace tori::server {
namespace {

struct Fixture {
  InMemoryAccessList access;
  NewToken auditor = *MakeToken(), intake = *MakeToken();
  Fixture() {
    AccessGrant a{auditor.token_id, Sha256Of(auditor.token), Role::kAuditor, "audit", "", "", false};
    AccessGrant i{intake.token_id, Sha256Of(intake.token), Role::kIntake, "desk", "", "iso-omena", false};
    EXPECT_TRUE(access.Grant(a).ok());
    EXPECT_TRUE(access.Grant(i).ok());
  }
};

HttpRequest Request(std::string method, std::string target, const std::string& token = "") {
  HttpRequest r;
  r.method = std::move(method);
  r.target = std::move(target);
  if (!token.empty()) r.authorization = "Bearer " + token;
  return r;
}

// Every route answers with its pattern and parameters.
std::vector<RouteHandler> EchoHandlers() {
  std::vector<RouteHandler> handlers;
  for (const auto& route : kRouteTable) {
    (void)route;
    handlers.push_back([](const RouteRequest& r) {
      HttpResponse response;
      response.body = std::string(r.route.pattern) + "|" + r.Param("id") + "|" + r.Query("quarter").value_or("-");
      return response;
    });
  }
  handlers[0] = nullptr;  // /healthz: stands for a route without a handler yet
  return handlers;
}

TEST(Router, AnswersFromTheTableBeforeAnyHandler) {
  Fixture f;
  Router router(&f.access, EchoHandlers());
  EXPECT_EQ(router.Handle(Request("GET", "/nope")).response.status, 404);
  EXPECT_EQ(router.Handle(Request("PUT", "/v1/invoices")).response.status, 405);
  EXPECT_EQ(router.Handle(Request("GET", "/v1/invoices")).response.status, 401);
  EXPECT_EQ(router.Handle(Request("GET", "/v1/invoices", "wrong")).response.status, 401);
  EXPECT_EQ(router.Handle(Request("GET", "/v1/invoices", f.intake.token)).response.status, 403);
  EXPECT_EQ(router.Handle(Request("GET", "/healthz")).response.status, 501);
  EXPECT_EQ(router.Handle(Request("GET", "/readyz")).response.status, 200);
  HttpRequest lower = Request("GET", "/v1/invoices");
  lower.authorization = "bearer " + f.auditor.token;
  EXPECT_EQ(router.Handle(lower).response.status, 200);
  lower.authorization = "Basic " + f.auditor.token;
  EXPECT_EQ(router.Handle(lower).response.status, 401);
}

TEST(Router, DecodesPathParametersAndQueries) {
  Fixture f;
  Router router(&f.access, EchoHandlers());
  auto outcome = router.Handle(Request("GET", "/v1/invoices/2026Q1-espoo%2Fkela/csv?quarter=2026Q1&x", f.auditor.token));
  EXPECT_EQ(outcome.response.status, 200);
  EXPECT_EQ(outcome.response.body, "/v1/invoices/{id}/csv|2026Q1-espoo/kela|2026Q1");
  EXPECT_EQ(router.Handle(Request("GET", "/v1/invoices/%zz", f.auditor.token)).response.status, 400);
  EXPECT_EQ(router.Handle(Request("GET", "/v1/invoices/a%00b", f.auditor.token)).response.status, 400);
  EXPECT_EQ(router.Handle(Request("GET", "/v1/invoices?quarter=%", f.auditor.token)).response.status, 400);
  EXPECT_EQ(router.Handle(Request("GET", "/v1/invoices/", f.auditor.token)).response.status, 404);
}

TEST(PercentDecode, RefusesBadEscapesAndControlCharacters) {
  EXPECT_EQ(PercentDecode("a%20b", false), "a b");
  EXPECT_EQ(PercentDecode("a+b", true), "a b");
  EXPECT_EQ(PercentDecode("a+b", false), "a+b");
  EXPECT_EQ(PercentDecode("%4", false), std::nullopt);
  EXPECT_EQ(PercentDecode("%", false), std::nullopt);
  EXPECT_EQ(PercentDecode("%0a", false), std::nullopt);
}

}  // namespace
}  // namespace tori::server
