// Pins reading beside a writer (embedded_log.h, OpenReadOnly): a reader sees exactly
// the durable prefix the writer published when it opened, never an unsynced or
// half-written record, never mistakes an append in flight for damage, still reports
// damage below the durable end, and never changes a byte of the directory.
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <thread>

#include "events/log/embedded_log.h"
#include "fmt/format.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace tori {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

class EmbeddedLogReaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           fmt::format("tori-log-reader-test-{}-{}", ::getpid(),
                       ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  static std::string Payload(int i) { return fmt::format("event-{}-{}", i, std::string(i % 50, 'x')); }

  static std::vector<AppendRecord> Records(std::vector<std::string>& payloads, int from, int count) {
    payloads.clear();
    for (int i = from; i < from + count; ++i) payloads.push_back(Payload(i));
    std::vector<AppendRecord> records;
    for (const auto& p : payloads) records.push_back({"point", p});
    return records;
  }

  void Append(EventLog& log, int from, int count) {
    std::vector<std::string> payloads;
    auto end = log.Append(Records(payloads, from, count));
    ASSERT_TRUE(end.ok()) << end.status();
  }

  static absl::StatusOr<int> ReadAll(EventLog& log) {
    auto cursor = log.Read(LogPosition{{0}});
    if (!cursor.ok()) return cursor.status();
    LogRecord record;
    int count = 0;
    while (true) {
      auto more = (*cursor)->Next(record);
      if (!more.ok()) return more.status();
      if (!*more) break;
      if (record.offset != count || record.payload != Payload(count)) {
        return absl::InternalError(fmt::format("unexpected record at {}", record.offset));
      }
      ++count;
    }
    return count;
  }

  std::string LastSegment() const {
    std::string last;
    for (const auto& e : fs::directory_iterator(dir_)) {
      if (e.path().extension() == ".log" && e.path().string() > last) last = e.path().string();
    }
    return last;
  }

  // Every file's size and bytes.
  std::map<std::string, std::string> Snapshot() const {
    std::map<std::string, std::string> files;
    for (const auto& e : fs::directory_iterator(dir_)) {
      std::ifstream in(e.path(), std::ios::binary);
      files[e.path().filename().string()] = std::string(std::istreambuf_iterator<char>(in), {});
    }
    return files;
  }

  fs::path dir_;
};

TEST_F(EmbeddedLogReaderTest, ReadsTheDurablePrefixBesideAWriterAndNotWhatFollows) {
  auto writer = EmbeddedLog::Open(dir_);
  ASSERT_TRUE(writer.ok()) << writer.status();
  Append(**writer, 0, 10);
  auto reader = EmbeddedLog::OpenReadOnly(dir_.string());
  ASSERT_TRUE(reader.ok()) << reader.status();
  EXPECT_TRUE((*reader)->beside_writer());
  EXPECT_EQ((*reader)->End().next_offsets[0], 10);
  Append(**writer, 10, 5);
  EXPECT_EQ(*ReadAll(**reader), 10);
  auto later = EmbeddedLog::OpenReadOnly(dir_.string());
  ASSERT_TRUE(later.ok()) << later.status();
  EXPECT_EQ(*ReadAll(**later), 15);
}

TEST_F(EmbeddedLogReaderTest, UnsyncedRecordsAreNotReadUntilTheWriterSyncs) {
  auto writer = EmbeddedLog::Open(dir_);
  ASSERT_TRUE(writer.ok());
  Append(**writer, 0, 3);
  std::vector<std::string> payloads;
  ASSERT_TRUE((*writer)->AppendUnsynced(Records(payloads, 3, 4)).ok());
  auto before_sync = EmbeddedLog::OpenReadOnly(dir_.string());
  ASSERT_TRUE(before_sync.ok()) << before_sync.status();
  EXPECT_EQ((*before_sync)->End().next_offsets[0], 3);
  ASSERT_TRUE((*writer)->Sync().ok());
  auto after_sync = EmbeddedLog::OpenReadOnly(dir_.string());
  ASSERT_TRUE(after_sync.ok()) << after_sync.status();
  EXPECT_EQ(*ReadAll(**after_sync), 7);
}

