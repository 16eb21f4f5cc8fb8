// The `tori` binary end to end, as issue #15 found it used: files from Windows and
// Excel, what has been issued and what the log holds, output for other programs
// (--json) and help that names everything.
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "fmt/format.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "simdjson.h"
#include "tests/run_command.h"

namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;

using ToriRun = tori::testing::CommandResult;

ToriRun Tori(const std::string& args) {
  return tori::testing::RunCommand(fmt::format("{} {}", TORI_BINARY, args));
}

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream out;
  out << in.rdbuf();
  return out.str();
}

void WriteFile(const fs::path& path, const std::string& content) {
  std::ofstream(path, std::ios::binary) << content;
}

class CliUsersTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           fmt::format("tori-cli-users-test-{}-{}", ::getpid(),
                       ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    data_ = (dir_ / "data").string();
    sample_ = ReadFile(fs::path(TORI_SOURCE_DIR) / "examples/sample.jsonl");
  }
  void TearDown() override { fs::remove_all(dir_); }

  // The sample ingested and 2026Q1 billed (issued).
  void IngestAndBillTheSample() {
    WriteFile(dir_ / "sample.jsonl", sample_);
    ToriRun ingest = Tori(fmt::format("ingest --data {} {}", data_, (dir_ / "sample.jsonl").string()));
    ASSERT_EQ(ingest.exit_code, 0) << ingest.out;
    ToriRun bill = Tori(fmt::format("bill --data {} --quarter 2026Q1 --out {}", data_,
                                    (dir_ / "out").string()));
    ASSERT_EQ(bill.exit_code, 0) << bill.out;
  }

  fs::path dir_;
  std::string data_;
  std::string sample_;
};

// Issue #15.6: the sample saved by Notepad/Excel (byte-order mark, CRLF) was 277
// rejections of 283 lines.
TEST_F(CliUsersTest, TheSampleWithAByteOrderMarkAndCrlfIsTakenWhole) {
  std::string windows = "\xEF\xBB\xBF";
  std::istringstream lines(sample_);
  for (std::string line; std::getline(lines, line);) windows += line + "\r\n";
  WriteFile(dir_ / "windows.jsonl", windows);
  ToriRun run = Tori(fmt::format("ingest --data {} {}", data_, (dir_ / "windows.jsonl").string()));
  EXPECT_EQ(run.exit_code, 0) << run.out;
  EXPECT_THAT(run.out, HasSubstr("accepted 283, duplicates 0, rejected 0"));
}

TEST_F(CliUsersTest, IngestCountsRejectionsPerReasonAndSaysHowToConvertLatin1) {
  std::string latin1 = sample_;
  // "Kansaneläkelaitos" in Latin-1: line 2 is not UTF-8, and what refers to kela fails.
  const std::string utf8_name = "Kansanel\xC3\xA4kelaitos";
  latin1.replace(latin1.find(utf8_name), utf8_name.size(), "Kansanel\xE4kelaitos");
  WriteFile(dir_ / "latin1.jsonl", latin1);
  ToriRun run = Tori(fmt::format("ingest --data {} {}", data_, (dir_ / "latin1.jsonl").string()));
  EXPECT_EQ(run.exit_code, 0) << run.out;
  EXPECT_THAT(run.out, HasSubstr("accepted "));
  EXPECT_THAT(run.out, HasSubstr("rejected by reason: MALFORMED 1, UNKNOWN_REFERENCE "));
  EXPECT_THAT(run.out, HasSubstr("1 lines are not UTF-8"));
  EXPECT_THAT(run.out, HasSubstr("iconv -f windows-1252 -t utf-8 " + (dir_ / "latin1.jsonl").string()));
}

// Issue #15.7: kela's export from Excel (byte-order mark, `;`, CRLF, Finnish dates)
// failed with "the header has no contact_id column".
TEST_F(CliUsersTest, ReconcileReadsAnExcelExportAndComparesOccurredAt) {
  IngestAndBillTheSample();
  WriteFile(dir_ / "kela.csv",
            "\xEF\xBB\xBF" "contact_id;service_code;occurred_at\r\n"
            "iso-omena-00000;KELA-ETUUS;20.2.2026 17.03\r\n"
            "iso-omena-00014;KELA-ASUMISTUKI;1.2.2026 13.25\r\n"
            "kalajarvi-00016;KELA-ETUUS;20.1.2026 9.11\r\n");
  ToriRun run = Tori(fmt::format("reconcile --data {} --agency kela --quarter 2026Q1 {}", data_,
                                 (dir_ / "kela.csv").string()));
  EXPECT_EQ(run.exit_code, 1) << run.out;  // the file holds three of kela's contacts
  EXPECT_THAT(run.out, Not(HasSubstr("no contact_id column")));
  EXPECT_THAT(run.out, HasSubstr("matched                       2"));
  EXPECT_THAT(run.out, HasSubstr("occurred_at_differs           1"));
  EXPECT_THAT(run.out, HasSubstr("agency file 20.1.2026 9.11, tori 2026-01-20T08:11:00+02:00"));
}

