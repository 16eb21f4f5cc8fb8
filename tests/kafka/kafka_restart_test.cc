// The broker stops and starts again (ops/kafka/stop, ops/kafka/start) while a
// KafkaLog appends in a loop. Labels "kafka;slow".
//
// Each test runs its own single-node broker with the project's scripts
// (TORI_KAFKA_DIR=/tmp/tori-kafka-restart-<test>, TORI_KAFKA_PORT=19192 or 19202),
// not the shared one on $TORI_KAFKA_BROKERS: stopping that one would break the other
// Kafka tests ctest runs at the same time. The jars are copied from the shared
// broker's state dir when it has them (else ops/kafka/start fetches them).
//
// How duplicates are avoided:
// - within an Append, the idempotent producer retries with the same producer id and
//   sequence numbers, and the broker drops a retried batch it already has, also after
//   a restart: an Append that succeeds wrote each record exactly once
//   (AppendsSpanningARestartWriteEachRecordOnce);
// - an Append that fails may have written part of its batch; the caller runs it again
//   and tori's idempotency index (event_id) skips the events already in the log, so
//   the duplicates here are confined to the failed batches and nothing is lost
//   (FailedAppendsRetriedAfterARestartLoseNothing).
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <thread>

#include "events/log/kafka/kafka_log.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/kafka/test_support.h"

namespace tori::kafka_test {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

constexpr int64_t kBatchRecords = 2'000;
constexpr int kBatchesAfterRestart = 5;
constexpr int kAttemptsMax = 40;

class KafkaRestartTest : public ::testing::Test {
 protected:
  void StartOwnBroker(const std::string& name, int port) {
    dir_ = fs::path("/tmp") / ("tori-kafka-restart-" + name);
    port_ = port;
    fs::create_directories(dir_);
    const char* shared_env = std::getenv("TORI_KAFKA_DIR");
    const fs::path shared_lib =
        fs::path(shared_env != nullptr ? shared_env : "/tmp/tori-kafka") / "lib";
    if (!fs::exists(dir_ / "lib" / ".pom.sha256") && fs::exists(shared_lib / ".pom.sha256")) {
      fs::remove_all(dir_ / "lib");
      fs::copy(shared_lib, dir_ / "lib", fs::copy_options::recursive);
    }
    ASSERT_EQ(Script("start"), 0) << "could not start a broker on port " << port_ << ":\n"
                                  << ScriptLog();
  }
  void TearDown() override {
    if (!dir_.empty()) Script("stop");
  }

  // Runs ops/kafka/<name> for this test's broker; its output goes to scripts.log.
  int Script(const std::string& name) {
    const std::string command = fmt::format(
        "TORI_KAFKA_DIR='{}' TORI_KAFKA_PORT={} bash '{}/ops/kafka/{}' >>'{}/scripts.log' 2>&1",
        dir_.string(), port_, TORI_SOURCE_DIR, name, dir_.string());
    const int rc = std::system(command.c_str());
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
  }
  std::string ScriptLog() {
    std::ifstream in(dir_ / "scripts.log");
    return std::string(std::istreambuf_iterator<char>(in), {});
  }
  std::string Brokers() const { return fmt::format("127.0.0.1:{}", port_); }

  struct LoopResult {
    int batches = 0;
    std::vector<bool> first_try_ok;  // per batch
    std::vector<std::string> errors;
    bool gave_up = false;
  };

