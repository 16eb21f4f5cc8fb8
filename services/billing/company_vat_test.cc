// Partners that are companies (SPEC section 8, issue #18) end to end through the real
// embedded log and RocksDB: the VAT at the rate in force on the invoice date (24 % to
// 31.8.2024, 25.5 % from 1.9.2024, the Helsinki date of the run), once per invoice and
// half away from zero, in the issued event, invoices.json, the CSV, the e-invoices (every
// UBL file passes the Peppol validator) and the report; re-bills and verify agree.
//
// The quarter, by hand: espoo hosts, kela (an authority) and posti (a company) are the
// parties, every pool split equally over the three.
//   premises 609.00 -> 20 300 c each; shared_staff 9.00 -> 300 c each.
//   posti's invoice: 20 600 c. VAT at 24 %: 4 944 c exactly. At 25.5 %: 5 253 c exactly,
//   where a VAT per line would give 5 177 (5 176.5) + 77 (76.5) = 5 254: it is per invoice.
#include <filesystem>
#include <fstream>
#include <sstream>

#include "events/codec/codec.h"
#include "events/log/embedded_log.h"
#include "fmt/format.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/billing/billing.h"
#include "services/ingest/ingest.h"
#include "services/billing/internal/issued.h"
#include "tests/peppol_validate.h"

namespace tori {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;

const char kEvents[] = R"(
{"event_id":"a1","type":"agency_registered","occurred_at":"2024-03-01T08:00:00Z","agency_id":"espoo","name":"Espoon kaupunki","kind":"municipality","business_id":"0101263-6","einvoice_address":"003701012636","iban":"FI2112345600000785","bic":"NDEAFIHH"}
{"event_id":"a2","type":"agency_registered","occurred_at":"2024-03-01T08:00:00Z","agency_id":"kela","name":"Kela","kind":"kela","business_id":"0246246-0","einvoice_address":"003702462460"}
{"event_id":"a3","type":"agency_registered","occurred_at":"2024-03-01T08:00:00Z","agency_id":"posti","name":"Posti Oy","kind":"company","business_id":"0109357-9","einvoice_address":"003701093579"}
{"event_id":"p1","type":"service_point_opened","occurred_at":"2024-03-01T08:00:00Z","service_point_id":"iso","name":"Iso Omena","municipality":"Espoo","host_agency_id":"espoo","total_area_m2":"1000"}
{"event_id":"g1","type":"agreement_signed","occurred_at":"2024-03-01T08:00:00Z","agreement_id":"a","version":1,"service_point_id":"iso","effective_from":"2024-04-01","parties":["espoo","kela","posti"],"pools":{"premises":{"tranches":[{"weight_pct":"100","key":"equal"}]},"shared_staff":{"tranches":[{"weight_pct":"100","key":"equal"}]}}}
{"event_id":"c1","type":"cost_posted","occurred_at":"2024-06-30T08:00:00Z","cost_id":"k1","service_point_id":"iso","pool":"premises","period":"2024-06","amount":"609.00","description":"rent"}
{"event_id":"c2","type":"cost_posted","occurred_at":"2024-05-31T08:00:00Z","cost_id":"k2","service_point_id":"iso","pool":"shared_staff","period":"2024-05","amount":"9.00","description":"advisors"}
)";

constexpr engine::Quarter kQ2{2024, 2};
constexpr engine::Quarter kQ3{2024, 3};

class CompanyVatTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           fmt::format("tori-company-vat-test-{}-{}", ::getpid(),
                       ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    log_ = *EmbeddedLog::Open((dir_ / "data/log").string());
    state_ = *StateStore::Open((dir_ / "data/state").string());
    Ingest(kEvents);
  }
  void TearDown() override {
    log_.reset();
    state_.reset();
    fs::remove_all(dir_);
  }

  void Ingest(const std::string& events) {
    const std::string path = (dir_ / fmt::format("events-{}.jsonl", files_++)).string();
    std::ofstream(path) << events;
    IngestOptions options;
    options.now = absl::FromUnixSeconds(1735000000);  // 2024-12
    auto summary = IngestFile(path, *log_, *state_, options);
    ASSERT_TRUE(summary.ok()) << summary.status();
    ASSERT_EQ(summary->rejected, 0u) << "see " << path << ".rejected.jsonl";
  }

  // Bills at the instant `utc` ("2024-08-31T20:30:00Z"); `out` under the test directory.
  absl::StatusOr<BillOutcome> BillAt(engine::Quarter quarter, const std::string& utc,
                                     const std::string& out, bool dry_run = false) {
    BillRequest request;
    request.quarter = quarter;
    request.out_dir = (dir_ / out).string();
    request.dry_run = dry_run;
    request.scratch_dir = (dir_ / "scratch").string();
    std::string error;
    EXPECT_TRUE(absl::ParseTime(absl::RFC3339_full, utc, &request.now, &error)) << error;
    return Bill(*log_, *state_, request);
  }

  std::string ReadFile(const std::string& out, const std::string& name) {
    std::ifstream in(dir_ / out / name);
    EXPECT_TRUE(in.good()) << out << "/" << name << " was not written";
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }

  static const engine::Invoice& Find(const engine::BillingResult& result, const std::string& id) {
    for (const auto& invoice : result.invoices) {
      if (invoice.invoice_id == id) return invoice;
    }
    ADD_FAILURE() << "no invoice " << id;
    static const engine::Invoice none;
    return none;
  }

  fs::path dir_;
  int files_ = 0;
  std::unique_ptr<EventLog> log_;
  std::unique_ptr<StateStore> state_;
};

