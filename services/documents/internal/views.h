// Views of a BillingResult that several documents show: invoice numbering, Finvoice
// row groups, the agency x pool share matrix and the key values per point. All are
// exact integer re-arrangements of the result; each asserts that it conserves the cents
// it regroups. Thread-safe: pure functions.
#ifndef TORI_SERVICES_DOCUMENTS_INTERNAL_VIEWS_H_
#define TORI_SERVICES_DOCUMENTS_INTERNAL_VIEWS_H_

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/time/civil_time.h"
#include "services/documents/documents.h"
#include "services/engine/engine.h"

namespace tori::documents::internal {

// What the documents add to an invoice: its number, reference number and due date.
struct InvoiceMeta {
  std::string number;     // InvoiceNumber(), or DraftInvoiceNumber() for a draft
  std::string reference;  // FinnishReferenceNumber(number); empty for a draft
  absl::CivilDay due_date;
};
// One per invoice of `result`, same order. Precondition: at most kInvoicesPerRunMax.
std::vector<InvoiceMeta> BuildInvoiceMetas(const engine::BillingResult& result,
                                           const DocumentContext& context);

// Consecutive lines of one invoice with the same (adjusts_quarter, point, pool): one
// Finvoice row. Groups cover every line once, in order; their amounts sum to the total.
struct RowGroup {
  size_t first_line = 0;
  size_t line_count = 0;
  int64_t amount_cents = 0;
};
std::vector<RowGroup> GroupLines(const engine::Invoice& invoice);

// Each agency's share of each (point, pool) billed in the quarter (host shares plus
// invoice lines without adjusts_quarter) and, apart, the adjustment lines per agency.
// Every pool column sums to its pool amount.
struct ShareMatrix {
  std::vector<std::string> agencies;              // bytewise
  std::vector<engine::PoolAmount> pools;          // (point, pool) order, amount from result.pools
  std::vector<std::vector<int64_t>> share_cents;  // [agency][pool]
  std::vector<int64_t> adjustment_cents;          // [agency]
};
ShareMatrix BuildShareMatrix(const engine::BillingResult& result);

// Key values measured at one point as the invoices of the billed quarter show them:
// each recipient's basis_quantity; the host's value is basis_total minus the others.
struct KeyTable {
  std::string service_point_id;
  std::string host_agency_id;
  std::vector<engine::Key> keys;      // used at the point, enum order
  std::vector<std::string> agencies;  // the host, then recipients bytewise
  std::map<std::pair<std::string, engine::Key>, int64_t> quantity;  // absent = 0
  std::map<engine::Key, int64_t> total;
};
std::vector<KeyTable> BuildKeyTables(const engine::BillingResult& result);

// Sum of the amounts of `result.pools`, invoices, host shares, subsidy claims.
struct Totals {
  int64_t pools_cents = 0;
  int64_t invoiced_cents = 0;
  int64_t host_shares_cents = 0;
  int64_t subsidy_claims_cents = 0;
};
Totals ComputeTotals(const engine::BillingResult& result);

// Display names from the context (validated to exist), falling back to the id.
std::string AgencyName(const DocumentContext& context, const std::string& agency_id);
std::string PointName(const DocumentContext& context, const std::string& service_point_id);
// The pool's display name in the context's language, else its id.
std::string PoolName(const DocumentContext& context, const std::string& service_point_id,
                     const std::string& pool);

}  // namespace tori::documents::internal

#endif  // TORI_SERVICES_DOCUMENTS_INTERNAL_VIEWS_H_