TEST_F(CliUsersTest, ReconcileOfAnAgencyToriDoesNotKnowFails) {
  IngestAndBillTheSample();
  WriteFile(dir_ / "k.csv", "contact_id\niso-omena-00000\n");
  ToriRun run = Tori(fmt::format("reconcile --data {} --agency kelq --quarter 2026Q1 {}", data_,
                                 (dir_ / "k.csv").string()));
  EXPECT_EQ(run.exit_code, 1) << run.out;
  EXPECT_THAT(run.out, HasSubstr("agency 'kelq' is not an agency tori knows"));
  EXPECT_FALSE(fs::exists(dir_ / "k.csv.differences.csv"));
}

// Issue #15.10: what has been issued, with numbers and hashes.
TEST_F(CliUsersTest, StatusListsTheLogTheStateAndEveryIssuedDocument) {
  IngestAndBillTheSample();
  ToriRun run = Tori(fmt::format("status --data {}", data_));
  EXPECT_EQ(run.exit_code, 0) << run.out;
  EXPECT_THAT(run.out, HasSubstr("log    290 events, end p0:290"));
  EXPECT_THAT(run.out, HasSubstr("state  at p0:290, up to date"));
  EXPECT_THAT(run.out, HasSubstr("issued 2026Q1: 6 documents, as of p0:283"));
  EXPECT_THAT(run.out, HasSubstr("2026Q1-espoo-kela"));
  EXPECT_THAT(run.out, HasSubstr("2026100001"));
  // The hash listed is the one in the issuing event.
  ToriRun json = Tori(fmt::format("status --data {} --json", data_));
  ASSERT_EQ(json.exit_code, 0) << json.out;
  simdjson::dom::parser parser;
  auto doc = parser.parse(json.out);
  ASSERT_FALSE(doc.error()) << json.out;
  EXPECT_EQ(int64_t(doc["log_records"]), 290);
  auto kela = doc["issued_quarters"].at(0)["documents"].at(0);
  EXPECT_EQ(std::string_view(kela["document_id"]), "2026Q1-espoo-kela");
  EXPECT_EQ(std::string_view(kela["reference_number"]), "20261000010");
  ToriRun issued = Tori(fmt::format("log --data {} --type invoice_issued", data_));
  EXPECT_THAT(issued.out, HasSubstr(fmt::format("\"content_sha256\":\"{}\"",
                                                std::string_view(kela["content_sha256"]))));
}

TEST_F(CliUsersTest, LogPrintsTheCanonicalEventsThatMatchEveryFilter) {
  IngestAndBillTheSample();
  // Unfiltered, the log is the sample (canonical already) and the issued documents.
  ToriRun all = Tori(fmt::format("log --data {}", data_));
  ASSERT_EQ(all.exit_code, 0) << all.out;
  EXPECT_THAT(all.out, HasSubstr("log: 290 of 290 events"));
  ToriRun types = Tori(fmt::format("log --data {} --type invoice_issued,subsidy_claim_issued", data_));
  EXPECT_THAT(types.out, HasSubstr("log: 6 of 290 events"));
  ToriRun typo = Tori(fmt::format("log --data {} --type invoice_issue", data_));
  EXPECT_EQ(typo.exit_code, 2);
  EXPECT_THAT(typo.out, HasSubstr("--type 'invoice_issue' is no event type; the types: agency_registered, "));
  // kela's events before 2026: its registration and the agreements naming it.
  ToriRun kela = Tori(fmt::format("log --data {} --agency kela --until 2025-12-31", data_));
  EXPECT_THAT(kela.out, HasSubstr("\"agency_id\":\"kela\""));
  EXPECT_THAT(kela.out, Not(HasSubstr("contact_recorded")));
  ToriRun point = Tori(fmt::format("log --data {} --point kalajarvi --since 2026-03-01 --type cost_posted", data_));
  EXPECT_THAT(point.out, HasSubstr("kalajarvi-premises-2026-03"));
  EXPECT_THAT(point.out, Not(HasSubstr("kalajarvi-premises-2026-02")));
  EXPECT_THAT(point.out, Not(HasSubstr("iso-omena-premises")));
  // What `tori log` prints is what `tori ingest` reads (but for the documents only
  // `tori bill` may issue): the same events again are only duplicates.
  ASSERT_EQ(tori::testing::RunCommand(
                fmt::format("{{ {} log --data {} > {}; }}", TORI_BINARY, data_, (dir_ / "again.jsonl").string()))
                .exit_code,
            0);
  ToriRun again = Tori(fmt::format("ingest --data {} {}", data_, (dir_ / "again.jsonl").string()));
  EXPECT_THAT(again.out, HasSubstr("accepted 0, duplicates 283, rejected 7"));
  EXPECT_THAT(again.out, HasSubstr("rejected by reason: SCHEMA 7"));
}

