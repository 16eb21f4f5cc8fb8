// The tree over an embedded log: leaves are the records in offset order, catch-ups
// read only new records, issued documents are found, and a crash before HEAD is cut.
#include "events/merkle/log_tree.h"

#include <unistd.h>

#include <filesystem>

#include "events/codec/codec.h"
#include "events/log/embedded_log.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace tori::merkle {
namespace {

class LogTreeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ::testing::TempDir() + "/log-tree-" + std::to_string(::getpid()) + "-" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::filesystem::remove_all(dir_);
    log_ = EmbeddedLog::Open(dir_ + "/log").value();
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  void Append(int count) {
    std::vector<std::string> payloads;
    for (int i = 0; i < count; ++i) payloads.push_back("payload " + std::to_string(records_.size() + i));
    std::vector<AppendRecord> batch;
    for (const auto& p : payloads) batch.push_back({"", p});
    ASSERT_TRUE(log_->Append(batch).ok());
    records_.insert(records_.end(), payloads.begin(), payloads.end());
  }
  void AppendInvoice(const std::string& id) {
    events::Event event;
    event.set_event_id("tori-issued:" + id);
    event.mutable_invoice_issued()->set_invoice_id(id);
    std::string payload;
    ASSERT_TRUE(event.SerializeToString(&payload));
    ASSERT_TRUE(log_->Append({{AppendRecord{"", payload}}}).ok());
    records_.push_back(payload);
  }
  Hash ExpectedRoot(size_t n) {
    MemoryHashStore store;
    auto tree = MerkleTree::Open(&store).value();
    for (size_t i = 0; i < n; ++i) tree->AppendRecord(records_[i]);
    return tree->Root();
  }

  std::string dir_;
  std::unique_ptr<EmbeddedLog> log_;
  std::vector<std::string> records_;
};

TEST_F(LogTreeTest, CatchUpHashesOnlyTheNewRecordsAndFindsIssuedDocuments) {
  Append(1000);
  AppendInvoice("2026Q1-espoo-kela");
  {
    auto trees = LogTrees::Open(dir_ + "/merkle", 1, false).value();
    EXPECT_EQ(trees->CatchUp(*log_).value(), 1001);
    EXPECT_EQ(trees->partition(0).tree().Root(), ExpectedRoot(1001));
    EXPECT_EQ(trees->CatchUp(*log_).value(), 0);
  }
  Append(300);
  auto trees = LogTrees::Open(dir_ + "/merkle", 1, false).value();
  EXPECT_EQ(trees->partition(0).size(), 1001);
  EXPECT_EQ(trees->CatchUp(*log_).value(), 300);
  EXPECT_EQ(trees->partition(0).tree().Root(), ExpectedRoot(1301));
  auto found = trees->FindDocument("2026Q1-espoo-kela");
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->second.leaf_index, 1000);
  EXPECT_EQ(found->second.offset, 1000);
  EXPECT_FALSE(trees->FindDocument("2026Q1-espoo-tax").has_value());
  // A second writer is kept out; readers are not.
  EXPECT_EQ(LogTrees::Open(dir_ + "/merkle", 1, false).status().code(), absl::StatusCode::kFailedPrecondition);
  auto reader = LogTrees::Open(dir_ + "/merkle", 1, true).value();
  EXPECT_EQ(reader->partition(0).tree().Root(), ExpectedRoot(1301));
}

TEST_F(LogTreeTest, ATreeAheadOfItsHeadIsCutBackAndCaughtUpAgain) {
  Append(600);
  AppendInvoice("late");
  {
    auto trees = LogTrees::Open(dir_ + "/merkle", 1, false).value();
    ASSERT_TRUE(trees->CatchUp(*log_).ok());
  }
  // A crash after the tree's flush and before HEAD: HEAD says 500 leaves.
  {
    std::FILE* f = std::fopen((dir_ + "/merkle/p0/HEAD").c_str(), "w");
    std::fputs("tori-merkle-head 1\nleaves 500\nnext_offset 500\n", f);
    std::fclose(f);
  }
  auto trees = LogTrees::Open(dir_ + "/merkle", 1, false).value();
  EXPECT_EQ(trees->partition(0).size(), 500);
  EXPECT_FALSE(trees->FindDocument("late").has_value());
  EXPECT_EQ(trees->CatchUp(*log_).value(), 101);
  EXPECT_EQ(trees->partition(0).tree().Root(), ExpectedRoot(601));
  EXPECT_TRUE(trees->FindDocument("late").has_value());
}

TEST_F(LogTreeTest, ADamagedHeadIsDataLossNamingTheWayOut) {
  Append(10);
  {
    auto trees = LogTrees::Open(dir_ + "/merkle", 1, false).value();
    ASSERT_TRUE(trees->CatchUp(*log_).ok());
  }
  {
    std::FILE* f = std::fopen((dir_ + "/merkle/p0/HEAD").c_str(), "w");
    std::fputs("tori-merkle-head 1\nleaves 20\nnext_offset 20\n", f);
    std::fclose(f);
  }
  auto trees = LogTrees::Open(dir_ + "/merkle", 1, true);
  EXPECT_EQ(trees.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(trees.status().message(), ::testing::HasSubstr("tori checkpoint` rebuilds"));
}

}  // namespace
}  // namespace tori::merkle
