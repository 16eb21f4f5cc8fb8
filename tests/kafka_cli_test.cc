// The `tori` binary with --kafka against the real broker (ops/kafka/start; never
// skipped): the same events give the same invoices as the embedded log, rejected events
// reach the dead-letter topic, and a projection killed with SIGKILL 20 times resumes
// without counting anything twice. Broker: $TORI_KAFKA_BROKERS or 127.0.0.1:9092.
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <thread>

#include "fmt/format.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/kafka/test_support.h"
#include "tests/run_command.h"

namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

using tori::kafka_test::Brokers;

using ShRun = tori::testing::CommandResult;
ShRun Sh(const std::string& command) { return tori::testing::RunCommand(command); }

using tori::testing::ReadWithoutAsOf;
using tori::testing::ReadWithoutLogHeads;

class KafkaCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string name = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    dir_ = fs::temp_directory_path() / fmt::format("tori-kafka-cli-{}-{}", ::getpid(), name);
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    topic_ = fmt::format("tori-cli-{}-{}-{}", name, ::getpid(),
                         std::chrono::steady_clock::now().time_since_epoch().count());
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string Kafka(const std::string& data) const {
    return fmt::format("--data {} --kafka {} --kafka-topic {} --kafka-dead-letter-topic {}-dl",
                       (dir_ / data).string(), Brokers(), topic_, topic_);
  }
  std::string Tori(const std::string& args) const { return fmt::format("{} {}", TORI_BINARY, args); }

  std::string Generate(int contacts) {
    const std::string file = (dir_ / "events.jsonl").string();
    EXPECT_EQ(Sh(Tori(fmt::format("generate --seed 11 --points 7 --contacts {} --out {}", contacts, file))).exit_code, 0);
    return file;
  }

  fs::path dir_;
  std::string topic_;
};

TEST_F(KafkaCliTest, KafkaAndTheEmbeddedLogGiveTheSameInvoices) {
  const std::string file = Generate(20'000);
  ShRun kafka = Sh(Tori(fmt::format("ingest {} {}", Kafka("kafka-data"), file)));
  ASSERT_EQ(kafka.exit_code, 0) << kafka.out;
  ShRun embedded = Sh(Tori(fmt::format("ingest --data {} {}", (dir_ / "embedded-data").string(), file)));
  ASSERT_EQ(embedded.exit_code, 0) << embedded.out;
  EXPECT_THAT(kafka.out, HasSubstr(embedded.out.substr(embedded.out.find("accepted"))));
  ASSERT_EQ(Sh(Tori(fmt::format("bill {} --quarter 2026Q1 --out {}", Kafka("kafka-data"),
                                (dir_ / "kafka-out").string()))).exit_code, 0);
  ASSERT_EQ(Sh(Tori(fmt::format("bill --data {} --quarter 2026Q1 --out {}", (dir_ / "embedded-data").string(),
                                (dir_ / "embedded-out").string()))).exit_code, 0);
  const std::string kafka_json = ReadWithoutLogHeads(dir_ / "kafka-out/invoices.json");
  EXPECT_GT(kafka_json.size(), 1000u);
  EXPECT_EQ(kafka_json, ReadWithoutLogHeads(dir_ / "embedded-out/invoices.json"));
  ShRun verify = Sh(Tori("verify " + Kafka("kafka-data")));
  EXPECT_EQ(verify.exit_code, 0) << verify.out;
  EXPECT_THAT(verify.out, HasSubstr(" 0 differ"));
}

TEST_F(KafkaCliTest, RejectedEventsReachTheDeadLetterTopic) {
  const std::string file = (dir_ / "bad.jsonl").string();
  std::ofstream(file) << R"({"event_id":"x","type":"contact_voided","occurred_at":"2026-01-01T00:00:00Z","contact_id":"nobody","reason":"r"})" "\n";
  ShRun run = Sh(Tori(fmt::format("ingest {} {}", Kafka("data"), file)));
  ASSERT_EQ(run.exit_code, 0) << run.out;
  EXPECT_THAT(run.out, HasSubstr("rejected 1"));
  ShRun topic = Sh(fmt::format("kcat -C -b {} -t {}-dl -o beginning -e -q", Brokers(), topic_));
  ASSERT_EQ(topic.exit_code, 0) << topic.out;
  EXPECT_THAT(topic.out, HasSubstr(R"("reason":"UNKNOWN_REFERENCE","field":"contact_id")"));
}

TEST_F(KafkaCliTest, AProjectionKilledTwentyTimesEndsWhereAnUninterruptedOneDoes) {
  // The issue's scale, 1 M events: long enough for kills inside the projection.
  const std::string file = Generate(1'000'000);
  ASSERT_EQ(Sh(Tori(fmt::format("ingest {} {}", Kafka("reference"), file))).exit_code, 0);
  ASSERT_EQ(Sh(Tori(fmt::format("bill --dry-run {} --quarter 2026Q1 --out {}", Kafka("reference"),
                                (dir_ / "reference-out").string()))).exit_code, 0);
  // How long one uninterrupted projection takes here: the kills are timed against it.
  const auto timing_started = std::chrono::steady_clock::now();
  ASSERT_EQ(Sh(Tori(fmt::format("project --data {} --kafka {} --kafka-topic {}",
                                (dir_ / "timing").string(), Brokers(), topic_))).exit_code, 0);
  const auto full_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                           std::chrono::steady_clock::now() - timing_started).count();

  const uint64_t seed = static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
  SCOPED_TRACE(fmt::format("seed {}, uninterrupted projection {} ms", seed, full_ms));
  std::mt19937_64 rng(seed);
  // Each run lives a twentieth to a fifth of a whole projection, about one commit
  // (every 131,072 events), so the runs resume from one another's commits.
  const int killed_running = tori::testing::StartAndKill(
      {TORI_BINARY, "project", "--data", (dir_ / "killed").string(), "--kafka", Brokers(),
       "--kafka-topic", topic_},
      20, full_ms / 20, full_ms / 5, rng);
  EXPECT_GE(killed_running, 5);
  ShRun finish = Sh(Tori(fmt::format("project --data {} --kafka {} --kafka-topic {}", (dir_ / "killed").string(),
                                   Brokers(), topic_)));
  ASSERT_EQ(finish.exit_code, 0) << finish.out;
  EXPECT_THAT(finish.out, HasSubstr("(lag 0)"));
  ASSERT_EQ(Sh(Tori(fmt::format("bill --dry-run {} --quarter 2026Q1 --out {}", Kafka("killed"),
                                (dir_ / "killed-out").string()))).exit_code, 0);
  EXPECT_EQ(ReadWithoutAsOf(dir_ / "killed-out/draft-invoices.json"), ReadWithoutAsOf(dir_ / "reference-out/draft-invoices.json"));
  RecordProperty("killed_running", killed_running);
}


