// Damage must never become a wrong invoice (issue #14): a generated quarter is
// ingested into the embedded log (in small segments) and billed; then, round after
// round, a copy of its data directory is damaged as a failing disk or a careless
// operator would, and `tori bill --dry-run`, `tori verify` and `tori explain` run on
// it. Each must either give what it gives on the undamaged copy (the same
// invoices.json bytes, the same report) or exit 1 with a message that names the way
// out (`tori rebuild` for the state, which is derived; restoring the log, which is the
// source of truth). Never other figures with exit 0, never a crash.
//
// Damage, one per round, chosen by the round's seed:
//   - a state value (RocksDB, any column family, a key kind chosen first so that rare
//     kinds are hit too) overwritten with random bytes, with the value one byte
//     shorter or longer, or with the well-formed value of another key of its kind;
//   - one segment file of the log removed (first, middle or last).
// Every failure names the round's seed and the damage. Environment:
//   TORI_DAMAGE_SEED    the quarter's seed (default 14); round r uses seed*1000+r
//   TORI_DAMAGE_ROUNDS  rounds (default 16; 8 under sanitizers, where tori runs slower)
//   TORI_DAMAGE_ROUND   run this round only (to reproduce a failure)
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <random>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "fmt/format.h"
#include "gtest/gtest.h"
#include "rocksdb/db.h"

namespace {

namespace fs = std::filesystem;

constexpr int kPoints = 3;
constexpr int kContactsPerQuarter = 1500;  // two quarters: about 320 KB of log
constexpr uint64_t kSegmentBytes = 24 << 10;
constexpr int kLinesPerIngest = 300;  // about 30 KB: a segment each
// The issued quarter (its re-billing, verify and explain replay the log) and the one
// billed only as a dry run, from the live state (with the issued one recomputed for
// adjustments from it too).
constexpr const char* kIssuedQuarter = "2026Q1";
constexpr const char* kOpenQuarter = "2026Q2";

int EnvInt(const char* name, int otherwise) {
  const char* text = std::getenv(name);
  return text != nullptr && *text != '\0' ? std::atoi(text) : otherwise;
}

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

struct ToriRun {
  int exit_code;  // -1: killed by a signal or could not run
  std::string out;
  std::string err;
};

// `tori ARGS` with stdout and stderr apart (stderr through a file in `scratch`).
ToriRun Tori(const std::string& args, const fs::path& scratch) {
  const fs::path err_file = scratch / "stderr.txt";
  ToriRun run{-1, "", ""};
  const std::string command = fmt::format("{} {} 2>{}", TORI_BINARY, args, err_file.string());
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return run;
  std::array<char, 4096> chunk;
  size_t n;
  while ((n = std::fread(chunk.data(), 1, chunk.size(), pipe)) > 0) run.out.append(chunk.data(), n);
  const int status = ::pclose(pipe);
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  run.err = ReadFile(err_file);
  return run;
}

// What the commands print on an undamaged copy, normalised where they print times.
std::string WithoutTimes(std::string text) {
  static const std::regex kSeconds(R"(in [0-9]+(\.[0-9]+)? s\b)");
  return std::regex_replace(text, kSeconds, "in T s");
}

struct Outputs {
  ToriRun bill, verify, explain;
  std::string invoices_json;
};

class DamageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / fmt::format("tori-damage-test-{}", ::getpid());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    // Small segments, so that removing one removes a part of the quarter.
    ::setenv("TORI_LOG_SEGMENT_BYTES", std::to_string(kSegmentBytes).c_str(), 1);
  }
  void TearDown() override {
    if (!HasFailure()) fs::remove_all(dir_);
  }

  Outputs RunCommands(const fs::path& data, const std::string& invoice_id) {
    Outputs outputs;
    const fs::path out = data.parent_path() / "out";
    fs::remove_all(out);
    outputs.bill = Tori(fmt::format("bill --data {} --quarter {} --out {} --dry-run", data.string(),
                                    kOpenQuarter, out.string()),
                        dir_);
    outputs.invoices_json = ReadFile(out / "draft-invoices.json");
    outputs.verify = Tori(fmt::format("verify --data {}", data.string()), dir_);
    outputs.verify.out = WithoutTimes(outputs.verify.out);
    outputs.explain = Tori(fmt::format("explain --data {} --invoice {}", data.string(), invoice_id), dir_);
    return outputs;
  }

  fs::path dir_;
};

// A crash, a sanitizer's report or a failed assertion, in anything a command printed.
bool Crashed(const ToriRun& run) {
  if (run.exit_code < 0 || run.exit_code > 2) return true;
  for (const char* sign : {"Sanitizer", "runtime error:", "terminate called", "Assertion",
                           "invariant violated", "Aborted", "Segmentation fault"}) {
    if (run.err.find(sign) != std::string::npos || run.out.find(sign) != std::string::npos) return true;
  }
  return false;
}

