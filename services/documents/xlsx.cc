// The run's XLSX workbook (libxlsxwriter): a summary sheet, a sheet per invoice and a
// sheet of key values. Money cells hold euros as numbers with a euro format; the double
// is made from the int64 cents at this display boundary only, and every total is a SUM
// formula whose cached value is the exact integer sum (so readers that do not
// recalculate show the right cents). The creation time is the issue date, so the same
// run gives the same bytes.
#include <functional>
#include <xlsxwriter.h>

#include <algorithm>
#include <set>

#include "absl/time/time.h"
#include "events/base/check.h"
#include "fmt/format.h"
#include "services/documents/internal/labels.h"
#include "services/documents/internal/render.h"
#include "services/documents/internal/text.h"

namespace tori::documents::internal {
namespace {

using engine::QuarterName;

// "C7" for row 6, column 2 (0-based).
std::string Cell(int row, int col) {
  std::string letters;
  for (int c = col + 1; c > 0; c = (c - 1) / 26)
    letters.insert(letters.begin(), char('A' + (c - 1) % 26));
  return fmt::format("{}{}", letters, row + 1);
}

double Euros(int64_t cents) { return static_cast<double>(cents) / 100.0; }

// A key quantity at its decimal scale (KeyScale), for a number cell.
double Scaled(int64_t value, int scale) {
  static constexpr double kPow10[5] = {1, 10, 100, 1000, 10000};
  return static_cast<double>(value) / kPow10[scale];
}

struct Formats {
  lxw_format* title = nullptr;
  lxw_format* header = nullptr;
  lxw_format* bold = nullptr;
  lxw_format* money = nullptr;
  lxw_format* money_total = nullptr;
  lxw_format* percent = nullptr;
  lxw_format* date = nullptr;
  lxw_format* quantity[5] = {};  // by decimal scale 0..4
  lxw_format* duration = nullptr;  // [h]:mm:ss
};

Formats MakeFormats(lxw_workbook* workbook, Language language) {
  Formats f;
  f.title = workbook_add_format(workbook);
  format_set_bold(f.title);
  format_set_font_size(f.title, 14);
  f.header = workbook_add_format(workbook);
  format_set_bold(f.header);
  format_set_text_wrap(f.header);
  format_set_bg_color(f.header, 0xDDE6F0);
  format_set_bottom(f.header, LXW_BORDER_THIN);
  f.bold = workbook_add_format(workbook);
  format_set_bold(f.bold);
  f.money = workbook_add_format(workbook);
  format_set_num_format(f.money, "#,##0.00 \"€\"");
  f.money_total = workbook_add_format(workbook);
  format_set_num_format(f.money_total, "#,##0.00 \"€\"");
  format_set_bold(f.money_total);
  format_set_top(f.money_total, LXW_BORDER_THIN);
  f.percent = workbook_add_format(workbook);
  format_set_num_format(f.percent, "0.00##%");
  f.date = workbook_add_format(workbook);
  format_set_num_format(f.date, language == Language::kEn ? "yyyy-mm-dd" : "d.m.yyyy");
  static constexpr const char* kQuantity[5] = {"#,##0", "#,##0.0", "#,##0.00", "#,##0.000",
                                               "#,##0.0000"};
  for (int s = 0; s < 5; ++s) {
    f.quantity[s] = workbook_add_format(workbook);
    format_set_num_format(f.quantity[s], kQuantity[s]);
  }
  f.duration = workbook_add_format(workbook);
  format_set_num_format(f.duration, "[h]:mm:ss");
  return f;
}

// A worksheet that remembers the first write error (libxlsxwriter reports per call).
class Sheet {
 public:
  Sheet(lxw_worksheet* sheet, lxw_error* first_error) : ws_(sheet), error_(first_error) {}
  void Text(int row, int col, std::string_view text, lxw_format* format = nullptr) {
    Check(worksheet_write_string(ws_, Row(row), Col(col), std::string(text).c_str(), format));
  }
  void Money(int row, int col, int64_t cents, lxw_format* format) {
    Check(worksheet_write_number(ws_, Row(row), Col(col), Euros(cents), format));
  }
  void Number(int row, int col, double value, lxw_format* format) {
    Check(worksheet_write_number(ws_, Row(row), Col(col), value, format));
  }
  // =SUM(first:last) over one column or row, with the exact sum as the cached value.
  void Sum(int row, int col, int first_row, int first_col, int last_row, int last_col,
           int64_t cents, lxw_format* format) {
    const std::string formula =
        first_row > last_row || first_col > last_col
            ? std::string("=0")
            : fmt::format("=SUM({}:{})", Cell(first_row, first_col), Cell(last_row, last_col));
    Check(worksheet_write_formula_num(ws_, Row(row), Col(col), formula.c_str(), format,
                                      Euros(cents)));
  }
  void Date(int row, int col, absl::CivilDay day, lxw_format* format) {
    lxw_datetime dt{static_cast<int>(day.year()), day.month(), day.day(), 0, 0, 0.0};
    Check(worksheet_write_datetime(ws_, Row(row), Col(col), &dt, format));
  }
  // Keeps rows above `header_row` and the header itself (and `frozen_cols` columns) in
  // view, and puts a filter on the header over the data rows below it (a total row after
  // `last_data_row` stays out of sorting and filtering).
  void FreezeAndFilter(int header_row, int last_col, int last_data_row, int frozen_cols = 0) {
    worksheet_freeze_panes(ws_, Row(header_row + 1), Col(frozen_cols));
    Check(worksheet_autofilter(ws_, Row(header_row), 0, Row(std::max(last_data_row, header_row)),
                               Col(last_col)));
  }
  // A duration of whole seconds as an Excel time (days) shown as [h]:mm:ss.
  void Duration(int row, int col, int64_t seconds, lxw_format* format) {
    Check(worksheet_write_number(ws_, Row(row), Col(col), static_cast<double>(seconds) / 86400.0,
                                 format));
  }
  void Width(int first_col, int last_col, double width) {
    Check(worksheet_set_column(ws_, Col(first_col), Col(last_col), width, nullptr));
  }
  lxw_worksheet* raw() { return ws_; }

