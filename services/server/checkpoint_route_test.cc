// POST /v1/checkpoint through the route table, for every role: the router lets only a
// host reach the handler, which signs under the state mutex and answers JSON; without a
// key 409, a failed signing 500 with the reason. (ServeBesideTest runs it in a real
// serve against `tori proof`.)
#include "services/server/checkpoint_route.h"

#include <algorithm>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace tori::server {
namespace {

using ::testing::HasSubstr;

struct Callers {
  InMemoryAccessList access;
  std::vector<std::pair<Role, NewToken>> tokens;
  Callers() {
    for (Role role : {Role::kHost, Role::kAgency, Role::kAuditor, Role::kIntake}) {
      NewToken token = *MakeToken();
      AccessGrant grant{token.token_id, Sha256Of(token.token), role, "caller", "espoo", "iso-omena", false};
      if (role == Role::kAuditor) grant.agency_id.clear();
      if (role != Role::kIntake) grant.service_point_id.clear();
      EXPECT_TRUE(access.Grant(grant).ok()) << RoleName(role);
      tokens.emplace_back(role, token);
    }
  }
};

size_t CheckpointRoute() {
  const auto it = std::find_if(std::begin(kRouteTable), std::end(kRouteTable), [](const RouteSpec& r) {
    return r.method == "POST" && r.pattern == "/v1/checkpoint";
  });
  EXPECT_NE(it, std::end(kRouteTable));
  return static_cast<size_t>(it - std::begin(kRouteTable));
}

HttpResponse Post(const Router& router, const std::string& token) {
  HttpRequest request;
  request.method = "POST";
  request.target = "/v1/checkpoint";
  if (!token.empty()) request.authorization = "Bearer " + token;
  return router.Handle(request).response;
}

TEST(CheckpointRoute, OnlyAHostReachesTheSignerEveryOtherRoleIsRefused) {
  Callers callers;
  std::mutex state_mutex;
  int signed_count = 0;
  std::vector<RouteHandler> handlers(std::size(kRouteTable));
  handlers[CheckpointRoute()] = CheckpointHandler(
      [&]() -> absl::StatusOr<CheckpointOutcome> {
        EXPECT_FALSE(state_mutex.try_lock());  // held by the handler around the signing
        ++signed_count;
        CheckpointOutcome outcome;
        outcome.checkpoints.push_back({0, "espoo.fi/tori/p0", 12, "cm9vdA==", false, "espoo.fi/tori/p0\n12\n", ""});
        outcome.leaves_added = 12;
        outcome.events_appended = 1;
        return outcome;
      },
      &state_mutex);
  Router router(&callers.access, handlers);
  EXPECT_EQ(Post(router, "").status, 401);
  for (const auto& [role, token] : callers.tokens) {
    const HttpResponse response = Post(router, token.token);
    if (role == Role::kHost) {
      EXPECT_EQ(response.status, 200) << response.body;
      EXPECT_EQ(response.content_type, "application/json");
      EXPECT_EQ(response.body,
                "{\"checkpoints\":[{\"partition\":0,\"origin\":\"espoo.fi/tori/p0\",\"tree_size\":12,\"root\":"
                "\"cm9vdA==\",\"unchanged\":false,\"signed_note\":\"espoo.fi/tori/p0\\n12\\n\"}],\"leaves_added\":12,"
                "\"events_appended\":1}\n");
    } else {
      EXPECT_EQ(response.status, 403) << RoleName(role);
    }
  }
  EXPECT_EQ(signed_count, 1);
}

TEST(CheckpointRoute, WithoutAKeyIs409AndAFailedSigning500NamingWhy) {
  Callers callers;
  std::mutex state_mutex;
  const std::string host = callers.tokens.front().second.token;
  std::vector<RouteHandler> handlers(std::size(kRouteTable));
  handlers[CheckpointRoute()] = CheckpointHandler(nullptr, &state_mutex);
  const HttpResponse keyless = Post(Router(&callers.access, handlers), host);
  EXPECT_EQ(keyless.status, 409);
  EXPECT_THAT(keyless.body, HasSubstr("NO_CHECKPOINT_KEY"));
  EXPECT_THAT(keyless.body, HasSubstr("--checkpoint-key"));
  handlers[CheckpointRoute()] = CheckpointHandler(
      []() -> absl::StatusOr<CheckpointOutcome> { return absl::DataLossError("the tree is damaged"); }, &state_mutex);
  const HttpResponse failed = Post(Router(&callers.access, handlers), host);
  EXPECT_EQ(failed.status, 500);
  EXPECT_THAT(failed.body, HasSubstr("CHECKPOINT_FAILED"));
  EXPECT_THAT(failed.body, HasSubstr("the tree is damaged"));
}

}  // namespace
}  // namespace tori::server
