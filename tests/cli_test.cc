// The `tori` binary end to end, as a finance officer runs it: exit codes, the summary
// line, --help, the sample file that ships with the repo, and an ingest killed with
// SIGKILL that resumes without losing or doubling anything.
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <string>

#include "fmt/format.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/log_segment_bytes.h"
#include "tests/run_command.h"

namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

using ToriRun = tori::testing::CommandResult;

ToriRun Tori(const std::string& args) {
  return tori::testing::RunCommand(fmt::format("{} {}", TORI_BINARY, args));
}

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           fmt::format("tori-cli-test-{}-{}", ::getpid(),
                       ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

TEST_F(CliTest, IngestsTheShippedSampleOnceThenOnlyDuplicates) {
  const std::string sample = fs::path(TORI_SOURCE_DIR) / "examples/sample.jsonl";
  const std::string copy = (dir_ / "sample.jsonl").string();
  fs::copy_file(sample, copy);
  const std::string data = (dir_ / "data").string();
  ToriRun first = Tori(fmt::format("ingest --data {} {}", data, copy));
  EXPECT_EQ(first.exit_code, 0) << first.out;
  EXPECT_THAT(first.out, HasSubstr("accepted 283, duplicates 0, rejected 0"));
  ToriRun second = Tori(fmt::format("ingest --data {} {}", data, copy));
  EXPECT_EQ(second.exit_code, 0) << second.out;
  EXPECT_THAT(second.out, HasSubstr("accepted 0, duplicates 283, rejected 0"));
}

TEST_F(CliTest, RejectionsStillExitZeroAndNameTheDeadLetterFile) {
  const std::string file = (dir_ / "bad.jsonl").string();
  std::ofstream(file) << "not json\n";
  ToriRun run = Tori(fmt::format("ingest --data {} {}", (dir_ / "data").string(), file));
  EXPECT_EQ(run.exit_code, 0) << run.out;
  EXPECT_THAT(run.out, HasSubstr("accepted 0, duplicates 0, rejected 1"));
  EXPECT_THAT(run.out, HasSubstr(file + ".rejected.jsonl"));
}

TEST_F(CliTest, UnreadableFileExitsOneWithAMessage) {
  ToriRun run = Tori(fmt::format("ingest --data {} {}", (dir_ / "data").string(),
                             (dir_ / "missing.jsonl").string()));
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_THAT(run.out, HasSubstr("missing.jsonl"));
}

TEST_F(CliTest, UsageErrorsExitTwoAndHelpIsComplete) {
  EXPECT_EQ(Tori("").exit_code, 2);
  EXPECT_EQ(Tori("ingest").exit_code, 2);
  EXPECT_EQ(Tori("frobnicate").exit_code, 2);
  ToriRun help = Tori("ingest --help");
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_THAT(help.out, HasSubstr("--data"));
  EXPECT_THAT(help.out, HasSubstr("rejected.jsonl"));
}

}  // namespace

