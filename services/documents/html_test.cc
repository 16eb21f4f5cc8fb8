// The HTML report as text: self-contained, two SVG charts, the totals, an anchor per
// invoice line, key values, warnings, labels in the chosen language.
#include <regex>
#include <set>

#include "fmt/format.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/documents/documents.h"
#include "services/documents/internal/svg_chart.h"
#include "services/documents/internal/text.h"
#include "services/documents/test_fixture.h"

namespace tori::documents {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

std::string Report(Language language, const engine::BillingResult& result = fixture::Result()) {
  const std::string dir = fixture::TempDir("html");
  auto files = WriteDocuments(result, fixture::Context(language), dir);
  EXPECT_TRUE(files.ok()) << files.status();
  return fixture::ReadFile(dir + "/report-2026Q2.html");
}

size_t Count(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

TEST(HtmlReportTest, IsSelfContained) {
  const std::string html = Report(Language::kFi);
  EXPECT_THAT(html, Not(HasSubstr("<script")));
  EXPECT_THAT(html, Not(HasSubstr("<link")));
  EXPECT_THAT(html, Not(HasSubstr(" src=")));
  EXPECT_THAT(html, Not(HasSubstr("url(")));
  // The only URL is the SVG namespace.
  const std::regex url("https?://[^\"' ]+");
  for (auto it = std::sregex_iterator(html.begin(), html.end(), url); it != std::sregex_iterator();
       ++it) {
    EXPECT_EQ(it->str(), "http://www.w3.org/2000/svg");
  }
}

TEST(HtmlReportTest, HasBothChartsWithASegmentPerShare) {
  const std::string html = Report(Language::kFi);
  EXPECT_EQ(Count(html, "<svg class=\"chart\""), 2u);
  // Series are pool names (premises, shared_rooms, shared_staff). Agencies chart: espoo
  // 3 segments, kela 3, vero 2 (no shared_rooms share); points chart: 2 + 2; plus a
  // legend swatch per pool name in each chart.
  EXPECT_EQ(Count(html, "<rect x="), 8u + 4u + 6u);
  EXPECT_THAT(html, HasSubstr("Virastojen osuudet kustannuspooleittain"));
  EXPECT_THAT(html, HasSubstr("<title>premises: 38\u00a0333,33\u00a0€</title>"));  // kela
}

TEST(HtmlReportTest, ShowsTheTotals) {
  const std::string html = Report(Language::kFi);
  const engine::BillingResult result = fixture::Result();
  for (int64_t cents : {int64_t{13'100'000}, int64_t{4'109'449 + 2'895'833}, int64_t{6'082'373},
                        int64_t{2'266'591}}) {
    EXPECT_THAT(html, HasSubstr(internal::MoneyText(cents, Language::kFi))) << cents;
  }
  for (const auto& invoice : result.invoices) {
    EXPECT_THAT(html, HasSubstr(internal::MoneyText(invoice.total_cents, Language::kFi)));
  }
}

TEST(HtmlReportTest, EveryInvoiceLineHasItsAnchor) {
  const std::string html = Report(Language::kFi);
  const engine::BillingResult result = fixture::Result();
  for (const auto& invoice : result.invoices) {
    for (size_t n = 1; n <= invoice.lines.size(); ++n) {
      const std::string anchor = InvoiceLineAnchor(invoice.invoice_id, n);
      EXPECT_EQ(Count(html, "id=\"" + anchor + "\""), 1u) << anchor;
      EXPECT_THAT(html, HasSubstr("href=\"#" + anchor + "\""));
    }
  }
  EXPECT_THAT(html, HasSubstr("id=\"line-2026Q2-espoo-kela-6\" class=\"adjustment\""));
  EXPECT_THAT(html, HasSubstr("Oikaisu 2026Q1"));
}

TEST(HtmlReportTest, ListsKeyValuesSubsidyClaimsAndWarnings) {
  const std::string html = Report(Language::kFi);
  EXPECT_THAT(html, HasSubstr("Jakoperusteiden arvot"));
  EXPECT_THAT(html, HasSubstr("<td class=\"num\">40</td>"));  // espoo's contacts at kalajarvi
  EXPECT_THAT(html, HasSubstr("yps-state-aid"));
  EXPECT_THAT(html, HasSubstr("<code>FALLBACK_KEY_USED</code>"));
}

TEST(HtmlReportTest, LabelsFollowTheLanguage) {
  const std::string en = Report(Language::kEn);
  EXPECT_THAT(en, HasSubstr("<html lang=\"en\">"));
  EXPECT_THAT(en, HasSubstr("Each agency&#39;s share by cost pool"));
  EXPECT_THAT(en, HasSubstr("€41,094.49"));
  EXPECT_THAT(en, Not(HasSubstr("Laskut")));
  const std::string sv = Report(Language::kSv);
  EXPECT_THAT(sv, HasSubstr("<html lang=\"sv\">"));
  EXPECT_THAT(sv, HasSubstr("Fakturor"));
}

TEST(HtmlReportTest, EscapesNamesFromTheContext) {
  const std::string dir = fixture::TempDir("escape");
  DocumentContext context = fixture::Context();
  context.agencies["vero"].name = "Vero <script>&";
  ASSERT_TRUE(WriteDocuments(fixture::Result(), context, dir).ok());
  const std::string html = fixture::ReadFile(dir + "/report-2026Q2.html");
  EXPECT_THAT(html, HasSubstr("Vero &lt;script&gt;&amp;"));
  EXPECT_THAT(html, Not(HasSubstr("<script")));
}

// Issue 15.12: a pool has the same colour in every quarter and report, whatever other
// pools are billed beside it.
TEST(ChartColourTest, APoolKeepsItsColourWhateverElseIsBilled) {
  using internal::SeriesColour;
  using internal::SeriesColours;
  EXPECT_EQ(SeriesColour("premises"), "#0072B2");
  EXPECT_EQ(SeriesColour("shared_staff"), "#E69F00");
  EXPECT_EQ(SeriesColour("…"), "#999999");
  const std::string_view cleaning = SeriesColour("cleaning");
  EXPECT_EQ(SeriesColours({"cleaning"})[0], cleaning);
  EXPECT_EQ(SeriesColours({"cleaning", "premises", "shared_staff"})[0], cleaning);
  EXPECT_EQ(SeriesColours({"equipment", "premises"})[1], "#0072B2");
  EXPECT_EQ(SeriesColours({"premises"})[0], SeriesColours({"a", "b", "premises"})[2]);
  // Two pools of one chart never share a colour while the palette lasts.
  std::vector<std::string> many;
  for (int i = 0; i < 12; ++i) many.push_back(fmt::format("pool-{}", i));
  const auto colours = SeriesColours(many);
  EXPECT_EQ(std::set<std::string_view>(colours.begin(), colours.end()).size(), 12u);
}

// Issue 15.12: the report has a print layout: A4 pages, each invoice on its own page.
TEST(HtmlReportTest, HasAPrintLayoutWithAPagePerInvoice) {
  const std::string html = Report(Language::kFi);
  EXPECT_THAT(html, HasSubstr("@page{size:A4"));
  EXPECT_THAT(html, HasSubstr("@media print{"));
  EXPECT_THAT(html, HasSubstr("#invoices>article,#host-shares{break-before:page}"));
  EXPECT_EQ(Count(html, "<article class=\"invoice\""), 2u);
}


// SPEC section 8: a company's invoice shows its VAT and the total with VAT; the
// authorities' invoices show none (2 895 833 c x 25.5 % = 738 437 c, see documents).
TEST(HtmlReportTest, ACompanysInvoiceShowsItsVatAndTheTotalWithVat) {
  engine::BillingResult result = fixture::Result();
  result.invoices[1].vat = engine::Invoice::Vat{255'000, 738'437};
  const std::string html = Report(Language::kFi, result);
  EXPECT_EQ(Count(html, "Yhteensä sis. ALV"), 1u);
  EXPECT_THAT(html, HasSubstr("<tr class=\"vat\">"));
  EXPECT_THAT(html, HasSubstr("25,5\u00a0%"));
  EXPECT_THAT(html, HasSubstr("7\u00a0384,37\u00a0€"));
  EXPECT_THAT(html, HasSubstr("36\u00a0342,70\u00a0€"));
  EXPECT_THAT(Report(Language::kSv, result), HasSubstr("Totalt inkl. moms"));
  EXPECT_THAT(Report(Language::kFi), Not(HasSubstr("sis. ALV")));
}

}  // namespace
}  // namespace tori::documents
