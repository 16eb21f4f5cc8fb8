// The Finvoice files: every one validates against Finvoice3.0.xsd with xmllint, and
// what xmllint reads back from them (totals, reference, rows, parties) equals the
// billing result to the cent. xmllint is required: without it these tests fail.
#include <algorithm>
#include <array>
#include <filesystem>
#include <fstream>
#include <regex>

#include "events/base/decimal.h"
#include "fmt/format.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/documents/documents.h"
#include "services/documents/test_fixture.h"

namespace tori::documents {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

const char kXsd[] = TORI_FINVOICE_XSD;

class FinvoiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(fixture::HaveProgram("xmllint"))
        << "xmllint is required to validate Finvoice files: apt-get install libxml2-utils";
    ASSERT_TRUE(std::filesystem::exists(kXsd))
        << "Finvoice schema not found at " << kXsd << " (set -DTORI_FINVOICE_XSD=...)";
  }

  // Writes the documents and returns the Finvoice paths.
  std::vector<std::string> Write(const engine::BillingResult& result,
                                 const DocumentContext& context, const std::string& name) {
    auto files = WriteDocuments(result, context, fixture::TempDir(name));
    EXPECT_TRUE(files.ok()) << files.status();
    std::vector<std::string> finvoices;
    if (!files.ok()) return finvoices;
    for (const auto& file : *files) {
      if (std::filesystem::path(file).filename().string().starts_with("finvoice-")) {
        finvoices.push_back(file);
      }
    }
    return finvoices;
  }

  // Valid against the schema copy and against the schema in force, whose percentages
  // have at most 3 decimals (Finance Finland withdrew the 4 of 1.12.2020; DOMAIN.md).
  static void ExpectValid(const std::string& path) {
    for (const std::string& xsd : {std::string(kXsd), SchemaInForce()}) {
      const auto run = fixture::Run(fmt::format("xmllint --noout --schema '{}' '{}'", xsd, path));
      EXPECT_EQ(run.exit_code, 0) << path << " against " << xsd << ":\n" << run.output;
      EXPECT_THAT(run.output, HasSubstr("validates")) << path;
    }
  }

  // The copy with the percentage type of the schema in force, written once per process.
  static std::string SchemaInForce() {
    static const std::string path = [] {
      std::string xsd = fixture::ReadFile(kXsd);
      const std::string copy_pattern = "[1-9]?[0-9]{1,2}(,[0-9]{1,4})?";
      const size_t at = xsd.find(copy_pattern);
      EXPECT_NE(at, std::string::npos) << "percentage pattern not found in " << kXsd;
      if (at != std::string::npos) {
        xsd.replace(at, copy_pattern.size(), "[1-9]?[0-9]{1,2}(,[0-9]{1,3})?");
      }
      const std::string out = fixture::TempDir("xsd-in-force") + "/Finvoice3.0.xsd";
      std::ofstream(out) << xsd;
      return out;
    }();
    return path;
  }

  // The string value of an XPath expression, as xmllint evaluates it.
  static std::string XPath(const std::string& path, const std::string& expression) {
    const auto run =
        fixture::Run(fmt::format("xmllint --xpath 'string({})' '{}'", expression, path));
    EXPECT_EQ(run.exit_code, 0) << expression << ": " << run.output;
    std::string value = run.output;
    if (!value.empty() && value.back() == '\n') value.pop_back();  // xmllint adds one
    return value;
  }

  // "-1234,50" (Finvoice) -> -123450 cents, exactly.
  static int64_t Cents(std::string text) {
    std::replace(text.begin(), text.end(), ',', '.');
    auto cents = ParseDecimal(text, kMoneyScale, /*allow_negative=*/true);
    EXPECT_TRUE(cents.ok()) << "'" << text << "': " << cents.status();
    return cents.value_or(0);
  }
};

