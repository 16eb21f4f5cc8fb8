// SPEC section 10 over a Kafka topic: one tree per partition, leaves that skip the
// transaction markers' offsets, an invoice's proof from its partition's checkpoint.
// Broker: $TORI_KAFKA_BROKERS or 127.0.0.1:9092; a topic of its own per run.
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "fmt/format.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/kafka/test_support.h"
#include "tests/run_command.h"

namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

TEST(KafkaProofTest, EachPartitionHasItsTreeAndAnInvoicesProofVerifies) {
  const std::string brokers = tori::kafka_test::Brokers();
  const fs::path dir = fs::temp_directory_path() / fmt::format("tori-kafka-proof-{}", ::getpid());
  fs::remove_all(dir);
  fs::create_directories(dir / "empty");
  const std::string topic =
      fmt::format("tori-proof-{}-{}", ::getpid(), std::chrono::steady_clock::now().time_since_epoch().count());
  const std::string kafka = fmt::format("--data {} --kafka {} --kafka-topic {} --kafka-dead-letter-topic {}-dl "
                                        "--kafka-partitions 3",
                                        (dir / "data").string(), brokers, topic, topic);
  auto tori = [&](const std::string& args) {
    return tori::testing::RunCommand(fmt::format("{} {}", TORI_BINARY, args));
  };
  auto run = tori(fmt::format("ingest {} {}/examples/sample.jsonl", kafka, TORI_SOURCE_DIR));
  ASSERT_EQ(run.exit_code, 0) << run.out;
  run = tori(fmt::format("bill {} --quarter 2026Q1 --out {}", kafka, (dir / "q1").string()));
  ASSERT_EQ(run.exit_code, 0) << run.out;
  run = tori(fmt::format("keygen --out {} --name espoo.fi/tori", (dir / "host").string()));
  ASSERT_EQ(run.exit_code, 0) << run.out;
  run = tori(fmt::format("checkpoint {} --key {}", kafka, (dir / "host.key").string()));
  ASSERT_EQ(run.exit_code, 0) << run.out;
  EXPECT_THAT(run.out, HasSubstr("p2: checkpoint of tree size"));
  // Every record is a leaf of its partition's tree, 290 in all.
  int64_t leaves = 0;
  for (int p = 0; p < 3; ++p) {
    const auto head = tori::testing::RunCommand(fmt::format("cat {}/data/merkle/p{}/HEAD", dir.string(), p)).out;
    leaves += std::stoll(head.substr(head.find("leaves ") + 7));
  }
  EXPECT_EQ(leaves, 283 + 7);  // the sample and the run's issued documents and host shares
  run = tori(fmt::format("proof {} --invoice 2026Q1-espoo-kela --out {}", kafka, (dir / "kela.json").string()));
  ASSERT_EQ(run.exit_code, 0) << run.out;
  run = tori::testing::RunCommand(fmt::format("cd {} && {} verify-proof {} --public-key {}", (dir / "empty").string(),
                                              TORI_BINARY, (dir / "kela.json").string(),
                                              (dir / "host.pub").string()));
  EXPECT_EQ(run.exit_code, 0) << run.out;
  EXPECT_THAT(run.out, HasSubstr("OK: invoice 2026Q1-espoo-kela"));
  fs::remove_all(dir);
}

}  // namespace
