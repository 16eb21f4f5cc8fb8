// Who may open a data directory while `tori serve` runs (ARCHITECTURE.md, "The
// service"), with real processes: the commands that only read run beside serve and
// print what they print with serve stopped; a writing command is refused, saying what
// to do; a reader that opens while serve appends a large post (across many segments)
// never reports damage and sees a durable prefix; and POST /v1/checkpoint signs the
// checkpoint that GET /v1/invoices/{id}/proof then answers with, byte for byte what
// `tori proof --invoice` writes.
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <regex>
#include <thread>

#include "events/base/sha256.h"
#include "events/log/embedded_log.h"
#include "fmt/format.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/server/test_client.h"
#include "tests/run_command.h"
#include "tests/serve_process.h"

namespace tori {
namespace {

namespace fs = std::filesystem;
using server::testing::Fetch;
using ::testing::HasSubstr;
using testing::ReadFile;
using testing::Serve;

struct Output {
  int exit_code;
  std::string out, err;
};

class ServeBesideTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ::testing::TempDir() + fmt::format("/serve-beside-{}", ::getpid());
    fs::remove_all(dir_);
    ASSERT_EQ(std::system(fmt::format("{} demo --dir {} >/dev/null 2>&1", TORI_BINARY, dir_).c_str()), 0);
    data_ = dir_ + "/data";
    // The demo's own count, so that the expectations below follow the demo's data.
    std::smatch m;
    const std::string status = Tori("status --data " + data_).out;
    ASSERT_TRUE(std::regex_search(status, m, std::regex(R"(log +([0-9]+) events)"))) << status;
    demo_events_ = std::stoll(m[1]);
    host_token_ = std::string(64, 'e');
    std::ofstream(dir_ + "/grants.jsonl") << fmt::format(
        "{{\"token_id\":\"espoo-fin\",\"token_sha256\":\"{}\",\"role\":\"host\",\"name\":\"Espoo\","
        "\"agency_id\":\"espoo\"}}\n"
        "{{\"token_id\":\"kela1\",\"token_sha256\":\"{}\",\"role\":\"agency\",\"name\":\"Kela\","
        "\"agency_id\":\"kela\"}}\n",
        Sha256Hex(host_token_), Sha256Hex(std::string(64, 'k')));
  }
  void TearDown() override { fs::remove_all(dir_); }

  // `tori ARGS`, stdout and stderr apart.
  Output Tori(const std::string& args) {
    const std::string out = dir_ + "/cmd.out";
    const int status =
        std::system(fmt::format("{} {} >{} 2>{}.err", TORI_BINARY, args, out, out).c_str());
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, ReadFile(out), ReadFile(out + ".err")};
  }

  // The readers' outputs, with the seconds they took left out.
  std::map<std::string, std::string> ReaderOutputs() {
    const std::string dry_run_dir = dir_ + "/dry-run";
    fs::remove_all(dry_run_dir);
    std::map<std::string, std::string> outputs;
    const std::vector<std::pair<std::string, std::string>> commands = {
        {"verify", "verify --data " + data_},
        {"verify --json", "verify --json --data " + data_},
        {"bill --dry-run", fmt::format("bill --data {} --quarter 2026Q1 --dry-run --out {}", data_, dry_run_dir)},
        {"explain", "explain --data " + data_ + " --invoice 2026Q1-espoo-kela --line 1"},
        {"explain --json", "explain --json --data " + data_ + " --invoice 2026Q1-espoo-kela"},
        {"status", "status --data " + data_},
        {"access list", "access list --data " + data_},
    };
    for (const auto& [name, args] : commands) {
      const Output run = Tori(args);
      EXPECT_EQ(run.exit_code, 0) << name << ": " << run.out << run.err;
      EXPECT_THAT(run.err, ::testing::Not(HasSubstr("corrupt"))) << name;
      outputs[name] = WithoutSeconds(run.out);
    }
    for (const auto& entry : fs::directory_iterator(dry_run_dir)) {
      outputs["file " + entry.path().filename().string()] = ReadFile(entry.path().string());
    }
    return outputs;
  }

  std::unique_ptr<Serve> StartServe(std::vector<std::string> more = {}) {
    std::vector<std::string> args = {"--data", data_, "--listen", "127.0.0.1:0", "--grants", dir_ + "/grants.jsonl"};
    args.insert(args.end(), more.begin(), more.end());
    auto serve = std::make_unique<Serve>(args, dir_ + "/serve.out");
    EXPECT_NE(serve->port(), 0) << ReadFile(dir_ + "/serve.out.err");
    return serve;
  }

  // `count` new contacts (2026Q2, not billed), event ids from `first`.
  static std::string Contacts(int first, int count) {
    std::string body;
    for (int i = first; i < first + count; ++i) {
      body += fmt::format(
          "{{\"event_id\":\"beside-{0}\",\"type\":\"contact_recorded\",\"occurred_at\":\"2026-04-02T08:01:51+03:00\","
          "\"contact_id\":\"beside-c-{0}\",\"service_point_id\":\"iso-omena\",\"agency_id\":\"tyollisyys\","
          "\"service_code\":\"TYO-ILMOITTAUTUMINEN\",\"channel\":\"in_person\",\"handled_by\":\"agency_staff\","
          "\"duration_s\":695}}\n",
          i);
    }
    return body;
  }

  // What a reader prints without the seconds it took.
  static std::string WithoutSeconds(const std::string& text) {
    static const std::regex seconds(R"([0-9]+\.[0-9]+ s\b|"duration_s":[0-9.]+|"seconds":[0-9.]+)");
    return std::regex_replace(text, seconds, "#");
  }

  std::string dir_, data_, host_token_;
  int64_t demo_events_ = 0;
};

