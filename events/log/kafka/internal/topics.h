// Private to tori_kafka_log: the configuration tori gives the topics it creates.
// ops/kafka/topics/{local,production}/<topic>.properties hold the same values for
// operators (topics_test.cc checks that they agree).
#ifndef TORI_EVENTS_LOG_KAFKA_INTERNAL_TOPICS_H_
#define TORI_EVENTS_LOG_KAFKA_INTERNAL_TOPICS_H_

#include <cstdint>
#include <vector>

#include "events/log/kafka/internal/client.h"

namespace tori::kafka_internal {

enum class TopicKind { kEvents, kDeadLetters, kDocuments };

// Largest dead-letter (and document) record: 16 MiB of raw line plus its JSON.
inline constexpr int64_t kDeadLetterBytesMax = int64_t{32} << 20;

// 2 when there are at least 3 replicas (one may be down, every acknowledged record is
// on two), else 1.
int16_t DefaultMinInsyncReplicas(int16_t replication_factor);

// Topic configs set at creation.
std::vector<Setting> TopicConfigs(TopicKind kind, int16_t min_insync_replicas);

// What an existing topic must have: every record kept forever.
std::vector<Setting> RequiredTopicConfigs(TopicKind kind);

}  // namespace tori::kafka_internal

#endif  // TORI_EVENTS_LOG_KAFKA_INTERNAL_TOPICS_H_