TEST_F(CliUsersTest, ExplainTakesTheNumberPrintedOnTheInvoiceAndSubsidyClaims) {
  IngestAndBillTheSample();
  const std::string finvoice = ReadFile(dir_ / "out/finvoice-2026Q1-espoo-kela.xml");
  EXPECT_THAT(finvoice, HasSubstr("<InvoiceNumber>2026100001</InvoiceNumber>"));
  EXPECT_THAT(finvoice, HasSubstr(">20261000010</EpiRemittanceInfoIdentifier>"));
  for (const std::string name : {"2026100001", "20261000010", "\"2026 10000 10\"", "2026Q1-espoo-kela"}) {
    ToriRun run = Tori(fmt::format("explain --data {} --invoice {} --line 1", data_, name));
    EXPECT_EQ(run.exit_code, 0) << name << run.out;
    EXPECT_THAT(run.out, HasSubstr("invoice 2026Q1-espoo-kela (number 2026100001, reference 20261000010)"));
  }
  ToriRun claim = Tori(fmt::format("explain --data {} --invoice 2026Q1-iso-omena-vm-yhteispalvelu-espoo", data_));
  EXPECT_EQ(claim.exit_code, 0) << claim.out;
  EXPECT_THAT(claim.out, HasSubstr("basis 247480.97 EUR x 50.0000 % = 123740.49 EUR"));
  EXPECT_THAT(claim.out, HasSubstr("-> 120000.00 EUR (the cap cut 3740.49 EUR)"));
  ToriRun unknown = Tori(fmt::format("explain --data {} --invoice 2026100009", data_));
  EXPECT_EQ(unknown.exit_code, 1);
  EXPECT_THAT(unknown.out, HasSubstr("no issued invoice or subsidy claim '2026100009'"));
}

TEST_F(CliUsersTest, VerifyExplainAndReconcileSpeakJson) {
  IngestAndBillTheSample();
  simdjson::dom::parser parser;
  ToriRun verify = Tori(fmt::format("verify --data {} --json", data_));
  EXPECT_EQ(verify.exit_code, 0) << verify.out;
  auto v = parser.parse(verify.out);
  ASSERT_FALSE(v.error()) << verify.out;
  EXPECT_EQ(int64_t(v["documents_ok"]), 6);
  EXPECT_EQ(std::string_view(v["documents"].at(0)["status"]), "OK");

  ToriRun explain = Tori(fmt::format("explain --data {} --invoice 2026100001 --json", data_));
  EXPECT_EQ(explain.exit_code, 0) << explain.out;
  auto e = parser.parse(explain.out);
  ASSERT_FALSE(e.error()) << explain.out;
  EXPECT_EQ(std::string_view(e["document_id"]), "2026Q1-espoo-kela");
  int64_t lines_cents = 0;
  for (auto line : e["lines"].get_array()) lines_cents += int64_t(line["amount_cents"]);
  EXPECT_EQ(lines_cents, int64_t(e["amount_cents"]));

  WriteFile(dir_ / "kela.csv", "contact_id\niso-omena-00000\nnot-a-contact\n");
  ToriRun reconcile = Tori(fmt::format("reconcile --data {} --agency kela --quarter 2026Q1 --json {}", data_,
                                       (dir_ / "kela.csv").string()));
  EXPECT_EQ(reconcile.exit_code, 1) << reconcile.out;
  auto r = parser.parse(reconcile.out);
  ASSERT_FALSE(r.error()) << reconcile.out;
  EXPECT_EQ(int64_t(r["matched"]), 1);
  EXPECT_EQ(int64_t(r["differences_by_status"]["only_in_agency_file"]), 1);
  EXPECT_EQ(std::string_view(r["differences"].at(0)["status"]), "only_in_agency_file");
}

