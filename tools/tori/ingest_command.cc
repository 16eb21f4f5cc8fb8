#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "events/log/embedded_log.h"
#include "fmt/format.h"
#include "services/ingest/ingest.h"
#include "tools/tori/commands.h"

namespace tori {

int Fail(const absl::Status& status, std::string_view what_next) {
  fmt::print(stderr, "tori: {}\n", std::string(status.message()));
  if (!what_next.empty()) fmt::print(stderr, "tori: {}\n", what_next);
  return kExitFailed;
}

absl::StatusOr<DataDir> OpenDataDir(const std::string& path) {
  DataDir data;
  data.path = path;
  auto log = EmbeddedLog::Open(path + "/log");
  if (!log.ok()) return log.status();
  if (!(*log)->recovery_note().empty()) {
    fmt::print(stderr, "tori: event log recovered: {}\n", (*log)->recovery_note());
  }
  data.log = std::move(*log);
  auto state = StateStore::Open(path + "/state");
  if (!state.ok()) return state.status();
  data.state = std::move(*state);
  return data;
}

int RunIngest(const std::string& data_dir, const std::string& file) {
  auto data = OpenDataDir(data_dir);
  if (!data.ok()) return Fail(data.status());
  IngestOptions options;
  const bool tty = ::isatty(STDERR_FILENO);
  options.on_progress = [tty](const IngestProgress& p) {
    const double pct = p.bytes_total > 0 ? 100.0 * static_cast<double>(p.bytes_read) /
                                               static_cast<double>(p.bytes_total)
                                         : 0.0;
    fmt::print(stderr, "{}ingest: {:5.1f}% of {:.1f} MB, {} lines, {:.0f} lines/s{}",
               tty ? "\r" : "", pct, static_cast<double>(p.bytes_total) / 1e6, p.lines,
               static_cast<double>(p.lines) / p.elapsed_s, tty ? "" : "\n");
  };
  auto summary = IngestFile(file, *data->log, *data->state, options);
  if (tty) fmt::print(stderr, "\r\033[K");
  if (!summary.ok()) {
    return Fail(summary.status(),
                "nothing after the last committed batch was taken; fix the cause and run the "
                "same command again (events already taken count as duplicates)");
  }
  fmt::print("{}\n", summary->Line());
  if (!summary->rejected_path.empty()) {
    fmt::print(stderr, "tori: rejected lines are in {} (line, reason, field, message, raw)\n",
               summary->rejected_path);
  }
  return 0;
}

int RunRebuild(const std::string& data_dir) {
  std::error_code ec;
  std::filesystem::remove_all(data_dir + "/state", ec);
  if (ec) return Fail(absl::InternalError(fmt::format("cannot remove {}/state: {}", data_dir, ec.message())));
  auto data = OpenDataDir(data_dir);
  if (!data.ok()) return Fail(data.status());
  const absl::Time started = absl::Now();
  auto applied = CatchUp(*data->log, *data->state);
  if (!applied.ok()) return Fail(applied.status());
  if (auto flushed = data->state->Flush(); !flushed.ok()) return Fail(flushed);
  fmt::print("rebuilt the state from {} events in {:.1f} s (log position {})\n", *applied,
             absl::ToDoubleSeconds(absl::Now() - started), data->state->applied().ToString());
  return 0;
}

int RunGenerate(const GenerateOptions& options, const std::string& out_path) {
  std::FILE* out = stdout;
  if (!out_path.empty() && out_path != "-") {
    out = std::fopen(out_path.c_str(), "w");
    if (out == nullptr) {
      return Fail(absl::InternalError(fmt::format("cannot create {}: {}", out_path, std::strerror(errno))));
    }
  }
  uint64_t lines = 0;
  const absl::Time started = absl::Now();
  auto status = GenerateEvents(options, [&](std::string_view line) {
    std::fwrite(line.data(), 1, line.size(), out);
    std::fputc('\n', out);
    if (++lines % 1'000'000 == 0 && out != stdout) {
      fmt::print(stderr, "generate: {} lines, {:.1f} s\n", lines,
                 absl::ToDoubleSeconds(absl::Now() - started));
    }
  });
  const bool write_ok = std::fflush(out) == 0 && !std::ferror(out);
  if (out != stdout) std::fclose(out);
  if (!status.ok()) return Fail(status);
  if (!write_ok) return Fail(absl::InternalError(fmt::format("cannot write {}", out_path)));
  if (out != stdout) fmt::print(stderr, "generate: wrote {} events to {}\n", lines, out_path);
  return 0;
}

}  // namespace tori
