// Reconcile and explain against a real log and state: an agency file with every kind
// of difference, and an explanation whose steps add up to the invoice line.
#include "services/audit/audit.h"

#include <filesystem>
#include <fstream>

#include "events/log/embedded_log.h"
#include "fmt/format.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/billing/billing.h"
#include "services/ingest/ingest.h"

namespace tori {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

const char kEvents[] = R"(
{"event_id":"e1","type":"agency_registered","occurred_at":"2025-12-01T08:00:00Z","agency_id":"espoo","name":"Espoo","kind":"municipality","business_id":"0101263-6"}
{"event_id":"e2","type":"agency_registered","occurred_at":"2025-12-01T08:00:00Z","agency_id":"kela","name":"Kela","kind":"kela","business_id":"0246246-0"}
{"event_id":"e4","type":"service_point_opened","occurred_at":"2025-12-01T08:00:00Z","service_point_id":"iso","name":"Iso Omena","municipality":"Espoo","host_agency_id":"espoo","total_area_m2":"1000"}
{"event_id":"e6","type":"agreement_signed","occurred_at":"2025-12-01T08:00:00Z","agreement_id":"a","version":1,"service_point_id":"iso","effective_from":"2026-01-01","parties":["espoo","kela"],"pools":{"shared_staff":{"tranches":[{"weight_pct":"100","key":"contacts"}]}}}
{"event_id":"c4","type":"cost_posted","occurred_at":"2026-01-31T08:00:00Z","cost_id":"k4","service_point_id":"iso","pool":"shared_staff","period":"2026-01","amount":"100.00","description":"advisors"}
{"event_id":"t1","type":"contact_recorded","occurred_at":"2026-01-05T10:00:00Z","contact_id":"x1","service_point_id":"iso","agency_id":"kela","service_code":"ETUUS","channel":"in_person","handled_by":"shared_advisor","duration_s":600}
{"event_id":"t2","type":"contact_recorded","occurred_at":"2026-01-06T10:00:00Z","contact_id":"x2","service_point_id":"iso","agency_id":"kela","service_code":"ETUUS","channel":"in_person","handled_by":"shared_advisor","duration_s":600}
{"event_id":"t3","type":"contact_recorded","occurred_at":"2026-01-07T10:00:00Z","contact_id":"x3","service_point_id":"iso","agency_id":"espoo","service_code":"NEUVONTA","channel":"in_person","handled_by":"shared_advisor","duration_s":600}
{"event_id":"t4","type":"contact_recorded","occurred_at":"2026-01-08T10:00:00Z","contact_id":"x4","service_point_id":"iso","agency_id":"kela","service_code":"ETUUS","channel":"in_person","handled_by":"shared_advisor","duration_s":600}
{"event_id":"t5","type":"contact_voided","occurred_at":"2026-01-08T11:00:00Z","contact_id":"x4","reason":"test"}
{"event_id":"t6","type":"contact_recorded","occurred_at":"2026-04-08T10:00:00Z","contact_id":"x5","service_point_id":"iso","agency_id":"kela","service_code":"ETUUS","channel":"in_person","handled_by":"shared_advisor","duration_s":600}
{"event_id":"t7","type":"contact_recorded","occurred_at":"2026-01-09T10:00:00Z","contact_id":"x6","service_point_id":"iso","agency_id":"kela","service_code":"ASUMISTUKI","channel":"in_person","handled_by":"shared_advisor","duration_s":600}
)";

class AuditTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           fmt::format("tori-audit-test-{}-{}", ::getpid(),
                       ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    log_ = *EmbeddedLog::Open((dir_ / "data/log").string());
    state_ = *StateStore::Open((dir_ / "data/state").string());
    std::ofstream(dir_ / "events.jsonl") << kEvents;
    IngestOptions options;
    options.now = absl::FromUnixSeconds(1790000000);
    auto summary = IngestFile((dir_ / "events.jsonl").string(), *log_, *state_, options);
    ASSERT_TRUE(summary.ok() && summary->rejected == 0);
  }
  void TearDown() override {
    log_.reset();
    state_.reset();
    fs::remove_all(dir_);
  }
  fs::path dir_;
  std::unique_ptr<EventLog> log_;
  std::unique_ptr<StateStore> state_;
};