 private:
  static lxw_row_t Row(int row) { return static_cast<lxw_row_t>(row); }
  static lxw_col_t Col(int col) { return static_cast<lxw_col_t>(col); }
  void Check(lxw_error error) {
    if (error != LXW_NO_ERROR && *error_ == LXW_NO_ERROR) *error_ = error;
  }
  lxw_worksheet* ws_;
  lxw_error* error_;
};

// Excel forbids []:*?/\ in sheet names, an apostrophe at either end, and more than 31
// characters; callers make names unique (invoice sheets start with the invoice number).
std::string SheetName(std::string_view text) {
  std::string name = TruncateChars(text, 31);
  for (char& c : name) {
    if (std::string_view("[]:*?/\\'").find(c) != std::string_view::npos) c = '_';
  }
  return name;
}

struct Book {
  lxw_workbook* workbook;
  Formats f;
  const Labels& labels;
  const DocumentContext& context;
  lxw_error* error;
  Sheet Add(std::string_view name) {
    lxw_worksheet* ws = workbook_add_worksheet(workbook, SheetName(name).c_str());
    TORI_CHECK(ws != nullptr);  // names are unique and valid by construction
    if (context.draft) {
      // The mark in the page header of every printed page and a red tab.
      const std::string header = fmt::format("&C&\"-,Bold\"&16{}", labels.draft_mark);
      worksheet_set_header(ws, header.c_str());
      worksheet_set_tab_color(ws, 0xB00020);
    }
    return Sheet(ws, error);
  }
  // A sheet's title (cell A1): on a draft it starts with the mark.
  std::string Title(std::string_view title) const {
    return context.draft ? fmt::format("{}: {}", labels.draft_mark, title) : std::string(title);
  }
};

// A key's quantity in its unit: m²·days, weights and counts as numbers at their scale,
// seconds as [h]:mm:ss.
void WriteQuantity(Book& book, Sheet& sheet, int row, int col, engine::Key key, int64_t quantity) {
  if (IsDurationKey(key)) {
    sheet.Duration(row, col, quantity, book.f.duration);
  } else {
    const int scale = KeyScale(key);
    sheet.Number(row, col, Scaled(quantity, scale), book.f.quantity[scale]);
  }
}

// The agency x pool matrix; returns the next free row.
int WriteMatrix(Book& book, Sheet& sheet, const engine::BillingResult& result, int row) {
  const ShareMatrix m = BuildShareMatrix(result);
  const int pools = static_cast<int>(m.pools.size());
  const int adjustment_col = 2 + pools, total_col = 3 + pools;
  sheet.Text(row, 0, book.labels.agency, book.f.header);
  sheet.Text(row, 1, book.labels.business_id, book.f.header);
  for (int p = 0; p < pools; ++p) {
    sheet.Text(row, 2 + p,
               fmt::format("{} – {}", PointName(book.context, m.pools[p].service_point_id),
                           PoolName(book.context, m.pools[p].service_point_id, m.pools[p].pool)),
               book.f.header);
  }
  sheet.Text(row, adjustment_col, book.labels.adjustments, book.f.header);
  sheet.Text(row, total_col, book.labels.total, book.f.header);
  const int first = row + 1;
  std::vector<int64_t> column_cents(static_cast<size_t>(pools) + 1, 0);
  int64_t all_cents = 0;
  for (size_t a = 0; a < m.agencies.size(); ++a) {
    const int r = first + static_cast<int>(a);
    const AgencyInfo& agency = book.context.agencies.at(m.agencies[a]);
    sheet.Text(r, 0, agency.name);
    sheet.Text(r, 1, agency.business_id);
    int64_t row_cents = m.adjustment_cents[a];
    for (int p = 0; p < pools; ++p) {
      sheet.Money(r, 2 + p, m.share_cents[a][static_cast<size_t>(p)], book.f.money);
      row_cents += m.share_cents[a][static_cast<size_t>(p)];
      column_cents[static_cast<size_t>(p)] += m.share_cents[a][static_cast<size_t>(p)];
    }
    sheet.Money(r, adjustment_col, m.adjustment_cents[a], book.f.money);
    column_cents.back() += m.adjustment_cents[a];
    sheet.Sum(r, total_col, r, 2, r, adjustment_col, row_cents, book.f.money_total);
    all_cents += row_cents;
  }
  const int last = first + static_cast<int>(m.agencies.size()) - 1;
  sheet.FreezeAndFilter(row, total_col, last, /*frozen_cols=*/1);
  const int total_row = last + 1;
  sheet.Text(total_row, 0, book.labels.total, book.f.bold);
  for (int c = 2; c <= adjustment_col; ++c) {
    sheet.Sum(total_row, c, first, c, last, c, column_cents[static_cast<size_t>(c - 2)],
              book.f.money_total);
  }
  sheet.Sum(total_row, total_col, first, total_col, last, total_col, all_cents, book.f.money_total);
  sheet.Text(total_row + 1, 0, book.labels.pool_amount);
  for (int p = 0; p < pools; ++p) {
    TORI_CHECK(column_cents[static_cast<size_t>(p)] ==
               m.pools[static_cast<size_t>(p)].amount_cents);
    sheet.Money(total_row + 1, 2 + p, m.pools[static_cast<size_t>(p)].amount_cents, book.f.money);
  }
  sheet.Width(0, 0, 34);
  sheet.Width(1, 1, 12);
  sheet.Width(2, total_col, 18);
  return total_row + 3;
}

// A sheet named `title` with one table: the title, a frozen and filtered header row,
// the items and a SUM total row of the money in `money_col`. `cells(sheet, row, item)`
// writes one item's cells and returns its cents.
template <typename Items, typename CellsFn>
void WriteTableSheet(Book& book, std::string_view title, std::vector<std::string_view> headers,
                     int money_col, const Items& items, CellsFn cells) {
  Sheet sheet = book.Add(title);
  sheet.Text(0, 0, book.Title(title), book.f.title);
  const int header_row = 1;
  for (size_t c = 0; c < headers.size(); ++c)
    sheet.Text(header_row, static_cast<int>(c), headers[c], book.f.header);
  int row = header_row + 1;
  int64_t total_cents = 0;
  for (const auto& item : items) total_cents += cells(sheet, row++, item);
  sheet.FreezeAndFilter(header_row, static_cast<int>(headers.size()) - 1, row - 1);
  sheet.Text(row, 0, book.labels.total, book.f.bold);
  sheet.Sum(row, money_col, header_row + 1, money_col, row - 1, money_col, total_cents,
            book.f.money_total);
  sheet.Width(0, static_cast<int>(headers.size()) - 1, 24);
}

void WriteSummary(Book& book, const engine::BillingResult& result) {
  const Labels& l = book.labels;
  Sheet sheet = book.Add(l.summary);
  sheet.Text(0, 0, book.Title(fmt::format("{} {}", l.report_title, QuarterName(result.quarter))),
             book.f.title);
  if (book.context.draft) sheet.Text(0, 3, l.draft_note, book.f.bold);
  sheet.Text(1, 0, l.issue_date);
  sheet.Date(1, 1, book.context.issue_date, book.f.date);
  WriteMatrix(book, sheet, result, 3);
}

// The invoice list, the host's shares and the subsidy claims, a sheet each.
void WriteListSheets(Book& book, const engine::BillingResult& result,
                     const std::vector<InvoiceMeta>& metas) {
  const Labels& l = book.labels;
  std::vector<size_t> indexes(result.invoices.size());
  for (size_t i = 0; i < indexes.size(); ++i) indexes[i] = i;
  WriteTableSheet(book, l.invoices,
                  {l.invoice_number, l.issuer, l.recipient, l.reference_number, l.due_date,
                   l.amount, l.invoice_id},
                  5, indexes, [&](Sheet& sheet, int r, size_t i) {
                    const engine::Invoice& invoice = result.invoices[i];
                    sheet.Text(r, 0, metas[i].number);
                    sheet.Text(r, 1, AgencyName(book.context, invoice.issuer_agency_id));
                    sheet.Text(r, 2, AgencyName(book.context, invoice.recipient_agency_id));
                    sheet.Text(r, 3, metas[i].reference.empty() ? "—" : metas[i].reference);
                    sheet.Date(r, 4, metas[i].due_date, book.f.date);
                    sheet.Money(r, 5, invoice.total_cents, book.f.money);
                    sheet.Text(r, 6, invoice.invoice_id);
                    return invoice.total_cents;
                  });
  WriteTableSheet(book, l.host_shares, {l.agency, l.service_point, l.pool, l.adjusts, l.amount},
                  4, result.host_shares,
                  [&](Sheet& sheet, int r, const engine::HostShare& share) {
                    sheet.Text(r, 0, AgencyName(book.context, share.agency_id));
                    sheet.Text(r, 1, PointName(book.context, share.service_point_id));
                    sheet.Text(r, 2, PoolName(book.context, share.service_point_id, share.pool));
                    if (share.adjusts_quarter) sheet.Text(r, 3, QuarterName(*share.adjusts_quarter));
                    sheet.Money(r, 4, share.amount_cents, book.f.money);
                    return share.amount_cents;
                  });
  WriteTableSheet(book, l.subsidy_claims,
                  {l.service_point, l.program, l.claimant, l.adjusts, l.basis, l.amount}, 5,
                  result.subsidy_claims,
                  [&](Sheet& sheet, int r, const engine::SubsidyClaim& claim) {
                    sheet.Text(r, 0, PointName(book.context, claim.service_point_id));
                    sheet.Text(r, 1, claim.program_id);
                    sheet.Text(r, 2, AgencyName(book.context, claim.claimant_agency_id));
                    if (claim.adjusts_quarter) sheet.Text(r, 3, QuarterName(*claim.adjusts_quarter));
                    sheet.Money(r, 4, claim.basis_cents, book.f.money);
                    sheet.Money(r, 5, claim.amount_cents, book.f.money);
                    return claim.amount_cents;
                  });
}

// SPEC section 8: under a company's invoice total (row `total_row`), its VAT ("ALV
// 25,5 %", the rate also as a number) and the total with VAT as a SUM of the two. The VAT
// is billing's figure (once on the total, half up), not a formula Excel would round.
void WriteVatRows(Book& book, Sheet& sheet, int total_row, int amount_col, const engine::Invoice& invoice) {
  const Labels& l = book.labels;
  const int vat_row = total_row + 1;
  sheet.Text(vat_row, 0, fmt::format("{} {} %", l.vat, PercentText(invoice.vat->rate_pct_e4, book.context.language)),
             book.f.bold);
  sheet.Number(vat_row, 5, static_cast<double>(invoice.vat->rate_pct_e4) / 1e6, book.f.percent);
  sheet.Money(vat_row, amount_col, invoice.vat->vat_cents, book.f.money);
  sheet.Text(vat_row + 1, 0, l.total_with_vat, book.f.bold);
  sheet.Sum(vat_row + 1, amount_col, total_row, amount_col, vat_row, amount_col,
            invoice.total_cents + invoice.vat->vat_cents, book.f.money_total);
}

void WriteInvoiceSheet(Book& book, const engine::Invoice& invoice, const InvoiceMeta& meta,
                       size_t index) {
  const Labels& l = book.labels;
  const Language lang = book.context.language;
  // A draft number is long; the sheet name keeps a unique start within 31 characters.
  Sheet sheet = book.Add(book.context.draft ? fmt::format("{} {} {}", l.draft_mark, index + 1,
                                                          invoice.recipient_agency_id)
                                            : fmt::format("{} {}", meta.number,
                                                          invoice.recipient_agency_id));
  const AgencyInfo& issuer = book.context.agencies.at(invoice.issuer_agency_id);
  const AgencyInfo& recipient = book.context.agencies.at(invoice.recipient_agency_id);
  sheet.Text(0, 0, book.Title(fmt::format("{} {}", l.invoice, meta.number)), book.f.title);
  const std::pair<std::string_view, std::string> facts[] = {
      {l.invoice_id, invoice.invoice_id},
      {l.issuer, fmt::format("{} ({})", issuer.name, issuer.business_id)},
      {l.recipient, fmt::format("{} ({})", recipient.name, recipient.business_id)},
      {l.quarter, QuarterName(invoice.quarter)},
      {l.reference_number, meta.reference.empty() ? "—" : meta.reference}};
  int row = 1;
  for (const auto& [label, value] : facts) {
    sheet.Text(row, 0, label, book.f.bold);
    sheet.Text(row++, 1, value);
  }
  sheet.Text(row, 0, l.issue_date, book.f.bold);
  sheet.Date(row++, 1, book.context.issue_date, book.f.date);
  sheet.Text(row, 0, l.due_date, book.f.bold);
  sheet.Date(row++, 1, meta.due_date, book.f.date);
  row += 1;
  // Every header and key in the workbook's language; the technical key names are in
  // invoices.json and the CSV.
  const std::vector<std::string_view> headers = {
      l.line,           l.service_point, l.pool, l.key,    l.fallback_from, l.weight,
      l.basis_quantity, l.basis_total,   l.unit, l.amount, l.adjusts,       l.issued,
      l.now};
  constexpr int kAmountCol = 9;
  for (size_t c = 0; c < headers.size(); ++c)
    sheet.Text(row, static_cast<int>(c), headers[c], book.f.header);
  sheet.FreezeAndFilter(row, static_cast<int>(headers.size()) - 1,
                        row + static_cast<int>(invoice.lines.size()));
  const int first = ++row;
  for (size_t i = 0; i < invoice.lines.size(); ++i, ++row) {
    const engine::InvoiceLine& line = invoice.lines[i];
    sheet.Number(row, 0, static_cast<double>(i + 1), book.f.quantity[0]);
    sheet.Text(row, 1, PointName(book.context, line.service_point_id));
    // SPEC section 8: a successor's line names its predecessor (and the host's) after the
    // pool, as the HTML report does.
    std::string pool = PoolName(book.context, line.service_point_id, line.pool);
    if (line.predecessor_agency_id) {
      pool += fmt::format(" ({} {})", l.predecessor, AgencyName(book.context, *line.predecessor_agency_id));
    }
    if (line.predecessor_host_agency_id) {
      pool += fmt::format(" ({} {})", l.predecessor_host, AgencyName(book.context, *line.predecessor_host_agency_id));
    }
    sheet.Text(row, 2, pool);
    sheet.Text(row, 3, KeyLabel(line.key, lang));
    if (line.fallback_from) sheet.Text(row, 4, KeyLabel(*line.fallback_from, lang));
    sheet.Number(row, 5, static_cast<double>(line.weight_pct_e4) / 1e6, book.f.percent);
    WriteQuantity(book, sheet, row, 6, line.key, line.basis_quantity);
    WriteQuantity(book, sheet, row, 7, line.key, line.basis_total);
    sheet.Text(row, 8, KeyUnit(line.key, lang));
    sheet.Money(row, kAmountCol, line.amount_cents, book.f.money);
    if (line.adjusts_quarter) sheet.Text(row, 10, QuarterName(*line.adjusts_quarter));
    // Adjustments: issued and now beside the difference in the amount column.
    if (line.issued_cents) sheet.Money(row, 11, *line.issued_cents, book.f.money);
    if (line.recomputed_cents) sheet.Money(row, 12, *line.recomputed_cents, book.f.money);
  }
  sheet.Text(row, 0, l.total, book.f.bold);
  sheet.Sum(row, kAmountCol, first, kAmountCol, row - 1, kAmountCol, invoice.total_cents,
            book.f.money_total);
  if (invoice.vat) WriteVatRows(book, sheet, row, kAmountCol, invoice);
  sheet.Width(0, 0, 18);
  sheet.Width(1, 3, 24);
  sheet.Width(4, 12, 15);
}

// One table over every point: a row per (point, agency) and the point's all-parties
// row, a column per key used anywhere, so one filter serves every point.
void WriteKeySheet(Book& book, const engine::BillingResult& result) {
  const Labels& l = book.labels;
  const Language lang = book.context.language;
  Sheet sheet = book.Add(l.key_values);
  sheet.Text(0, 0, book.Title(l.key_values), book.f.title);
  sheet.Text(1, 0, l.key_values_note);
  const std::vector<KeyTable> tables = BuildKeyTables(result);
  std::set<engine::Key> used;
  for (const KeyTable& table : tables) used.insert(table.keys.begin(), table.keys.end());
  const std::vector<engine::Key> keys(used.begin(), used.end());  // enum order
  const int header_row = 3;
  sheet.Text(header_row, 0, l.service_point, book.f.header);
  sheet.Text(header_row, 1, l.agency, book.f.header);
  for (size_t k = 0; k < keys.size(); ++k) {
    const std::string_view unit = KeyUnit(keys[k], lang);
    sheet.Text(header_row, 2 + static_cast<int>(k),
               unit.empty() ? std::string(KeyLabel(keys[k], lang))
                            : fmt::format("{} ({})", KeyLabel(keys[k], lang), unit),
               book.f.header);
  }
  int row = header_row + 1;
  for (const KeyTable& table : tables) {
    const std::string point = PointName(book.context, table.service_point_id);
    auto write_values = [&](int r, auto value_of) {
      for (size_t k = 0; k < keys.size(); ++k) {
        if (std::find(table.keys.begin(), table.keys.end(), keys[k]) == table.keys.end()) continue;
        WriteQuantity(book, sheet, r, 2 + static_cast<int>(k), keys[k], value_of(keys[k]));
      }
    };
    for (const std::string& agency : table.agencies) {
      std::string name = AgencyName(book.context, agency);
      if (agency == table.host_agency_id) name += fmt::format(" ({})", l.host);
      sheet.Text(row, 0, point);
      sheet.Text(row, 1, name);
      write_values(row++, [&](engine::Key key) {
        const auto it = table.quantity.find({agency, key});
        return it == table.quantity.end() ? int64_t{0} : it->second;
      });
    }
    sheet.Text(row, 0, point, book.f.bold);
    sheet.Text(row, 1, l.basis_total, book.f.bold);
    write_values(row++, [&](engine::Key key) { return table.total.at(key); });
  }
  sheet.FreezeAndFilter(header_row, 1 + static_cast<int>(keys.size()), row - 1,
                        /*frozen_cols=*/2);
  sheet.Width(0, 1, 30);
  sheet.Width(2, 1 + static_cast<int>(keys.size()), 22);
}

// SPEC section 9: referrals, room utilisation and budgets, a sheet each.
void WriteSection9Sheets(Book& book, const engine::BillingResult& result) {
  const Language lang = book.context.language;
  auto t = [lang](std::string_view fi, std::string_view sv, std::string_view en) {
    return lang == Language::kFi ? fi : lang == Language::kSv ? sv : en;
  };
  auto table = [&](std::string_view title, std::vector<std::string_view> headers, size_t rows,
                   const std::function<void(Sheet&, int, size_t)>& cells) {
    Sheet sheet = book.Add(title);
    sheet.Text(0, 0, book.Title(title), book.f.title);
    for (size_t c = 0; c < headers.size(); ++c) {
      sheet.Text(1, static_cast<int>(c), headers[c], book.f.header);
    }
    for (size_t i = 0; i < rows; ++i) cells(sheet, static_cast<int>(i) + 2, i);
    sheet.FreezeAndFilter(1, static_cast<int>(headers.size()) - 1, static_cast<int>(rows) + 1);
    sheet.Width(0, static_cast<int>(headers.size()) - 1, 22);
  };
  const Labels& l = book.labels;
  table(t("Ohjaukset", "Hänvisningar", "Referrals"),
        {l.service_point, t("Ohjaaja", "Från", "From"), t("Vastaanottaja", "Till", "To"),
         t("Määrä", "Antal", "Count")},
        result.referrals.size(), [&](Sheet& sheet, int r, size_t i) {
          const auto& x = result.referrals[i];
          sheet.Text(r, 0, PointName(book.context, x.service_point_id));
          sheet.Text(r, 1, AgencyName(book.context, x.from_agency_id));
          sheet.Text(r, 2, AgencyName(book.context, x.to_agency_id));
          sheet.Number(r, 3, static_cast<double>(x.count), book.f.quantity[0]);
        });
  table(t("Tilojen käyttöaste", "Lokalernas beläggning", "Room utilisation"),
        {l.service_point, t("Tila", "Rum", "Room"), t("Kuukausi", "Månad", "Month"),
         t("Varattu min", "Bokat min", "Booked min"),
         t("Varattavissa min", "Bokningsbart min", "Bookable min"),
         t("Käyttöaste %", "Beläggning %", "Utilisation %")},
        result.room_utilisation.size(), [&](Sheet& sheet, int r, size_t i) {
          const auto& x = result.room_utilisation[i];
          sheet.Text(r, 0, PointName(book.context, x.service_point_id));
          sheet.Text(r, 1, x.room_id);
          sheet.Text(r, 2, x.month);
          sheet.Number(r, 3, static_cast<double>(x.booked_minutes), book.f.quantity[0]);
          sheet.Number(r, 4, static_cast<double>(x.bookable_minutes), book.f.quantity[0]);
          if (x.bookable_minutes > 0) {
            sheet.Number(r, 5,
                         static_cast<double>(x.booked_minutes * 10000 / x.bookable_minutes) / 100.0,
                         book.f.quantity[2]);
          }
        });
  table(t("Talousarviot", "Budgetar", "Budgets"),
        {t("Talousarvio", "Budget", "Budget"), l.agency, l.service_point, l.pool,
         t("Vuosi", "År", "Year"), t("Talousarvio €", "Budget €", "Budget €"),
         t("Toteutunut €", "Hittills €", "Year to date €"), t("Ennuste €", "Prognos €", "Forecast €"),
         t("Ylitys", "Överskridning", "Over budget")},
        result.budgets.size(), [&](Sheet& sheet, int r, size_t i) {
          const auto& x = result.budgets[i];
          sheet.Text(r, 0, x.budget_id);
          sheet.Text(r, 1, AgencyName(book.context, x.agency_id));
          sheet.Text(r, 2, PointName(book.context, x.service_point_id));
          sheet.Text(r, 3, PoolName(book.context, x.service_point_id, x.pool));
          sheet.Number(r, 4, x.year, nullptr);
          sheet.Money(r, 5, x.budget_cents, book.f.money);
          sheet.Money(r, 6, x.year_to_date_cents, book.f.money);
          sheet.Money(r, 7, x.forecast_cents, book.f.money);
          if (x.forecast_cents > x.budget_cents) sheet.Text(r, 8, "OVER_BUDGET", book.f.bold);
        });
}

}  // namespace

absl::Status WriteWorkbook(const engine::BillingResult& result,
                           const std::vector<InvoiceMeta>& metas, const DocumentContext& context,
                           const std::string& path) {
  lxw_workbook* workbook = workbook_new(path.c_str());
  if (workbook == nullptr) return absl::InternalError(fmt::format("cannot create {}", path));
  const Labels& labels = LabelsFor(context.language);
  std::string title = fmt::format("{} {}", labels.report_title, QuarterName(result.quarter));
  if (context.draft) title = fmt::format("{}: {}", labels.draft_mark, title);
  lxw_doc_properties properties = {};
  properties.title = title.data();
  // The issue date at 00:00 UTC: the same documents give the same bytes.
  properties.created = absl::ToTimeT(absl::FromCivil(context.issue_date, absl::UTCTimeZone()));
  workbook_set_properties(workbook, &properties);

  lxw_error error = LXW_NO_ERROR;
  Book book{workbook, MakeFormats(workbook, context.language), labels, context, &error};
  WriteSummary(book, result);
  WriteListSheets(book, result, metas);
  for (size_t i = 0; i < result.invoices.size(); ++i) {
    WriteInvoiceSheet(book, result.invoices[i], metas[i], i);
  }
  WriteKeySheet(book, result);
  WriteSection9Sheets(book, result);
  const lxw_error closed = workbook_close(workbook);
  if (error == LXW_NO_ERROR) error = closed;
  if (error != LXW_NO_ERROR) {
    return absl::InternalError(fmt::format("cannot write {}: {}", path, lxw_strerror(error)));
  }
  return absl::OkStatus();
}

}  // namespace tori::documents::internal
