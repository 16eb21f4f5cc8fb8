// The subcommands of `tori`, each a thin layer over the services libraries: open the
// data directory, run, print for people, return the exit code (SPEC section 6:
// 0 success, 1 the run failed with a message on stderr, 2 usage error).
#ifndef TORI_TOOLS_TORI_COMMANDS_H_
#define TORI_TOOLS_TORI_COMMANDS_H_

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "events/log/event_log.h"
#include "services/billing/billing.h"
#include "services/documents/documents.h"
#include "services/engine/engine.h"
#include "services/state/state_store.h"
#include "tools/generate/generator.h"

namespace tori {

inline constexpr int kExitFailed = 1;
inline constexpr int kExitUsage = 2;

// Prints "tori: <message>" (and what to do next) on stderr; returns kExitFailed.
int Fail(const absl::Status& status, std::string_view what_next = "");

// Where the log is: the embedded log in --data DIR, or a Kafka topic with --kafka.
struct LogOptions {
  std::string data_dir = "./tori-data";  // the state (and the embedded log)
  std::string kafka_brokers;             // empty: embedded log
  std::string kafka_topic = "tori.events";
  std::string kafka_dead_letter_topic = "tori.dead-letters";
  int kafka_partitions = 6;               // when creating the topic
  int kafka_replication_factor = 1;       // when creating the topic
  std::vector<std::string> kafka_settings;  // librdkafka key=value (TLS, SASL, ...)
};

// The log and the state of one run.
struct DataDir {
  std::string path;
  std::unique_ptr<EventLog> log;
  std::unique_ptr<StateStore> state;
};
absl::StatusOr<DataDir> OpenDataDir(const LogOptions& options);

int RunIngest(const LogOptions& data, const std::string& file);
int RunBill(const LogOptions& data, engine::Quarter quarter, const std::string& out_dir,
            bool dry_run, bool force, const std::optional<LogPosition>& as_of,
            documents::Language language);
// Where a billing run's files went, and its notes.
void PrintFiles(const BillOutcome& outcome);
int RunRebuild(const LogOptions& data);
// Brings the state up to the log; with `follow`, keeps it current until SIGINT/SIGTERM,
// printing the lag. A killed run resumes where its last commit left off.
int RunProject(const LogOptions& data, bool follow);
int RunVerify(const LogOptions& data);
int RunExplain(const LogOptions& data, const std::string& invoice_id, std::optional<int> line,
               bool list_contacts);
// Exit 0 when everything matches, 1 when there are differences (or the run failed).
int RunReconcile(const LogOptions& data, const std::string& agency_id, engine::Quarter quarter,
                 const std::string& file, const std::string& out_path);
int RunGenerate(const GenerateOptions& options, const std::string& out_path);
int RunDemo(const std::string& dir, documents::Language language);

}  // namespace tori

#endif  // TORI_TOOLS_TORI_COMMANDS_H_
