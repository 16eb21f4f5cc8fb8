// Pins the embedded log's promises: what was appended reads back in order, a torn
// tail is cut at every possible byte, and corruption anywhere else is reported with
// the segment and byte offset, never skipped.
#include "events/log/embedded_log.h"

#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <thread>

#include "fmt/format.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace tori {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

class EmbeddedLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           fmt::format("tori-log-test-{}-{}", ::getpid(),
                       ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  static std::string Payload(int i) { return fmt::format("event-{}-{}", i, std::string(i % 50, 'x')); }

  void AppendPayloads(EventLog& log, int from, int count) {
    std::vector<std::string> payloads;
    for (int i = from; i < from + count; ++i) payloads.push_back(Payload(i));
    std::vector<AppendRecord> records;
    for (const auto& p : payloads) records.push_back({"point", p});
    auto end = log.Append(records);
    ASSERT_TRUE(end.ok()) << end.status();
    EXPECT_EQ(end->next_offsets[0], from + count);
  }

  // Reads everything, checking payloads; returns the count or the error.
  static absl::StatusOr<int> ReadAll(EventLog& log, int64_t from = 0) {
    auto cursor = log.Read(LogPosition{{from}});
    if (!cursor.ok()) return cursor.status();
    LogRecord record;
    int count = 0;
    while (true) {
      auto more = (*cursor)->Next(record);
      if (!more.ok()) return more.status();
      if (!*more) break;
      if (record.offset != from + count || record.payload != Payload(static_cast<int>(record.offset))) {
        return absl::InternalError(fmt::format("unexpected record at {}", record.offset));
      }
      ++count;
    }
    return count;
  }

  std::string OnlySegment() const {
    std::vector<std::string> logs;
    for (const auto& e : fs::directory_iterator(dir_)) {
      if (e.path().extension() == ".log") logs.push_back(e.path().string());
    }
    EXPECT_EQ(logs.size(), 1u);
    return logs.empty() ? "" : logs[0];
  }

  fs::path dir_;
};

TEST_F(EmbeddedLogTest, ReadsBackWhatWasAppendedAcrossReopens) {
  {
    auto log = EmbeddedLog::Open(dir_);
    ASSERT_TRUE(log.ok()) << log.status();
    AppendPayloads(**log, 0, 100);
    AppendPayloads(**log, 100, 1);
  }
  auto log = EmbeddedLog::Open(dir_);
  ASSERT_TRUE(log.ok());
  EXPECT_EQ((*log)->End().next_offsets[0], 101);
  EXPECT_EQ((*log)->recovery_note(), "");
  AppendPayloads(**log, 101, 5);
  EXPECT_EQ(*ReadAll(**log), 106);
  EXPECT_EQ(*ReadAll(**log, 100), 6);
}

TEST_F(EmbeddedLogTest, RollsSegmentsAndReadsFromAnyPosition) {
  auto log = EmbeddedLog::Open(dir_, {.segment_bytes_target = 1000});
  ASSERT_TRUE(log.ok());
  for (int batch = 0; batch < 20; ++batch) AppendPayloads(**log, batch * 10, 10);
  int segments = 0;
  for (const auto& e : fs::directory_iterator(dir_)) segments += e.path().extension() == ".log";
  EXPECT_GT(segments, 5);
  for (int from : {0, 1, 57, 150, 199, 200}) EXPECT_EQ(*ReadAll(**log, from), 200 - from) << from;
}

