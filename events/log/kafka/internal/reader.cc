#include "events/log/kafka/internal/reader.h"

#include <librdkafka/rdkafkacpp.h>

#include "events/base/check.h"
#include "fmt/format.h"

namespace tori::kafka_internal {
namespace {

constexpr int kPollTimeoutMs = 100;

// Consumer errors librdkafka recovers from by itself (it reconnects, refetches
// metadata, finds the new leader): wait, up to the stall timeout.
bool IsTransient(RdKafka::ErrorCode err) {
  switch (err) {
    case RdKafka::ERR__TRANSPORT:
    case RdKafka::ERR__ALL_BROKERS_DOWN:
    case RdKafka::ERR__RESOLVE:
    case RdKafka::ERR__TIMED_OUT:
    case RdKafka::ERR__MSG_TIMED_OUT:
    case RdKafka::ERR_REQUEST_TIMED_OUT:
    case RdKafka::ERR_NOT_LEADER_FOR_PARTITION:
    case RdKafka::ERR_LEADER_NOT_AVAILABLE:
    case RdKafka::ERR_BROKER_NOT_AVAILABLE:
    case RdKafka::ERR_REPLICA_NOT_AVAILABLE:
    case RdKafka::ERR_NETWORK_EXCEPTION:
    case RdKafka::ERR_COORDINATOR_NOT_AVAILABLE:
    case RdKafka::ERR_NOT_COORDINATOR:
    case RdKafka::ERR_COORDINATOR_LOAD_IN_PROGRESS:
    case RdKafka::ERR_FENCED_LEADER_EPOCH:
    case RdKafka::ERR_UNKNOWN_LEADER_EPOCH:
    case RdKafka::ERR_OFFSET_NOT_AVAILABLE:
    case RdKafka::ERR_KAFKA_STORAGE_ERROR:
      return true;
    default:
      return false;
  }
}

class KafkaCursor : public LogCursor {
 public:
  KafkaCursor(ReaderSpec spec, std::vector<int64_t> from, std::vector<int64_t> ends)
      : spec_(std::move(spec)), next_(std::move(from)), ends_(std::move(ends)) {}

  ~KafkaCursor() override {
    current_.reset();
    if (consumer_ != nullptr) consumer_->close();
  }

  absl::Status Start() {
    const std::vector<Setting> ours = {
        {"bootstrap.servers", spec_.brokers},
        {"client.id", "tori-reader"},
        // Required by KafkaConsumer; never joined (manual assign) nor committed to.
        {"group.id", "tori.reader"},
        {"enable.auto.commit", "false"},
        {"enable.auto.offset.store", "false"},
        {"isolation.level", "read_committed"},
        {"enable.partition.eof", "true"},
        {"auto.offset.reset", "error"},
        // Bounded memory: one partition assigned at a time, at most this prefetched.
        // librdkafka 2.0 pauses fetching for a whole second whenever the prefetch
        // queue reaches either limit (fetch.queue.backoff.ms came in 2.2): the count
        // limit is set out of reach, and this one holds a second of a fast replay
        // (BENCHMARKS.md, "measured history").
        {"queued.max.messages.kbytes", "65536"},
        {"queued.min.messages", "10000000"},
        {"max.partition.fetch.bytes", "4194304"},
        // A fetch at a partition's end waits this long for new records; the next
        // partition's first fetch queues behind it. Keep it short: a cursor stops at
        // the end anyway.
        {"fetch.wait.max.ms", "10"},
        {"reconnect.backoff.ms", "100"},
        {"reconnect.backoff.max.ms", "1000"},
    };
    auto conf = MakeConf(ours, spec_.settings, Role::kConsumer, &events_);
    if (!conf.ok()) return conf.status();
    std::string error;
    consumer_.reset(RdKafka::KafkaConsumer::create(conf->get(), error));
    if (consumer_ == nullptr) {
      return absl::InvalidArgumentError(
          fmt::format("cannot create a Kafka consumer for {}: {}", spec_.brokers, error));
    }
    return absl::OkStatus();
  }

