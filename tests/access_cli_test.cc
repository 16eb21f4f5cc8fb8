// `tori access grant | list | revoke` (SPEC section 7): grants and revocations as
// events, read by a real `tori serve` when it starts.
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "fmt/format.h"
#include "gtest/gtest.h"
#include "services/server/test_client.h"
#include "tests/serve_process.h"

namespace tori {
namespace {

using server::testing::Fetch;

using testing::ReadFile;
using testing::Serve;

struct ToriRun {
  int code;
  std::string out, err;
};

class AccessCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ::testing::TempDir() + fmt::format("/access-cli-{}", ::getpid());
    std::filesystem::remove_all(dir_);
    ASSERT_EQ(std::system(fmt::format("{} demo --dir {} >/dev/null 2>&1", TORI_BINARY, dir_).c_str()), 0);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  ToriRun Tori(const std::string& args) {
    const int status = std::system(
        fmt::format("{} {} >{}/run.out 2>{}/run.err", TORI_BINARY, args, dir_, dir_).c_str());
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, ReadFile(dir_ + "/run.out"), ReadFile(dir_ + "/run.err")};
  }
  std::string Data() const { return "--data " + dir_ + "/data"; }
  // A grant's {token_id, token}.
  std::pair<std::string, std::string> Grant(const std::string& flags) {
    const ToriRun run = Tori("access grant " + Data() + " " + flags);
    EXPECT_EQ(run.code, 0) << run.err;
    auto field = [&](const std::string& name) {
      const std::string key = "\"" + name + "\":\"";
      const size_t at = run.out.find(key);
      if (at == std::string::npos) return std::string();
      return run.out.substr(at + key.size(), run.out.find('"', at + key.size()) - at - key.size());
    };
    return {field("token_id"), field("token")};
  }

  std::string dir_;
};

TEST_F(AccessCliTest, GrantsListsAndRevokesThroughTheLog) {
  const auto [id, token] = Grant("--role agency --name 'Kela controllers' --agency kela");
  EXPECT_EQ(id.size(), 16u);
  EXPECT_EQ(token.size(), 64u);  // 256 bits
  const auto [id2, token2] = Grant("--role auditor --name Auditors");
  EXPECT_NE(token, token2);
  ToriRun list = Tori("access list " + Data());
  ASSERT_EQ(list.code, 0) << list.err;
  EXPECT_NE(list.out.find(fmt::format(R"({{"token_id":"{}","role":"agency","name":"Kela controllers","agency_id":"kela","revoked":false}})", id)),
            std::string::npos) << list.out;
  EXPECT_NE(list.out.find(fmt::format(R"("token_id":"{}","role":"auditor")", id2)), std::string::npos);
  EXPECT_EQ(list.out.find(token), std::string::npos);  // never a token
  // The log holds the grant's hash, never the token.
  const ToriRun events = Tori("log " + Data());
  EXPECT_NE(events.out.find("\"type\":\"access_granted\""), std::string::npos) << events.out.substr(0, 300) << events.err;
  EXPECT_EQ(events.out.find(token), std::string::npos);

  const ToriRun revoke = Tori("access revoke " + Data() + " --token-id " + id);
  ASSERT_EQ(revoke.code, 0) << revoke.err;
  list = Tori("access list " + Data());
  EXPECT_NE(list.out.find(fmt::format(R"("token_id":"{}","role":"agency","name":"Kela controllers","agency_id":"kela","revoked":true)", id)),
            std::string::npos) << list.out;
  // Revoking twice names the rule.
  const ToriRun again = Tori("access revoke " + Data() + " --token-id " + id);
  EXPECT_EQ(again.code, 1);
  EXPECT_NE(again.err.find("DUPLICATE_CONFLICT token_id: token_id '" + id + "' is revoked already"), std::string::npos)
      << again.err;
}