namespace {

TEST_F(CliTest, DemoBillsTheQuarterAndIsTheSameTheSecondTime) {
  const std::string dir = (dir_ / "demo").string();
  ToriRun first = Tori("demo --dir " + dir);
  ASSERT_EQ(first.exit_code, 0) << first.out;
  EXPECT_THAT(first.out, HasSubstr("ingest: accepted"));
  EXPECT_THAT(first.out, HasSubstr("2026Q1-espoo-kela"));
  EXPECT_THAT(first.out, HasSubstr("all agencies (= costs)"));
  EXPECT_THAT(first.out, HasSubstr("Issued"));
  ASSERT_TRUE(fs::exists(dir + "/out/invoices.json"));
  EXPECT_TRUE(fs::exists(dir + "/out/invoices-2026Q1.xlsx"));
  EXPECT_TRUE(fs::exists(dir + "/out/report-2026Q1.html"));
  EXPECT_TRUE(fs::exists(dir + "/out/finvoice-2026Q1-espoo-kela.xml"));
  std::ifstream in(dir + "/out/invoices.json");
  const std::string json((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ToriRun verify = Tori("verify --data " + dir + "/data");
  EXPECT_EQ(verify.exit_code, 0) << verify.out;
  EXPECT_THAT(verify.out, HasSubstr("OK       2026Q1 2026Q1-espoo-kela"));
  EXPECT_THAT(verify.out, HasSubstr(" 0 differ"));
  ToriRun second = Tori("demo --dir " + dir);
  ASSERT_EQ(second.exit_code, 0) << second.out;
  EXPECT_THAT(second.out, HasSubstr("the same documents again"));
  std::ifstream again(dir + "/out/invoices.json");
  EXPECT_EQ(json, std::string((std::istreambuf_iterator<char>(again)), std::istreambuf_iterator<char>()));
}

TEST_F(CliTest, BillRejectsABadQuarterAsUsageError) {
  ToriRun run = Tori(fmt::format("bill --data {} --quarter 2026Q5 --out {}", (dir_ / "d").string(),
                                 (dir_ / "o").string()));
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_THAT(run.out, HasSubstr("2026Q5"));
}

TEST_F(CliTest, BillAndReconcileNameTheOneSpellingOfAQuarter) {
  const std::string data = (dir_ / "d").string();
  for (const std::string& command :
       {fmt::format("bill --data {} --quarter 2026q1 --out {}", data, (dir_ / "o").string()),
        fmt::format("reconcile --data {} --agency kela --quarter 2026q1 {}", data, (dir_ / "f.csv").string())}) {
    ToriRun run = Tori(command);
    EXPECT_EQ(run.exit_code, 2) << command;
    EXPECT_THAT(run.out, HasSubstr("--quarter: quarter \"2026q1\"")) << command;
    EXPECT_THAT(run.out, HasSubstr("YYYYQn")) << command;
  }
}

// No fixed offset when tzdata is missing (TZDIR points Abseil at an empty place): the
// command stops and names the package; it used to generate with +02:00 all year.
TEST_F(CliTest, WithoutTzdataTheGeneratorNamesThePackageInsteadOfAssumingAnOffset) {
  const char* before = std::getenv("TZDIR");
  const std::string kept = before ? before : "";
  ::setenv("TZDIR", (dir_ / "no-zoneinfo").c_str(), 1);
  ToriRun run = Tori(fmt::format("generate --points 1 --contacts 10 --out {}", (dir_ / "g.jsonl").string()));
  before ? ::setenv("TZDIR", kept.c_str(), 1) : ::unsetenv("TZDIR");
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_THAT(run.out, HasSubstr("cannot load the Europe/Helsinki time zone"));
  EXPECT_THAT(run.out, HasSubstr("install the tzdata package"));
}

TEST_F(CliTest, RebuildRecreatesTheStateAndBillingAgrees) {
  const std::string sample = fs::path(TORI_SOURCE_DIR) / "examples/sample.jsonl";
  const std::string data = (dir_ / "data").string();
  ASSERT_EQ(Tori(fmt::format("ingest --data {} {}", data, sample)).exit_code, 0);
  ASSERT_EQ(Tori(fmt::format("bill --dry-run --data {} --quarter 2026Q1 --out {}", data,
                             (dir_ / "before").string())).exit_code, 0);
  ToriRun rebuild = Tori("rebuild --data " + data);
  ASSERT_EQ(rebuild.exit_code, 0) << rebuild.out;
  EXPECT_THAT(rebuild.out, HasSubstr("rebuilt the state from 283 events"));
  ASSERT_EQ(Tori(fmt::format("bill --dry-run --data {} --quarter 2026Q1 --out {}", data,
                             (dir_ / "after").string())).exit_code, 0);
  std::ifstream a(dir_ / "before/draft-invoices.json"), b(dir_ / "after/draft-invoices.json");
  EXPECT_EQ(std::string((std::istreambuf_iterator<char>(a)), std::istreambuf_iterator<char>()),
            std::string((std::istreambuf_iterator<char>(b)), std::istreambuf_iterator<char>()));
}

// Every file under `dir`, path relative to it -> bytes.
std::map<std::string, std::string> FilesUnder(const fs::path& dir) {
  std::map<std::string, std::string> files;
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    if (!entry.is_regular_file()) continue;
    std::ifstream in(entry.path(), std::ios::binary);
    std::ostringstream bytes;
    bytes << in.rdbuf();
    files[fs::relative(entry.path(), dir).string()] = bytes.str();
  }
  return files;
}

TEST_F(CliTest, AnIngestKilledRepeatedlyEndsWhereAnUninterruptedOneDoes) {
  // Ingest appends and fsyncs every batch but commits the state in steps of 262,144
  // events on another thread: a kill leaves the state behind the log (or a torn record
  // at its end), and the next run must bring them together, losing and doubling
  // nothing. 600 k contacts: a few commits long.
  const std::string file = (dir_ / "events.jsonl").string();
  ASSERT_EQ(Tori(fmt::format("generate --seed 5 --points 7 --contacts 600000 --out {}", file))
                .exit_code, 0);
  const auto timing_started = std::chrono::steady_clock::now();
  ToriRun reference = Tori(fmt::format("ingest --data {} {}", (dir_ / "reference").string(), file));
  ASSERT_EQ(reference.exit_code, 0) << reference.out;
  const auto full_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                           std::chrono::steady_clock::now() - timing_started).count();
  ASSERT_EQ(Tori(fmt::format("bill --dry-run --data {} --quarter 2026Q1 --out {}",
                             (dir_ / "reference").string(), (dir_ / "reference-out").string()))
                .exit_code, 0);

  const uint64_t seed =
      static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
  SCOPED_TRACE(fmt::format("seed {}, uninterrupted ingest {} ms", seed, full_ms));
  std::mt19937_64 rng(seed);
  // Each run reads the file from its start again (what the log holds counts as
  // duplicates) and lives an eighth to a half of a whole ingest.
  const int killed_running = tori::testing::StartAndKill(
      {TORI_BINARY, "ingest", "--data", (dir_ / "killed").string(), file}, 8, full_ms / 8,
      full_ms / 2, rng);
  EXPECT_GE(killed_running, 4);
  ToriRun finish = Tori(fmt::format("ingest --data {} {}", (dir_ / "killed").string(), file));
  ASSERT_EQ(finish.exit_code, 0) << finish.out;
  EXPECT_THAT(finish.out, HasSubstr("rejected 0"));
  // The log holds every event once, in the file's order: the same bytes.
  const auto reference_log = FilesUnder(dir_ / "reference" / "log");
  const auto killed_log = FilesUnder(dir_ / "killed" / "log");
  EXPECT_EQ(reference_log.size(), killed_log.size());
  EXPECT_TRUE(reference_log == killed_log);
  ASSERT_EQ(Tori(fmt::format("bill --dry-run --data {} --quarter 2026Q1 --out {}",
                             (dir_ / "killed").string(), (dir_ / "killed-out").string()))
                .exit_code, 0);
  EXPECT_EQ(tori::testing::ReadWithoutAsOf(dir_ / "killed-out/draft-invoices.json"),
            tori::testing::ReadWithoutAsOf(dir_ / "reference-out/draft-invoices.json"));
  RecordProperty("killed_running", killed_running);
}

}  // namespace

