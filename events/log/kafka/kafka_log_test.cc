// Pins what KafkaLog decides without a broker: the partition of a key (a fixed hash,
// Kafka's murmur2, that must never change), the parsing and refusal of extra
// librdkafka settings, option checks, the error for unreachable brokers, and that
// ops/kafka/topics/ says what the code creates.
#include "events/log/kafka/kafka_log.h"

#include <librdkafka/rdkafka.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <set>

#include "events/log/kafka/internal/client.h"
#include "events/log/kafka/internal/topics.h"
#include "fmt/format.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace tori {
namespace {

using kafka_internal::ParseSettings;
using kafka_internal::Setting;
using ::testing::HasSubstr;

// Kafka's Java client murmur2 values, as librdkafka's own unit test (rdmurmur2.c)
// lists them.
TEST(KafkaPartitionTest, Murmur2MatchesKafkasJavaClient) {
  const std::string short_unaligned = "1234";
  const std::string unaligned = "PreAmbleWillBeRemoved,ThePrePartThatIs";
  const std::vector<std::pair<std::string, uint32_t>> cases = {
      {"kafka", 0xd067cf64},
      {"giberish123456789", 0x8f552b0c},
      {short_unaligned, 0x9fc97b14},
      {short_unaligned.substr(1), 0xe7c009ca},
      {short_unaligned.substr(2), 0x873930da},
      {short_unaligned.substr(3), 0x5a4b5ca1},
      {unaligned, 0x78424f1c},
      {unaligned.substr(1), 0x4a62b377},
      {unaligned.substr(2), 0xe0e4e09e},
      {unaligned.substr(3), 0x62b8b43f},
      {"", 0x106e08d9},
  };
  for (const auto& [key, expected] : cases) {
    EXPECT_EQ(KafkaLog::Murmur2(key), expected) << "key '" << key << "'";
  }
}

// The partition of a key is part of the log's history: these values must never
// change (a change would put a service point's new events in another partition than
// its old ones).
TEST(KafkaPartitionTest, PartitionOfAKeyIsFixed) {
  struct Case {
    std::string key;
    int32_t of6, of3, of12;
  };
  const std::vector<Case> cases = {
      {"SP-0001", 2, 2, 8},
      {"SP-0002", 5, 2, 11},
      {"espoo-iso-omena", 4, 1, 4},
      {"helsinki-kalasatama", 1, 1, 7},
      {"kalajarvi", 2, 2, 8},
      {"a", 4, 1, 4},
      {"ab", 2, 2, 2},
      {"abc", 3, 0, 3},
      {"abcd", 2, 2, 8},
      {"Iso Omena / Matinkyl\xc3\xa4", 4, 1, 4},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(KafkaLog::PartitionFor(c.key, 6), c.of6) << c.key;
    EXPECT_EQ(KafkaLog::PartitionFor(c.key, 3), c.of3) << c.key;
    EXPECT_EQ(KafkaLog::PartitionFor(c.key, 12), c.of12) << c.key;
    EXPECT_EQ(KafkaLog::PartitionFor(c.key, 1), 0) << c.key;
  }
}

// Reference data (agencies, issued documents) has an empty key and lives in
// partition 0, which a cursor drains first.
TEST(KafkaPartitionTest, EmptyKeyGoesToPartitionZero) {
  for (int32_t n : {1, 2, 6, 12}) EXPECT_EQ(KafkaLog::PartitionFor("", n), 0);
}

// Any other key goes where librdkafka's "murmur2" partitioner (and Kafka's Java
// client) would put it, so other Kafka tools agree with tori about partitions.
TEST(KafkaPartitionTest, NonEmptyKeysFollowLibrdkafkasMurmur2Partitioner) {
  char error[256];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  ASSERT_EQ(rd_kafka_conf_set(conf, "log_level", "0", error, sizeof(error)), RD_KAFKA_CONF_OK);
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, error, sizeof(error));
  ASSERT_NE(rk, nullptr) << error;
  rd_kafka_topic_t* rkt = rd_kafka_topic_new(rk, "t", nullptr);
  int checked = 0;
  for (int32_t n : {1, 2, 3, 6, 7, 12, 100}) {
    for (int i = 0; i < 3000; ++i) {
      const std::string key = fmt::format("SP-{}{}", i * 7919, std::string(i % 5, 'x'));
      ASSERT_EQ(KafkaLog::PartitionFor(key, n),
                rd_kafka_msg_partitioner_murmur2(rkt, key.data(), key.size(), n, nullptr, nullptr))
          << key << " of " << n;
      ++checked;
    }
  }
  EXPECT_EQ(checked, 7 * 3000);
  rd_kafka_topic_destroy(rkt);
  rd_kafka_destroy(rk);
}

