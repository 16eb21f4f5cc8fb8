// SPEC section 8 "Approval" end to end (issue #18): with two approvals in force,
// `tori bill --by` prepares (drafts in every format, quarter_prepared), the preparer's
// own approval is refused, and another person's `tori approve` issues exactly the
// prepared documents: the same bytes but the draft mark, the prepared hashes, the
// prepared as_of (later events reach the quarter as adjustments only).
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <regex>
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
using ::testing::Not;

tori::testing::CommandResult Tori(const std::string& args) {
  return tori::testing::RunCommand(fmt::format("{} {}", TORI_BINARY, args));
}

std::string ReadAll(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// `text` without its first line that contains `needle` (which must be there).
std::string WithoutLineContaining(const std::string& text, std::string_view needle) {
  const size_t at = text.find(needle);
  if (at == std::string::npos) return "<no " + std::string(needle) + ">";
  const size_t begin = text.rfind('\n', at) == std::string::npos ? 0 : text.rfind('\n', at) + 1;
  const size_t end = text.find('\n', at);
  return text.substr(0, begin) + text.substr(end + 1);
}

constexpr char kPolicy[] =
    R"({"event_id":"policy-1","type":"approval_policy_set","occurred_at":"2026-01-02T08:00:00Z","host_agency_id":"espoo","required_approvals":2,"effective_from":"2026-01-01"})"
    "\n";
// A cost of 2026Q1 that arrives after the quarter was prepared.
constexpr char kLateCost[] =
    R"({"event_id":"late-cost","type":"cost_posted","occurred_at":"2026-04-20T12:00:00+03:00","cost_id":"iso-omena-late-2026-03","service_point_id":"iso-omena","pool":"premises","period":"2026-03","amount":"1000.00","description":"Myöhästynyt lasku"})"
    "\n";

class ApprovalCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           fmt::format("tori-approval-cli-test-{}-{}", ::getpid(),
                       ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    data_ = (dir_ / "data").string();
    auto sample = Tori(fmt::format("ingest --data {} {}/examples/sample.jsonl", data_, TORI_SOURCE_DIR));
    ASSERT_EQ(sample.exit_code, 0) << sample.out;
    Ingest(kPolicy);
  }
  void TearDown() override { fs::remove_all(dir_); }

  void Ingest(const std::string& events) {
    const fs::path file = dir_ / fmt::format("events-{}.jsonl", files_++);
    std::ofstream(file) << events;
    auto run = Tori(fmt::format("ingest --data {} {}", data_, file.string()));
    ASSERT_EQ(run.exit_code, 0) << run.out;
    ASSERT_THAT(run.out, HasSubstr("rejected 0")) << run.out;
  }
  tori::testing::CommandResult Bill(const std::string& out, const std::string& flags) {
    return Tori(fmt::format("bill --data {} --quarter 2026Q1 --out {} {}", data_, (dir_ / out).string(), flags));
  }
  tori::testing::CommandResult Approve(const std::string& out, const std::string& by) {
    return Tori(fmt::format("approve --data {} --quarter 2026Q1 --out {} --by '{}'", data_, (dir_ / out).string(), by));
  }
  std::string Log() { return Tori("log --data " + data_).out; }

  fs::path dir_;
  std::string data_;
  int files_ = 0;
};

