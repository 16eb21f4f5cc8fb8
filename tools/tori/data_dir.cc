// OpenDataDir: what each command may do with --data DIR (commands.h, DataAccess).
#include <stdlib.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <thread>

#include "events/base/check.h"
#include "events/log/embedded_log.h"
#include "events/log/kafka/kafka_log.h"
#include "fmt/format.h"
#include "services/ingest/ingest.h"
#include "tools/tori/commands.h"
#include "tools/tori/log_environment.h"

namespace tori {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kCreateAdvice =
    "a data directory is made by `tori ingest --data DIR FILE.jsonl`";

absl::Status CheckExists(const LogOptions& options) {
  const std::string& dir = options.data_dir;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    return absl::NotFoundError(fmt::format(
        "there is no data directory {}: check --data (default ./tori-data); {}", dir,
        kCreateAdvice));
  }
  if (options.kafka_brokers.empty() && !EmbeddedLog::Exists(dir + "/log")) {
    return absl::NotFoundError(fmt::format(
        "the data directory {} holds no event log ({}/log has no segment files): check --data "
        "(with the log in Kafka, add --kafka BROKERS); if the log was moved or removed, restore "
        "{}/log from a backup; {}",
        dir, dir, dir, kCreateAdvice));
  }
  return absl::OkStatus();
}

// `beside_writer` (may be null): set when the embedded log was opened read-only beside
// a process that writes to it (EmbeddedLog::beside_writer).
absl::StatusOr<std::unique_ptr<EventLog>> OpenLog(const LogOptions& options, bool read_only,
                                                  bool* beside_writer = nullptr) {
  if (!options.kafka_brokers.empty()) {
    KafkaLogOptions kafka;
    kafka.brokers = options.kafka_brokers;
    kafka.topic = options.kafka_topic;
    kafka.partitions = options.kafka_partitions;
    kafka.replication_factor = static_cast<int16_t>(options.kafka_replication_factor);
    kafka.settings = options.kafka_settings;
    kafka.writer = options.kafka_writer;
    TORI_ASSIGN_OR_RETURN(std::unique_ptr<KafkaLog> log, KafkaLog::Open(kafka));
    return std::unique_ptr<EventLog>(std::move(log));
  }
  const std::string dir = options.data_dir + "/log";
  std::unique_ptr<EmbeddedLog> log;
  if (read_only) {
    TORI_ASSIGN_OR_RETURN(log, EmbeddedLog::OpenReadOnly(dir));
    if (!log->recovery_note().empty()) {
      fmt::print(stderr, "tori: event log: {}\n", log->recovery_note());
    }
    if (beside_writer != nullptr) *beside_writer = log->beside_writer();
  } else {
    TORI_ASSIGN_OR_RETURN(log, EmbeddedLog::Open(dir, EmbeddedLogOptionsFromEnvironment()));
    if (!log->recovery_note().empty()) {
      fmt::print(stderr, "tori: event log recovered: {}\n", log->recovery_note());
    }
  }
  return std::unique_ptr<EventLog>(std::move(log));
}

// The live state read-only when it is caught up with the log; else a copy of it (or a
// new state) in `scratch`, caught up there. kReadLog: the live state as it is, or
// none. Nothing under the data directory changes.
absl::StatusOr<std::unique_ptr<StateStore>> OpenStateToRead(const std::string& live, EventLog& log,
                                                           const std::string& scratch,
                                                           DataAccess access) {
  std::error_code ec;
  const LogPosition log_end = log.End();
  // A state that lost its CURRENT file is damaged (OpenReadOnly says so), not absent.
  auto opened = StateStore::OpenReadOnly(live);
  if (!opened.ok() && !absl::IsNotFound(opened.status())) return opened.status();
  if (opened.ok()) {
    std::unique_ptr<StateStore> state = *std::move(opened);
    TORI_RETURN_IF_ERROR(CheckStateWithinLog(state->applied(), log_end));
    if (state->applied() == log_end || access == DataAccess::kReadLog) return state;
    fmt::print(stderr,
               "tori: the state in {} is at log position {}, the log ends at {}: catching up in a "
               "temporary copy ({} is not changed)\n",
               live, state->applied().ToString(), log_end.ToString(), live);
    state.reset();
    // A RocksDB directory is flat. The copy is ours to write, whatever the modes of a
    // read-only original.
    fs::create_directories(scratch, ec);
    for (const auto& entry : fs::directory_iterator(live, ec)) {
      const fs::path to = fs::path(scratch) / entry.path().filename();
      if (!entry.is_regular_file(ec)) {
        if (ec) break;
        continue;  // RocksDB's directory is flat: nothing else is part of the state
      }
      if (!fs::copy_file(entry.path(), to, ec)) break;
      fs::permissions(to, fs::perms::owner_read | fs::perms::owner_write, fs::perm_options::add,
                      ec);
      if (ec) break;
    }
    if (ec) {
      return absl::InternalError(fmt::format("cannot copy the state {} to {}: {} (set TMPDIR to a "
                                             "directory with room for it)",
                                             live, scratch, ec.message()));
    }
  } else if (access == DataAccess::kReadLog) {
    return nullptr;
  } else {
    fmt::print(stderr, "tori: there is no state in {}: replaying the log into a temporary one\n",
               live);
  }
  TORI_ASSIGN_OR_RETURN(std::unique_ptr<StateStore> state, StateStore::Open(scratch));
  TORI_RETURN_IF_ERROR(CatchUp(log, *state, {.event_ids = EventIdIndex::kSkip}).status());
  return state;
}