TEST(KafkaSettingsTest, ParsesKeyValueAtTheFirstEqualsSign) {
  auto parsed =
      ParseSettings({"sasl.password=a=b", "security.protocol=SASL_SSL", "ssl.ca.location="});
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  ASSERT_EQ(parsed->size(), 3u);
  EXPECT_EQ((*parsed)[0].setting, (Setting{"sasl.password", "a=b"}));
  EXPECT_EQ((*parsed)[1].setting, (Setting{"security.protocol", "SASL_SSL"}));
  EXPECT_EQ((*parsed)[2].setting, (Setting{"ssl.ca.location", ""}));
  EXPECT_TRUE((*parsed)[0].producer && (*parsed)[0].consumer);
}

TEST(KafkaSettingsTest, ScopePrefixLimitsASettingToOneKindOfClient) {
  auto parsed = ParseSettings({"producer.linger.ms=20", "consumer.fetch.max.bytes=1048576"});
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ((*parsed)[0].setting, (Setting{"linger.ms", "20"}));
  EXPECT_TRUE((*parsed)[0].producer);
  EXPECT_FALSE((*parsed)[0].consumer);
  EXPECT_EQ((*parsed)[1].setting, (Setting{"fetch.max.bytes", "1048576"}));
  EXPECT_FALSE((*parsed)[1].producer);
  EXPECT_TRUE((*parsed)[1].consumer);
}

TEST(KafkaSettingsTest, TextWithoutEqualsSignIsRefused) {
  for (const std::string bad : {"linger.ms", "=5", ""}) {
    auto parsed = ParseSettings({bad});
    ASSERT_FALSE(parsed.ok()) << bad;
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(parsed.status().message()), HasSubstr("key=value"));
  }
}

TEST(KafkaSettingsTest, SettingsThatWouldWeakenTheGuaranteesAreRefused) {
  for (const std::string owned :
       {"acks=1", "enable.idempotence=false", "producer.acks=0",
        "consumer.isolation.level=read_uncommitted", "bootstrap.servers=elsewhere:9092",
        "auto.offset.reset=latest", "transactional.id=x"}) {
    auto parsed = ParseSettings({owned});
    ASSERT_FALSE(parsed.ok()) << owned;
    EXPECT_THAT(std::string(parsed.status().message()),
                HasSubstr("'" + owned + "' is not allowed"));
  }
}

KafkaLogOptions Unreachable() {
  KafkaLogOptions options;
  options.brokers = "127.0.0.1:1";  // nothing listens on port 1
  options.connect_timeout = absl::Seconds(1);
  return options;
}

TEST(KafkaLogOpenTest, UnknownSettingIsAnErrorNamingIt) {
  KafkaLogOptions options = Unreachable();
  options.settings = {"linger.ms=5", "ssl.ca.locatoin=/etc/ssl/ca.pem"};
  auto log = KafkaLog::Open(options);
  ASSERT_FALSE(log.ok());
  EXPECT_EQ(log.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(log.status().message()),
              HasSubstr("Kafka setting 'ssl.ca.locatoin=/etc/ssl/ca.pem'"));
}

TEST(KafkaLogOpenTest, InvalidSettingValueIsAnErrorNamingIt) {
  KafkaLogOptions options = Unreachable();
  options.settings = {"security.protocol=carrier_pigeon"};
  auto log = KafkaLog::Open(options);
  ASSERT_FALSE(log.ok());
  EXPECT_EQ(log.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(log.status().message()), HasSubstr("security.protocol=carrier_pigeon"));
}

