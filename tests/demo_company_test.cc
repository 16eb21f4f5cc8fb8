// `tori demo` has a partner that is a company (issue #18's debt; SPEC section 8): the
// post on the service bus's route. Its invoice carries Finnish VAT at the rate in force
// on the invoice date, to the cent (half away from zero, once per invoice), in
// invoices.json, the CSV, the e-invoices (category S; the authorities' stay O) and the
// reports, and every UBL file the demo writes passes ../shared/peppol/validate.
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "fmt/format.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/peppol_validate.h"
#include "tests/run_command.h"

namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;

std::string ReadAll(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// The integer after `"name":` in `text` from `from` on; -1 when absent.
int64_t IntAfter(const std::string& text, const std::string& name, size_t from) {
  const size_t at = text.find("\"" + name + "\":", from);
  if (at == std::string::npos) return -1;
  return std::stoll(text.substr(at + name.size() + 3));
}

TEST(DemoCompanyTest, ThePostsInvoiceCarriesVatAndEveryUblFilePassesPeppol) {
  const fs::path dir = fs::temp_directory_path() / fmt::format("tori-demo-company-test-{}", ::getpid());
  fs::remove_all(dir);
  auto demo = tori::testing::RunCommand(fmt::format("{} demo --dir {}", TORI_BINARY, dir.string()));
  ASSERT_EQ(demo.exit_code, 0) << demo.out;
  EXPECT_THAT(demo.out, HasSubstr("2026Q1-espoo-posti"));
  EXPECT_THAT(demo.out, HasSubstr("+ VAT 25.5000 %"));
  const fs::path out = dir / "out";

  // invoices.json: the post's VAT, half away from zero on the invoice's total; the
  // authorities' invoices have none. The demo bills today, after 1.9.2024: 25.5 %.
  const std::string json = ReadAll(out / "invoices.json");
  const size_t posti = json.find("\"invoice_id\":\"2026Q1-espoo-posti\"");
  ASSERT_NE(posti, std::string::npos);
  const int64_t total = IntAfter(json, "total_cents", posti);
  ASSERT_GT(total, 0);
  EXPECT_THAT(json.substr(posti, 400), HasSubstr("\"vat_rate_pct\":\"25.5000\""));
  EXPECT_EQ(IntAfter(json, "vat_cents", posti), (total * 2550 + 5000) / 10000);
  const size_t kela = json.find("\"invoice_id\":\"2026Q1-espoo-kela\"");
  ASSERT_NE(kela, std::string::npos);
  EXPECT_THAT(json.substr(kela, json.find('\n', kela) - kela), Not(HasSubstr("vat_cents")));

  const std::string csv = ReadAll(out / "invoice-2026Q1-espoo-posti.csv");
  EXPECT_THAT(csv, HasSubstr("\nVAT,2026Q1-espoo-posti,"));
  EXPECT_THAT(csv, HasSubstr("\nTOTAL_WITH_VAT,2026Q1-espoo-posti,"));
  EXPECT_THAT(ReadAll(out / "invoice-2026Q1-espoo-kela.csv"), Not(HasSubstr("\nVAT,")));

  const std::string ubl = ReadAll(out / "peppol-2026Q1-espoo-posti.xml");
  EXPECT_THAT(ubl, HasSubstr("<cbc:ID>S</cbc:ID>"));
  EXPECT_THAT(ubl, HasSubstr("<cbc:Percent>25.5</cbc:Percent>"));
  EXPECT_THAT(ReadAll(out / "peppol-2026Q1-espoo-kela.xml"), Not(HasSubstr("<cbc:ID>S</cbc:ID>")));
  EXPECT_TRUE(fs::exists(out / "finvoice-2026Q1-espoo-posti.xml"));

  std::vector<std::string> ubl_files;
  for (const auto& entry : fs::directory_iterator(out)) {
    const std::string name = entry.path().filename().string();
    if (name.starts_with("peppol-") && name.ends_with(".xml")) ubl_files.push_back(entry.path().string());
  }
  ASSERT_EQ(ubl_files.size(), 8u);  // seven authorities and the post
  const tori::testing::PeppolVerdict verdict = tori::testing::PeppolValidate(ubl_files);
  EXPECT_EQ(verdict.exit_code, 0) << verdict.output;
  EXPECT_THAT(verdict.output, HasSubstr("valid: 8 file(s)"));

  auto verify = tori::testing::RunCommand(fmt::format("{} verify --data {}/data", TORI_BINARY, dir.string()));
  EXPECT_EQ(verify.exit_code, 0) << verify.out;
  fs::remove_all(dir);
}

}  // namespace
