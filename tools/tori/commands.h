// The subcommands of `tori`, each a thin layer over the services libraries: open the
// data directory, run, print for people, return the exit code (SPEC section 6:
// 0 success, 1 the run failed with a message on stderr, 2 usage error).
#ifndef TORI_TOOLS_TORI_COMMANDS_H_
#define TORI_TOOLS_TORI_COMMANDS_H_

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "events/log/event_log.h"
#include "services/billing/billing.h"
#include "services/documents/documents.h"
#include "services/engine/engine.h"
#include "events/merkle/note.h"
#include "services/server/access.h"
#include "services/server/checkpoint_route.h"
#include "services/state/state_store.h"
#include "tools/generate/generator.h"

namespace CLI {
class App;
}  // namespace CLI

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
  // The run appends to the topic: open it as its one writer, fencing the one before
  // (KafkaLogOptions::writer). Set by the commands that append.
  bool kafka_writer = false;
};

// What a command may do with --data DIR (rules in ARCHITECTURE.md, "Data directories").
enum class DataAccess {
  kCreate,  // ingest, demo (and project --kafka): creates DIR and the log when missing
  kWrite,   // bill, project, rebuild: DIR must exist and, without --kafka, hold a log
  // verify, explain, reconcile, bill --dry-run: as kWrite, and nothing under DIR is
  // written (a read-only archive works): the log is opened read-only, and a state
  // that is behind the log is caught up in a temporary copy
  kRead,
  // verify: as kRead, but it replays the log itself: the state, when there is one, is
  // only checked not to be ahead of the log (never caught up)
  kReadLog,
  // rebuild: as kWrite, but a damaged live state (DataLoss on open) is no error: the
  // state is then null, and the rebuild replaces it
  kRebuild,
};

// A temporary directory (under $TMPDIR), removed with everything in it.
class TemporaryDir {
 public:
  static absl::StatusOr<TemporaryDir> Create();
  TemporaryDir() = default;
  TemporaryDir(TemporaryDir&& other) noexcept : path_(std::exchange(other.path_, "")) {}
  TemporaryDir& operator=(TemporaryDir&& other) noexcept;
  ~TemporaryDir();
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// The log and the state of one run.
struct DataDir {
  std::string path;
  // kRead: scratch states go here. Declared before the state so that it outlives it.
  TemporaryDir temporary;
  std::unique_ptr<EventLog> log;
  std::unique_ptr<StateStore> state;  // kReadLog: null when DIR has no state

