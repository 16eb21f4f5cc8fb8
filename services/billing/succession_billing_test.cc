// Succession end to end (SPEC section 8), through the real embedded log and RocksDB:
// the TE office of Uusimaa passed its duties to the employment area of Vantaa and
// Kerava on 1.1.2025. The successor is billed exactly what it would have been had its
// id been written in the events; an adjustment of the predecessor's quarter goes to the
// successor naming the predecessor; contacts still recorded under the old id warn.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

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
using ::testing::Not;

// One point in Vantaa (host vantaa), with kela and the TE services agency AGENCY as
// parties since 1.10.2024. Costs and contacts in 2024Q4 and 2025Q1.
//  premises by dedicated_area: vantaa 200, AGENCY 150, kela 50 m2;
//  shared_staff 60 % contacts, 40 % equal; a room booked by AGENCY (booked_minutes
//  pool); fixed shares 50/30/20 for the equipment pool.
const char kEvents[] = R"(
{"event_id":"a1","type":"agency_registered","occurred_at":"2024-09-01T08:00:00Z","agency_id":"vantaa","name":"Vantaan kaupunki","kind":"municipality","business_id":"0124610-9","iban":"FI2112345600000785","bic":"NDEAFIHH"}
{"event_id":"a2","type":"agency_registered","occurred_at":"2024-09-01T08:00:00Z","agency_id":"kela","name":"Kela","kind":"kela","business_id":"0246246-0"}
{"event_id":"a3","type":"agency_registered","occurred_at":"2024-09-01T08:00:00Z","agency_id":"te-uusimaa","name":"Uudenmaan TE-toimisto","kind":"state","business_id":"2296962-1","einvoice_address":"003722969621"}
{"event_id":"a4","type":"agency_registered","occurred_at":"2024-09-01T08:00:00Z","agency_id":"vantaa-kerava-tyo","name":"Vantaan ja Keravan työllisyysalue","kind":"municipality","business_id":"3457213-8","einvoice_address":"003734572138"}
{"event_id":"p1","type":"service_point_opened","occurred_at":"2024-09-01T08:00:00Z","service_point_id":"tikkurila","name":"Tikkurilan yhteispalvelu","municipality":"Vantaa","host_agency_id":"vantaa","total_area_m2":"600"}
{"event_id":"s1","type":"space_allocated","occurred_at":"2024-09-01T08:00:00Z","service_point_id":"tikkurila","effective_from":"2024-10-01","allocations":[{"agency_id":"vantaa","area_m2":"200"},{"agency_id":"AGENCY","area_m2":"150"},{"agency_id":"kela","area_m2":"50"}],"shared_area_m2":"100"}
{"event_id":"g1","type":"agreement_signed","occurred_at":"2024-09-01T08:00:00Z","agreement_id":"tikkurila-yps","version":1,"service_point_id":"tikkurila","effective_from":"2024-10-01","parties":["vantaa","AGENCY","kela"],"pools":{"premises":{"tranches":[{"weight_pct":"100","key":"dedicated_area"}]},"shared_staff":{"tranches":[{"weight_pct":"60","key":"contacts"},{"weight_pct":"40","key":"equal"}]},"rooms":{"tranches":[{"weight_pct":"100","key":"booked_minutes"}]},"equipment":{"tranches":[{"weight_pct":"100","key":"fixed_shares"}]}},"fixed_shares":{"vantaa":"50","AGENCY":"30","kela":"20"}}
{"event_id":"k1","type":"cost_posted","occurred_at":"2024-10-31T08:00:00Z","cost_id":"k1","service_point_id":"tikkurila","pool":"premises","period":"2024-10","amount":"3000.00","description":"vuokra"}
{"event_id":"k2","type":"cost_posted","occurred_at":"2024-10-31T08:00:00Z","cost_id":"k2","service_point_id":"tikkurila","pool":"shared_staff","period":"2024-10","amount":"1000.01","description":"neuvojat"}
{"event_id":"k3","type":"cost_posted","occurred_at":"2025-01-31T08:00:00Z","cost_id":"k3","service_point_id":"tikkurila","pool":"premises","period":"2025-01","amount":"3100.00","description":"vuokra"}
{"event_id":"k4","type":"cost_posted","occurred_at":"2025-01-31T08:00:00Z","cost_id":"k4","service_point_id":"tikkurila","pool":"shared_staff","period":"2025-01","amount":"1234.57","description":"neuvojat"}
{"event_id":"k5","type":"cost_posted","occurred_at":"2025-02-28T08:00:00Z","cost_id":"k5","service_point_id":"tikkurila","pool":"rooms","period":"2025-02","amount":"400.01","description":"neuvotteluhuone"}
{"event_id":"k6","type":"cost_posted","occurred_at":"2025-02-28T08:00:00Z","cost_id":"k6","service_point_id":"tikkurila","pool":"equipment","period":"2025-02","amount":"999.99","description":"laitteet"}
{"event_id":"c1","type":"contact_recorded","occurred_at":"2024-11-04T10:00:00Z","contact_id":"x1","service_point_id":"tikkurila","agency_id":"AGENCY","service_code":"S","channel":"in_person","handled_by":"shared_advisor","duration_s":600}
{"event_id":"c2","type":"contact_recorded","occurred_at":"2024-11-05T10:00:00Z","contact_id":"x2","service_point_id":"tikkurila","agency_id":"kela","service_code":"S","channel":"in_person","handled_by":"shared_advisor","duration_s":600}
{"event_id":"c3","type":"contact_recorded","occurred_at":"2025-01-14T10:00:00Z","contact_id":"x3","service_point_id":"tikkurila","agency_id":"AGENCY","service_code":"S","channel":"in_person","handled_by":"shared_advisor","duration_s":600}
{"event_id":"c4","type":"contact_recorded","occurred_at":"2025-02-03T10:00:00Z","contact_id":"x4","service_point_id":"tikkurila","agency_id":"AGENCY","service_code":"S","channel":"phone","handled_by":"shared_advisor","duration_s":300}
{"event_id":"c5","type":"contact_recorded","occurred_at":"2025-02-04T10:00:00Z","contact_id":"x5","service_point_id":"tikkurila","agency_id":"kela","service_code":"S","channel":"in_person","handled_by":"shared_advisor","duration_s":300}
{"event_id":"c6","type":"contact_recorded","occurred_at":"2025-03-04T10:00:00Z","contact_id":"x6","service_point_id":"tikkurila","agency_id":"vantaa","service_code":"S","channel":"in_person","handled_by":"agency_staff","duration_s":300}
{"event_id":"b1","type":"room_booked","occurred_at":"2025-02-01T08:00:00Z","booking_id":"r1","service_point_id":"tikkurila","room_id":"neuvotteluhuone","agency_id":"AGENCY","start":"2025-02-10T08:00:00Z","end":"2025-02-10T10:00:00Z"}
{"event_id":"b2","type":"room_booked","occurred_at":"2025-02-01T08:00:00Z","booking_id":"r2","service_point_id":"tikkurila","room_id":"neuvotteluhuone","agency_id":"kela","start":"2025-02-11T08:00:00Z","end":"2025-02-11T09:00:00Z"}
)";

