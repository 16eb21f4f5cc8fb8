// The write side of a real `tori serve` (SPEC section 7, write_routes.h): events posted
// through the API end in the state `tori ingest` makes of the same file (the bills are
// byte for byte the same), an intake posts only its own point's events, grants and
// revocations hold at once, and hostile bodies and token ids are refused.
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "events/base/sha256.h"
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

int Tori(const std::string& args) { return testing::Shell(fmt::format("{} {}", TORI_BINARY, args)); }

// Every file under `dir`, relative path -> bytes.
std::map<std::string, std::string> Files(const std::string& dir) {
  std::map<std::string, std::string> files;
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    if (entry.is_regular_file()) files[fs::relative(entry.path(), dir).string()] = ReadFile(entry.path().string());
  }
  return files;
}

class ServeWriteTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ::testing::TempDir() + fmt::format("/serve-write-{}", ::getpid());
    fs::remove_all(dir_);
    ASSERT_EQ(Tori(fmt::format("demo --dir {} >/dev/null 2>&1", dir_)), 0);
    // A host token for espoo, not in the log (--grants), so both data directories of
    // the byte-for-byte test hold the same events.
    host_token_ = std::string(64, 'e');
    std::ofstream(dir_ + "/grants.jsonl") << fmt::format(
        "{{\"token_id\":\"espoo-fin\",\"token_sha256\":\"{}\",\"role\":\"host\",\"name\":\"Espoo\","
        "\"agency_id\":\"espoo\"}}\n",
        Sha256Hex(host_token_));
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::unique_ptr<Serve> Start(const std::string& data) {
    auto serve = std::make_unique<Serve>(
        std::vector<std::string>{"--data", data, "--listen", "127.0.0.1:0", "--grants", dir_ + "/grants.jsonl"},
        dir_ + "/serve.out");
    EXPECT_NE(serve->port(), 0) << ReadFile(dir_ + "/serve.out.err");
    return serve;
  }
  // A grant made through the API: {token_id, token}.
  std::pair<std::string, std::string> Grant(uint16_t port, const std::string& body) {
    const auto reply = Fetch(port, "POST", "/v1/access", host_token_, body);
    EXPECT_EQ(reply.status, 200) << reply.body;
    return {Field(reply.body, "token_id"), Field(reply.body, "token")};
  }

  std::string dir_, host_token_;
};

// The demo's events: the first 2,000 by `tori ingest` into both directories, the rest
// by `tori ingest` into one and by POST /v1/events (in bodies of 20,000 lines) into the
// other; then `tori bill` of both writes the same bytes.
TEST_F(ServeWriteTest, PostedEventsBillByteForByteAsTheCommandLinesIngest) {
  std::ifstream in(dir_ + "/demo-events.jsonl");
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line + "\n");
  ASSERT_GT(lines.size(), 30000u);
  std::string head, tail;
  for (size_t i = 0; i < lines.size(); ++i) (i < 2000 ? head : tail) += lines[i];
  std::ofstream(dir_ + "/head.jsonl") << head;
  std::ofstream(dir_ + "/tail.jsonl") << tail;
  for (const char* name : {"cli", "api"}) {
    ASSERT_EQ(Tori(fmt::format("ingest --data {}/{} {}/head.jsonl >/dev/null 2>&1", dir_, name, dir_)), 0);
  }
  ASSERT_EQ(Tori(fmt::format("ingest --data {0}/cli {0}/tail.jsonl >{0}/cli.ingest 2>&1", dir_)), 0);
  {
    auto serve = Start(dir_ + "/api");
    int64_t accepted = 0;
    for (size_t from = 2000; from < lines.size(); from += 20000) {
      std::string body;
      for (size_t i = from; i < std::min(lines.size(), from + 20000); ++i) body += lines[i];
      const auto reply = Fetch(serve->port(), "POST", "/v1/events", host_token_, body);
      ASSERT_EQ(reply.status, 200) << reply.body.substr(0, 300);
      accepted += std::stoll(reply.body.substr(reply.body.find("\"accepted\":") + 11));
    }
    EXPECT_NE(ReadFile(dir_ + "/cli.ingest").find(fmt::format("accepted {},", accepted)), std::string::npos)
        << ReadFile(dir_ + "/cli.ingest") << " vs accepted " << accepted << " through the API";
    EXPECT_EQ(serve->Stop(), 0);
  }
  for (const char* name : {"cli", "api"}) {
    ASSERT_EQ(Tori(fmt::format("bill --data {0}/{1} --quarter 2026Q1 --out {0}/{1}-out >{0}/{1}.bill 2>&1", dir_,
                               name)),
              0)
        << ReadFile(fmt::format("{}/{}.bill", dir_, name));
  }
  const auto cli = Files(dir_ + "/cli-out"), api = Files(dir_ + "/api-out");
  ASSERT_GT(cli.size(), 5u);
  EXPECT_EQ(cli, api);
  std::string cli_bill = ReadFile(dir_ + "/cli.bill"), api_bill = ReadFile(dir_ + "/api.bill");
  for (std::string* text : {&cli_bill, &api_bill}) {  // the output directory's name aside
    for (const char* name : {"/cli-out", "/api-out"}) {
      for (size_t at; (at = text->find(name)) != std::string::npos;) text->replace(at, 8, "/out");
    }
  }
  EXPECT_EQ(cli_bill, api_bill);
}

