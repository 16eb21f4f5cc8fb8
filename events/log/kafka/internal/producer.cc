#include "events/log/kafka/internal/producer.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>

#include "absl/strings/numbers.h"
#include "events/base/check.h"
#include "fmt/format.h"

namespace tori::kafka_internal {
namespace {

static_assert(sizeof(void*) == 8, "delivery report tags pack generation and index in 64 bits");
constexpr size_t kBatchRecordsMax = size_t{1} << 31;
// Waiting for delivery reports beyond the delivery timeout. librdkafka times out
// queued messages after message.timeout.ms, but an idempotent producer keeps
// retrying a request whose outcome it does not know (sent, then the connection
// broke) until the broker answers, however long that takes: this bounds an Append.
constexpr absl::Duration kDrainGrace = absl::Seconds(5);

bool IsSizeError(RdKafka::ErrorCode err) {
  return err == RdKafka::ERR_MSG_SIZE_TOO_LARGE || err == RdKafka::ERR_RECORD_LIST_TOO_LARGE ||
         err == RdKafka::ERR_INVALID_RECORD;
}

bool IsFencedError(RdKafka::ErrorCode err) {
  return err == RdKafka::ERR__FENCED || err == RdKafka::ERR_PRODUCER_FENCED ||
         err == RdKafka::ERR_INVALID_PRODUCER_EPOCH;
}

// Owns an RdKafka::Error the transactional calls return (nullptr: success).
using ErrorPtr = std::unique_ptr<RdKafka::Error>;

bool IsAuthorizationError(RdKafka::ErrorCode err) {
  return err == RdKafka::ERR_TOPIC_AUTHORIZATION_FAILED ||
         err == RdKafka::ERR_CLUSTER_AUTHORIZATION_FAILED ||
         err == RdKafka::ERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED ||
         err == RdKafka::ERR_SASL_AUTHENTICATION_FAILED;
}

}  // namespace

void DeliveryReports::Begin(int32_t partition_count) {
  ++generation;
  reported = written = failed = possibly_written = 0;
  first_failure.reset();
  next_offsets.assign(static_cast<size_t>(partition_count), -1);
}

void* DeliveryReports::Tag(size_t index) const {
  return reinterpret_cast<void*>(static_cast<uintptr_t>((generation << 32) | index));
}

void DeliveryReports::dr_cb(RdKafka::Message& message) {
  const auto tag = reinterpret_cast<uintptr_t>(message.msg_opaque());
  if ((tag >> 32) != (generation & 0xffffffffu)) return;  // an abandoned batch
  const size_t index = tag & 0xffffffffu;
  ++reported;
  if (message.err() == RdKafka::ERR_NO_ERROR) {
    ++written;
    const auto p = static_cast<size_t>(message.partition());
    TORI_CHECK(p < next_offsets.size());
    next_offsets[p] = std::max(next_offsets[p], message.offset() + 1);
    return;
  }
  ++failed;
  if (message.status() == RdKafka::Message::MSG_STATUS_POSSIBLY_PERSISTED) ++possibly_written;
  if (!first_failure) {
    first_failure = Failure{index, message.partition(), message.err(), message.errstr()};
  }
}

absl::StatusOr<std::unique_ptr<Producer>> Producer::Create(const ProducerSpec& spec) {
  std::unique_ptr<Producer> producer(new Producer());
  producer->spec_ = spec;
  producer->events_ = std::make_unique<ClientEvents>();
  producer->reports_ = std::make_unique<DeliveryReports>();
  std::vector<Setting> ours = {
      {"bootstrap.servers", spec.brokers},
      {"client.id", "tori"},
      {"enable.idempotence", "true"},
      {"acks", "all"},
      {"compression.type", "lz4"},
      {"linger.ms", "5"},
      {"message.timeout.ms", std::to_string(ToMillis(spec.delivery_timeout))},
      {"queue.buffering.max.messages", "500000"},
      // Java's defaults: come back quickly after a broker restart.
      {"reconnect.backoff.ms", "100"},
      {"reconnect.backoff.max.ms", "1000"},
  };
  if (spec.message_bytes_max) {
    ours.push_back({"message.max.bytes", std::to_string(*spec.message_bytes_max)});
  }
  if (!spec.transactional_id.empty()) {
    ours.push_back({"transactional.id", spec.transactional_id});
    // A transaction left open by a killed writer blocks read_committed readers until
    // the broker aborts it (or the next writer starts): a minute, as the delivery
    // timeout (librdkafka requires message.timeout.ms <= transaction.timeout.ms).
    ours.push_back({"transaction.timeout.ms",
                    std::to_string(std::max(60'000, ToMillis(spec.delivery_timeout)))});
  }
  auto conf = MakeConf(ours, spec.settings, Role::kProducer, producer->events_.get());
  if (!conf.ok()) return conf.status();
  std::string error;
  if ((*conf)->set("dr_cb", producer->reports_.get(), error) != RdKafka::Conf::CONF_OK) {
    return absl::InternalError(
        fmt::format("cannot install the delivery report callback: {}", error));
  }
  // The operator may have overridden the delivery timeout (message.timeout.ms or its
  // alias delivery.timeout.ms): wait for what is really configured.
  std::unique_ptr<RdKafka::Conf> topic_conf(RdKafka::Conf::create(RdKafka::Conf::CONF_TOPIC));
  std::string timeout_ms_text;
  int64_t timeout_ms = 0;
  producer->delivery_timeout_ = spec.delivery_timeout;
  if ((*conf)->get("message.timeout.ms", timeout_ms_text) == RdKafka::Conf::CONF_OK &&
      absl::SimpleAtoi(timeout_ms_text, &timeout_ms) && timeout_ms > 0) {
    producer->delivery_timeout_ = absl::Milliseconds(timeout_ms);
  }
  producer->producer_.reset(RdKafka::Producer::create(conf->get(), error));
  if (producer->producer_ == nullptr) {
    return absl::InvalidArgumentError(
        fmt::format("cannot create a Kafka producer for {}: {}", spec.brokers, error));
  }
  producer->topic_.reset(
      RdKafka::Topic::create(producer->producer_.get(), spec.topic, topic_conf.get(), error));
  if (producer->topic_ == nullptr) {
    return absl::InvalidArgumentError(
        fmt::format("cannot use Kafka topic '{}': {}", spec.topic, error));
  }
  if (!spec.transactional_id.empty()) {
    // Fences every earlier producer with this id: the broker aborts its open
    // transaction, and its next write fails.
    ErrorPtr init(producer->producer_->init_transactions(ToMillis(spec.delivery_timeout)));
    if (init != nullptr) {
      return absl::UnavailableError(producer->Describe(fmt::format(
          "cannot start writing to Kafka topic {} as its writer (transactional id '{}'): {}; {}",
          spec.topic, spec.transactional_id, init->str(), ReachabilityHint(spec.brokers))));
    }
  }
  return producer;
}

std::string FencedMessage(const std::string& topic, const std::string& transactional_id) {
  return fmt::format(
      "another tori process took over as the writer of Kafka topic {} (transactional id '{}'; "
      "one process appends to a topic at a time): this one stopped, and the batch it was "
      "writing is not in the log. Run the command again once the other has finished; events "
      "it already took count as duplicates",
      topic, transactional_id);
}

absl::Status Producer::FencedError() const {
  return absl::FailedPreconditionError(FencedMessage(spec_.topic, spec_.transactional_id));
}

void Producer::NoteError(const RdKafka::Error& error) {
  if (IsFencedError(error.code())) fenced_ = true;
  if (error.is_fatal() || fenced_) broken_ = true;
}

absl::Status Producer::EndTransaction(bool commit) {
  ErrorPtr error(commit ? producer_->commit_transaction(ToMillis(delivery_timeout_))
                        : producer_->abort_transaction(ToMillis(delivery_timeout_)));
  if (error == nullptr) return absl::OkStatus();
  NoteError(*error);
  if (fenced_) return FencedError();
  if (commit && error->txn_requires_abort()) {
    ErrorPtr aborted(producer_->abort_transaction(ToMillis(delivery_timeout_)));
    if (aborted != nullptr) NoteError(*aborted);
  } else if (!error->is_fatal()) {
    // The outcome is unknown (e.g. a timeout): this producer cannot go on safely.
    broken_ = true;
  }
  return absl::UnavailableError(Describe(fmt::format(
      "{} the transaction of a batch for Kafka topic {} failed: {}{}",
      commit ? "committing" : "aborting", spec_.topic, error->str(),
      commit && error->txn_requires_abort() ? " (the batch was aborted: none of it is in the log)"
                                            : " (the batch may or may not be in the log)")));
}

Producer::~Producer() {
  topic_.reset();
  if (producer_ != nullptr) producer_->flush(0);
}

std::string Producer::Describe(const std::string& what) const {
  const std::string problem = events_->LastProblem();
  return problem.empty() ? what : fmt::format("{} (last client error: {})", what, problem);
}

absl::StatusOr<std::vector<int64_t>> Producer::ProduceAll(absl::Span<const OutgoingRecord> records,
                                                          int32_t partition_count) {
  TORI_CHECK(!broken_);
  TORI_CHECK(records.size() < kBatchRecordsMax);
  DeliveryReports& reports = *reports_;
  reports.Begin(partition_count);
  const bool transactional = !spec_.transactional_id.empty();
  if (transactional) {
    ErrorPtr begun(producer_->begin_transaction());
    if (begun != nullptr) {
      NoteError(*begun);
      if (fenced_) return FencedError();
      broken_ = true;
      return absl::UnavailableError(Describe(fmt::format(
          "cannot begin a transaction on Kafka topic {}: {}", spec_.topic, begun->str())));
    }
  }
  const absl::Time enqueue_deadline = absl::Now() + delivery_timeout_;

  size_t produced = 0;
  std::optional<absl::Status> enqueue_error;
  for (size_t i = 0; i < records.size(); ++i) {
    const OutgoingRecord& record = records[i];
    TORI_CHECK(record.partition >= 0 && record.partition < partition_count);
    RdKafka::ErrorCode err;
    while (true) {
      err = producer_->produce(topic_.get(), record.partition, RdKafka::Producer::RK_MSG_COPY,
                               const_cast<char*>(record.payload.data()), record.payload.size(),
                               record.key.empty() ? nullptr : record.key.data(), record.key.size(),
                               reports.Tag(i));
      if (err != RdKafka::ERR__QUEUE_FULL || absl::Now() > enqueue_deadline) break;
      producer_->poll(5);  // the queue drains as deliveries complete
    }
    if (err != RdKafka::ERR_NO_ERROR) {
      const std::string what = Describe(fmt::format(
          "record {} of {} ({} bytes) could not be queued for Kafka topic {} partition {}: {}", i,
          records.size(), record.payload.size(), spec_.topic, record.partition,
          RdKafka::err2str(err)));
      enqueue_error =
          IsSizeError(err) ? absl::InvalidArgumentError(what) : absl::UnavailableError(what);
      if (err == RdKafka::ERR__FATAL) broken_ = true;
      break;
    }
    ++produced;
    if ((i & 1023) == 0) producer_->poll(0);
  }

  // Wait for a report of every record queued, also when queueing stopped early: the
  // next batch must not start with reports of this one outstanding.
  const absl::Time drain_deadline = absl::Now() + delivery_timeout_ + kDrainGrace;
  size_t unresolved = 0;  // records given up on (outcome unknown)
  while (reports.reported < produced) {
    producer_->poll(50);
    if (absl::Now() > drain_deadline) {
      // The outcome of some records is unknown. Give up on them; this producer's
      // sequence numbers are then unusable, so it is replaced before the next batch.
      unresolved = produced - reports.reported;
      producer_->purge(RdKafka::Producer::PURGE_QUEUE | RdKafka::Producer::PURGE_INFLIGHT);
      const absl::Time purge_deadline = absl::Now() + absl::Seconds(5);
      while (reports.reported < produced && absl::Now() < purge_deadline) producer_->poll(50);
      broken_ = true;
      break;
    }
  }
  std::string fatal;
  const RdKafka::ErrorCode fatal_code = producer_->fatal_error(fatal);
  if (fatal_code != RdKafka::ERR_NO_ERROR || events_->fatal()) {
    broken_ = true;
    if (IsFencedError(fatal_code)) fenced_ = true;
  }
  if (transactional) {
    if (fenced_) return FencedError();
    const bool all_written = !enqueue_error && reports.written == records.size();
    if (!broken_ || all_written) {
      absl::Status ended = EndTransaction(all_written);
      if (!ended.ok() && (all_written || fenced_)) return ended;
    }
  }
  if (enqueue_error) {
    return absl::Status(
        enqueue_error->code(),
        fmt::format("{}; {} of the {} records before it were written",
                    std::string(enqueue_error->message()), reports.written, produced));
  }
  if (reports.written == records.size()) return reports.next_offsets;

  const size_t missing = records.size() - reports.written;
  std::string what = fmt::format("{} of {} records were not acknowledged by Kafka topic {} at {}",
                                 missing, records.size(), spec_.topic, spec_.brokers);
  RdKafka::ErrorCode first_err = RdKafka::ERR__TIMED_OUT;
  if (reports.first_failure) {
    const auto& f = *reports.first_failure;
    first_err = f.err;
    what += fmt::format(" (first: record {}, partition {}: {})", f.index, f.partition, f.message);
  }
  if (unresolved > 0) {
    what += fmt::format(
        "; {} were still unacknowledged after {} (the delivery timeout plus {}) and were given "
        "up on: they may or may not be in the log",
        unresolved, DurationText(delivery_timeout_ + kDrainGrace), DurationText(kDrainGrace));
  }
  what += fmt::format("; {} were written", reports.written);
  if (reports.possibly_written > 0) {
    what += fmt::format(" and {} of the failed ones may have been written too",
                        reports.possibly_written);
  }
  if (!fatal.empty()) what += fmt::format("; fatal producer error: {}", fatal);
  what = Describe(what);
  if (IsSizeError(first_err)) return absl::InvalidArgumentError(what);
  if (IsAuthorizationError(first_err)) return absl::PermissionDeniedError(what);
  return absl::UnavailableError(what);
}

}  // namespace tori::kafka_internal