const char kSuccession[] =
    R"({"event_id":"u1","type":"agency_succeeded","occurred_at":"2024-12-01T08:00:00Z","agency_id":"te-uusimaa","successor_agency_id":"vantaa-kerava-tyo","effective_from":"2025-01-01"})";

// (issuer, recipient, point, pool, key, weight, adjusts, amount) of every line.
using LineAmount = std::tuple<std::string, std::string, std::string, std::string, std::string,
                              int64_t, std::string, int64_t>;
std::vector<LineAmount> Amounts(const engine::BillingResult& result) {
  std::vector<LineAmount> out;
  for (const auto& invoice : result.invoices) {
    for (const auto& line : invoice.lines) {
      out.emplace_back(invoice.issuer_agency_id, invoice.recipient_agency_id,
                       line.service_point_id, line.pool, std::string(engine::KeyName(line.key)),
                       line.weight_pct_e4,
                       line.adjusts_quarter ? engine::QuarterName(*line.adjusts_quarter) : "",
                       line.amount_cents);
    }
  }
  return out;
}

std::string WithAgency(const std::string& agency) {
  std::string text = kEvents;
  for (size_t at = 0; (at = text.find("AGENCY", at)) != std::string::npos; at += agency.size()) {
    text.replace(at, 6, agency);
  }
  return text;
}

class SuccessionBillingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           fmt::format("tori-succession-test-{}-{}", ::getpid(),
                       ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    Open("a");
  }
  void TearDown() override {
    log_.reset();
    state_.reset();
    fs::remove_all(dir_);
  }
  // A data directory of its own per scenario.
  void Open(const std::string& name) {
    log_.reset();
    state_.reset();
    data_ = dir_ / name;
    fs::create_directories(data_);
    log_ = *EmbeddedLog::Open((data_ / "log").string());
    state_ = *StateStore::Open((data_ / "state").string());
  }
  void Ingest(const std::string& events) {
    const std::string path = (data_ / fmt::format("events-{}.jsonl", files_++)).string();
    std::ofstream(path) << events << "\n";
    IngestOptions options;
    options.now = absl::FromUnixSeconds(1790000000);  // 2026-09
    auto summary = IngestFile(path, *log_, *state_, options);
    ASSERT_TRUE(summary.ok()) << summary.status();
    ASSERT_EQ(summary->rejected, 0u) << "see " << path << ".rejected.jsonl";
  }
  engine::BillingResult Bill(engine::Quarter quarter, const std::string& out, bool dry_run) {
    BillRequest request;
    request.quarter = quarter;
    request.out_dir = (data_ / out).string();
    request.dry_run = dry_run;
    request.scratch_dir = (data_ / "scratch").string();
    request.now = absl::FromUnixSeconds(1790000000);
    auto outcome = tori::Bill(*log_, *state_, request);
    EXPECT_TRUE(outcome.ok()) << outcome.status();
    return outcome.ok() ? outcome->result : engine::BillingResult{};
  }
  std::string Read(const std::string& out, const std::string& name) {
    std::ifstream in(data_ / out / name);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }

  fs::path dir_, data_;
  int files_ = 0;
  std::unique_ptr<EventLog> log_;
  std::unique_ptr<StateStore> state_;
};

TEST_F(SuccessionBillingTest, TheSuccessorIsBilledExactlyWhatItWouldBeHadItsIdStoodThere) {
  Ingest(WithAgency("vantaa-kerava-tyo"));
  const engine::BillingResult direct = Bill({2025, 1}, "out", /*dry_run=*/true);

  Open("b");
  Ingest(WithAgency("te-uusimaa"));
  Ingest(kSuccession);
  const engine::BillingResult succeeded = Bill({2025, 1}, "out", /*dry_run=*/true);

  ASSERT_FALSE(Amounts(direct).empty());
  EXPECT_EQ(Amounts(succeeded), Amounts(direct));
  EXPECT_EQ(succeeded.host_shares, direct.host_shares);
  for (const auto& invoice : succeeded.invoices) {
    EXPECT_NE(invoice.recipient_agency_id, "te-uusimaa");
    for (const auto& line : invoice.lines) {
      EXPECT_EQ(line.predecessor_agency_id.has_value(),
                invoice.recipient_agency_id == "vantaa-kerava-tyo");
    }
  }
}

TEST_F(SuccessionBillingTest, ContactsRecordedUnderThePredecessorAfterTheDateWarn) {
  Ingest(WithAgency("te-uusimaa"));
  Ingest(kSuccession);
  const engine::BillingResult result = Bill({2025, 1}, "out", /*dry_run=*/true);
  std::vector<engine::Warning> warnings;
  for (const auto& w : result.warnings) {
    if (w.code == engine::WarningCode::kPredecessorContact) warnings.push_back(w);
  }
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_EQ(warnings[0].agency_id, "te-uusimaa");
  EXPECT_EQ(warnings[0].successor_agency_id, "vantaa-kerava-tyo");
  EXPECT_EQ(warnings[0].contacts, 2);  // x3 and x4; x1 was in 2024Q4, the TE office's
  EXPECT_THAT(Read("out", "draft-invoices.json"), HasSubstr("PREDECESSOR_CONTACT"));
  // Before the date nothing warns: 2024Q4 is the predecessor's own.
  for (const auto& w : Bill({2024, 4}, "q4", /*dry_run=*/true).warnings) {
    EXPECT_NE(w.code, engine::WarningCode::kPredecessorContact);
  }
}

