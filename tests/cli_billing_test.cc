// `tori bill` end to end as a finance officer meets it (issue #15): refusals of runs
// that could not be undone, agency details that change after registration, and what
// the documents say about adjustments and capped claims.
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "fmt/format.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/peppol_validate.h"
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

class CliBillingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           fmt::format("tori-cli-billing-test-{}-{}", ::getpid(),
                       ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    data_ = (dir_ / "data").string();
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Ingests `events` (JSON Lines) and expects every line accepted.
  void Ingest(const std::string& events) {
    const fs::path file = dir_ / fmt::format("events-{}.jsonl", files_++);
    std::ofstream(file) << events;
    auto run = Tori(fmt::format("ingest --data {} {}", data_, file.string()));
    ASSERT_EQ(run.exit_code, 0) << run.out;
    ASSERT_THAT(run.out, HasSubstr("rejected 0")) << run.out;
  }
  void IngestSample() {
    auto run = Tori(fmt::format("ingest --data {} {}/examples/sample.jsonl", data_, TORI_SOURCE_DIR));
    ASSERT_EQ(run.exit_code, 0) << run.out;
  }
  tori::testing::CommandResult Bill(const std::string& quarter, const std::string& out,
                                    const std::string& flags = "") {
    return Tori(fmt::format("bill --data {} --quarter {} --out {} {}", data_, quarter,
                            (dir_ / out).string(), flags));
  }
  // The issued documents' count, from `tori verify`.
  std::string Verified() { return Tori("verify --data " + data_).out; }

  fs::path dir_;
  std::string data_;
  int files_ = 0;
};

// Issue #15.1: a quarter that has not ended, or one without costs, issued by mistake
// could never be billed properly again; refused unless --force, dry runs allowed.
TEST_F(CliBillingTest, AQuarterThatHasNotEndedIsRefusedUnlessForced) {
  IngestSample();
  auto refused = Bill("2099Q1", "early");
  EXPECT_EQ(refused.exit_code, 1) << refused.out;
  EXPECT_THAT(refused.out, HasSubstr("2099Q1 has not ended: it ends on 2099-04-01 00:00 Helsinki time"));
  EXPECT_THAT(refused.out, HasSubstr("--dry-run"));
  EXPECT_THAT(refused.out, HasSubstr("--force"));
  EXPECT_FALSE(fs::exists(dir_ / "early/invoices.json"));
  EXPECT_THAT(Verified(), HasSubstr("verified 0 documents"));

  auto dry = Bill("2099Q1", "dry", "--dry-run");
  EXPECT_EQ(dry.exit_code, 0) << dry.out;
  EXPECT_THAT(Verified(), HasSubstr("verified 0 documents"));
}

TEST_F(CliBillingTest, AQuarterWithoutCostsIsRefusedUnlessForced) {
  IngestSample();
  auto refused = Bill("2026Q2", "q2");
  EXPECT_EQ(refused.exit_code, 1) << refused.out;
  EXPECT_THAT(refused.out, HasSubstr("2026Q2 has no costs at any service point"));
  EXPECT_THAT(refused.out, HasSubstr("Ingest the quarter's costs first"));
  EXPECT_THAT(Verified(), HasSubstr("verified 0 documents"));
  EXPECT_EQ(Bill("2026Q2", "dry", "--dry-run").exit_code, 0);

  auto forced = Bill("2026Q2", "forced", "--force");
  EXPECT_EQ(forced.exit_code, 0) << forced.out;
  EXPECT_THAT(Verified(), Not(HasSubstr("verified 0 documents")));
  // The ended quarter with costs needs no --force.
  auto q1 = Bill("2026Q1", "q1");
  EXPECT_EQ(q1.exit_code, 0) << q1.out;
}

TEST_F(CliBillingTest, HelpNamesForce) {
  auto help = Tori("bill --help");
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_THAT(help.out, HasSubstr("--force"));
  EXPECT_THAT(help.out, HasSubstr("has not ended"));
}

