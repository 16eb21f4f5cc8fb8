// Billing: from the state to a quarter's documents (SPEC sections 3-5, `tori bill`).
//
// ComputeRun reads the projection (services/projector) into the engine's input, runs
// the pure engine (services/engine) for the quarter and adds the prior-period
// adjustments against every earlier quarter with issued documents. The documents are
// rendered as canonical JSON (invoices.json, one object per invoice and claim, whose
// SHA-256 is the content hash) and CSV.
//
// Bill issues them: it appends one invoice_issued / subsidy_claim_issued event per
// document to the log, holding the whole document and the log position (as_of) it
// was computed from, and applies them to the state. A quarter with issued documents is
// never computed anew: Bill replays the log up to the stored as_of into a scratch
// state and computes the same documents again, byte for byte, and checks their hashes.
// A run is issued whole: when it was interrupted part way (the log holds some of its
// documents, each event records how many the run issues), the next Bill of that
// quarter issues the rest, computed at the same as_of; billing any other quarter is
// refused until then.
//
// Thread safety: one thread at a time.
#ifndef TORI_SERVICES_BILLING_BILLING_H_
#define TORI_SERVICES_BILLING_BILLING_H_

#include <algorithm>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "events/base/sha256.h"
#include "events/codec/codec.h"
#include "events/log/event_log.h"
#include "events/merkle/merkle.h"
#include "services/documents/documents.h"
#include "services/engine/engine.h"
#include "services/state/state_store.h"

