// KafkaLog: tori's event log in one Apache Kafka topic (`--kafka BROKERS`), and a
// producer for the dead-letter topic.
//
// Model. The topic (default "tori.events", 6 partitions) is the log; a Kafka
// partition is a log partition and a Kafka offset a log offset, so a LogPosition is
// the next offset per partition. Open creates the topic when it is missing, with the
// configuration in ops/kafka/topics/ (retention forever), or checks that an existing
// one has the expected partition count and keeps records forever.
//
// Partitioning (fixed: changing it would reorder history). A record goes to
//   partition 0                                          if its partition_key is empty,
//   (murmur2(partition_key) & 0x7fffffff) % partitions   otherwise,
// where murmur2 is Kafka's (seed 0x9747b28c), as in Kafka's Java DefaultPartitioner
// and librdkafka's "murmur2" partitioner: a key always maps to the same partition.
// The partition is chosen here and produced to explicitly. Reference data (agencies,
// issued documents: empty key) therefore lives in partition 0.
//
// Reading order. A cursor drains partition 0, then 1, ... up to the ends taken when
// Read was called, each partition in offset order. The ends are queried from the
// last partition to the first, so partition 0's end is taken last: every record a
// cursor returns from partition k > 0 was appended before partition 0's end was
// taken, so the reference data it was validated against is read before it.
// Memory stays bounded: one partition is assigned to the cursor's consumer at a
// time, with at most 64 MiB prefetched.
//
// Durability. Append uses an idempotent producer (enable.idempotence, acks=all,
// lz4, linger 5 ms) and returns only when Kafka acknowledged every record. Retries
// inside librdkafka never duplicate a record (same producer id and sequence), also
// across a broker restart. Append fails when records are not acknowledged within
// delivery_timeout (plus 5 s for requests whose outcome librdkafka is still
// resolving; it would otherwise wait for the broker indefinitely), or a record is
// too large (1 MB, Kafka's default), ...; the message names the topic, the first
// failed record and its partition, and how many were written. Some records of the
// batch may then already be in Kafka (a writer's aborted transaction hides them from
// readers; see "One writer"), and stay there: a log cannot take them back
// (after a timeout or an unreachable broker, per partition a prefix of the batch's
// records there: the broker takes an idempotent producer's batches in sequence
// only). The caller
// runs the batch again; tori's idempotency index (event_id -> content hash)
// recognizes the events that were written and appends the others, so nothing is
// lost and no event counts twice.
//
// One writer. Like the embedded log, a topic has one writing tori at a time: the
// position Append returns assumes nobody else wrote in between, and a writer's
// validator must have seen every event before the ones it accepts. A log opened as
// the writer (`KafkaLogOptions::writer`, what every appending command uses) has a
// transactional producer with the id WriterTransactionalId(topic): Open fences any
// earlier writer of the topic (the broker aborts its open transaction and refuses
// its later ones), before the caller catches up with the log; each Append is one
// transaction, so a failed or fenced Append leaves none of its records visible to
// readers, which read committed records only. A fenced writer's Append fails with
// FailedPrecondition saying that another process took over.
//
// Thread safety: one thread at a time (EventLog's contract); a cursor too.
#ifndef TORI_EVENTS_LOG_KAFKA_KAFKA_LOG_H_
#define TORI_EVENTS_LOG_KAFKA_KAFKA_LOG_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "events/log/event_log.h"

namespace tori {

namespace kafka_internal {
class Producer;
}  // namespace kafka_internal

inline constexpr std::string_view kDefaultEventsTopic = "tori.events";
inline constexpr std::string_view kDefaultDeadLettersTopic = "tori.dead-letters";
inline constexpr std::string_view kDefaultDocumentsTopic = "tori.documents";

struct KafkaLogOptions {
  std::string brokers;  // "host:port[,host:port...]", librdkafka's bootstrap.servers
  std::string topic = std::string(kDefaultEventsTopic);
  // Used when Open creates the topic; an existing topic must have this many
  // partitions (the partition of a key depends on it).
  int32_t partitions = 6;
  int16_t replication_factor = 1;  // when creating; production: 3
  // When creating; default: 2 when replication_factor >= 3, else 1.
  std::optional<int16_t> min_insync_replicas;
  // Extra librdkafka settings, "key=value", passed through verbatim after tori's own
  // (security.protocol, ssl.*, sasl.*, tuning). "producer.KEY=V" / "consumer.KEY=V"
  // apply to one kind of client only. Keys that carry tori's guarantees (acks,
  // enable.idempotence, isolation.level, bootstrap.servers, ...) are refused.
  std::vector<std::string> settings;
  // How long Open waits for the cluster (metadata, topic creation).
  absl::Duration connect_timeout = absl::Seconds(15);
  // How long a record may take to be acknowledged, retries included, before Append
  // fails (librdkafka message.timeout.ms).
  absl::Duration delivery_timeout = absl::Seconds(60);
  // A cursor that gets no record for this long fails instead of waiting forever.
  absl::Duration read_stall_timeout = absl::Seconds(60);
  // Open as the topic's one writer (see "One writer"): a transactional producer that
  // fences the writer before it. Without it, Append uses an idempotent producer
  // only and guards nothing against a second process.
  bool writer = false;
  // Check with DescribeConfigs that an existing topic keeps records forever
  // (retention.ms=-1, retention.bytes=-1, cleanup.policy=delete). The mock cluster
  // cannot describe configs.
  bool check_topic_config = true;
};

class KafkaLog : public EventLog {
 public:
  // Connects, creates or checks the topic, and reads its end. Errors name the brokers
  // and the topic: unreachable within connect_timeout (check --kafka, or run
  // ops/kafka/start), a setting librdkafka refuses (naming it), a partition count or
  // retention that does not fit.
  static absl::StatusOr<std::unique_ptr<KafkaLog>> Open(const KafkaLogOptions& options);
  ~KafkaLog() override;

