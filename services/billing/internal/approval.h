// Private to services/billing: SPEC section 8's two-person approval, the parts Bill and
// Approve (billing.cc) call.
//
// Model. An approval_policy_set per (host, effective_from) sits in the projection; the
// policy of a host on a day is the one with the latest effective_from on or before it.
// A run needs two approvals when a host it names (the issuer of an invoice, or a host
// with shares of its own) has 2 in force on the quarter's first day; the whole run is
// then prepared (one quarter, one run, one set of documents). The preparation is a
// quarter_prepared event, the projection keeping the quarter's latest. Approval issues
// exactly that: the run recomputed at its as_of must hash as it did.
//
// The draft mark of an e-invoice: Finvoice and UBL have no draft field a receiver must
// honour, so a prepared e-invoice is the issued bytes with one XML comment line after
// the XML declaration (PreparedMark), in a file named draft-*. Removing that line gives
// the bytes Approve writes.
//
// Thread safety: one thread at a time (the state's).
#ifndef TORI_SERVICES_BILLING_INTERNAL_APPROVAL_H_
#define TORI_SERVICES_BILLING_INTERNAL_APPROVAL_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "events/codec/codec.h"
#include "events/log/event_log.h"
#include "services/documents/documents.h"
#include "services/engine/engine.h"
#include "services/state/state_store.h"

namespace tori::billing_internal {

// The hosts of `result` with two approvals in force on its quarter's first day, sorted.
absl::StatusOr<std::vector<std::string>> HostsRequiringTwoApprovals(
    StateStore& state, const engine::BillingResult& result);

// The quarter's latest preparation, if any.
absl::StatusOr<std::optional<events::QuarterPrepared>> LoadPrepared(StateStore& state,
                                                                   engine::Quarter quarter);

// A person's name as `--by` and the API give it: 1..128 printable bytes after trimming
// spaces (InvalidArgument otherwise). SamePerson compares two without ASCII case.
absl::StatusOr<std::string> CheckedPerson(std::string_view by);
bool SamePerson(std::string_view a, std::string_view b);

// A preparation's event_id: the quarter, as_of and 16 hex digits of SHA-256 of the
// preparer's name (ids are printable ASCII; names need not be).
std::string PreparedEventId(std::string_view quarter, std::string_view as_of,
                            std::string_view prepared_by);

// The quarter_prepared event of a run (documents in invoices.json order).
events::Event PreparedEvent(const engine::BillingResult& result, const LogPosition& as_of,
                            const std::string& chain_head, absl::CivilDay issue_date,
                            const std::string& prepared_by, absl::Time now);

// OK when `result` holds exactly the prepared documents with the prepared hashes;
// DataLoss naming the first that differs.
absl::Status CheckPreparedDocuments(const events::QuarterPrepared& prepared,
                                    const engine::BillingResult& result);

// The comment line a prepared e-invoice carries after its XML declaration, and the
// document with it inserted.
std::string PreparedMark(documents::Language language);
std::string WithPreparedMark(std::string_view xml, documents::Language language);

// Writes draft-finvoice-<id>.xml and draft-peppol-<id>.xml for each invoice WriteDocuments
// would write e-invoices for (`context` not a draft), with the mark; returns the paths.
absl::StatusOr<std::vector<std::string>> WritePreparedEInvoices(
    const engine::BillingResult& result, const documents::DocumentContext& context,
    const std::string& out_dir);

}  // namespace tori::billing_internal

#endif  // TORI_SERVICES_BILLING_INTERNAL_APPROVAL_H_
