// The Peppol BIS Billing 3.0 files (UBL 2.1): every one the tests write passes
// ../shared/peppol/validate (the UBL 2.1 schema, the CEN EN 16931 rules and the Peppol
// rules, as an access point checks them), and what xmllint reads back from them equals
// the billing result and the Finvoice beside them. Needs java, maven and xmllint.
#include <algorithm>
#include <filesystem>
#include <fstream>

#include "events/base/decimal.h"
#include "fmt/format.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/documents/documents.h"
#include "services/documents/test_fixture.h"
#include "tests/peppol_validate.h"

namespace tori::documents {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

class PeppolTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(fs::exists(TORI_PEPPOL_VALIDATE))
        << "the Peppol validator is not at " << TORI_PEPPOL_VALIDATE
        << " (set -DTORI_PEPPOL_VALIDATE=.../shared/peppol/validate)";
    ASSERT_TRUE(fixture::HaveProgram("xmllint")) << "apt-get install libxml2-utils";
  }

  // Writes the documents; returns the Peppol files, and remembers them for the one
  // validator run at the end of the test (each run starts Java twice per file).
  std::vector<std::string> Write(const engine::BillingResult& result,
                                 const DocumentContext& context, const std::string& name) {
    auto files = WriteDocuments(result, context, fixture::TempDir("peppol-" + name));
    EXPECT_TRUE(files.ok()) << files.status();
    std::vector<std::string> ubl;
    if (!files.ok()) return ubl;
    for (const auto& file : *files) {
      if (fs::path(file).filename().string().starts_with("peppol-")) ubl.push_back(file);
    }
    written_.insert(written_.end(), ubl.begin(), ubl.end());
    return ubl;
  }

  void TearDown() override {
    if (written_.empty() || HasFatalFailure()) return;
    const testing::PeppolVerdict verdict = testing::PeppolValidate(written_);
    EXPECT_EQ(verdict.exit_code, 0) << verdict.output;
    EXPECT_THAT(verdict.output, HasSubstr(fmt::format("valid: {} file(s)", written_.size())));
  }

  // The string value of an XPath expression over local names (UBL is namespaced).
  static std::string XPath(const std::string& path, const std::string& expression) {
    const auto run =
        fixture::Run(fmt::format("xmllint --xpath 'string({})' '{}'", expression, path));
    EXPECT_EQ(run.exit_code, 0) << expression << ": " << run.output;
    std::string value = run.output;
    if (!value.empty() && value.back() == '\n') value.pop_back();
    return value;
  }

  static int64_t Cents(const std::string& text) {
    auto cents = ParseDecimal(text, kMoneyScale, /*allow_negative=*/true);
    EXPECT_TRUE(cents.ok()) << "'" << text << "': " << cents.status();
    return cents.value_or(0);
  }

  std::vector<std::string> written_;
};

