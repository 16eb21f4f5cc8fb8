// Rendering of documents: invoices.json (SPEC section 4), one canonical JSON object per
// invoice and claim (hashed when issued), CSV per invoice.
#include <algorithm>
#include <vector>

#include "absl/strings/escaping.h"
#include "events/base/check.h"
#include "events/base/decimal.h"
#include "events/base/json_text.h"
#include "events/codec/codec.h"
#include "fmt/format.h"
#include "services/billing/billing.h"
#include "services/billing/internal/issued.h"

namespace tori {
namespace {

using engine::KeyName;
using engine::QuarterName;

std::string Money(int64_t cents) { return FormatDecimal(cents, kMoneyScale); }

template <typename List, typename Fn>
void AppendArray(std::string& out, const List& items, Fn item_json) {
  out += "[";
  for (size_t i = 0; i < items.size(); ++i) {
    out += i == 0 ? "\n  " : ",\n  ";
    out += item_json(items[i]);
  }
  out += items.empty() ? "]" : "\n ]";
}

std::string LineJson(const engine::InvoiceLine& line) {
  std::string out;
  JsonObjectWriter w(out);
  w.String("service_point_id", line.service_point_id).String("pool", line.pool)
      .String("key", KeyName(line.key));
  if (line.fallback_from) w.String("fallback_from", KeyName(*line.fallback_from));
  w.String("weight_pct", FormatDecimal(line.weight_pct_e4, kPctScale))
      .Int("basis_quantity", line.basis_quantity)
      .Int("basis_total", line.basis_total)
      .Int("amount_cents", line.amount_cents)
      .String("amount", Money(line.amount_cents));
  if (line.adjusts_quarter) w.String("adjusts_quarter", QuarterName(*line.adjusts_quarter));
  // What was issued for the adjusted line and what it is now: amount = now - issued.
  if (line.issued_cents) w.Int("issued_cents", *line.issued_cents).String("issued", Money(*line.issued_cents));
  if (line.recomputed_cents) {
    w.Int("recomputed_cents", *line.recomputed_cents).String("recomputed", Money(*line.recomputed_cents));
  }
  // The agency whose place the recipient took (agency_succeeded); only on such lines.
  if (line.predecessor_agency_id) w.String("predecessor_agency_id", *line.predecessor_agency_id);
  // The host whose place the issuer took (the host was succeeded); only on such lines.
  if (line.predecessor_host_agency_id) {
    w.String("predecessor_host_agency_id", *line.predecessor_host_agency_id);
  }
  w.Close();
  return out;
}

// One field, quoted when it holds the separator, a quote or a line break.
std::string CsvField(std::string_view text, char separator) {
  if (text.find_first_of(std::string{separator, '"', '\n', '\r'}) == std::string_view::npos)
    return std::string(text);
  std::string out = "\"";
  for (char c : text) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

}  // namespace

std::string InvoiceJson(const engine::Invoice& invoice) {
  std::string lines = "[";
  for (size_t i = 0; i < invoice.lines.size(); ++i) {
    if (i > 0) lines += ",";
    lines += LineJson(invoice.lines[i]);
  }
  lines += "]";
  std::string out;
  JsonObjectWriter w(out);
  w.String("invoice_id", invoice.invoice_id)
      .String("issuer_agency_id", invoice.issuer_agency_id)
      .String("recipient_agency_id", invoice.recipient_agency_id)
      .String("quarter", QuarterName(invoice.quarter))
      .Int("total_cents", invoice.total_cents)
      .String("total", Money(invoice.total_cents));
  // SPEC section 8: only invoices to companies name VAT (authorities' bytes unchanged).
  if (invoice.vat) {
    w.String("vat_rate_pct", FormatDecimal(invoice.vat->rate_pct_e4, kPctScale))
        .Int("vat_cents", invoice.vat->vat_cents)
        .String("vat", Money(invoice.vat->vat_cents))
        .Int("total_with_vat_cents", invoice.total_cents + invoice.vat->vat_cents)
        .String("total_with_vat", Money(invoice.total_cents + invoice.vat->vat_cents));
  }
  w.Raw("lines", lines).Close();
  return out;
}

absl::StatusOr<engine::Invoice> IssuedInvoice(const events::InvoiceIssued& e) {
  return billing_internal::ToEngineInvoice(e);
}

std::string SubsidyClaimId(const engine::SubsidyClaim& claim) {
  std::string id = fmt::format("{}-{}-{}-{}", QuarterName(claim.quarter), claim.service_point_id,
                               claim.program_id, claim.claimant_agency_id);
  if (claim.adjusts_quarter) id += "-adjusts-" + QuarterName(*claim.adjusts_quarter);
  return id;
}

std::string SubsidyClaimJson(const engine::SubsidyClaim& claim) {
  std::string out;
  JsonObjectWriter w(out);
  w.String("claim_id", SubsidyClaimId(claim))
      .String("claimant_agency_id", claim.claimant_agency_id)
      .String("program_id", claim.program_id)
      .String("service_point_id", claim.service_point_id)
      .String("quarter", QuarterName(claim.quarter))
      .Int("basis_cents", claim.basis_cents)
      .String("basis", Money(claim.basis_cents))
      .Int("amount_cents", claim.amount_cents)
      .String("amount", Money(claim.amount_cents));
  if (claim.adjusts_quarter) w.String("adjusts_quarter", QuarterName(*claim.adjusts_quarter));
  w.Close();
  return out;
}

std::string InvoicesJson(const engine::BillingResult& result, const LogPosition& as_of,
                         absl::Span<const merkle::TreeHead> tree_heads, bool draft) {
  std::string out = "{";
  AppendJsonString(out, "quarter");
  out += ":";
  AppendJsonString(out, QuarterName(result.quarter));
  if (draft) out += ",\n \"draft\":true";
  out += ",\n \"as_of\":{";
  for (size_t p = 0; p < as_of.next_offsets.size(); ++p) {
    out += fmt::format("{}\"p{}\":{}", p == 0 ? "" : ",", p, as_of.next_offsets[p]);
  }
  out += "}";
  if (!tree_heads.empty()) {
    out += ",\n \"tree_heads\":{";
    for (size_t p = 0; p < tree_heads.size(); ++p) {
      const auto& root = tree_heads[p].root_hash;
      out += fmt::format("{}\"p{}\":{{\"tree_size\":{},\"root_hash\":\"{}\"}}", p == 0 ? "" : ",", p,
                         tree_heads[p].tree_size,
                         absl::Base64Escape(absl::string_view(reinterpret_cast<const char*>(root.data()), root.size())));
    }
    out += "}";
  }
  out += ",\n \"pools\":";
  AppendArray(out, result.pools, [](const engine::PoolAmount& pool) {
    std::string o;
    JsonObjectWriter(o).String("service_point_id", pool.service_point_id).String("pool", pool.pool)
        .Int("amount_cents", pool.amount_cents).String("amount", Money(pool.amount_cents)).Close();
    return o;
  });
  out += ",\n \"invoices\":";
  AppendArray(out, result.invoices, InvoiceJson);
  out += ",\n \"host_shares\":";
  AppendArray(out, result.host_shares, [](const engine::HostShare& share) {
    std::string o;
    JsonObjectWriter w(o);
    w.String("agency_id", share.agency_id)
        .String("service_point_id", share.service_point_id).String("pool", share.pool)
        .Int("amount_cents", share.amount_cents).String("amount", Money(share.amount_cents));
    if (share.adjusts_quarter) w.String("adjusts_quarter", engine::QuarterName(*share.adjusts_quarter));
    w.Close();
    return o;
  });
  out += ",\n \"subsidy_claims\":";
  AppendArray(out, result.subsidy_claims, SubsidyClaimJson);
  // SPEC section 9.
  out += ",\n \"referrals\":";
  AppendArray(out, result.referrals, [](const engine::ReferralCount& r) {
    std::string o;
    JsonObjectWriter(o).String("service_point_id", r.service_point_id)
        .String("from_agency_id", r.from_agency_id).String("to_agency_id", r.to_agency_id)
        .Int("count", r.count).Close();
    return o;
  });
  out += ",\n \"room_utilisation\":";
  AppendArray(out, result.room_utilisation, [](const engine::RoomUtilisation& r) {
    std::string o;
    JsonObjectWriter(o).String("service_point_id", r.service_point_id).String("room_id", r.room_id)
        .String("month", r.month).Int("booked_minutes", r.booked_minutes)
        .Int("bookable_minutes", r.bookable_minutes).Close();
    return o;
  });
  out += ",\n \"budgets\":";
  AppendArray(out, result.budgets, [](const engine::BudgetStatus& b) {
    std::string o;
    JsonObjectWriter(o).String("budget_id", b.budget_id).String("agency_id", b.agency_id)
        .String("service_point_id", b.service_point_id).String("pool", b.pool)
        .Int("year", b.year).Int("budget_cents", b.budget_cents)
        .Int("year_to_date_cents", b.year_to_date_cents).Int("forecast_cents", b.forecast_cents)
        .Close();
    return o;
  });
  out += ",\n \"warnings\":";
  AppendArray(out, result.warnings, [](const engine::Warning& warning) {
    std::string o;
    JsonObjectWriter(o).String("code", engine::WarningCodeName(warning.code))
        .String("message", warning.message).Close();
    return o;
  });
  out += "}\n";
  return out;
}

absl::StatusOr<CsvDialect> ParseCsvDialect(std::string_view name) {
  if (name == "plain") return CsvDialect::kPlain;
  if (name == "excel-fi") return CsvDialect::kExcelFi;
  return absl::InvalidArgumentError(
      fmt::format("csv dialect '{}' is not one of plain, excel-fi", name));
}

std::string InvoiceCsv(const engine::Invoice& invoice, const CsvOptions& options) {
  const bool fi = options.dialect == CsvDialect::kExcelFi;
  const char sep = fi ? ';' : ',';
  const char mark = fi ? ',' : '.';
  const std::string_view eol = fi ? "\r\n" : "\n";
  auto row = [&](const std::vector<std::string>& fields) {
    std::string line;
    for (size_t i = 0; i < fields.size(); ++i) {
      if (i > 0) line += sep;
      line += CsvField(fields[i], sep);
    }
    return line + std::string(eol);
  };
  auto decimal = [&](int64_t scaled, int scale) {
    std::string text = FormatDecimal(scaled, scale);
    if (fi) std::replace(text.begin(), text.end(), '.', mark);
    return text;
  };
  std::string out = fi ? "\xEF\xBB\xBF" : "";
  if (options.draft) {
    out += row({std::string(documents::DraftMark(options.language)),
                std::string(documents::DraftNote(options.language))});
  }
  out += row({"invoice_id", "issuer_agency_id", "recipient_agency_id", "quarter",
              "service_point_id", "pool", "key", "fallback_from", "weight_pct", "basis_quantity",
              "basis_total", "basis_unit", "amount_cents", "amount", "adjusts_quarter",
              "issued_cents", "recomputed_cents", "predecessor_agency_id",
              "predecessor_host_agency_id"});
  for (const auto& line : invoice.lines) {
    out += row({invoice.invoice_id, invoice.issuer_agency_id, invoice.recipient_agency_id,
                QuarterName(invoice.quarter), line.service_point_id, line.pool,
                std::string(KeyName(line.key)),
                line.fallback_from ? std::string(KeyName(*line.fallback_from)) : "",
                decimal(line.weight_pct_e4, kPctScale),
                documents::KeyQuantityPlain(line.key, line.basis_quantity, mark),
                documents::KeyQuantityPlain(line.key, line.basis_total, mark),
                std::string(documents::KeyUnitText(line.key, options.language)),
                fmt::format("{}", line.amount_cents), decimal(line.amount_cents, kMoneyScale),
                line.adjusts_quarter ? QuarterName(*line.adjusts_quarter) : "",
                line.issued_cents ? fmt::format("{}", *line.issued_cents) : "",
                line.recomputed_cents ? fmt::format("{}", *line.recomputed_cents) : "",
                line.predecessor_agency_id.value_or(""),
                line.predecessor_host_agency_id.value_or("")});
  }
  // After an empty row, and named in the first column: never one of the lines.
  out += eol;
  std::vector<std::string> total(19, "");
  total[0] = "TOTAL";
  total[1] = invoice.invoice_id;
  total[12] = fmt::format("{}", invoice.total_cents);
  total[13] = decimal(invoice.total_cents, kMoneyScale);
  out += row(total);
  // SPEC section 8: a company's invoice adds its VAT (the rate in the weight_pct column)
  // and the total with VAT, each a row of its own named in the first column.
  if (invoice.vat) {
    std::vector<std::string> vat(total.size(), "");
    vat[0] = "VAT";
    vat[1] = invoice.invoice_id;
    vat[8] = decimal(invoice.vat->rate_pct_e4, kPctScale);
    vat[12] = fmt::format("{}", invoice.vat->vat_cents);
    vat[13] = decimal(invoice.vat->vat_cents, kMoneyScale);
    out += row(vat);
    const int64_t with_vat_cents = invoice.total_cents + invoice.vat->vat_cents;
    std::vector<std::string> with_vat(total.size(), "");
    with_vat[0] = "TOTAL_WITH_VAT";
    with_vat[1] = invoice.invoice_id;
    with_vat[12] = fmt::format("{}", with_vat_cents);
    with_vat[13] = decimal(with_vat_cents, kMoneyScale);
    out += row(with_vat);
  }
  return out;
}

absl::StatusOr<std::string> IssuedDocumentJson(std::string_view event_payload) {
  events::Event event;
  if (!DecodeEvent(event_payload, event)) {
    return absl::InvalidArgumentError("the record is no event (it does not decode)");
  }
  if (event.has_invoice_issued()) {
    TORI_ASSIGN_OR_RETURN(engine::Invoice invoice, billing_internal::ToEngineInvoice(event.invoice_issued()));
    return InvoiceJson(invoice);
  }
  if (event.has_subsidy_claim_issued()) {
    TORI_ASSIGN_OR_RETURN(engine::SubsidyClaim claim, billing_internal::ToEngineClaim(event.subsidy_claim_issued()));
    return SubsidyClaimJson(claim);
  }
  return absl::InvalidArgumentError(
      fmt::format("the record is a {} event, not an issued document", EventTypeName(event)));
}

}  // namespace tori