// The invoice date is the Helsinki date of the run: 2024-08-31T20:30Z is 23:30 on 31.8.
// (24 %), 2024-08-31T21:30Z is 00:30 on 1.9. (25.5 %).
TEST_F(CompanyVatTest, TheRateIsTheOneInForceOnTheHelsinkiInvoiceDate) {
  const struct {
    const char* now_utc;
    int64_t rate_pct_e4;
    int64_t vat_cents;
  } kCases[] = {
      {"2024-07-01T09:00:00Z", 240'000, 4'944},
      {"2024-08-31T20:30:00Z", 240'000, 4'944},
      {"2024-08-31T21:30:00Z", 255'000, 5'253},  // not 5 254: once on the total
      {"2026-01-15T09:00:00Z", 255'000, 5'253},
  };
  for (const auto& c : kCases) {
    SCOPED_TRACE(c.now_utc);
    auto outcome = BillAt(kQ2, c.now_utc, "dry", /*dry_run=*/true);
    ASSERT_TRUE(outcome.ok()) << outcome.status();
    const engine::Invoice& posti = Find(outcome->result, "2024Q2-espoo-posti");
    EXPECT_EQ(posti.total_cents, 20'600);
    ASSERT_TRUE(posti.vat.has_value());
    EXPECT_EQ(posti.vat->rate_pct_e4, c.rate_pct_e4);
    EXPECT_EQ(posti.vat->vat_cents, c.vat_cents);
    EXPECT_FALSE(Find(outcome->result, "2024Q2-espoo-kela").vat.has_value());
  }
}

// Issued on 1.9.2024: the VAT is in the event and the hashed document; a re-bill later
// keeps the rate of the stored invoice date and the bytes; verify recomputes it.
TEST_F(CompanyVatTest, IssuedVatIsInTheEventTheHashAndEveryReBill) {
  auto issued = BillAt(kQ2, "2024-08-31T21:30:00Z", "out");
  ASSERT_TRUE(issued.ok()) << issued.status();
  const std::string json = ReadFile("out", "invoices.json");
  EXPECT_THAT(json, HasSubstr(R"("total_cents":20600,"total":"206.00","vat_rate_pct":"25.5000",)"
                              R"("vat_cents":5253,"vat":"52.53","total_with_vat_cents":25853,)"
                              R"("total_with_vat":"258.53","lines")"));
  // The authority's invoice names no VAT at all (its bytes as before companies).
  const size_t kela = json.find(R"("invoice_id":"2024Q2-espoo-kela")");
  ASSERT_NE(kela, std::string::npos);
  EXPECT_THAT(json.substr(kela, json.find('\n', kela) - kela), Not(HasSubstr("vat")));

  auto loaded = billing_internal::LoadIssued(*state_);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  bool found = false;
  for (const auto& e : loaded->invoice_events) {
    if (e.invoice_id() == "2024Q2-espoo-posti") {
      found = true;
      EXPECT_EQ(e.vat_rate_pct_e4(), 255'000);
      EXPECT_EQ(e.vat_cents(), 5'253);
      EXPECT_EQ(e.total_cents(), 20'600);
      EXPECT_EQ(e.issue_date(), "2024-09-01");
      auto document = IssuedInvoice(e);
      ASSERT_TRUE(document.ok());
      EXPECT_EQ(Sha256Hex(InvoiceJson(*document)), e.content_sha256());
    } else {
      EXPECT_FALSE(e.has_vat_rate_pct_e4()) << e.invoice_id();
      EXPECT_FALSE(e.has_vat_cents()) << e.invoice_id();
    }
  }
  EXPECT_TRUE(found);

  // A re-bill in 2026 still uses the rate of 1.9.2024's invoice date, byte for byte.
  auto rebilled = BillAt(kQ2, "2026-01-15T09:00:00Z", "again");
  ASSERT_TRUE(rebilled.ok()) << rebilled.status();
  EXPECT_TRUE(rebilled->already_issued);
  EXPECT_EQ(ReadFile("again", "invoices.json"), json);
  EXPECT_EQ(ReadFile("again", "finvoice-2024Q2-espoo-posti.xml"),
            ReadFile("out", "finvoice-2024Q2-espoo-posti.xml"));
  EXPECT_EQ(ReadFile("again", "peppol-2024Q2-espoo-posti.xml"),
            ReadFile("out", "peppol-2024Q2-espoo-posti.xml"));

  // The e-invoices of the API route are the files bill wrote.
  auto einvoices = IssuedEInvoices(*log_, *state_, "2024Q2-espoo-posti", documents::Language::kFi,
                                   (dir_ / "scratch").string());
  ASSERT_TRUE(einvoices.ok()) << einvoices.status();
  EXPECT_EQ(einvoices->peppol_xml, ReadFile("out", "peppol-2024Q2-espoo-posti.xml"));

  auto report = Verify(*log_, (dir_ / "verify").string());
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_TRUE(report->ok()) << VerifyJson(*report);
  EXPECT_EQ(report->documents.size(), 2u);
}

// Every format names the company's VAT; the authority's e-invoices stay category O; the
// validator accepts every UBL file of the run.
TEST_F(CompanyVatTest, ACompanysInvoiceCarriesItsVatInEveryFormat) {
  auto issued = BillAt(kQ2, "2024-08-15T09:00:00Z", "out");
  ASSERT_TRUE(issued.ok()) << issued.status();
  const std::string csv = ReadFile("out", "invoice-2024Q2-espoo-posti.csv");
  EXPECT_THAT(csv, HasSubstr("\nTOTAL,2024Q2-espoo-posti,,,,,,,,,,,20600,206.00,,,,,\n"
                             "VAT,2024Q2-espoo-posti,,,,,,,24.0000,,,,4944,49.44,,,,,\n"
                             "TOTAL_WITH_VAT,2024Q2-espoo-posti,,,,,,,,,,,25544,255.44,,,,,\n"));
  EXPECT_THAT(ReadFile("out", "invoice-2024Q2-espoo-kela.csv"), Not(HasSubstr("VAT")));

  const std::string finvoice = ReadFile("out", "finvoice-2024Q2-espoo-posti.xml");
  EXPECT_THAT(finvoice, HasSubstr("<VatRatePercent>24</VatRatePercent>"));
  EXPECT_THAT(finvoice, HasSubstr("<VatCode>S</VatCode>"));
  EXPECT_THAT(finvoice, HasSubstr("<InvoiceTotalVatAmount AmountCurrencyIdentifier=\"EUR\">49,44</InvoiceTotalVatAmount>"));
  EXPECT_THAT(finvoice, HasSubstr("<SellerOrganisationTaxCode>FI01012636</SellerOrganisationTaxCode>"));
  EXPECT_THAT(ReadFile("out", "finvoice-2024Q2-espoo-kela.xml"), HasSubstr("<VatCode>O</VatCode>"));

  const std::string ubl = ReadFile("out", "peppol-2024Q2-espoo-posti.xml");
  EXPECT_THAT(ubl, HasSubstr("<cbc:ID>S</cbc:ID>"));
  EXPECT_THAT(ubl, HasSubstr("<cbc:Percent>24</cbc:Percent>"));
  EXPECT_THAT(ubl, HasSubstr("<cbc:TaxAmount currencyID=\"EUR\">49.44</cbc:TaxAmount>"));
  EXPECT_THAT(ubl, HasSubstr("<cbc:PayableAmount currencyID=\"EUR\">255.44</cbc:PayableAmount>"));
  EXPECT_THAT(ReadFile("out", "peppol-2024Q2-espoo-kela.xml"), Not(HasSubstr("<cbc:Percent>")));

  const std::string html = ReadFile("out", "report-2024Q2.html");
  EXPECT_THAT(html, HasSubstr("Yhteensä sis. ALV"));
  EXPECT_THAT(html, HasSubstr("255,44"));
  EXPECT_TRUE(fs::exists(dir_ / "out" / "invoices-2024Q2.xlsx"));

  std::vector<std::string> ubl_files;
  for (const auto& entry : fs::directory_iterator(dir_ / "out")) {
    if (entry.path().filename().string().starts_with("peppol-")) ubl_files.push_back(entry.path().string());
  }
  ASSERT_EQ(ubl_files.size(), 2u);
  const testing::PeppolVerdict verdict = testing::PeppolValidate(ubl_files);
  EXPECT_EQ(verdict.exit_code, 0) << verdict.output;
  EXPECT_THAT(verdict.output, HasSubstr("valid: 2 file(s)"));
}

// Adjustments to a company get VAT too: on the next quarter's invoice, at that invoice's
// rate, on its whole total. Q2 issued at 24 %; a late 3.00 for Q2's shared staff (100 c
// each) reaches Q3, billed after 1.9.2024: posti 20 300 + 100 = 20 400 c, VAT 5 202 c.
TEST_F(CompanyVatTest, AnAdjustmentOnACompanysInvoiceTakesThatInvoicesRate) {
  ASSERT_TRUE(BillAt(kQ2, "2024-08-15T09:00:00Z", "q2").ok());
  Ingest(R"(
{"event_id":"c3","type":"cost_posted","occurred_at":"2024-08-20T08:00:00Z","cost_id":"k3","service_point_id":"iso","pool":"shared_staff","period":"2024-06","amount":"3.00","description":"late advisors"}
{"event_id":"c4","type":"cost_posted","occurred_at":"2024-09-30T08:00:00Z","cost_id":"k4","service_point_id":"iso","pool":"premises","period":"2024-07","amount":"609.00","description":"rent"}
)");
  auto q3 = BillAt(kQ3, "2024-10-15T09:00:00Z", "q3");
  ASSERT_TRUE(q3.ok()) << q3.status();
  const engine::Invoice& posti = Find(q3->result, "2024Q3-espoo-posti");
  ASSERT_EQ(posti.lines.size(), 2u);
  EXPECT_EQ(posti.lines[1].adjusts_quarter, kQ2);
  EXPECT_EQ(posti.lines[1].amount_cents, 100);
  EXPECT_EQ(posti.total_cents, 20'400);
  ASSERT_TRUE(posti.vat.has_value());
  EXPECT_EQ(posti.vat->rate_pct_e4, 255'000);
  EXPECT_EQ(posti.vat->vat_cents, 5'202);
  EXPECT_FALSE(Find(q3->result, "2024Q3-espoo-kela").vat.has_value());
  auto report = Verify(*log_, (dir_ / "verify").string());
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_TRUE(report->ok()) << VerifyJson(*report);
}

}  // namespace
}  // namespace tori
