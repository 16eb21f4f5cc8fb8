// Private helpers of tori_kafka_log: librdkafka configuration and diagnostics.
//
// Every Kafka client tori makes (the log's producer, its readers, the dead-letter
// producer) is configured in two layers: tori's own settings first, then the
// operator's extra "key=value" settings, verbatim (TLS, SASL, tuning). A few keys
// carry tori's guarantees and cannot be overridden (kOwnedKeys). An extra setting
// may be scoped to one kind of client with a "producer." or "consumer." prefix.
//
// Thread safety: ClientEvents is called from librdkafka's threads and is
// thread-safe; the functions keep no state.
#ifndef TORI_EVENTS_LOG_KAFKA_INTERNAL_CLIENT_H_
#define TORI_EVENTS_LOG_KAFKA_INTERNAL_CLIENT_H_

#include <librdkafka/rdkafkacpp.h>

#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace tori::kafka_internal {

enum class Role { kProducer, kConsumer };

struct Setting {
  std::string key;
  std::string value;
  bool operator==(const Setting&) const = default;
};

// Where an extra setting applies.
struct ScopedSetting {
  Setting setting;
  bool producer = true;
  bool consumer = true;
  std::string text;  // as the operator wrote it, for messages
};

// Parses "key=value" (split at the first '='), with an optional "producer." or
// "consumer." scope prefix. Rejects malformed text and the keys tori owns, with a
// message naming the setting.
absl::StatusOr<std::vector<ScopedSetting>> ParseSettings(const std::vector<std::string>& settings);

// Collects librdkafka's log lines and error events so that a failure message can say
// what the client saw (e.g. "Connect to ipv4#127.0.0.1:9092 failed: Connection
// refused"). Prints nothing: tori reports errors through Status.
class ClientEvents : public RdKafka::EventCb {
 public:
  void event_cb(RdKafka::Event& event) override;
  // The latest error or warning seen, "" when none.
  std::string LastProblem() const;
  // A fatal error was raised (the handle must be recreated).
  bool fatal() const;

 private:
  mutable std::mutex mu_;
  std::string last_problem_;
  bool fatal_ = false;
};

// Builds a configuration: `ours` first, then the operator's settings for `role`.
// A setting librdkafka refuses is an InvalidArgument naming it.
absl::StatusOr<std::unique_ptr<RdKafka::Conf>> MakeConf(const std::vector<Setting>& ours,
                                                        const std::vector<ScopedSetting>& theirs,
                                                        Role role, ClientEvents* events);

// "15s" style text for messages.
std::string DurationText(absl::Duration d);
int ToMillis(absl::Duration d);

// The hint appended to every "cannot reach the brokers" message.
std::string ReachabilityHint(const std::string& brokers);

}  // namespace tori::kafka_internal

#endif  // TORI_EVENTS_LOG_KAFKA_INTERNAL_CLIENT_H_