// `--as-of` a date: the log as it stood at the end of that Helsinki day.
TEST_F(CliUsersTest, BillAsOfADateIsTheLogUpToItsFirstLaterEvent) {
  IngestAndBillTheSample();
  ToriRun before = Tori(fmt::format("bill --data {} --quarter 2026Q1 --dry-run --as-of 2025-12-31 --out {}", data_,
                                    (dir_ / "dry").string()));
  EXPECT_EQ(before.exit_code, 0) << before.out;
  // The sample's reference data occurred on 1.12.2025, its first cost on 31.1.2026.
  EXPECT_THAT(before.out, HasSubstr("as of 2025-12-31T22:00:00Z: log position p0:"));
  EXPECT_THAT(before.out, HasSubstr("0 invoices"));
  ToriRun after = Tori(fmt::format("bill --data {} --quarter 2026Q1 --dry-run --as-of 2027-01-01T00:00:00Z --out {}",
                                   data_, (dir_ / "dry2").string()));
  EXPECT_EQ(after.exit_code, 0) << after.out;
  EXPECT_THAT(after.out, HasSubstr("log position p0:290"));
  EXPECT_EQ(Tori(fmt::format("bill --data {} --quarter 2026Q1 --dry-run --as-of yesterday --out {}", data_,
                             (dir_ / "dry3").string()))
                .exit_code,
            2);
}

// Issue #15.14.
TEST_F(CliUsersTest, AMistypedCommandSuggestsTheNearest) {
  ToriRun bil = Tori("bil --quarter 2026Q1");
  EXPECT_EQ(bil.exit_code, 2);
  EXPECT_THAT(bil.out, HasSubstr("did you mean `tori bill`?"));
  EXPECT_THAT(Tori("verfy").out, HasSubstr("did you mean `tori verify`?"));
  EXPECT_THAT(Tori("recon").out, HasSubstr("did you mean `tori reconcile`?"));
  ToriRun far = Tori("frobnicate");
  EXPECT_EQ(far.exit_code, 2);
  EXPECT_THAT(far.out, HasSubstr("`tori --help` lists them"));
}

TEST_F(CliUsersTest, BillHelpNamesEveryFileItWrites) {
  IngestAndBillTheSample();
  ToriRun help = Tori("bill --help");
  EXPECT_EQ(help.exit_code, 0);
  for (const auto& entry : fs::directory_iterator(dir_ / "out")) {
    std::string name = entry.path().filename().string();
    // invoice-2026Q1-espoo-kela.csv -> invoice-<invoice_id>.csv
    for (const std::string id : {"2026Q1-espoo-kela", "2026Q1-espoo-lansi-uusimaa", "2026Q1-espoo-poliisi",
                                 "2026Q1-espoo-te", "2026Q1-espoo-vero"}) {
      if (auto at = name.find(id); at != std::string::npos) name.replace(at, id.size(), "<invoice_id>");
    }
    if (auto at = name.find("2026Q1"); at != std::string::npos) name.replace(at, 6, "<quarter>");
    EXPECT_THAT(help.out, HasSubstr(name)) << entry.path();
  }
}

// A claim of a later quarter meets the annual cap; an adjustment claim says what was
// claimed for its quarter before.
TEST_F(CliUsersTest, ExplainOfLaterClaimsNamesTheCapAndWhatWasClaimedBefore) {
  IngestAndBillTheSample();
  WriteFile(dir_ / "late.jsonl",
            R"({"event_id":"late-1","type":"cost_posted","occurred_at":"2026-04-10T10:00:00Z","cost_id":"late-rent","service_point_id":"iso-omena","pool":"premises","period":"2026-03","amount":"2500.00","description":"late rent"})"
            "\n"
            R"({"event_id":"late-2","type":"cost_posted","occurred_at":"2026-04-10T10:00:00Z","cost_id":"q2-rent","service_point_id":"iso-omena","pool":"premises","period":"2026-04","amount":"10000.00","description":"rent"})"
            "\n");
  ASSERT_EQ(Tori(fmt::format("ingest --data {} {}", data_, (dir_ / "late.jsonl").string())).exit_code, 0);
  ToriRun bill = Tori(fmt::format("bill --data {} --quarter 2026Q2 --out {}", data_, (dir_ / "q2").string()));
  ASSERT_EQ(bill.exit_code, 0) << bill.out;
  ToriRun q2 = Tori(fmt::format("explain --data {} --invoice 2026Q2-iso-omena-vm-yhteispalvelu-espoo", data_));
  EXPECT_EQ(q2.exit_code, 0) << q2.out;
  EXPECT_THAT(q2.out, HasSubstr("claimed earlier in 2026: 120000.00 EUR, room 0.00 EUR -> 0.00 EUR (the cap cut"));
  ToriRun adjusts =
      Tori(fmt::format("explain --data {} --invoice 2026Q2-iso-omena-vm-yhteispalvelu-espoo-adjusts-2026Q1", data_));
  EXPECT_EQ(adjusts.exit_code, 0) << adjusts.out;
  EXPECT_THAT(adjusts.out, HasSubstr("pool premises                  557500.00 EUR"));
  EXPECT_THAT(adjusts.out,
              HasSubstr("recomputed 120000.00 EUR - claimed for 2026Q1 before 120000.00 EUR = 0.00 EUR, this adjustment"));
}

}  // namespace
