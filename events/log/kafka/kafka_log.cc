#include "events/log/kafka/kafka_log.h"

#include <algorithm>

#include "events/base/check.h"
#include "events/log/kafka/internal/admin.h"
#include "events/log/kafka/internal/client.h"
#include "events/log/kafka/internal/producer.h"
#include "events/log/kafka/internal/reader.h"
#include "events/log/kafka/internal/topics.h"
#include "fmt/format.h"

namespace tori {
namespace {

using kafka_internal::ScopedSetting;

constexpr int32_t kPartitionsMax = 10'000;
constexpr size_t kTopicNameBytesMax = 249;  // Kafka's limit

absl::Status CheckTopicName(const std::string& topic) {
  bool legal =
      !topic.empty() && topic.size() <= kTopicNameBytesMax && topic != "." && topic != "..";
  for (char c : topic) {
    legal = legal && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '.' || c == '_' || c == '-');
  }
  if (legal) return absl::OkStatus();
  return absl::InvalidArgumentError(fmt::format(
      "'{}' is not a Kafka topic name: 1..249 characters of a-z, A-Z, 0-9, '.', '_', '-'", topic));
}

// Checks what both Open functions share; returns the parsed extra settings.
absl::StatusOr<std::vector<ScopedSetting>> CheckCommon(const std::string& brokers,
                                                       const std::string& topic, int32_t partitions,
                                                       int16_t replication_factor,
                                                       std::optional<int16_t> min_insync_replicas,
                                                       const std::vector<std::string>& settings) {
  if (brokers.empty()) {
    return absl::InvalidArgumentError(
        "no Kafka brokers given: pass --kafka HOST:PORT[,HOST:PORT...] (the local broker: "
        "127.0.0.1:9092, started by ops/kafka/start)");
  }
  if (absl::Status s = CheckTopicName(topic); !s.ok()) return s;
  if (partitions < 1 || partitions > kPartitionsMax) {
    return absl::InvalidArgumentError(
        fmt::format("{} partitions for Kafka topic {}: the count must be 1..{}", partitions, topic,
                    kPartitionsMax));
  }
  if (replication_factor < 1) {
    return absl::InvalidArgumentError(
        fmt::format("replication factor {} for Kafka topic {}: it must be at least 1",
                    replication_factor, topic));
  }
  if (min_insync_replicas &&
      (*min_insync_replicas < 1 || *min_insync_replicas > replication_factor)) {
    return absl::InvalidArgumentError(fmt::format(
        "min.insync.replicas {} for Kafka topic {}: it must be 1..{} (the replication factor)",
        *min_insync_replicas, topic, replication_factor));
  }
  return kafka_internal::ParseSettings(settings);
}

// The topic both Open functions create or check, from their (same-named) options. The
// event log's keys are spread by the partition count, so an existing topic must match.
template <typename Options>
kafka_internal::TopicSpec SpecOf(const Options& o, kafka_internal::TopicKind kind,
                                 std::string purpose) {
  kafka_internal::TopicSpec spec;
  spec.name = o.topic;
  spec.purpose = std::move(purpose);
  spec.partitions = o.partitions;
  spec.replication_factor = o.replication_factor;
  spec.partitions_must_match = kind == kafka_internal::TopicKind::kEvents;
  spec.configs = kafka_internal::TopicConfigs(
      kind, o.min_insync_replicas.value_or(
                kafka_internal::DefaultMinInsyncReplicas(o.replication_factor)));
  spec.required_configs = kafka_internal::RequiredTopicConfigs(kind);
  spec.check_configs = o.check_topic_config;
  return spec;
}

}  // namespace