  // Appends batches of kBatchRecords until kBatchesAfterRestart batches after the
  // restart; a failed batch is appended again until it succeeds. Meanwhile this
  // thread stops the broker, waits `down_extra` and starts it again.
  LoopResult AppendThroughARestart(KafkaLog& log, std::chrono::seconds down_extra) {
    LoopResult result;
    std::atomic<int> batches_done{0};
    std::atomic<bool> restarted{false};
    std::thread appender([&] {
      int after_restart = 0;
      for (int b = 0; after_restart < kBatchesAfterRestart; ++b) {
        Batch batch(b * kBatchRecords, kBatchRecords);
        bool ok = false;
        for (int attempt = 0; attempt < kAttemptsMax && !ok; ++attempt) {
          auto end = log.Append(batch.records);
          ok = end.ok();
          if (!ok) {
            result.errors.push_back(std::string(end.status().message()));
            std::this_thread::sleep_for(std::chrono::milliseconds(300));
          } else if (attempt == 0) {
            result.first_try_ok.push_back(true);
          } else {
            result.first_try_ok.push_back(false);
          }
        }
        if (!ok) {
          result.gave_up = true;
          return;
        }
        result.batches = b + 1;
        ++batches_done;
        if (restarted) ++after_restart;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
    });
    while (batches_done < 3) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    const auto down = std::chrono::steady_clock::now();
    EXPECT_EQ(Script("stop"), 0) << ScriptLog();
    std::this_thread::sleep_for(down_extra);
    EXPECT_EQ(Script("start"), 0) << ScriptLog();
    std::cout << "broker down and up again in "
              << std::chrono::duration<double>(std::chrono::steady_clock::now() - down).count()
              << " s, during batch " << batches_done << "\n";
    restarted = true;
    appender.join();
    return result;
  }

  // Reads the whole topic with a new KafkaLog; returns how often each record is there
  // and checks the order of the records of batches that succeeded at once.
  std::vector<int> CountRecords(const std::string& topic, const LoopResult& result) {
    KafkaLogOptions options = LocalOptions(topic);
    options.brokers = Brokers();
    auto log = KafkaLog::Open(options);
    EXPECT_TRUE(log.ok()) << log.status();
    if (!log.ok()) return {};
    auto records = ReadAll(**log, Zeros(**log));
    EXPECT_TRUE(records.ok()) << records.status();
    if (!records.ok()) return {};
    std::vector<int> times(static_cast<size_t>(result.batches * kBatchRecords), 0);
    std::vector<int64_t> last(static_cast<size_t>((*log)->partition_count()), -1);
    for (const ReadRecord& r : *records) {
      const int64_t i = IndexOf(r.payload);
      EXPECT_TRUE(i >= 0 && i < static_cast<int64_t>(times.size())) << r.payload;
      if (i < 0 || i >= static_cast<int64_t>(times.size())) continue;
      ++times[static_cast<size_t>(i)];
      if (result.first_try_ok[static_cast<size_t>(i / kBatchRecords)]) {
        EXPECT_GT(i, last[static_cast<size_t>(r.partition)])
            << "order within partition " << r.partition;
        last[static_cast<size_t>(r.partition)] = i;
      }
    }
    return times;
  }

  fs::path dir_;
  int port_ = 0;
};

TEST_F(KafkaRestartTest, AppendsSpanningARestartWriteEachRecordOnce) {
  StartOwnBroker("spanning", 19192);
  const ScopedTopic topic("restart-spanning", Brokers());
  KafkaLogOptions options = LocalOptions(topic);
  options.brokers = Brokers();
  options.delivery_timeout = absl::Seconds(60);  // longer than the restart
  auto log = KafkaLog::Open(options);
  ASSERT_TRUE(log.ok()) << log.status();

  const LoopResult result = AppendThroughARestart(**log, std::chrono::seconds(0));
  ASSERT_FALSE(result.gave_up);
  EXPECT_THAT(result.errors, ::testing::IsEmpty()) << "an Append failed although its records "
                                                      "had 60 s to be delivered";
  const std::vector<int> times = CountRecords(options.topic, result);
  ASSERT_EQ(times.size(), static_cast<size_t>(result.batches * kBatchRecords));
  int64_t missing = 0, doubled = 0;
  for (int t : times) missing += t == 0, doubled += t > 1;
  EXPECT_EQ(missing, 0);
  EXPECT_EQ(doubled, 0) << "the idempotent producer must not double retried records";
}

TEST_F(KafkaRestartTest, FailedAppendsRetriedAfterARestartLoseNothing) {
  StartOwnBroker("failing", 19202);
  const ScopedTopic topic("restart-failing", Brokers());
  KafkaLogOptions options = LocalOptions(topic);
  options.brokers = Brokers();
  // Appends fail: queued records time out after 1 s; a request in flight when the
  // broker went away is given up after 1 s + 5 s (the broker is down for ~10 s).
  options.delivery_timeout = absl::Seconds(1);
  auto log = KafkaLog::Open(options);
  ASSERT_TRUE(log.ok()) << log.status();

  const LoopResult result = AppendThroughARestart(**log, std::chrono::seconds(5));
  ASSERT_FALSE(result.gave_up) << "a batch kept failing after the broker was back";
  ASSERT_FALSE(result.errors.empty()) << "no Append failed: the restart was quicker than 1 s?";
  std::cout << result.errors.size() << " failed Appends; the first said: " << result.errors[0]
            << "\n";
  for (const std::string& error : result.errors) {
    EXPECT_THAT(error,
                HasSubstr("appending 2000 records to the event log (Kafka topic " + options.topic));
    EXPECT_THAT(error, HasSubstr("running the same input again is safe"));
  }
  const std::vector<int> times = CountRecords(options.topic, result);
  ASSERT_EQ(times.size(), static_cast<size_t>(result.batches * kBatchRecords));
  int64_t missing = 0, doubled = 0, doubled_outside_failed_batches = 0;
  for (size_t i = 0; i < times.size(); ++i) {
    missing += times[i] == 0;
    doubled += times[i] > 1;
    if (times[i] > 1 && result.first_try_ok[i / kBatchRecords]) ++doubled_outside_failed_batches;
  }
  EXPECT_EQ(missing, 0) << "after the retries every record is in the log";
  EXPECT_EQ(doubled_outside_failed_batches, 0);
  std::cout << doubled
            << " records are in the log twice, all from failed batches written again "
               "(the caller's idempotency index skips them)\n";
}

}  // namespace
}  // namespace tori::kafka_test
