// Every word the documents show, in Finnish, Swedish and English, and how each
// allocation key's quantity is written (scale and unit). One table per language so a
// translation is reviewed in one place. Thread-safe: constant data.
#ifndef TORI_SERVICES_DOCUMENTS_INTERNAL_LABELS_H_
#define TORI_SERVICES_DOCUMENTS_INTERNAL_LABELS_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "services/documents/documents.h"
#include "services/engine/engine.h"

namespace tori::documents::internal {

struct Labels {
  std::string_view report_title;  // followed by the quarter
  std::string_view draft_mark;    // "LUONNOS": on every draft document, DraftMark()
  std::string_view draft_note;    // why a draft is not an invoice
  std::string_view generated_by;
  std::string_view summary;
  std::string_view quarter;
  std::string_view issue_date;
  std::string_view due_date;
  std::string_view invoice;
  std::string_view invoices;
  std::string_view invoice_number;
  std::string_view invoice_id;  // tori's id, as in invoices.json
  std::string_view reference_number;
  std::string_view issuer;
  std::string_view recipient;
  std::string_view business_id;
  std::string_view agency;
  std::string_view service_point;
  std::string_view pool;
  std::string_view pools;
  std::string_view key;
  std::string_view weight;
  std::string_view basis_quantity;
  std::string_view basis_total;
  std::string_view unit;
  std::string_view amount;
  std::string_view total;
  std::string_view vat;             // SPEC section 8: a company's VAT row, before the rate
  std::string_view total_with_vat;  // and its total with VAT
  std::string_view line;
  std::string_view adjusts;      // column: "adjusts quarter"
  std::string_view issued;       // adjustment lines: what was issued
  std::string_view now;          // and what it is now
  std::string_view difference;   // and the difference (the line's amount)
  std::string_view adjustment;   // row prefix: "Adjustment"
  std::string_view adjustments;  // matrix column: prior-period adjustments
  std::string_view fallback_from;
  std::string_view predecessor;  // a successor's line: "in place of" the predecessor
  std::string_view predecessor_host;  // the same for the host (the issuer's predecessor)
  std::string_view host;
  std::string_view host_shares;
  std::string_view invoiced;
  std::string_view subsidy_claims;
  std::string_view program;
  std::string_view claimant;
  std::string_view basis;
  std::string_view warnings;
  std::string_view no_warnings;
  std::string_view key_values;
  std::string_view key_values_note;  // how the host's values are derived
  std::string_view total_costs;
  std::string_view pool_amount;  // matrix row: the pool's cost
  std::string_view share_chart;  // each agency's share by pool
  std::string_view point_chart;  // each point's cost pools
  std::string_view chart_note;   // charts show the billed quarter, no adjustments
  std::string_view no_invoices;
  std::string_view tranche;  // "tranche" in Finvoice row text
  // Finvoice
  std::string_view invoice_type_text;      // "LASKU"
  std::string_view credit_note_type_text;  // "HYVITYSLASKU"
  std::string_view payment_terms;          // "{} days net", {} = due days
  std::string_view invoice_free_text;      // {} = quarter
  std::string_view lines_text;             // "invoices.json lines" before the numbers
  std::string_view vat_outside_scope;      // default VatFreeText, <= 70 characters
  std::string_view vat_exempt;
  std::string_view vat_standard;
};

const Labels& LabelsFor(Language language);

// A warning's message in the context's language, naming points, pools and agencies by
// their names; English, and codes the documents do not know, keep the engine's message.
std::string WarningMessage(const engine::Warning& warning, const DocumentContext& context);

// The key's name for people in `language` ("oma pinta-ala"); KeyName() is the technical one.
std::string_view KeyLabel(engine::Key key, Language language);
// Decimal scale of the key's quantity: dedicated_area is centi-m2 days (2),
// weighted_contacts and fixed_shares x10^4 (4), the rest whole numbers (0).
int KeyScale(engine::Key key);
// True for keys measured in seconds (advisor_time): people see them as h:min:s.
bool IsDurationKey(engine::Key key);
// Unit of the quantity as people read it ("m²·vrk", "h:min:s", "min", "%" or "").
std::string_view KeyUnit(engine::Key key, Language language);
// "1 820 000,00", "1:06:40": the quantity in its unit, grouped, without the unit.
std::string KeyNumberText(engine::Key key, int64_t quantity, Language language);
// "1 820 000,00 m²·vrk", "1:06:40 h:min:s": the quantity in its unit, grouped.
std::string KeyQuantityText(engine::Key key, int64_t quantity, Language language);

}  // namespace tori::documents::internal

#endif  // TORI_SERVICES_DOCUMENTS_INTERNAL_LABELS_H_