TEST_F(EmbeddedLogTest, UnsyncedAppendsAcrossSegmentsWithSyncsBesideThemReadBack) {
  // Ingest appends unsynced and syncs on another thread; segments roll meanwhile
  // (the segment let go is synced first).
  {
    auto log = *EmbeddedLog::Open(dir_.string(), EmbeddedLogOptions{.segment_bytes_target = 2000});
    std::atomic<bool> done = false;
    std::atomic<int> syncs = 0;
    std::thread syncer([&] {
      while (!done) {
        EXPECT_TRUE(log->Sync().ok());
        ++syncs;
      }
    });
    std::vector<std::string> payloads;
    for (int i = 0; i < 300; ++i) payloads.push_back(Payload(i));
    for (int i = 0; i < 300; i += 10) {
      std::vector<AppendRecord> records;
      for (int j = i; j < i + 10; ++j) records.push_back({"point", payloads[j]});
      auto end = log->AppendUnsynced(records);
      ASSERT_TRUE(end.ok()) << end.status();
      EXPECT_EQ(end->next_offsets[0], i + 10);
    }
    done = true;
    syncer.join();
    EXPECT_GT(syncs.load(), 0);
    ASSERT_TRUE(log->Sync().ok());
    EXPECT_EQ(*ReadAll(*log), 300);
  }
  auto reopened = *EmbeddedLog::Open(dir_.string());
  EXPECT_EQ(*ReadAll(*reopened), 300);
  EXPECT_EQ(reopened->recovery_note(), "");
  EXPECT_GT(std::distance(fs::directory_iterator(dir_), fs::directory_iterator()), 3);
}

TEST_F(EmbeddedLogTest, CutsTornTailAtEveryByteOfTheLastRecord) {
  uintmax_t size_before_last, size_full;
  {
    auto log = EmbeddedLog::Open(dir_);
    AppendPayloads(**log, 0, 9);
    size_before_last = fs::file_size(OnlySegment());
    AppendPayloads(**log, 9, 1);
    size_full = fs::file_size(OnlySegment());
  }
  const std::string segment = OnlySegment();
  const std::string backup = segment + ".full";
  fs::copy_file(segment, backup);
  for (uintmax_t cut = size_before_last; cut < size_full; ++cut) {
    SCOPED_TRACE(cut);
    fs::copy_file(backup, segment, fs::copy_options::overwrite_existing);
    fs::resize_file(segment, cut);
    auto log = EmbeddedLog::Open(dir_);
    ASSERT_TRUE(log.ok()) << log.status();
    EXPECT_EQ((*log)->End().next_offsets[0], 9);
    EXPECT_EQ(*ReadAll(**log), 9);
    if (cut > size_before_last) {
      EXPECT_THAT((*log)->recovery_note(), HasSubstr("torn tail"));
    }
    // The log goes on from there.
    AppendPayloads(**log, 9, 1);
    EXPECT_EQ(*ReadAll(**log), 10);
  }
}

TEST_F(EmbeddedLogTest, ZerosAfterACrashAreATornTail) {
  {
    auto log = EmbeddedLog::Open(dir_);
    AppendPayloads(**log, 0, 3);
  }
  std::ofstream(OnlySegment(), std::ios::app | std::ios::binary) << std::string(4096, '\0');
  auto log = EmbeddedLog::Open(dir_);
  ASSERT_TRUE(log.ok()) << log.status();
  EXPECT_EQ(*ReadAll(**log), 3);
}

TEST_F(EmbeddedLogTest, ReportsAFlippedByteInTheMiddleWithItsOffset) {
  {
    auto log = EmbeddedLog::Open(dir_);
    AppendPayloads(**log, 0, 20);
  }
  const std::string segment = OnlySegment();
  const std::string backup = segment + ".full";
  fs::copy_file(segment, backup);
  const uintmax_t size = fs::file_size(segment);
  std::mt19937_64 rng(42);
  for (int trial = 0; trial < 40; ++trial) {
    // Any byte of the first half: header or payload of a record that is not the last.
    const uintmax_t at = 8 + rng() % (size / 2 - 8);
    SCOPED_TRACE(at);
    fs::copy_file(backup, segment, fs::copy_options::overwrite_existing);
    {
      std::fstream f(segment, std::ios::in | std::ios::out | std::ios::binary);
      f.seekg(static_cast<std::streamoff>(at));
      char c;
      f.get(c);
      f.seekp(static_cast<std::streamoff>(at));
      f.put(static_cast<char>(c ^ 0x10));
    }
    auto log = EmbeddedLog::Open(dir_);
    ASSERT_FALSE(log.ok());
    EXPECT_EQ(log.status().code(), absl::StatusCode::kDataLoss);
    EXPECT_THAT(log.status().message(), HasSubstr("byte offset"));
    EXPECT_THAT(log.status().message(), HasSubstr(segment));
  }
}

