// The run's HTML report: one self-contained file (inline CSS and SVG, no script, no
// external asset), readable offline and printable. Every invoice line is a table row
// with id InvoiceLineAnchor(invoice_id, n) so `tori explain` and people can link to it;
// :target highlights the linked row.
#include <algorithm>
#include <map>
#include <set>

#include "fmt/format.h"
#include "services/documents/internal/labels.h"
#include "services/documents/internal/render.h"
#include "services/documents/internal/section9_html.h"
#include "services/documents/internal/svg_chart.h"
#include "services/documents/internal/text.h"

namespace tori::documents::internal {
namespace {

using engine::QuarterName;

// Screen and paper. Tables fit the width: text cells wrap (long ids anywhere), numbers
// never break inside (their digit groups are joined by no-break spaces) and a quantity's
// unit goes under it. On paper (A4): the summary (totals, charts, pools) first, each
// invoice on a page of its own, then the host's shares, claims, key values and warnings.
constexpr std::string_view kStyle = R"css(
body{font-family:"DejaVu Sans",Arial,Helvetica,sans-serif;color:#1b1b1b;font-size:14px;
  margin:24px auto;max-width:1200px;padding:0 16px}
h1{font-size:24px;margin:0 0 4px}
h2{font-size:19px;margin:32px 0 8px;border-bottom:2px solid #0072B2;padding-bottom:4px}
h3{font-size:16px;margin:20px 0 6px}.meta,.note{color:#555}
.cards{display:flex;gap:12px;flex-wrap:wrap;margin:16px 0}
.card{border:1px solid #ccd;border-radius:6px;padding:10px 14px;min-width:160px;background:#f6f8fb}
.card .label{color:#555;font-size:12px}.card .value{font-size:20px;font-weight:bold}
table{border-collapse:collapse;margin:6px 0 12px;width:100%}
th,td{border-bottom:1px solid #dde;padding:4px 6px;text-align:left;vertical-align:top;
  overflow-wrap:break-word}
th{background:#eef2f7;font-weight:bold}td code{overflow-wrap:anywhere}
td.num,th.num{text-align:right}td.num{white-space:nowrap;overflow-wrap:normal}
.unit{display:block;color:#555;font-size:11px}.adjusts{display:block;font-weight:bold}
tr.total td{font-weight:bold;border-top:2px solid #888}tr.adjustment td{background:#fff8e6}
tr:target td{background:#ffe680}
dl{display:grid;grid-template-columns:max-content minmax(0,1fr);gap:2px 12px;margin:4px 0}
dt{color:#555}dd{margin:0;overflow-wrap:anywhere}code{font-size:12px}
a.anchor{color:#999;text-decoration:none}
svg.chart{max-width:100%;height:auto}
svg .bar-label,svg .bar-total,svg .legend{font-size:13px;fill:#1b1b1b}
svg .seg-label{font-size:12px;fill:#fff;font-weight:bold}
@media (max-width:900px){
  body{font-size:12px;margin:12px auto;padding:0 8px}th,td{padding:3px 4px}code{font-size:10px}
  .unit{font-size:10px}.card{min-width:0;flex:1 1 40%}
}
@page{size:A4;margin:14mm 12mm}
@media print{
  body{margin:0;max-width:none;padding:0;font-size:9pt}
  h1{font-size:16pt}h2{font-size:13pt;margin-top:14px;break-after:avoid}
  h3{font-size:11pt;break-after:avoid}
  .cards{gap:6px}.card{min-width:0;flex:1 1 0;padding:6px 8px}.card .value{font-size:12pt}
  th,td{padding:2px 4px}code{font-size:8pt}.unit{font-size:7.5pt}
  tr{break-inside:avoid}thead{display:table-header-group}
  tr.adjustment td,th{-webkit-print-color-adjust:exact;print-color-adjust:exact}
  tr:target td{background:none}a.anchor{color:inherit}
  svg.chart{width:100%;height:auto;break-inside:avoid}
  #invoices>h2{display:none}
  #invoices>article,#host-shares{break-before:page}
}
)css";

// A draft's mark: a banner under the title and, on screen and on every printed page, the
// mark across the page behind the text.
constexpr std::string_view kDraftStyle = R"css(
.draft-banner{border:3px solid #B00020;color:#B00020;font-size:20px;font-weight:bold;
  padding:8px 14px;margin:12px 0;background:#fff0f2}
.draft-watermark{position:fixed;left:0;right:0;top:38%;text-align:center;font-size:110px;
  font-weight:bold;color:rgba(176,0,32,0.13);transform:rotate(-28deg);z-index:-1;
  pointer-events:none;overflow:hidden;white-space:nowrap}
)css";

std::string E(std::string_view text) { return XmlEscape(text); }

// A key's quantity for a table cell: the number, its unit under it.
std::string QuantityCell(engine::Key key, int64_t quantity, Language language) {
  const std::string_view unit = KeyUnit(key, language);
  const std::string number = KeyNumberText(key, quantity, language);
  return unit.empty() ? E(number)
                      : fmt::format("{}<span class=\"unit\">{}</span>", E(number), E(unit));
}

// A table row of cells; cells already escaped. `numeric` marks right-aligned columns.
std::string Row(const std::vector<std::string>& cells, const std::vector<bool>& numeric,
                std::string_view attributes = "") {
  std::string out = fmt::format("<tr{}{}>", attributes.empty() ? "" : " ", attributes);
  for (size_t i = 0; i < cells.size(); ++i) {
    out += fmt::format("<td{}>{}</td>", i < numeric.size() && numeric[i] ? " class=\"num\"" : "",
                       cells[i]);
  }
  return out + "</tr>\n";
}

std::string Header(const std::vector<std::string_view>& cells, const std::vector<bool>& numeric) {
  std::string out = "<thead><tr>";
  for (size_t i = 0; i < cells.size(); ++i) {
    out += fmt::format("<th{}>{}</th>", i < numeric.size() && numeric[i] ? " class=\"num\"" : "",
                       E(cells[i]));
  }
  return out + "</tr></thead>\n";
}

// Keeps at most `max` entries: the rest are summed into a last one named "…".
template <typename T, typename Merge>
void Bound(std::vector<T>& items, size_t max, Merge merge) {
  if (items.size() <= max) return;
  for (size_t i = max; i < items.size(); ++i) merge(items[max - 1], items[i]);
  items.resize(max);
}

std::string Charts(const engine::BillingResult& result, const DocumentContext& context) {
  const Labels& l = LabelsFor(context.language);
  const ShareMatrix m = BuildShareMatrix(result);
  std::set<std::string> pool_names;
  for (const auto& pool : m.pools) pool_names.insert(pool.pool);
  std::map<std::string, size_t> series_index;
  StackedBarChart shares{std::string(l.share_chart), {}, {}};
  for (const auto& name : pool_names) {
    series_index[name] = shares.series.size();
    shares.series_ids.push_back(name);
    // A pool's name for people from the first point that bills it.
    const auto billed = std::find_if(m.pools.begin(), m.pools.end(),
                                     [&](const engine::PoolAmount& p) { return p.pool == name; });
    shares.series.push_back(PoolName(context, billed->service_point_id, name));
  }
  for (size_t a = 0; a < m.agencies.size(); ++a) {
    ChartBar bar{AgencyName(context, m.agencies[a]), std::vector<int64_t>(shares.series.size(), 0)};
    for (size_t p = 0; p < m.pools.size(); ++p) {
      bar.segment_cents[series_index.at(m.pools[p].pool)] += m.share_cents[a][p];
    }
    shares.bars.push_back(std::move(bar));
  }
  StackedBarChart points{std::string(l.point_chart), shares.series, {}, shares.series_ids};
  for (const auto& pool : m.pools) {
    const std::string name = PointName(context, pool.service_point_id);
    if (points.bars.empty() || points.bars.back().label != name) {
      points.bars.push_back(ChartBar{name, std::vector<int64_t>(points.series.size(), 0)});
    }
    points.bars.back().segment_cents[series_index.at(pool.pool)] += pool.amount_cents;
  }
  for (StackedBarChart* chart : {&shares, &points}) {
    Bound(chart->bars, kChartBarsMax, [](ChartBar& into, const ChartBar& from) {
      into.label = "…";
      for (size_t s = 0; s < from.segment_cents.size(); ++s)
        into.segment_cents[s] += from.segment_cents[s];
    });
    if (chart->series.size() > kChartSeriesMax) {
      for (ChartBar& bar : chart->bars) {
        Bound(bar.segment_cents, kChartSeriesMax,
              [](int64_t& into, int64_t from) { into += from; });
      }
      chart->series.resize(kChartSeriesMax);
      chart->series.back() = "…";
      chart->series_ids.resize(kChartSeriesMax);
      chart->series_ids.back() = "…";
    }
  }
  return fmt::format(
      "<section id=\"charts\">\n<h2>{}</h2>\n<p "
      "class=\"note\">{}</p>\n{}<h2>{}</h2>\n{}</section>\n",
      E(l.share_chart), E(l.chart_note), StackedBarChartSvg(shares, context.language),
      E(l.point_chart), StackedBarChartSvg(points, context.language));
}

std::string Cards(const engine::BillingResult& result, Language language) {
  const Labels& l = LabelsFor(language);
  const Totals totals = ComputeTotals(result);
  const std::pair<std::string_view, int64_t> cards[] = {
      {l.total_costs, totals.pools_cents},
      {l.invoiced, totals.invoiced_cents},
      {l.host_shares, totals.host_shares_cents},
      {l.subsidy_claims, totals.subsidy_claims_cents}};
  std::string out = "<section class=\"cards\" id=\"totals\">\n";
  for (const auto& [label, cents] : cards) {
    out += fmt::format(
        "<div class=\"card\"><div class=\"label\">{}</div><div class=\"value\">{}</div></div>\n",
        E(label), E(MoneyText(cents, language)));
  }
  return out + "</section>\n";
}

std::string PoolsTable(const engine::BillingResult& result, const DocumentContext& context) {
  const Labels& l = LabelsFor(context.language);
  std::string out = fmt::format("<section id=\"pools\">\n<h2>{}</h2>\n<table>\n", E(l.pools));
  out += Header({l.service_point, l.pool, l.amount}, {false, false, true});
  int64_t total_cents = 0;
  for (const auto& pool : result.pools) {
    total_cents += pool.amount_cents;
    out += Row({E(PointName(context, pool.service_point_id)),
                E(PoolName(context, pool.service_point_id, pool.pool)),
                E(MoneyText(pool.amount_cents, context.language))},
               {false, false, true});
  }
  out += Row({E(l.total), "", E(MoneyText(total_cents, context.language))}, {false, false, true},
             "class=\"total\"");
  return out + "</table>\n</section>\n";
}

// "Oikaisu 2026Q1: laskutettu 1 000,00 €, nyt 748,14 €": the key values of an
// adjustment line are the recomputed quarter's, its amount the difference.
std::string AdjustmentText(const engine::InvoiceLine& line, const Labels& l, Language lang) {
  std::string text = fmt::format("{} {}", l.adjustment, QuarterName(*line.adjusts_quarter));
  if (line.issued_cents && line.recomputed_cents) {
    text += fmt::format(": {} {}, {} {}", l.issued, MoneyText(*line.issued_cents, lang), l.now,
                        MoneyText(*line.recomputed_cents, lang));
  }
  return text;
}

std::string InvoiceSection(const engine::Invoice& invoice, const InvoiceMeta& meta,
                           const DocumentContext& context) {
  const Labels& l = LabelsFor(context.language);
  const Language lang = context.language;
  const AgencyInfo& issuer = context.agencies.at(invoice.issuer_agency_id);
  const AgencyInfo& recipient = context.agencies.at(invoice.recipient_agency_id);
  std::string out =
      fmt::format("<article class=\"invoice\" id=\"invoice-{}\">\n<h3>{} {} — {}</h3>\n<dl>",
                  SafeToken(invoice.invoice_id), E(l.invoice), E(meta.number), E(recipient.name));
  const std::pair<std::string_view, std::string> facts[] = {
      {l.invoice_id, invoice.invoice_id},
      {l.issuer, fmt::format("{} ({} {})", issuer.name, l.business_id, issuer.business_id)},
      {l.recipient,
       fmt::format("{} ({} {})", recipient.name, l.business_id, recipient.business_id)},
      {l.reference_number, meta.reference.empty() ? "—" : meta.reference},
      {l.issue_date, DateText(context.issue_date, lang)},
      {l.due_date, DateText(meta.due_date, lang)}};
  for (const auto& [label, value] : facts)
    out += fmt::format("<dt>{}</dt><dd>{}</dd>", E(label), E(value));
  out += "</dl>\n<table>\n";
  // An adjustment names its quarter under the pool (a column of its own would not leave
  // an A4 page room for the rest).
  const std::vector<bool> numeric = {true, false, false, false, true, true, true, true};
  out += Header({l.line, l.service_point, l.pool, l.key, l.weight, l.basis_quantity, l.basis_total,
                 l.amount},
                numeric);
  for (size_t i = 0; i < invoice.lines.size(); ++i) {
    const engine::InvoiceLine& line = invoice.lines[i];
    const std::string anchor = InvoiceLineAnchor(invoice.invoice_id, i + 1);
    // Key names in the report's language; the technical ones are in invoices.json.
    std::string key = E(KeyLabel(line.key, lang));
    if (line.fallback_from) {
      key += fmt::format(" ({} {})", E(l.fallback_from), E(KeyLabel(*line.fallback_from, lang)));
    }
    std::string attributes = fmt::format("id=\"{}\"", anchor);
    if (line.adjusts_quarter) attributes += " class=\"adjustment\"";
    out += Row(
        {fmt::format("<a class=\"anchor\" href=\"#{}\">{}</a>", anchor, i + 1),
         E(PointName(context, line.service_point_id)),
         E(PoolName(context, line.service_point_id, line.pool)) +
             (line.adjusts_quarter ? fmt::format("<span class=\"adjusts\">{}</span>",
                                                 E(AdjustmentText(line, l, lang)))
                                   : "") +
             (line.predecessor_agency_id
                  ? fmt::format("<span class=\"adjusts\">{} {}</span>", E(l.predecessor),
                                E(AgencyName(context, *line.predecessor_agency_id)))
                  : "") +
             (line.predecessor_host_agency_id
                  ? fmt::format("<span class=\"adjusts\">{} {}</span>", E(l.predecessor_host),
                                E(AgencyName(context, *line.predecessor_host_agency_id)))
                  : ""),
         key,
         E(PercentText(line.weight_pct_e4, lang) + "\u00a0%"),
         QuantityCell(line.key, line.basis_quantity, lang),
         QuantityCell(line.key, line.basis_total, lang),
         E(MoneyText(line.amount_cents, lang))},
        numeric, attributes);
  }
  out += Row({"", E(l.total), "", "", "", "", "", E(MoneyText(invoice.total_cents, lang))},
             numeric, "class=\"total\"");
  // SPEC section 8: a company's invoice adds its VAT and the total with VAT.
  if (invoice.vat) {
    out += Row({"", E(l.vat), "", "", E(PercentText(invoice.vat->rate_pct_e4, lang) + "\u00a0%"), "", "",
                E(MoneyText(invoice.vat->vat_cents, lang))},
               numeric, "class=\"vat\"");
    out += Row({"", E(l.total_with_vat), "", "", "", "", "",
                E(MoneyText(invoice.total_cents + invoice.vat->vat_cents, lang))},
               numeric, "class=\"total\"");
  }
  return out + "</table>\n</article>\n";
}

std::string SmallTables(const engine::BillingResult& result, const DocumentContext& context) {
  const Labels& l = LabelsFor(context.language);
  const Language lang = context.language;
  std::string out =
      fmt::format("<section id=\"host-shares\">\n<h2>{}</h2>\n<table>\n", E(l.host_shares));
  // Adjustment rows: the change of the host's own share of an earlier quarter's pool.
  const std::vector<bool> share_numeric = {false, false, false, false, true};
  out += Header({l.agency, l.service_point, l.pool, l.adjusts, l.amount}, share_numeric);
  int64_t total_cents = 0;
  for (const auto& share : result.host_shares) {
    total_cents += share.amount_cents;
    out += Row({E(AgencyName(context, share.agency_id)), E(PointName(context, share.service_point_id)),
                E(PoolName(context, share.service_point_id, share.pool)), share.adjusts_quarter ? QuarterName(*share.adjusts_quarter) : "",
                E(MoneyText(share.amount_cents, lang))},
               share_numeric, share.adjusts_quarter ? "class=\"adjustment\"" : "");
  }
  out += Row({E(l.total), "", "", "", E(MoneyText(total_cents, lang))}, share_numeric,
             "class=\"total\"");
  out +=
      fmt::format("</table>\n</section>\n<section id=\"subsidy-claims\">\n<h2>{}</h2>\n<table>\n",
                  E(l.subsidy_claims));
  const std::vector<bool> numeric = {false, false, false, false, true, true};
  out += Header({l.service_point, l.program, l.claimant, l.adjusts, l.basis, l.amount}, numeric);
  total_cents = 0;
  for (const auto& claim : result.subsidy_claims) {
    total_cents += claim.amount_cents;
    out += Row({E(PointName(context, claim.service_point_id)), E(claim.program_id),
                E(AgencyName(context, claim.claimant_agency_id)),
                claim.adjusts_quarter ? QuarterName(*claim.adjusts_quarter) : "",
                E(MoneyText(claim.basis_cents, lang)), E(MoneyText(claim.amount_cents, lang))},
               numeric, claim.adjusts_quarter ? "class=\"adjustment\"" : "");
  }
  out += Row({E(l.total), "", "", "", "", E(MoneyText(total_cents, lang))}, numeric,
             "class=\"total\"");
  return out + "</table>\n</section>\n";
}

std::string KeyValues(const engine::BillingResult& result, const DocumentContext& context) {
  const Labels& l = LabelsFor(context.language);
  const Language lang = context.language;
  std::string out =
      fmt::format("<section id=\"key-values\">\n<h2>{}</h2>\n<p class=\"note\">{}</p>\n",
                  E(l.key_values), E(l.key_values_note));
  for (const KeyTable& table : BuildKeyTables(result)) {
    out += fmt::format("<h3>{}</h3>\n<table>\n<thead><tr><th>{}</th>",
                       E(PointName(context, table.service_point_id)), E(l.agency));
    for (engine::Key key : table.keys) {
      out += fmt::format("<th class=\"num\">{}</th>", E(KeyLabel(key, lang)));
    }
    out += "</tr></thead>\n";
    const std::vector<bool> numeric(table.keys.size() + 1, true);
    for (const std::string& agency : table.agencies) {
      std::vector<std::string> cells = {
          E(AgencyName(context, agency)) +
          (agency == table.host_agency_id ? fmt::format(" ({})", E(l.host)) : "")};
      for (engine::Key key : table.keys) {
        const auto it = table.quantity.find({agency, key});
        cells.push_back(QuantityCell(key, it == table.quantity.end() ? 0 : it->second, lang));
      }
      std::vector<bool> row_numeric = numeric;
      row_numeric[0] = false;
      out += Row(cells, row_numeric);
    }
    std::vector<std::string> cells = {E(l.basis_total)};
    for (engine::Key key : table.keys)
      cells.push_back(QuantityCell(key, table.total.at(key), lang));
    std::vector<bool> total_numeric = numeric;
    total_numeric[0] = false;
    out += Row(cells, total_numeric, "class=\"total\"") + "</table>\n";
  }
  return out + "</section>\n";
}

std::string Warnings(const engine::BillingResult& result, const DocumentContext& context) {
  const Labels& l = LabelsFor(context.language);
  std::string out = fmt::format("<section id=\"warnings\">\n<h2>{}</h2>\n", E(l.warnings));
  if (result.warnings.empty())
    return out + fmt::format("<p>{}</p>\n</section>\n", E(l.no_warnings));
  out += "<ul>\n";
  for (const auto& warning : result.warnings) {
    out += fmt::format("<li><code>{}</code> {}</li>\n", engine::WarningCodeName(warning.code),
                       E(WarningMessage(warning, context)));
  }
  return out + "</ul>\n</section>\n";
}

}  // namespace

std::string ReportHtml(const engine::BillingResult& result, const std::vector<InvoiceMeta>& metas,
                       const DocumentContext& context) {
  const Labels& l = LabelsFor(context.language);
  std::string title = fmt::format("{} {}", l.report_title, QuarterName(result.quarter));
  if (context.draft) title = fmt::format("{}: {}", l.draft_mark, title);
  std::string out = fmt::format(
      "<!DOCTYPE html>\n<html lang=\"{}\">\n<head>\n<meta charset=\"utf-8\">\n"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
      "<title>{}</title>\n<style>{}{}</style>\n</head>\n<body>\n<header>\n<h1>{}</h1>\n"
      "<p class=\"meta\">{} {} · {}</p>\n",
      LanguageCode(context.language), E(title), kStyle, context.draft ? kDraftStyle : "",
      E(title), E(l.issue_date), E(DateText(context.issue_date, context.language)),
      E(l.generated_by));
  if (context.draft) {
    out += fmt::format(
        "<div class=\"draft-watermark\" aria-hidden=\"true\">{0}</div>\n"
        "<p class=\"draft-banner\" id=\"draft\">{0} — {1}</p>\n",
        E(l.draft_mark), E(l.draft_note));
  }
  out += "</header>\n";
  out += Cards(result, context.language);
  out += Charts(result, context);
  out += PoolsTable(result, context);
  out += fmt::format("<section id=\"invoices\">\n<h2>{}</h2>\n", E(l.invoices));
  if (result.invoices.empty()) out += fmt::format("<p>{}</p>\n", E(l.no_invoices));
  for (size_t i = 0; i < result.invoices.size(); ++i) {
    out += InvoiceSection(result.invoices[i], metas[i], context);
  }
  out += "</section>\n";
  out += SmallTables(result, context);
  out += KeyValues(result, context);
  out += Section9Html(result, context);  // SPEC section 9
  out += Warnings(result, context);
  return out + "</body>\n</html>\n";
}

}  // namespace tori::documents::internal