TEST_F(ApprovalCliTest, ThePreparersOwnApprovalIsRefusedAndNothingIsIssued) {
  auto unnamed = Bill("unnamed", "");
  EXPECT_EQ(unnamed.exit_code, 1);
  EXPECT_THAT(unnamed.out, HasSubstr("needs two approvals"));
  EXPECT_THAT(unnamed.out, HasSubstr("--by"));

  auto prepared = Bill("prepared", "--by 'Maija Virtanen'");
  ASSERT_EQ(prepared.exit_code, 0) << prepared.out;
  EXPECT_THAT(prepared.out, HasSubstr("prepared by Maija Virtanen"));
  EXPECT_FALSE(fs::exists(dir_ / "prepared/invoices.json"));
  EXPECT_TRUE(fs::exists(dir_ / "prepared/draft-invoices.json"));

  for (const char* self : {"Maija Virtanen", " maija virtanen "}) {
    auto own = Approve("own", self);
    EXPECT_EQ(own.exit_code, 1) << self;
    EXPECT_THAT(own.out, HasSubstr("cannot approve it too")) << own.out;
  }
  EXPECT_FALSE(fs::exists(dir_ / "own/invoices.json"));
  const std::string log = Log();
  EXPECT_THAT(log, HasSubstr("\"type\":\"quarter_prepared\""));
  EXPECT_THAT(log, Not(HasSubstr("\"type\":\"invoice_issued\"")));
  EXPECT_THAT(log, Not(HasSubstr("\"type\":\"quarter_approved\"")));
  // Nothing prepared for another quarter; nothing to approve there.
  auto q2 = Tori(fmt::format("approve --data {} --quarter 2026Q2 --by Pekka --out {}", data_, (dir_ / "q2").string()));
  EXPECT_EQ(q2.exit_code, 1);
  EXPECT_THAT(q2.out, HasSubstr("has not been prepared"));
}

TEST_F(ApprovalCliTest, ApprovedBytesAreThePreparedBytesButTheDraftMark) {
  auto prepared = Bill("prepared", "--by Maija");
  ASSERT_EQ(prepared.exit_code, 0) << prepared.out;
  Ingest(kLateCost);  // after the preparation: not in the approved documents
  auto approved = Approve("approved", "Pekka");
  ASSERT_EQ(approved.exit_code, 0) << approved.out;
  EXPECT_THAT(approved.out, HasSubstr("approved by Pekka (prepared by Maija)"));

  const fs::path p = dir_ / "prepared", a = dir_ / "approved";
  EXPECT_EQ(WithoutLineContaining(ReadAll(p / "draft-invoices.json"), "\"draft\":true"), ReadAll(a / "invoices.json"));
  int csv = 0, xml = 0;
  for (const auto& entry : fs::directory_iterator(a)) {
    const std::string name = entry.path().filename().string();
    const std::string draft = ReadAll(p / ("draft-" + name));
    ASSERT_FALSE(draft.empty()) << "no draft-" << name;
    if (name.ends_with(".csv")) {
      ++csv;
      EXPECT_EQ(WithoutLineContaining(draft, "LUONNOS"), ReadAll(entry.path())) << name;
    } else if (name.ends_with(".xml")) {
      ++xml;
      EXPECT_THAT(draft, HasSubstr("<!-- LUONNOS: prepared for two-person approval")) << name;
      EXPECT_EQ(WithoutLineContaining(draft, "<!-- LUONNOS"), ReadAll(entry.path())) << name;
    } else if (name.ends_with(".html")) {
      EXPECT_THAT(draft, HasSubstr("class=\"draft-banner\""));
      EXPECT_THAT(ReadAll(entry.path()), Not(HasSubstr("class=\"draft-banner\"")));
    }
  }
  EXPECT_EQ(csv, 5);
  EXPECT_EQ(xml, 10);  // a Finvoice and a Peppol UBL per invoice
  EXPECT_TRUE(fs::exists(p / "draft-invoices-2026Q1.xlsx"));
  EXPECT_TRUE(fs::exists(a / "invoices-2026Q1.xlsx"));

  // The same as_of: the late cost reaches 2026Q1 only as an adjustment on 2026Q2.
  const std::string invoices = ReadAll(a / "invoices.json");
  EXPECT_THAT(invoices, HasSubstr(std::string("\"as_of\":{\"p0\":") + std::to_string(283 + 1)));
  auto q2 = Tori(fmt::format("bill --data {} --quarter 2026Q2 --out {} --by Maija --force", data_,
                             (dir_ / "q2").string()));
  ASSERT_EQ(q2.exit_code, 0) << q2.out;
  EXPECT_THAT(ReadAll(dir_ / "q2/draft-invoices.json"), HasSubstr("\"adjusts_quarter\":\"2026Q1\""));

  // Approved documents verify like any other; approving again is refused.
  auto verify = Tori("verify --data " + data_);
  EXPECT_EQ(verify.exit_code, 0) << verify.out;
  EXPECT_THAT(verify.out, HasSubstr("6 OK, 0 differ"));
  auto again = Approve("again", "Pekka");
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_THAT(again.out, HasSubstr("issued already"));
  // A re-bill of the approved quarter writes the approved bytes.
  auto rebill = Bill("rebill", "");
  ASSERT_EQ(rebill.exit_code, 0) << rebill.out;
  EXPECT_EQ(ReadAll(dir_ / "rebill/invoices.json"), invoices);
}