uint32_t KafkaLog::Murmur2(std::string_view key) {
  constexpr uint32_t kSeed = 0x9747b28c;
  constexpr uint32_t kM = 0x5bd1e995;
  constexpr int kR = 24;
  const auto* data = reinterpret_cast<const unsigned char*>(key.data());
  const size_t length = key.size();
  uint32_t h = kSeed ^ static_cast<uint32_t>(length);
  size_t i = 0;
  for (; i + 4 <= length; i += 4) {
    uint32_t k = static_cast<uint32_t>(data[i]) | static_cast<uint32_t>(data[i + 1]) << 8 |
                 static_cast<uint32_t>(data[i + 2]) << 16 |
                 static_cast<uint32_t>(data[i + 3]) << 24;
    k *= kM;
    k ^= k >> kR;
    k *= kM;
    h *= kM;
    h ^= k;
  }
  switch (length & 3) {
    case 3:
      h ^= static_cast<uint32_t>(data[i + 2]) << 16;
      [[fallthrough]];
    case 2:
      h ^= static_cast<uint32_t>(data[i + 1]) << 8;
      [[fallthrough]];
    case 1:
      h ^= static_cast<uint32_t>(data[i]);
      h *= kM;
  }
  h ^= h >> 13;
  h *= kM;
  h ^= h >> 15;
  return h;
}

int32_t KafkaLog::PartitionFor(std::string_view partition_key, int32_t partition_count) {
  TORI_CHECK(partition_count >= 1);
  if (partition_key.empty()) return 0;
  return static_cast<int32_t>((Murmur2(partition_key) & 0x7fffffffu) %
                              static_cast<uint32_t>(partition_count));
}

std::string KafkaLog::WriterTransactionalId(std::string_view topic) {
  return fmt::format("tori-writer:{}", topic);
}

KafkaLog::KafkaLog(KafkaLogOptions options) : options_(std::move(options)) {}
KafkaLog::~KafkaLog() = default;

absl::StatusOr<std::unique_ptr<KafkaLog>> KafkaLog::Open(const KafkaLogOptions& options) {
  std::unique_ptr<KafkaLog> log(new KafkaLog(options));
  if (absl::Status s = log->Connect(); !s.ok()) return s;
  return log;
}

absl::Status KafkaLog::Connect() {
  const KafkaLogOptions& o = options_;
  auto settings = CheckCommon(o.brokers, o.topic, o.partitions, o.replication_factor,
                              o.min_insync_replicas, o.settings);
  if (!settings.ok()) return settings.status();
  // The topic first: a transactional producer fences only once the topic exists.
  auto producer = kafka_internal::Producer::Create(
      {o.brokers, o.topic, *settings, o.delivery_timeout, std::nullopt, {}});
  if (!producer.ok()) return producer.status();
  producer_ = std::move(*producer);

  const kafka_internal::TopicSpec spec =
      SpecOf(o, kafka_internal::TopicKind::kEvents, "event log");
  auto partitions = kafka_internal::EnsureTopic(producer_->handle(), spec, o.brokers,
                                                o.connect_timeout, producer_->events());
  if (!partitions.ok()) return partitions.status();
  partition_count_ = *partitions;
  if (o.writer) {
    producer = kafka_internal::Producer::Create({o.brokers, o.topic, *settings,
                                                 o.delivery_timeout, std::nullopt,
                                                 WriterTransactionalId(o.topic)});
    if (!producer.ok()) return producer.status();
    producer_ = std::move(*producer);
  }

  auto ends = kafka_internal::QueryWatermarks(producer_->handle(), o.topic, partition_count_,
                                              o.connect_timeout, producer_->events());
  if (!ends.ok()) return ends.status();
  known_end_.next_offsets.clear();
  for (const auto& w : *ends) known_end_.next_offsets.push_back(w.high);
  return absl::OkStatus();
}

