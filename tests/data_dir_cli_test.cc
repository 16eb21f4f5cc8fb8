// The data directory through the `tori` binary: a log with a segment missing fails
// every command with the gap named; the commands that only read write nothing under
// --data (a read-only archive works, also run as an unprivileged user); a mistyped
// --data is refused, not created; rebuild takes the locks before it removes anything.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "fmt/format.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/log_segment_bytes.h"
#include "tests/run_command.h"

namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;

tori::testing::CommandResult Tori(const std::string& args) {
  return tori::testing::RunCommand(fmt::format("{} {}", TORI_BINARY, args));
}

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// Every file and directory under `dir`: a hash of its bytes, its size and its
// modification time (directories: their time), to show that a command wrote nothing
// there. `beside_a_running_tori`: leaves out what a running tori changes in place
// (RocksDB's info logs, times).
std::map<std::string, std::string> Snapshot(const fs::path& dir,
                                            bool beside_a_running_tori = false) {
  std::map<std::string, std::string> snapshot;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (beside_a_running_tori && e.path().filename().string().starts_with("LOG")) continue;
    const std::string bytes = e.is_regular_file() ? ReadFile(e.path()) : "";
    snapshot[e.path().string()] =
        fmt::format("{} bytes, hash {:x}", bytes.size(), std::hash<std::string>{}(bytes));
    if (!beside_a_running_tori) {
      snapshot[e.path().string()] +=
          fmt::format(", time {}", e.last_write_time().time_since_epoch().count());
    }
  }
  return snapshot;
}

// Splits the log's only segment into segments that start at `firsts` (0 first) and
// lists them in the manifest, as a log that rolled over would be. The record format
// is events/log/embedded_log.h's: "TORILOG1", then u32 payload bytes | u64 offset |
// u32 crc | u32 crc | payload.
void SplitSegments(const fs::path& log_dir, const std::vector<int64_t>& firsts) {
  const fs::path only = log_dir / "00000000000000000000.log";
  const std::string bytes = ReadFile(only);
  ASSERT_EQ(bytes.substr(0, 8), "TORILOG1");
  std::vector<std::string> records;
  size_t start = 8;
  for (size_t end : ::tori::testing::RecordEnds(bytes)) {
    records.push_back(bytes.substr(start, end - start));
    start = end;
  }
  ASSERT_EQ(start, bytes.size());
  std::string manifest = "tori event log manifest v1\n";
  for (size_t i = 0; i < firsts.size(); ++i) {
    const int64_t end =
        i + 1 < firsts.size() ? firsts[i + 1] : static_cast<int64_t>(records.size());
    ASSERT_LT(firsts[i], end);
    std::string segment = "TORILOG1";
    for (int64_t r = firsts[i]; r < end; ++r) segment += records[r];
    const std::string name = fmt::format("{:020d}.log", firsts[i]);
    std::ofstream(log_dir / name, std::ios::binary | std::ios::trunc) << segment;
    manifest += name + "\n";
  }
  std::ofstream(log_dir / "MANIFEST", std::ios::trunc) << manifest;
}

class DataDirCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           fmt::format("tori-data-dir-test-{}-{}", ::getpid(),
                       ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    // Writable by everyone: some runs are as an unprivileged user.
    fs::permissions(dir_, fs::perms::all);
  }
  void TearDown() override { fs::remove_all(dir_); }

  // The sample ingested and 2026Q1 issued: 283 events and 6 documents.
  fs::path IngestAndBill() {
    const fs::path data = dir_ / "data";
    const std::string sample = fs::path(TORI_SOURCE_DIR) / "examples/sample.jsonl";
    auto ingest = Tori(fmt::format("ingest --data {} {}", data.string(), sample));
    EXPECT_EQ(ingest.exit_code, 0) << ingest.out;
    auto bill = Tori(fmt::format("bill --data {} --quarter 2026Q1 --out {}", data.string(),
                                 (dir_ / "issued").string()));
    EXPECT_EQ(bill.exit_code, 0) << bill.out;
    return data;
  }

  // A directory everyone may write to, for a command's --out.
  std::string OutDir(const std::string& name) const {
    const fs::path out = dir_ / name;
    fs::create_directories(out);
    fs::permissions(out, fs::perms::all);
    return out.string();
  }

  fs::path dir_;
};

