// Shared by the Kafka tests: where the broker is, fresh topic names, test records
// that say which record they are, and reading a whole log back.
#ifndef TORI_TESTS_KAFKA_TEST_SUPPORT_H_
#define TORI_TESTS_KAFKA_TEST_SUPPORT_H_

#include <librdkafka/rdkafka.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "events/log/event_log.h"
#include "events/log/kafka/kafka_log.h"
#include "fmt/format.h"

namespace tori::kafka_test {

// $TORI_KAFKA_BROKERS, default the local broker of ops/kafka/start.
inline std::string Brokers() {
  const char* env = std::getenv("TORI_KAFKA_BROKERS");
  return env != nullptr && *env != '\0' ? env : "127.0.0.1:9092";
}

// A topic name no other test (or earlier run) uses.
inline std::string UniqueTopic(const std::string& what) {
  static std::atomic<int> counter{0};
  return fmt::format("tori-test-{}-{}-{}-{}", what, ::getpid(), counter++,
                     std::chrono::system_clock::now().time_since_epoch().count() % 1'000'000'000);
}

// Deletes a topic (best effort: a test's topic should not outlive it, or the broker
// fills up with them).
inline void DeleteTopic(const std::string& brokers, const std::string& topic) {
  char error[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "bootstrap.servers", brokers.c_str(), error, sizeof(error));
  rd_kafka_conf_set(conf, "log_level", "0", error, sizeof(error));
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, error, sizeof(error));
  if (rk == nullptr) return;
  rd_kafka_queue_t* queue = rd_kafka_queue_new(rk);
  rd_kafka_DeleteTopic_t* request = rd_kafka_DeleteTopic_new(topic.c_str());
  rd_kafka_DeleteTopics(rk, &request, 1, nullptr, queue);
  if (rd_kafka_event_t* event = rd_kafka_queue_poll(queue, 10'000)) rd_kafka_event_destroy(event);
  rd_kafka_DeleteTopic_destroy(request);
  rd_kafka_queue_destroy(queue);
  rd_kafka_destroy(rk);
}

// A fresh topic name whose topic is deleted at the end of the scope.
class ScopedTopic {
 public:
  explicit ScopedTopic(const std::string& what, std::string brokers = Brokers())
      : name_(UniqueTopic(what)), brokers_(std::move(brokers)) {}
  ~ScopedTopic() { DeleteTopic(brokers_, name_); }
  ScopedTopic(const ScopedTopic&) = delete;
  ScopedTopic& operator=(const ScopedTopic&) = delete;
  const std::string& name() const { return name_; }
  operator const std::string&() const { return name_; }

 private:
  std::string name_;
  std::string brokers_;
};

inline KafkaLogOptions LocalOptions(const std::string& topic) {
  KafkaLogOptions options;
  options.brokers = Brokers();
  options.topic = topic;
  return options;
}

// Record i: its partition key and a payload that names i and the key (~100 bytes).
// Every 50th record is reference data (empty key).
inline std::string KeyOf(int64_t i) { return i % 50 == 0 ? "" : fmt::format("SP-{:04d}", i % 97); }
inline std::string PayloadOf(int64_t i) {
  return fmt::format("record {:09d} key '{}' {}", i, KeyOf(i), std::string(60 + i % 40, 'x'));
}
// The record number a payload names, or -1.
inline int64_t IndexOf(std::string_view payload) {
  if (payload.size() < 16 || payload.substr(0, 7) != "record ") return -1;
  return std::strtoll(std::string(payload.substr(7, 9)).c_str(), nullptr, 10);
}

// Owns the payloads of a batch of records [first, first + count).
struct Batch {
  std::vector<std::string> keys;
  std::vector<std::string> payloads;
  std::vector<AppendRecord> records;
  Batch(int64_t first, int64_t count) {
    for (int64_t i = first; i < first + count; ++i) {
      keys.push_back(KeyOf(i));
      payloads.push_back(PayloadOf(i));
    }
    for (size_t j = 0; j < keys.size(); ++j) records.push_back({keys[j], payloads[j]});
  }
};

struct ReadRecord {
  int32_t partition;
  int64_t offset;
  std::string payload;
};

inline absl::StatusOr<std::vector<ReadRecord>> ReadAll(EventLog& log, const LogPosition& from) {
  auto cursor = log.Read(from);
  if (!cursor.ok()) return cursor.status();
  std::vector<ReadRecord> out;
  LogRecord record;
  while (true) {
    auto more = (*cursor)->Next(record);
    if (!more.ok()) return more.status();
    if (!*more) return out;
    out.push_back({record.partition, record.offset, std::string(record.payload)});
  }
}

inline LogPosition Zeros(const EventLog& log) {
  return LogPosition{std::vector<int64_t>(static_cast<size_t>(log.partition_count()), 0)};
}

}  // namespace tori::kafka_test

#endif  // TORI_TESTS_KAFKA_TEST_SUPPORT_H_
