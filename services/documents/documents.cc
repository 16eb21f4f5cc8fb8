#include "services/documents/documents.h"

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>
#include <utility>

#include "events/base/check.h"
#include "events/base/decimal.h"
#include "events/base/files.h"
#include "events/base/identifiers.h"
#include "fmt/format.h"
#include "services/documents/internal/labels.h"
#include "services/documents/internal/render.h"
#include "services/documents/internal/text.h"
#include "services/documents/internal/views.h"
#include "services/engine/vat.h"

namespace tori::documents {
namespace {

namespace fs = std::filesystem;
using internal::CharCount;

absl::Status CheckAgency(const DocumentContext& context, const std::string& agency_id) {
  const auto it = context.agencies.find(agency_id);
  if (it == context.agencies.end()) {
    return absl::InvalidArgumentError(fmt::format(
        "documents: agency '{}' appears in the billing result but not in the context", agency_id));
  }
  const AgencyInfo& agency = it->second;
  if (CharCount(agency.name) < 2) {
    return absl::InvalidArgumentError(fmt::format(
        "documents: agency '{}': name must have at least 2 characters (Finvoice)", agency_id));
  }
  if (!IsValidBusinessId(agency.business_id)) {
    return absl::InvalidArgumentError(fmt::format(
        "documents: agency '{}': business_id '{}' is not a Y-tunnus with a valid check digit",
        agency_id, agency.business_id));
  }
  if (agency.einvoice_address &&
      (CharCount(*agency.einvoice_address) < 2 || CharCount(*agency.einvoice_address) > 35)) {
    return absl::InvalidArgumentError(fmt::format(
        "documents: agency '{}': einvoice_address must have 2..35 characters", agency_id));
  }
  if (agency.bic && (agency.bic->size() != 8 && agency.bic->size() != 11)) {
    return absl::InvalidArgumentError(fmt::format(
        "documents: agency '{}': bic '{}' must have 8 or 11 characters", agency_id, *agency.bic));
  }
  if (agency.iban && !internal::IsValidIban(*agency.iban)) {
    return absl::InvalidArgumentError(fmt::format(
        "documents: agency '{}': iban '{}' fails the ISO 13616 check", agency_id, *agency.iban));
  }
  return absl::OkStatus();
}

absl::Status CheckVat(const VatTreatment& vat) {
  const bool standard = vat.category == VatCategory::kStandardRated;
  if (standard && (vat.rate_pct_e4 <= 0 || vat.rate_pct_e4 >= 100 * 10'000)) {
    return absl::InvalidArgumentError(
        "documents: vat.rate_pct_e4 must be above 0 and below 100 % for standard-rated VAT");
  }
  if (vat.rate_pct_e4 % 10 != 0) {
    // Finvoice's percentage type in force allows 3 decimals (DOMAIN.md), UBL's rate too.
    return absl::InvalidArgumentError(fmt::format(
        "documents: vat.rate_pct_e4 {} has 4 decimals; a VAT rate has at most 3 (Finvoice)",
        vat.rate_pct_e4));
  }
  if (!standard && vat.rate_pct_e4 != 0) {
    return absl::InvalidArgumentError(
        "documents: vat.rate_pct_e4 must be 0 unless the category is standard-rated");
  }
  if (CharCount(vat.reason_text) > 70) {
    return absl::InvalidArgumentError(
        "documents: vat.reason_text must have at most 70 characters (Finvoice VatFreeText)");
  }
  const bool code_ok =
      vat.reason_code.size() <= 20 &&
      vat.reason_code.find_first_not_of(
          "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-") == std::string::npos;
  if (!code_ok) {
    return absl::InvalidArgumentError(
        "documents: vat.reason_code must be up to 20 letters, digits or '-' (VATEX code)");
  }
  return absl::OkStatus();
}

// The engine's invariants the documents restate (SPEC section 4): every invoice total
// is the sum of its lines, and each billed pool is split whole over the host's share
// and the invoice lines of the quarter.
absl::Status CheckSums(const engine::BillingResult& result) {
  std::map<std::pair<std::string, std::string>, int64_t> unsplit_cents;  // (point, pool)
  for (const auto& pool : result.pools) {
    unsplit_cents[{pool.service_point_id, pool.pool}] += pool.amount_cents;
  }
  for (const auto& share : result.host_shares) {
    if (!share.adjusts_quarter) unsplit_cents[{share.service_point_id, share.pool}] -= share.amount_cents;
  }
  for (const auto& invoice : result.invoices) {
    int64_t sum_cents = 0;
    for (const auto& line : invoice.lines) {
      sum_cents += line.amount_cents;
      if (!line.adjusts_quarter)
        unsplit_cents[{line.service_point_id, line.pool}] -= line.amount_cents;
    }
    if (sum_cents != invoice.total_cents) {
      return absl::InvalidArgumentError(
          fmt::format("documents: invoice {}: total_cents {} is not the sum of its lines {}",
                      invoice.invoice_id, invoice.total_cents, sum_cents));
    }
  }
  for (const auto& [pool, cents] : unsplit_cents) {
    if (cents != 0) {
      return absl::InvalidArgumentError(fmt::format(
          "documents: {} {}: the host's share and the invoice lines differ from the pool "
          "amount by {} cents",
          pool.first, pool.second, cents));
    }
  }
  return absl::OkStatus();
}

// Everything the renderers assume, checked before any file is written.
absl::Status ValidateContext(const engine::BillingResult& result, const DocumentContext& context) {
  TORI_RETURN_IF_ERROR(CheckSums(result));
  if (result.invoices.size() > kInvoicesPerRunMax) {
    return absl::InvalidArgumentError(
        fmt::format("documents: {} invoices exceed the {} per run that invoice numbers allow",
                    result.invoices.size(), kInvoicesPerRunMax));
  }
  if (context.issue_date < result.quarter.FirstDay()) {
    return absl::InvalidArgumentError(fmt::format(
        "documents: issue_date {} is before the billed quarter {} begins",
        absl::FormatCivilTime(context.issue_date), engine::QuarterName(result.quarter)));
  }
  if (context.due_days < 0 || context.due_days > 365) {
    return absl::InvalidArgumentError("documents: due_days must be 0..365");
  }
  TORI_RETURN_IF_ERROR(CheckVat(context.vat));
  std::set<std::string> agencies, points;
  for (const auto& invoice : result.invoices) {
    if (invoice.vat) {
      TORI_RETURN_IF_ERROR(CheckVat({VatCategory::kStandardRated, invoice.vat->rate_pct_e4, "", ""}));
      if (invoice.vat->vat_cents != engine::InvoiceVatCents(invoice.total_cents, invoice.vat->rate_pct_e4)) {
        return absl::InvalidArgumentError(fmt::format(
            "documents: invoice {} carries VAT {} c, but {} % x10^4 of its total {} c is {} c (half up, once)",
            invoice.invoice_id, invoice.vat->vat_cents, invoice.vat->rate_pct_e4, invoice.total_cents,
            engine::InvoiceVatCents(invoice.total_cents, invoice.vat->rate_pct_e4)));
      }
    }
    agencies.insert(invoice.issuer_agency_id);
    agencies.insert(invoice.recipient_agency_id);
    for (const auto& line : invoice.lines) points.insert(line.service_point_id);
  }
  for (const auto& share : result.host_shares) {
    agencies.insert(share.agency_id);
    points.insert(share.service_point_id);
  }
  for (const auto& claim : result.subsidy_claims) {
    agencies.insert(claim.claimant_agency_id);
    points.insert(claim.service_point_id);
  }
  for (const auto& pool : result.pools) points.insert(pool.service_point_id);
  for (const auto& agency_id : agencies) {
    TORI_RETURN_IF_ERROR(CheckAgency(context, agency_id));
  }
  for (const auto& point_id : points) {
    const auto it = context.service_points.find(point_id);
    if (it == context.service_points.end() || it->second.name.empty()) {
      return absl::InvalidArgumentError(fmt::format(
          "documents: service point '{}' appears in the billing result but has no name in the "
          "context",
          point_id));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<Language> ParseLanguage(std::string_view code) {
  if (code == "fi") return Language::kFi;
  if (code == "sv") return Language::kSv;
  if (code == "en") return Language::kEn;
  return absl::InvalidArgumentError(fmt::format("language '{}' is not one of fi, sv, en", code));
}

std::string_view LanguageCode(Language language) {
  switch (language) {
    case Language::kFi:
      return "fi";
    case Language::kSv:
      return "sv";
    case Language::kEn:
      return "en";
  }
  return "fi";
}

std::string InvoiceNumber(engine::Quarter quarter, size_t index) {
  TORI_CHECK(index < kInvoicesPerRunMax);
  return fmt::format("{:04}{}{:05}", quarter.year, quarter.quarter_of_year, index + 1);
}

absl::StatusOr<std::string> FinnishReferenceNumber(std::string_view base) {
  if (base.size() < 3 || base.size() > 19 ||
      base.find_first_not_of("0123456789") != std::string_view::npos) {
    return absl::InvalidArgumentError(fmt::format(
        "reference number base '{}' must be 3..19 digits (the check digit makes 4..20)", base));
  }
  static constexpr int kWeights[3] = {7, 3, 1};
  int sum = 0;
  for (size_t i = 0; i < base.size(); ++i) {
    sum += (base[base.size() - 1 - i] - '0') * kWeights[i % 3];
  }
  return fmt::format("{}{}", base, (10 - sum % 10) % 10);
}

std::string DraftMarked(std::string_view file_name, bool draft) {
  return draft ? fmt::format("{}{}", kDraftFilePrefix, file_name) : std::string(file_name);
}

std::string_view DraftMark(Language language) { return internal::LabelsFor(language).draft_mark; }
std::string_view DraftNote(Language language) { return internal::LabelsFor(language).draft_note; }

std::string DraftInvoiceNumber(std::string_view invoice_id, Language language) {
  return fmt::format("{}-{}", DraftMark(language), invoice_id);
}

std::string KeyQuantityPlain(engine::Key key, int64_t quantity, char decimal_mark) {
  if (internal::IsDurationKey(key)) return internal::DurationText(quantity);
  std::string text = FormatDecimal(quantity, internal::KeyScale(key));
  if (decimal_mark != '.') std::replace(text.begin(), text.end(), '.', decimal_mark);
  return text;
}

std::string_view KeyUnitText(engine::Key key, Language language) {
  return internal::KeyUnit(key, language);
}

std::string InvoiceLineAnchor(std::string_view invoice_id, size_t line_index) {
  return fmt::format("line-{}-{}", internal::SafeToken(invoice_id), line_index);
}

std::string FinvoiceFileName(std::string_view invoice_id) {
  return OutputFileName("finvoice-", invoice_id, ".xml");
}

std::string PeppolFileName(std::string_view invoice_id) {
  return OutputFileName("peppol-", invoice_id, ".xml");
}

std::string WorkbookFileName(engine::Quarter quarter) {
  return OutputFileName("invoices-", engine::QuarterName(quarter), ".xlsx");
}

std::string ReportFileName(engine::Quarter quarter) {
  return OutputFileName("report-", engine::QuarterName(quarter), ".html");
}

std::vector<std::string> MissingIbanIssuers(const engine::BillingResult& result,
                                            const DocumentContext& context) {
  std::set<std::string> missing;
  for (const auto& invoice : result.invoices) {
    const auto it = context.agencies.find(invoice.issuer_agency_id);
    if (!invoice.lines.empty() && it != context.agencies.end() && !it->second.iban) {
      missing.insert(invoice.issuer_agency_id);
    }
  }
  return {missing.begin(), missing.end()};
}

absl::StatusOr<std::vector<std::string>> WriteDocuments(const engine::BillingResult& result,
                                                        const DocumentContext& context,
                                                        const std::string& out_dir) {
  TORI_RETURN_IF_ERROR(ValidateContext(result, context));
  const std::vector<internal::InvoiceMeta> metas = internal::BuildInvoiceMetas(result, context);

  std::error_code ec;
  fs::create_directories(out_dir, ec);
  if (ec) return absl::InternalError(fmt::format("cannot create {}: {}", out_dir, ec.message()));
  const fs::path out(out_dir);
  std::vector<std::string> files;
  // A draft gets no e-invoice: it goes from the operator or access point straight into
  // the recipient's payables, and neither format has a draft mark a receiver must honour.
  for (size_t i = 0; i < result.invoices.size() && !context.draft; ++i) {
    const engine::Invoice& invoice = result.invoices[i];
    if (invoice.lines.empty()) continue;  // nothing to send; Finvoice needs a row
    // An e-invoice names the account it is paid to (Finvoice's EpiAccountID, UBL's
    // PayeeFinancialAccount): without the issuer's IBAN there is none to write; the
    // workbook and the report need no account.
    if (!context.agencies.at(invoice.issuer_agency_id).iban) continue;
    TORI_ASSIGN_OR_RETURN(const fs::path path,
                          PathInDirectory(out, FinvoiceFileName(invoice.invoice_id)));
    TORI_RETURN_IF_ERROR(
        WriteFileAtomically(path, internal::FinvoiceXml(invoice, metas[i], context)));
    files.push_back(path.string());
    TORI_ASSIGN_OR_RETURN(const fs::path ubl,
                          PathInDirectory(out, PeppolFileName(invoice.invoice_id)));
    TORI_RETURN_IF_ERROR(WriteFileAtomically(ubl, internal::UblXml(invoice, metas[i], context)));
    files.push_back(ubl.string());
  }
  TORI_ASSIGN_OR_RETURN(
      const fs::path workbook,
      PathInDirectory(out, DraftMarked(WorkbookFileName(result.quarter), context.draft)));
  const fs::path workbook_tmp = workbook.string() + ".tmp";
  TORI_RETURN_IF_ERROR(internal::WriteWorkbook(result, metas, context, workbook_tmp.string()));
  fs::rename(workbook_tmp, workbook, ec);
  if (ec)
    return absl::InternalError(fmt::format("cannot write {}: {}", workbook.string(), ec.message()));
  files.push_back(workbook.string());
  TORI_ASSIGN_OR_RETURN(
      const fs::path report,
      PathInDirectory(out, DraftMarked(ReportFileName(result.quarter), context.draft)));
  TORI_RETURN_IF_ERROR(WriteFileAtomically(report, internal::ReportHtml(result, metas, context)));
  files.push_back(report.string());
  return files;
}

absl::StatusOr<EInvoices> RenderEInvoices(const engine::BillingResult& result, const DocumentContext& context,
                                          std::string_view invoice_id) {
  TORI_RETURN_IF_ERROR(ValidateContext(result, context));
  for (size_t i = 0; i < result.invoices.size(); ++i) {
    const engine::Invoice& invoice = result.invoices[i];
    if (invoice.invoice_id != invoice_id || invoice.lines.empty()) continue;
    // As WriteDocuments: no e-invoice for a draft, nor without the account it is paid to.
    if (context.draft) {
      return absl::FailedPreconditionError(fmt::format("{} is a draft: drafts have no e-invoice", invoice_id));
    }
    if (!context.agencies.at(invoice.issuer_agency_id).iban) {
      return absl::FailedPreconditionError(fmt::format(
          "no Finvoice or Peppol e-invoice was written for {}: its issuer {} had no IBAN when it was issued, and an "
          "e-invoice names the account it is paid to",
          invoice_id, invoice.issuer_agency_id));
    }
    const std::vector<internal::InvoiceMeta> metas = internal::BuildInvoiceMetas(result, context);
    return EInvoices{internal::FinvoiceXml(invoice, metas[i], context), internal::UblXml(invoice, metas[i], context)};
  }
  return absl::NotFoundError(fmt::format("the run has no invoice {} with lines", invoice_id));
}

}  // namespace tori::documents