  // See "Durability" above. The returned position holds, for each partition written,
  // the offset after this batch's last record there, and elsewhere the known end.
  absl::StatusOr<LogPosition> Append(absl::Span<const AppendRecord> records) override;
  // A cursor over [from, the ends at this call); see "Reading order". `from` must
  // have one offset per partition, each between the partition's first retained offset
  // and its end (records gone from Kafka are DataLoss, never skipped).
  absl::StatusOr<std::unique_ptr<LogCursor>> Read(const LogPosition& from) override;
  // The ends of what readers read (next offset per partition: the last stable offset,
  // as tori reads committed records only), asked from the cluster. If the
  // cluster cannot be reached, the last end known (Open, Append, End): never a
  // position beyond what is in the log. `last_error()` then says why.
  LogPosition End() const override;
  int32_t partition_count() const override { return partition_count_; }

  // The partition of `partition_key` among `partition_count` (see "Partitioning").
  static int32_t PartitionFor(std::string_view partition_key, int32_t partition_count);
  // Kafka's murmur2 (seed 0x9747b28c), as its Java client computes it.
  static uint32_t Murmur2(std::string_view key);
  // The transactional id of the writer of `topic`: "tori-writer:" + topic.
  static std::string WriterTransactionalId(std::string_view topic);

  const std::string& topic() const { return options_.topic; }
  // Why the last End() fell back to the known end; empty if it did not.
  const std::string& last_error() const { return last_error_; }

 private:
  explicit KafkaLog(KafkaLogOptions options);
  absl::Status Connect();
  // The ends once every record before `written` (per partition) is readable.
  absl::StatusOr<LogPosition> StableEndAfter(const std::vector<int64_t>& written);

  KafkaLogOptions options_;
  int32_t partition_count_ = 0;
  std::unique_ptr<kafka_internal::Producer> producer_;
  mutable LogPosition known_end_;
  mutable std::string last_error_;
};

struct KafkaDeadLetterOptions {
  std::string brokers;
  std::string topic = std::string(kDefaultDeadLettersTopic);
  int32_t partitions = 1;  // when creating; records are always written to partition 0
  int16_t replication_factor = 1;
  std::optional<int16_t> min_insync_replicas;
  std::vector<std::string> settings;  // as KafkaLogOptions::settings
  absl::Duration connect_timeout = absl::Seconds(15);
  absl::Duration delivery_timeout = absl::Seconds(60);
  bool check_topic_config = true;
};

// Writes rejected events to the dead-letter topic, one JSON object per record, as
// the caller formatted it: {"line": N} or {"partition": P, "offset": O}, then
// "reason", "field", "message", "raw". Records go to partition 0, in order, without
// a key. A record may be up to 32 MiB (the topic is created with
// max.message.bytes=33554432), room for the 16 MiB of raw line a dead-letter record
// keeps; a larger one is InvalidArgument.
// Thread safety: one thread at a time.
class KafkaDeadLetterProducer {
 public:
  static absl::StatusOr<std::unique_ptr<KafkaDeadLetterProducer>> Open(
      const KafkaDeadLetterOptions& options);
  ~KafkaDeadLetterProducer();

  // Returns once Kafka acknowledged every record; on failure some may be written.
  absl::Status Write(absl::Span<const std::string_view> json_records);
  absl::Status Write(std::string_view json_record) { return Write({&json_record, 1}); }

  const std::string& topic() const { return options_.topic; }

 private:
  explicit KafkaDeadLetterProducer(KafkaDeadLetterOptions options);

  KafkaDeadLetterOptions options_;
  std::unique_ptr<kafka_internal::Producer> producer_;
};

}  // namespace tori

#endif  // TORI_EVENTS_LOG_KAFKA_KAFKA_LOG_H_
