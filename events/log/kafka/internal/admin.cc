#include "events/log/kafka/internal/admin.h"

#include <librdkafka/rdkafka.h>

#include <chrono>
#include <map>
#include <memory>
#include <thread>

#include "absl/strings/str_join.h"
#include "fmt/format.h"

namespace tori::kafka_internal {
namespace {

// RAII for the C Admin API objects.
struct QueueDeleter {
  void operator()(rd_kafka_queue_t* q) const { rd_kafka_queue_destroy(q); }
};
struct EventDeleter {
  void operator()(rd_kafka_event_t* e) const { rd_kafka_event_destroy(e); }
};
struct OptionsDeleter {
  void operator()(rd_kafka_AdminOptions_t* o) const { rd_kafka_AdminOptions_destroy(o); }
};
struct NewTopicDeleter {
  void operator()(rd_kafka_NewTopic_t* t) const { rd_kafka_NewTopic_destroy(t); }
};
struct ConfigResourceDeleter {
  void operator()(rd_kafka_ConfigResource_t* c) const { rd_kafka_ConfigResource_destroy(c); }
};
using Queue = std::unique_ptr<rd_kafka_queue_t, QueueDeleter>;
using Event = std::unique_ptr<rd_kafka_event_t, EventDeleter>;
using Options = std::unique_ptr<rd_kafka_AdminOptions_t, OptionsDeleter>;

std::string WithProblem(const std::string& message, const ClientEvents& events) {
  const std::string problem = events.LastProblem();
  return problem.empty() ? message : fmt::format("{} (last client error: {})", message, problem);
}

absl::Duration Remaining(absl::Time deadline) {
  return std::max(deadline - absl::Now(), absl::Milliseconds(1));
}

Options AdminOptions(rd_kafka_t* rk, rd_kafka_admin_op_t op, absl::Duration timeout) {
  Options options(rd_kafka_AdminOptions_new(rk, op));
  char error[256];
  rd_kafka_AdminOptions_set_request_timeout(options.get(), ToMillis(timeout), error, sizeof(error));
  if (op == RD_KAFKA_ADMIN_OP_CREATETOPICS) {
    rd_kafka_AdminOptions_set_operation_timeout(options.get(), ToMillis(timeout), error,
                                                sizeof(error));
  }
  return options;
}

// Polls the result of one admin request.
absl::StatusOr<Event> AwaitResult(rd_kafka_queue_t* queue, absl::Duration timeout,
                                  const std::string& what) {
  Event event(rd_kafka_queue_poll(queue, ToMillis(timeout + absl::Seconds(5))));
  if (event == nullptr) {
    return absl::DeadlineExceededError(
        fmt::format("{}: no answer within {}", what, DurationText(timeout)));
  }
  if (rd_kafka_event_error(event.get()) != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return absl::UnavailableError(
        fmt::format("{}: {}", what, rd_kafka_event_error_string(event.get())));
  }
  return event;
}

struct TopicState {
  bool exists = false;
  int32_t partitions = 0;
  bool all_have_leaders = false;
};

absl::StatusOr<TopicState> DescribeTopic(RdKafka::Handle& handle, const TopicSpec& spec,
                                         const std::string& brokers, absl::Duration timeout,
                                         const ClientEvents& events) {
  RdKafka::Metadata* raw = nullptr;
  // All topics: asking for one topic by name could make a broker with
  // auto.create.topics.enable create it with its default partition count.
  const RdKafka::ErrorCode err = handle.metadata(true, nullptr, &raw, ToMillis(timeout));
  std::unique_ptr<RdKafka::Metadata> metadata(raw);
  if (err != RdKafka::ERR_NO_ERROR) {
    return absl::UnavailableError(
        WithProblem(fmt::format("no Kafka broker answered at {} within {} ({})", brokers,
                                DurationText(timeout), RdKafka::err2str(err)),
                    events) +
        "; " + ReachabilityHint(brokers));
  }
  TopicState state;
  for (const RdKafka::TopicMetadata* topic : *metadata->topics()) {
    if (topic->topic() != spec.name) continue;
    if (topic->err() == RdKafka::ERR_TOPIC_AUTHORIZATION_FAILED) {
      return absl::PermissionDeniedError(
          fmt::format("not authorized to use Kafka topic {} at {}: grant this client access to it",
                      spec.name, brokers));
    }
    if (topic->err() == RdKafka::ERR_UNKNOWN_TOPIC_OR_PART) return state;
    state.exists = true;
    state.partitions = static_cast<int32_t>(topic->partitions()->size());
    state.all_have_leaders = topic->err() == RdKafka::ERR_NO_ERROR && state.partitions > 0;
    for (const RdKafka::PartitionMetadata* partition : *topic->partitions()) {
      if (partition->leader() < 0 || partition->err() == RdKafka::ERR_LEADER_NOT_AVAILABLE) {
        state.all_have_leaders = false;
      }
    }
  }
  return state;
}

absl::Status CreateTopic(RdKafka::Handle& handle, const TopicSpec& spec, const std::string& brokers,
                         absl::Duration timeout) {
  rd_kafka_t* rk = handle.c_ptr();
  char error[512];
  std::unique_ptr<rd_kafka_NewTopic_t, NewTopicDeleter> new_topic(rd_kafka_NewTopic_new(
      spec.name.c_str(), spec.partitions, spec.replication_factor, error, sizeof(error)));
  if (new_topic == nullptr) {
    return absl::InvalidArgumentError(
        fmt::format("cannot create Kafka topic {}: {}", spec.name, error));
  }
  for (const Setting& config : spec.configs) {
    rd_kafka_NewTopic_set_config(new_topic.get(), config.key.c_str(), config.value.c_str());
  }
  Options options = AdminOptions(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS, timeout);
  Queue queue(rd_kafka_queue_new(rk));
  rd_kafka_NewTopic_t* topics[] = {new_topic.get()};
  rd_kafka_CreateTopics(rk, topics, 1, options.get(), queue.get());
  const std::string what =
      fmt::format("creating the {} topic {} ({} partitions, replication factor {}) at {}",
                  spec.purpose, spec.name, spec.partitions, spec.replication_factor, brokers);
  auto event = AwaitResult(queue.get(), timeout, what);
  if (!event.ok()) return event.status();
  size_t count = 0;
  const rd_kafka_topic_result_t** results =
      rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(event->get()), &count);
  if (count != 1) return absl::InternalError(fmt::format("{}: {} results", what, count));
  const rd_kafka_resp_err_t err = rd_kafka_topic_result_error(results[0]);
  if (err == RD_KAFKA_RESP_ERR_NO_ERROR || err == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
    return absl::OkStatus();  // already exists: another tori created it at the same time
  }
  const char* detail = rd_kafka_topic_result_error_string(results[0]);
  std::string message =
      fmt::format("{} failed: {}", what, detail != nullptr ? detail : rd_kafka_err2str(err));
  if (err == RD_KAFKA_RESP_ERR_INVALID_REPLICATION_FACTOR) {
    message += "; a single local broker needs replication factor 1";
  }
  if (err == RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED ||
      err == RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED) {
    return absl::PermissionDeniedError(
        message + "; create the topic beforehand with the settings in ops/kafka/topics/");
  }
  return absl::FailedPreconditionError(message);
}

absl::Status CheckConfigs(RdKafka::Handle& handle, const TopicSpec& spec,
                          const std::string& brokers, absl::Duration timeout) {
  if (!spec.check_configs || spec.required_configs.empty()) return absl::OkStatus();
  rd_kafka_t* rk = handle.c_ptr();
  std::unique_ptr<rd_kafka_ConfigResource_t, ConfigResourceDeleter> resource(
      rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, spec.name.c_str()));
  Options options = AdminOptions(rk, RD_KAFKA_ADMIN_OP_DESCRIBECONFIGS, timeout);
  Queue queue(rd_kafka_queue_new(rk));
  rd_kafka_ConfigResource_t* resources[] = {resource.get()};
  rd_kafka_DescribeConfigs(rk, resources, 1, options.get(), queue.get());
  const std::string what =
      fmt::format("reading the configuration of Kafka topic {} at {}", spec.name, brokers);
  auto event = AwaitResult(queue.get(), timeout, what);
  if (!event.ok()) return event.status();
  size_t count = 0;
  const rd_kafka_ConfigResource_t** described = rd_kafka_DescribeConfigs_result_resources(
      rd_kafka_event_DescribeConfigs_result(event->get()), &count);
  if (count != 1) return absl::InternalError(fmt::format("{}: {} results", what, count));
  if (rd_kafka_ConfigResource_error(described[0]) != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return absl::FailedPreconditionError(
        fmt::format("{} failed: {}", what, rd_kafka_ConfigResource_error_string(described[0])));
  }
  std::map<std::string, std::string> actual;
  size_t entry_count = 0;
  const rd_kafka_ConfigEntry_t** entries =
      rd_kafka_ConfigResource_configs(described[0], &entry_count);
  for (size_t i = 0; i < entry_count; ++i) {
    const char* value = rd_kafka_ConfigEntry_value(entries[i]);
    actual[rd_kafka_ConfigEntry_name(entries[i])] = value != nullptr ? value : "";
  }
  std::vector<std::string> wrong;
  std::vector<std::string> fix;
  for (const Setting& required : spec.required_configs) {
    auto it = actual.find(required.key);
    const std::string have = it == actual.end() ? "(not set)" : it->second;
    if (have != required.value) {
      wrong.push_back(fmt::format("{}={}", required.key, have));
      fix.push_back(fmt::format("{}={}", required.key, required.value));
    }
  }
  if (wrong.empty()) return absl::OkStatus();
  return absl::FailedPreconditionError(fmt::format(
      "Kafka topic {} at {} has {}; the {} topic must keep every record forever: set {} (see "
      "ops/kafka/topics/), e.g. kafka-configs.sh --bootstrap-server {} --alter --entity-type "
      "topics --entity-name {} --add-config {}",
      spec.name, brokers, absl::StrJoin(wrong, ", "), spec.purpose, absl::StrJoin(fix, ", "),
      brokers, spec.name, absl::StrJoin(fix, ",")));
}

}  // namespace