// Beside a process that writes the directory (a running `tori serve`, an ingest): that
// process owns DIR/state and changes it while this one reads, so it is opened
// read-only only to be read as it stands (RocksDB's files are immutable once written;
// an open that meets a file being replaced is tried again), never copied. Then the log
// is opened again: the writer applies only durable records, so the log's durable end
// is now at or past the state's position. kRead uses the live state when it is at the
// log's end, else replays the log into a temporary state; kReadLog takes it as it is.
absl::StatusOr<std::unique_ptr<StateStore>> OpenStateBesideWriter(const LogOptions& options,
                                                                 DataDir& data, DataAccess access) {
  const std::string live = options.data_dir + "/state";
  absl::StatusOr<std::unique_ptr<StateStore>> opened = absl::NotFoundError("not opened");
  for (int attempt = 0; attempt < 5; ++attempt) {
    opened = StateStore::OpenReadOnly(live);
    if (opened.ok() || absl::IsNotFound(opened.status())) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  if (!opened.ok() && !absl::IsNotFound(opened.status())) return opened.status();
  TORI_ASSIGN_OR_RETURN(data.log, OpenLog(options, /*read_only=*/true));
  const LogPosition log_end = data.log->End();
  fmt::print(stderr,
             "tori: {}/log is being written by another tori process (a running serve or ingest): "
             "reading the {} events that were durable when this command started\n",
             options.data_dir, LogRecords(log_end));
  std::unique_ptr<StateStore> state = opened.ok() ? *std::move(opened) : nullptr;
  if (state != nullptr) TORI_RETURN_IF_ERROR(CheckStateWithinLog(state->applied(), log_end));
  if (access == DataAccess::kReadLog) return state;
  if (state != nullptr && state->applied() == log_end) return state;
  fmt::print(stderr,
             "tori: the state in {} is that process's and {}: replaying the log into a temporary "
             "one\n",
             live, state == nullptr ? "not there yet" : "behind the log");
  state.reset();
  TORI_ASSIGN_OR_RETURN(state, StateStore::Open(data.ScratchPath("state")));
  TORI_RETURN_IF_ERROR(CatchUp(*data.log, *state, {.event_ids = EventIdIndex::kSkip}).status());
  return state;
}

}  // namespace

int64_t LogRecords(const LogPosition& position) {
  int64_t records = 0;
  for (int64_t next : position.next_offsets) records += next;
  return records;
}

absl::StatusOr<TemporaryDir> TemporaryDir::Create() {
  std::error_code ec;
  const fs::path base = fs::temp_directory_path(ec);
  if (ec) {
    return absl::InternalError(fmt::format("no temporary directory: {}; set TMPDIR", ec.message()));
  }
  std::string path = (base / "tori-XXXXXX").string();
  if (::mkdtemp(path.data()) == nullptr) {
    return absl::InternalError(fmt::format("cannot create a temporary directory in {}: {}; set "
                                           "TMPDIR to a writable directory",
                                           base.string(), std::strerror(errno)));
  }
  TemporaryDir dir;
  dir.path_ = path;
  return dir;
}

TemporaryDir& TemporaryDir::operator=(TemporaryDir&& other) noexcept {
  if (this != &other) {
    TemporaryDir old(std::move(*this));  // removed at the end of this block
    path_ = std::exchange(other.path_, "");
  }
  return *this;
}

TemporaryDir::~TemporaryDir() {
  if (path_.empty()) return;
  std::error_code ec;
  fs::remove_all(path_, ec);
}

std::string DataDir::ScratchPath(std::string_view name) const {
  return fmt::format("{}/scratch-{}", temporary.path().empty() ? path : temporary.path(), name);
}

absl::StatusOr<std::unique_ptr<EventLog>> OpenWriterLog(const LogOptions& options) {
  LogOptions writer = options;
  writer.kafka_writer = true;
  return OpenLog(writer, /*read_only=*/false);
}

absl::StatusOr<DataDir> OpenDataDir(const LogOptions& options, DataAccess access) {
  if (access != DataAccess::kCreate) TORI_RETURN_IF_ERROR(CheckExists(options));
  DataDir data;
  data.path = options.data_dir;
  const bool read_only = access == DataAccess::kRead || access == DataAccess::kReadLog;
  if (read_only) {
    TORI_ASSIGN_OR_RETURN(data.temporary, TemporaryDir::Create());
  }
  bool beside_writer = false;
  TORI_ASSIGN_OR_RETURN(data.log, OpenLog(options, read_only, &beside_writer));
  const std::string state = options.data_dir + "/state";
  if (read_only) {
    auto opened = beside_writer
                      ? OpenStateBesideWriter(options, data, access)
                      : OpenStateToRead(state, *data.log, data.ScratchPath("state"), access);
    if (!opened.ok()) {
      return absl::Status(opened.status().code(),
                          fmt::format("{} (nothing under {} was changed)",
                                      std::string(opened.status().message()), options.data_dir));
    }
    data.state = std::move(*opened);
  } else {
    auto opened = StateStore::Open(state);
    if (access == DataAccess::kRebuild && absl::IsDataLoss(opened.status())) {
      fmt::print(stderr, "tori: {}\ntori: rebuilding it from the log\n",
                 std::string(opened.status().message()));
      return data;  // without a state: the rebuild makes it anew
    }
    if (!opened.ok()) return opened.status();
    data.state = std::move(*opened);
  }
  return data;
}

}  // namespace tori
