// tori-serve-load (tools/bench/serve_load.cc) against a real `tori serve` on a fresh
// demo, with tiny counts: every scenario's requests are answered 200 and every contact
// it posts is accepted by the rules of ingest (so its lines are realistic, and its
// counts are the server's); --check fails when they are not; only 127.0.0.1 is loaded.
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>

#include "fmt/format.h"
#include "gtest/gtest.h"
#include "services/server/test_client.h"
#include "tests/serve_process.h"

namespace tori {
namespace {

namespace fs = std::filesystem;
using server::testing::Fetch;
using testing::ReadFile;
using testing::Serve;
constexpr auto Field = testing::JsonStringField;

using testing::Shell;

// The integer value of "key": in `json` (-1 when absent).
int64_t IntField(const std::string& json, const std::string& key) {
  const size_t at = json.find("\"" + key + "\":");
  return at == std::string::npos ? -1 : std::stoll(json.substr(at + key.size() + 3));
}

class ServeLoadTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ::testing::TempDir() + fmt::format("/serve-load-{}", ::getpid());
    fs::remove_all(dir_);
    ASSERT_EQ(Shell(fmt::format("{} demo --dir {} >/dev/null 2>&1", TORI_BINARY, dir_)), 0);
    // The host's first token before serve starts, the rest through the API (README).
    ASSERT_EQ(Shell(fmt::format("{} access grant --data {}/data --role host --name Espoo --agency espoo > {}/host.json",
                              TORI_BINARY, dir_, dir_)),
              0);
    host_ = Field(ReadFile(dir_ + "/host.json"), "token");
    ASSERT_EQ(host_.size(), 64u);
    serve_ = std::make_unique<Serve>(
        std::vector<std::string>{"--data", dir_ + "/data", "--listen", "127.0.0.1:0", "--access-log", "/dev/null"},
        dir_ + "/serve.out");
    ASSERT_NE(serve_->port(), 0) << ReadFile(dir_ + "/serve.out.err");
    for (const char* point : {"iso-omena", "kalajarvi"}) {
      intakes_ += fmt::format(" --post-token {}={}",
                              point, Grant(fmt::format(R"({{"role":"intake","name":"Desk","service_point_id":"{}"}})", point)));
    }
    for (const char* agency : {"kela", "vero", "dvv"}) {
      agencies_ += fmt::format(" --agency-token {}={}", agency,
                               Grant(fmt::format(R"({{"role":"agency","name":"A","agency_id":"{}"}})", agency)));
    }
  }
  void TearDown() override {
    serve_.reset();
    fs::remove_all(dir_);
  }

  std::string Grant(const std::string& body) {
    const auto reply = Fetch(serve_->port(), "POST", "/v1/access", host_, body);
    EXPECT_EQ(reply.status, 200) << reply.body;
    return Field(reply.body, "token");
  }
  // Runs the generator with `args`; its stdout (one JSON line per group) in *out.
  int Load(const std::string& args, std::vector<std::string>* out) {
    const int code = Shell(fmt::format("{} --url http://127.0.0.1:{} --events {}/demo-events.jsonl {} > {}/load.out "
                                     "2> {}/load.err",
                                     TORI_SERVE_LOAD, serve_->port(), dir_, args, dir_, dir_));
    std::istringstream lines(ReadFile(dir_ + "/load.out"));
    out->clear();
    for (std::string line; std::getline(lines, line);) out->push_back(line);
    return code;
  }
  std::string Err() { return ReadFile(dir_ + "/load.err"); }

  std::string dir_, host_, intakes_, agencies_;
  std::unique_ptr<Serve> serve_;
};

TEST_F(ServeLoadTest, EveryScenarioIsAnswered200AndEveryPostedContactAccepted) {
  struct Case {
    std::string args;
    int64_t requests, lines;
  };
  const std::vector<Case> cases = {
      {"--scenario post-single --rate 100 --connections 4 --requests 12" + intakes_, 12, 1},
      {"--scenario post-single --rate 0 --connections 2 --requests 4 --post-token " + host_, 4, 1},
      {"--scenario post-batch --lines 100 --connections 3 --requests 6" + intakes_, 6, 100},
      {"--scenario read-invoice --rate 100 --connections 6 --requests 12" + agencies_, 12, 0},
      {"--scenario read-explain --connections 2 --requests 3" + agencies_, 3, 0},
  };
  std::vector<std::string> out;
  for (const auto& c : cases) {
    ASSERT_EQ(Load(c.args + " --check", &out), 0) << c.args << "\n" << Err();
    ASSERT_EQ(out.size(), 1u) << Err();
    EXPECT_EQ(IntField(out[0], "requests"), c.requests) << out[0];
    EXPECT_NE(out[0].find(fmt::format(R"("statuses":{{"200":{}}})", c.requests)), std::string::npos) << out[0];
    EXPECT_EQ(IntField(out[0], "events_posted"), c.requests * c.lines) << out[0];
    EXPECT_EQ(IntField(out[0], "events_accepted"), c.requests * c.lines) << out[0];
    EXPECT_NE(out[0].find(R"("latency_ms":{"p50":)"), std::string::npos) << out[0];
  }
  // The mixed run: front desks and agencies at once, one JSON line per group.
  ASSERT_EQ(Load("--group post-single:rate=50,connections=3,requests=6 --group post-batch:lines=100,connections=2,"
                 "requests=2 --group read-invoice:rate=50,connections=4,requests=6 --group "
                 "read-explain:connections=1,requests=1 --check" + intakes_ + agencies_,
                 &out),
            0)
      << Err();
  ASSERT_EQ(out.size(), 4u) << Err();
  EXPECT_EQ(IntField(out[0], "events_accepted"), 6);
  EXPECT_EQ(IntField(out[1], "events_accepted"), 200);
  EXPECT_NE(out[2].find(R"("statuses":{"200":6})"), std::string::npos) << out[2];
  EXPECT_NE(out[3].find(R"("statuses":{"200":1})"), std::string::npos) << out[3];
}

// The same run id posts the same event ids again: the server answers duplicates, which
// the generator counts and --check refuses.
TEST_F(ServeLoadTest, CheckFailsWhenPostedContactsAreNotAccepted) {
  std::vector<std::string> out;
  const std::string args = "--scenario post-batch --lines 10 --connections 1 --requests 2 --run-id again --check" + intakes_;
  ASSERT_EQ(Load(args, &out), 0) << Err();
  EXPECT_EQ(Load(args, &out), 1) << Err();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(IntField(out[0], "events_accepted"), 0) << out[0];
  EXPECT_EQ(IntField(out[0], "duplicates"), 20) << out[0];
  // A token the server does not know: 401s, counted and refused.
  EXPECT_EQ(Load("--scenario post-single --requests 2 --check --post-token " + std::string(64, 'f'), &out), 1);
  EXPECT_NE(out.at(0).find(R"("statuses":{"401":2})"), std::string::npos) << out[0];
}

TEST_F(ServeLoadTest, LoadsOnly127001) {
  for (const std::string url : {"http://10.0.0.1:80", "http://localhost:8080", "https://127.0.0.1:8443",
                                "http://127.0.0.1.example.com:80", "http://127.0.0.1:0"}) {
    EXPECT_EQ(Shell(fmt::format("{} --url {} --scenario read-invoice --agency-token kela=x 2>{}/load.err",
                              TORI_SERVE_LOAD, url, dir_)),
              2)
        << url;
    EXPECT_NE(Err().find("--url"), std::string::npos) << Err();
  }
}

}  // namespace
}  // namespace tori