TEST_F(KafkaCliTest, TwoIngestsOfOneFileIntoOneTopicAtOnceTakeEveryEventOnce) {
  // Issue #14: both used to say "accepted", the log held every event twice, and a
  // fresh state could not be built. Now the second writer fences the first, which
  // stops with a message saying so; run again, it finds every event a duplicate.
  const std::string file = Generate(20'000);
  ShRun embedded = Sh(Tori(fmt::format("ingest --data {} {}", (dir_ / "embedded").string(), file)));
  ASSERT_EQ(embedded.exit_code, 0) << embedded.out;
  ASSERT_EQ(Sh(Tori(fmt::format("bill --dry-run --data {} --quarter 2026Q1 --out {}",
                                (dir_ / "embedded").string(), (dir_ / "embedded-out").string())))
                .exit_code, 0);
  const std::string expected = ReadWithoutAsOf(dir_ / "embedded-out/invoices.json");
  const uint64_t events = std::stoull(embedded.out.substr(embedded.out.find("accepted ") + 9));

  ShRun runs[2];
  {
    std::thread first([&] { runs[0] = Sh(Tori(fmt::format("ingest {} {}", Kafka("a"), file))); });
    std::thread second([&] { runs[1] = Sh(Tori(fmt::format("ingest {} {}", Kafka("b"), file))); });
    first.join();
    second.join();
  }
  int stopped = 0;
  for (int i = 0; i < 2; ++i) {
    const std::string data = i == 0 ? "a" : "b";
    SCOPED_TRACE(data + ": " + runs[i].out);
    if (runs[i].exit_code == 0) continue;
    ++stopped;
    EXPECT_EQ(runs[i].exit_code, 1);
    EXPECT_THAT(runs[i].out, HasSubstr("another tori process took over as the writer of Kafka topic"));
    ShRun again = Sh(Tori(fmt::format("ingest {} {}", Kafka(data), file)));
    EXPECT_EQ(again.exit_code, 0) << again.out;
    EXPECT_THAT(again.out, HasSubstr(fmt::format("accepted 0, duplicates {}", events)));
  }
  EXPECT_LE(stopped, 1);

  // The committed log holds each event once.
  ShRun records = Sh(fmt::format(
      "kcat -C -b {} -t {} -o beginning -e -q -X isolation.level=read_committed -f '%p\\n' | wc -l",
      Brokers(), topic_));
  ASSERT_EQ(records.exit_code, 0) << records.out;
  EXPECT_EQ(std::stoull(records.out), events);

  // Both writers' states and a fresh one bill as the file taken once.
  ShRun fresh = Sh(Tori("project " + Kafka("fresh")));
  ASSERT_EQ(fresh.exit_code, 0) << fresh.out;
  for (std::string data : {"a", "b", "fresh"}) {
    SCOPED_TRACE(data);
    ShRun bill = Sh(Tori(fmt::format("bill --dry-run {} --quarter 2026Q1 --out {}", Kafka(data),
                                     (dir_ / (data + "-out")).string())));
    ASSERT_EQ(bill.exit_code, 0) << bill.out;
    EXPECT_EQ(ReadWithoutAsOf(dir_ / (data + "-out/invoices.json")), expected);
  }
}

}  // namespace