TEST_F(ServeWriteTest, AnIntakePostsOnlyItsOwnPointsEventsLineByLine) {
  auto serve = Start(dir_ + "/data");
  const auto [desk_id, desk] = Grant(serve->port(), R"({"role":"intake","name":"Desk","service_point_id":"iso-omena"})");
  const std::string contact =
      R"({"event_id":"E","type":"contact_recorded","occurred_at":"2026-03-02T10:00:00+02:00","contact_id":"C",)"
      R"("service_point_id":"P","agency_id":"kela","service_code":"KELA-TOIMEENTULOTUKI",)"
      R"("channel":"in_person","handled_by":"shared_advisor","duration_s":300})";
  auto make = [&](const std::string& id, const std::string& point) {
    std::string line = contact;
    line.replace(line.find("\"E\""), 3, "\"" + id + "\"");
    line.replace(line.find("\"C\""), 3, "\"" + id + "\"");
    line.replace(line.find("\"P\""), 3, "\"" + point + "\"");
    return line + "\n";
  };
  const std::string demo = ReadFile(dir_ + "/demo-events.jsonl");
  const std::string registered = demo.substr(0, demo.find('\n') + 1);  // a valid agency_registered
  ASSERT_NE(registered.find("\"type\":\"agency_registered\""), std::string::npos);
  const std::string body = make("desk-1", "iso-omena") + "\n" + make("desk-2", "kalajarvi") +
                           R"({"event_id":"desk-3","type":"contact_voided","occurred_at":"2026-03-02T10:00:00+02:00","contact_id":"desk-1","reason":"test"})"
                           "\n" + registered;
  const auto reply = Fetch(serve->port(), "POST", "/v1/events", desk, body);
  ASSERT_EQ(reply.status, 200) << reply.body;
  EXPECT_NE(reply.body.find(R"({"line":1,"status":"accepted")"), std::string::npos) << reply.body;
  EXPECT_NE(reply.body.find(R"({"line":3,"status":"rejected","reason":"FORBIDDEN","field":"service_point_id")"),
            std::string::npos)
      << reply.body;
  EXPECT_NE(reply.body.find(R"({"line":4,"status":"accepted")"), std::string::npos) << reply.body;
  EXPECT_NE(reply.body.find(R"({"line":5,"status":"rejected","reason":"FORBIDDEN","field":"type")"),
            std::string::npos)
      << reply.body;
  EXPECT_NE(reply.body.find(R"("accepted":2,"duplicates":0,"rejected":2)"), std::string::npos) << reply.body;
  // A contact of another point (the demo's kalajarvi contacts) cannot be voided by it:
  // the same answer as for a contact that does not exist.
  ASSERT_NE(demo.find("\"contact_id\":\"kj-2026-01-02-0001\""), std::string::npos);
  const std::string foreign = "kj-2026-01-02-0001";
  for (const std::string& id : {foreign, std::string("no-such-contact")}) {
    const auto voided = Fetch(
        serve->port(), "POST", "/v1/events", desk,
        fmt::format(R"({{"event_id":"void-{0}","type":"contact_voided","occurred_at":"2026-03-02T10:00:00+02:00","contact_id":"{0}","reason":"x"}})",
                    id));
    EXPECT_NE(voided.body.find(R"("reason":"FORBIDDEN","field":"contact_id")"), std::string::npos) << voided.body;
  }
  // The host's token posts it (the rules of ingest then judge it).
  EXPECT_NE(Fetch(serve->port(), "POST", "/v1/events", host_token_, make("desk-2", "kalajarvi")).body.find(
                R"("accepted":1)"),
            std::string::npos);
  // An intake reads nothing.
  EXPECT_EQ(Fetch(serve->port(), "GET", "/v1/invoices", desk).status, 403);
}