// "//*[local-name()='A']/*[local-name()='B']" from "A/B".
std::string L(std::string_view path) {
  std::string out = "/";
  size_t start = 0;
  while (start <= path.size()) {
    const size_t end = std::min(path.find('/', start), path.size());
    out += fmt::format("/*[local-name()=\"{}\"]", path.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

TEST_F(PeppolTest, AnInvoiceBetweenAuthoritiesIsCategoryOWithTheOvtAddressesAndTheAccount) {
  const engine::BillingResult result = fixture::Result();
  const auto files = Write(result, fixture::Context(), "invoice");
  ASSERT_EQ(files.size(), 2u);
  const std::string& kela = files[0];
  EXPECT_EQ(XPath(kela, "local-name(/*)"), "Invoice");
  EXPECT_EQ(XPath(kela, L("Invoice/ID")), InvoiceNumber(fixture::kQ2, 0));
  EXPECT_EQ(XPath(kela, L("Invoice/IssueDate")), "2026-07-06");
  EXPECT_EQ(XPath(kela, L("Invoice/DueDate")), "2026-08-05");
  EXPECT_EQ(XPath(kela, L("Invoice/InvoiceTypeCode")), "380");
  EXPECT_EQ(XPath(kela, L("AccountingSupplierParty/Party/EndpointID")), "003701012636");
  EXPECT_EQ(XPath(kela, L("AccountingSupplierParty/Party/EndpointID") + "/@schemeID"), "0216");
  EXPECT_EQ(XPath(kela, L("AccountingCustomerParty/Party/EndpointID")), "003702462460");
  EXPECT_EQ(XPath(kela, L("AccountingCustomerParty/Party/EndpointID") + "/@schemeID"), "0216");
  EXPECT_EQ(XPath(kela, L("AccountingCustomerParty/Party/PartyLegalEntity/CompanyID")),
            "0246246-0");
  // Paid to the host's account with the reference number, as the Finvoice says.
  const std::string finvoice = fs::path(kela).parent_path() / "finvoice-2026Q2-espoo-kela.xml";
  EXPECT_EQ(XPath(kela, L("PaymentMeans/PaymentID")),
            XPath(finvoice, "//EpiRemittanceInfoIdentifier"));
  EXPECT_EQ(XPath(kela, L("PaymentMeans/PayeeFinancialAccount/ID")), "FI2112345600000785");
  EXPECT_EQ(XPath(kela, L("PaymentMeans/PayeeFinancialAccount/FinancialInstitutionBranch/ID")),
            "NDEAFIHH");
  // Not subject to VAT, with the reason the rules demand (BR-O-10), and no VAT numbers.
  EXPECT_EQ(XPath(kela, L("TaxTotal/TaxSubtotal/TaxCategory/ID")), "O");
  EXPECT_EQ(XPath(kela, L("TaxTotal/TaxSubtotal/TaxCategory/TaxExemptionReasonCode")),
            "VATEX-EU-O");
  EXPECT_THAT(XPath(kela, L("TaxTotal/TaxSubtotal/TaxCategory/TaxExemptionReason")),
              HasSubstr("KHO:2009:42"));
  EXPECT_EQ(XPath(kela, "count(//*[local-name()=\"PartyTaxScheme\"])"), "0");
  EXPECT_EQ(Cents(XPath(kela, L("TaxTotal/TaxAmount"))), 0);
  const int64_t total = result.invoices[0].total_cents;
  EXPECT_EQ(Cents(XPath(kela, L("LegalMonetaryTotal/TaxExclusiveAmount"))), total);
  EXPECT_EQ(Cents(XPath(kela, L("LegalMonetaryTotal/PayableAmount"))), total);
  // One line per Finvoice row; the adjustment credits with quantity -1.
  EXPECT_EQ(XPath(kela, "count(//*[local-name()=\"InvoiceLine\"])"),
            XPath(finvoice, "count(//InvoiceRow)"));
  const std::string fifth = "(" + L("InvoiceLine") + ")[5]";
  EXPECT_EQ(XPath(kela, fifth + L("InvoicedQuantity").substr(1)), "-1");
  EXPECT_EQ(Cents(XPath(kela, fifth + L("LineExtensionAmount").substr(1))), -12'345);
  EXPECT_EQ(Cents(XPath(kela, fifth + L("Price/PriceAmount").substr(1))), 12'345);
  // A buyer without an e-invoice address: the OVT of its business id.
  EXPECT_EQ(XPath(files[1], L("AccountingCustomerParty/Party/EndpointID")), "003702454583");
}

TEST_F(PeppolTest, EveryLanguageValidates) {
  std::vector<std::string> kela;
  for (Language language : {Language::kSv, Language::kEn}) {
    const auto files = Write(fixture::Result(), fixture::Context(language), "language");
    ASSERT_EQ(files.size(), 2u);
    kela.push_back(files[0]);
  }
  written_ = kela;  // the other invoice differs only in amounts (about 8 s a file)
}

TEST_F(PeppolTest, ANegativeTotalIsACreditNoteWithPositiveAmounts) {
  engine::BillingResult result = fixture::Result();
  fixture::MoveInvoiceToHost(result, 1);
  engine::Invoice& vero = result.invoices[1];
  vero.lines = {engine::InvoiceLine{"iso-omena", "shared_staff", engine::Key::kAdvisorTime,
                                    std::nullopt, fixture::kAllPctE4, 900, 7800, -4'321,
                                    fixture::kQ1}};
  vero.total_cents = -4'321;
  const auto files = Write(result, fixture::Context(), "credit");
  ASSERT_EQ(files.size(), 2u);
  written_ = {files[1]};
  EXPECT_EQ(XPath(files[1], "local-name(/*)"), "CreditNote");
  EXPECT_EQ(XPath(files[1], L("CreditNote/CreditNoteTypeCode")), "381");
  EXPECT_EQ(Cents(XPath(files[1], L("LegalMonetaryTotal/PayableAmount"))), 4'321);
  EXPECT_EQ(XPath(files[1], L("CreditNoteLine/CreditedQuantity")), "1");
  EXPECT_EQ(Cents(XPath(files[1], L("CreditNoteLine/LineExtensionAmount"))), 4'321);
}

TEST_F(PeppolTest, StandardRatedVatCarriesTheRateAndTheSellersVatNumber) {
  DocumentContext context = fixture::Context();
  context.vat.category = VatCategory::kStandardRated;
  context.vat.rate_pct_e4 = 255'000;
  const auto files = Write(fixture::Result(), context, "vat");
  ASSERT_EQ(files.size(), 2u);
  written_ = {files[0]};
  EXPECT_EQ(XPath(files[0], L("TaxTotal/TaxSubtotal/TaxCategory/ID")), "S");
  EXPECT_EQ(XPath(files[0], L("TaxTotal/TaxSubtotal/TaxCategory/Percent")), "25.5");
  // 4 109 449 c * 25.5 % = 1 047 909.495 c -> 1 047 909 c, once on the total.
  EXPECT_EQ(Cents(XPath(files[0], L("TaxTotal/TaxAmount"))), 1'047'909);
  EXPECT_EQ(Cents(XPath(files[0], L("LegalMonetaryTotal/PayableAmount"))), 5'157'358);
  EXPECT_EQ(XPath(files[0], L("AccountingSupplierParty/Party/PartyTaxScheme/CompanyID")),
            "FI01012636");
}

TEST_F(PeppolTest, ADraftHasNoEinvoice) {
  DocumentContext context = fixture::Context();
  context.draft = true;
  EXPECT_TRUE(Write(fixture::Result(), context, "draft").empty());
}

// The validator is no formality: a file without the buyer's address fails it, naming the
// rule (so the checks above can fail).
TEST_F(PeppolTest, TheValidatorRejectsAnInvoiceWithoutTheBuyersAddress) {
  const auto files = Write(fixture::Result(), fixture::Context(), "broken");
  ASSERT_EQ(files.size(), 2u);
  written_.clear();
  std::string xml = fixture::ReadFile(files[0]);
  const size_t customer = xml.find("<cac:AccountingCustomerParty>");
  const size_t start = xml.find("<cbc:EndpointID", customer);
  const size_t end = xml.find('\n', start);
  ASSERT_NE(start, std::string::npos);
  xml.erase(start, end + 1 - start);
  const std::string broken = fs::path(files[0]).parent_path() / "broken.xml";
  std::ofstream(broken) << xml;
  const testing::PeppolVerdict verdict = testing::PeppolValidate({broken});
  EXPECT_EQ(verdict.exit_code, 1) << verdict.output;
  EXPECT_THAT(verdict.output, HasSubstr("PEPPOL-EN16931-R010"));
}


// SPEC section 8 (issue #18): vero as a partner that is a company, invoiced on a date
// of the 25.5 % rate. 2 895 833 c x 25.5 % = 738 437.415 c -> 738 437 c, once on the
// total; with VAT 3 634 270 c. kela stays an authority (category O).
engine::BillingResult WithCompany() {
  engine::BillingResult result = fixture::Result();
  result.invoices[1].vat = engine::Invoice::Vat{255'000, 738'437};
  return result;
}

TEST_F(PeppolTest, ACompanysInvoiceIsCategorySAtItsRateAndValidates) {
  const auto files = Write(WithCompany(), fixture::Context(), "company");
  ASSERT_EQ(files.size(), 2u);
  // vero: S at 25.5 %, the VAT once on the total, the seller's VAT number.
  EXPECT_EQ(XPath(files[1], L("TaxTotal/TaxSubtotal/TaxCategory/ID")), "S");
  EXPECT_EQ(XPath(files[1], L("TaxTotal/TaxSubtotal/TaxCategory/Percent")), "25.5");
  EXPECT_EQ(Cents(XPath(files[1], L("TaxTotal/TaxSubtotal/TaxableAmount"))), 2'895'833);
  EXPECT_EQ(Cents(XPath(files[1], L("TaxTotal/TaxAmount"))), 738'437);
  EXPECT_EQ(Cents(XPath(files[1], L("LegalMonetaryTotal/TaxExclusiveAmount"))), 2'895'833);
  EXPECT_EQ(Cents(XPath(files[1], L("LegalMonetaryTotal/TaxInclusiveAmount"))), 3'634'270);
  EXPECT_EQ(Cents(XPath(files[1], L("LegalMonetaryTotal/PayableAmount"))), 3'634'270);
  EXPECT_EQ(XPath(files[1], L("InvoiceLine/Item/ClassifiedTaxCategory/ID")), "S");
  EXPECT_EQ(XPath(files[1], L("AccountingSupplierParty/Party/PartyTaxScheme/CompanyID")),
            "FI01012636");
  // kela: still O, without a rate or VAT numbers.
  EXPECT_EQ(XPath(files[0], L("TaxTotal/TaxSubtotal/TaxCategory/ID")), "O");
  EXPECT_EQ(XPath(files[0], L("AccountingSupplierParty/Party/PartyTaxScheme/CompanyID")), "");
}

// A credit to a company (adjustments only, negative) is a CreditNote with its VAT turned
// positive: -4 321 c x 25.5 % = -1 101.855 -> -1 102 c.
TEST_F(PeppolTest, ACreditToACompanyIsACreditNoteWithItsVat) {
  engine::BillingResult result = fixture::Result();
  fixture::MoveInvoiceToHost(result, 1);
  engine::Invoice& vero = result.invoices[1];
  vero.lines = {engine::InvoiceLine{"iso-omena", "shared_staff", engine::Key::kAdvisorTime,
                                    std::nullopt, fixture::kAllPctE4, 900, 7800, -4'321,
                                    fixture::kQ1}};
  vero.total_cents = -4'321;
  vero.vat = engine::Invoice::Vat{255'000, -1'102};
  const auto files = Write(result, fixture::Context(), "company-credit");
  ASSERT_EQ(files.size(), 2u);
  EXPECT_EQ(XPath(files[1], "local-name(/*)"), "CreditNote");
  EXPECT_EQ(Cents(XPath(files[1], L("TaxTotal/TaxAmount"))), 1'102);
  EXPECT_EQ(Cents(XPath(files[1], L("LegalMonetaryTotal/PayableAmount"))), 5'423);
}

}  // namespace
}  // namespace tori::documents