  absl::StatusOr<bool> Next(LogRecord& record) override {
    while (partition_ < static_cast<int32_t>(next_.size())) {
      const auto p = static_cast<size_t>(partition_);
      if (next_[p] >= ends_[p]) {
        ++partition_;
        assigned_ = false;
        continue;
      }
      if (!assigned_) {
        if (absl::Status s = Assign(); !s.ok()) return s;
      }
      // A non-blocking poll first: librdkafka reads the clock to set up a timeout, and
      // clock reads are slow on a VM.
      current_.reset(consumer_->consume(0));
      if (current_->err() == RdKafka::ERR__TIMED_OUT) {
        current_.reset(consumer_->consume(kPollTimeoutMs));
      }
      const RdKafka::ErrorCode err = current_->err();
      if (err == RdKafka::ERR_NO_ERROR) {
        // Only partition_ is assigned; an offset before next_ would be a stale
        // prefetch, already returned.
        if (current_->partition() != partition_ || current_->offset() < next_[p]) continue;
        if (current_->offset() >= ends_[p]) {  // appended after Read was called
          next_[p] = ends_[p];
          continue;
        }
        next_[p] = current_->offset() + 1;
        progressed_ = true;  // the clock is read only when a poll comes back empty
        record.partition = partition_;
        record.offset = current_->offset();
        record.payload =
            std::string_view(static_cast<const char*>(current_->payload()), current_->len());
        return true;
      }
      if (err == RdKafka::ERR__PARTITION_EOF) {
        // With read_committed the end may hold a transaction marker, not a record.
        if (current_->partition() == partition_ && current_->offset() >= ends_[p]) {
          next_[p] = ends_[p];
          continue;
        }
      } else if (!IsTransient(err)) {
        return absl::Status(
            err == RdKafka::ERR__AUTO_OFFSET_RESET ? absl::StatusCode::kDataLoss
                                                   : absl::StatusCode::kUnavailable,
            fmt::format("reading Kafka topic {} partition {} at offset {} failed: {}", spec_.topic,
                        partition_, next_[p], current_->errstr()));
      }
      if (progressed_) {
        progressed_ = false;
        last_progress_ = absl::Now();
      }
      if (absl::Now() - last_progress_ > spec_.stall_timeout) {
        const std::string problem = events_.LastProblem();
        return absl::UnavailableError(fmt::format(
            "no record from Kafka topic {} partition {} (at offset {}, reading up to {}) for {}{}; "
            "{}",
            spec_.topic, partition_, next_[p], ends_[p], DurationText(spec_.stall_timeout),
            problem.empty() ? "" : fmt::format(" (last client error: {})", problem),
            ReachabilityHint(spec_.brokers)));
      }
    }
    current_.reset();
    return false;
  }

 private:
  absl::Status Assign() {
    const auto p = static_cast<size_t>(partition_);
    std::unique_ptr<RdKafka::TopicPartition> tp(
        RdKafka::TopicPartition::create(spec_.topic, partition_, next_[p]));
    const RdKafka::ErrorCode err = consumer_->assign({tp.get()});
    if (err != RdKafka::ERR_NO_ERROR) {
      return absl::InternalError(fmt::format("cannot assign Kafka topic {} partition {}: {}",
                                             spec_.topic, partition_, RdKafka::err2str(err)));
    }
    assigned_ = true;
    last_progress_ = absl::Now();
    return absl::OkStatus();
  }

  ReaderSpec spec_;
  std::vector<int64_t> next_;
  std::vector<int64_t> ends_;
  ClientEvents events_;
  std::unique_ptr<RdKafka::KafkaConsumer> consumer_;
  std::unique_ptr<RdKafka::Message> current_;  // owns the payload of the last record
  int32_t partition_ = 0;
  bool assigned_ = false;
  absl::Time last_progress_ = absl::Now();
  bool progressed_ = false;  // a record came since last_progress_ was taken
};

class EmptyCursor : public LogCursor {
 public:
  absl::StatusOr<bool> Next(LogRecord&) override { return false; }
};

}  // namespace

absl::StatusOr<std::unique_ptr<LogCursor>> OpenCursor(const ReaderSpec& spec,
                                                      std::vector<int64_t> from,
                                                      std::vector<int64_t> ends) {
  TORI_CHECK(from.size() == ends.size());
  if (from == ends) return std::make_unique<EmptyCursor>();  // no consumer needed
  auto cursor = std::make_unique<KafkaCursor>(spec, std::move(from), std::move(ends));
  if (absl::Status s = cursor->Start(); !s.ok()) return s;
  return cursor;
}

}  // namespace tori::kafka_internal