TEST_F(ServeBesideTest, ReadersBesideServePrintWhatTheyPrintWithServeStopped) {
  const auto stopped = ReaderOutputs();
  auto serve = StartServe();
  const auto beside = ReaderOutputs();
  EXPECT_EQ(beside, stopped);
  // Nothing of serve's changed: it still answers, and the directory is still its own.
  EXPECT_EQ(Fetch(serve->port(), "GET", "/v1/invoices/2026Q1-espoo-kela", host_token_).status, 200);
  const auto err = Tori("verify --data " + data_).err;
  EXPECT_THAT(err, HasSubstr("is being written by another tori process"));
  EXPECT_EQ(serve->Stop(), 0);
}

TEST_F(ServeBesideTest, ReadersBesideServeSeeItsDurablePostsAsServeStoppedWould) {
  auto serve = StartServe();
  const auto posted = Fetch(serve->port(), "POST", "/v1/events", host_token_, Contacts(0, 50));
  ASSERT_EQ(posted.status, 200) << posted.body;
  ASSERT_THAT(posted.body, HasSubstr("\"accepted\":50"));
  const auto beside = ReaderOutputs();
  EXPECT_EQ(serve->Stop(), 0);
  const auto stopped = ReaderOutputs();
  for (const auto& [name, text] : stopped) {
    if (name.starts_with("verify") || name == "status") continue;  // the live state's position, below
    EXPECT_EQ(beside.at(name), text) << name;
  }
  // The log the same; the live state as serve last flushed it (checked, never caught up).
  const int64_t events = demo_events_ + 50;
  EXPECT_THAT(stopped.at("status"), HasSubstr(fmt::format("log    {} events", events)));
  EXPECT_THAT(beside.at("status"), HasSubstr(fmt::format("log    {} events", events)));
  // Beside serve, verify checks the live state as serve last flushed it: before the
  // posts, or after them once serve's periodic flush ran.
  EXPECT_THAT(beside.at("verify"),
              ::testing::AnyOf(HasSubstr(fmt::format("from {} events replayed", demo_events_)),
                               HasSubstr(fmt::format("from {} events replayed", events))));
  EXPECT_THAT(beside.at("verify"), HasSubstr("live state OK"));
  EXPECT_THAT(stopped.at("verify"), HasSubstr(fmt::format("from {} events replayed", events)));
}