TEST_F(AccessCliTest, RejectedGrantsAndRevocationsNameTheRule) {
  ToriRun run = Tori("access grant " + Data() + " --role agency --name X --agency nope");
  EXPECT_EQ(run.code, 1);
  EXPECT_NE(run.err.find("UNKNOWN_REFERENCE agency_id: agency 'nope' is not known"), std::string::npos) << run.err;
  run = Tori("access grant " + Data() + " --role intake --name Desk --service-point nowhere");
  EXPECT_EQ(run.code, 1);
  EXPECT_NE(run.err.find("UNKNOWN_REFERENCE service_point_id"), std::string::npos) << run.err;
  run = Tori("access grant " + Data() + " --role intake --name Desk");
  EXPECT_EQ(run.code, 1);
  EXPECT_NE(run.err.find("SCHEMA service_point_id: role intake needs service_point_id"), std::string::npos) << run.err;
  run = Tori("access grant " + Data() + " --role king --name X");
  EXPECT_EQ(run.code, 2);
  EXPECT_NE(run.err.find("--role 'king' is not a role"), std::string::npos) << run.err;
  run = Tori("access revoke " + Data() + " --token-id never-granted");
  EXPECT_EQ(run.code, 1);
  EXPECT_NE(run.err.find("UNKNOWN_REFERENCE token_id: token_id 'never-granted' is not known"), std::string::npos)
      << run.err;
  // A duplicate token_id, as an event (the CLI makes fresh ids): DUPLICATE_CONFLICT.
  const auto [id, token] = Grant("--role auditor --name Auditors");
  std::ofstream(dir_ + "/dup.jsonl")
      << fmt::format(R"({{"event_id":"dup-grant","type":"access_granted","occurred_at":"2026-04-01T08:00:00Z","token_id":"{}","token_sha256":"{}","role":"auditor","name":"Other"}})",
                     id, std::string(64, 'a'))
      << "\n";
  run = Tori("ingest " + Data() + " " + dir_ + "/dup.jsonl");
  EXPECT_NE(run.out.find("rejected 1"), std::string::npos) << run.out << run.err;
  EXPECT_NE(run.out.find("DUPLICATE_CONFLICT"), std::string::npos) << run.out;
  EXPECT_EQ(Tori("access list " + Data()).out.find("Other"), std::string::npos);
}

TEST_F(AccessCliTest, ServeAcceptsAGrantedTokenAndRefusesItAfterRevocationAndRestart) {
  const auto [id, token] = Grant("--role agency --name 'Kela controllers' --agency kela");
  {
    Serve serve({"--data", dir_ + "/data", "--listen", "127.0.0.1:0"}, dir_ + "/serve.out");
    ASSERT_NE(serve.port(), 0) << ReadFile(dir_ + "/serve.out.err");
    const auto invoice = Fetch(serve.port(), "GET", "/v1/invoices/2026Q1-espoo-kela", token);
    EXPECT_EQ(invoice.status, 200) << invoice.body;
    EXPECT_NE(invoice.body.find("\"invoice_id\":\"2026Q1-espoo-kela\""), std::string::npos);
    EXPECT_EQ(Fetch(serve.port(), "GET", "/v1/invoices/2026Q1-espoo-dvv", token).status, 404);
    EXPECT_EQ(Fetch(serve.port(), "GET", "/v1/invoices/2026Q1-espoo-kela", std::string(64, '0')).status, 401);
    EXPECT_EQ(serve.Stop(), 0);
  }
  ASSERT_EQ(Tori("access revoke " + Data() + " --token-id " + id).code, 0);
  Serve serve({"--data", dir_ + "/data", "--listen", "127.0.0.1:0"}, dir_ + "/serve.out");
  ASSERT_NE(serve.port(), 0) << ReadFile(dir_ + "/serve.out.err");
  EXPECT_EQ(Fetch(serve.port(), "GET", "/v1/invoices/2026Q1-espoo-kela", token).status, 401);
}

}  // namespace
}  // namespace tori