TEST_F(EmbeddedLogReaderTest, ARecordBeingAppendedIsNotDamage) {
  auto writer = EmbeddedLog::Open(dir_);
  ASSERT_TRUE(writer.ok());
  Append(**writer, 0, 5);
  // What a reader can see of an append in flight: a header whose payload has not
  // arrived, then bytes that are no record at all (a page written out of order).
  // Without a writer the second would be corruption.
  {
    std::ofstream out(LastSegment(), std::ios::binary | std::ios::app);
    out << std::string("\x40\x00\x00\x00\x05\x00\x00\x00\x00\x00\x00\x00", 12) << "garbage, not zeros";
  }
  const auto before = Snapshot();
  auto reader = EmbeddedLog::OpenReadOnly(dir_.string());
  ASSERT_TRUE(reader.ok()) << reader.status();
  EXPECT_EQ(*ReadAll(**reader), 5);
  EXPECT_EQ(Snapshot(), before);  // nothing cut, nothing written
}

TEST_F(EmbeddedLogReaderTest, DamageBelowTheDurableEndIsStillDataLoss) {
  auto writer = EmbeddedLog::Open(dir_);
  ASSERT_TRUE(writer.ok());
  Append(**writer, 0, 5);
  {
    std::fstream f(LastSegment(), std::ios::binary | std::ios::in | std::ios::out);
    f.seekp(8 + 20 + 3);  // inside the first record's payload
    f.put('#');
  }
  auto reader = EmbeddedLog::OpenReadOnly(dir_.string());
  ASSERT_FALSE(reader.ok());
  EXPECT_EQ(reader.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(reader.status().message(), HasSubstr("checksum mismatch"));
}

TEST_F(EmbeddedLogReaderTest, ASegmentCutBelowTheDurableEndIsDataLoss) {
  auto writer = EmbeddedLog::Open(dir_);
  ASSERT_TRUE(writer.ok());
  Append(**writer, 0, 5);
  fs::resize_file(LastSegment(), fs::file_size(LastSegment()) - 3);
  auto reader = EmbeddedLog::OpenReadOnly(dir_.string());
  ASSERT_FALSE(reader.ok());
  EXPECT_EQ(reader.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(reader.status().message(), HasSubstr("synced"));
}

TEST_F(EmbeddedLogReaderTest, FollowsNewSegmentsOnlyOnceListedAndPublished) {
  auto writer = EmbeddedLog::Open(dir_, {.segment_bytes_target = 300});
  ASSERT_TRUE(writer.ok());
  for (int i = 0; i < 40; i += 4) Append(**writer, i, 4);
  auto reader = EmbeddedLog::OpenReadOnly(dir_.string());
  ASSERT_TRUE(reader.ok()) << reader.status();
  EXPECT_EQ(*ReadAll(**reader), 40);
  // A segment the writer is starting (file there, not yet listed) is not looked at.
  const auto next = fs::path(dir_) / fmt::format("{:020d}.log", 999);
  { std::ofstream(next, std::ios::binary) << "TORI"; }
  auto again = EmbeddedLog::OpenReadOnly(dir_.string());
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(*ReadAll(**again), 40);
  fs::remove(next);
  for (int i = 40; i < 80; i += 4) Append(**writer, i, 4);
  EXPECT_EQ(*ReadAll(**reader), 40);
  auto third = EmbeddedLog::OpenReadOnly(dir_.string());
  ASSERT_TRUE(third.ok()) << third.status();
  EXPECT_EQ(*ReadAll(**third), 80);
}

TEST_F(EmbeddedLogReaderTest, ASecondWriterIsRefusedNamingWhatStillRuns) {
  auto writer = EmbeddedLog::Open(dir_);
  ASSERT_TRUE(writer.ok());
  auto second = EmbeddedLog::Open(dir_);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(second.status().message(), HasSubstr("one writer at a time"));
  EXPECT_THAT(second.status().message(), HasSubstr("run beside it"));
  EXPECT_THAT(second.status().message(), HasSubstr("/v1/checkpoint"));
}

TEST_F(EmbeddedLogReaderTest, AReaderWaitsForAWriterInRecoveryToPublish) {
  {
    auto writer = EmbeddedLog::Open(dir_);
    ASSERT_TRUE(writer.ok());
    Append(**writer, 0, 3);
  }
  // A writer that holds the lock but has not published (DURABLE emptied at its open).
  const int fd = ::open((dir_ / "LOCK").c_str(), O_RDWR);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::flock(fd, LOCK_EX), 0);
  fs::resize_file(dir_ / "DURABLE", 0);
  std::thread publisher([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    ::close(fd);  // the writer went away: the reader then finds the end itself
  });
  auto reader = EmbeddedLog::OpenReadOnly(dir_.string());
  publisher.join();
  ASSERT_TRUE(reader.ok()) << reader.status();
  EXPECT_EQ(*ReadAll(**reader), 3);
}

}  // namespace
}  // namespace tori
