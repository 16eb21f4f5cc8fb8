#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "events/log/embedded_log.h"
#include "events/log/kafka/kafka_log.h"
#include "fmt/format.h"
#include "services/ingest/ingest.h"
#include "tools/tori/commands.h"

namespace tori {

int Fail(const absl::Status& status, std::string_view what_next) {
  fmt::print(stderr, "tori: {}\n", std::string(status.message()));
  if (!what_next.empty()) fmt::print(stderr, "tori: {}\n", what_next);
  return kExitFailed;
}

namespace {
// Beside the summary line, which stays as SPEC has it: the rejections per reason, and
// how to convert a file that is not UTF-8.
void PrintRejectionReasons(const IngestSummary& summary, const std::string& file) {
  if (summary.rejected == 0) return;
  fmt::print("{}\n", summary.ReasonsLine());
  if (summary.not_utf8_lines > 0) {
    fmt::print(stderr,
               "tori: {} lines are not UTF-8; a file saved as Latin-1 / Windows-1252 (e.g. by "
               "Excel) converts with `iconv -f windows-1252 -t utf-8 {} > {}.utf8.jsonl`: "
               "ingest that file, the events taken now count as duplicates\n",
               summary.not_utf8_lines, file, file);
  }
}
}  // namespace

int RunIngest(const LogOptions& log_options, const std::string& file) {
  LogOptions data_options = log_options;
  data_options.kafka_writer = true;  // before its catch-up: see KafkaLog's "One writer"
  auto data = OpenDataDir(data_options, DataAccess::kCreate);
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
  std::unique_ptr<KafkaDeadLetterProducer> dead_letters;
  if (!data_options.kafka_brokers.empty()) {
    KafkaDeadLetterOptions kafka;
    kafka.brokers = data_options.kafka_brokers;
    kafka.topic = data_options.kafka_dead_letter_topic;
    kafka.replication_factor = static_cast<int16_t>(data_options.kafka_replication_factor);
    kafka.settings = data_options.kafka_settings;
    auto producer = KafkaDeadLetterProducer::Open(kafka);
    if (!producer.ok()) return Fail(producer.status());
    dead_letters = std::move(*producer);
    options.dead_letter_sink = [&](std::string_view record) { return dead_letters->Write(record); };
  }
  auto summary = IngestFile(file, *data->log, *data->state, options);
  if (tty) fmt::print(stderr, "\r\033[K");
  if (!summary.ok()) {
    return Fail(summary.status(),
                "nothing after the last committed batch was taken; fix the cause and run the "
                "same command again (events already taken count as duplicates)");
  }
  fmt::print("{}\n", summary->Line());
  PrintRejectionReasons(*summary, file);
  if (!summary->rejected_path.empty()) {
    fmt::print(stderr, "tori: rejected lines are in {} (line, reason, field, message, raw)\n",
               summary->rejected_path);
  }
  return 0;
}

// A long replay's progress on stderr, at most every 2 s (the replay reports after
// each commit).
class ReplayProgress {
 public:
  explicit ReplayProgress(std::string_view what) : what_(what), tty_(::isatty(STDERR_FILENO)) {}
  ~ReplayProgress() {
    if (tty_ && printed_) fmt::print(stderr, "\r\033[K");
  }
  std::function<void(uint64_t, uint64_t)> Callback() {
    return [this](uint64_t applied, uint64_t total) {
      const absl::Time now = absl::Now();
      if (now < next_) return;
      next_ = now + absl::Seconds(2);
      printed_ = true;
      fmt::print(stderr, "{}{}: {:5.1f}% ({} of {} events), {:.0f} events/s{}", tty_ ? "\r" : "",
                 what_, 100.0 * static_cast<double>(applied) / static_cast<double>(total), applied,
                 total, static_cast<double>(applied) / absl::ToDoubleSeconds(now - started_),
                 tty_ ? "" : "\n");
    };
  }

 private:
  const std::string what_;
  const bool tty_;
  const absl::Time started_ = absl::Now();
  absl::Time next_ = started_ + absl::Seconds(2);
  bool printed_ = false;
};

// Records a replay skipped as copies of earlier ones (two writers' appends, issue
// #14): the first few on stderr with where they are, then how many in all.
class CopyReport {
 public:
  static constexpr int kPrintedMax = 10;
  ~CopyReport() {
    if (skipped_ > kPrintedMax) {
      fmt::print(stderr, "tori: ... {} records in all were skipped as copies of earlier ones\n",
                 skipped_);
    }
  }
  std::function<void(const SkippedCopy&)> Callback() {
    return [this](const SkippedCopy& copy) {
      if (++skipped_ > kPrintedMax) return;
      fmt::print(stderr, "tori: skipped the record at partition {} offset {}: {}\n",
                 copy.partition, copy.offset, copy.why);
    };
  }

