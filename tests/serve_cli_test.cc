// `tori serve` as a real process on an ephemeral port, over HTTP and over TLS with a
// self-signed certificate made here.
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "events/base/sha256.h"
#include "fmt/format.h"
#include "gtest/gtest.h"
#include "services/server/test_client.h"
#include "tests/serve_process.h"

namespace tori {
namespace {

using server::testing::Fetch;

using testing::ReadFile;
using testing::Serve;

class ServeCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ::testing::TempDir() + fmt::format("/serve-cli-{}", ::getpid());
    std::filesystem::remove_all(dir_);
    ASSERT_EQ(std::system(fmt::format("{} demo --dir {} >/dev/null 2>&1", TORI_BINARY, dir_).c_str()), 0);
    token_ = std::string(64, '7');
    std::ofstream grants(dir_ + "/grants.jsonl");
    grants << fmt::format(
        "{{\"token_id\":\"kela1\",\"token_sha256\":\"{}\",\"role\":\"agency\",\"name\":\"Kela\",\"agency_id\":\"kela\"}}\n",
        Sha256Hex(token_));
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string dir_, token_;
};

TEST_F(ServeCliTest, ServesTheApiOverHttpAndStopsOnSigterm) {
  Serve serve({"--data", dir_ + "/data", "--listen", "127.0.0.1:0", "--grants", dir_ + "/grants.jsonl"},
              dir_ + "/serve.out");
  ASSERT_NE(serve.port(), 0) << ReadFile(dir_ + "/serve.out.err");
  EXPECT_EQ(Fetch(serve.port(), "GET", "/healthz").status, 200);
  EXPECT_EQ(Fetch(serve.port(), "GET", "/readyz").status, 200);
  EXPECT_EQ(Fetch(serve.port(), "GET", "/v1/invoices").status, 401);
  const auto invoices = Fetch(serve.port(), "GET", "/v1/invoices?quarter=2026Q1", token_);
  EXPECT_EQ(invoices.status, 200);
  EXPECT_NE(invoices.body.find("2026Q1-espoo-kela"), std::string::npos);
  EXPECT_EQ(Fetch(serve.port(), "GET", "/v1/invoices/2026Q1-espoo-dvv", token_).status, 404);
  const auto csv = Fetch(serve.port(), "GET", "/v1/invoices/2026Q1-espoo-kela/csv", token_);
  EXPECT_EQ(csv.body, ReadFile(dir_ + "/out/invoice-2026Q1-espoo-kela.csv"));
  EXPECT_EQ(serve.Stop(), 0);
  // The access log: one JSON line per request, without the token.
  const std::string log = ReadFile(dir_ + "/serve.out.err");
  EXPECT_NE(log.find("\"route\":\"GET /v1/invoices/{id}/csv\",\"status\":200"), std::string::npos) << log;
  EXPECT_EQ(log.find(token_), std::string::npos);
}

TEST_F(ServeCliTest, ServesOverTlsWithTheGivenCertificate) {
  ASSERT_EQ(std::system(fmt::format("openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 "
                                    "-keyout {0}/key.pem -out {0}/cert.pem >/dev/null 2>&1",
                                    dir_)
                            .c_str()),
            0);
  Serve serve({"--data", dir_ + "/data", "--listen", "127.0.0.1:0", "--grants", dir_ + "/grants.jsonl", "--tls-cert",
               dir_ + "/cert.pem", "--tls-key", dir_ + "/key.pem"},
              dir_ + "/serve.out");
  ASSERT_NE(serve.port(), 0) << ReadFile(dir_ + "/serve.out.err");
  EXPECT_NE(ReadFile(dir_ + "/serve.out").find("https://127.0.0.1:"), std::string::npos);
  const auto reply = Fetch(serve.port(), "GET", "/v1/invoices/2026Q1-espoo-kela", token_, "", /*tls=*/true);
  EXPECT_EQ(reply.status, 200) << reply.body;
  EXPECT_NE(reply.body.find("\"invoice_id\":\"2026Q1-espoo-kela\""), std::string::npos);
  EXPECT_EQ(Fetch(serve.port(), "GET", "/healthz").status, -1);  // plain HTTP is not served
}

TEST_F(ServeCliTest, RefusesBadFlagsNamingThem) {
  const std::string out = dir_ + "/bad.out";
  auto run = [&](const std::string& flags) {
    const int status = std::system(fmt::format("{} serve --data {}/data {} >{} 2>&1", TORI_BINARY, dir_, flags, out).c_str());
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  };
  EXPECT_EQ(run("--listen nonsense"), 2);
  EXPECT_NE(ReadFile(out).find("--listen 'nonsense'"), std::string::npos);
  EXPECT_EQ(run("--listen 127.0.0.1:0 --tls-cert x.pem"), 2);
  EXPECT_EQ(run("--listen 127.0.0.1:0 --grants /nonexistent"), 1);
  EXPECT_NE(ReadFile(out).find("--grants /nonexistent"), std::string::npos);
}

}  // namespace
}  // namespace tori
