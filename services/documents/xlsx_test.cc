// The workbook: a valid zip whose sheets hold money as numeric cells equal to the
// fixture's cents, totals as SUM formulas with exact cached values. Read back with
// python3's zipfile and ElementTree (python3 is required: without it these tests fail).
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>

#include "fmt/format.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/documents/documents.h"
#include "services/documents/test_fixture.h"

namespace tori::documents {
namespace {

using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

// Prints "sheet \t cell \t type \t value \t formula" for every cell, shared strings
// resolved; exits 1 when the zip fails its CRC check.
constexpr std::string_view kDumpScript = R"py(
import sys, zipfile, xml.etree.ElementTree as ET
M = '{http://schemas.openxmlformats.org/spreadsheetml/2006/main}'
R = '{http://schemas.openxmlformats.org/officeDocument/2006/relationships}'
z = zipfile.ZipFile(sys.argv[1])
bad = z.testzip()
if bad is not None:
    print('corrupt member', bad); sys.exit(1)
shared = []
if 'xl/sharedStrings.xml' in z.namelist():
    for si in ET.fromstring(z.read('xl/sharedStrings.xml')).iter(M + 'si'):
        shared.append(''.join(t.text or '' for t in si.iter(M + 't')))
rels = ET.fromstring(z.read('xl/_rels/workbook.xml.rels'))
target = {r.get('Id'): r.get('Target') for r in rels}
for sheet in ET.fromstring(z.read('xl/workbook.xml')).iter(M + 'sheet'):
    path = 'xl/' + target[sheet.get(R + 'id')]
    for c in ET.fromstring(z.read(path)).iter(M + 'c'):
        kind = c.get('t', 'n'); v = c.find(M + 'v'); f = c.find(M + 'f')
        value = v.text if v is not None else ''
        if kind == 's': value = shared[int(value)]
        value = value.replace('\t', ' ').replace('\n', ' ')
        formula = f.text if f is not None else ''
        print('\t'.join([sheet.get('name'), c.get('r'), kind, value, formula]))
)py";

struct XCell {
  std::string type;  // "n" number, "s" shared string, ...
  std::string value;
  std::string formula;
};
using Sheets = std::map<std::string, std::map<std::string, XCell>>;  // sheet -> "B7" -> cell

// Every cell of the workbook at `path`, read back with python3 (kDumpScript).
Sheets ReadSheets(const std::string& path) {
  Sheets sheets;
  const std::string script = path + ".dump.py";
  std::ofstream(script) << kDumpScript;
  const auto run = fixture::Run(fmt::format("python3 '{}' '{}'", script, path));
  EXPECT_EQ(run.exit_code, 0) << run.output;
  std::istringstream lines(run.output);
  for (std::string line; std::getline(lines, line);) {
    if (line.empty()) continue;
    std::vector<std::string> f;
    std::istringstream fields(line);
    for (std::string field; std::getline(fields, field, '\t');) f.push_back(field);
    if (line.back() == '\t') f.push_back("");  // an empty formula column
    EXPECT_EQ(f.size(), 5u) << line;
    if (f.size() == 5) sheets[f[0]][f[1]] = XCell{f[2], f[3], f[4]};
  }
  return sheets;
}

class XlsxTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(fixture::HaveProgram("python3"))
        << "python3 is required to read the workbook back (zipfile)";
    dir_ = fixture::TempDir("xlsx");
    auto files = WriteDocuments(fixture::Result(), fixture::Context(Language::kEn), dir_);
    ASSERT_TRUE(files.ok()) << files.status();
    sheets_ = ReadSheets(dir_ + "/invoices-2026Q2.xlsx");
  }

  // The topmost, then leftmost cell whose text is `text` in `sheet`, as (column
  // letters, row number).
  std::optional<std::pair<std::string, int>> Find(const std::string& sheet,
                                                  const std::string& text) {
    std::optional<std::pair<std::string, int>> best;
    for (const auto& [ref, cell] : sheets_[sheet]) {
      if (cell.type != "s" || cell.value != text) continue;
      const auto [col, row] = Split(ref);
      if (!best || row < best->second ||
          (row == best->second &&
           std::make_pair(col.size(), col) < std::make_pair(best->first.size(), best->first))) {
        best = std::make_pair(col, row);
      }
    }
    return best;
  }

  static std::pair<std::string, int> Split(const std::string& ref) {
    const size_t digits = ref.find_first_of("0123456789");
    return {ref.substr(0, digits), std::stoi(ref.substr(digits))};
  }

  // A numeric cell's value in whole cents. The cell holds the double nearest to the euro
  // amount, written with up to 17 significant digits ("70052.82000000001"): the digits
  // beyond the cent must be that double's representation error, nothing more.
  int64_t NumericCents(const std::string& sheet, const std::string& ref) {
    const auto it = sheets_[sheet].find(ref);
    EXPECT_NE(it, sheets_[sheet].end()) << sheet << "!" << ref << " is empty";
    if (it == sheets_[sheet].end()) return -1;
    EXPECT_EQ(it->second.type, "n") << sheet << "!" << ref << " is not a number";
    const std::string& text = it->second.value;
    const bool negative = !text.empty() && text[0] == '-';
    const size_t point = text.find('.');
    const std::string whole =
        text.substr(negative ? 1 : 0,
                    point == std::string::npos ? std::string::npos : point - (negative ? 1 : 0));
    std::string fraction = point == std::string::npos ? "" : text.substr(point + 1);
    fraction.resize(10, '0');  // two cent digits, then 1e-8 cent
    EXPECT_EQ(whole.find_first_not_of("0123456789"), std::string::npos) << text;
    EXPECT_EQ(fraction.find_first_not_of("0123456789"), std::string::npos) << text;
    int64_t cents = std::stoll(whole) * 100 + std::stoll(fraction.substr(0, 2));
    const int64_t below_cent_e8 = std::stoll(fraction.substr(2, 8));
    EXPECT_TRUE(below_cent_e8 <= 1000 || below_cent_e8 >= 100'000'000 - 1000)
        << sheet << "!" << ref << " = " << text << " is not a whole number of cents";
    if (below_cent_e8 >= 50'000'000) cents += 1;
    return negative ? -cents : cents;
  }

  std::string dir_;
  Sheets sheets_;
};