TEST_F(FinvoiceTest, EveryFileValidatesAgainstTheXsdInEveryLanguage) {
  for (Language language : {Language::kFi, Language::kSv, Language::kEn}) {
    const auto files = Write(fixture::Result(), fixture::Context(language), "valid");
    ASSERT_EQ(files.size(), 2u);
    for (const auto& file : files) ExpectValid(file);
  }
}

// Operators reject an invoice to a public-sector buyer that does not declare EN 16931.
TEST_F(FinvoiceTest, EveryFileDeclaresEn16931AndRoutesToTheBuyersAddress) {
  const auto files = Write(fixture::Result(), fixture::Context(), "en16931");
  ASSERT_EQ(files.size(), 2u);
  for (const auto& file : files) {
    EXPECT_EQ(XPath(file, "/Finvoice/MessageTransmissionDetails/MessageDetails/SpecificationIdentifier"),
              "EN16931");
    EXPECT_EQ(XPath(file, "//MessageSenderDetails/FromIdentifier"), "003701012636");
    EXPECT_EQ(XPath(file, "//MessageSenderDetails/FromIntermediator"), "NDEAFIHH");
    EXPECT_EQ(XPath(file, "//MessageDetails/MessageIdentifier"),
              XPath(file, "//InvoiceDetails/InvoiceNumber"));
    EXPECT_EQ(XPath(file, "//MessageDetails/MessageTimeStamp"), "2026-07-06T00:00:00");
  }
  EXPECT_EQ(XPath(files[0], "//MessageReceiverDetails/ToIdentifier"), "003702462460");
  // Verohallinto registered no address: the OVT of its business id (and billing warns).
  EXPECT_EQ(XPath(files[1], "//MessageReceiverDetails/ToIdentifier"), "003702454583");
}

TEST_F(FinvoiceTest, PercentagesHaveAtMostThreeDecimals) {
  DocumentContext context = fixture::Context();
  context.vat.category = VatCategory::kStandardRated;
  context.vat.rate_pct_e4 = 123'450;  // 12.345 %: three decimals are written as they are
  const auto files = Write(fixture::Result(), context, "percent");
  ASSERT_EQ(files.size(), 2u);
  ExpectValid(files[0]);
  EXPECT_EQ(XPath(files[0], "//VatSpecificationDetails/VatRatePercent"), "12,345");
  EXPECT_EQ(XPath(files[0], "//InvoiceRow[1]/RowVatRatePercent"), "12,345");
}

TEST_F(FinvoiceTest, TotalsReadBackEqualTheInvoiceTotals) {
  const engine::BillingResult result = fixture::Result();
  const auto files = Write(result, fixture::Context(), "totals");
  ASSERT_EQ(files.size(), result.invoices.size());
  const std::regex row_amount("<RowVatExcludedAmount AmountCurrencyIdentifier=\"EUR\">([-0-9,]+)<");
  for (size_t i = 0; i < files.size(); ++i) {
    const int64_t total = result.invoices[i].total_cents;
    const std::string& f = files[i];
    EXPECT_EQ(Cents(XPath(f, "/Finvoice/InvoiceDetails/RowsTotalVatExcludedAmount")), total);
    EXPECT_EQ(Cents(XPath(f, "/Finvoice/InvoiceDetails/InvoiceTotalVatExcludedAmount")), total);
    EXPECT_EQ(Cents(XPath(f, "/Finvoice/InvoiceDetails/InvoiceTotalVatAmount")), 0);
    EXPECT_EQ(Cents(XPath(f, "/Finvoice/InvoiceDetails/InvoiceTotalVatIncludedAmount")), total);
    EXPECT_EQ(
        Cents(XPath(f, "/Finvoice/EpiDetails/EpiPaymentInstructionDetails/EpiInstructedAmount")),
        total);
    const std::string xml = fixture::ReadFile(f);
    int64_t rows_sum = 0;
    for (auto it = std::sregex_iterator(xml.begin(), xml.end(), row_amount);
         it != std::sregex_iterator(); ++it) {
      rows_sum += Cents((*it)[1]);
    }
    EXPECT_EQ(rows_sum, total) << f;
    EXPECT_EQ(XPath(f, "count(//*[@AmountCurrencyIdentifier != \"EUR\"])"), "0");
    // Outside the scope of VAT by default (KHO:2009:42).
    EXPECT_EQ(XPath(f, "//VatSpecificationDetails/VatCode"), "O");
    EXPECT_EQ(XPath(f, "//VatSpecificationDetails/VatRatePercent"), "0");
    EXPECT_THAT(XPath(f, "//VatSpecificationDetails/VatFreeText"), HasSubstr("KHO:2009:42"));
  }
}

