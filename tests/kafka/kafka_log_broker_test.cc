// KafkaLog against the real broker ($TORI_KAFKA_BROKERS, default 127.0.0.1:9092, the
// one ops/kafka/start runs). Never skipped: without a broker every test fails with
// KafkaLog::Open's message naming the brokers and ops/kafka/start.
// Each test uses a fresh topic.
#include <librdkafka/rdkafka.h>

#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>

#include "events/log/kafka/kafka_log.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/kafka/test_support.h"

namespace tori::kafka_test {
namespace {

using ::testing::HasSubstr;

// A plain librdkafka client for what the tests check behind KafkaLog's back.
class AdminClient {
 public:
  AdminClient() {
    char error[512];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "bootstrap.servers", Brokers().c_str(), error, sizeof(error));
    rk_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, error, sizeof(error));
    queue_ = rd_kafka_queue_new(rk_);
  }
  ~AdminClient() {
    rd_kafka_queue_destroy(queue_);
    rd_kafka_destroy(rk_);
  }

  // Creates a topic the way an operator might have, outside tori.
  void CreateTopic(const std::string& topic, int partitions,
                   const std::map<std::string, std::string>& configs) {
    char error[512];
    rd_kafka_NewTopic_t* new_topic =
        rd_kafka_NewTopic_new(topic.c_str(), partitions, 1, error, sizeof(error));
    ASSERT_NE(new_topic, nullptr) << error;
    for (const auto& [k, v] : configs)
      rd_kafka_NewTopic_set_config(new_topic, k.c_str(), v.c_str());
    rd_kafka_CreateTopics(rk_, &new_topic, 1, nullptr, queue_);
    rd_kafka_event_t* event = rd_kafka_queue_poll(queue_, 30'000);
    ASSERT_NE(event, nullptr) << "no answer from the broker at " << Brokers();
    size_t count = 0;
    const rd_kafka_topic_result_t** results =
        rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(event), &count);
    ASSERT_EQ(count, 1u);
    EXPECT_EQ(rd_kafka_topic_result_error(results[0]), RD_KAFKA_RESP_ERR_NO_ERROR)
        << rd_kafka_topic_result_error_string(results[0]);
    rd_kafka_event_destroy(event);
    rd_kafka_NewTopic_destroy(new_topic);
  }

  std::map<std::string, std::string> DescribeConfigs(const std::string& topic) {
    std::map<std::string, std::string> out;
    rd_kafka_ConfigResource_t* resource =
        rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, topic.c_str());
    rd_kafka_DescribeConfigs(rk_, &resource, 1, nullptr, queue_);
    rd_kafka_event_t* event = rd_kafka_queue_poll(queue_, 30'000);
    EXPECT_NE(event, nullptr);
    if (event == nullptr) return out;
    size_t count = 0;
    const rd_kafka_ConfigResource_t** resources = rd_kafka_DescribeConfigs_result_resources(
        rd_kafka_event_DescribeConfigs_result(event), &count);
    EXPECT_EQ(count, 1u);
    size_t entries_count = 0;
    const rd_kafka_ConfigEntry_t** entries =
        rd_kafka_ConfigResource_configs(resources[0], &entries_count);
    for (size_t i = 0; i < entries_count; ++i) {
      const char* value = rd_kafka_ConfigEntry_value(entries[i]);
      out[rd_kafka_ConfigEntry_name(entries[i])] = value != nullptr ? value : "";
    }
    rd_kafka_event_destroy(event);
    rd_kafka_ConfigResource_destroy(resource);
    return out;
  }