 private:
  uint64_t skipped_ = 0;
};

int RunRebuild(const LogOptions& data_options) {
  // The locks first (the log's, then the state's): a rebuild beside another tori fails
  // here, before anything is removed.
  auto data = OpenDataDir(data_options, DataAccess::kRebuild);
  if (!data.ok()) return Fail(data.status());
  const std::string live = data_options.data_dir + "/state";
  // A state ahead of the log is the only trace of acknowledged events the log lost.
  if (auto fits = data->state ? CheckStateWithinLog(data->state->applied(), data->log->End())
                              : absl::OkStatus();
      !fits.ok()) {
    return Fail(fits, fmt::format("nothing was rebuilt; to rebuild from this log anyway, move {} "
                                  "away first",
                                  live));
  }
  // Built beside the live state and swapped in at the end: a failed rebuild leaves it.
  const std::string fresh = live + ".rebuild", old = live + ".old";
  std::error_code ec;
  std::filesystem::remove_all(fresh, ec);
  std::filesystem::remove_all(old, ec);
  const absl::Time started = absl::Now();
  absl::StatusOr<uint64_t> applied;
  std::string position;
  {
    auto state = StateStore::Open(fresh);
    if (!state.ok()) return Fail(state.status());
    {
      ReplayProgress progress("rebuild");
      CopyReport copies;
      applied = CatchUp(*data->log, **state,
                        {.on_progress = progress.Callback(), .on_copy_skipped = copies.Callback()});
    }
    if (!applied.ok()) {
      state->reset();
      std::filesystem::remove_all(fresh, ec);
      return Fail(applied.status(), fmt::format("the state in {} was left as it was", live));
    }
    if (auto flushed = (*state)->Flush(); !flushed.ok()) return Fail(flushed);
    position = (*state)->applied().ToString();
  }
  data->state.reset();  // the log's lock is held until the swap is done
  std::filesystem::rename(live, old, ec);
  if (!ec || ec == std::errc::no_such_file_or_directory) std::filesystem::rename(fresh, live, ec);
  if (ec) {
    return Fail(absl::InternalError(fmt::format(
        "cannot put the rebuilt state {} in place of {}: {}", fresh, live, ec.message())));
  }
  std::filesystem::remove_all(old, ec);
  fmt::print("rebuilt the state from {} events in {:.1f} s (log position {})\n", *applied,
             absl::ToDoubleSeconds(absl::Now() - started), position);
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

namespace tori {
namespace {
volatile std::sig_atomic_t g_stop = 0;
void OnStopSignal(int) { g_stop = 1; }

int64_t Lag(const LogPosition& end, const LogPosition& applied) {
  return LogRecords(end) - LogRecords(applied);
}
}  // namespace

int RunProject(const LogOptions& data_options, bool follow) {
  // From a Kafka topic, project builds a new state; the embedded log must be there.
  auto data = OpenDataDir(data_options, data_options.kafka_brokers.empty() ? DataAccess::kWrite
                                                                           : DataAccess::kCreate);
  if (!data.ok()) return Fail(data.status());
  std::signal(SIGINT, OnStopSignal);
  std::signal(SIGTERM, OnStopSignal);
  uint64_t total = 0;
  const absl::Time started = absl::Now();
  do {
    absl::StatusOr<uint64_t> applied;
    {
      ReplayProgress progress("project");
      CopyReport copies;
      applied = CatchUp(*data->log, *data->state,
                        {.on_progress = progress.Callback(), .on_copy_skipped = copies.Callback()});
    }
    if (!applied.ok()) return Fail(applied.status());
    total += *applied;
    if (follow) {
      if (*applied > 0) {
        if (auto flushed = data->state->Flush(); !flushed.ok()) return Fail(flushed);
      }
      fmt::print(stderr, "project: applied {} events so far, position {}, lag {} events\n", total,
                 data->state->applied().ToString(), Lag(data->log->End(), data->state->applied()));
      for (int i = 0; i < 10 && !g_stop; ++i) absl::SleepFor(absl::Milliseconds(100));
    }
  } while (follow && !g_stop);
  if (auto flushed = data->state->Flush(); !flushed.ok()) return Fail(flushed);
  fmt::print("projected {} events in {:.1f} s; the state is at log position {} (lag {})\n", total,
             absl::ToDoubleSeconds(absl::Now() - started), data->state->applied().ToString(),
             Lag(data->log->End(), data->state->applied()));
  return 0;
}

}  // namespace tori
