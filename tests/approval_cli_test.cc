// SPEC section 8 "Approval" end to end (issue #18): with two approvals in force,
// `tori bill --by` prepares (drafts in every format, quarter_prepared), the preparer's
// own approval is refused, and another person's `tori approve` issues exactly the
// prepared documents: the same bytes but the draft mark, the prepared hashes, the
// prepared as_of (later events reach the quarter as adjustments only).
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>

#include "fmt/format.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
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

}  // namespace
