// Private to services/billing: the issued documents as the projection holds them.
#ifndef TORI_SERVICES_BILLING_INTERNAL_ISSUED_H_
#define TORI_SERVICES_BILLING_INTERNAL_ISSUED_H_

#include <vector>

#include "events/codec/codec.h"
#include "events/merkle/merkle.h"
#include "services/engine/engine.h"
#include "services/engine/succession.h"
#include "services/state/state_store.h"

namespace tori::billing_internal {

struct IssuedDocuments {
  std::vector<events::InvoiceIssued> invoice_events;       // in (quarter, id) order
  std::vector<events::SubsidyClaimIssued> claim_events;    // in (quarter, id) order
  std::vector<engine::Invoice> invoices;                   // the same, as engine types
  std::vector<engine::SubsidyClaim> claims;
  std::vector<engine::IssuedHostShares> host_shares;  // by quarter; runs since schema v2
};

absl::StatusOr<IssuedDocuments> LoadIssued(StateStore& state);

// LoadBillingInput with the issued documents already read.
absl::StatusOr<engine::BillingInput> LoadBillingInput(StateStore& state, engine::Quarter quarter,
                                                      const IssuedDocuments& issued);

// `recomputed` as `stored` was written: adjustment lines issued before tori recorded
// issued_cents / recomputed_cents lose them, so old documents recompute to their bytes.
engine::Invoice AsIssuedFormat(engine::Invoice recomputed, const events::InvoiceIssued& stored);

// An issued event's document as the engine's type.
absl::StatusOr<engine::Invoice> ToEngineInvoice(const events::InvoiceIssued& e);
absl::StatusOr<engine::SubsidyClaim> ToEngineClaim(const events::SubsidyClaimIssued& e);

// The agency_succeeded records (SPEC section 8); DataLoss when they break Make's rules.
absl::StatusOr<engine::Successions> LoadSuccessions(StateStore& state);
// The tree heads an issued event records (empty: none recorded). A head whose root is
// not 32 bytes reads as a root of zeros, which no tree has, so it is refused where it
// is compared.
std::vector<merkle::TreeHead> RecordedTreeHeads(
    const google::protobuf::RepeatedPtrField<events::MerkleTreeHead>& heads);

}  // namespace tori::billing_internal

#endif  // TORI_SERVICES_BILLING_INTERNAL_ISSUED_H_
