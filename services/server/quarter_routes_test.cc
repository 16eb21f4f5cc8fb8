// POST /v1/quarters/{quarter}/bill and /approve (SPEC section 8): the answers are the
// command line's files byte for byte, and the preparer's own approval is 403.
#include "services/server/quarter_routes.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "events/log/embedded_log.h"
#include "fmt/format.h"
#include "gtest/gtest.h"
#include "services/server/api.h"

namespace tori::server {
namespace {

namespace fs = std::filesystem;

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

int Shell(const std::string& command) { return std::system((command + " >/dev/null 2>&1").c_str()); }

class QuarterRoutesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(::testing::TempDir()) /
           fmt::format("quarter-routes-{}-{}", ::getpid(),
                       ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    std::ofstream(dir_ / "policy.jsonl")
        << R"({"event_id":"policy-1","type":"approval_policy_set","occurred_at":"2026-01-02T08:00:00Z","host_agency_id":"espoo","required_approvals":2,"effective_from":"2026-01-01"})"
           "\n";
    // Two data directories from the same events: one for the command line, one for the API.
    for (const char* data : {"cli", "api"}) {
      ASSERT_EQ(Shell(fmt::format("{} ingest --data {}/{} {}/examples/sample.jsonl", TORI_BINARY, dir_.string(), data,
                                TORI_SOURCE_DIR)),
                0);
      ASSERT_EQ(Shell(fmt::format("{} ingest --data {}/{} {}/policy.jsonl", TORI_BINARY, dir_.string(), data,
                                dir_.string())),
                0);
    }
    auto log = EmbeddedLog::Open((dir_ / "api/log").string());
    ASSERT_TRUE(log.ok()) << log.status();
    log_ = *std::move(log);
    auto state = StateStore::Open((dir_ / "api/state").string());
    ASSERT_TRUE(state.ok()) << state.status();
    state_ = *std::move(state);
    for (const char* name : {"Maija", "Pekka"}) Grant(name, Role::kHost, "espoo");
    Grant("Vantaa", Role::kHost, "vantaa");
    Grant("", Role::kHost, "espoo");
    ApiOptions options;
    options.log = log_.get();
    options.state = state_.get();
    options.scratch_dir = (dir_ / "scratch").string();
    options.access = &access_;
    api_ = std::make_unique<Api>(options);
  }
  void TearDown() override {
    api_.reset();
    state_.reset();
    log_.reset();
    fs::remove_all(dir_);
  }

  void Grant(const std::string& name, Role role, const std::string& agency) {
    NewToken token = *MakeToken();
    tokens_[name] = token;
    ASSERT_TRUE(access_.Grant(AccessGrant{token.token_id, Sha256Of(token.token), role, name, agency, "", false}).ok());
  }
  HttpResponse Post(const std::string& target, const std::string& token_name) {
    HttpRequest r;
    r.method = "POST";
    r.target = target;
    r.authorization = "Bearer " + tokens_.at(token_name).token;
    return api_->Handle(r);
  }
  int Cli(const std::string& args) {
    return Shell(fmt::format("{} {} --data {}/cli", TORI_BINARY, args, dir_.string()));
  }
  static std::string State(const HttpResponse& r) {
    for (const auto& [name, value] : r.headers) {
      if (name == "X-Tori-Quarter-State") return value;
    }
    return "";
  }

  fs::path dir_;
  std::unique_ptr<EventLog> log_;
  std::unique_ptr<StateStore> state_;
  InMemoryAccessList access_;
  std::map<std::string, NewToken> tokens_;
  std::unique_ptr<Api> api_;
};

TEST_F(QuarterRoutesTest, BillAndApproveAnswerTheCommandLinesFilesByteForByte) {
  ASSERT_EQ(Cli(fmt::format("bill --quarter 2026Q1 --by Maija --out {}/prepared", dir_.string())), 0);
  ASSERT_EQ(Cli(fmt::format("approve --quarter 2026Q1 --by Pekka --out {}/approved", dir_.string())), 0);

  const HttpResponse prepared = Post("/v1/quarters/2026Q1/bill", "Maija");
  ASSERT_EQ(prepared.status, 200) << prepared.body;
  EXPECT_EQ(State(prepared), "prepared");
  EXPECT_EQ(prepared.body, ReadFile(dir_ / "prepared/draft-invoices.json"));

  const HttpResponse own = Post("/v1/quarters/2026Q1/approve", "Maija");
  EXPECT_EQ(own.status, 403) << own.body;
  EXPECT_NE(own.body.find("OWN_PREPARATION"), std::string::npos) << own.body;
  // A token does not approve under another person's name.
  EXPECT_EQ(Post("/v1/quarters/2026Q1/approve?by=Pekka", "Maija").status, 403);
  // A host of no point here: 404, as for what does not exist.
  EXPECT_EQ(Post("/v1/quarters/2026Q1/approve", "Vantaa").status, 404);

  const HttpResponse approved = Post("/v1/quarters/2026Q1/approve?by=pekka", "Pekka");
  ASSERT_EQ(approved.status, 200) << approved.body;
  EXPECT_EQ(State(approved), "issued");
  EXPECT_EQ(approved.body, ReadFile(dir_ / "approved/invoices.json"));
  // Issued: approving again conflicts; billing it answers the issued file.
  EXPECT_EQ(Post("/v1/quarters/2026Q1/approve", "Pekka").status, 409);
  const HttpResponse rebill = Post("/v1/quarters/2026Q1/bill", "Maija");
  EXPECT_EQ(rebill.body, approved.body);
  EXPECT_FALSE(fs::exists(dir_ / "scratch/bill"));
}

TEST_F(QuarterRoutesTest, ATokenWithoutANameNamesThePersonWithBy) {
  EXPECT_EQ(Post("/v1/quarters/2026Q1/bill", "").status, 400);
  const HttpResponse prepared = Post("/v1/quarters/2026Q1/bill?by=Liisa", "");
  ASSERT_EQ(prepared.status, 200) << prepared.body;
  EXPECT_EQ(Post("/v1/quarters/2026Q1/approve?by=LIISA", "").status, 403);
  EXPECT_EQ(Post("/v1/quarters/2026Q1/approve", "Maija").status, 200);
}

}  // namespace
}  // namespace tori::server
