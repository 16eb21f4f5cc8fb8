// WriteDocuments as a whole: numbering, the reference number rule, file names, the
// checks on the context, and determinism (same result and context, same bytes).
#include "services/documents/documents.h"

#include <filesystem>

#include "gmock/gmock.h"
#include "fmt/format.h"
#include "gtest/gtest.h"
#include "services/documents/internal/labels.h"
#include "services/documents/internal/text.h"
#include "services/documents/test_fixture.h"

namespace tori::documents {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

// DOMAIN.md: weights 7, 3, 1 from the right; check = (10 - sum mod 10) mod 10.
TEST(FinnishReferenceNumberTest, AppendsTheCheckDigitOfTheDomainRule) {
  const struct {
    const char* base;
    const char* reference;
  } kCases[] = {
      {"123", "1232"},                                  // 3*7 + 2*3 + 1*1 = 28 -> 2
      {"100", "1009"},                                  // 0 + 0 + 1 = 1 -> 9
      {"000", "0000"},                                  // sum 0 -> 0
      {"1234561", "12345614"},                          // 7+18+5+28+9+2+7 = 76 -> 4
      {"2026200001", "20262000019"},                    // 7 + 2*1 + 6*7 + 2*3 + 2*7 = 71 -> 9
      {"9999999999999999999", "99999999999999999993"},  // 19 digits, the longest base
  };
  for (const auto& c : kCases) {
    auto reference = FinnishReferenceNumber(c.base);
    ASSERT_TRUE(reference.ok()) << c.base << ": " << reference.status();
    EXPECT_EQ(*reference, c.reference) << c.base;
  }
}

TEST(FinnishReferenceNumberTest, RejectsBasesOutsideThreeToNineteenDigits) {
  for (const char* base : {"", "12", "12a4", "-123", "12345678901234567890"}) {
    EXPECT_EQ(FinnishReferenceNumber(base).status().code(), absl::StatusCode::kInvalidArgument)
        << base;
  }
}

TEST(InvoiceNumberTest, IsYearQuarterAndFiveDigitSequence) {
  EXPECT_EQ(InvoiceNumber(fixture::kQ2, 0), "2026200001");
  EXPECT_EQ(InvoiceNumber(engine::Quarter{2027, 4}, kInvoicesPerRunMax - 1), "2027499999");
}

TEST(InvoiceLineAnchorTest, NamesInvoiceAndOneBasedLineWithSafeCharacters) {
  EXPECT_EQ(InvoiceLineAnchor("2026Q2-espoo-kela", 3), "line-2026Q2-espoo-kela-3");
  EXPECT_EQ(InvoiceLineAnchor("2026Q2-a b/c", 1), "line-2026Q2-a_b_c-1");
}

TEST(LanguageTest, ParsesTheThreeCodes) {
  EXPECT_EQ(*ParseLanguage("fi"), Language::kFi);
  EXPECT_EQ(*ParseLanguage("sv"), Language::kSv);
  EXPECT_EQ(*ParseLanguage("en"), Language::kEn);
  EXPECT_FALSE(ParseLanguage("de").ok());
  EXPECT_EQ(LanguageCode(Language::kSv), "sv");
}

TEST(IbanTest, ChecksIso13616Mod97) {
  EXPECT_TRUE(internal::IsValidIban("FI21 1234 5600 0007 85"));
  EXPECT_TRUE(internal::IsValidIban("DE89370400440532013000"));
  EXPECT_FALSE(internal::IsValidIban("FI21 1234 5600 0007 86"));
  EXPECT_FALSE(internal::IsValidIban("FI21"));
}

TEST(TextTest, FormatsMoneyPerLanguageFromCents) {
  EXPECT_EQ(internal::MoneyText(410944900, Language::kFi), "4\u00a0109\u00a0449,00\u00a0€");
  EXPECT_EQ(internal::MoneyText(-12345, Language::kEn), "-€123.45");
  EXPECT_EQ(internal::FinvoiceAmount(-5), "-0,05");
  EXPECT_EQ(internal::PercentText(255000, Language::kFi), "25,5");
  EXPECT_EQ(internal::PercentText(600000, Language::kEn), "60");
}

TEST(LabelsTest, DefaultVatTextsFitFinvoiceVatFreeText) {
  for (Language language : {Language::kFi, Language::kSv, Language::kEn}) {
    EXPECT_LE(internal::CharCount(internal::LabelsFor(language).vat_outside_scope), 70u);
  }
}

TEST(WriteDocumentsTest, WritesFinvoiceAndPeppolPerInvoiceThenWorkbookThenReport) {
  const std::string dir = fixture::TempDir("files");
  auto files = WriteDocuments(fixture::Result(), fixture::Context(), dir);
  ASSERT_TRUE(files.ok()) << files.status();
  EXPECT_THAT(*files, ElementsAre(dir + "/finvoice-2026Q2-espoo-kela.xml",
                                  dir + "/peppol-2026Q2-espoo-kela.xml",
                                  dir + "/finvoice-2026Q2-espoo-vero.xml",
                                  dir + "/peppol-2026Q2-espoo-vero.xml",
                                  dir + "/invoices-2026Q2.xlsx", dir + "/report-2026Q2.html"));
  for (const auto& file : *files) EXPECT_GT(fs::file_size(file), 1000u) << file;
  for (const auto& entry : fs::directory_iterator(dir)) {
    EXPECT_NE(entry.path().extension(), ".tmp") << entry.path();
  }
}

TEST(WriteDocumentsTest, SameResultAndContextGiveTheSameBytes) {
  const std::string a = fixture::TempDir("same-a"), b = fixture::TempDir("same-b");
  auto files_a = WriteDocuments(fixture::Result(), fixture::Context(), a);
  auto files_b = WriteDocuments(fixture::Result(), fixture::Context(), b);
  ASSERT_TRUE(files_a.ok() && files_b.ok());
  ASSERT_EQ(files_a->size(), files_b->size());
  for (size_t i = 0; i < files_a->size(); ++i) {
    EXPECT_EQ(fixture::ReadFile((*files_a)[i]), fixture::ReadFile((*files_b)[i])) << (*files_a)[i];
  }
}

TEST(WriteDocumentsTest, SkipsTheFinvoiceOfAnInvoiceWithoutLines) {
  engine::BillingResult result = fixture::Result();
  fixture::MoveInvoiceToHost(result, 1);
  const std::string dir = fixture::TempDir("empty-invoice");
  auto files = WriteDocuments(result, fixture::Context(), dir);
  ASSERT_TRUE(files.ok()) << files.status();
  EXPECT_EQ(files->size(), 4u);
  EXPECT_FALSE(fs::exists(dir + "/finvoice-2026Q2-espoo-vero.xml"));
  EXPECT_FALSE(fs::exists(dir + "/peppol-2026Q2-espoo-vero.xml"));
}

// Issue #15.8: only the Finvoice names the issuer's account; without an IBAN the
// workbook and the report are still written.
TEST(WriteDocumentsTest, AnIssuerWithoutIbanGetsTheWorkbookAndReportButNoFinvoice) {
  DocumentContext context = fixture::Context();
  context.agencies["espoo"].iban.reset();
  const std::string dir = fixture::TempDir("no-iban");
  auto files = WriteDocuments(fixture::Result(), context, dir);
  ASSERT_TRUE(files.ok()) << files.status();
  EXPECT_EQ(*files, (std::vector<std::string>{dir + "/invoices-2026Q2.xlsx", dir + "/report-2026Q2.html"}));
  EXPECT_EQ(MissingIbanIssuers(fixture::Result(), context), std::vector<std::string>{"espoo"});
  EXPECT_TRUE(MissingIbanIssuers(fixture::Result(), fixture::Context()).empty());
}

// Each broken context is rejected before any file is written, naming what is wrong.
TEST(WriteDocumentsTest, RejectsAnIncompleteContextAndWritesNothing) {
  const struct {
    const char* name;
    void (*breakit)(DocumentContext&);
    const char* message;
  } kCases[] = {
      {"missing agency", [](DocumentContext& c) { c.agencies.erase("vero"); }, "'vero'"},
      {"bad iban", [](DocumentContext& c) { c.agencies["espoo"].iban = "FI2112345600000786"; },
       "ISO 13616"},
      {"bad business id", [](DocumentContext& c) { c.agencies["kela"].business_id = "0246246-1"; },
       "Y-tunnus"},
      {"missing point", [](DocumentContext& c) { c.service_points.erase("kalajarvi"); },
       "'kalajarvi'"},
      {"issue date unset", [](DocumentContext& c) { c.issue_date = absl::CivilDay(); },
       "issue_date"},
      {"due days", [](DocumentContext& c) { c.due_days = -1; }, "due_days"},
      {"rate without vat", [](DocumentContext& c) { c.vat.rate_pct_e4 = 240000; }, "rate_pct_e4"},
      {"standard without rate",
       [](DocumentContext& c) { c.vat.category = VatCategory::kStandardRated; }, "rate_pct_e4"},
      {"rate with 4 decimals",
       [](DocumentContext& c) {
         c.vat.category = VatCategory::kStandardRated;
         c.vat.rate_pct_e4 = 123'456;
       },
       "at most 3"},
      {"long vat text", [](DocumentContext& c) { c.vat.reason_text = std::string(71, 'x'); },
       "70 characters"},
  };
  for (const auto& c : kCases) {
    DocumentContext context = fixture::Context();
    c.breakit(context);
    const std::string dir = fixture::TempDir("reject");
    auto files = WriteDocuments(fixture::Result(), context, dir);
    EXPECT_EQ(files.status().code(), absl::StatusCode::kInvalidArgument) << c.name;
    EXPECT_THAT(std::string(files.status().message()), HasSubstr(c.message)) << c.name;
    EXPECT_TRUE(fs::is_empty(dir)) << c.name;
  }
}

TEST(WriteDocumentsTest, RejectsAResultWhoseSumsDoNotHold) {
  const std::string dir = fixture::TempDir("sums");
  engine::BillingResult total = fixture::Result();
  total.invoices[0].total_cents += 1;
  EXPECT_THAT(std::string(WriteDocuments(total, fixture::Context(), dir).status().message()),
              HasSubstr("2026Q2-espoo-kela: total_cents 4109450 is not the sum"));
  engine::BillingResult pool = fixture::Result();
  pool.pools[1].amount_cents += 1;
  EXPECT_THAT(std::string(WriteDocuments(pool, fixture::Context(), dir).status().message()),
              HasSubstr("iso-omena shared_staff"));
  EXPECT_TRUE(fs::is_empty(dir));
}

// Issue 15.5: a dry run's documents must not look issued. A draft context writes no
// Finvoice, marks its file names and its report, gives every invoice a number that can
// never be issued and no reference number; without the flag, the same call writes the
// issued bytes.
TEST(DraftTest, ADraftHasTheMarkInEveryFileNoFinvoiceAndNoIssuableNumber) {
  for (const Language language : {Language::kFi, Language::kSv, Language::kEn}) {
    const std::string dir = fixture::TempDir(fmt::format("draft-{}", LanguageCode(language)));
    DocumentContext context = fixture::Context(language);
    context.draft = true;
    auto files = WriteDocuments(fixture::Result(), context, dir);
    ASSERT_TRUE(files.ok()) << files.status();
    EXPECT_THAT(*files, ElementsAre(dir + "/draft-invoices-2026Q2.xlsx",
                                    dir + "/draft-report-2026Q2.html"));
    for (const auto& entry : fs::directory_iterator(dir)) {
      EXPECT_THAT(entry.path().filename().string(), ::testing::StartsWith("draft-"));
    }
    const std::string html = fixture::ReadFile(dir + "/draft-report-2026Q2.html");
    const std::string mark(DraftMark(language));
    EXPECT_THAT(html, HasSubstr(fmt::format("<title>{}: ", mark)));
    EXPECT_THAT(html, HasSubstr(fmt::format("class=\"draft-banner\" id=\"draft\">{} — ", mark)));
    EXPECT_THAT(html, HasSubstr(DraftInvoiceNumber("2026Q2-espoo-vero", language)));
    EXPECT_THAT(html, Not(HasSubstr("2026200001")));   // the issued number of the first invoice
    EXPECT_THAT(html, Not(HasSubstr("20262000019")));  // and its reference number
  }
  EXPECT_EQ(DraftInvoiceNumber("2026Q2-espoo-kela", Language::kFi), "LUONNOS-2026Q2-espoo-kela");
  EXPECT_EQ(DraftMark(Language::kSv), "UTKAST");
  EXPECT_EQ(DraftMark(Language::kEn), "DRAFT");
}

TEST(DraftTest, WithoutTheDraftFlagTheSameCallWritesTheIssuedDocuments) {
  const std::string draft_dir = fixture::TempDir("draft-flag");
  const std::string issued_dir = fixture::TempDir("issued-flag");
  DocumentContext context = fixture::Context();
  context.draft = true;
  ASSERT_TRUE(WriteDocuments(fixture::Result(), context, draft_dir).ok());
  context.draft = false;
  ASSERT_TRUE(WriteDocuments(fixture::Result(), context, issued_dir).ok());
  const std::string issued = fixture::ReadFile(issued_dir + "/report-2026Q2.html");
  EXPECT_THAT(issued, Not(HasSubstr("LUONNOS")));
  EXPECT_THAT(issued, HasSubstr("2026200001"));
  EXPECT_TRUE(fs::exists(issued_dir + "/finvoice-2026Q2-espoo-kela.xml"));
}

}  // namespace
}  // namespace tori::documents
