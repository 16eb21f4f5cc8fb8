// Private helper of tori_kafka_log: an idempotent, acks=all producer that writes a
// batch of records to chosen partitions of one topic and waits until Kafka has
// acknowledged (or refused) every one of them. With a transactional id, each batch is
// one transaction (all of it visible to read_committed readers, or none), and
// creating the producer fences every earlier producer with that id.
//
// Thread safety: one thread at a time.
#ifndef TORI_EVENTS_LOG_KAFKA_INTERNAL_PRODUCER_H_
#define TORI_EVENTS_LOG_KAFKA_INTERNAL_PRODUCER_H_

#include <librdkafka/rdkafkacpp.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "events/log/kafka/internal/client.h"

namespace tori::kafka_internal {

struct OutgoingRecord {
  int32_t partition = 0;
  std::string_view key;  // empty: the record has no key
  std::string_view payload;
};

struct ProducerSpec {
  std::string brokers;
  std::string topic;
  std::vector<ScopedSetting> settings;
  absl::Duration delivery_timeout = absl::Seconds(60);
  std::optional<int64_t> message_bytes_max;  // librdkafka message.max.bytes
  // Non-empty: transactional producer (librdkafka transactional.id).
  std::string transactional_id;
};

// Collects the delivery reports of one batch. A report carries the record's index
// and the batch generation in its opaque, so a late report of an abandoned batch is
// never counted for the next one.
class DeliveryReports : public RdKafka::DeliveryReportCb {
 public:
  struct Failure {
    size_t index = 0;
    int32_t partition = 0;
    RdKafka::ErrorCode err = RdKafka::ERR_NO_ERROR;
    std::string message;
  };

  void Begin(int32_t partition_count);
  void* Tag(size_t index) const;
  void dr_cb(RdKafka::Message& message) override;

  uint64_t generation = 0;
  size_t reported = 0;
  size_t written = 0;
  size_t failed = 0;
  size_t possibly_written = 0;  // failed, but Kafka may have it (status "possibly persisted")
  std::optional<Failure> first_failure;
  std::vector<int64_t> next_offsets;  // -1: nothing written there in this batch
};

class Producer {
 public:
  static absl::StatusOr<std::unique_ptr<Producer>> Create(const ProducerSpec& spec);
  ~Producer();

  // Produces every record in order and waits for every delivery report. Returns the
  // offset after the last record written to each partition (-1 where none was).
  // On failure, names the first record that failed and how many were written.
  absl::StatusOr<std::vector<int64_t>> ProduceAll(absl::Span<const OutgoingRecord> records,
                                                  int32_t partition_count);

  // After a fatal error (e.g. the idempotence sequence broke) the handle is unusable
  // and must be recreated.
  bool broken() const { return broken_; }
  // A newer producer with the same transactional id took over (broken() too).
  bool fenced() const { return fenced_; }
  RdKafka::Producer& handle() { return *producer_; }
  const ClientEvents& events() const { return *events_; }

 private:
  Producer() = default;
  std::string Describe(const std::string& what) const;
  // Commits (all of the batch was written) or aborts the batch's transaction; the
  // error names what failed.
  absl::Status EndTransaction(bool commit);
  // FailedPrecondition with FencedMessage.
  absl::Status FencedError() const;
  // Notes a transactional error: fatal / fenced.
  void NoteError(const RdKafka::Error& error);

  ProducerSpec spec_;
  absl::Duration delivery_timeout_ = absl::Seconds(60);  // as configured, maybe overridden
  std::unique_ptr<ClientEvents> events_;
  std::unique_ptr<DeliveryReports> reports_;
  std::unique_ptr<RdKafka::Producer> producer_;
  std::unique_ptr<RdKafka::Topic> topic_;
  bool broken_ = false;
  bool fenced_ = false;
};

// The message of a producer that another took over from (the transactional id).
std::string FencedMessage(const std::string& topic, const std::string& transactional_id);

}  // namespace tori::kafka_internal

#endif  // TORI_EVENTS_LOG_KAFKA_INTERNAL_PRODUCER_H_