  // Where a replay into a scratch state goes: DIR/scratch-NAME, or for kRead the
  // temporary directory.
  std::string ScratchPath(std::string_view name) const;
};
// Opens the log, then the state (so a second tori fails on the log's lock before it
// touches the state). Refuses, naming it, a DIR that does not exist or holds no log
// (except for kCreate), and a state that is ahead of the log.
absl::StatusOr<DataDir> OpenDataDir(const LogOptions& options, DataAccess access);
// The log alone, opened to append (with --kafka: as the topic's writer, fencing the one
// before): `tori serve` regains the writer with it.
absl::StatusOr<std::unique_ptr<EventLog>> OpenWriterLog(const LogOptions& options);

// The log's records before `position`, all partitions (for Kafka: offsets, which
// count transaction markers too). A state's lag is LogRecords(end) - LogRecords(applied).
int64_t LogRecords(const LogPosition& position);

int RunIngest(const LogOptions& data, const std::string& file);
// `as_of`: a log position, or an instant: the log as it stood then, each partition up
// to its first event that occurred later (found by the replay, which reads the log once).
using BillAsOf = std::variant<std::monostate, LogPosition, absl::Time>;
int RunBill(const LogOptions& data, engine::Quarter quarter, const std::string& out_dir,
            bool dry_run, bool force, const BillAsOf& as_of, documents::Language language,
            CsvDialect csv_dialect, const std::optional<std::string>& by = std::nullopt);
// `tori approve` (SPEC section 8): issues the quarter's preparation as approved by `by`;
// exit 1 when the approver prepared it, or nothing is prepared.
int RunApprove(const LogOptions& data, engine::Quarter quarter, const std::string& out_dir,
               const std::string& by, documents::Language language, CsvDialect csv_dialect);
// Where a billing run's files went, and its notes.
void PrintFiles(const BillOutcome& outcome);
int RunRebuild(const LogOptions& data);
// Brings the state up to the log; with `follow`, keeps it current until SIGINT/SIGTERM,
// printing the lag. A killed run resumes where its last commit left off.
int RunProject(const LogOptions& data, bool follow);
// `json`: one JSON object on stdout instead of text (field names in --help and README).
int RunVerify(const LogOptions& data, bool json = false);
int RunExplain(const LogOptions& data, const std::string& invoice_id, std::optional<int> line,
               bool list_contacts, bool json = false);
// Exit 0 when everything matches, 1 when there are differences (or the run failed).
int RunReconcile(const LogOptions& data, const std::string& agency_id, engine::Quarter quarter,
                 const std::string& file, const std::string& out_path, bool json = false);
int RunGenerate(const GenerateOptions& options, const std::string& out_path);

// `tori status`: the log's size and end, the state's position, every issued quarter's
// documents with as_of, invoice numbers and content hashes.
int RunStatus(const LogOptions& data, bool json);
// `tori log`: the events of the log in log order as canonical JSON Lines on stdout,
// those that match every filter given.
struct LogFilter {
  std::vector<std::string> types;  // event types; any of them
  std::string service_point_id;    // the event's point, or its contact's
  std::string agency_id;           // named in any agency field, or its contact's agency
  std::optional<absl::Time> since;  // occurred_at >= since
  std::optional<absl::Time> until;  // occurred_at < until
};
int RunLog(const LogOptions& data, const LogFilter& filter);

// A date (2026-03-31: the end of that Helsinki day) or an RFC 3339 instant, as
// `--as-of`, `--since` and `--until` take them; nullopt for other text. `day_end`:
// a date means the next midnight (as-of, until), else its own midnight (since).
std::optional<absl::Time> ParseDateOrInstant(const std::string& text, bool day_end);

// `tori serve` (SPEC section 7).
struct ServeOptions {
  std::string listen = "127.0.0.1:8080";
  std::string tls_cert, tls_key;  // PEM files; both or neither
  std::string grants_file;        // more access grants as JSON Lines (beside the log's)
  std::string access_log;         // JSON lines; empty: stderr
  // POST /v1/checkpoint signs with this key (`tori checkpoint --key`); empty: 409.
  std::string checkpoint_key, checkpoint_origin;
};
// Serves until SIGINT/SIGTERM; prints "tori serve: listening on URL" on stdout once ready.
int RunServe(const LogOptions& data, const ServeOptions& options);

// `tori access` (SPEC section 7, access_command.cc).
struct AccessGrantOptions {
  std::string role, name, agency_id, service_point_id;
};
int RunAccessGrant(const LogOptions& data, const AccessGrantOptions& options);
int RunAccessList(const LogOptions& data);
int RunAccessRevoke(const LogOptions& data, const std::string& token_id);
// Fills `access` with the grants in the state's index (access_granted events), revoked
// as access_revoked events say; `count` (may be null) gets how many.
absl::Status LoadAccessList(StateStore& state, server::InMemoryAccessList& access, size_t* count);

// For a command name that is not one: the nearest, "" when none is near.
std::string NearestCommand(const std::string& typed, const std::vector<std::string>& commands);
int RunDemo(const std::string& dir, documents::Language language);

// SPEC section 10, proofs that need no trust in the host (proof_command.cc): keygen,
// checkpoint, proof, verify-proof, cosign.
struct ProofCommandState {
  std::string out, name, key, origin, invoice, old_checkpoint, file, state_dir, log_key, proof;
  std::vector<std::string> public_keys;
};
struct ProofCommands {
  std::shared_ptr<ProofCommandState> state;  // the flags, filled by the parse
  CLI::App* keygen = nullptr;
  CLI::App* checkpoint = nullptr;
  CLI::App* proof = nullptr;
  CLI::App* verify_proof = nullptr;
  CLI::App* cosign = nullptr;
  // After the parse: the exit code of the one of these commands that was given, or
  // nullopt when it was another command.
  std::function<std::optional<int>()> run;
};
ProofCommands AddProofCommands(CLI::App& app, LogOptions& data,
                               const std::function<void(CLI::App&, LogOptions&)>& add_data_option);
int RunKeygen(const std::string& out, const std::string& name);
int RunCheckpoint(const LogOptions& data, const std::string& key_file, const std::string& origin);
// `tori checkpoint`'s key: the signer in `key_file`; `origin` gets `origin_flag`, or the
// key's name (InvalidArgument naming --origin when it holds spaces, newlines or '+').
absl::StatusOr<note::Signer> ReadCheckpointKey(const std::string& key_file, const std::string& origin_flag,
                                               std::string& origin);
// What `tori checkpoint` does once DIR is open as the writer (also POST /v1/checkpoint
// in serve, checkpoint_route.h): brings DIR/merkle up to the log, writes each
// partition's signed checkpoint, appends the checkpoint_signed events.
absl::StatusOr<server::CheckpointOutcome> SignCheckpoints(EventLog& log, StateStore& state,
                                                         const std::string& data_dir,
                                                         const note::Signer& signer,
                                                         const std::string& origin);
int RunProofOfInvoice(const LogOptions& data, const std::string& invoice, const std::string& out);
int RunProofOfConsistency(const LogOptions& data, const std::string& old_checkpoint, const std::string& out);
// Needs no data directory: the proof and the public keys only.
int RunVerifyProof(const std::string& file, const std::vector<std::string>& public_key_files);
int RunCosign(const std::string& checkpoint, const std::string& key_file, const std::string& state_dir,
              const std::string& log_key_file, const std::string& proof_file, const std::string& out);

}  // namespace tori

#endif  // TORI_TOOLS_TORI_COMMANDS_H_