TEST_F(EmbeddedLogTest, AChangedByteInTheLastRecordIsCorruptionNotATornTail) {
  {
    auto log = EmbeddedLog::Open(dir_);
    AppendPayloads(**log, 0, 5);
  }
  const std::string segment = OnlySegment();
  const auto size = fs::file_size(segment);
  {
    std::fstream f(segment, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(size - 3));
    f.put('?');
  }
  auto log = EmbeddedLog::Open(dir_);
  ASSERT_FALSE(log.ok());
  EXPECT_EQ(log.status().code(), absl::StatusCode::kDataLoss);
}

TEST_F(EmbeddedLogTest, ReportsCorruptionInAnEarlierSegmentWhenRead) {
  auto log = EmbeddedLog::Open(dir_, {.segment_bytes_target = 500});
  for (int batch = 0; batch < 10; ++batch) AppendPayloads(**log, batch * 10, 10);
  const fs::path first = dir_ / fmt::format("{:020d}.log", 0);
  {
    std::fstream f(first, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(40);
    f.put('!');
  }
  auto count = ReadAll(**log);
  ASSERT_FALSE(count.ok());
  EXPECT_EQ(count.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(count.status().message(), HasSubstr(first.string()));
}

TEST_F(EmbeddedLogTest, RefusesASecondWriter) {
  auto first = EmbeddedLog::Open(dir_);
  ASSERT_TRUE(first.ok());
  auto second = EmbeddedLog::Open(dir_);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), absl::StatusCode::kFailedPrecondition);
}

class EmbeddedLogGapTest : public EmbeddedLogTest {
 protected:
  // 100 records, several segments; the segments' first offsets.
  std::vector<int64_t> WriteSegments() {
    auto log = EmbeddedLog::Open(dir_, {.segment_bytes_target = 500});
    EXPECT_TRUE(log.ok());
    for (int batch = 0; batch < 10; ++batch) AppendPayloads(**log, batch * 10, 10);
    std::vector<int64_t> firsts;
    for (const auto& e : fs::directory_iterator(dir_)) {
      if (e.path().extension() == ".log") firsts.push_back(std::stoll(e.path().stem().string()));
    }
    std::sort(firsts.begin(), firsts.end());
    EXPECT_GE(firsts.size(), 4u);
    return firsts;
  }
  fs::path Segment(int64_t first) const { return dir_ / fmt::format("{:020d}.log", first); }
};