// The way out of damage: the state is derived (`tori rebuild`); the log is the source
// of truth (restore it from a backup).
bool NamesTheWayOut(const std::string& message) {
  return message.find("tori rebuild") != std::string::npos ||
         message.find("restore") != std::string::npos;
}

// Checks one command's run on damaged data against the undamaged run.
void ExpectSameOrWayOut(const std::string& command, const ToriRun& damaged, bool same_output) {
  SCOPED_TRACE(command);
  EXPECT_FALSE(Crashed(damaged)) << "crashed (exit " << damaged.exit_code << "):\n"
                                 << damaged.err << damaged.out;
  if (damaged.exit_code == 0) {
    EXPECT_TRUE(same_output) << "exit 0 with other figures than on the undamaged data:\n"
                             << damaged.out.substr(0, 2000) << damaged.err;
  } else {
    EXPECT_EQ(damaged.exit_code, 1) << damaged.err;
    EXPECT_TRUE(NamesTheWayOut(damaged.err))
        << "an error that does not name the way out (tori rebuild, or restoring the log):\n"
        << damaged.err;
  }
}

// Damages a random state value of the RocksDB under `state_dir`; says what it did.
std::string DamageState(const fs::path& state_dir, std::mt19937_64& rng) {
  rocksdb::Options options;
  std::vector<std::string> names;
  rocksdb::Status s = rocksdb::DB::ListColumnFamilies(options, state_dir.string(), &names);
  if (!s.ok()) return "cannot list column families: " + s.ToString();
  std::vector<rocksdb::ColumnFamilyDescriptor> families;
  for (const auto& name : names) families.push_back({name, rocksdb::ColumnFamilyOptions()});
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  s = rocksdb::DB::Open(options, state_dir.string(), families, &handles, &raw);
  if (!s.ok()) return "cannot open the state: " + s.ToString();
  std::unique_ptr<rocksdb::DB> db(raw);

  // Keys by family and kind (first byte), so that each kind is as likely as any.
  std::vector<std::pair<size_t, std::vector<std::string>>> kinds;  // family, keys
  for (size_t f = 0; f < handles.size(); ++f) {
    std::map<char, std::vector<std::string>> by_kind;
    std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions(), handles[f]));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      const std::string key = it->key().ToString();
      by_kind[key.empty() ? '\0' : key[0]].push_back(key);
    }
    for (auto& [kind, keys] : by_kind) kinds.push_back({f, std::move(keys)});
  }
  std::string what = "state has no keys";
  if (!kinds.empty()) {
    const auto& [family, keys] = kinds[rng() % kinds.size()];
    const std::string& key = keys[rng() % keys.size()];
    std::string value;
    (void)db->Get(rocksdb::ReadOptions(), handles[family], key, &value);
    std::string damaged;
    switch (rng() % 3) {
      case 0: {
        damaged.resize(1 + rng() % 40);
        for (char& c : damaged) c = static_cast<char>(rng());
        what = "random bytes";
        break;
      }
      case 1:
        damaged = value.empty() || rng() % 2 == 0 ? value + '\x01' : value.substr(0, value.size() - 1);
        what = damaged.size() > value.size() ? "a byte longer" : "a byte shorter";
        break;
      default: {
        std::string other_key = keys[rng() % keys.size()];
        (void)db->Get(rocksdb::ReadOptions(), handles[family], other_key, &damaged);
        what = "the value of " + other_key;
        if (damaged == value) what += " (the same bytes: no damage)";
      }
    }
    s = db->Put(rocksdb::WriteOptions(), handles[family], key, damaged);
    if (s.ok()) s = db->Flush(rocksdb::FlushOptions(), handles);
    what = fmt::format("state {}/'{}' ({} bytes) overwritten with {} ({} bytes){}", names[family],
                       key, value.size(), what, damaged.size(), s.ok() ? "" : ": " + s.ToString());
  }
  for (auto* handle : handles) (void)db->DestroyColumnFamilyHandle(handle);
  return what;
}

// Removes a random segment of the embedded log under `log_dir`; says which.
std::string RemoveSegment(const fs::path& log_dir, std::mt19937_64& rng) {
  std::vector<fs::path> segments;
  for (const auto& entry : fs::directory_iterator(log_dir)) {
    if (entry.path().extension() == ".log") segments.push_back(entry.path());
  }
  std::sort(segments.begin(), segments.end());
  const size_t index = rng() % segments.size();
  fs::remove(segments[index]);
  return fmt::format("removed log segment {} ({} of {})", segments[index].filename().string(),
                     index + 1, segments.size());
}

