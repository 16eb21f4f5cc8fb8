#include "services/server/access.h"

#include <set>

#include "gtest/gtest.h"

namespace tori::server {
namespace {

AccessGrant GrantFor(const NewToken& token, Role role, std::string agency = "espoo") {
  AccessGrant g;
  g.token_id = token.token_id;
  g.token_sha256 = Sha256Of(token.token);
  g.role = role;
  g.agency_id = std::move(agency);
  g.service_point_id = role == Role::kIntake ? "iso-omena" : "";
  return g;
}

TEST(MakeToken, GivesDistinct256BitTokensAnd64BitIds) {
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) {
    auto token = MakeToken();
    ASSERT_TRUE(token.ok());
    EXPECT_EQ(token->token.size(), 64u);
    EXPECT_EQ(token->token_id.size(), 16u);
    EXPECT_TRUE(seen.insert(token->token).second);
  }
}

TEST(InMemoryAccessList, AuthenticatesByTheTokensHashAndRefusesARevokedOneAtOnce) {
  InMemoryAccessList access;
  auto token = *MakeToken();
  ASSERT_TRUE(access.Grant(GrantFor(token, Role::kAgency)).ok());
  auto grant = access.Authenticate(token.token);
  ASSERT_TRUE(grant.has_value());
  EXPECT_EQ(grant->token_id, token.token_id);
  EXPECT_FALSE(access.Authenticate(token.token_id).has_value());
  EXPECT_FALSE(access.Authenticate(token.token + "0").has_value());
  EXPECT_FALSE(access.Authenticate("").has_value());
  ASSERT_TRUE(access.Revoke(token.token_id).ok());
  EXPECT_FALSE(access.Authenticate(token.token).has_value());
  EXPECT_TRUE(access.Find(token.token_id)->revoked);
  EXPECT_TRUE(absl::IsNotFound(access.Revoke("nope")));
}

TEST(InMemoryAccessList, RefusesGrantsTheirRoleCannotHave) {
  InMemoryAccessList access;
  auto token = *MakeToken();
  EXPECT_TRUE(absl::IsInvalidArgument(access.Grant(GrantFor(token, Role::kHost, ""))));
  AccessGrant intake = GrantFor(token, Role::kIntake);
  intake.service_point_id = "";
  EXPECT_TRUE(absl::IsInvalidArgument(access.Grant(intake)));
  ASSERT_TRUE(access.Grant(GrantFor(token, Role::kAuditor, "")).ok());
  EXPECT_TRUE(absl::IsAlreadyExists(access.Grant(GrantFor(token, Role::kAuditor, ""))));
}

TEST(ParseGrantsJsonLines, ReadsGrantsAndNamesTheLineOfABadOne) {
  const std::string hash(64, 'a');
  auto grants = ParseGrantsJsonLines(
      "{\"token_id\":\"t1\",\"token_sha256\":\"" + hash + "\",\"role\":\"agency\",\"agency_id\":\"kela\"}\n\n"
      "{\"token_id\":\"t2\",\"token_sha256\":\"" + hash + "\",\"role\":\"auditor\",\"revoked\":true}\n");
  ASSERT_TRUE(grants.ok()) << grants.status();
  ASSERT_EQ(grants->size(), 2u);
  EXPECT_EQ((*grants)[0].agency_id, "kela");
  EXPECT_TRUE((*grants)[1].revoked);
  auto bad = ParseGrantsJsonLines("{\"token_id\":\"t1\",\"token_sha256\":\"xyz\",\"role\":\"agency\"}\n");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("line 1: field token_sha256"), std::string::npos);
  EXPECT_FALSE(ParseGrantsJsonLines("{\"token_id\":\"t\",\"token_sha256\":\"" + hash + "\",\"role\":\"root\"}").ok());
}

}  // namespace
}  // namespace tori::server