TEST_F(FinvoiceTest, ReferenceNumberCarriesAValidCheckDigit) {
  const auto files = Write(fixture::Result(), fixture::Context(), "reference");
  ASSERT_EQ(files.size(), 2u);
  for (size_t i = 0; i < files.size(); ++i) {
    const std::string number = XPath(files[i], "//InvoiceDetails/InvoiceNumber");
    const std::string reference =
        XPath(files[i], "//EpiPaymentInstructionDetails/EpiRemittanceInfoIdentifier");
    EXPECT_EQ(number, InvoiceNumber(fixture::kQ2, i));
    ASSERT_EQ(reference.size(), number.size() + 1);
    EXPECT_THAT(reference, StartsWith(number));
    // The check digit, recomputed here by the DOMAIN.md rule.
    int sum = 0;
    for (size_t d = 0; d < number.size(); ++d) {
      sum += (number[number.size() - 1 - d] - '0') * std::array{7, 3, 1}[d % 3];
    }
    EXPECT_EQ(reference.back() - '0', (10 - sum % 10) % 10) << reference;
  }
}

TEST_F(FinvoiceTest, OneRowPerPointAndPoolWithTheKeyBasisInItsText) {
  const auto files = Write(fixture::Result(), fixture::Context(Language::kEn), "rows");
  ASSERT_EQ(files.size(), 2u);
  const std::string& kela = files[0];
  // Five rows: iso-omena premises (two tranches), iso-omena shared_staff, kalajarvi
  // premises, kalajarvi shared_rooms and the 2026Q1 adjustment.
  EXPECT_EQ(XPath(kela, "count(//InvoiceRow)"), "5");
  EXPECT_EQ(Cents(XPath(kela, "//InvoiceRow[1]/RowVatExcludedAmount")), 3'333'333);
  EXPECT_EQ(XPath(kela, "//InvoiceRow[1]/ArticleIdentifier"), "iso-omena/premises");
  EXPECT_EQ(XPath(kela, "//InvoiceRow[1]/RowFreeText[1]"),
            "Tranche 60 %: dedicated area 18,200.00 / 54,600.00\u00a0m²·days = "
            "€20,000.00");
  EXPECT_THAT(XPath(kela, "//InvoiceRow[1]/RowFreeText[2]"), HasSubstr("equal split 1 / 3"));
  EXPECT_EQ(XPath(kela, "//InvoiceRow[1]/RowFreeText[3]"), "invoices.json lines 1, 2");
  EXPECT_THAT(XPath(kela, "//InvoiceRow[4]/RowFreeText[1]"),
              HasSubstr("contacts (replaces key room bookings) 25 / 65"));
  // The adjustment row names the quarter it adjusts and spans it.
  EXPECT_THAT(XPath(kela, "//InvoiceRow[5]/ArticleName"), StartsWith("Adjustment 2026Q1: "));
  EXPECT_EQ(XPath(kela, "//InvoiceRow[5]/StartDate"), "20260101");
  EXPECT_EQ(XPath(kela, "//InvoiceRow[5]/EndDate"), "20260331");
  EXPECT_EQ(XPath(kela, "//InvoiceRow[5]/InvoicedQuantity"), "-1");
  EXPECT_EQ(Cents(XPath(kela, "//InvoiceRow[5]/UnitPriceAmount")), 12'345);
  EXPECT_EQ(Cents(XPath(kela, "//InvoiceRow[5]/RowVatExcludedAmount")), -12'345);
  EXPECT_EQ(XPath(kela, "//InvoiceRow[2]/StartDate"), "20260401");
}

TEST_F(FinvoiceTest, PartiesCarryBusinessIdsEinvoiceAddressesAndTheAccount) {
  const auto files = Write(fixture::Result(), fixture::Context(), "parties");
  ASSERT_EQ(files.size(), 2u);
  const std::string &kela = files[0], &vero = files[1];
  EXPECT_EQ(XPath(kela, "//SellerPartyIdentifier"), "0101263-6");
  EXPECT_EQ(XPath(kela, "//SellerOrganisationName"), "Espoon kaupunki");
  EXPECT_EQ(XPath(kela, "/Finvoice/SellerOrganisationUnitNumber"), "003701012636");
  EXPECT_EQ(XPath(kela, "//BuyerPartyIdentifier"), "0246246-0");
  EXPECT_EQ(XPath(kela, "//BuyerOrganisationName"), "Kansaneläkelaitos");
  EXPECT_EQ(XPath(kela, "/Finvoice/BuyerOrganisationUnitNumber"), "003702462460");
  EXPECT_EQ(XPath(vero, "count(/Finvoice/BuyerOrganisationUnitNumber)"), "0");
  EXPECT_EQ(XPath(kela, "//EpiAccountID"), "FI2112345600000785");
  EXPECT_EQ(XPath(kela, "//InvoiceDetails/InvoiceDate"), "20260706");
  EXPECT_EQ(XPath(kela, "//PaymentTermsDetails/InvoiceDueDate"), "20260805");  // + 30 days
  EXPECT_EQ(XPath(kela, "//EpiDateOptionDate"), "20260805");
  EXPECT_EQ(XPath(kela, "//InvoiceDetails/InvoiceTypeCode"), "INV01");
  EXPECT_EQ(XPath(kela, "//InvoiceDetails/SellerReferenceIdentifier"), "2026Q2-espoo-kela");
}

TEST_F(FinvoiceTest, StandardRatedVatIsAddedOnceOnTheTotalAndValidates) {
  DocumentContext context = fixture::Context();
  context.vat.category = VatCategory::kStandardRated;
  context.vat.rate_pct_e4 = 255'000;  // 25.5 %
  const auto files = Write(fixture::Result(), context, "vat");
  ASSERT_EQ(files.size(), 2u);
  ExpectValid(files[0]);
  // 4 109 449 c * 25.5 % = 1 047 909.495 c -> 1 047 909 c.
  EXPECT_EQ(Cents(XPath(files[0], "//InvoiceDetails/InvoiceTotalVatAmount")), 1'047'909);
  EXPECT_EQ(Cents(XPath(files[0], "//InvoiceDetails/InvoiceTotalVatIncludedAmount")), 5'157'358);
  EXPECT_EQ(Cents(XPath(files[0], "//EpiInstructedAmount")), 5'157'358);
  EXPECT_EQ(XPath(files[0], "//VatSpecificationDetails/VatCode"), "S");
  EXPECT_EQ(XPath(files[0], "//VatSpecificationDetails/VatRatePercent"), "25,5");
  EXPECT_EQ(XPath(files[0], "//SellerOrganisationTaxCode"), "FI01012636");
}

TEST_F(FinvoiceTest, NegativeTotalIsACreditNoteThatValidates) {
  engine::BillingResult result = fixture::Result();
  fixture::MoveInvoiceToHost(result, 1);
  engine::Invoice& vero = result.invoices[1];
  vero.lines = {engine::InvoiceLine{"iso-omena", "shared_staff", engine::Key::kAdvisorTime,
                                    std::nullopt, fixture::kAllPctE4, 900, 7800, -4'321,
                                    fixture::kQ1}};
  vero.total_cents = -4'321;
  const auto files = Write(result, fixture::Context(), "credit");
  ASSERT_EQ(files.size(), 2u);
  ExpectValid(files[1]);
  EXPECT_EQ(XPath(files[1], "//InvoiceDetails/InvoiceTypeCode"), "INV02");
  EXPECT_EQ(XPath(files[1], "//InvoiceDetails/InvoiceTypeText"), "HYVITYSLASKU");
  EXPECT_EQ(Cents(XPath(files[1], "//EpiInstructedAmount")), -4'321);
}


// SPEC section 8 (issue #18): vero as a partner that is a company, invoiced on a date
// of the 25.5 % rate. 2 895 833 c x 25.5 % = 738 437.415 c -> 738 437 c, once on the
// total; with VAT 3 634 270 c. kela stays an authority (category O).
engine::BillingResult WithCompany() {
  engine::BillingResult result = fixture::Result();
  result.invoices[1].vat = engine::Invoice::Vat{255'000, 738'437};
  return result;
}

TEST_F(FinvoiceTest, ACompanysInvoiceCarriesItsVatAndAnAuthoritysStaysOutsideTheScope) {
  const auto files = Write(WithCompany(), fixture::Context(), "company");
  ASSERT_EQ(files.size(), 2u);
  ExpectValid(files[0]);
  ExpectValid(files[1]);
  EXPECT_EQ(XPath(files[1], "//VatSpecificationDetails/VatCode"), "S");
  EXPECT_EQ(XPath(files[1], "//VatSpecificationDetails/VatRatePercent"), "25,5");
  EXPECT_EQ(Cents(XPath(files[1], "//VatSpecificationDetails/VatRateAmount")), 738'437);
  EXPECT_EQ(Cents(XPath(files[1], "//InvoiceDetails/InvoiceTotalVatExcludedAmount")), 2'895'833);
  EXPECT_EQ(Cents(XPath(files[1], "//InvoiceDetails/InvoiceTotalVatAmount")), 738'437);
  EXPECT_EQ(Cents(XPath(files[1], "//InvoiceDetails/InvoiceTotalVatIncludedAmount")), 3'634'270);
  EXPECT_EQ(Cents(XPath(files[1], "//EpiInstructedAmount")), 3'634'270);
  EXPECT_EQ(XPath(files[1], "//SellerOrganisationTaxCode"), "FI01012636");
  EXPECT_EQ(XPath(files[0], "//VatSpecificationDetails/VatCode"), "O");
  EXPECT_EQ(Cents(XPath(files[0], "//InvoiceDetails/InvoiceTotalVatAmount")), 0);
}

// The authorities' Finvoice is byte for byte what it was without a company in the run.
TEST_F(FinvoiceTest, AnAuthoritysFinvoiceIsUnchangedByACompanyInTheRun) {
  const auto plain = Write(fixture::Result(), fixture::Context(), "no-company");
  const auto company = Write(WithCompany(), fixture::Context(), "with-company");
  ASSERT_EQ(plain.size(), 2u);
  ASSERT_EQ(company.size(), 2u);
  EXPECT_EQ(fixture::ReadFile(plain[0]), fixture::ReadFile(company[0]));
  EXPECT_NE(fixture::ReadFile(plain[1]), fixture::ReadFile(company[1]));
}

// A VAT that does not follow from the total by the one rounding rule is refused.
TEST_F(FinvoiceTest, AVatThatIsNotTheRateOfTheTotalIsRefused) {
  engine::BillingResult result = WithCompany();
  result.invoices[1].vat->vat_cents += 1;
  auto files = WriteDocuments(result, fixture::Context(), fixture::TempDir("wrong-vat"));
  ASSERT_FALSE(files.ok());
  EXPECT_EQ(files.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(files.status().message()), HasSubstr("2026Q2-espoo-vero"));
}

}  // namespace
}  // namespace tori::documents