TEST_F(SuccessionBillingTest, AnAdjustmentOfThePredecessorsQuarterGoesToTheSuccessorNamingIt) {
  Ingest(WithAgency("te-uusimaa"));
  Ingest(kSuccession);
  const engine::BillingResult q4 = Bill({2024, 4}, "q4", /*dry_run=*/false);
  ASSERT_EQ(q4.invoices.size(), 2u);
  EXPECT_EQ(q4.invoices[1].recipient_agency_id, "te-uusimaa");  // before the date
  // A late cost of 2024Q4 (premises, 1000.00 more).
  Ingest(R"({"event_id":"k9","type":"cost_posted","occurred_at":"2025-01-20T08:00:00Z","cost_id":"k9","service_point_id":"tikkurila","pool":"premises","period":"2024-12","amount":"1000.00","description":"vuokran tarkistus"})");
  const engine::BillingResult q1 = Bill({2025, 1}, "q1", /*dry_run=*/false);
  const engine::Invoice* successor = nullptr;
  for (const auto& invoice : q1.invoices) {
    EXPECT_NE(invoice.recipient_agency_id, "te-uusimaa") << invoice.invoice_id;
    if (invoice.recipient_agency_id == "vantaa-kerava-tyo") successor = &invoice;
  }
  ASSERT_NE(successor, nullptr);
  std::vector<const engine::InvoiceLine*> adjustments;
  for (const auto& line : successor->lines) {
    if (line.adjusts_quarter) adjustments.push_back(&line);
  }
  ASSERT_EQ(adjustments.size(), 1u);
  EXPECT_EQ(adjustments[0]->pool, "premises");
  EXPECT_EQ(engine::QuarterName(*adjustments[0]->adjusts_quarter), "2024Q4");
  EXPECT_EQ(adjustments[0]->amount_cents, 37500);  // 150 of 400 m2 of 1000.00
  EXPECT_EQ(adjustments[0]->predecessor_agency_id, "te-uusimaa");

  // Every format names the predecessor; the e-invoices go to the successor's address.
  const std::string id = successor->invoice_id;
  EXPECT_EQ(id, "2025Q1-vantaa-vantaa-kerava-tyo");
  EXPECT_THAT(Read("q1", "invoices.json"), HasSubstr(R"("predecessor_agency_id":"te-uusimaa")"));
  EXPECT_THAT(Read("q1", "invoice-" + id + ".csv"), HasSubstr(",te-uusimaa,\n"));
  const std::string finvoice = Read("q1", "finvoice-" + id + ".xml");
  EXPECT_THAT(finvoice, HasSubstr("edeltäjän sijaan: te-uusimaa"));
  EXPECT_THAT(finvoice, HasSubstr("003734572138"));
  EXPECT_THAT(finvoice, HasSubstr("3457213-8"));
  EXPECT_THAT(finvoice, Not(HasSubstr("003722969621")));
  EXPECT_THAT(finvoice, Not(HasSubstr("2296962-1")));
  EXPECT_THAT(Read("q1", "report-2025Q1.html"), HasSubstr("Uudenmaan TE-toimisto"));

  // Re-billing the issued quarter and verifying give the same bytes (the predecessor
  // is part of the issued document).
  const engine::BillingResult again = Bill({2025, 1}, "q1-again", /*dry_run=*/false);
  EXPECT_EQ(Read("q1-again", "invoices.json"), Read("q1", "invoices.json"));
  auto report = Verify(*log_, (data_ / "verify").string());
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_TRUE(report->ok());
  // The next quarter finds nothing more to adjust: the successor's adjustment stands
  // for the predecessor's quarter.
  const engine::BillingResult q2 = Bill({2025, 2}, "q2", /*dry_run=*/true);
  for (const auto& invoice : q2.invoices) {
    for (const auto& line : invoice.lines) EXPECT_FALSE(line.adjusts_quarter) << invoice.invoice_id;
  }
}