  // Deletes the records of `partition` before `offset` (Kafka's DeleteRecords).
  void DeleteRecordsBefore(const std::string& topic, int32_t partition, int64_t offset) {
    rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(list, topic.c_str(), partition)->offset = offset;
    rd_kafka_DeleteRecords_t* request = rd_kafka_DeleteRecords_new(list);
    rd_kafka_DeleteRecords(rk_, &request, 1, nullptr, queue_);
    rd_kafka_event_t* event = rd_kafka_queue_poll(queue_, 30'000);
    ASSERT_NE(event, nullptr);
    EXPECT_EQ(rd_kafka_event_error(event), RD_KAFKA_RESP_ERR_NO_ERROR)
        << rd_kafka_event_error_string(event);
    rd_kafka_event_destroy(event);
    rd_kafka_DeleteRecords_destroy(request);
    rd_kafka_topic_partition_list_destroy(list);
  }

  // Every record of partition 0 of `topic`, read with a plain consumer.
  std::vector<std::string> ReadPartitionZero(const std::string& topic, size_t expected) {
    char error[512];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "bootstrap.servers", Brokers().c_str(), error, sizeof(error));
    rd_kafka_conf_set(conf, "group.id", "tori-test-reader", error, sizeof(error));
    rd_kafka_t* consumer = rd_kafka_new(RD_KAFKA_CONSUMER, conf, error, sizeof(error));
    rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(list, topic.c_str(), 0)->offset = RD_KAFKA_OFFSET_BEGINNING;
    rd_kafka_assign(consumer, list);
    rd_kafka_topic_partition_list_destroy(list);
    std::vector<std::string> out;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (out.size() < expected && std::chrono::steady_clock::now() < deadline) {
      rd_kafka_message_t* m = rd_kafka_consumer_poll(consumer, 200);
      if (m == nullptr) continue;
      if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR)
        out.emplace_back(static_cast<const char*>(m->payload), m->len);
      rd_kafka_message_destroy(m);
    }
    rd_kafka_consumer_close(consumer);
    rd_kafka_destroy(consumer);
    return out;
  }

 private:
  rd_kafka_t* rk_;
  rd_kafka_queue_t* queue_;
};

std::unique_ptr<KafkaLog> OpenOrDie(const KafkaLogOptions& options) {
  auto log = KafkaLog::Open(options);
  EXPECT_TRUE(log.ok()) << log.status();
  return log.ok() ? std::move(*log) : nullptr;
}

int64_t Sum(const LogPosition& p) {
  int64_t sum = 0;
  for (int64_t o : p.next_offsets) sum += o;
  return sum;
}

TEST(KafkaLogBrokerTest, ReadsBack100kRecordsInOrderPerPartition) {
  constexpr int64_t kRecords = 100'000;
  constexpr int64_t kBatch = 10'000;
  ScopedTopic topic("readback");
  auto log = OpenOrDie(LocalOptions(topic));
  ASSERT_NE(log, nullptr);
  ASSERT_EQ(log->partition_count(), 6);
  EXPECT_EQ(log->End(), Zeros(*log));
  for (int64_t first = 0; first < kRecords; first += kBatch) {
    Batch batch(first, kBatch);
    auto end = log->Append(batch.records);
    ASSERT_TRUE(end.ok()) << end.status();
    EXPECT_EQ(Sum(*end), first + kBatch);
    EXPECT_EQ(*end, log->End());
  }

  auto records = ReadAll(*log, Zeros(*log));
  ASSERT_TRUE(records.ok()) << records.status();
  ASSERT_EQ(records->size(), static_cast<size_t>(kRecords));
  std::vector<int64_t> seen_per_partition(6, 0);
  std::vector<int64_t> last_index_per_partition(6, -1);
  std::set<int64_t> indexes;
  int32_t last_partition = 0;
  for (const ReadRecord& r : *records) {
    const int64_t i = IndexOf(r.payload);
    ASSERT_GE(i, 0) << r.payload;
    ASSERT_EQ(r.payload, PayloadOf(i));
    ASSERT_EQ(r.partition, KafkaLog::PartitionFor(KeyOf(i), 6)) << "record " << i;
    ASSERT_GE(r.partition, last_partition) << "partitions are drained 0, 1, 2, ...";
    last_partition = r.partition;
    const auto p = static_cast<size_t>(r.partition);
    ASSERT_EQ(r.offset, seen_per_partition[p]++) << "offsets are contiguous from 0";
    ASSERT_GT(i, last_index_per_partition[p]) << "append order is kept within a partition";
    last_index_per_partition[p] = i;
    indexes.insert(i);
  }
  EXPECT_EQ(indexes.size(), static_cast<size_t>(kRecords)) << "no record doubled";
  EXPECT_EQ(log->End().next_offsets, seen_per_partition);
}

