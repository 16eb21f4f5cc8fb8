// Private helpers of tori_kafka_log: reaching the brokers, making sure a topic exists
// with the right shape and configuration, and reading partition watermarks.
//
// librdkafka 2.0.2 has its Admin API in C only; these wrap it for one use each.
// Thread safety: each call uses the handle it is given, from the calling thread.
#ifndef TORI_EVENTS_LOG_KAFKA_INTERNAL_ADMIN_H_
#define TORI_EVENTS_LOG_KAFKA_INTERNAL_ADMIN_H_

#include <librdkafka/rdkafkacpp.h>

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "events/log/kafka/internal/client.h"

namespace tori::kafka_internal {

struct TopicSpec {
  std::string name;
  std::string purpose;  // for messages: "event log", "dead-letter"
  int32_t partitions = 1;
  int16_t replication_factor = 1;
  // An existing topic must have exactly `partitions` (the event log: the partition
  // of a key depends on the count); otherwise any count is accepted.
  bool partitions_must_match = true;
  std::vector<Setting> configs;  // topic configs at creation
  // Configs an existing topic must have (checked with DescribeConfigs when
  // `check_configs`; the mock cluster cannot describe configs).
  std::vector<Setting> required_configs;
  bool check_configs = true;
};

// Waits until the cluster answers and `spec.name` exists with leaders for all its
// partitions, creating it (CreateTopics) when missing. Returns its partition count.
// Errors name the brokers and the topic and say what to do.
absl::StatusOr<int32_t> EnsureTopic(RdKafka::Handle& handle, const TopicSpec& spec,
                                    const std::string& brokers, absl::Duration timeout,
                                    const ClientEvents& events);

struct Watermarks {
  int64_t low = 0;   // first offset still in Kafka
  int64_t high = 0;  // next offset to be written (read_committed: last stable offset)
};

// Watermarks of partitions 0..partition_count-1, queried from the last partition to
// the first, so that partition 0's end is the latest of them (see kafka_log.h).
absl::StatusOr<std::vector<Watermarks>> QueryWatermarks(RdKafka::Handle& handle,
                                                        const std::string& topic,
                                                        int32_t partition_count,
                                                        absl::Duration timeout,
                                                        const ClientEvents& events);

}  // namespace tori::kafka_internal

#endif  // TORI_EVENTS_LOG_KAFKA_INTERNAL_ADMIN_H_