// Beside a writer whose state on disk is behind the log (serve between a commit and its
// flush), a reader replays the log into a temporary state: never a copy of a state in
// use, and nothing in it changes.
TEST_F(ServeBesideTest, AStateBehindTheLogBesideAWriterIsReplayedNotCopied) {
  fs::copy(data_ + "/state", dir_ + "/state-before", fs::copy_options::recursive);
  {
    auto serve = StartServe();
    ASSERT_EQ(Fetch(serve->port(), "POST", "/v1/events", host_token_, Contacts(0, 50)).status, 200);
  }
  fs::remove_all(data_ + "/state");
  fs::copy(dir_ + "/state-before", data_ + "/state", fs::copy_options::recursive);
  std::map<std::string, std::string> beside, alone;
  auto state_files = [&] {
    std::map<std::string, std::string> files;
    for (const auto& e : fs::directory_iterator(data_ + "/state")) files[e.path().filename()] = ReadFile(e.path());
    return files;
  };
  const auto state_before = state_files();
  const std::string dry = fmt::format("bill --data {} --quarter 2026Q1 --dry-run --out {}/dry", data_, dir_);
  const std::string explain = "explain --data " + data_ + " --invoice 2026Q1-espoo-kela --line 1";
  {
    auto writer = EmbeddedLog::Open(data_ + "/log");  // holds the log as serve would
    ASSERT_TRUE(writer.ok()) << writer.status();
    for (const std::string& args : {dry, explain}) {
      fs::remove_all(dir_ + "/dry");
      const Output run = Tori(args);
      ASSERT_EQ(run.exit_code, 0) << run.err;
      EXPECT_THAT(run.err, HasSubstr(fmt::format("reading the {} events", demo_events_ + 50)));
      EXPECT_THAT(run.err, HasSubstr("replaying the log into a temporary one"));
      beside[args] = run.out;
    }
  }
  for (const std::string& args : {dry, explain}) {
    fs::remove_all(dir_ + "/dry");
    const Output run = Tori(args);
    ASSERT_EQ(run.exit_code, 0) << run.err;
    EXPECT_THAT(run.err, HasSubstr("catching up in a temporary copy"));
    alone[args] = run.out;
  }
  EXPECT_EQ(beside, alone);
  EXPECT_EQ(state_files(), state_before);
}

TEST_F(ServeBesideTest, AWritingCommandBesideServeIsRefusedSayingWhatToDo) {
  auto serve = StartServe();
  ASSERT_EQ(std::system(fmt::format("{} keygen --out {}/espoo --name espoo.fi/tori >/dev/null", TORI_BINARY, dir_)
                            .c_str()),
            0);
  for (const std::string& args : {"rebuild --data " + data_, "checkpoint --data " + data_ + " --key " + dir_ + "/espoo.key",
                                  "bill --data " + data_ + " --quarter 2026Q2 --out " + dir_ + "/q2"}) {
    const Output run = Tori(args);
    EXPECT_EQ(run.exit_code, 1) << args;
    EXPECT_THAT(run.err, HasSubstr("one writer at a time")) << args;
    EXPECT_THAT(run.err, HasSubstr("/v1/checkpoint")) << args;
    EXPECT_THAT(run.err, HasSubstr("run beside it")) << args;
  }
  EXPECT_EQ(Fetch(serve->port(), "GET", "/readyz").status, 200);
  EXPECT_EQ(serve->Stop(), 0);
}

TEST_F(ServeBesideTest, AReaderOpeningWhileABigPostIsAppendedSeesADurablePrefixNotDamage) {
  // Small segments: the post rolls over many of them while the readers open.
  const std::string dry_run = fmt::format("bill --data {} --quarter 2026Q1 --dry-run --out {}/dry", data_, dir_);
  const Output alone = Tori(dry_run);  // what a reader of the state prints with serve stopped
  ASSERT_EQ(alone.exit_code, 0) << alone.err;
  ::setenv("TORI_LOG_SEGMENT_BYTES", "200000", 1);
  auto serve = StartServe();
  ::unsetenv("TORI_LOG_SEGMENT_BYTES");
  constexpr int kPosts = 8, kPerPost = 20000;  // long enough for several readers
  std::atomic<bool> posting{true};
  std::thread poster([&] {
    for (int p = 0; p < kPosts; ++p) {
      const auto reply = Fetch(serve->port(), "POST", "/v1/events", host_token_, Contacts(p * kPerPost, kPerPost));
      EXPECT_EQ(reply.status, 200) << reply.body.substr(0, 300);
    }
    posting = false;
  });
  int64_t last_count = 0;
  int opened = 0, replayed = 0;
  const std::regex count(R"(log: 0 of ([0-9]+) events)");
  while (posting || opened == 0) {
    const Output run = Tori("log --data " + data_ + " --type checkpoint_signed");
    ASSERT_EQ(run.exit_code, 0) << run.err;
    EXPECT_THAT(run.err, ::testing::Not(HasSubstr("corrupt")));
    EXPECT_THAT(run.err, ::testing::Not(HasSubstr("incomplete")));
    std::smatch m;
    ASSERT_TRUE(std::regex_search(run.err, m, count)) << run.err;
    const int64_t events = std::stoll(m[1]);
    EXPECT_GE(events, last_count);  // each a prefix of the next
    last_count = events;
    ++opened;
    // A reader of the state too: serve's state on disk may be behind the log it reads
    // (then a replay into a temporary state), never a different invoice.
    const Output dry = Tori(dry_run);
    ASSERT_EQ(dry.exit_code, 0) << dry.err;
    EXPECT_EQ(WithoutSeconds(dry.out), WithoutSeconds(alone.out));  // the posts are of 2026Q2
    replayed += dry.err.find("replaying the log") != std::string::npos;
  }
  poster.join();
  EXPECT_GT(opened, 1);
  const Output status = Tori("status --data " + data_);
  EXPECT_THAT(status.out, HasSubstr(fmt::format("log    {} events", demo_events_ + kPosts * kPerPost)));
  const Output verify = Tori("verify --data " + data_);
  EXPECT_EQ(verify.exit_code, 0) << verify.out << verify.err;
  EXPECT_EQ(serve->Stop(), 0);
  fmt::print("{} readers of the log and {} of the state opened during {} posts of {} events ({} replayed the "
             "log as serve's state was behind)\n",
             opened, opened, kPosts, kPerPost, replayed);
}