absl::StatusOr<int32_t> EnsureTopic(RdKafka::Handle& handle, const TopicSpec& spec,
                                    const std::string& brokers, absl::Duration timeout,
                                    const ClientEvents& events) {
  const absl::Time deadline = absl::Now() + timeout;
  auto state = DescribeTopic(handle, spec, brokers, timeout, events);
  if (!state.ok()) return state.status();
  if (!state->exists) {
    if (absl::Status created = CreateTopic(handle, spec, brokers, Remaining(deadline));
        !created.ok()) {
      return created;
    }
  }
  // A new topic takes a moment to get leaders everywhere.
  while (!state->exists || !state->all_have_leaders) {
    if (absl::Now() >= deadline) {
      return absl::UnavailableError(WithProblem(
          fmt::format("Kafka topic {} at {} has no leader for some of its partitions after {}",
                      spec.name, brokers, DurationText(timeout)),
          events));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    state = DescribeTopic(handle, spec, brokers, Remaining(deadline), events);
    if (!state.ok()) return state.status();
  }
  if (spec.partitions_must_match && state->partitions != spec.partitions) {
    return absl::FailedPreconditionError(fmt::format(
        "Kafka topic {} at {} has {} partitions, tori expects {}: the partition of an event "
        "depends on the partition count, so it must never change. If this topic was made for "
        "tori with {} partitions, configure tori with that count",
        spec.name, brokers, state->partitions, spec.partitions, state->partitions));
  }
  if (absl::Status checked = CheckConfigs(handle, spec, brokers, Remaining(deadline));
      !checked.ok()) {
    return checked;
  }
  return state->partitions;
}

absl::StatusOr<std::vector<Watermarks>> QueryWatermarks(RdKafka::Handle& handle,
                                                        const std::string& topic,
                                                        int32_t partition_count,
                                                        absl::Duration timeout,
                                                        const ClientEvents& events) {
  const absl::Time deadline = absl::Now() + timeout;
  std::vector<Watermarks> out(static_cast<size_t>(partition_count));
  for (int32_t p = partition_count - 1; p >= 0; --p) {
    Watermarks& w = out[static_cast<size_t>(p)];
    while (true) {
      const RdKafka::ErrorCode err =
          handle.query_watermark_offsets(topic, p, &w.low, &w.high, ToMillis(Remaining(deadline)));
      if (err == RdKafka::ERR_NO_ERROR) break;
      // Leadership moving (or a topic just created, whose leaders are still being
      // elected): librdkafka refreshes its metadata; ask again.
      const bool retriable =
          err == RdKafka::ERR_NOT_LEADER_FOR_PARTITION ||
          err == RdKafka::ERR_LEADER_NOT_AVAILABLE || err == RdKafka::ERR_UNKNOWN_TOPIC_OR_PART ||
          err == RdKafka::ERR_REPLICA_NOT_AVAILABLE || err == RdKafka::ERR_FENCED_LEADER_EPOCH ||
          err == RdKafka::ERR_UNKNOWN_LEADER_EPOCH || err == RdKafka::ERR_OFFSET_NOT_AVAILABLE;
      if (!retriable || absl::Now() + absl::Milliseconds(100) >= deadline) {
        return absl::UnavailableError(
            WithProblem(fmt::format("cannot read the end of Kafka topic {} partition {}: {}", topic,
                                    p, RdKafka::err2str(err)),
                        events));
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  return out;
}

}  // namespace tori::kafka_internal