TEST_F(XlsxTest, HasASummaryASheetPerInvoiceAndKeyValues) {
  std::vector<std::string> names;
  for (const auto& [name, cells] : sheets_) names.push_back(name);
  EXPECT_THAT(names, Contains("Summary"));
  EXPECT_THAT(names, Contains("Key values"));
  EXPECT_THAT(names, Contains("2026200001 kela"));
  EXPECT_THAT(names, Contains("2026200002 vero"));
}

TEST_F(XlsxTest, InvoiceSheetsHoldEveryLineAsANumberAndTheTotalAsAFormula) {
  const engine::BillingResult result = fixture::Result();
  for (size_t i = 0; i < result.invoices.size(); ++i) {
    const engine::Invoice& invoice = result.invoices[i];
    const std::string sheet =
        fmt::format("{} {}", InvoiceNumber(result.quarter, i), invoice.recipient_agency_id);
    const auto amount = Find(sheet, "Amount");
    ASSERT_TRUE(amount) << sheet;
    const auto& [col, header_row] = *amount;
    for (size_t n = 0; n < invoice.lines.size(); ++n) {
      EXPECT_EQ(NumericCents(sheet, fmt::format("{}{}", col, header_row + 1 + static_cast<int>(n))),
                invoice.lines[n].amount_cents)
          << sheet << " line " << n + 1;
    }
    const std::string total_ref =
        fmt::format("{}{}", col, header_row + 1 + static_cast<int>(invoice.lines.size()));
    EXPECT_EQ(NumericCents(sheet, total_ref), invoice.total_cents) << sheet;
    EXPECT_THAT(sheets_[sheet][total_ref].formula, StartsWith("SUM(")) << sheet;
  }
}