TEST_F(DamageTest, DamagedDataGivesTheSameFiguresOrAnErrorThatNamesTheWayOut) {
  const int seed = EnvInt("TORI_DAMAGE_SEED", 14);
  const int rounds = EnvInt("TORI_DAMAGE_ROUNDS", TORI_DAMAGE_ROUNDS_DEFAULT);
  const int only_round = EnvInt("TORI_DAMAGE_ROUND", -1);
  SCOPED_TRACE(fmt::format("TORI_DAMAGE_SEED={}", seed));

  const fs::path events = dir_ / "quarters.jsonl";
  const fs::path base = dir_ / "base" / "data";
  ToriRun run = Tori(fmt::format("generate --seed {} --points {} --contacts {} --quarter {} --out {}", seed,
                                 kPoints, kContactsPerQuarter, kIssuedQuarter, events.string()),
                     dir_);
  ASSERT_EQ(run.exit_code, 0) << run.err;
  run = Tori(fmt::format("generate --seed {} --points {} --contacts {} --quarter {} --no-reference-data",
                         seed, kPoints, kContactsPerQuarter, kOpenQuarter),
             dir_);
  ASSERT_EQ(run.exit_code, 0) << run.err;
  std::ofstream(events, std::ios::app) << run.out;
  // Ingest appends a file in batches of tens of thousands of lines, and segments roll
  // over between appends: so the quarters go in as many small files.
  std::ifstream lines(events);
  std::string line;
  for (int part = 0; lines.peek() != EOF; ++part) {
    const fs::path part_file = dir_ / fmt::format("part-{}.jsonl", part);
    std::ofstream out(part_file);
    for (int i = 0; i < kLinesPerIngest && std::getline(lines, line); ++i) out << line << '\n';
    out.close();
    run = Tori(fmt::format("ingest --data {} {}", base.string(), part_file.string()), dir_);
    ASSERT_EQ(run.exit_code, 0) << run.err;
  }
  run = Tori(fmt::format("bill --data {} --quarter {} --out {}", base.string(), kIssuedQuarter,
                         (dir_ / "issued").string()),
             dir_);
  ASSERT_EQ(run.exit_code, 0) << run.err;
  size_t segments = 0;
  for (const auto& entry : fs::directory_iterator(base / "log")) segments += entry.path().extension() == ".log";
  ASSERT_GE(segments, 8u) << "too few segments for removing one to matter";

  // What the commands give undamaged; the first invoice is the one explained.
  const std::string issued = ReadFile(dir_ / "issued" / "invoices.json");
  const std::smatch first = [&] {
    std::smatch m;
    std::regex_search(issued, m, std::regex(R"re("invoice_id": ?"([^"]+)")re"));
    return m;
  }();
  ASSERT_FALSE(first.empty()) << "no invoice issued";
  const std::string invoice_id = first[1];
  const Outputs reference = RunCommands(base, invoice_id);
  ASSERT_EQ(reference.bill.exit_code, 0) << reference.bill.err;
  ASSERT_EQ(reference.verify.exit_code, 0) << reference.verify.err;
  ASSERT_EQ(reference.explain.exit_code, 0) << reference.explain.err;
  ASSERT_NE(reference.invoices_json.find("\"invoice_id\""), std::string::npos) << reference.bill.out;

  for (int round = 0; round < rounds; ++round) {
    if (only_round >= 0 && round != only_round) continue;
    std::mt19937_64 rng(static_cast<uint64_t>(seed) * 1000 + static_cast<uint64_t>(round));
    const fs::path data = dir_ / fmt::format("round-{}", round) / "data";
    fs::create_directories(data.parent_path());
    fs::copy(base, data, fs::copy_options::recursive);
    const std::string damage =
        rng() % 4 == 0 ? RemoveSegment(data / "log", rng) : DamageState(data / "state", rng);
    SCOPED_TRACE(fmt::format("round {} (TORI_DAMAGE_ROUND={}): {}", round, round, damage));

    const Outputs damaged = RunCommands(data, invoice_id);
    const bool same_bill = damaged.invoices_json == reference.invoices_json;
    const bool same_verify = damaged.verify.out == reference.verify.out;
    const bool same_explain = damaged.explain.out == reference.explain.out;
    ExpectSameOrWayOut("tori bill --dry-run", damaged.bill, same_bill);
    ExpectSameOrWayOut("tori verify", damaged.verify, same_verify);
    ExpectSameOrWayOut("tori explain", damaged.explain, same_explain);
    // One line per round, failed or not: what the damage did to each command.
    const auto outcome = [](const ToriRun& run, bool same) {
      return run.exit_code == 0 ? (same ? "same" : "OTHER") : fmt::format("exit {}", run.exit_code);
    };
    fmt::print("round {:2}: bill {:7} verify {:7} explain {:7} {}\n", round,
               outcome(damaged.bill, same_bill), outcome(damaged.verify, same_verify),
               outcome(damaged.explain, same_explain), damage);
    if (!HasFailure()) fs::remove_all(data.parent_path());
  }
}

}  // namespace
