// Private to services/audit: the parts of `tori explain` in their own files.
#ifndef TORI_SERVICES_AUDIT_INTERNAL_EXPLAIN_H_
#define TORI_SERVICES_AUDIT_INTERNAL_EXPLAIN_H_

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "events/codec/codec.h"
#include "services/audit/audit.h"
#include "services/billing/internal/issued.h"
#include "services/state/state_store.h"

namespace tori::audit_internal {

// Appends how `claim` came to be, from `scratch` (the log replayed up to its as_of).
absl::Status ExplainClaim(StateStore& scratch, const events::SubsidyClaimIssued& claim, std::string& out);

// NumberIssuedInvoices and FindIssuedDocument (audit.h) over documents already read.
absl::StatusOr<std::vector<InvoiceNumbering>> NumberInvoicesOf(
    const billing_internal::IssuedDocuments& issued, engine::Quarter quarter);
absl::StatusOr<IssuedDocumentId> FindIssuedDocumentIn(
    const billing_internal::IssuedDocuments& issued, std::string_view name);

}  // namespace tori::audit_internal

#endif  // TORI_SERVICES_AUDIT_INTERNAL_EXPLAIN_H_