TEST_F(XlsxTest, SummaryMatrixHoldsEachAgencysShareOfEachPool) {
  const auto header = Find("Summary", "Palvelutori Iso Omena – premises");
  ASSERT_TRUE(header);
  const auto espoo = Find("Summary", "Espoon kaupunki");
  const auto kela = Find("Summary", "Kansaneläkelaitos");
  const auto vero = Find("Summary", "Verohallinto");
  ASSERT_TRUE(espoo && kela && vero);
  const std::string col = header->first;
  EXPECT_EQ(NumericCents("Summary", col + std::to_string(espoo->second)), 4'333'335);  // host
  EXPECT_EQ(NumericCents("Summary", col + std::to_string(kela->second)), 3'333'333);
  EXPECT_EQ(NumericCents("Summary", col + std::to_string(vero->second)), 2'333'333);
  // The column's SUM equals the pool's cost, written beside it.
  const int total_row = vero->second + 1;  // agencies bytewise: vero last
  EXPECT_EQ(NumericCents("Summary", col + std::to_string(total_row)), 10'000'001);
  EXPECT_THAT(sheets_["Summary"][col + std::to_string(total_row)].formula, StartsWith("SUM("));
  const auto pool_cost = Find("Summary", "Pool cost");
  ASSERT_TRUE(pool_cost);
  EXPECT_EQ(NumericCents("Summary", col + std::to_string(pool_cost->second)), 10'000'001);
  // kela's adjustment lines, apart from the quarter's shares.
  const auto adjustments = Find("Summary", "Adjustments (earlier quarters)");
  ASSERT_TRUE(adjustments);
  EXPECT_EQ(NumericCents("Summary", adjustments->first + std::to_string(kela->second)), -12'345);
}

TEST_F(XlsxTest, InvoicesSheetListsInvoicesWithTheirTotals) {
  const auto number = Find("Invoices", "2026200001");
  ASSERT_TRUE(number);
  EXPECT_EQ(number->second, 3);  // title, header, then the invoices
  EXPECT_EQ(NumericCents("Invoices", "F3"), 4'109'449);
  EXPECT_EQ(NumericCents("Invoices", "F4"), 2'895'833);
  EXPECT_EQ(NumericCents("Invoices", "F5"), 7'005'282);  // SUM
  EXPECT_EQ(sheets_["Invoices"]["F5"].formula, "SUM(F3:F4)");
}

TEST_F(XlsxTest, SubsidyClaimsSheetHoldsTheClaimsAsNumbers) {
  // Title, header, then one row per claim; amount in column F.
  EXPECT_EQ(NumericCents("State subsidy claims", "F3"), 2'260'418);
  EXPECT_EQ(NumericCents("State subsidy claims", "E3"), 4'520'835);
  EXPECT_EQ(NumericCents("State subsidy claims", "F4"), 6'173);
  EXPECT_EQ(NumericCents("State subsidy claims", "F5"), 2'266'591);  // total
}

// Issue 15.13: every sheet keeps its header row in view and has a filter on it that
// covers the data rows and not the total row below them.
TEST_F(XlsxTest, EverySheetHasAFrozenHeaderAndAFilterOverItsData) {
  const std::string script = dir_ + "/panes.py";
  std::ofstream(script) << R"py(
import sys, zipfile, xml.etree.ElementTree as ET
M = '{http://schemas.openxmlformats.org/spreadsheetml/2006/main}'
R = '{http://schemas.openxmlformats.org/officeDocument/2006/relationships}'
z = zipfile.ZipFile(sys.argv[1])
rels = ET.fromstring(z.read('xl/_rels/workbook.xml.rels'))
target = {r.get('Id'): r.get('Target') for r in rels}
for sheet in ET.fromstring(z.read('xl/workbook.xml')).iter(M + 'sheet'):
    root = ET.fromstring(z.read('xl/' + target[sheet.get(R + 'id')]))
    pane = root.find('.//' + M + 'pane')
    auto = root.find(M + 'autoFilter')
    print('\t'.join([sheet.get('name'),
                     pane.get('state', '') + ' ' + pane.get('topLeftCell', '') if pane is not None else '-',
                     auto.get('ref') if auto is not None else '-']))
)py";
  const auto run = fixture::Run(fmt::format("python3 '{}' '{}/invoices-2026Q2.xlsx'", script, dir_));
  ASSERT_EQ(run.exit_code, 0) << run.output;
  std::map<std::string, std::pair<std::string, std::string>> panes;
  std::istringstream lines(run.output);
  for (std::string line; std::getline(lines, line);) {
    std::istringstream fields(line);
    std::string name, pane, filter;
    std::getline(fields, name, '\t');
    std::getline(fields, pane, '\t');
    std::getline(fields, filter, '\t');
    panes[name] = {pane, filter};
  }
  EXPECT_EQ(panes.size(), 10u);  // and SPEC section 9: referrals, room utilisation, budgets
  for (const auto& [name, pane] : panes) {
    EXPECT_THAT(pane.first, StartsWith("frozen ")) << name;
    EXPECT_NE(pane.second, "-") << name << " has no filter";
  }
  EXPECT_EQ(panes["Invoices"], std::make_pair(std::string("frozen A3"), std::string("A2:G4")));
  EXPECT_EQ(panes["2026200001 kela"].second, "A10:M16");  // header and 6 lines; total in 17
  EXPECT_EQ(panes["Summary"].first, "frozen B5");
}

// Issue 15.13: quantities are in their units: m²·days as a decimal, seconds as a time.
TEST_F(XlsxTest, QuantitiesAreInTheirUnits) {
  const std::string sheet = "2026200001 kela";
  EXPECT_EQ(sheets_[sheet]["G11"].value, "18200");      // 1 820 000 centi-m²·days
  const double advisor_days = std::stod(sheets_[sheet]["G13"].value);  // 4000 s
  EXPECT_NEAR(advisor_days * 86400, 4000, 1e-6);
  EXPECT_EQ(sheets_[sheet]["I13"].value, "h:min:s");
}

TEST_F(XlsxTest, KeyValuesDeriveTheHostsValueFromTheTotal) {
  // kalajarvi contacts: kela 25 of 65 on its invoice, so espoo (host) 40.
  std::set<int> host_rows;
  for (const auto& [ref, cell] : sheets_["Key values"]) {
    if (cell.type == "s" && cell.value == "Espoon kaupunki (host)")
      host_rows.insert(Split(ref).second);
  }
  EXPECT_EQ(host_rows.size(), 2u);  // one table per point
  bool found = false;
  for (const auto& [ref, cell] : sheets_["Key values"]) {
    if (host_rows.count(Split(ref).second) > 0 && cell.type == "n" && cell.value == "40")
      found = true;
  }
  EXPECT_TRUE(found) << "espoo's 40 contacts at kalajarvi not found";
}


// A draft workbook: its file name starts with "draft-", every sheet's title cell starts
// with the mark in the workbook's language, and no issued invoice number or reference
// number appears anywhere.
TEST(XlsxDraftTest, EverySheetOfADraftOpensWithTheMarkAndHasNoInvoiceNumber) {
  ASSERT_TRUE(fixture::HaveProgram("python3"));
  for (const Language language : {Language::kFi, Language::kSv, Language::kEn}) {
    const std::string dir = fixture::TempDir(fmt::format("xlsx-draft-{}", LanguageCode(language)));
    DocumentContext context = fixture::Context(language);
    context.draft = true;
    ASSERT_TRUE(WriteDocuments(fixture::Result(), context, dir).ok());
    EXPECT_FALSE(std::filesystem::exists(dir + "/invoices-2026Q2.xlsx"));
    const Sheets sheets = ReadSheets(dir + "/draft-invoices-2026Q2.xlsx");
    ASSERT_EQ(sheets.size(), 10u);  // summary, three lists, two invoices, key values, section 9 x 3
    for (const auto& [name, cells] : sheets) {
      ASSERT_TRUE(cells.count("A1")) << name;
      EXPECT_THAT(cells.at("A1").value, StartsWith(std::string(DraftMark(language)) + ":"))
          << name;
      for (const auto& [ref, cell] : cells) {
        EXPECT_EQ(cell.value.find("2026200001"), std::string::npos) << name << "!" << ref;
        EXPECT_EQ(cell.value.find("20262000019"), std::string::npos) << name << "!" << ref;
      }
    }
    EXPECT_THAT(sheets.at(fmt::format("{} 1 kela", DraftMark(language))).at("A1").value,
                testing::HasSubstr(DraftInvoiceNumber("2026Q2-espoo-kela", language)));
  }
}

// Issue 15.11: Finnish and Swedish documents hold no English label, key name, pool id
// or warning text, once the agreement names its pools in the language.
TEST(LanguageTest, FinnishAndSwedishDocumentsHaveNoEnglishText) {
  ASSERT_TRUE(fixture::HaveProgram("python3"));
  // What an English reader sees in the report, the workbook and the e-invoices.
  const std::vector<std::string> english = {
      "Cost sharing", "Summary", "Invoice", "Reference number", "Issuer", "Recipient",
      "Business ID", "Agency", "Service point", "Cost pool", "Key", "Weight", "Party's value",
      "All parties", "Unit", "Amount", "Line", "Adjust", "replaces key", "host", "Host",
      "Invoiced", "State subsidy", "Programme", "Claimant", "Basis", "Warnings", "Key values",
      "Total costs", "Pool cost", "agency's share", "Cost pools", "Tranche", "days net",
      "Due date", "Quarter", "contacts", "advisor time", "advisor_time", "weighted",
      "dedicated area", "dedicated_area", "room bookings", "booked_minutes", "fixed shares",
      "equal split", "m²·days", "service point", "sums to 0", "fallback", "parties", "used"};
  // Pool ids stand for the agreement's pool names in the report and the workbook.
  const std::vector<std::string> pool_ids = {"premises", "shared_staff", "shared_rooms"};
  const engine::BillingResult result = fixture::Result();
  for (const Language language : {Language::kFi, Language::kSv}) {
    SCOPED_TRACE(LanguageCode(language));
    DocumentContext context = fixture::Context(language);
    const bool fi = language == Language::kFi;
    for (const char* point : {"iso-omena", "kalajarvi"}) {
      context.pool_names[{point, "premises"}][language] = fi ? "Toimitilat" : "Lokaler";
      context.pool_names[{point, "shared_staff"}][language] =
          fi ? "Yhteinen henkilöstö" : "Gemensam personal";
      context.pool_names[{point, "shared_rooms"}][language] =
          fi ? "Yhteiset tilat" : "Gemensamma rum";
    }
    const std::string dir = fixture::TempDir(fmt::format("lang-{}", LanguageCode(language)));
    ASSERT_TRUE(WriteDocuments(result, context, dir).ok());
    std::string workbook;
    for (const auto& [name, cells] : ReadSheets(dir + "/invoices-2026Q2.xlsx")) {
      workbook += name + "\n";
      for (const auto& [ref, cell] : cells) workbook += cell.value + "\n";
    }
    const std::string report = fixture::ReadFile(dir + "/report-2026Q2.html");
    // The e-invoices' texts (ArticleIdentifier is an id, like the invoice id).
    std::string finvoice;
    for (const char* id : {"2026Q2-espoo-kela", "2026Q2-espoo-vero"}) {
      finvoice += fixture::Run(fmt::format(
                                   "xmllint --xpath '//InvoiceRow/ArticleName/text() | "
                                   "//RowFreeText/text() | //InvoiceFreeText/text()' '{}'",
                                   dir + "/finvoice-" + id + ".xml"))
                      .output;
    }
    ASSERT_THAT(report, HasSubstr(fi ? "Toimitilat" : "Lokaler"));
    ASSERT_THAT(workbook, HasSubstr(fi ? "Yhteinen henkilöstö" : "Gemensam personal"));
    ASSERT_THAT(finvoice, HasSubstr(fi ? "Yhteiset tilat" : "Gemensamma rum"));
    for (const std::string& word : english) {
      EXPECT_THAT(report, Not(HasSubstr(">" + word))) << "report: " << word;
      EXPECT_THAT(report, Not(HasSubstr(" " + word + " "))) << "report: " << word;
      EXPECT_THAT(workbook, Not(HasSubstr(word))) << "workbook: " << word;
      EXPECT_THAT(finvoice, Not(HasSubstr(word))) << "Finvoice: " << word;
    }
    for (const std::string& pool : pool_ids) {
      EXPECT_THAT(report, Not(HasSubstr(">" + pool))) << "report: " << pool;
      EXPECT_THAT(workbook, Not(HasSubstr(pool))) << "workbook: " << pool;
    }
  }
}


// SPEC section 8: under a company's invoice total, its VAT (the rate as a number too) and
// the total with VAT as a SUM of the two; 2 895 833 c x 25.5 % = 738 437 c.
TEST_F(XlsxTest, ACompanysInvoiceSheetAddsItsVatAndTheTotalWithVat) {
  engine::BillingResult result = fixture::Result();
  result.invoices[1].vat = engine::Invoice::Vat{255'000, 738'437};
  const std::string dir = fixture::TempDir("xlsx-company");
  ASSERT_TRUE(WriteDocuments(result, fixture::Context(Language::kEn), dir).ok());
  sheets_ = ReadSheets(dir + "/invoices-2026Q2.xlsx");
  const std::string sheet = "2026200002 vero";
  const auto vat = Find(sheet, "VAT 25.5 %");
  ASSERT_TRUE(vat);
  const int row = vat->second;
  EXPECT_EQ(NumericCents(sheet, fmt::format("J{}", row - 1)), 2'895'833);  // the total
  EXPECT_EQ(NumericCents(sheet, fmt::format("J{}", row)), 738'437);
  EXPECT_EQ(sheets_[sheet][fmt::format("F{}", row)].value, "0.255");
  const auto with_vat = Find(sheet, "Total incl. VAT");
  ASSERT_TRUE(with_vat);
  EXPECT_EQ(with_vat->second, row + 1);
  EXPECT_EQ(NumericCents(sheet, fmt::format("J{}", row + 1)), 3'634'270);
  EXPECT_EQ(sheets_[sheet][fmt::format("J{}", row + 1)].formula, fmt::format("SUM(J{}:J{})", row - 1, row));
  EXPECT_FALSE(Find("2026200001 kela", "Total incl. VAT"));
}

}  // namespace
}  // namespace tori::documents
