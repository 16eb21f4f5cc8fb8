#include "events/log/kafka/internal/topics.h"

#include <string>

namespace tori::kafka_internal {

int16_t DefaultMinInsyncReplicas(int16_t replication_factor) {
  return replication_factor >= 3 ? 2 : 1;
}

std::vector<Setting> TopicConfigs(TopicKind kind, int16_t min_insync_replicas) {
  std::vector<Setting> configs = {
      {"cleanup.policy", "delete"}, {"retention.ms", "-1"},
      {"retention.bytes", "-1"},    {"min.insync.replicas", std::to_string(min_insync_replicas)},
      {"compression.type", "lz4"},  {"unclean.leader.election.enable", "false"},
  };
  if (kind != TopicKind::kEvents) {
    configs.push_back({"max.message.bytes", std::to_string(kDeadLetterBytesMax)});
  }
  return configs;
}

std::vector<Setting> RequiredTopicConfigs(TopicKind) {
  return {{"cleanup.policy", "delete"}, {"retention.ms", "-1"}, {"retention.bytes", "-1"}};
}

}  // namespace tori::kafka_internal
