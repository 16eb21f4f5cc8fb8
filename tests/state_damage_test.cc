// A damaged state never bills other figures and never crashes (issue #14, item 2):
// the `tori` binary on the shipped sample, with one stored record of each kind
// overwritten (garbage, wrong size, cut short, a key with too few parts) or one of
// RocksDB's files removed. Every command either gives what it gives on the undamaged
// state, or exits 1 with DataLoss naming the record and saying `tori rebuild --data
// DIR`; the commands that read the record must fail, and `tori verify` always does.
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <utility>
#include <vector>
#include <string>

#include "fmt/format.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "rocksdb/db.h"
#include "services/projector/projector.h"
#include "services/state/state_store.h"
#include "tests/run_command.h"

namespace tori {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using tori::testing::CommandResult;

// The commands of a finance officer, an agency controller and an auditor; the one
// that writes (issues 2026Q2) last, so that the others see the state as prepared.
const std::vector<std::pair<std::string, std::string>> kCommands = {
    {"bill-dry", "bill --data {data} --quarter 2026Q2 --out {dir}/dry --dry-run"},
    {"explain", "explain --data {data} --invoice 2026Q1-espoo-kela"},
    {"reconcile", "reconcile --data {data} --agency kela --quarter 2026Q1 {dir}/kela.csv"},
    {"ingest", "ingest --data {data} {dir}/sample.jsonl"},
    {"verify", "verify --data {data}"},
    {"bill", "bill --data {data} --quarter 2026Q2 --out {dir}/real"},
};

std::string Command(const std::string& name) {
  for (const auto& [command_name, command] : kCommands) {
    if (command_name == name) return command;
  }
  return "";
}

CommandResult Tori(const std::string& command, const fs::path& dir) {
  const std::string args = fmt::format(fmt::runtime(command), fmt::arg("data", (dir / "data").string()),
                                       fmt::arg("dir", dir.string()));
  return tori::testing::RunCommand(fmt::format("{} {}", TORI_BINARY, args));
}

// Output that does not depend on where the state lies or how long a run took.
std::string Normalized(std::string out, const fs::path& dir) {
  for (size_t at; (at = out.find(dir.string())) != std::string::npos;) {
    out.replace(at, dir.string().size(), "DIR");
  }
  return std::regex_replace(out, std::regex(R"(in [0-9.]+ s)"), "in T s");
}

std::string ReadAll(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

class StateDamageTest : public ::testing::Test {
 protected:
  // One prepared data directory for all tests: the sample ingested, 2026Q1 issued.
  static void SetUpTestSuite() {
    prepared_ = fs::temp_directory_path() / fmt::format("tori-state-damage-{}", ::getpid());
    fs::remove_all(prepared_);
    fs::create_directories(prepared_);
    fs::copy_file(fs::path(TORI_SOURCE_DIR) / "examples/sample.jsonl", prepared_ / "sample.jsonl");
    std::ofstream(prepared_ / "kela.csv") << "contact_id\nnot-a-contact\n";
    ASSERT_EQ(Tori(Command("ingest"), prepared_).exit_code, 0);
    ASSERT_EQ(Tori("bill --data {data} --quarter 2026Q1 --out {dir}/q1", prepared_).exit_code, 0);
  }
  static void TearDownTestSuite() { fs::remove_all(prepared_); }

  void SetUp() override {
    baseline_ = Copy("baseline");
    dir_ = Copy("damaged");
  }
  void TearDown() override {
    fs::remove_all(baseline_);
    fs::remove_all(dir_);
  }
  // Both copies anew, for the next case of a test.
  void Reset() {
    TearDown();
    SetUp();
  }

  fs::path Copy(const std::string& name) {
    const fs::path to = fs::temp_directory_path() /
                        fmt::format("tori-state-damage-{}-{}-{}", ::getpid(),
                                    ::testing::UnitTest::GetInstance()->current_test_info()->name(),
                                    name);
    fs::remove_all(to);
    fs::copy(prepared_, to, fs::copy_options::recursive);
    return to;
  }

  // The first stored key of `family` ("projection" or "index") that starts with
  // `prefix`, and its value.
  std::pair<std::string, std::string> FirstWithPrefix(const std::string& family,
                                                      const std::string& prefix) {
    auto state = *StateStore::Open((dir_ / "data/state").string());
    std::pair<std::string, std::string> found;
    auto take = [&](std::string_view key, std::string_view value) {
      found = {std::string(key), std::string(value)};
      return false;
    };
    EXPECT_TRUE((family == "index" ? state->ScanIndex(prefix, take) : state->ScanProjection(prefix, take)).ok());
    EXPECT_FALSE(found.first.empty()) << "no " << family << " key starts with " << EscapedKey(prefix);
    return found;
  }

  // Overwrites one record behind tori's back (RocksDB directly, at the same position).
  void Overwrite(const std::string& family, const std::string& key, const std::string& value) {
    rocksdb::DB* db = nullptr;
    std::vector<rocksdb::ColumnFamilyDescriptor> families = {
        {rocksdb::kDefaultColumnFamilyName, {}}, {"index", {}}, {"projection", {}}};
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    ASSERT_TRUE(rocksdb::DB::Open({}, (dir_ / "data/state").string(), families, &handles, &db).ok());
    const size_t family_index = family == "meta" ? 0 : family == "index" ? 1 : 2;
    ASSERT_TRUE(db->Put({}, handles[family_index], key, value).ok());
    ASSERT_TRUE(db->Flush({}, handles).ok());
    for (auto* handle : handles) (void)db->DestroyColumnFamilyHandle(handle);
    delete db;
  }

  // Runs every command on the damaged and the undamaged state: each gives the same as
  // on the undamaged one, or exits 1 naming `named` and `tori rebuild --data DIR`;
  // those in `must_fail` must fail.
  void ExpectSameFiguresOrTheWayOut(const std::string& named, const std::set<std::string>& must_fail) {
    const std::string advice = fmt::format("tori rebuild --data {}`", (dir_ / "data").string());
    for (const auto& [name, command] : kCommands) {
      SCOPED_TRACE(name);
      const CommandResult damaged = Tori(command, dir_);
      const CommandResult fine = Tori(command, baseline_);
      if (damaged.exit_code == 1 && damaged.out.find(advice) != std::string::npos) {
        EXPECT_THAT(damaged.out, HasSubstr(named));
        continue;
      }
      EXPECT_EQ(must_fail.count(name), 0u) << damaged.out;
      EXPECT_EQ(damaged.exit_code, fine.exit_code) << damaged.out;
      EXPECT_EQ(Normalized(damaged.out, dir_), Normalized(fine.out, baseline_));
      if (name == "bill-dry") {
        EXPECT_EQ(ReadAll(dir_ / "dry/invoices.json"), ReadAll(baseline_ / "dry/invoices.json"));
      }
    }
  }

  static fs::path prepared_;
  fs::path baseline_, dir_;
};

fs::path StateDamageTest::prepared_;

const std::set<std::string> kBilling = {"bill-dry", "bill", "verify"};

struct RecordDamage {
  const char* what;
  const char* family;
  const char* prefix;  // of the first key damaged
  enum { kGarbage, kWrongSize, kCut, kFlip } how;
  std::set<std::string> must_fail;
};

TEST_F(StateDamageTest, EachKindOfRecordDamagedIsTheWayOutNeverOtherFigures) {
  const std::vector<RecordDamage> cases = {
      {"cost", "projection", "C", RecordDamage::kGarbage, kBilling},
      {"contact counters", "projection", "K", RecordDamage::kWrongSize, kBilling},
      {"booked minutes", "projection", "B", RecordDamage::kCut, kBilling},
      {"agency", "projection", "A", RecordDamage::kCut, {"bill-dry", "verify"}},
      {"point", "projection", "P", RecordDamage::kGarbage, {"bill-dry", "verify"}},
      {"space", "projection", "S", RecordDamage::kCut, {"bill-dry", "verify"}},
      {"agreement", "projection", "G", RecordDamage::kFlip, {"bill-dry", "verify"}},
      {"issued invoice", "projection", "I", RecordDamage::kCut, {"bill-dry", "explain", "verify"}},
      {"issued claim", "projection", "L", RecordDamage::kGarbage, {"bill-dry", "verify"}},
      {"contact state", "index", "C", RecordDamage::kGarbage, {"reconcile", "verify"}},
      {"event id", "index", "E", RecordDamage::kWrongSize, {"ingest"}},
      {"point entry", "index", "P", RecordDamage::kCut, {"verify"}},
  };
  for (const RecordDamage& c : cases) {
    SCOPED_TRACE(c.what);
    Reset();
    auto [key, value] = FirstWithPrefix(c.family, c.prefix);
    switch (c.how) {
      case RecordDamage::kGarbage: value = "\xff\xff\xff garbage"; break;
      case RecordDamage::kWrongSize: value.push_back('\0'); break;
      case RecordDamage::kCut: value.resize(value.size() / 2); break;
      case RecordDamage::kFlip: value[value.size() / 2] ^= 0x10; break;
    }
    Overwrite(c.family, key, value);
    ExpectSameFiguresOrTheWayOut(EscapedKey(key), c.must_fail);
  }
}

TEST_F(StateDamageTest, AKeyWithTooFewPartsIsTheWayOut) {
  namespace p = projection;
  const auto [counter_key, _] = FirstWithPrefix("projection", "K");
  const auto parts = p::SplitKey(counter_key);  // point, quarter, agency, code
  const std::string key = p::Key(p::kContacts, {parts[0], parts[1], parts[2]});
  Overwrite("projection", key, p::Seal(key, p::EncodeCounts({1000, 0, 0})));
  ExpectSameFiguresOrTheWayOut(EscapedKey(key), {"bill-dry", "bill", "verify"});
}

TEST_F(StateDamageTest, AnUnreadableAppliedPositionOrHashChainIsTheWayOut) {
  Overwrite("meta", "applied_position", "p0:garbage");
  ExpectSameFiguresOrTheWayOut("applied_position", {"bill-dry", "bill", "explain", "reconcile",
                                                    "ingest", "verify"});
  Reset();
  Overwrite("meta", "hash_chain", "p0:12:not hex");
  ExpectSameFiguresOrTheWayOut("hash_chain", {});
}

TEST_F(StateDamageTest, ARealRunOverADamagedCostIssuesNothing) {
  // The issue's run: a quarter not yet issued, one cost record overwritten.
  fs::remove_all(dir_ / "data");
  ASSERT_EQ(Tori(Command("ingest"), dir_).exit_code, 0);
  const fs::path log_file = dir_ / "data/log/00000000000000000000.log";
  const uintmax_t log_bytes_before = fs::file_size(log_file);
  const auto [key, value] = FirstWithPrefix("projection", "C");
  Overwrite("projection", key, value.substr(0, value.size() - 6));
  const CommandResult run = Tori("bill --data {data} --quarter 2026Q1 --out {dir}/out", dir_);
  EXPECT_EQ(run.exit_code, 1) << run.out;
  EXPECT_THAT(run.out, HasSubstr(EscapedKey(key)));
  EXPECT_THAT(run.out, HasSubstr("tori rebuild --data"));
  EXPECT_FALSE(fs::exists(dir_ / "out/invoices.json"));
  EXPECT_EQ(fs::file_size(log_file), log_bytes_before);  // nothing issued
}

TEST_F(StateDamageTest, ALostStateFileIsTheWayOutAndRebuildMakesTheStateAnew) {
  for (const std::string lost : {"CURRENT", "MANIFEST-", ".sst"}) {
    SCOPED_TRACE(lost);
    Reset();
    std::vector<fs::path> files;
    for (const auto& entry : fs::directory_iterator(dir_ / "data/state")) {
      const std::string name = entry.path().filename().string();
      if (name == lost || (lost != "CURRENT" && (name.starts_with(lost) || name.ends_with(lost)))) {
        files.push_back(entry.path());
      }
    }
    ASSERT_FALSE(files.empty());
    fs::remove(files.front());
    const std::string advice = fmt::format("tori rebuild --data {}`", (dir_ / "data").string());
    for (const auto& [name, command] : kCommands) {
      SCOPED_TRACE(name);
      const CommandResult run = Tori(command, dir_);
      EXPECT_EQ(run.exit_code, 1) << run.out;
      EXPECT_THAT(run.out, HasSubstr(advice));
    }
    const CommandResult rebuild = Tori("rebuild --data {data}", dir_);
    EXPECT_EQ(rebuild.exit_code, 0) << rebuild.out;
    const CommandResult verify = Tori(Command("verify"), dir_);
    EXPECT_EQ(verify.exit_code, 0) << verify.out;
    EXPECT_THAT(verify.out, HasSubstr("live state OK"));
  }
}

TEST_F(StateDamageTest, VerifyReportsALiveCounterThatDisagreesWithTheReplay) {
  namespace p = projection;
  const auto [key, value] = FirstWithPrefix("projection", "K");
  auto state = StateStore::Open((dir_ / "data/state").string());
  ASSERT_TRUE(state.ok());
  auto counts = p::ReadCounts(**state, key, value);
  ASSERT_TRUE(counts.ok()) << counts.status();
  state->reset();
  counts->contacts += 5;  // sealed and well formed: checksums pass, the figures do not
  Overwrite("projection", key, p::Seal(key, p::EncodeCounts(*counts)));
  const CommandResult verify = Tori(Command("verify"), dir_);
  EXPECT_EQ(verify.exit_code, 1) << verify.out;
  EXPECT_THAT(verify.out, HasSubstr("live state DAMAGED"));
  EXPECT_THAT(verify.out, HasSubstr(EscapedKey(key)));
  EXPECT_THAT(verify.out, HasSubstr("tori rebuild --data"));
  EXPECT_EQ(Tori("rebuild --data {data}", dir_).exit_code, 0);
  EXPECT_EQ(Tori(Command("verify"), dir_).exit_code, 0);
}

}  // namespace
}  // namespace tori