// Issue #15.8: an agency registered without an IBAN gets it later with agency_updated;
// without it the workbook and the report are still written (only a Finvoice names the
// account). Documents issued before the update keep the details they were issued with.
TEST_F(CliBillingTest, AnIbanAddedLaterReachesTheNextQuartersFinvoicesOnly) {
  std::string sample = ReadAll(fs::path(TORI_SOURCE_DIR) / "examples/sample.jsonl");
  const std::string account = R"(,"iban":"FI2112345600000785","bic":"NDEAFIHH")";
  ASSERT_NE(sample.find(account), std::string::npos);
  sample.erase(sample.find(account), account.size());
  Ingest(sample);

  auto q1 = Bill("2026Q1", "q1");
  ASSERT_EQ(q1.exit_code, 0) << q1.out;
  EXPECT_TRUE(fs::exists(dir_ / "q1/invoices-2026Q1.xlsx"));
  EXPECT_TRUE(fs::exists(dir_ / "q1/report-2026Q1.html"));
  EXPECT_FALSE(fs::exists(dir_ / "q1/finvoice-2026Q1-espoo-kela.xml"));
  EXPECT_THAT(q1.out, HasSubstr("no Finvoice for the invoices of espoo"));
  EXPECT_THAT(q1.out, HasSubstr("agency_updated"));

  Ingest(R"({"event_id":"upd-1","type":"agency_updated","occurred_at":"2026-04-02T08:00:00Z","agency_id":"espoo","changes":{"name":"Espoon kaupunki, palvelutorit","iban":"FI2112345600000785","bic":"NDEAFIHH"}})" "\n"
         R"({"event_id":"q2-cost","type":"cost_posted","occurred_at":"2026-04-28T12:00:00+03:00","cost_id":"iso-omena-premises-2026-04","service_point_id":"iso-omena","pool":"premises","period":"2026-04","amount":"185000.00","description":"Vuokra"})" "\n");
  // The issued quarter again: the same bytes, the details as they were.
  auto again = Bill("2026Q1", "q1-again");
  ASSERT_EQ(again.exit_code, 0) << again.out;
  for (const char* name : {"invoices.json", "invoices-2026Q1.xlsx", "report-2026Q1.html"}) {
    EXPECT_EQ(ReadAll(dir_ / "q1" / name), ReadAll(dir_ / "q1-again" / name)) << name;
  }
  EXPECT_FALSE(fs::exists(dir_ / "q1-again/finvoice-2026Q1-espoo-kela.xml"));

  auto q2 = Bill("2026Q2", "q2");
  ASSERT_EQ(q2.exit_code, 0) << q2.out;
  EXPECT_THAT(q2.out, Not(HasSubstr("no Finvoice")));
  const fs::path finvoice = dir_ / "q2/finvoice-2026Q2-espoo-kela.xml";
  ASSERT_TRUE(fs::exists(finvoice));
  const std::string xml = ReadAll(finvoice);
  EXPECT_THAT(xml, HasSubstr("FI2112345600000785"));
  EXPECT_THAT(xml, HasSubstr("Espoon kaupunki, palvelutorit"));
  auto lint = tori::testing::RunCommand(fmt::format(
      "xmllint --noout --schema {}/../shared/finvoice/Finvoice3.0.xsd {}", TORI_SOURCE_DIR, finvoice.string()));
  EXPECT_EQ(lint.exit_code, 0) << lint.out;
}

// Issue #18: beside each Finvoice, the same invoice as Peppol BIS Billing 3.0, and every
// such file passes the checks of a Peppol access point; a dry run writes none.
TEST_F(CliBillingTest, BillWritesAPeppolInvoiceBesideEachFinvoiceThatAnAccessPointAccepts) {
  IngestSample();
  auto dry = Bill("2026Q1", "dry", "--dry-run");
  ASSERT_EQ(dry.exit_code, 0) << dry.out;
  for (const auto& entry : fs::directory_iterator(dir_ / "dry")) {
    EXPECT_FALSE(entry.path().filename().string().starts_with("draft-peppol-")) << entry.path();
  }
  auto q1 = Bill("2026Q1", "q1");
  ASSERT_EQ(q1.exit_code, 0) << q1.out;
  std::vector<std::string> peppol;
  size_t finvoices = 0;
  for (const auto& entry : fs::directory_iterator(dir_ / "q1")) {
    const std::string name = entry.path().filename().string();
    if (!name.starts_with("finvoice-")) continue;
    ++finvoices;
    const fs::path ubl = dir_ / "q1" / ("peppol-" + name.substr(std::string("finvoice-").size()));
    EXPECT_TRUE(fs::exists(ubl)) << ubl;
    peppol.push_back(ubl.string());
  }
  ASSERT_GT(finvoices, 0u);
  EXPECT_THAT(q1.out, HasSubstr(fmt::format("{} Peppol BIS Billing 3.0 e-invoices", finvoices)));
  const tori::testing::PeppolVerdict verdict = tori::testing::PeppolValidate(peppol);
  EXPECT_EQ(verdict.exit_code, 0) << verdict.output;
  // Billing the issued quarter again writes both e-invoices byte for byte (the Finvoice's
  // message time stamp is the invoice date, never the clock).
  auto again = Bill("2026Q1", "q1-again");
  ASSERT_EQ(again.exit_code, 0) << again.out;
  for (const auto& ubl : peppol) {
    const std::string name = fs::path(ubl).filename().string();
    const std::string finvoice = "finvoice-" + name.substr(std::string("peppol-").size());
    for (const std::string& file : {name, finvoice}) {
      EXPECT_EQ(ReadAll(dir_ / "q1" / file), ReadAll(dir_ / "q1-again" / file)) << file;
    }
  }
}

TEST_F(CliBillingTest, AnUpdateOfAnUnknownAgencyIsRejected) {
  IngestSample();
  const fs::path file = dir_ / "update.jsonl";
  std::ofstream(file) << R"({"event_id":"upd-x","type":"agency_updated","occurred_at":"2026-04-02T08:00:00Z","agency_id":"ely","changes":{"iban":"FI2112345600000785"}})" "\n"
                      << R"({"event_id":"upd-y","type":"agency_updated","occurred_at":"2026-04-02T08:00:00Z","agency_id":"kela","changes":{}})" "\n";
  auto run = Tori(fmt::format("ingest --data {} {}", data_, file.string()));
  EXPECT_EQ(run.exit_code, 0) << run.out;
  EXPECT_THAT(run.out, HasSubstr("rejected 2"));
  const std::string rejected = ReadAll(file.string() + ".rejected.jsonl");
  EXPECT_THAT(rejected, HasSubstr(R"("reason":"UNKNOWN_REFERENCE")"));
  EXPECT_THAT(rejected, HasSubstr(R"("reason":"SCHEMA","field":"changes")"));
}

}  // namespace