// An answer means durable. Serve does not flush the state per post (it writes no WAL:
// what it has not flushed is lost in a crash); the answer waits for the log's synced
// append, and the next run replays the log from the state's position. So a serve killed
// right after its answers loses none of the answered events, though its state on disk
// is behind them.
TEST_F(ServeWriteTest, AnsweredPostsSurviveAKilledServe) {
  auto contact = [](int i) {
    return fmt::format(
        R"({{"event_id":"kill-{0}","type":"contact_recorded","occurred_at":"2026-03-02T10:00:00+02:00",)"
        R"("contact_id":"kill-{0}","service_point_id":"iso-omena","agency_id":"kela",)"
        R"("service_code":"KELA-TOIMEENTULOTUKI","channel":"in_person","handled_by":"shared_advisor","duration_s":300}})"
        "\n",
        i);
  };
  std::string posted;
  {
    auto serve = Start(dir_ + "/data");
    for (int i = 0; i < 20; ++i) {  // single contacts
      const auto reply = Fetch(serve->port(), "POST", "/v1/events", host_token_, contact(i));
      ASSERT_NE(reply.body.find(R"("accepted":1,)"), std::string::npos) << reply.body;
      posted += contact(i);
    }
    std::string bulk;
    for (int i = 20; i < 520; ++i) bulk += contact(i);
    const auto reply = Fetch(serve->port(), "POST", "/v1/events", host_token_, bulk);
    ASSERT_NE(reply.body.find(R"("accepted":500,)"), std::string::npos) << reply.body.substr(0, 300);
    posted += bulk;
    serve->Kill();
  }
  ASSERT_EQ(Tori(fmt::format("status --data {0}/data >{0}/status.out 2>&1", dir_)), 0);
  EXPECT_NE(ReadFile(dir_ + "/status.out").find("520 events behind the log"), std::string::npos)
      << ReadFile(dir_ + "/status.out");
  std::ofstream(dir_ + "/posted.jsonl") << posted;
  ASSERT_EQ(Tori(fmt::format("ingest --data {0}/data {0}/posted.jsonl >{0}/again.out 2>&1", dir_)), 0);
  EXPECT_NE(ReadFile(dir_ + "/again.out").find("accepted 0, duplicates 520, rejected 0"), std::string::npos)
      << ReadFile(dir_ + "/again.out");
}

TEST_F(ServeWriteTest, GrantsHoldAndRevokedTokensAreRefusedAtOnce) {
  auto serve = Start(dir_ + "/data");
  const auto [kela_id, kela] = Grant(serve->port(), R"({"role":"agency","name":"Kela","agency_id":"kela"})");
  ASSERT_EQ(kela.size(), 64u);
  EXPECT_EQ(Fetch(serve->port(), "GET", "/v1/invoices/2026Q1-espoo-kela", kela).status, 200);
  // What a host may not grant: an auditor (403), a host of another agency, a point or an
  // agency that is not its own (404, as for what does not exist).
  EXPECT_EQ(Fetch(serve->port(), "POST", "/v1/access", host_token_, R"({"role":"auditor","name":"A"})").status, 403);
  EXPECT_EQ(
      Fetch(serve->port(), "POST", "/v1/access", host_token_, R"({"role":"host","name":"V","agency_id":"kela"})").status,
      404);
  EXPECT_EQ(Fetch(serve->port(), "POST", "/v1/access", host_token_, R"({"role":"agency","name":"N","agency_id":"nope"})")
                .status,
            404);
  EXPECT_EQ(Fetch(serve->port(), "POST", "/v1/access", host_token_, R"({"role":"agency","name":"K","x":"y"})").status,
            400);
  EXPECT_EQ(Fetch(serve->port(), "POST", "/v1/access", host_token_, "not json").status, 400);
  EXPECT_EQ(Fetch(serve->port(), "POST", "/v1/access", kela, R"({"role":"agency","name":"K","agency_id":"kela"})").status,
            403);

  const auto revoked = Fetch(serve->port(), "DELETE", "/v1/access/" + kela_id, host_token_);
  EXPECT_EQ(revoked.status, 200) << revoked.body;
  EXPECT_EQ(Fetch(serve->port(), "GET", "/v1/invoices/2026Q1-espoo-kela", kela).status, 401);
  EXPECT_EQ(Fetch(serve->port(), "DELETE", "/v1/access/" + kela_id, host_token_).status, 200);  // a retry
  // Hostile token ids name nothing.
  for (const char* id : {"..", "..%2F..%2Fstate", "a%2Fb", "%2e%2e", "x%0a", "unknown"}) {
    EXPECT_EQ(Fetch(serve->port(), "DELETE", std::string("/v1/access/") + id, host_token_).status == 404 ||
                  Fetch(serve->port(), "DELETE", std::string("/v1/access/") + id, host_token_).status == 400,
              true)
        << id;
  }
  EXPECT_EQ(serve->Stop(), 0);
  // The revocation is an event: the list says so (and who granted it), and a restarted
  // serve refuses it too.
  ASSERT_EQ(Tori(fmt::format("access list --data {0}/data >{0}/list.out 2>&1", dir_)), 0);
  EXPECT_NE(ReadFile(dir_ + "/list.out").find(fmt::format(R"("token_id":"{}","role":"agency","name":"Kela","agency_id":"kela","granted_by_agency_id":"espoo","revoked":true)", kela_id)),
            std::string::npos)
      << ReadFile(dir_ + "/list.out");
  auto again = Start(dir_ + "/data");
  EXPECT_EQ(Fetch(again->port(), "GET", "/v1/invoices/2026Q1-espoo-kela", kela).status, 401);
}

