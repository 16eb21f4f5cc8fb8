// tori-serve-load's command-line values: only 127.0.0.1 is loaded, groups are bounded,
// and what is refused says so.
#include "tools/bench/serve_load_options.h"

#include "gtest/gtest.h"

namespace tori::bench {
namespace {

TEST(ServeLoadOptions, LoadsOnlyHttpOn127001) {
  EXPECT_EQ(*ParseLocalUrl("http://127.0.0.1:8080"), 8080);
  EXPECT_EQ(*ParseLocalUrl("http://127.0.0.1:8080/"), 8080);
  for (const char* url : {"http://localhost:8080", "http://10.0.0.1:8080", "https://127.0.0.1:8443",
                          "http://127.0.0.1.example.com:80", "http://127.0.0.1:0", "http://127.0.0.1:65536",
                          "http://127.0.0.1:80/v1", "http://127.0.0.1:", "127.0.0.1:80"}) {
    EXPECT_FALSE(ParseLocalUrl(url).ok()) << url;
  }
}

TEST(ServeLoadOptions, GroupTakesItsKeysAndTheRestFromTheDefaults) {
  GroupSpec defaults;
  defaults.requests_max = 77;
  auto spec = ParseGroup("post-batch:name=bulk,lines=10000,connections=4,rate=2.5", defaults);
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_EQ(spec->scenario, Scenario::kPostBatch);
  EXPECT_EQ(spec->name, "bulk");
  EXPECT_EQ(spec->lines, 10000);
  EXPECT_EQ(spec->connections, 4);
  EXPECT_DOUBLE_EQ(spec->rate_per_s, 2.5);
  EXPECT_EQ(spec->requests_max, 77);
  auto plain = ParseGroup("read-explain", defaults);
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->name, "read-explain");
}

TEST(ServeLoadOptions, GroupOutOfBoundsOrUnknownIsRefused) {
  for (const char* text :
       {"post-many", "post-single:connections=0", "post-single:connections=1001", "post-batch:lines=100001",
        "post-batch:lines=0", "read-invoice:rate=-1", "read-invoice:rate=x", "read-invoice:requests=0",
        "read-invoice:name=Bad/Name", "read-invoice:speed=1", "read-invoice:rate=", "read-invoice:connections=2x"}) {
    EXPECT_FALSE(ParseGroup(text, GroupSpec{}).ok()) << text;
  }
}

TEST(ServeLoadOptions, CredentialsNameTheirScope) {
  auto intake = ParseCredential("iso-omena=abc", false);
  ASSERT_TRUE(intake.ok());
  EXPECT_EQ(intake->scope, "iso-omena");
  EXPECT_EQ(intake->token, "abc");
  auto host = ParseCredential("abc", false);
  ASSERT_TRUE(host.ok());
  EXPECT_EQ(host->scope, "");
  EXPECT_FALSE(ParseCredential("abc", true).ok());  // an agency token needs its agency
}

}  // namespace
}  // namespace tori::bench