namespace tori {

// The engine's result for a quarter as the state knows it now, with adjustment lines;
// invoices without lines are left out (nothing to send).
absl::StatusOr<engine::BillingResult> ComputeRun(StateStore& state, engine::Quarter quarter);

// SPEC section 8: the agencies registered with kind company, and ChargeVat
// (services/engine/vat.h) of `result` for them at Finland's general rate in force on
// `invoice_date` (the run's issue date). Every result that is written, issued or
// compared with issued documents goes through it after ComputeRun: the VAT is in the
// invoice's document and its content hash.
absl::StatusOr<std::set<std::string>> CompanyAgencyIds(StateStore& state);
absl::Status ChargeVatToCompanies(StateStore& state, absl::CivilDay invoice_date,
                                  engine::BillingResult& result);

// The engine input for one quarter, from the projection.
absl::StatusOr<engine::BillingInput> LoadBillingInput(StateStore& state, engine::Quarter quarter);

// Pools' display names per (point, pool) and language, from the agreements
// (documents::DocumentContext::pool_names): the agreement in effect for `quarter` first.
using PoolNames = std::map<std::pair<std::string, std::string>,
                           std::map<documents::Language, std::string>>;
absl::StatusOr<PoolNames> LoadPoolNames(StateStore& state, engine::Quarter quarter);

// Documents, canonical JSON (one line each, fields in SPEC order).
std::string InvoiceJson(const engine::Invoice& invoice);
std::string SubsidyClaimJson(const engine::SubsidyClaim& claim);
std::string SubsidyClaimId(const engine::SubsidyClaim& claim);
// The document an issued event carries (the payload of an invoice_issued or
// subsidy_claim_issued record), as the canonical JSON its content_sha256 hashes: what
// invoices.json held for it. InvalidArgument for any other record (SPEC section 10's
// proofs carry it).
absl::StatusOr<std::string> IssuedDocumentJson(std::string_view event_payload);
// The whole invoices.json of a run. A draft (dry run) has `"draft":true` on its own line
// after the quarter; without that line it is the issued file byte for byte.
// `tree_heads` (SPEC section 10; the log's Merkle tree head of each partition at as_of)
// follow as_of on a line of their own: "tree_heads":{"p0":{"tree_size":N,"root_hash":
// "<base64, as in a checkpoint>"},...}; none (documents issued before tori recorded
// them) leaves the line out.
std::string InvoicesJson(const engine::BillingResult& result, const LogPosition& as_of,
                         absl::Span<const merkle::TreeHead> tree_heads, bool draft = false);

// An issued invoice_issued event's document as the engine's type: InvoiceJson of it is
// the document as issued in invoices.json, byte for byte (its SHA-256 is content_sha256).
absl::StatusOr<engine::Invoice> IssuedInvoice(const events::InvoiceIssued& e);

// kPlain: ',' between fields, decimal point, LF, no BOM (for programs).
// kExcelFi: what Excel in a Finnish locale opens as columns: a UTF-8 byte-order mark,
// ';' between fields, decimal comma, CRLF.
enum class CsvDialect { kPlain, kExcelFi };
absl::StatusOr<CsvDialect> ParseCsvDialect(std::string_view name);  // "plain", "excel-fi"

struct CsvOptions {
  CsvDialect dialect = CsvDialect::kPlain;
  // A draft's CSV opens with a line of the mark and why it is no invoice, in `language`;
  // `language` also names the quantities' units.
  bool draft = false;
  documents::Language language = documents::Language::kFi;
};
// One CSV per invoice: a header, one row per line with the key's quantities in their
// unit (documents::KeyQuantityPlain) and the unit, then an empty row and a total row
// whose first field is TOTAL, so a spreadsheet never sorts or sums it among the lines.
std::string InvoiceCsv(const engine::Invoice& invoice, const CsvOptions& options = {});

struct BillRequest {
  engine::Quarter quarter;
  std::string out_dir;
  // Computes and writes drafts (file names "draft-...", the mark in every document, no
  // Finvoice, documents::DocumentContext::draft) and issues nothing.
  bool dry_run = false;
  // With a position: the documents as they would have been with only the events
  // before it (replayed into the scratch state); requires dry_run.
  std::optional<LogPosition> as_of;
  // Or with an instant: the log as it stood then (each partition up to its first event
  // that occurred later), found in the one replay; BillOutcome::as_of names the
  // position. Requires dry_run; excludes `as_of`.
  std::optional<absl::Time> as_of_time;
  absl::Time now = absl::Now();  // occurred_at of the issued events; when the quarter ends
  // Issue even a quarter that has not ended (Helsinki time) at `now`, or one without a
  // cost posted at any point. Issuing is irreversible: without `force` such a run is
  // refused (FailedPrecondition), since the quarter's real figures could then only ever
  // arrive as adjustments. Dry runs and re-bills of an issued quarter are never refused.
  bool force = false;
  // Scratch directory for replays of issued quarters (removed afterwards).
  std::string scratch_dir;
  // Finvoice XML, XLSX workbook and HTML report beside invoices.json (services/documents).
  bool write_documents = true;
  documents::Language language = documents::Language::kFi;
  CsvDialect csv_dialect = CsvDialect::kPlain;
  // SPEC section 8 "Approval": the person who runs the bill (`--by`; the API's token
  // name). Where a host of the run has two approvals in force on the quarter's first day
  // (approval_policy_set), a run that would issue the quarter prepares it instead: every
  // file a draft (e-invoices too, see internal/approval.h) and a quarter_prepared event;
  // without `by` such a run is refused. Unused where one approval is in force.
  std::optional<std::string> by;
  // Set by Approve: issue exactly the quarter's latest preparation, approved by `by`.
  bool approve = false;
};

struct BillOutcome {
  engine::BillingResult result;
  LogPosition as_of;
  bool already_issued = false;   // the documents were issued by an earlier run
  size_t documents_issued = 0;   // by this run (with already_issued: the rest of an
                                 // interrupted run)
  std::vector<std::string> files;  // written, invoices.json first
  std::vector<std::string> notes;  // for people: e.g. why documents were not written
  bool prepared = false;           // the run prepared the quarter for approval (drafts)
  std::string prepared_by;         // with prepared, or an approval: who prepared it
  // An approval: the approver that quarter_approved names. With approval_completed, the
  // run completed an approval cut off part way (SPEC section 8): its approver is the one
  // its first records named, whoever ran the command that completed it.
  std::string approved_by;
  bool approval_completed = false;
};

// Brings the state up to the log, computes (or recomputes, for an issued quarter) the
// quarter's documents, writes them to request.out_dir and, unless dry_run, issues them.
absl::StatusOr<BillOutcome> Bill(EventLog& log, StateStore& state, const BillRequest& request);

// `tori approve` (SPEC section 8): issues the documents of the quarter's latest
// quarter_prepared, recomputed at its as_of with its invoice date (the prepared files'
// bytes without the draft mark), and appends quarter_approved with both names.
// request.by is the approver: FailedPrecondition when the quarter is not prepared or is
// issued already; PermissionDenied when the approver is the preparer (names compared
// without case and surrounding spaces); DataLoss when the recomputation does not give
// the prepared hashes. An approval cut off part way (the log holds some of its records
// but not its quarter_approved) is completed instead, by Approve as by Bill: the rest
// of its records, then quarter_approved naming the approver its records name
// (BillOutcome::approval_completed). Uses quarter, out_dir, now, scratch_dir, write_documents,
// language and csv_dialect of `request`.
absl::StatusOr<BillOutcome> Approve(EventLog& log, StateStore& state, BillRequest request);
// Whether two names (`--by`, a token's name) are one person: equal but for ASCII case
// and surrounding spaces.
bool SamePerson(std::string_view a, std::string_view b);

// A digest of every issued document the state holds: the key and value bytes of the
// invoice, subsidy claim and host-share records, the records LoadIssued reads.
// Explain, IssuedEInvoices and IssuedQuarterReports answer from those records and from
// the log up to an as_of that an issued record names (a log prefix, which later
// appends never change): while this digest stays, so do their answers. `tori serve`
// keys its cache of them by it (services/server/read_cache.h).
absl::StatusOr<Sha256Digest> IssuedDocumentsDigest(StateStore& state);

// The issued documents read once from the state, with their digest: for the variants
// of Explain (audit.h), IssuedEInvoices and IssuedQuarterReports that compute from
// them and the log alone. Those never touch the state, so a caller may run them
// without the state's lock, with a log that is safe to read meanwhile (`tori serve`:
// services/server/locked_read_log.h).
namespace billing_internal {
struct IssuedDocuments;
}
struct IssuedSnapshot {
  std::shared_ptr<const billing_internal::IssuedDocuments> documents;
  Sha256Digest digest{};
};
absl::StatusOr<IssuedSnapshot> SnapshotIssued(StateStore& state);

// The Finvoice and Peppol UBL of the issued invoice `invoice_id`, byte for byte the
// finvoice-<id>.xml and peppol-<id>.xml `tori bill --lang language` wrote for it: its
// quarter recomputed from the log up to its as_of in a scratch state (`scratch_dir`,
// removed afterwards), with the agencies' details as of then and its issue date; the
// invoice must hash to its content_sha256 (else DataLoss). The run's language is not
// in the log, so the caller names it. NotFound: no such issued invoice;
// FailedPrecondition: none was written (the issuer had no IBAN at as_of). Reads `state`,
// never writes it.
absl::StatusOr<documents::EInvoices> IssuedEInvoices(EventLog& log, StateStore& state, std::string_view invoice_id,
                                                     documents::Language language, const std::string& scratch_dir);
absl::StatusOr<documents::EInvoices> IssuedEInvoices(EventLog& log, const IssuedSnapshot& issued,
                                                     std::string_view invoice_id, documents::Language language,
                                                     const std::string& scratch_dir);

// The workbook and the HTML report of the issued quarter `quarter`, byte for byte the
// invoices-<Q>.xlsx and report-<Q>.html `tori bill --lang language` wrote: the quarter
// recomputed from the log up to its as_of (checked against every issued document's
// content_sha256, else DataLoss), with the agencies' details of then and the invoices'
// issue date. Written into `scratch_dir` and read back (removed afterwards); reads
// `state`, never writes it. NotFound: nothing of the quarter was issued.
struct QuarterReports {
  std::string xlsx;
  std::string html;
};
absl::StatusOr<QuarterReports> IssuedQuarterReports(EventLog& log, StateStore& state, engine::Quarter quarter,
                                                    documents::Language language, const std::string& scratch_dir);
absl::StatusOr<QuarterReports> IssuedQuarterReports(EventLog& log, const IssuedSnapshot& issued,
                                                    engine::Quarter quarter, documents::Language language,
                                                    const std::string& scratch_dir);

// ---------------------------------------------------------------- audit (SPEC section 5)
struct VerifiedDocument {
  std::string document_id;  // invoice_id or claim_id
  std::string quarter;
  std::string as_of;
  bool ok = false;
  std::string difference;  // when not ok: the first differing field, or what is missing
};

struct VerifyReport {
  std::vector<VerifiedDocument> documents;  // in the order they were issued
  uint64_t events_replayed = 0;
  // With a live state: the log position it reflects, and what is wrong with it (empty
  // when its files pass their checksums and it holds what a replay makes).
  bool live_state_checked = false;
  std::string live_state_position;
  std::string live_state_problem;
  bool ok() const {
    return live_state_problem.empty() &&
           std::all_of(documents.begin(), documents.end(), [](const auto& d) { return d.ok; });
  }
};

// `tori verify --json` (and GET /v1/verify): one JSON object, no newline.
std::string VerifyJson(const VerifyReport& report);

// Replays the whole log from the start into a fresh state in `scratch_dir` and
// recomputes every document issued in the log at its as_of. A document is OK when its
// stored content hashes to its content_sha256 and the recomputation gives the same
// document. With `live` (read, never written): checks the checksums of its files
// (StateStore::VerifyChecksums), then replays the log up to its applied position and
// compares (StateStore::FirstDifference): they must hold the same projection and
// index records. `on_progress(events_replayed)` is called now and then.
absl::StatusOr<VerifyReport> Verify(EventLog& log, const std::string& scratch_dir,
                                    const std::function<void(uint64_t)>& on_progress = {},
                                    StateStore* live = nullptr);

}  // namespace tori

#endif  // TORI_SERVICES_BILLING_BILLING_H_