TEST_F(ServeBesideTest, ACheckpointThroughServeMakesTheProofThatToriProofWrites) {
  ASSERT_EQ(std::system(fmt::format("{} keygen --out {}/espoo --name espoo.fi/tori >/dev/null", TORI_BINARY, dir_)
                            .c_str()),
            0);
  {
    auto keyless = StartServe();
    const auto refused = Fetch(keyless->port(), "POST", "/v1/checkpoint", host_token_);
    EXPECT_EQ(refused.status, 409);
    EXPECT_THAT(refused.body, HasSubstr("NO_CHECKPOINT_KEY"));
  }
  auto serve = StartServe({"--checkpoint-key", dir_ + "/espoo.key"});
  EXPECT_EQ(Fetch(serve->port(), "POST", "/v1/checkpoint", std::string(64, 'k')).status, 403);  // hosts only
  const std::string proof_path = "/v1/invoices/2026Q1-espoo-kela/proof";
  EXPECT_EQ(Fetch(serve->port(), "GET", proof_path, host_token_).status, 404);
  const auto signed_now = Fetch(serve->port(), "POST", "/v1/checkpoint", host_token_);
  ASSERT_EQ(signed_now.status, 200) << signed_now.body;
  EXPECT_THAT(signed_now.body, HasSubstr(fmt::format("\"origin\":\"espoo.fi/tori/p0\",\"tree_size\":{}", demo_events_)));
  EXPECT_THAT(signed_now.body, HasSubstr("\"events_appended\":1"));
  const auto proof = Fetch(serve->port(), "GET", proof_path, host_token_);
  ASSERT_EQ(proof.status, 200) << proof.body;
  // `tori proof` beside serve, and with serve stopped: the same bytes.
  const Output beside = Tori(fmt::format("proof --data {} --invoice 2026Q1-espoo-kela --out {}/beside.json", data_, dir_));
  ASSERT_EQ(beside.exit_code, 0) << beside.err;
  EXPECT_EQ(ReadFile(dir_ + "/beside.json"), proof.body);
  const Output verified = Tori(fmt::format("verify-proof {}/beside.json --public-key {}/espoo.pub", dir_, dir_));
  EXPECT_EQ(verified.exit_code, 0) << verified.out << verified.err;
  EXPECT_EQ(serve->Stop(), 0);
  const Output stopped = Tori(fmt::format("proof --data {} --invoice 2026Q1-espoo-kela --out {}/stopped.json", data_, dir_));
  ASSERT_EQ(stopped.exit_code, 0) << stopped.err;
  EXPECT_EQ(ReadFile(dir_ + "/stopped.json"), proof.body);
  // The checkpoint is in the log, as `tori checkpoint`'s are.
  EXPECT_THAT(Tori("log --data " + data_ + " --type checkpoint_signed").out, HasSubstr("espoo.fi/tori/p0"));
}

}  // namespace
}  // namespace tori
