// The state store: batched index lookups answer as single lookups do, wherever the
// keys lie against the stored ones, and commits of ids that follow the stored ones
// stay out of level 0.
#include "services/state/state_store.h"

#include <filesystem>
#include <fstream>
#include <map>
#include <random>

#include "fmt/format.h"
#include "rocksdb/db.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace tori {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

class StateStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           fmt::format("tori-state-test-{}-{}", ::getpid(),
                       ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  static LogPosition At(int64_t offset) { return LogPosition{{offset}}; }

  // Commits `entries` (a model of the index: the newest value per key) as one bulk
  // commit, like ingest and replays do.
  static void CommitBulk(StateStore& state, const std::map<std::string, std::string>& entries,
                         int64_t offset) {
    std::vector<KeyValueView> writes(entries.begin(), entries.end());
    ASSERT_TRUE(state.CommitBulk(writes, {}, At(offset)).ok());
  }

  fs::path dir_;
};

// Event-id-like keys: a kind byte and a decimal sequence number, as the generator's.
std::string EventKey(uint64_t n) { return fmt::format("Eg1-2026Q1-{}", n); }
std::string ContactKey(uint64_t n) { return fmt::format("C1-2026Q1-c{}", n); }

// Every file under `dir` with its bytes and modification time.
std::map<std::string, std::string> FilesUnder(const fs::path& dir) {
  std::map<std::string, std::string> files;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (!e.is_regular_file()) continue;
    std::ifstream in(e.path(), std::ios::binary);
    files[e.path().string()] =
        std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()) +
        fmt::format("@{}", e.last_write_time().time_since_epoch().count());
  }
  return files;
}

TEST_F(StateStoreTest, AReadOnlyOpenReadsAndWritesNothing) {
  {
    auto state = *StateStore::Open(dir_.string());
    ASSERT_TRUE(state->Commit({{"Ia", "1"}}, {{"Pb", "2"}}, At(7)).ok());
    ASSERT_TRUE(state->Flush().ok());
  }
  const auto before = FilesUnder(dir_);
  {
    auto state = StateStore::OpenReadOnly(dir_.string());
    ASSERT_TRUE(state.ok()) << state.status();
    EXPECT_EQ((*state)->applied(), At(7));
    EXPECT_EQ(*(*state)->Get("Ia"), "1");
    EXPECT_EQ(*(*state)->GetProjection("Pb"), "2");
    EXPECT_FALSE((*state)->Commit({{"Ic", "3"}}, {}, At(8)).ok());
  }
  EXPECT_EQ(FilesUnder(dir_), before);
  EXPECT_FALSE(StateStore::OpenReadOnly((dir_ / "missing").string()).ok());
  EXPECT_FALSE(fs::exists(dir_ / "missing"));
}

TEST_F(StateStoreTest, MultiGetAnswersAsGetDoesWhereverTheKeysLie) {
  constexpr uint64_t kSeeds = 20;
  for (uint64_t seed = 1; seed <= kSeeds; ++seed) {
    SCOPED_TRACE(fmt::format("seed {}", seed));
    fs::remove_all(dir_);
    auto state = *StateStore::Open(dir_.string());
    std::mt19937_64 random(seed);
    std::map<std::string, std::string> stored;
    // Several commits: runs of sequential ids, random ids among them, and the
    // occasional rewrite of an earlier key (a corrected contact).
    uint64_t next_id = 0;
    for (int commit = 0; commit < 6; ++commit) {
      std::map<std::string, std::string> step;
      const uint64_t run = 1 + random() % 3000;
      for (uint64_t i = 0; i < run; ++i, ++next_id) {
        step[EventKey(next_id)] = fmt::format("h{}", next_id);
        step[ContactKey(next_id)] = fmt::format("s{}", next_id);
      }
      for (int i = 0; i < 50; ++i) step[fmt::format("E{:016x}", random())] = "random";
      if (next_id > 0) step[ContactKey(random() % next_id)] = fmt::format("rewritten {}", commit);
      CommitBulk(*state, step, commit + 1);
      for (auto& [key, value] : step) stored[key] = value;
    }
    // And one small commit through the memtable.
    ASSERT_TRUE(state->Commit({{EventKey(next_id), "memtable"}}, {}, At(7)).ok());
    stored[EventKey(next_id++)] = "memtable";

    // Queries: stored keys, keys beyond every stored one, keys between them, random.
    std::map<std::string, bool> queries;
    for (int i = 0; i < 2000; ++i) {
      switch (random() % 4) {
        case 0: queries[EventKey(random() % next_id)] = true; break;
        case 1: queries[ContactKey(next_id + random() % 5000)] = true; break;
        case 2: queries[fmt::format("{}x", EventKey(random() % next_id))] = true; break;
        default: queries[fmt::format("E{:016x}", random())] = true; break;
      }
    }
    for (const auto& [key, _] : stored) {
      if (random() % 20 == 0) queries[key] = true;
    }
    std::vector<std::string> sorted_keys;
    for (const auto& [key, _] : queries) sorted_keys.push_back(key);
    auto values = state->MultiGet(sorted_keys);
    ASSERT_TRUE(values.ok()) << values.status();
    ASSERT_EQ(values->size(), sorted_keys.size());
    for (size_t i = 0; i < sorted_keys.size(); ++i) {
      auto it = stored.find(sorted_keys[i]);
      const std::optional<std::string> expected =
          it == stored.end() ? std::nullopt : std::optional<std::string>(it->second);
      ASSERT_EQ((*values)[i], expected) << sorted_keys[i];
      ASSERT_EQ(*state->Get(sorted_keys[i]), expected) << sorted_keys[i];
    }
  }
}