TEST_F(DataDirCliTest, AMissingLogSegmentFailsEveryCommandNamingTheGap) {
  const fs::path data = IngestAndBill();
  SplitSegments(data / "log", {0, 100, 200, 250});
  ASSERT_EQ(Tori("verify --data " + data.string()).exit_code, 0);  // whole, it verifies
  const fs::path backup = dir_ / "whole";
  fs::copy(data, backup, fs::copy_options::recursive);
  const std::string sample = fs::path(TORI_SOURCE_DIR) / "examples/sample.jsonl";
  struct Case {
    const char* segment;
    const char* offsets;
  } cases[] = {{"00000000000000000000.log", "(offsets 0..99)"},
               {"00000000000000000100.log", "(offsets 100..199)"},
               {"00000000000000000250.log", "(offsets 250 and after"}};
  for (const Case& c : cases) {
    SCOPED_TRACE(c.segment);
    fs::remove_all(data);
    fs::copy(backup, data, fs::copy_options::recursive);
    fs::remove(data / "log" / c.segment);
    const auto before = Snapshot(data / "log");
    const std::string d = data.string();
    for (const std::string& command :
         {"rebuild --data " + d,
          "bill --data " + d + " --quarter 2026Q1 --dry-run --out " + OutDir("dry"),
          "bill --data " + d + " --quarter 2026Q2 --out " + OutDir("q2"), "verify --data " + d,
          "explain --data " + d + " --invoice 2026Q1-espoo-kela", "project --data " + d,
          "ingest --data " + d + " " + sample}) {
      SCOPED_TRACE(command);
      auto run = Tori(command);
      EXPECT_EQ(run.exit_code, 1) << run.out;
      EXPECT_THAT(run.out, HasSubstr(std::string(c.segment) + " " + c.offsets));
      EXPECT_THAT(run.out, HasSubstr("restore the missing segment files from a backup"));
    }
    EXPECT_EQ(Snapshot(data / "log"), before);  // nothing appended, nothing cut
    EXPECT_TRUE(fs::exists(data / "state"));     // and rebuild removed nothing
  }
}

TEST_F(DataDirCliTest, VerifyFailsWhenTheLogLacksAcknowledgedEvents) {
  const fs::path data = dir_ / "data";
  const std::string sample = fs::path(TORI_SOURCE_DIR) / "examples/sample.jsonl";
  ASSERT_EQ(Tori(fmt::format("ingest --data {} {}", data.string(), sample)).exit_code, 0);
  fs::copy(data / "log", dir_ / "log-283", fs::copy_options::recursive);
  ASSERT_EQ(Tori(fmt::format("bill --data {} --quarter 2026Q1 --out {}", data.string(),
                             OutDir("issued")))
                .exit_code,
            0);
  // The log as it was before the 6 issued documents; the state has applied them.
  fs::remove_all(data / "log");
  fs::copy(dir_ / "log-283", data / "log", fs::copy_options::recursive);
  auto verify = Tori("verify --data " + data.string());
  EXPECT_EQ(verify.exit_code, 1) << verify.out;
  EXPECT_THAT(verify.out, HasSubstr("offsets 283..289) are missing from the log"));
  auto rebuild = Tori("rebuild --data " + data.string());
  EXPECT_EQ(rebuild.exit_code, 1) << rebuild.out;
  EXPECT_THAT(rebuild.out, HasSubstr("nothing was rebuilt"));
}

