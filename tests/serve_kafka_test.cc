// Two `tori serve` replicas on one topic of the real broker (ops/kafka/start; never
// skipped; $TORI_KAFKA_BROKERS or 127.0.0.1:9092), each with its own state: each follows
// what the other writes (grants and revocations too), and writes stay right across them:
// the same event_id posted to both at once is taken once, a conflicting one is
// DUPLICATE_CONFLICT (write_routes.h, "Several writers").
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "fmt/format.h"
#include "gtest/gtest.h"
#include "tests/kafka/test_support.h"
#include "services/server/test_client.h"
#include "tests/serve_process.h"

namespace tori {
namespace {

namespace fs = std::filesystem;
using server::testing::Fetch;
using server::testing::Reply;
using testing::ReadFile;
using testing::Serve;
constexpr auto Field = testing::JsonStringField;

using tori::kafka_test::Brokers;

int Tori(const std::string& args) {
  const int status = std::system(fmt::format("{} {}", TORI_BINARY, args).c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// Polls `fetch` every 50 ms for up to 20 s until `done(reply)`; the last reply.
template <typename Fetcher, typename Done>
Reply Eventually(Fetcher fetch, Done done) {
  Reply reply;
  for (int i = 0; i < 400; ++i) {
    reply = fetch();
    if (done(reply)) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return reply;
}

class ServeKafkaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / fmt::format("tori-serve-kafka-{}", ::getpid());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    topic_ = fmt::format("tori-serve-replicas-{}-{}", ::getpid(),
                         std::chrono::steady_clock::now().time_since_epoch().count());
    ASSERT_EQ(Tori(fmt::format("demo --dir {}/demo >/dev/null 2>&1", dir_)), 0);
    ASSERT_EQ(Tori(fmt::format("ingest {} {}/demo/demo-events.jsonl >{}/ingest.out 2>&1", Kafka("seed"), dir_, dir_)),
              0)
        << ReadFile(dir_ + "/ingest.out");
    ASSERT_EQ(Tori(fmt::format("access grant {} --role host --name Espoo --agency espoo >{}/host.json 2>&1",
                               Kafka("seed"), dir_)),
              0)
        << ReadFile(dir_ + "/host.json");
    host_token_ = Field(ReadFile(dir_ + "/host.json"), "token");
    ASSERT_EQ(host_token_.size(), 64u);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string Kafka(const std::string& data) const {
    return fmt::format("--data {}/{} --kafka {} --kafka-topic {} --kafka-dead-letter-topic {}-dl", dir_, data,
                       Brokers(), topic_, topic_);
  }
  std::unique_ptr<Serve> Replica(const std::string& name) {
    fs::create_directories(dir_ + "/" + name);
    auto serve = std::make_unique<Serve>(
        std::vector<std::string>{"--data", dir_ + "/" + name, "--kafka", Brokers(), "--kafka-topic", topic_,
                                 "--listen", "127.0.0.1:0"},
        dir_ + "/" + name + ".out");
    EXPECT_NE(serve->port(), 0) << ReadFile(dir_ + "/" + name + ".out.err");
    const Reply ready = Eventually([&] { return Fetch(serve->port(), "GET", "/readyz"); },
                                   [](const Reply& r) { return r.status == 200; });
    EXPECT_EQ(ready.status, 200) << ready.body;
    return serve;
  }

  std::string dir_, topic_, host_token_;
};

TEST_F(ServeKafkaTest, TwoReplicasTakeAnEventOnceAndFollowEachOthersGrantsAndRevocations) {
  auto one = Replica("one");
  auto two = Replica("two");
  const uint16_t p1 = one->port(), p2 = two->port();

  // A grant made through one is used at two once two has followed the log.
  const Reply granted = Fetch(p1, "POST", "/v1/access", host_token_, R"({"role":"agency","name":"Kela","agency_id":"kela"})");
  ASSERT_EQ(granted.status, 200) << granted.body;
  const std::string kela = Field(granted.body, "token"), kela_id = Field(granted.body, "token_id");
  EXPECT_EQ(Eventually([&] { return Fetch(p2, "GET", "/v1/quarters", kela); },
                       [](const Reply& r) { return r.status == 200; })
                .status,
            200);

  // The same event posted to both at once: taken once, the other answer a duplicate.
  const std::string demo = ReadFile(dir_ + "/demo/demo-events.jsonl");
  const size_t at = demo.find("\"type\":\"contact_recorded\"");
  const size_t from = demo.rfind('\n', at) + 1;
  std::string contact = demo.substr(from, demo.find('\n', at) - from);
  auto with_ids = [](std::string line, const std::string& id, const std::string& duration) {
    for (const char* key : {"event_id", "contact_id"}) {
      const std::string quoted = fmt::format("\"{}\":\"", key);
      const size_t start = line.find(quoted) + quoted.size();
      line.replace(start, line.find('"', start) - start, id);
    }
    const size_t d = line.find("\"duration_s\":") + 13;
    line.replace(d, line.find_first_of(",}", d) - d, duration);
    return line + "\n";
  };
  for (int round = 0; round < 3; ++round) {
    const std::string id = fmt::format("replicas-{}", round);
    Reply a, b;
    std::thread t1([&] { a = Fetch(p1, "POST", "/v1/events", host_token_, with_ids(contact, id, "300")); });
    std::thread t2([&] { b = Fetch(p2, "POST", "/v1/events", host_token_, with_ids(contact, id, "300")); });
    t1.join();
    t2.join();
    ASSERT_EQ(a.status, 200) << a.body;
    ASSERT_EQ(b.status, 200) << b.body;
    const int taken = (a.body.find(R"("accepted":1)") != std::string::npos) +
                      (b.body.find(R"("accepted":1)") != std::string::npos);
    const int duplicates = (a.body.find(R"("duplicates":1)") != std::string::npos) +
                           (b.body.find(R"("duplicates":1)") != std::string::npos);
    EXPECT_EQ(taken, 1) << a.body << b.body;
    EXPECT_EQ(duplicates, 1) << a.body << b.body;

    // The same event_id with other content at once: one taken, one DUPLICATE_CONFLICT.
    const std::string other = fmt::format("replicas-conflict-{}", round);
    std::thread t3([&] { a = Fetch(p1, "POST", "/v1/events", host_token_, with_ids(contact, other, "300")); });
    std::thread t4([&] { b = Fetch(p2, "POST", "/v1/events", host_token_, with_ids(contact, other, "301")); });
    t3.join();
    t4.join();
    ASSERT_EQ(a.status, 200) << a.body;
    ASSERT_EQ(b.status, 200) << b.body;
    EXPECT_EQ((a.body.find(R"("accepted":1)") != std::string::npos) +
                  (b.body.find(R"("accepted":1)") != std::string::npos),
              1)
        << a.body << b.body;
    EXPECT_EQ((a.body.find("DUPLICATE_CONFLICT") != std::string::npos) +
                  (b.body.find("DUPLICATE_CONFLICT") != std::string::npos),
              1)
        << a.body << b.body;
  }
  // Both replicas, caught up, are at the same position, and each knows every event once:
  // posting them again is a duplicate at both.
  const Reply r1 = Eventually([&] { return Fetch(p1, "GET", "/readyz"); }, [](const Reply& r) { return r.status == 200; });
  const Reply r2 = Eventually([&] { return Fetch(p2, "GET", "/readyz"); },
                              [&](const Reply& r) { return r.status == 200 && Field(r.body, "state_position") == Field(r1.body, "state_position"); });
  EXPECT_EQ(Field(r1.body, "state_position"), Field(r2.body, "state_position")) << r1.body << r2.body;
  for (uint16_t port : {p1, p2}) {
    const Reply again = Fetch(port, "POST", "/v1/events", host_token_, with_ids(contact, "replicas-0", "300"));
    EXPECT_NE(again.body.find(R"("accepted":0,"duplicates":1,"rejected":0)"), std::string::npos) << again.body;
  }
  // The log holds each event once.
  ASSERT_EQ(Tori(fmt::format("log {} >{}/log.out 2>&1", Kafka("seed"), dir_)), 0) << ReadFile(dir_ + "/log.out");
  const std::string log = ReadFile(dir_ + "/log.out");
  for (int round = 0; round < 3; ++round) {
    for (const std::string& id : {fmt::format("\"replicas-{}\"", round), fmt::format("\"replicas-conflict-{}\"", round)}) {
      size_t count = 0;
      for (size_t pos = log.find("\"event_id\":" + id); pos != std::string::npos;
           pos = log.find("\"event_id\":" + id, pos + 1)) {
        ++count;
      }
      EXPECT_EQ(count, 1u) << id;
    }
  }

  // A revocation through two: refused by two at once, by one once it has followed.
  ASSERT_EQ(Fetch(p2, "DELETE", "/v1/access/" + kela_id, host_token_).status, 200);
  EXPECT_EQ(Fetch(p2, "GET", "/v1/quarters", kela).status, 401);
  EXPECT_EQ(Eventually([&] { return Fetch(p1, "GET", "/v1/quarters", kela); },
                       [](const Reply& r) { return r.status == 401; })
                .status,
            401);
  const std::string metrics = Fetch(p1, "GET", "/metrics").body;
  EXPECT_NE(metrics.find("tori_state_log_lag_events "), std::string::npos);
}

}  // namespace
}  // namespace tori