TEST_F(EmbeddedLogGapTest, ARemovedFirstSegmentIsDataLossNamingTheMissingOffsets) {
  const std::vector<int64_t> firsts = WriteSegments();
  fs::remove(Segment(0));
  for (bool read_only : {false, true}) {
    auto log = read_only ? EmbeddedLog::OpenReadOnly(dir_) : EmbeddedLog::Open(dir_);
    ASSERT_FALSE(log.ok());
    EXPECT_EQ(log.status().code(), absl::StatusCode::kDataLoss);
    EXPECT_THAT(log.status().message(),
                HasSubstr(fmt::format("00000000000000000000.log (offsets 0..{})", firsts[1] - 1)));
    EXPECT_THAT(log.status().message(),
                HasSubstr("restore the missing segment files from a backup"));
  }
  // Also without the manifest: the log starts at offset 0.
  fs::remove(dir_ / "MANIFEST");
  auto log = EmbeddedLog::Open(dir_);
  ASSERT_FALSE(log.ok());
  EXPECT_EQ(log.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(log.status().message(),
              HasSubstr(fmt::format("offsets 0..{} are missing", firsts[1] - 1)));
}

TEST_F(EmbeddedLogGapTest, ARemovedMiddleSegmentIsDataLossNamingTheMissingOffsets) {
  const std::vector<int64_t> firsts = WriteSegments();
  fs::remove(Segment(firsts[2]));
  for (bool read_only : {false, true}) {
    auto log = read_only ? EmbeddedLog::OpenReadOnly(dir_) : EmbeddedLog::Open(dir_);
    ASSERT_FALSE(log.ok());
    EXPECT_EQ(log.status().code(), absl::StatusCode::kDataLoss);
    EXPECT_THAT(log.status().message(),
                HasSubstr(fmt::format("{:020d}.log (offsets {}..{})", firsts[2], firsts[2],
                                      firsts[3] - 1)));
  }
}

TEST_F(EmbeddedLogGapTest, ARemovedLastSegmentIsDataLossNotANewEnd) {
  const std::vector<int64_t> firsts = WriteSegments();
  fs::remove(Segment(firsts.back()));
  auto log = EmbeddedLog::Open(dir_);
  ASSERT_FALSE(log.ok());
  EXPECT_EQ(log.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(log.status().message(),
              HasSubstr(fmt::format("(offsets {} and after", firsts.back())));
  // Nothing was appended or written over: the same files are still missing.
  EXPECT_FALSE(fs::exists(Segment(firsts.back())));
}

TEST_F(EmbeddedLogGapTest, ALogWhoseSegmentsAreAllRemovedIsNotStartedAgain) {
  WriteSegments();
  for (const auto& e : fs::directory_iterator(dir_)) {
    if (e.path().extension() == ".log") fs::remove(e.path());
  }
  auto log = EmbeddedLog::Open(dir_);
  ASSERT_FALSE(log.ok());
  EXPECT_EQ(log.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_FALSE(fs::exists(Segment(0)));
}

TEST_F(EmbeddedLogGapTest, AGapInALogWithoutManifestIsFoundWhenRead) {
  // A log written before manifests: Open lists what it finds; every cursor checks each
  // segment boundary.
  const std::vector<int64_t> firsts = WriteSegments();
  fs::remove(dir_ / "MANIFEST");
  fs::remove(Segment(firsts[1]));
  auto log = EmbeddedLog::Open(dir_);
  ASSERT_TRUE(log.ok()) << log.status();
  auto count = ReadAll(**log);
  ASSERT_FALSE(count.ok());
  EXPECT_EQ(count.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(count.status().message(),
              HasSubstr(fmt::format("offsets {}..{} are missing", firsts[1], firsts[2] - 1)));
}

TEST_F(EmbeddedLogGapTest, ACrashBeforeANewSegmentWasListedLosesNothing) {
  const std::vector<int64_t> firsts = WriteSegments();
  // The manifest as it was before the last segment was started.
  std::string manifest = "tori event log manifest v1\n";
  for (size_t i = 0; i + 1 < firsts.size(); ++i) {
    manifest += fmt::format("{:020d}.log\n", firsts[i]);
  }
  std::ofstream(dir_ / "MANIFEST", std::ios::trunc) << manifest;
  {
    auto log = EmbeddedLog::Open(dir_);
    ASSERT_TRUE(log.ok()) << log.status();
    EXPECT_EQ(*ReadAll(**log), 100);
  }
  // Open listed it: removing it now is noticed.
  fs::remove(Segment(firsts.back()));
  EXPECT_EQ(EmbeddedLog::Open(dir_).status().code(), absl::StatusCode::kDataLoss);
}

// Every file of a directory with its bytes, for "writes nothing" checks.
std::map<std::string, std::string> Snapshot(const fs::path& dir) {
  std::map<std::string, std::string> files;
  for (const auto& e : fs::directory_iterator(dir)) {
    std::ifstream in(e.path(), std::ios::binary);
    files[e.path().filename().string()] =
        std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  return files;
}

TEST_F(EmbeddedLogTest, ReadOnlyLeavesATornTailInPlaceAndReadsStopBeforeIt) {
  uintmax_t size_before_last;
  {
    auto log = EmbeddedLog::Open(dir_);
    AppendPayloads(**log, 0, 9);
    size_before_last = fs::file_size(OnlySegment());
    AppendPayloads(**log, 9, 1);
  }
  fs::resize_file(OnlySegment(), size_before_last + 7);
  fs::remove(dir_ / "LOCK");
  const auto before = Snapshot(dir_);
  {
    auto log = EmbeddedLog::OpenReadOnly(dir_);
    ASSERT_TRUE(log.ok()) << log.status();
    EXPECT_EQ((*log)->End().next_offsets[0], 9);
    EXPECT_EQ(*ReadAll(**log), 9);
    EXPECT_THAT((*log)->recovery_note(), HasSubstr("left in place"));
    std::vector<AppendRecord> records = {{"point", "x"}};
    EXPECT_EQ((*log)->Append(records).status().code(), absl::StatusCode::kFailedPrecondition);
  }
  EXPECT_EQ(Snapshot(dir_), before);  // no lock file, no cut, no manifest
  // A writer cuts it.
  auto log = EmbeddedLog::Open(dir_);
  ASSERT_TRUE(log.ok());
  EXPECT_EQ(fs::file_size(OnlySegment()), size_before_last);
}

TEST_F(EmbeddedLogTest, ReadersShareTheLockAndNeitherExcludesAWriter) {
  {
    auto log = EmbeddedLog::Open(dir_);
    AppendPayloads(**log, 0, 3);
  }
  auto first = EmbeddedLog::OpenReadOnly(dir_);
  auto second = EmbeddedLog::OpenReadOnly(dir_);
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_FALSE((*first)->beside_writer());
  EXPECT_EQ(*ReadAll(**second), 3);
  // Readers hold the lock only while they find the end: a writer opens beside them.
  auto writer = EmbeddedLog::Open(dir_);
  ASSERT_TRUE(writer.ok()) << writer.status();
  AppendPayloads(**writer, 3, 2);
  EXPECT_EQ(*ReadAll(**first), 3);  // what it found when it opened
}

TEST_F(EmbeddedLogTest, ReadOnlyOfADirectoryWithoutLogIsNotFound) {
  EXPECT_EQ(EmbeddedLog::OpenReadOnly(dir_).status().code(), absl::StatusCode::kNotFound);
  EXPECT_FALSE(fs::exists(dir_));
  fs::create_directories(dir_);
  EXPECT_EQ(EmbeddedLog::OpenReadOnly(dir_).status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(fs::is_empty(dir_));
}

TEST(LogPosition, RoundTripsThroughText) {
  const LogPosition position{{12, 0, 7}};
  EXPECT_EQ(position.ToString(), "p0:12,p1:0,p2:7");
  EXPECT_EQ(*LogPosition::Parse(position.ToString()), position);
  EXPECT_EQ(*LogPosition::Parse("42"), LogPosition{{42}});
  EXPECT_FALSE(LogPosition::Parse("p1:3").ok());
  EXPECT_FALSE(LogPosition::Parse("x").ok());
}

TEST(LogPosition, CoversPositionsNoPartitionOfWhichIsAhead) {
  const LogPosition at{{5, 3}};
  EXPECT_TRUE(at.Covers(at));
  EXPECT_TRUE(at.Covers(LogPosition{{5, 0}}));
  EXPECT_TRUE(at.Covers(LogPosition{{0, 3}}));
  EXPECT_FALSE(at.Covers(LogPosition{{6, 0}}));  // one partition ahead is enough
  EXPECT_FALSE(at.Covers(LogPosition{{0, 4}}));
  EXPECT_FALSE(at.Covers(LogPosition{{5, 3, 0}}));  // another log's partitions
  EXPECT_FALSE(at.Covers(LogPosition{{5}}));
  EXPECT_TRUE(at.Covers(LogPosition{}));  // a new state's: nothing applied
  EXPECT_TRUE(LogPosition{}.Covers(LogPosition{}));
  EXPECT_FALSE(LogPosition{}.Covers(LogPosition{{0, 0}}));
}

TEST(LogPosition, ContainsTheRecordsBeforeIt) {
  const LogPosition at{{5, 0}};
  EXPECT_TRUE(at.Contains(0, 0));
  EXPECT_TRUE(at.Contains(0, 4));
  EXPECT_FALSE(at.Contains(0, 5));
  EXPECT_FALSE(at.Contains(1, 0));
  EXPECT_FALSE(at.Contains(2, 0));  // no such partition
  EXPECT_FALSE(at.Contains(-1, 0));
}

}  // namespace
}  // namespace tori