TEST(KafkaLogBrokerTest, SameKeyAlwaysGoesToTheSamePartition) {
  ScopedTopic topic("samekey");
  auto log = OpenOrDie(LocalOptions(topic));
  ASSERT_NE(log, nullptr);
  for (int64_t first = 0; first < 3000; first += 1000) {
    Batch batch(first, 1000);
    ASSERT_TRUE(log->Append(batch.records).ok());
  }
  auto records = ReadAll(*log, Zeros(*log));
  ASSERT_TRUE(records.ok()) << records.status();
  std::map<std::string, std::set<int32_t>> partitions_of_key;
  for (const ReadRecord& r : *records)
    partitions_of_key[KeyOf(IndexOf(r.payload))].insert(r.partition);
  EXPECT_EQ(partitions_of_key.size(), 97u + 1u);
  for (const auto& [key, partitions] : partitions_of_key) {
    EXPECT_EQ(partitions, std::set<int32_t>{KafkaLog::PartitionFor(key, 6)})
        << "key '" << key << "'";
  }
  EXPECT_EQ(partitions_of_key[""], std::set<int32_t>{0});
}

TEST(KafkaLogBrokerTest, ReadsFromAMiddlePosition) {
  ScopedTopic topic("middle");
  auto log = OpenOrDie(LocalOptions(topic));
  ASSERT_NE(log, nullptr);
  Batch first(0, 400), second(400, 600);
  auto middle = log->Append(first.records);
  ASSERT_TRUE(middle.ok()) << middle.status();
  ASSERT_TRUE(log->Append(second.records).ok());

  auto records = ReadAll(*log, *middle);
  ASSERT_TRUE(records.ok()) << records.status();
  ASSERT_EQ(records->size(), 600u);
  std::vector<int64_t> next = middle->next_offsets;
  for (const ReadRecord& r : *records) {
    EXPECT_GE(IndexOf(r.payload), 400);
    EXPECT_EQ(r.offset, next[static_cast<size_t>(r.partition)]++);
  }
  EXPECT_EQ(next, log->End().next_offsets);
  // At the end: nothing more.
  auto none = ReadAll(*log, log->End());
  ASSERT_TRUE(none.ok()) << none.status();
  EXPECT_TRUE(none->empty());
}

TEST(KafkaLogBrokerTest, ASecondInstanceSeesTheSameEndAndRecords) {
  const ScopedTopic topic("second");
  auto log = OpenOrDie(LocalOptions(topic));
  ASSERT_NE(log, nullptr);
  Batch batch(0, 5000);
  auto end = log->Append(batch.records);
  ASSERT_TRUE(end.ok()) << end.status();

  auto other = OpenOrDie(LocalOptions(topic));  // its own librdkafka clients and state
  ASSERT_NE(other, nullptr);
  EXPECT_EQ(other->partition_count(), log->partition_count());
  EXPECT_EQ(other->End(), *end);
  auto mine = ReadAll(*log, Zeros(*log));
  auto theirs = ReadAll(*other, Zeros(*other));
  ASSERT_TRUE(mine.ok() && theirs.ok());
  ASSERT_EQ(mine->size(), theirs->size());
  for (size_t i = 0; i < mine->size(); ++i) {
    EXPECT_EQ((*mine)[i].payload, (*theirs)[i].payload);
    EXPECT_EQ((*mine)[i].offset, (*theirs)[i].offset);
  }
}