TEST_F(AuditTest, ReconcileSortsEveryDifferenceIntoItsKind) {
  // kela's own records: x1 matches; x3 tori gives to espoo; x4 is voided in tori; x5 is
  // in Q2; x6 has another service code; x9 tori never saw; x2 is missing from the file.
  std::ofstream(dir_ / "kela.csv") << "contact_id,service_code\nx1,ETUUS\nx3,NEUVONTA\nx4,ETUUS\n"
                                      "x5,ETUUS\nx6,ETUUS\nx9,ETUUS\n";
  auto report = Reconcile(*state_, "kela", {2026, 1}, (dir_ / "kela.csv").string());
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_FALSE(report->ok());
  EXPECT_EQ(report->matched, 1u);
  std::map<std::string, std::string> status;
  for (const auto& d : report->differences) status[d.contact_id] = d.status;
  EXPECT_EQ(status["x2"], "only_in_tori");
  EXPECT_EQ(status["x3"], "other_agency");
  EXPECT_EQ(status["x4"], "voided");
  EXPECT_EQ(status["x5"], "other_quarter");
  EXPECT_EQ(status["x6"], "service_code_differs");
  EXPECT_EQ(status["x9"], "only_in_agency_file");
  EXPECT_EQ(status.size(), 6u);
  EXPECT_THAT(ReconcileCsv(*report), HasSubstr("x3,other_agency,tori attributes it to espoo"));
}

TEST_F(AuditTest, ReconcileOfAMatchingFileIsOk) {
  std::ofstream(dir_ / "kela.csv") << "occurred_at,contact_id\n2026-01-05,x1\n2026-01-06,x2\n2026-01-09,x6\n";
  auto report = Reconcile(*state_, "kela", {2026, 1}, (dir_ / "kela.csv").string());
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_TRUE(report->ok());
  EXPECT_EQ(report->matched, 3u);
}

TEST_F(AuditTest, ReconcileNamesTheLineOfABadFile) {
  std::ofstream(dir_ / "bad.csv") << "contact_id\nx1\nx1\n";
  auto report = Reconcile(*state_, "kela", {2026, 1}, (dir_ / "bad.csv").string());
  ASSERT_FALSE(report.ok());
  EXPECT_THAT(report.status().message(), HasSubstr("bad.csv:3"));
  std::ofstream(dir_ / "noheader.csv") << "id\nx1\n";
  EXPECT_THAT(Reconcile(*state_, "kela", {2026, 1}, (dir_ / "noheader.csv").string()).status().message(),
              HasSubstr("no contact_id column"));
}

// Issue #15.7: Excel's "CSV UTF-8" in a Finnish locale: byte-order mark, `;`, CRLF,
// Finnish dates without an offset (Helsinki time).
TEST_F(AuditTest, ReconcileReadsAnExcelExport) {
  std::ofstream(dir_ / "excel.csv", std::ios::binary)
      << "\xEF\xBB\xBF" "Contact_ID;Service_Code;Occurred_At\r\n"
         "x1;ETUUS;5.1.2026 12.00\r\n"
         "x2;ETUUS;2026-01-06T10:00:00Z\r\n"
         "x6;ASUMISTUKI;9.1.2026\r\n";
  auto report = Reconcile(*state_, "kela", {2026, 1}, (dir_ / "excel.csv").string());
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->matched, 3u);
  EXPECT_TRUE(report->ok()) << ReconcileCsv(*report);
}

TEST_F(AuditTest, ReconcileComparesOccurredAtToThePrecisionOfTheFile) {
  // x1 is at 12:00:00 Helsinki time, x2 at 12:00:00 on 6.1., x6 at 12:00:00 on 9.1.
  std::ofstream(dir_ / "kela.csv") << "contact_id,occurred_at\n"
                                      "x1,2026-01-05 12:05\n"            // 5 minutes off
                                      "x2,2026-01-06T12:00:00+02:00\n"  // the same instant
                                      "x6,2026-01-10\n";                // another day
  auto report = Reconcile(*state_, "kela", {2026, 1}, (dir_ / "kela.csv").string());
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->matched, 1u);
  std::map<std::string, std::string> detail;
  for (const auto& d : report->differences) {
    EXPECT_EQ(d.status, "occurred_at_differs") << d.contact_id;
    detail[d.contact_id] = d.detail;
  }
  EXPECT_EQ(detail["x1"], "agency file 2026-01-05 12:05, tori 2026-01-05T12:00:00+02:00");
  EXPECT_EQ(detail["x6"], "agency file 2026-01-10, tori 2026-01-09T12:00:00+02:00");
  EXPECT_EQ(report->differences_by_status.at("occurred_at_differs"), 2u);
}

