// Audit tools for agency controllers and auditors (issue #5): reconcile an agency's
// own contact records with what tori attributed to it, and explain how an invoice
// line came to be, step by step, from the events.
//
// Both read the state (services/state); Explain replays the log up to the invoice's
// as_of into a scratch state first, so it explains the figures as they were issued.
//
// Thread safety: one thread at a time.
#ifndef TORI_SERVICES_AUDIT_AUDIT_H_
#define TORI_SERVICES_AUDIT_AUDIT_H_

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "events/log/event_log.h"
#include "services/billing/billing.h"
#include "services/engine/engine.h"
#include "services/state/state_store.h"

namespace tori {

// ---------------------------------------------------------------- reconcile
struct ReconcileDifference {
  std::string contact_id;
  // only_in_tori, only_in_agency_file, other_agency, voided, other_quarter,
  // service_code_differs, occurred_at_differs
  std::string status;
  std::string detail;
};

struct ReconcileReport {
  uint64_t matched = 0;
  std::map<std::string, uint64_t> differences_by_status;
  std::vector<ReconcileDifference> differences;  // sorted by (status, contact_id)
  bool ok() const { return differences.empty(); }
};

// Compares the agency's file (CSV with a header; column contact_id required,
// service_code and occurred_at optional; separator `,` or `;`, whichever the header
// has more of; a UTF-8 byte-order mark and CRLF are fine) with the contacts tori
// attributes to `agency_id` in `quarter`, corrections applied. An occurred_at is
// compared to the precision the file gives it: RFC 3339 with an offset (the same
// instant, to the second), or Helsinki wall-clock time without one (to the second,
// the minute or the day). An agency tori does not know is NotFound. Errors name the
// file, line and rule.
absl::StatusOr<ReconcileReport> Reconcile(StateStore& state, const std::string& agency_id,
                                          engine::Quarter quarter, const std::string& csv_path);

// "contact_id,status,detail" rows of the differences.
std::string ReconcileCsv(const ReconcileReport& report);

// The report as one JSON object (`tori reconcile --json`, POST /v1/reconcile), no
// newline: agency_id, quarter, [file], ok, matched, differences_by_status,
// differences, [differences_csv]; the two files only when given (the API has none).
struct ReconcileFiles {
  std::string file;             // the agency's records
  std::string differences_csv;  // where the differences were written
};
std::string ReconcileJson(const ReconcileReport& report, const std::string& agency_id, engine::Quarter quarter,
                          const std::optional<ReconcileFiles>& files);

// ---------------------------------------------------------------- explain
struct ExplainRequest {
  // An issued invoice's id (2026Q1-espoo-kela), the invoice number or reference printed
  // on it (2026100001, 20261000010; spaces ignored), or a subsidy claim's id.
  std::string invoice_id;
  std::optional<int> line;  // 1-based; all lines when absent
  bool list_contacts = false;  // --events: the contact ids behind the key value
  std::string scratch_dir;
  // One JSON object instead of text: {"document": "invoice" or "subsidy_claim",
  // "document_id", "invoice_number", "reference_number" (invoices), "quarter",
  // "as_of", "amount_cents", "amount", "lines": [{"line", "service_point_id",
  // "pool", "key", "weight_pct", "basis_quantity", "basis_total", "amount_cents",
  // "amount", "adjusts_quarter" (adjustment lines), "explanation": [text lines]}]
  // (invoices), "explanation": [text lines] (claims)}.
  bool json = false;
};

// A readable explanation, ready to print (or JSON, see ExplainRequest::json).
absl::StatusOr<std::string> Explain(EventLog& log, StateStore& state, const ExplainRequest& request);
// The same from issued documents read beforehand (SnapshotIssued, billing.h) and the
// log: the state is not touched (and not caught up: the snapshot is as of its reading).
absl::StatusOr<std::string> Explain(EventLog& log, const IssuedSnapshot& issued, const ExplainRequest& request);

// ---------------------------------------------------------------- issued documents
// The numbers printed on an issued quarter's invoices: the issuing run numbered them in
// (issuer, recipient) order (documents::InvoiceNumber), the reference adds a check digit.
struct InvoiceNumbering {
  std::string invoice_id;
  std::string invoice_number;    // "2026100001"
  std::string reference_number;  // "20261000010"
};
absl::StatusOr<std::vector<InvoiceNumbering>> NumberIssuedInvoices(StateStore& state, engine::Quarter quarter);
// The same for every quarter with issued invoices, by quarter name ("2026Q1"), reading
// the issued documents once.
absl::StatusOr<std::map<std::string, std::vector<InvoiceNumbering>>> NumberAllIssuedInvoices(
    StateStore& state);

struct IssuedDocumentId {
  enum class Kind { kInvoice, kSubsidyClaim };
  Kind kind;
  std::string id;  // invoice_id or claim_id
};
// The issued document `name` stands for: an invoice id, an invoice number or reference
// as printed, or a claim id. NotFound says which forms are accepted.
absl::StatusOr<IssuedDocumentId> FindIssuedDocument(StateStore& state, std::string_view name);

}  // namespace tori

#endif  // TORI_SERVICES_AUDIT_AUDIT_H_