// The host itself succeeded (issue #18's debt): vantaa's duties as host pass to a
// municipal company on 1.1.2025. Its invoices of 2025Q1 and the adjustment of vantaa's
// own 2024Q4 come from the successor, every line naming the host it replaced, in every
// format, and the successor's account is the one paid to.
TEST_F(SuccessionBillingTest, WhenTheHostIsSucceededEveryLineNamesThePredecessorHost) {
  Ingest(WithAgency("te-uusimaa"));
  Ingest(R"({"event_id":"a9","type":"agency_registered","occurred_at":"2024-09-01T08:00:00Z","agency_id":"vantaa-palvelut","name":"Vantaan Asiointipalvelut","kind":"municipality","business_id":"1234567-1","iban":"FI4250001510000023","bic":"OKOYFIHH"})");
  Ingest(R"({"event_id":"u9","type":"agency_succeeded","occurred_at":"2024-12-01T08:00:00Z","agency_id":"vantaa","successor_agency_id":"vantaa-palvelut","effective_from":"2025-01-01"})");
  const engine::BillingResult q4 = Bill({2024, 4}, "q4", /*dry_run=*/false);
  ASSERT_FALSE(q4.invoices.empty());
  for (const auto& invoice : q4.invoices) {
    EXPECT_EQ(invoice.issuer_agency_id, "vantaa");  // before the date: its own quarter
    for (const auto& line : invoice.lines) EXPECT_FALSE(line.predecessor_host_agency_id) << invoice.invoice_id;
  }
  EXPECT_THAT(Read("q4", "invoices.json"), Not(HasSubstr("predecessor_host_agency_id\":")));
  Ingest(R"({"event_id":"k9","type":"cost_posted","occurred_at":"2025-01-20T08:00:00Z","cost_id":"k9","service_point_id":"tikkurila","pool":"premises","period":"2024-12","amount":"1000.00","description":"vuokran tarkistus"})");
  const engine::BillingResult q1 = Bill({2025, 1}, "q1", /*dry_run=*/false);
  ASSERT_EQ(q1.invoices.size(), 2u);
  int adjustments = 0;
  for (const auto& invoice : q1.invoices) {
    EXPECT_EQ(invoice.issuer_agency_id, "vantaa-palvelut") << invoice.invoice_id;
    for (const auto& line : invoice.lines) {
      EXPECT_EQ(line.predecessor_host_agency_id, "vantaa") << invoice.invoice_id << " " << line.pool;
      adjustments += line.adjusts_quarter.has_value();
    }
  }
  EXPECT_EQ(adjustments, 2);  // kela's and te-uusimaa's share of k9
  for (const auto& share : q1.host_shares) EXPECT_EQ(share.agency_id, "vantaa-palvelut");

  const std::string id = "2025Q1-vantaa-palvelut-kela";
  const std::string json = Read("q1", "invoices.json");
  EXPECT_THAT(json, HasSubstr(R"("predecessor_host_agency_id":"vantaa")"));
  const std::string csv = Read("q1", "invoice-" + id + ".csv");
  EXPECT_THAT(csv, HasSubstr(",predecessor_agency_id,predecessor_host_agency_id\n"));
  EXPECT_THAT(csv, HasSubstr(",vantaa\n"));
  for (const std::string& name : {"finvoice-" + id + ".xml", "peppol-" + id + ".xml"}) {
    const std::string xml = Read("q1", name);
    EXPECT_THAT(xml, HasSubstr("isäntänä edeltäjän sijaan: vantaa")) << name;
    EXPECT_THAT(xml, HasSubstr("FI4250001510000023")) << name;  // the successor's IBAN
    EXPECT_THAT(xml, Not(HasSubstr("FI2112345600000785"))) << name;
  }
  EXPECT_THAT(Read("q1", "report-2025Q1.html"), HasSubstr("isäntänä edeltäjän sijaan: Vantaan kaupunki"));
  // The workbook's shared strings (deflated in the zip; unzip reads them).
  const std::string xlsx = (data_ / "q1" / "invoices-2025Q1.xlsx").string();
  if (FILE* pipe = ::popen(("unzip -p '" + xlsx + "' xl/sharedStrings.xml").c_str(), "r")) {
    std::string strings;
    char buffer[4096];
    for (size_t n; (n = fread(buffer, 1, sizeof buffer, pipe)) > 0;) strings.append(buffer, n);
    EXPECT_EQ(::pclose(pipe), 0);
    EXPECT_THAT(strings, HasSubstr("isäntänä edeltäjän sijaan: Vantaan kaupunki"));
  } else {
    ADD_FAILURE() << "cannot run unzip";
  }

  // Issued: the same bytes again, and verify recomputes them.
  Bill({2025, 1}, "q1-again", /*dry_run=*/false);
  EXPECT_EQ(Read("q1-again", "invoices.json"), json);
  auto report = Verify(*log_, (data_ / "verify").string());
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_TRUE(report->ok());
}

}  // namespace
}  // namespace tori