// Posts at once are taken together (group commit) and each answered for its own lines:
// 16 clients x 10 rounds, each body a blank line, a contact of its own and a contact
// every client of the round posts: the shared one is taken once a round.
TEST_F(ServeWriteTest, ConcurrentPostsAreEachAnsweredForTheirOwnLines) {
  auto serve = Start(dir_ + "/data");
  const std::string demo = ReadFile(dir_ + "/demo-events.jsonl");
  const size_t at = demo.find("\"type\":\"contact_recorded\"");
  const size_t from = demo.rfind('\n', at) + 1;
  const std::string contact = demo.substr(from, demo.find('\n', at) - from);
  auto with_id = [&](const std::string& id) {
    std::string line = contact;
    for (const char* key : {"event_id", "contact_id"}) {
      const std::string quoted = fmt::format("\"{}\":\"", key);
      const size_t start = line.find(quoted) + quoted.size();
      line.replace(start, line.find('"', start) - start, id);
    }
    return line + "\n";
  };
  constexpr int kClients = 16, kRounds = 10;
  std::vector<std::string> replies(kClients * kRounds);
  std::vector<std::thread> clients;
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&, c] {
      for (int r = 0; r < kRounds; ++r) {
        const std::string body =
            "\n" + with_id(fmt::format("own-{}-{}", c, r)) + with_id(fmt::format("shared-{}", r));
        const auto reply = Fetch(serve->port(), "POST", "/v1/events", host_token_, body);
        replies[c * kRounds + r] = std::to_string(reply.status) + " " + reply.body;
      }
    });
  }
  for (auto& t : clients) t.join();
  std::vector<int> shared_taken(kRounds, 0);
  for (int c = 0; c < kClients; ++c) {
    for (int r = 0; r < kRounds; ++r) {
      const std::string& reply = replies[c * kRounds + r];
      ASSERT_TRUE(reply.starts_with("200 ")) << reply;
      EXPECT_NE(reply.find(R"("results":[{"line":2,"status":"accepted")"), std::string::npos) << reply;
      const bool taken = reply.find(R"({"line":3,"status":"accepted")") != std::string::npos;
      const bool duplicate = reply.find(R"({"line":3,"status":"duplicate")") != std::string::npos;
      EXPECT_TRUE(taken != duplicate) << reply;
      shared_taken[r] += taken;
    }
  }
  for (int r = 0; r < kRounds; ++r) EXPECT_EQ(shared_taken[r], 1) << "round " << r;
  const auto metrics = Fetch(serve->port(), "GET", "/metrics");
  EXPECT_NE(metrics.body.find(fmt::format("tori_events_total{{outcome=\"accepted\"}} {}", kClients * kRounds + kRounds)),
            std::string::npos)
      << metrics.body;
}

TEST_F(ServeWriteTest, BodiesOverTheLimitsAre413AndTakeNothing) {
  auto serve = Start(dir_ + "/data");
  std::string lines;
  for (int i = 0; i <= 32768; ++i) lines += "{}\n";
  const auto many = Fetch(serve->port(), "POST", "/v1/events", host_token_, lines);
  EXPECT_EQ(many.status, 413);
  EXPECT_NE(many.body.find("TOO_MANY_EVENTS"), std::string::npos) << many.body;
  const auto huge = Fetch(serve->port(), "POST", "/v1/events", host_token_, std::string((16 << 20) + 1, ' '));
  EXPECT_TRUE(huge.status == 413 || huge.status == -1) << huge.status;
  // 32,768 lines are one body: each answered.
  lines.resize(lines.size() - 3);
  const auto most = Fetch(serve->port(), "POST", "/v1/events", host_token_, lines);
  EXPECT_EQ(most.status, 200);
  EXPECT_NE(most.body.find(R"("accepted":0,"duplicates":0,"rejected":32768)"), std::string::npos)
      << most.body.substr(0, 200);
  const auto metrics = Fetch(serve->port(), "GET", "/metrics");
  EXPECT_NE(metrics.body.find("tori_events_total{outcome=\"rejected\"} 32768"), std::string::npos);
  EXPECT_NE(metrics.body.find("tori_state_log_lag_events 0"), std::string::npos);
}

}  // namespace
}  // namespace tori