TEST(KafkaLogOpenTest, BadOptionsAreRefusedBeforeConnecting) {
  const std::vector<std::pair<std::function<void(KafkaLogOptions&)>, std::string>> cases = {
      {[](KafkaLogOptions& o) { o.brokers = ""; }, "--kafka"},
      {[](KafkaLogOptions& o) { o.topic = "tori events"; }, "is not a Kafka topic name"},
      {[](KafkaLogOptions& o) { o.topic = ""; }, "is not a Kafka topic name"},
      {[](KafkaLogOptions& o) { o.topic = std::string(250, 't'); }, "is not a Kafka topic name"},
      {[](KafkaLogOptions& o) { o.partitions = 0; }, "partitions"},
      {[](KafkaLogOptions& o) { o.replication_factor = 0; }, "replication factor"},
      {[](KafkaLogOptions& o) { o.min_insync_replicas = 2; }, "min.insync.replicas 2"},
  };
  for (const auto& [change, expected] : cases) {
    KafkaLogOptions options = Unreachable();
    change(options);
    auto log = KafkaLog::Open(options);
    ASSERT_FALSE(log.ok()) << expected;
    EXPECT_EQ(log.status().code(), absl::StatusCode::kInvalidArgument) << log.status();
    EXPECT_THAT(std::string(log.status().message()), HasSubstr(expected));
  }
}

TEST(KafkaLogOpenTest, UnreachableBrokersFailWithinTheTimeoutNamingThem) {
  const absl::Time start = absl::Now();
  auto log = KafkaLog::Open(Unreachable());
  ASSERT_FALSE(log.ok());
  EXPECT_LT(absl::Now() - start, absl::Seconds(10));
  EXPECT_EQ(log.status().code(), absl::StatusCode::kUnavailable);
  const std::string message(log.status().message());
  EXPECT_THAT(message, HasSubstr("no Kafka broker answered at 127.0.0.1:1 within 1s"));
  EXPECT_THAT(message, HasSubstr("--kafka"));
  EXPECT_THAT(message, HasSubstr("ops/kafka/start"));
}

TEST(KafkaLogOpenTest, DeadLetterProducerChecksItsOptionsToo) {
  KafkaDeadLetterOptions options;
  options.brokers = "127.0.0.1:1";
  options.settings = {"acks=1"};
  auto writer = KafkaDeadLetterProducer::Open(options);
  ASSERT_FALSE(writer.ok());
  EXPECT_THAT(std::string(writer.status().message()), HasSubstr("'acks=1' is not allowed"));
}

// ops/kafka/topics/<env>/<topic>.properties: "partitions", "replication.factor", and
// topic configs.
std::map<std::string, std::string> ReadTopicFile(const std::filesystem::path& path) {
  std::ifstream in(path);
  EXPECT_TRUE(in.good()) << path;
  std::map<std::string, std::string> values;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    const size_t eq = line.find('=');
    EXPECT_NE(eq, std::string::npos) << path << ": " << line;
    values[line.substr(0, eq)] = line.substr(eq + 1);
  }
  return values;
}

TEST(KafkaTopicFilesTest, OpsTopicFilesSayWhatOpenCreates) {
  using kafka_internal::TopicKind;
  const std::filesystem::path dir = std::filesystem::path(TORI_SOURCE_DIR) / "ops/kafka/topics";
  struct Expected {
    std::string topic;
    TopicKind kind;
    int32_t partitions;
  };
  const std::vector<Expected> topics = {
      {std::string(kDefaultEventsTopic), TopicKind::kEvents, KafkaLogOptions{}.partitions},
      {std::string(kDefaultDeadLettersTopic), TopicKind::kDeadLetters,
       KafkaDeadLetterOptions{}.partitions},
      {std::string(kDefaultDocumentsTopic), TopicKind::kDocuments, 1},
  };
  for (const auto& [env, replication_factor] :
       {std::pair<std::string, int16_t>{"local", 1}, {"production", 3}}) {
    for (const Expected& e : topics) {
      const auto path = dir / env / (e.topic + ".properties");
      std::map<std::string, std::string> file = ReadTopicFile(path);
      std::map<std::string, std::string> code = {
          {"partitions", std::to_string(e.partitions)},
          {"replication.factor", std::to_string(replication_factor)}};
      for (const Setting& s : kafka_internal::TopicConfigs(
               e.kind, kafka_internal::DefaultMinInsyncReplicas(replication_factor))) {
        code[s.key] = s.value;
      }
      EXPECT_EQ(file, code) << path;
      for (const Setting& s : kafka_internal::RequiredTopicConfigs(e.kind)) {
        EXPECT_EQ(file[s.key], s.value) << path;
      }
    }
  }
  EXPECT_EQ(KafkaLogOptions{}.replication_factor, 1) << "code defaults are the local values";
}

}  // namespace
}  // namespace tori
