// Issued documents by the names people have for them: the invoice number and the
// reference printed on an invoice, as well as tori's ids (issue #15.10).
#include <algorithm>
#include <tuple>

#include "events/base/check.h"
#include "fmt/format.h"
#include "services/audit/audit.h"
#include "services/audit/internal/explain.h"
#include "services/billing/internal/issued.h"
#include "services/documents/documents.h"

namespace tori {

namespace audit_internal {

absl::StatusOr<std::vector<InvoiceNumbering>> NumberInvoicesOf(
    const billing_internal::IssuedDocuments& issued, engine::Quarter quarter) {
  const std::string q = engine::QuarterName(quarter);
  std::vector<const events::InvoiceIssued*> invoices;
  for (const auto& e : issued.invoice_events) {
    if (e.quarter() == q) invoices.push_back(&e);
  }
  // The issuing run numbered its invoices in the engine's result order.
  std::sort(invoices.begin(), invoices.end(), [](const auto* a, const auto* b) {
    return std::tie(a->issuer_agency_id(), a->recipient_agency_id()) <
           std::tie(b->issuer_agency_id(), b->recipient_agency_id());
  });
  std::vector<InvoiceNumbering> numbers;
  for (size_t i = 0; i < invoices.size() && i < documents::kInvoicesPerRunMax; ++i) {
    InvoiceNumbering n{invoices[i]->invoice_id(), documents::InvoiceNumber(quarter, i), ""};
    TORI_ASSIGN_OR_RETURN(n.reference_number, documents::FinnishReferenceNumber(n.invoice_number));
    numbers.push_back(std::move(n));
  }
  return numbers;
}

}  // namespace audit_internal

using audit_internal::NumberInvoicesOf;

absl::StatusOr<std::vector<InvoiceNumbering>> NumberIssuedInvoices(StateStore& state, engine::Quarter quarter) {
  TORI_ASSIGN_OR_RETURN(auto issued, billing_internal::LoadIssued(state));
  return NumberInvoicesOf(issued, quarter);
}

absl::StatusOr<std::map<std::string, std::vector<InvoiceNumbering>>> NumberAllIssuedInvoices(
    StateStore& state) {
  TORI_ASSIGN_OR_RETURN(auto issued, billing_internal::LoadIssued(state));
  std::map<std::string, std::vector<InvoiceNumbering>> by_quarter;
  for (const auto& e : issued.invoice_events) {
    if (by_quarter.contains(e.quarter())) continue;
    TORI_ASSIGN_OR_RETURN(engine::Quarter quarter, engine::ParseQuarter(e.quarter()));
    TORI_ASSIGN_OR_RETURN(by_quarter[e.quarter()], NumberInvoicesOf(issued, quarter));
  }
  return by_quarter;
}

absl::StatusOr<IssuedDocumentId> FindIssuedDocument(StateStore& state, std::string_view name) {
  TORI_ASSIGN_OR_RETURN(auto issued, billing_internal::LoadIssued(state));
  return audit_internal::FindIssuedDocumentIn(issued, name);
}

absl::StatusOr<IssuedDocumentId> audit_internal::FindIssuedDocumentIn(
    const billing_internal::IssuedDocuments& issued, std::string_view name) {
  for (const auto& e : issued.invoice_events) {
    if (e.invoice_id() == name) return IssuedDocumentId{IssuedDocumentId::Kind::kInvoice, e.invoice_id()};
  }
  for (const auto& e : issued.claim_events) {
    if (e.claim_id() == name) return IssuedDocumentId{IssuedDocumentId::Kind::kSubsidyClaim, e.claim_id()};
  }
  // A number as printed: the reference is often written in groups of five digits.
  std::string digits;
  for (char c : name) {
    if (c != ' ') digits.push_back(c);
  }
  if (digits.size() >= 10 && digits.find_first_not_of("0123456789") == std::string::npos) {
    const int year = std::stoi(digits.substr(0, 4));
    const int quarter_of_year = digits[4] - '0';
    if (quarter_of_year >= 1 && quarter_of_year <= 4) {
      TORI_ASSIGN_OR_RETURN(auto numbers,
                            NumberInvoicesOf(issued, engine::Quarter{year, quarter_of_year}));
      for (const auto& n : numbers) {
        if (n.invoice_number == digits || n.reference_number == digits) {
          return IssuedDocumentId{IssuedDocumentId::Kind::kInvoice, n.invoice_id};
        }
      }
    }
  }
  return absl::NotFoundError(fmt::format(
      "no issued invoice or subsidy claim '{}': give the invoice number or reference printed on "
      "the invoice (2026100001, 20261000010), an invoice id (2026Q1-espoo-kela) or a claim id "
      "(see `tori status`)",
      name));
}

}  // namespace tori