TEST_F(StateStoreTest, MultiGetOfKeysBeyondEveryStoredOneFindsNone) {
  auto state = *StateStore::Open(dir_.string());
  std::map<std::string, std::string> step;
  for (uint64_t n = 1000; n < 2000; ++n) step[EventKey(n)] = "h";
  CommitBulk(*state, step, 1);
  std::vector<std::string> sorted_keys;
  for (uint64_t n = 2000; n < 3000; ++n) sorted_keys.push_back(EventKey(n));
  std::sort(sorted_keys.begin(), sorted_keys.end());
  auto values = state->MultiGet(sorted_keys);
  ASSERT_TRUE(values.ok());
  for (const auto& value : *values) EXPECT_FALSE(value.has_value());
  // The last stored key and one beyond it.
  values = state->MultiGet({EventKey(1999), EventKey(1999) + "0"});
  ASSERT_TRUE(values.ok());
  EXPECT_EQ((*values)[0], "h");
  EXPECT_FALSE((*values)[1].has_value());
}

TEST_F(StateStoreTest, CommitsOfIdsThatFollowTheStoredOnesStayOutOfLevelZero) {
  // Each commit holds event ids and contact ids: one file spanning both kinds would
  // overlap every earlier file and land in level 0, which every lookup searches.
  auto state = *StateStore::Open(dir_.string());
  for (uint64_t commit = 0; commit < 8; ++commit) {
    std::map<std::string, std::string> step;
    // More event ids than contacts (corrections and voids have event ids too).
    const uint64_t first = 100000 * (commit + 1);
    for (uint64_t n = first; n < first + 41000; ++n) step[EventKey(n)] = "h";
    for (uint64_t n = first; n < first + 40000; ++n) step[ContactKey(n)] = "s";
    CommitBulk(*state, step, static_cast<int64_t>(commit) + 1);
    EXPECT_EQ(state->IndexFilesAtLevelZero(), 0u) << "after commit " << commit;
  }
}

// Damage: each is DataLoss that names what is damaged and says how to make the state
// anew (`tori rebuild --data DIR` for the state of --data DIR).
TEST_F(StateStoreTest, DamagedNamesTheFamilyTheEscapedKeyTheRuleAndTheRebuild) {
  auto state = *StateStore::Open((dir_ / "data/state").string());
  const absl::Status damaged =
      state->Damaged("projection", std::string("K\0iso\0\x01", 7), "24 bytes");
  EXPECT_TRUE(absl::IsDataLoss(damaged));
  EXPECT_THAT(std::string(damaged.message()), HasSubstr("projection record 'K\\0iso\\0\\x01'"));
  EXPECT_THAT(std::string(damaged.message()), HasSubstr("24 bytes"));
  EXPECT_THAT(std::string(damaged.message()),
              HasSubstr(fmt::format("tori rebuild --data {}`", (dir_ / "data").string())));
}

