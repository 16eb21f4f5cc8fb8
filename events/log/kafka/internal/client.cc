#include "events/log/kafka/internal/client.h"

#include <algorithm>
#include <cctype>

#include "fmt/format.h"

namespace tori::kafka_internal {
namespace {

struct OwnedKey {
  std::string_view key;
  std::string_view why;
};

// Keys that carry tori's guarantees; an extra setting may not change them.
constexpr OwnedKey kOwnedKeys[] = {
    {"bootstrap.servers", "the brokers come from --kafka BROKERS"},
    {"metadata.broker.list", "the brokers come from --kafka BROKERS"},
    {"enable.idempotence", "tori's producer is always idempotent (no duplicates on retries)"},
    {"acks", "tori waits for acks=all: an acknowledged event is on every in-sync replica"},
    {"request.required.acks",
     "tori waits for acks=all: an acknowledged event is on every in-sync replica"},
    {"transactional.id",
     "tori gives the writer of a topic its own transactional id (tori-writer:TOPIC), which "
     "fences the writer before it"},
    {"isolation.level", "tori reads with isolation.level=read_committed"},
    {"enable.auto.commit", "tori keeps its read positions itself"},
    {"enable.partition.eof", "tori's reader needs end-of-partition events"},
    {"auto.offset.reset",
     "tori never skips records: a position that is gone from Kafka is an error"},
};

std::string Trim(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return std::string(s.substr(b, e - b));
}

}  // namespace

absl::StatusOr<std::vector<ScopedSetting>> ParseSettings(const std::vector<std::string>& settings) {
  std::vector<ScopedSetting> out;
  for (const std::string& text : settings) {
    const size_t eq = text.find('=');
    ScopedSetting scoped;
    scoped.text = text;
    std::string key =
        Trim(std::string_view(text).substr(0, eq == std::string::npos ? text.size() : eq));
    if (eq == std::string::npos || key.empty()) {
      return absl::InvalidArgumentError(fmt::format(
          "Kafka setting '{}' is not of the form key=value (e.g. security.protocol=SSL)", text));
    }
    for (char c : key) {
      if (std::isspace(static_cast<unsigned char>(c))) {
        return absl::InvalidArgumentError(
            fmt::format("Kafka setting '{}': the key '{}' contains white space", text, key));
      }
    }
    if (key.rfind("producer.", 0) == 0) {
      key.erase(0, 9);
      scoped.consumer = false;
    } else if (key.rfind("consumer.", 0) == 0) {
      key.erase(0, 9);
      scoped.producer = false;
    }
    for (const OwnedKey& owned : kOwnedKeys) {
      if (key == owned.key) {
        return absl::InvalidArgumentError(
            fmt::format("Kafka setting '{}' is not allowed: {}", text, owned.why));
      }
    }
    scoped.setting = {key, text.substr(eq + 1)};
    out.push_back(std::move(scoped));
  }
  return out;
}

void ClientEvents::event_cb(RdKafka::Event& event) {
  std::string problem;
  bool fatal = false;
  switch (event.type()) {
    case RdKafka::Event::EVENT_ERROR:
      problem = event.str().empty() ? RdKafka::err2str(event.err()) : event.str();
      fatal = event.fatal();
      break;
    case RdKafka::Event::EVENT_LOG:
      // CONFWARN (e.g. a producer setting also given to a consumer) is not a failure.
      if (event.severity() <= RdKafka::Event::EVENT_SEVERITY_WARNING && event.fac() != "CONFWARN") {
        problem = fmt::format("{}: {}", event.fac(), event.str());
      }
      break;
    default:
      break;
  }
  if (problem.empty()) return;
  std::lock_guard<std::mutex> lock(mu_);
  last_problem_ = std::move(problem);
  fatal_ = fatal_ || fatal;
}

std::string ClientEvents::LastProblem() const {
  std::lock_guard<std::mutex> lock(mu_);
  return last_problem_;
}

bool ClientEvents::fatal() const {
  std::lock_guard<std::mutex> lock(mu_);
  return fatal_;
}

absl::StatusOr<std::unique_ptr<RdKafka::Conf>> MakeConf(const std::vector<Setting>& ours,
                                                        const std::vector<ScopedSetting>& theirs,
                                                        Role role, ClientEvents* events) {
  std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
  std::string error;
  for (const Setting& s : ours) {
    if (conf->set(s.key, s.value, error) != RdKafka::Conf::CONF_OK) {
      return absl::InternalError(
          fmt::format("tori's own Kafka setting {}={} was refused: {}", s.key, s.value, error));
    }
  }
  for (const ScopedSetting& s : theirs) {
    if (role == Role::kProducer ? !s.producer : !s.consumer) continue;
    if (conf->set(s.setting.key, s.setting.value, error) != RdKafka::Conf::CONF_OK) {
      return absl::InvalidArgumentError(fmt::format("Kafka setting '{}': {}", s.text, error));
    }
  }
  if (events != nullptr && conf->set("event_cb", events, error) != RdKafka::Conf::CONF_OK) {
    return absl::InternalError(fmt::format("cannot install the Kafka event callback: {}", error));
  }
  return conf;
}

std::string DurationText(absl::Duration d) { return absl::FormatDuration(d); }

int ToMillis(absl::Duration d) {
  const int64_t ms = absl::ToInt64Milliseconds(d);
  return static_cast<int>(std::clamp<int64_t>(ms, 0, 1'000'000'000));
}

std::string ReachabilityHint(const std::string& brokers) {
  return fmt::format(
      "check the address given with --kafka ({}) and the TLS/SASL settings, or start the local "
      "broker with ops/kafka/start",
      brokers);
}

}  // namespace tori::kafka_internal