namespace {

using ::tori::testing::RecordEnds;

TEST_F(CliTest, ABillCutOffByAPowerLossIsCompletedByTheNextBill) {
  // The log keeps 2 of the run's documents (and a torn record), the state none of them:
  // what a power loss while billing leaves. The next bill of the quarter completes it.
  const std::string sample = fs::path(TORI_SOURCE_DIR) / "examples/sample.jsonl";
  const fs::path data = dir_ / "data";
  ASSERT_EQ(Tori(fmt::format("ingest --data {} {}", data.string(), sample)).exit_code, 0);
  fs::copy(data, dir_ / "before-bill", fs::copy_options::recursive);
  ToriRun reference = Tori(fmt::format("bill --data {} --quarter 2026Q1 --out {}", data.string(),
                                       (dir_ / "reference-out").string()));
  ASSERT_EQ(reference.exit_code, 0) << reference.out;
  const std::string segment_name = "00000000000000000000.log";  // the only one
  const std::string segment = FilesUnder(data / "log").at(segment_name);
  const std::vector<size_t> ends = RecordEnds(segment);
  // The documents, then the host's shares (not a document).
  const size_t events = 283, documents = ends.size() - events - 1;
  ASSERT_EQ(documents, 6u);  // 5 invoices, 1 subsidy claim
  ASSERT_THAT(reference.out, HasSubstr(fmt::format("issued {} documents", documents)));

  fs::remove_all(data);
  fs::copy(dir_ / "before-bill", data, fs::copy_options::recursive);
  std::ofstream(data / "log" / segment_name, std::ios::binary | std::ios::trunc)
      << segment.substr(0, ends[events + 2 - 1] + 13);

  ToriRun verify = Tori("verify --data " + data.string());
  EXPECT_EQ(verify.exit_code, 1) << verify.out;
  EXPECT_THAT(verify.out, HasSubstr(fmt::format(
                              "its billing run was interrupted (2 of {} documents in the log): "
                              "`tori bill --quarter 2026Q1` issues the rest",
                              documents)));
  ToriRun other = Tori(fmt::format("bill --data {} --quarter 2026Q2 --out {}", data.string(),
                                   (dir_ / "q2-out").string()));
  EXPECT_EQ(other.exit_code, 1) << other.out;
  EXPECT_THAT(other.out, HasSubstr("2026Q1 was issued only in part"));

  ToriRun again = Tori(fmt::format("bill --data {} --quarter 2026Q1 --out {}", data.string(),
                                   (dir_ / "again-out").string()));
  ASSERT_EQ(again.exit_code, 0) << again.out;
  EXPECT_THAT(again.out, HasSubstr(fmt::format("issued the other {} documents", documents - 2)));
  EXPECT_TRUE(FilesUnder(dir_ / "again-out") == FilesUnder(dir_ / "reference-out"));
  verify = Tori("verify --data " + data.string());
  EXPECT_EQ(verify.exit_code, 0) << verify.out;
  EXPECT_THAT(verify.out, HasSubstr(fmt::format("{} OK, 0 differ", documents)));
}

TEST_F(CliTest, IngestRefusesAnAgencyIdThatWouldLeaveTheOutputDirectory) {
  const std::string file = (dir_ / "agency.jsonl").string();
  std::ofstream(file) << R"({"event_id":"e1","type":"agency_registered","occurred_at":"2026-01-01T00:00:00Z","agency_id":"x/../../escaped","name":"X","kind":"state","business_id":"0101263-6"})"
                      << "\n";
  ToriRun run = Tori(fmt::format("ingest --data {} {}", (dir_ / "data").string(), file));
  EXPECT_EQ(run.exit_code, 0) << run.out;
  EXPECT_THAT(run.out, HasSubstr("accepted 0, duplicates 0, rejected 1"));
  std::ifstream in(file + ".rejected.jsonl");
  const std::string rejected((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_THAT(rejected, HasSubstr(R"("reason":"RANGE","field":"agency_id")"));
  EXPECT_THAT(rejected, HasSubstr("must not contain '/'"));
}

}  // namespace
