// Private to tori_kafka_log: the cursor behind KafkaLog::Read.
//
// One KafkaConsumer per cursor, with manual assignment (no consumer group join, no
// offset commits), isolation.level=read_committed. It drains partition 0 from its
// start offset to its end, then partition 1, ...: only one partition is assigned at
// a time, so the prefetch queue (queued.max.messages.kbytes) bounds the memory.
//
// Thread safety: one thread at a time.
#ifndef TORI_EVENTS_LOG_KAFKA_INTERNAL_READER_H_
#define TORI_EVENTS_LOG_KAFKA_INTERNAL_READER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "events/log/event_log.h"
#include "events/log/kafka/internal/client.h"

namespace tori::kafka_internal {

struct ReaderSpec {
  std::string brokers;
  std::string topic;
  std::vector<ScopedSetting> settings;
  absl::Duration stall_timeout = absl::Seconds(60);
};

// A cursor over [from[p], ends[p]) of every partition p, partition by partition.
absl::StatusOr<std::unique_ptr<LogCursor>> OpenCursor(const ReaderSpec& spec,
                                                      std::vector<int64_t> from,
                                                      std::vector<int64_t> ends);

}  // namespace tori::kafka_internal

#endif  // TORI_EVENTS_LOG_KAFKA_INTERNAL_READER_H_
