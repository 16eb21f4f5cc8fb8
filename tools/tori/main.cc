// The `tori` command line (SPEC section 6). Each subcommand is a thin layer over the
// services libraries: parse flags, open the data directory, run, print, exit code.
// Exit codes: 0 success, 1 the run failed (message on stderr), 2 usage error.
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>

#include "CLI/CLI.hpp"
#include "events/log/embedded_log.h"
#include "fmt/format.h"
#include "services/ingest/ingest.h"
#include "services/state/state_store.h"
#include "tools/generate/generator.h"

namespace tori {
namespace {

constexpr int kExitFailed = 1;
constexpr int kExitUsage = 2;

struct DataOptions {
  std::string data_dir = "./tori-data";
};

void AddDataOption(CLI::App& command, DataOptions& options) {
  command.add_option("--data", options.data_dir,
                     "directory of the state (RocksDB) and the embedded event log")
      ->capture_default_str();
}

int Fail(const absl::Status& status, std::string_view what_next = "") {
  fmt::print(stderr, "tori: {}\n", std::string(status.message()));
  if (!what_next.empty()) fmt::print(stderr, "tori: {}\n", what_next);
  return kExitFailed;
}

int RunIngest(const DataOptions& data, const std::string& file) {
  auto log = EmbeddedLog::Open(data.data_dir + "/log");
  if (!log.ok()) return Fail(log.status());
  if (!(*log)->recovery_note().empty()) {
    fmt::print(stderr, "tori: event log recovered: {}\n", (*log)->recovery_note());
  }
  auto state = StateStore::Open(data.data_dir + "/state");
  if (!state.ok()) return Fail(state.status());

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
  auto summary = IngestFile(file, **log, **state, options);
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

int Main(int argc, char** argv) {
  CLI::App app{
      "tori: event-sourced cost sharing and billing for shared public service points.\n"
      "Every customer contact, cost and agreement is an event in an append-only log; tori "
      "splits each point's costs among the agencies by the agreed keys and issues "
      "quarterly invoices that can be replayed and verified from the log."};
  app.require_subcommand(1);
  app.set_version_flag("--version", "tori 0.1 (event schema v1)");

  DataOptions data;
  std::string ingest_file;
  CLI::App* ingest = app.add_subcommand(
      "ingest",
      "Validate a JSON Lines file of events (SPEC section 2) and append the accepted ones to "
      "the log. Rejected lines go to FILE.rejected.jsonl with line, reason, field, message "
      "and raw text. Prints 'accepted A, duplicates D, rejected R'. Running the same file "
      "again accepts nothing new. Exit 0 when the file was read to its end (even with "
      "rejections), 1 when it could not be.");
  AddDataOption(*ingest, data);
  ingest->add_option("FILE", ingest_file, "events, one JSON object per line")->required();

  GenerateOptions generate_options;
  std::string generate_out;
  CLI::App* generate = app.add_subcommand(
      "generate",
      "Write a deterministic, realistic event file in SPEC format (agencies, points, space, "
      "agreements, monthly costs, contacts with ~1 % corrections and ~0.5 % voids, room "
      "bookings; ~2 % of contacts by agencies outside the agreement). Same flags, same bytes.");
  generate->add_option("--seed", generate_options.seed, "random seed")->capture_default_str();
  generate->add_option("--points", generate_options.points, "service points (1..10000)")
      ->capture_default_str();
  generate->add_option("--contacts", generate_options.contacts, "contacts in the quarter")
      ->capture_default_str();
  generate->add_option("--quarter", generate_options.quarter, "quarter, e.g. 2026Q1")
      ->capture_default_str();
  generate->add_flag("!--no-reference-data", generate_options.reference_data,
                     "leave out agencies, points and agreements (for a second quarter)");
  generate->add_option("--out", generate_out, "output file (default: standard output)");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? 0 : kExitUsage;
  }
  if (ingest->parsed()) return RunIngest(data, ingest_file);
  if (generate->parsed()) return RunGenerate(generate_options, generate_out);
  return kExitUsage;
}

}  // namespace
}  // namespace tori

int main(int argc, char** argv) { return tori::Main(argc, argv); }