absl::StatusOr<LogPosition> KafkaLog::Append(absl::Span<const AppendRecord> records) {
  if (records.empty()) return known_end_;
  if (producer_->fenced()) {
    return absl::FailedPreconditionError(kafka_internal::FencedMessage(
        options_.topic, WriterTransactionalId(options_.topic)));
  }
  if (producer_->broken() && options_.writer) {
    // A new writer session would fence whoever took over meanwhile, whose events
    // this process has not seen: the run ends here.
    return absl::UnavailableError(fmt::format(
        "the writer of Kafka topic {} failed earlier in this run and cannot go on; run the "
        "command again (events already taken count as duplicates)",
        options_.topic));
  }
  if (producer_->broken()) {
    // A fatal producer error (e.g. a broken idempotence sequence): start a new
    // producer session. Records it acknowledged are in Kafka; the rest were refused.
    auto settings = kafka_internal::ParseSettings(options_.settings);
    if (!settings.ok()) return settings.status();
    auto producer = kafka_internal::Producer::Create(
        {options_.brokers, options_.topic, *settings, options_.delivery_timeout, std::nullopt, {}});
    if (!producer.ok()) return producer.status();
    producer_ = std::move(*producer);
  }
  std::vector<kafka_internal::OutgoingRecord> outgoing;
  outgoing.reserve(records.size());
  for (const AppendRecord& r : records) {
    outgoing.push_back(
        {PartitionFor(r.partition_key, partition_count_), r.partition_key, r.payload});
  }
  auto written = producer_->ProduceAll(outgoing, partition_count_);
  if (!written.ok() && producer_->fenced()) return written.status();
  if (!written.ok()) {
    return absl::Status(
        written.status().code(),
        fmt::format("appending {} records to the event log (Kafka topic {}) failed: {}. Records of "
                    "this batch may be partly in the log; running the same input again is safe: "
                    "events already in the log are recognized by their event_id",
                    records.size(), options_.topic, std::string(written.status().message())));
  }
  for (size_t p = 0; p < written->size(); ++p) {
    known_end_.next_offsets[p] = std::max(known_end_.next_offsets[p], (*written)[p]);
  }
  if (options_.writer) return StableEndAfter(*written);
  return known_end_;
}

absl::StatusOr<LogPosition> KafkaLog::StableEndAfter(const std::vector<int64_t>& written) {
  // Readers read committed records up to the last stable offset, which passes a
  // transaction's records only once the broker has written its commit markers, a
  // moment after the commit returns. Waiting for it keeps every position tori
  // stores (the state's, as_of) within what readers see.
  const absl::Time deadline = absl::Now() + options_.delivery_timeout;
  while (true) {
    auto ends = kafka_internal::QueryWatermarks(producer_->handle(), options_.topic,
                                                partition_count_, options_.connect_timeout,
                                                producer_->events());
    if (!ends.ok()) return ends.status();
    bool stable = true;
    for (size_t p = 0; p < ends->size(); ++p) stable = stable && (*ends)[p].high >= written[p];
    if (stable) {
      for (size_t p = 0; p < ends->size(); ++p) known_end_.next_offsets[p] = (*ends)[p].high;
      return known_end_;
    }
    if (absl::Now() > deadline) {
      return absl::UnavailableError(fmt::format(
          "the batch appended to Kafka topic {} was committed, but its records did not become "
          "readable within {}; check the broker's log, then run the command again (events "
          "already taken count as duplicates)",
          options_.topic, kafka_internal::DurationText(options_.delivery_timeout)));
    }
    absl::SleepFor(absl::Milliseconds(2));
  }
}

LogPosition KafkaLog::End() const {
  auto ends = kafka_internal::QueryWatermarks(producer_->handle(), options_.topic, partition_count_,
                                              options_.connect_timeout, producer_->events());
  if (!ends.ok()) {
    last_error_ = std::string(ends.status().message());
    return known_end_;
  }
  last_error_.clear();
  for (size_t p = 0; p < ends->size(); ++p) known_end_.next_offsets[p] = (*ends)[p].high;
  return known_end_;
}

