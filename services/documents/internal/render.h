// The three renderers behind WriteDocuments. Each takes a validated context (every
// agency and point the result names is present, see documents.cc) and renders without
// I/O except WriteWorkbook, which libxlsxwriter makes write a file itself.
// Thread-safe: pure functions (WriteWorkbook writes only `path`).
#ifndef TORI_SERVICES_DOCUMENTS_INTERNAL_RENDER_H_
#define TORI_SERVICES_DOCUMENTS_INTERNAL_RENDER_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "services/documents/documents.h"
#include "services/documents/internal/views.h"
#include "services/engine/engine.h"

namespace tori::documents::internal {

// One Finvoice 3.0 message for `invoice` (at least one line), UTF-8, ending in '\n'.
std::string FinvoiceXml(const engine::Invoice& invoice, const InvoiceMeta& meta,
                        const DocumentContext& context);

// One Peppol BIS Billing 3.0 document for `invoice` (at least one line, an issuer with
// an IBAN, not a draft): a UBL 2.1 Invoice, or a CreditNote when the total is negative.
std::string UblXml(const engine::Invoice& invoice, const InvoiceMeta& meta,
                   const DocumentContext& context);

// VAT of `cents` at `rate_pct_e4`, rounded half away from zero to the cent.
int64_t VatCents(int64_t cents, int64_t rate_pct_e4);

// The run's workbook at `path` (replaced). Internal on a libxlsxwriter error.
absl::Status WriteWorkbook(const engine::BillingResult& result,
                           const std::vector<InvoiceMeta>& metas, const DocumentContext& context,
                           const std::string& path);

// The run's self-contained HTML report.
std::string ReportHtml(const engine::BillingResult& result, const std::vector<InvoiceMeta>& metas,
                       const DocumentContext& context);

}  // namespace tori::documents::internal

#endif  // TORI_SERVICES_DOCUMENTS_INTERNAL_RENDER_H_
