// The real Kafka broker that ops/kafka/start runs (never skipped): librdkafka 2.0.2
// creates a topic, an idempotent acks=all producer writes keyed messages, and a
// consumer reads every one back, in order per partition, none doubled.
// Broker address: $TORI_KAFKA_BROKERS, default 127.0.0.1:9092.
#include <librdkafka/rdkafkacpp.h>
#include <librdkafka/rdkafka.h>

#include <chrono>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <unistd.h>

#include "fmt/format.h"
#include "gtest/gtest.h"
#include "tests/kafka/test_support.h"

namespace {

using tori::kafka_test::Brokers;

std::unique_ptr<RdKafka::Conf> Config(const std::map<std::string, std::string>& settings) {
  std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
  std::string error;
  for (const auto& [k, v] : settings) {
    EXPECT_EQ(conf->set(k, v, error), RdKafka::Conf::CONF_OK) << k << ": " << error;
  }
  return conf;
}

void CreateTopic(RdKafka::Handle& handle, const std::string& topic, int partitions) {
  rd_kafka_t* rk = handle.c_ptr();
  char error[512];
  rd_kafka_NewTopic_t* new_topic =
      rd_kafka_NewTopic_new(topic.c_str(), partitions, 1, error, sizeof(error));
  ASSERT_NE(new_topic, nullptr) << error;
  rd_kafka_queue_t* queue = rd_kafka_queue_new(rk);
  rd_kafka_CreateTopics(rk, &new_topic, 1, nullptr, queue);
  rd_kafka_event_t* event = rd_kafka_queue_poll(queue, 30'000);
  ASSERT_NE(event, nullptr) << "no answer from the broker at " << Brokers()
                            << " within 30 s; is it running (ops/kafka/start)?";
  size_t count = 0;
  const rd_kafka_topic_result_t** results =
      rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(event), &count);
  ASSERT_EQ(count, 1u);
  EXPECT_EQ(rd_kafka_topic_result_error(results[0]), RD_KAFKA_RESP_ERR_NO_ERROR)
      << rd_kafka_topic_result_error_string(results[0]);
  rd_kafka_event_destroy(event);
  rd_kafka_queue_destroy(queue);
  rd_kafka_NewTopic_destroy(new_topic);
}

class CountingDelivery : public RdKafka::DeliveryReportCb {
 public:
  void dr_cb(RdKafka::Message& message) override {
    if (message.err() == RdKafka::ERR_NO_ERROR) {
      ++delivered;
    } else {
      ++failed;
      last_error = message.errstr();
    }
  }
  int delivered = 0;
  int failed = 0;
  std::string last_error;
};

TEST(KafkaBroker, IdempotentProducerRoundTripsThroughTheRealBroker) {
  const std::string topic = fmt::format("tori-smoke-{}-{}", ::getpid(),
                                        std::chrono::system_clock::now().time_since_epoch().count());
  constexpr int kPartitions = 3;
  constexpr int kMessages = 10'000;

  CountingDelivery delivery;
  auto conf = Config({{"bootstrap.servers", Brokers()},
                      {"enable.idempotence", "true"},
                      {"acks", "all"},
                      {"linger.ms", "5"},
                      {"compression.type", "lz4"}});
  std::string error;
  ASSERT_EQ(conf->set("dr_cb", &delivery, error), RdKafka::Conf::CONF_OK);
  std::unique_ptr<RdKafka::Producer> producer(RdKafka::Producer::create(conf.get(), error));
  ASSERT_NE(producer, nullptr) << error;
  CreateTopic(*producer, topic, kPartitions);

  for (int i = 0; i < kMessages; ++i) {
    const std::string key = fmt::format("point-{}", i % 7);
    const std::string value = fmt::format("{}", i);
    RdKafka::ErrorCode err;
    while ((err = producer->produce(topic, RdKafka::Topic::PARTITION_UA,
                                    RdKafka::Producer::RK_MSG_COPY,
                                    const_cast<char*>(value.data()), value.size(), key.data(),
                                    key.size(), 0, nullptr)) == RdKafka::ERR__QUEUE_FULL) {
      producer->poll(10);
    }
    ASSERT_EQ(err, RdKafka::ERR_NO_ERROR) << RdKafka::err2str(err);
    producer->poll(0);
  }
  ASSERT_EQ(producer->flush(60'000), RdKafka::ERR_NO_ERROR);
  EXPECT_EQ(delivery.failed, 0) << delivery.last_error;
  ASSERT_EQ(delivery.delivered, kMessages);

  auto consumer_conf = Config({{"bootstrap.servers", Brokers()},
                               {"group.id", topic + "-reader"},
                               {"enable.auto.commit", "false"},
                               {"isolation.level", "read_committed"}});
  std::unique_ptr<RdKafka::KafkaConsumer> consumer(
      RdKafka::KafkaConsumer::create(consumer_conf.get(), error));
  ASSERT_NE(consumer, nullptr) << error;
  std::vector<RdKafka::TopicPartition*> partitions;
  for (int p = 0; p < kPartitions; ++p) {
    partitions.push_back(RdKafka::TopicPartition::create(topic, p, RdKafka::Topic::OFFSET_BEGINNING));
  }
  ASSERT_EQ(consumer->assign(partitions), RdKafka::ERR_NO_ERROR);
  RdKafka::TopicPartition::destroy(partitions);

  std::map<std::string, int> last_value_per_key;
  int received = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (received < kMessages && std::chrono::steady_clock::now() < deadline) {
    std::unique_ptr<RdKafka::Message> message(consumer->consume(500));
    if (message->err() == RdKafka::ERR__TIMED_OUT || message->err() == RdKafka::ERR__PARTITION_EOF) {
      continue;
    }
    ASSERT_EQ(message->err(), RdKafka::ERR_NO_ERROR) << message->errstr();
    const std::string key = *message->key();
    const int value = std::stoi(std::string(static_cast<const char*>(message->payload()), message->len()));
    auto [it, first] = last_value_per_key.emplace(key, value);
    if (!first) {
      EXPECT_GT(value, it->second) << "order broken or duplicate for " << key;
      it->second = value;
    }
    ++received;
  }
  EXPECT_EQ(received, kMessages);
  consumer->close();
}

}  // namespace
