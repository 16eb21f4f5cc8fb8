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

}  // namespace
