// Documents for people (issue 6): Finvoice 3.0 and Peppol BIS Billing 3.0 e-invoices, an XLSX
// workbook and a self-contained HTML report, written beside invoices.json from one billing run.
//
// Model. The engine's BillingResult is the single source of every number: the
// documents only render it, so each figure in them equals invoices.json to the cent.
// What the result does not carry (agency names, business ids, bank accounts, point
// names, the issue date, the VAT treatment, the language) comes in a DocumentContext
// that the caller fills from the state. Per run, in `out_dir`:
//   finvoice-<invoice_id>.xml  one per invoice with at least one line whose issuer has
//                              an IBAN (none without: see MissingIbanIssuers; none in a
//                              draft); seller = issuer
//                              (the host), buyer = recipient; one InvoiceRow per
//                              (service point, pool) of the billed quarter and one per
//                              (adjusted quarter, point, pool) for prior-period
//                              adjustments, the key basis of every tranche in the row
//                              text. Valid against Finvoice3.0.xsd; declares EN 16931
//                              (kFinvoiceSpecificationIdentifier), percentages with at
//                              most 3 decimals (the schema in force).
//   peppol-<invoice_id>.xml    beside each Finvoice, the same invoice as Peppol BIS
//                              Billing 3.0 (UBL 2.1): an Invoice, or a CreditNote where
//                              the total is negative; parties' OVT addresses under
//                              participant scheme 0216, the reference number and IBAN
//                              in PaymentMeans, VAT category O with its exemption reason
//                              or S at the rate. Passes ../shared/peppol/validate.
//   invoices-<quarter>.xlsx    a summary sheet (agency x pool matrix, totals, the host's
//                              shares, subsidy claims, invoice list), a sheet per invoice,
//                              a sheet of key values per point. Money cells are numbers
//                              (euros) with a euro format; totals are SUM formulas.
//   report-<quarter>.html      no external assets: SVG charts tori draws itself (each
//                              agency's share by pool, each point's pools), tables, the
//                              warnings, every invoice line with id InvoiceLineAnchor().
// Invoice numbers and reference numbers (viitenumero) follow from the result alone
// (InvoiceNumber, FinnishReferenceNumber): the quarter's documents never change once
// issued, so re-writing them gives the same bytes, provided the caller passes the same
// context (in particular the original issue date).
//
// Money is int64 cents throughout and is formatted from integers; only the XLSX cell
// values are doubles (euros), at the display boundary, as the file format requires.
//
// Errors. WriteDocuments checks everything first (every agency and point the result
// names is in the context, valid Y-tunnus and IBAN, VAT settings) and writes nothing on
// an InvalidArgument; each message names the agency or field and the rule.
//
// Thread safety: pure functions and plain structs; WriteDocuments writes only inside
// `out_dir` (files replaced atomically). Calls on different directories may run in
// parallel.
#ifndef TORI_SERVICES_DOCUMENTS_DOCUMENTS_H_
#define TORI_SERVICES_DOCUMENTS_DOCUMENTS_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/civil_time.h"
#include "services/engine/engine.h"