TEST_F(StateStoreTest, AStateThatLostAFileOpensAsDataLossSayingRebuild) {
  const std::string dir = (dir_ / "data/state").string();
  auto with_files = [&] {
    fs::remove_all(dir_);
    auto state = *StateStore::Open(dir);
    std::map<std::string, std::string> step = {{EventKey(1), "h"}, {ContactKey(1), "s"}};
    CommitBulk(*state, step, 1);
    ASSERT_TRUE(state->Flush().ok());
  };
  for (const std::string lost : {"CURRENT", "MANIFEST-", ".sst"}) {
    SCOPED_TRACE(lost);
    with_files();
    bool removed = false;
    for (const auto& entry : fs::directory_iterator(dir)) {
      const std::string name = entry.path().filename().string();
      if (!removed && (name == lost || (lost == "MANIFEST-" && name.starts_with(lost)) ||
                       (lost == ".sst" && name.ends_with(lost)))) {
        removed = fs::remove(entry.path());
      }
    }
    ASSERT_TRUE(removed);
    auto opened = StateStore::Open(dir);
    absl::Status status = opened.status();
    if (opened.ok()) {  // a lost table file may only show when it is read
      status = (*opened)->MultiGet({ContactKey(1), EventKey(1)}).status();
    }
    EXPECT_TRUE(absl::IsDataLoss(status)) << status;
    EXPECT_THAT(std::string(status.message()),
                HasSubstr(fmt::format("tori rebuild --data {}`", (dir_ / "data").string())));
  }
}

TEST_F(StateStoreTest, AnUnreadableAppliedPositionIsDataLoss) {
  const std::string dir = (dir_ / "data/state").string();
  {
    auto state = *StateStore::Open(dir);
    ASSERT_TRUE(state->Commit({}, {}, At(3)).ok());
    ASSERT_TRUE(state->Flush().ok());
  }
  {  // Overwritten behind the store's back (RocksDB directly).
    rocksdb::DB* db = nullptr;
    std::vector<rocksdb::ColumnFamilyDescriptor> families = {
        {rocksdb::kDefaultColumnFamilyName, {}}, {"index", {}}, {"projection", {}}};
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    ASSERT_TRUE(rocksdb::DB::Open({}, dir, families, &handles, &db).ok());
    ASSERT_TRUE(db->Put({}, handles[0], "applied_position", "p0:x").ok());
    for (auto* handle : handles) (void)db->DestroyColumnFamilyHandle(handle);
    delete db;
  }
  auto opened = StateStore::Open(dir);
  EXPECT_TRUE(absl::IsDataLoss(opened.status())) << opened.status();
  EXPECT_THAT(std::string(opened.status().message()), HasSubstr("meta record 'applied_position'"));
  EXPECT_THAT(std::string(opened.status().message()), HasSubstr("tori rebuild"));
}

TEST_F(StateStoreTest, VerifyChecksumsFindsAFlippedByteInATableFile) {
  const std::string dir = (dir_ / "data/state").string();
  {
    auto state = *StateStore::Open(dir);
    std::map<std::string, std::string> step;
    for (uint64_t n = 0; n < 1000; ++n) step[ContactKey(n)] = fmt::format("state {}", n);
    CommitBulk(*state, step, 1);
    ASSERT_TRUE(state->VerifyChecksums().ok());
  }
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.path().extension() != ".sst" || fs::file_size(entry.path()) < 4096) continue;
    std::fstream file(entry.path(), std::ios::in | std::ios::out | std::ios::binary);
    file.seekp(100);
    file.put('\x5a');
  }
  auto state = *StateStore::Open(dir);
  const absl::Status status = state->VerifyChecksums();
  EXPECT_TRUE(absl::IsDataLoss(status)) << status;
  EXPECT_THAT(std::string(status.message()), HasSubstr("tori rebuild"));
}

TEST_F(StateStoreTest, FirstDifferenceNamesTheFirstDifferingRecordAndSkipsEventIds) {
  auto a = *StateStore::Open((dir_ / "a").string());
  auto b = *StateStore::Open((dir_ / "b").string());
  ASSERT_TRUE(a->Commit({{"Ee1", "hash"}, {"Cc1", "s1"}}, {{"K\1", "x"}}, At(1)).ok());
  ASSERT_TRUE(b->Commit({{"Cc1", "s1"}}, {{"K\1", "x"}}, At(1)).ok());
  auto same = a->FirstDifference(*b);
  ASSERT_TRUE(same.ok());
  EXPECT_FALSE(same->has_value()) << **same;  // event ids are not compared
  ASSERT_TRUE(b->Commit({{"Cc1", "s2"}}, {{"K\2", "y"}}, At(2)).ok());
  auto differs = a->FirstDifference(*b);
  ASSERT_TRUE(differs.ok());
  ASSERT_TRUE(differs->has_value());
  EXPECT_THAT(**differs, HasSubstr("projection record 'K\\x02' is missing"));
  ASSERT_TRUE(a->Commit({}, {{"K\2", "y"}}, At(2)).ok());
  differs = a->FirstDifference(*b);
  ASSERT_TRUE(differs.ok() && differs->has_value());
  EXPECT_THAT(**differs, HasSubstr("index record 'Cc1' holds another value"));
}

}  // namespace
}  // namespace tori