TEST_F(ApprovalCliTest, QuarterPreparedHashesAreTheIssuedDocumentsHashes) {
  ASSERT_EQ(Bill("prepared", "--by Maija").exit_code, 0);
  ASSERT_EQ(Approve("approved", "Pekka").exit_code, 0);
  const std::string log = Log();
  std::string prepared_line, approved_line;
  std::map<std::string, std::string> issued;  // document id -> content_sha256
  const std::regex document(R"re("(?:invoice_id|claim_id)":"([^"]+)".*"content_sha256":"([0-9a-f]{64})")re");
  std::istringstream lines(log);
  for (std::string line; std::getline(lines, line);) {
    if (line.find("\"type\":\"quarter_prepared\"") != std::string::npos) prepared_line = line;
    if (line.find("\"type\":\"quarter_approved\"") != std::string::npos) approved_line = line;
    std::smatch m;
    if ((line.find("\"type\":\"invoice_issued\"") != std::string::npos ||
         line.find("\"type\":\"subsidy_claim_issued\"") != std::string::npos) &&
        std::regex_search(line, m, document)) {
      issued[m[1]] = m[2];
    }
  }
  ASSERT_FALSE(prepared_line.empty()) << log;
  ASSERT_EQ(issued.size(), 6u) << log;
  size_t listed = 0;
  const std::regex prepared_document(R"re(\{"document_id":"([^"]+)","content_sha256":"([0-9a-f]{64})"\})re");
  for (auto it = std::sregex_iterator(prepared_line.begin(), prepared_line.end(), prepared_document);
       it != std::sregex_iterator(); ++it, ++listed) {
    EXPECT_EQ(issued[(*it)[1]], (*it)[2]) << (*it)[1];
  }
  EXPECT_EQ(listed, issued.size());
  EXPECT_THAT(prepared_line, HasSubstr("\"prepared_by\":\"Maija\""));
  EXPECT_THAT(approved_line, HasSubstr("\"prepared_by\":\"Maija\",\"approved_by\":\"Pekka\""));
  // And each hash is SHA-256 of the document's object in the approved invoices.json (the
  // issued events' rule, checked by verify): the prepared hashes name those bytes.
  auto verify = Tori("verify --data " + data_ + " --json");
  EXPECT_EQ(verify.exit_code, 0) << verify.out;
}

TEST_F(ApprovalCliTest, WithoutAPolicyOrWithOneApprovalBillingIssuesAtOnce) {
  Ingest(R"({"event_id":"policy-2","type":"approval_policy_set","occurred_at":"2026-01-03T08:00:00Z","host_agency_id":"espoo","required_approvals":1,"effective_from":"2026-01-01"})"
         "\n");
  auto run = Bill("issued", "--by Maija");
  ASSERT_EQ(run.exit_code, 0) << run.out;
  EXPECT_TRUE(fs::exists(dir_ / "issued/invoices.json"));
  EXPECT_THAT(Log(), HasSubstr("\"type\":\"invoice_issued\""));
}

TEST_F(ApprovalCliTest, APolicyOfAnUnknownHostOrThreeApprovalsIsRejected) {
  const fs::path file = dir_ / "bad.jsonl";
  std::ofstream(file)
      << R"({"event_id":"p-x","type":"approval_policy_set","occurred_at":"2026-01-02T08:00:00Z","host_agency_id":"nobody","required_approvals":2,"effective_from":"2026-01-01"})"
         "\n"
      << R"({"event_id":"p-y","type":"approval_policy_set","occurred_at":"2026-01-02T08:00:00Z","host_agency_id":"espoo","required_approvals":3,"effective_from":"2026-01-01"})"
         "\n"
      << R"({"event_id":"p-z","type":"approval_policy_set","occurred_at":"2026-01-02T08:00:00Z","host_agency_id":"espoo","required_approvals":2,"effective_from":"2026-02-30"})"
         "\n";
  auto run = Tori(fmt::format("ingest --data {} {}", data_, file.string()));
  EXPECT_THAT(run.out, HasSubstr("rejected 3"));
  const std::string rejected = ReadAll(dir_ / "bad.jsonl.rejected.jsonl");
  EXPECT_THAT(rejected, HasSubstr("UNKNOWN_REFERENCE"));
  EXPECT_THAT(rejected, HasSubstr("RANGE"));
}


// Every file under `dir` (relative path -> bytes).
std::map<std::string, std::string> FilesUnder(const fs::path& dir) {
  std::map<std::string, std::string> files;
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    if (entry.is_regular_file()) files[fs::relative(entry.path(), dir).string()] = ReadAll(entry.path());
  }
  return files;
}

// How often `needle` occurs in `text`.
size_t Count(const std::string& text, std::string_view needle) {
  size_t n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

// Issue #18's debt: an approval cut off between its records (documents, host shares,
// quarter_approved) is completed, by `tori bill` or by `tori approve` (of anyone), with
// the record naming the person who approved, never the one who resumed.
TEST_F(ApprovalCliTest, AnApprovalCutOffAtEveryRecordIsCompletedWithItsApprover) {
  ASSERT_EQ(Bill("prepared", "--by Maija").exit_code, 0);
  const fs::path data(data_);
  fs::copy(data, dir_ / "before-approve", fs::copy_options::recursive);
  auto reference = Approve("reference", "Pekka");
  ASSERT_EQ(reference.exit_code, 0) << reference.out;
  const std::string segment_name = "00000000000000000000.log";  // the only one
  const std::string segment = ReadAll(data / "log" / segment_name);
  const std::vector<size_t> ends = tori::testing::RecordEnds(segment);
  const size_t before = tori::testing::RecordEnds(ReadAll(dir_ / "before-approve/log" / segment_name)).size();
  const size_t appended = ends.size() - before;  // 6 documents, host shares, quarter_approved
  ASSERT_EQ(appended, 8u);
  const auto reference_files = FilesUnder(dir_ / "reference");

  for (size_t kept = 1; kept < appended; ++kept) {
    for (const bool by_approve : {false, true}) {
      SCOPED_TRACE(fmt::format("{} of the approval's {} records kept, resumed by {}", kept, appended,
                               by_approve ? "approve" : "bill"));
      fs::remove_all(data);
      fs::copy(dir_ / "before-approve", data, fs::copy_options::recursive);
      // What a power loss leaves: whole records, then a torn one; the state has none.
      std::ofstream(data / "log" / segment_name, std::ios::binary | std::ios::trunc)
          << segment.substr(0, ends[before + kept - 1] + 13);
      auto verify = Tori("verify --data " + data_);
      EXPECT_EQ(verify.exit_code, 1) << verify.out;
      EXPECT_THAT(verify.out, HasSubstr("cut off")) << verify.out;
      if (!by_approve) {  // another quarter waits for it
        auto other = Tori(fmt::format("bill --data {} --quarter 2026Q2 --out {} --by Maija", data_,
                                      (dir_ / "q2").string()));
        EXPECT_EQ(other.exit_code, 1) << other.out;
      }
      fs::remove_all(dir_ / "resumed");
      auto resumed = by_approve ? Approve("resumed", "Liisa") : Bill("resumed", "");
      ASSERT_EQ(resumed.exit_code, 0) << resumed.out;
      EXPECT_THAT(resumed.out, HasSubstr("approval by Pekka (prepared by Maija) was cut off")) << resumed.out;
      const std::string log = Log();
      EXPECT_EQ(Count(log, "\"type\":\"quarter_approved\""), 1u) << log;
      EXPECT_THAT(log, HasSubstr("\"approved_by\":\"Pekka\""));
      EXPECT_THAT(log, Not(HasSubstr("Liisa")));
      EXPECT_EQ(Count(log, "\"type\":\"invoice_issued\"") + Count(log, "\"type\":\"subsidy_claim_issued\""), 6u);
      EXPECT_EQ(Count(log, "\"type\":\"host_shares_issued\""), 1u);
      EXPECT_TRUE(FilesUnder(dir_ / "resumed") == reference_files);
      verify = Tori("verify --data " + data_);
      EXPECT_EQ(verify.exit_code, 0) << verify.out;
      // Complete now: nothing more is appended, and approving again is refused.
      const size_t records = tori::testing::RecordEnds(ReadAll(data / "log" / segment_name)).size();
      auto again = Approve("again", "Liisa");
      EXPECT_EQ(again.exit_code, 1) << again.out;
      EXPECT_THAT(again.out, HasSubstr("is issued already"));
      EXPECT_EQ(tori::testing::RecordEnds(ReadAll(data / "log" / segment_name)).size(), records);
    }
  }
}

// The same with real kills: `tori approve` killed with SIGKILL at random moments near
// the end of its run (it appends last), again and again, then one `tori bill` (or,
// when no kill let it begin, Pekka's approval again); the quarter ends approved by the
// approver, once. The cut between two records is the test above's (one write here).
TEST_F(ApprovalCliTest, AnApprovalKilledRepeatedlyEndsApprovedOnceByItsApprover) {
  ASSERT_EQ(Bill("prepared", "--by Maija").exit_code, 0);
  // How long an uninterrupted approval takes, on a copy.
  fs::copy(data_, dir_ / "timing", fs::copy_options::recursive);
  const auto start = std::chrono::steady_clock::now();
  ASSERT_EQ(Tori(fmt::format("approve --data {} --quarter 2026Q1 --by Pekka --out {}", (dir_ / "timing").string(),
                             (dir_ / "timing-out").string()))
                .exit_code,
            0);
  const int64_t full_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start).count();
  const uint64_t seed = std::random_device()();
  std::mt19937_64 rng(seed);
  SCOPED_TRACE(fmt::format("seed {}, uninterrupted approval {} ms", seed, full_ms));
  const int killed = tori::testing::StartAndKill(
      {TORI_BINARY, "approve", "--data", data_, "--quarter", "2026Q1", "--by", "Pekka", "--out",
       (dir_ / "killed").string()},
      8, full_ms * 3 / 4, full_ms * 5 / 4, rng);
  ASSERT_GE(killed, 0);
  RecordProperty("killed_running", killed);
  // Killed before its first record, the approval did not happen: Pekka approves again.
  const bool begun = Log().find("\"type\":\"invoice_issued\"") != std::string::npos;
  auto finish = begun ? Bill("finish", "") : Approve("finish", "Pekka");
  ASSERT_EQ(finish.exit_code, 0) << finish.out;
  RecordProperty("begun", begun ? 1 : 0);
  const std::string log = Log();
  EXPECT_EQ(Count(log, "\"type\":\"quarter_approved\""), 1u) << finish.out;
  EXPECT_THAT(log, HasSubstr("\"approved_by\":\"Pekka\""));
  EXPECT_EQ(Count(log, "\"type\":\"invoice_issued\"") + Count(log, "\"type\":\"subsidy_claim_issued\""), 6u);
  auto verify = Tori("verify --data " + data_);
  EXPECT_EQ(verify.exit_code, 0) << verify.out;
}

}  // namespace