TEST(KafkaLogBrokerTest, ASecondWriterFencesTheFirstAndReadersSeeCommittedBatchesOnly) {
  const ScopedTopic topic("fenced");
  KafkaLogOptions options = LocalOptions(topic);
  options.writer = true;
  auto first = OpenOrDie(options);
  ASSERT_NE(first, nullptr);
  Batch before(0, 1000);
  ASSERT_TRUE(first->Append(before.records).ok());

  auto second = OpenOrDie(options);  // fences the first
  ASSERT_NE(second, nullptr);
  Batch refused(1000, 1000);
  auto fenced = first->Append(refused.records);
  ASSERT_FALSE(fenced.ok());
  EXPECT_EQ(fenced.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(fenced.status().message(),
              HasSubstr("another tori process took over as the writer of Kafka topic"));
  EXPECT_FALSE(first->Append(refused.records).ok());  // and stays stopped
  Batch after(2000, 1000);
  ASSERT_TRUE(second->Append(after.records).ok());

  auto records = ReadAll(*second, Zeros(*second));
  ASSERT_TRUE(records.ok()) << records.status();
  // Records 0..999 and 2000..2999, each once; none of the fenced writer's batch.
  std::multiset<int64_t> read;
  for (const auto& r : *records) read.insert(IndexOf(r.payload) / 1000);
  EXPECT_EQ(read.count(0), 1000u);
  EXPECT_EQ(read.count(1), 0u);
  EXPECT_EQ(read.count(2), 1000u) << second->End().ToString();
  EXPECT_EQ(read.size(), 2000u);
}

TEST(KafkaLogBrokerTest, OpenCreatesTheTopicToKeepEveryRecordForever) {
  const ScopedTopic topic("configs");
  ASSERT_NE(OpenOrDie(LocalOptions(topic)), nullptr);
  AdminClient admin;
  std::map<std::string, std::string> configs = admin.DescribeConfigs(topic);
  EXPECT_EQ(configs["retention.ms"], "-1");
  EXPECT_EQ(configs["retention.bytes"], "-1");
  EXPECT_EQ(configs["cleanup.policy"], "delete");
  EXPECT_EQ(configs["min.insync.replicas"], "1");
  EXPECT_EQ(configs["compression.type"], "lz4");
}

TEST(KafkaLogBrokerTest, OpenRefusesATopicThatDeletesOldRecords) {
  const ScopedTopic topic("retention");
  AdminClient admin;
  admin.CreateTopic(topic, 6, {{"retention.ms", "604800000"}});
  auto log = KafkaLog::Open(LocalOptions(topic));
  ASSERT_FALSE(log.ok());
  EXPECT_EQ(log.status().code(), absl::StatusCode::kFailedPrecondition);
  const std::string message(log.status().message());
  EXPECT_THAT(message, HasSubstr("has retention.ms=604800000"));
  EXPECT_THAT(message, HasSubstr("set retention.ms=-1"));
}

TEST(KafkaLogBrokerTest, OpenRefusesATopicWithAnotherPartitionCount) {
  const ScopedTopic topic("partitions");
  AdminClient admin;
  admin.CreateTopic(topic, 3, {{"retention.ms", "-1"}});
  auto log = KafkaLog::Open(LocalOptions(topic));
  ASSERT_FALSE(log.ok());
  EXPECT_EQ(log.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(log.status().message()), HasSubstr("has 3 partitions, tori expects 6"));
  KafkaLogOptions three = LocalOptions(topic);
  three.partitions = 3;
  EXPECT_NE(OpenOrDie(three), nullptr);
}

TEST(KafkaLogBrokerTest, OpenRefusesAReplicationFactorTheClusterCannotGive) {
  ScopedTopic topic("rf3");
  KafkaLogOptions options = LocalOptions(topic);
  options.replication_factor = 3;
  auto log = KafkaLog::Open(options);
  ASSERT_FALSE(log.ok());
  EXPECT_THAT(std::string(log.status().message()), HasSubstr("replication factor 3"));
}

TEST(KafkaLogBrokerTest, TooLargeRecordFailsTheAppendNamingIt) {
  ScopedTopic topic("large");
  auto log = OpenOrDie(LocalOptions(topic));
  ASSERT_NE(log, nullptr);
  const std::string small = "small", large(2'000'000, 'x');
  const std::vector<AppendRecord> records = {{"a", small}, {"a", large}};
  auto end = log->Append(records);
  ASSERT_FALSE(end.ok());
  EXPECT_EQ(end.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(end.status().message()), HasSubstr("record 1 of 2 (2000000 bytes)"));
  EXPECT_THAT(std::string(end.status().message()),
              HasSubstr("1 of the 1 records before it were written"));
  // The log stays usable.
  EXPECT_TRUE(log->Append({{"a", small}}).ok());
}

TEST(KafkaLogBrokerTest, ReadRefusesPositionsThatDoNotFit) {
  ScopedTopic topic("positions");
  auto log = OpenOrDie(LocalOptions(topic));
  ASSERT_NE(log, nullptr);
  Batch batch(0, 100);
  ASSERT_TRUE(log->Append(batch.records).ok());
  auto wrong_count = log->Read(LogPosition{{0, 0}});
  ASSERT_FALSE(wrong_count.ok());
  EXPECT_THAT(std::string(wrong_count.status().message()), HasSubstr("has 2 partitions"));
  LogPosition beyond = log->End();
  beyond.next_offsets[3] += 1;
  auto past_end = log->Read(beyond);
  ASSERT_FALSE(past_end.ok());
  EXPECT_THAT(std::string(past_end.status().message()), HasSubstr("beyond the end"));
}

TEST(KafkaLogBrokerTest, RecordsDeletedFromKafkaAreDataLossNotSkipped) {
  const ScopedTopic topic("deleted");
  auto log = OpenOrDie(LocalOptions(topic));
  ASSERT_NE(log, nullptr);
  Batch batch(0, 500);
  ASSERT_TRUE(log->Append(batch.records).ok());
  AdminClient admin;
  admin.DeleteRecordsBefore(topic, 0, 3);
  auto cursor = log->Read(Zeros(*log));
  ASSERT_FALSE(cursor.ok());
  EXPECT_EQ(cursor.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(cursor.status().message()),
              HasSubstr("records 0..2 of Kafka topic " + topic.name() + " partition 0 are gone"));
}

TEST(KafkaLogBrokerTest, DeadLetterProducerWritesTheRecordsInOrder) {
  KafkaDeadLetterOptions options;
  options.brokers = Brokers();
  ScopedTopic topic("dead-letters");
  options.topic = topic;
  auto writer = KafkaDeadLetterProducer::Open(options);
  ASSERT_TRUE(writer.ok()) << writer.status();
  const std::string first =
      R"({"line":3,"reason":"RANGE","field":"duration_s","message":"line 3: duration_s -5 is negative","raw":"{...}"})";
  const std::string second =
      R"({"partition":2,"offset":17,"reason":"MALFORMED","field":"","message":"not JSON","raw":"\ufffd"})";
  // Bigger than Kafka's default 1 MB limit: the topic is made for 16 MiB raw lines.
  const std::string large =
      R"({"line":4,"reason":"MALFORMED","raw":")" + std::string(5 << 20, 'y') + "\"}";
  ASSERT_TRUE((*writer)->Write(first).ok());
  const std::vector<std::string_view> more = {second, large};
  absl::Status written = (*writer)->Write(more);
  ASSERT_TRUE(written.ok()) << written;
  AdminClient admin;
  EXPECT_EQ(admin.ReadPartitionZero(options.topic, 3),
            (std::vector<std::string>{first, second, large}));
  EXPECT_EQ(admin.DescribeConfigs(options.topic)["retention.ms"], "-1");
}

}  // namespace
}  // namespace tori::kafka_test
