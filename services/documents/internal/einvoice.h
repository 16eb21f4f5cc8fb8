// What the two e-invoice formats share: Finvoice 3.0 (finvoice.cc) and Peppol BIS
// Billing 3.0 in UBL 2.1 (ubl.cc) say the same invoice, so they take its VAT, its row
// texts and the parties' electronic addresses from here. Thread-safe: pure functions
// and a writer object per document.
#ifndef TORI_SERVICES_DOCUMENTS_INTERNAL_EINVOICE_H_
#define TORI_SERVICES_DOCUMENTS_INTERNAL_EINVOICE_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include "services/documents/documents.h"
#include "services/engine/engine.h"

namespace tori::documents::internal {

// A minimal writer of indented elements. Leaf escapes the text; attributes are written
// as given (tori's constants, or values the caller escaped).
class XmlWriter {
 public:
  XmlWriter(std::string prelude, int depth) : out_(std::move(prelude)), depth_(depth) {}
  void Open(std::string_view name, std::string_view attributes = "");
  void Close(std::string_view name);
  void Leaf(std::string_view name, std::string_view text, std::string_view attributes = "");
  std::string& out() { return out_; }

 private:
  void Indent() { out_.append(static_cast<size_t>(depth_) * 2, ' '); }
  std::string out_;
  int depth_ = 0;
};

// The VAT of one invoice: its category, rate, amount (on the invoice total, rounded half
// away from zero to the cent, once per invoice) and the reason a buyer reads.
struct InvoiceVat {
  VatCategory category = VatCategory::kOutsideScope;
  int64_t rate_pct_e4 = 0;  // 0 unless kStandardRated
  int64_t vat_cents = 0;    // signed as the total
  std::string reason_text;  // VatFreeText / TaxExemptionReason, in the context's language
  std::string reason_code;  // VATEX code, or empty
};
InvoiceVat VatOf(const engine::Invoice& invoice, const DocumentContext& context);

// UNTDID 5305: "O", "E", "S".
std::string_view VatCode(VatCategory category);

// "Osuus 60 %: oma pinta-ala 18 200,00 / 54 600,00 m²·vrk = 20 000,00 €": a tranche of a
// row, every word in the document's language (the key names are in invoices.json).
std::string TrancheText(const engine::InvoiceLine& line, Language language);

// The party's e-invoice address, else its OVT from the business id (DOMAIN.md: "0037"
// and the business id's digits), which every Finnish organisation has.
std::string EinvoiceAddressOrOvt(const AgencyInfo& agency);

// The party's Peppol participant id: an address written "SSSS:id" (a 4-digit ISO 6523
// scheme) as it stands; an OVT (starting "0037") under scheme 0216, the OVT scheme since
// the May 2026 Peppol release removed 0037 (DOMAIN.md); anything else (a bank's
// Finvoice address, an IBAN) is no Peppol id: the OVT of the business id under 0216.
struct PeppolId {
  std::string scheme;  // "0216"
  std::string id;      // "003701012636"
};
PeppolId PeppolIdOf(const AgencyInfo& agency);

}  // namespace tori::documents::internal

#endif  // TORI_SERVICES_DOCUMENTS_INTERNAL_EINVOICE_H_