TEST_F(AuditTest, ReconcileRefusesAnAgencyToriDoesNotKnowAndATimeItCannotRead) {
  std::ofstream(dir_ / "kela.csv") << "contact_id,occurred_at\nx1,yesterday\n";
  auto unknown = Reconcile(*state_, "kelaa", {2026, 1}, (dir_ / "kela.csv").string());
  ASSERT_FALSE(unknown.ok());
  EXPECT_THAT(unknown.status().message(), HasSubstr("agency 'kelaa' is not an agency tori knows"));
  auto bad_time = Reconcile(*state_, "kela", {2026, 1}, (dir_ / "kela.csv").string());
  ASSERT_FALSE(bad_time.ok());
  EXPECT_THAT(bad_time.status().message(), HasSubstr("kela.csv:2: field occurred_at 'yesterday'"));
}

TEST_F(AuditTest, ExplainShowsTheCostsTheSplitAndTheContacts) {
  BillRequest bill;
  bill.quarter = {2026, 1};
  bill.out_dir = (dir_ / "out").string();
  bill.scratch_dir = (dir_ / "scratch").string();
  ASSERT_TRUE(Bill(*log_, *state_, bill).ok());
  ExplainRequest request;
  request.invoice_id = "2026Q1-espoo-kela";
  request.list_contacts = true;
  request.scratch_dir = (dir_ / "scratch").string();
  auto text = Explain(*log_, *state_, request);
  ASSERT_TRUE(text.ok()) << text.status();
  // 100.00 over contacts espoo 1, kela 3 (x1, x2, x6; x4 voided): 25.00 / 75.00.
  EXPECT_THAT(*text, HasSubstr("k4"));
  EXPECT_THAT(*text, HasSubstr("100.00 EUR from these costs"));
  EXPECT_THAT(*text, HasSubstr("= 75.00 EUR"));
  EXPECT_THAT(*text, HasSubstr("the 3 contacts behind kela's value"));
  EXPECT_THAT(*text, HasSubstr("x6 (ASUMISTUKI"));
  request.invoice_id = "2026Q1-espoo-nobody";
  EXPECT_EQ(Explain(*log_, *state_, request).status().code(), absl::StatusCode::kNotFound);
}

// Issue #15.3: explaining an adjustment line names what was issued, what it is now,
// and the events after the adjusted quarter's issue that changed it.
TEST_F(AuditTest, ExplainOfAnAdjustmentLineNamesTheEventsThatChangedIt) {
  BillRequest bill;
  bill.quarter = {2026, 1};
  bill.out_dir = (dir_ / "q1").string();
  bill.scratch_dir = (dir_ / "scratch").string();
  ASSERT_TRUE(Bill(*log_, *state_, bill).ok());
  std::ofstream(dir_ / "late.jsonl")
      << R"({"event_id":"late-cost","type":"cost_posted","occurred_at":"2026-04-10T08:00:00Z","cost_id":"k9","service_point_id":"iso","pool":"shared_staff","period":"2026-02","amount":"50.00","description":"late"})" "\n"
      << R"({"event_id":"late-void","type":"contact_voided","occurred_at":"2026-04-10T08:00:00Z","contact_id":"x3","reason":"duplicate"})" "\n"
      << R"({"event_id":"other-point","type":"cost_posted","occurred_at":"2026-04-10T08:00:00Z","cost_id":"k10","service_point_id":"iso","pool":"shared_staff","period":"2026-04","amount":"10.00","description":"Q2"})" "\n";
  IngestOptions options;
  options.now = absl::FromUnixSeconds(1790000000);
  auto summary = IngestFile((dir_ / "late.jsonl").string(), *log_, *state_, options);
  ASSERT_TRUE(summary.ok() && summary->rejected == 0);
  bill.quarter = {2026, 2};
  bill.out_dir = (dir_ / "q2").string();
  ASSERT_TRUE(Bill(*log_, *state_, bill).ok());
  ExplainRequest request;
  request.invoice_id = "2026Q2-espoo-kela";
  request.scratch_dir = (dir_ / "scratch").string();
  auto text = Explain(*log_, *state_, request);
  ASSERT_TRUE(text.ok()) << text.status();
  EXPECT_THAT(*text, HasSubstr("issued "));
  EXPECT_THAT(*text, HasSubstr(", now "));
  EXPECT_THAT(*text, HasSubstr("changed since 2026Q1 was issued"));
  EXPECT_THAT(*text, HasSubstr("by 2 events:"));
  EXPECT_THAT(*text, HasSubstr("late-cost cost_posted"));
  EXPECT_THAT(*text, HasSubstr("late-void contact_voided"));
}

}  // namespace
}  // namespace tori