namespace tori::documents {

// Language of every label, row text and report (Finland is bilingual; English for the
// rest).
enum class Language { kFi, kSv, kEn };
absl::StatusOr<Language> ParseLanguage(std::string_view code);  // "fi", "sv", "en"
std::string_view LanguageCode(Language language);               // "fi"

// UNTDID 5305 VAT categories tori can invoice with.
enum class VatCategory {
  kOutsideScope,  // "O": not a business activity (default; KHO:2009:42 for cost sharing
                  // between authorities)
  kExempt,        // "E": exempt from VAT
  kStandardRated  // "S": VAT at rate_pct_e4 on top of the shares
};

struct VatTreatment {
  VatCategory category = VatCategory::kOutsideScope;
  // Only kStandardRated: the rate x10^4, 0 < rate < 100 % (25.5 % = 255'000), at most 3
  // decimals (the Finvoice schema in force; a multiple of 10). The VAT is
  // computed once on the invoice total, rounded half away from zero to the cent.
  int64_t rate_pct_e4 = 0;
  // VatFreeText (at most 70 characters); empty: a default in the document's language
  // that cites KHO:2009:42 for kOutsideScope.
  std::string reason_text;
  // VatExemptionReasonCode (CEF VATEX list); empty: "VATEX-EU-O" for kOutsideScope, none
  // otherwise.
  std::string reason_code;
};

struct AgencyInfo {
  std::string name;         // 2+ characters; long names continue over several elements
  std::string business_id;  // Y-tunnus with a valid check digit, "0101263-6"
  std::optional<std::string> einvoice_address;  // OVT ("003701012636") or Peppol id
  // The bank account invoices from this agency are paid to: required for every issuer
  // of an invoice (Finvoice's EpiAccountID), unused for recipients.
  std::optional<std::string> iban;  // checked with ISO 13616 mod 97; spaces allowed
  std::optional<std::string> bic;   // 8 or 11 characters; SellerAccountDetails needs it
};

struct ServicePointInfo {
  std::string name;  // "Iso Omenan palvelutori"
};

struct DocumentContext {
  std::map<std::string, AgencyInfo> agencies;              // by agency_id
  std::map<std::string, ServicePointInfo> service_points;  // by service_point_id
  absl::CivilDay issue_date;  // invoice date; not before the billed quarter's first day
  int due_days = 30;          // due date = issue_date + due_days, 0..365
  VatTreatment vat;
  Language language = Language::kFi;
  // A draft (a dry run, or a quarter prepared for approval): every document carries the
  // mark LUONNOS / UTKAST / DRAFT, file names start with kDraftFilePrefix, invoices get
  // DraftInvoiceNumber() and no reference number, and no Finvoice is written. This flag
  // is the whole difference: the same context without it renders the issued bytes.
  bool draft = false;
  // Pools' names for people by (service_point_id, pool), then language: the agreement's
  // `display_names`. A pool without a name in `language` shows its id.
  std::map<std::pair<std::string, std::string>, std::map<Language, std::string>> pool_names;
};

// Finvoice's SpecificationIdentifier (MessageTransmissionDetails/MessageDetails) in every
// Finvoice: the invoice follows EN 16931, as the e-invoicing act (241/2019) requires of
// invoices to public-sector buyers.
inline constexpr std::string_view kFinvoiceSpecificationIdentifier = "EN16931";

// File names of drafts start with this, in every language ("draft-invoices.json"), so a
// draft is never taken for, or overwritten by, an issued document.
inline constexpr std::string_view kDraftFilePrefix = "draft-";
// `file_name` with kDraftFilePrefix when `draft`, else unchanged.
std::string DraftMarked(std::string_view file_name, bool draft);

// The draft mark in `language`: "LUONNOS", "UTKAST", "DRAFT"; and the sentence that
// says why a draft is no invoice.
std::string_view DraftMark(Language language);
std::string_view DraftNote(Language language);

// Bound on invoices per run: the sequence part of InvoiceNumber has five digits.
inline constexpr size_t kInvoicesPerRunMax = 99'999;

// The invoice number of the `index`-th (0-based) invoice of a run in result order:
// year, quarter and a five-digit sequence, "2026200001" for the first of 2026Q2. Unique
// per quarter across issuers; at most 20 characters as Finvoice requires.
std::string InvoiceNumber(engine::Quarter quarter, size_t index);
// What a draft shows instead: the mark and tori's invoice id, "LUONNOS-2026Q2-espoo-kela".
// It has letters, so it can never be an issued number, and it names its recipient, so it
// never points at another agency's invoice.
std::string DraftInvoiceNumber(std::string_view invoice_id, Language language);

// A key's quantity in its unit for CSV files, without digit grouping: dedicated_area as
// m²·days with 2 decimals ("18200.00"), weighted_contacts and fixed_shares with 4,
// advisor_time (seconds) as h:mm:ss ("1:06:40"), counts and minutes as integers; the
// decimal mark is `decimal_mark`. KeyUnitText is the unit people read beside it
// ("m²·vrk", "h:min:s", "min", "%" or "" for counts).
std::string KeyQuantityPlain(engine::Key key, int64_t quantity, char decimal_mark);
std::string_view KeyUnitText(engine::Key key, Language language);

// The Finnish reference number (viitenumero) of `base` (3..19 digits): the base with its
// check digit appended (DOMAIN.md: weights 7, 3, 1 repeating from the right, check =
// (10 - sum mod 10) mod 10). "123" -> "1232". InvalidArgument for other input.
absl::StatusOr<std::string> FinnishReferenceNumber(std::string_view base);

// The HTML id of an invoice line in the report: "line-<invoice_id>-<n>", n the 1-based
// position of the line in Invoice::lines; characters outside [A-Za-z0-9._-] become '_'.
// `tori explain` links here.
std::string InvoiceLineAnchor(std::string_view invoice_id, size_t line_index);

// The issuers of invoices with lines that have no IBAN in `context`: their invoices get
// no Finvoice (it must name the account it is paid to), sorted by agency_id.
std::vector<std::string> MissingIbanIssuers(const engine::BillingResult& result,
                                            const DocumentContext& context);

// File names, relative to out_dir, from OutputFileName (events/base/files.h): ids
// percent-encoded, so that no id leads out of out_dir and no two share a file.
std::string FinvoiceFileName(std::string_view invoice_id);  // "finvoice-<id>.xml"
std::string PeppolFileName(std::string_view invoice_id);    // "peppol-<id>.xml"
std::string WorkbookFileName(engine::Quarter quarter);      // "invoices-2026Q2.xlsx"
std::string ReportFileName(engine::Quarter quarter);        // "report-2026Q2.html"

// Writes the documents of `result` into `out_dir` (created when missing) and returns
// the paths written: per invoice in invoice order its Finvoice and its Peppol UBL file
// (none for a draft), then the workbook, then the report. InvalidArgument (nothing written) when the context lacks or contradicts what
// the result needs; Internal when a file cannot be written.
absl::StatusOr<std::vector<std::string>> WriteDocuments(const engine::BillingResult& result,
                                                        const DocumentContext& context,
                                                        const std::string& out_dir);

// The two e-invoices of one invoice of `result`, byte for byte the finvoice-<id>.xml and
// peppol-<id>.xml WriteDocuments writes with the same result and context (the invoice
// number depends on the invoice's place in `result`, so the whole run is given).
// InvalidArgument as WriteDocuments; NotFound when `result` has no invoice `invoice_id`
// with lines; FailedPrecondition when WriteDocuments writes none for it: a draft, or an
// issuer without an IBAN.
struct EInvoices {
  std::string finvoice_xml;
  std::string peppol_xml;
};
absl::StatusOr<EInvoices> RenderEInvoices(const engine::BillingResult& result, const DocumentContext& context,
                                          std::string_view invoice_id);

}  // namespace tori::documents

#endif  // TORI_SERVICES_DOCUMENTS_DOCUMENTS_H_