absl::StatusOr<std::unique_ptr<LogCursor>> KafkaLog::Read(const LogPosition& from) {
  if (static_cast<int32_t>(from.next_offsets.size()) != partition_count_) {
    return absl::InvalidArgumentError(
        fmt::format("log position '{}' has {} partitions, Kafka topic {} has {}", from.ToString(),
                    from.next_offsets.size(), options_.topic, partition_count_));
  }
  auto marks =
      kafka_internal::QueryWatermarks(producer_->handle(), options_.topic, partition_count_,
                                      options_.connect_timeout, producer_->events());
  if (!marks.ok()) return marks.status();
  std::vector<int64_t> ends;
  for (size_t p = 0; p < marks->size(); ++p) {
    const auto& w = (*marks)[p];
    const int64_t offset = from.next_offsets[p];
    if (offset > w.high) {
      return absl::InvalidArgumentError(fmt::format(
          "log position '{}' lies beyond the end of Kafka topic {} (partition {} ends at {})",
          from.ToString(), options_.topic, p, w.high));
    }
    if (offset < w.low) {
      return absl::DataLossError(fmt::format(
          "records {}..{} of Kafka topic {} partition {} are gone (deleted by retention or "
          "DeleteRecords): the event log must keep every record (retention.ms=-1, "
          "retention.bytes=-1, see ops/kafka/topics/); restore it from a backup",
          offset, w.low - 1, options_.topic, p));
    }
    ends.push_back(w.high);
  }
  known_end_.next_offsets = ends;
  auto settings = kafka_internal::ParseSettings(options_.settings);
  if (!settings.ok()) return settings.status();
  return kafka_internal::OpenCursor(
      {options_.brokers, options_.topic, *settings, options_.read_stall_timeout}, from.next_offsets,
      std::move(ends));
}

KafkaDeadLetterProducer::KafkaDeadLetterProducer(KafkaDeadLetterOptions options)
    : options_(std::move(options)) {}
KafkaDeadLetterProducer::~KafkaDeadLetterProducer() = default;

absl::StatusOr<std::unique_ptr<KafkaDeadLetterProducer>> KafkaDeadLetterProducer::Open(
    const KafkaDeadLetterOptions& options) {
  const KafkaDeadLetterOptions& o = options;
  auto settings = CheckCommon(o.brokers, o.topic, o.partitions, o.replication_factor,
                              o.min_insync_replicas, o.settings);
  if (!settings.ok()) return settings.status();
  std::unique_ptr<KafkaDeadLetterProducer> writer(new KafkaDeadLetterProducer(options));
  auto producer = kafka_internal::Producer::Create(
      {o.brokers, o.topic, *settings, o.delivery_timeout, kafka_internal::kDeadLetterBytesMax, {}});
  if (!producer.ok()) return producer.status();
  writer->producer_ = std::move(*producer);

  const kafka_internal::TopicSpec spec =
      SpecOf(o, kafka_internal::TopicKind::kDeadLetters, "dead-letter");
  auto partitions = kafka_internal::EnsureTopic(writer->producer_->handle(), spec, o.brokers,
                                                o.connect_timeout, writer->producer_->events());
  if (!partitions.ok()) return partitions.status();
  return writer;
}

absl::Status KafkaDeadLetterProducer::Write(absl::Span<const std::string_view> json_records) {
  if (json_records.empty()) return absl::OkStatus();
  if (producer_->broken()) {
    auto settings = kafka_internal::ParseSettings(options_.settings);
    if (!settings.ok()) return settings.status();
    auto producer = kafka_internal::Producer::Create({options_.brokers, options_.topic, *settings,
                                                      options_.delivery_timeout,
                                                      kafka_internal::kDeadLetterBytesMax, {}});
    if (!producer.ok()) return producer.status();
    producer_ = std::move(*producer);
  }
  std::vector<kafka_internal::OutgoingRecord> outgoing;
  outgoing.reserve(json_records.size());
  for (std::string_view record : json_records) outgoing.push_back({0, {}, record});
  // The partition count only sizes the per-partition result; records go to 0.
  auto written = producer_->ProduceAll(outgoing, 1);
  if (!written.ok()) {
    return absl::Status(
        written.status().code(),
        fmt::format("writing {} dead-letter records to Kafka topic {} failed: {}",
                    json_records.size(), options_.topic, std::string(written.status().message())));
  }
  return absl::OkStatus();
}

}  // namespace tori