TEST_F(DataDirCliTest, RebuildBesideARunningToriFailsAndRemovesNothing) {
  const fs::path data = IngestAndBill();
  const pid_t follower =
      tori::testing::Spawn({TORI_BINARY, "project", "--follow", "--data", data.string()});
  ASSERT_GT(follower, 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // it holds the log's lock
  const auto before = Snapshot(data / "state", /*beside_a_running_tori=*/true);
  auto rebuild = Tori("rebuild --data " + data.string());
  ::kill(follower, SIGTERM);
  int status = 0;
  ::waitpid(follower, &status, 0);
  EXPECT_EQ(rebuild.exit_code, 1) << rebuild.out;
  EXPECT_THAT(rebuild.out, HasSubstr("in use by another tori process"));
  EXPECT_EQ(Snapshot(data / "state", /*beside_a_running_tori=*/true), before);
  auto again = Tori("rebuild --data " + data.string());
  EXPECT_EQ(again.exit_code, 0) << again.out;
  EXPECT_THAT(again.out, HasSubstr("rebuilt the state from 290 events"));
  EXPECT_EQ(Tori("verify --data " + data.string()).exit_code, 0);
}

TEST_F(DataDirCliTest, ADryRunLeavesATornLogTailInPlace) {
  const fs::path data = IngestAndBill();
  const fs::path segment = data / "log/00000000000000000000.log";
  std::ofstream(segment, std::ios::app | std::ios::binary) << std::string("\x10\0\0\0\x21", 5);
  const auto before = Snapshot(data);
  for (const std::string& command :
       {"bill --data " + data.string() + " --quarter 2026Q1 --dry-run --out " + OutDir("dry"),
        "verify --data " + data.string(),
        "explain --data " + data.string() + " --invoice 2026Q1-espoo-kela"}) {
    SCOPED_TRACE(command);
    auto run = Tori(command);
    EXPECT_EQ(run.exit_code, 0) << run.out;
    EXPECT_THAT(run.out, HasSubstr("left in place"));
  }
  EXPECT_EQ(Snapshot(data), before);
  // The next command that writes cuts it.
  auto project = Tori("project --data " + data.string());
  EXPECT_EQ(project.exit_code, 0) << project.out;
  EXPECT_THAT(project.out, HasSubstr("cut 5 bytes of torn tail"));
}

TEST_F(DataDirCliTest, AMistypedOrEmptyDataDirectoryIsRefusedNotCreated) {
  const std::string mistyped = (dir_ / "MISTYPED").string();
  const fs::path empty = dir_ / "empty";
  fs::create_directories(empty);
  for (const std::string& data : {mistyped, empty.string()}) {
    for (const std::string& command :
         {"verify --data " + data, "explain --data " + data + " --invoice 2026Q1-espoo-kela",
          "bill --data " + data + " --quarter 2026Q1 --dry-run --out " + OutDir("dry"),
          "bill --data " + data + " --quarter 2026Q1 --out " + OutDir("real"),
          "reconcile --data " + data + " --agency kela --quarter 2026Q1 " +
              (dir_ / "kela.csv").string(),
          "project --data " + data, "rebuild --data " + data}) {
      SCOPED_TRACE(command);
      auto run = Tori(command);
      EXPECT_EQ(run.exit_code, 1) << run.out;
      EXPECT_THAT(run.out, HasSubstr(data));
      EXPECT_THAT(run.out, HasSubstr("check --data"));
      EXPECT_THAT(run.out, Not(HasSubstr("0 OK")));
    }
  }
  EXPECT_FALSE(fs::exists(mistyped));
  EXPECT_TRUE(fs::is_empty(empty));
}

// The commands that only read, on a copy made read-only with chmod. Tests run as root,
// which permission bits do not stop, so the commands run as the unprivileged user
// `nobody` where setpriv can switch to it (then any write under the copy fails), and
// the copy's bytes and times are compared either way.
TEST_F(DataDirCliTest, ReadingCommandsWorkOnAReadOnlyCopyAndWriteNothing) {
  const fs::path data = IngestAndBill();
  // A state one step behind the log: the dry run catches up in a temporary copy.
  const fs::path lagging = dir_ / "lagging";
  fs::copy(data, lagging, fs::copy_options::recursive);
  fs::remove_all(lagging / "state");
  const std::string sample = fs::path(TORI_SOURCE_DIR) / "examples/sample.jsonl";
  ASSERT_EQ(Tori(fmt::format("ingest --data {} {}", (dir_ / "at283").string(), sample)).exit_code,
            0);
  fs::copy(dir_ / "at283/state", lagging / "state", fs::copy_options::recursive);
  std::ofstream(dir_ / "kela.csv") << "contact_id\nc-unknown\n";
  fs::permissions(dir_ / "kela.csv", fs::perms::all);

  const std::string setpriv = "setpriv --reuid=65534 --regid=65534 --clear-groups ";
  const bool can_drop_root =
      ::geteuid() == 0 && tori::testing::RunCommand(setpriv + "true").exit_code == 0;
  const std::string prefix = can_drop_root ? setpriv : "";
  for (const fs::path& copy : {data, lagging}) {
    SCOPED_TRACE(copy.string());
    fs::remove(copy / "log/LOCK");  // an archive may come without it
    ASSERT_EQ(tori::testing::RunCommand("chmod -R a-w,a+rX " + copy.string()).exit_code, 0);
    const auto before = Snapshot(copy);
    const std::string d = copy.string();
    struct Run {
      std::string args;
      int exit_code;
      std::string expected;
    } runs[] = {
        {"verify --data " + d, 0, "6 OK, 0 differ"},
        {"explain --data " + d + " --invoice 2026Q1-espoo-kela --line 1", 0, "line 1: iso-omena"},
        {"bill --data " + d + " --quarter 2026Q1 --dry-run --out " + OutDir("dry"), 0,
         "2026Q1-espoo-kela"},
        {"reconcile --data " + d + " --agency kela --quarter 2026Q1 --out " + OutDir("rec") +
             "/diff.csv " + (dir_ / "kela.csv").string(),
         1, "only_in_agency_file"}};
    for (const Run& run : runs) {
      SCOPED_TRACE(run.args);
      auto result =
          tori::testing::RunCommand(fmt::format("{}{} {}", prefix, TORI_BINARY, run.args));
      EXPECT_EQ(result.exit_code, run.exit_code) << result.out;
      EXPECT_THAT(result.out, HasSubstr(run.expected));
      EXPECT_THAT(result.out, Not(HasSubstr("ermission denied")));
    }
    EXPECT_EQ(Snapshot(copy), before);
    tori::testing::RunCommand("chmod -R u+w " + copy.string());
  }
}

}  // namespace
