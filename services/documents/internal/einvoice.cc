#include "services/documents/internal/einvoice.h"

#include "fmt/format.h"
#include "services/documents/internal/labels.h"
#include "services/documents/internal/render.h"
#include "services/documents/internal/text.h"

namespace tori::documents::internal {

void XmlWriter::Open(std::string_view name, std::string_view attributes) {
  Indent();
  out_ += fmt::format("<{}{}{}>\n", name, attributes.empty() ? "" : " ", attributes);
  ++depth_;
}

void XmlWriter::Close(std::string_view name) {
  --depth_;
  Indent();
  out_ += fmt::format("</{}>\n", name);
}

void XmlWriter::Leaf(std::string_view name, std::string_view text, std::string_view attributes) {
  Indent();
  out_ += fmt::format("<{}{}{}>{}</{}>\n", name, attributes.empty() ? "" : " ", attributes,
                      XmlEscape(text), name);
}

std::string_view VatCode(VatCategory category) {
  switch (category) {
    case VatCategory::kOutsideScope:
      return "O";
    case VatCategory::kExempt:
      return "E";
    case VatCategory::kStandardRated:
      return "S";
  }
  return "O";
}

InvoiceVat VatOf(const engine::Invoice& invoice, const DocumentContext& context) {
  InvoiceVat vat;
  // SPEC section 8: an invoice to a company carries the VAT billing charged (the rate of
  // its invoice date), whatever the run's default treatment.
  if (invoice.vat) {
    vat.category = VatCategory::kStandardRated;
    vat.rate_pct_e4 = invoice.vat->rate_pct_e4;
    vat.vat_cents = invoice.vat->vat_cents;
    vat.reason_text = LabelsFor(context.language).vat_standard;
    return vat;
  }
  const VatTreatment& treatment = context.vat;
  vat.category = treatment.category;
  vat.rate_pct_e4 = treatment.category == VatCategory::kStandardRated ? treatment.rate_pct_e4 : 0;
  vat.vat_cents = VatCents(invoice.total_cents, vat.rate_pct_e4);
  const Labels& labels = LabelsFor(context.language);
  if (!treatment.reason_text.empty()) {
    vat.reason_text = treatment.reason_text;
  } else if (vat.category == VatCategory::kOutsideScope) {
    vat.reason_text = labels.vat_outside_scope;
  } else if (vat.category == VatCategory::kExempt) {
    vat.reason_text = labels.vat_exempt;
  } else {
    vat.reason_text = labels.vat_standard;
  }
  vat.reason_code = !treatment.reason_code.empty() ? treatment.reason_code
                    : vat.category == VatCategory::kOutsideScope ? "VATEX-EU-O"
                                                                 : "";
  return vat;
}

namespace {
std::string TrancheTextWithoutPredecessor(const engine::InvoiceLine& line, Language language);
}  // namespace

// A successor's line names the agency whose place it took (SPEC section 8).
std::string TrancheText(const engine::InvoiceLine& line, Language language) {
  std::string text = TrancheTextWithoutPredecessor(line, language);
  if (line.predecessor_agency_id) {
    text += fmt::format("; {} {}", LabelsFor(language).predecessor, *line.predecessor_agency_id);
  }
  if (line.predecessor_host_agency_id) {
    text += fmt::format("; {} {}", LabelsFor(language).predecessor_host, *line.predecessor_host_agency_id);
  }
  return text;
}

namespace {
std::string TrancheTextWithoutPredecessor(const engine::InvoiceLine& line, Language language) {
  const Labels& labels = LabelsFor(language);
  if (line.issued_cents && line.recomputed_cents) {
    // An adjustment: the key values are the adjusted quarter's as recomputed, so they
    // stand beside what it is now, not beside the difference.
    const std::string_view unit = KeyUnit(line.key, language);
    return fmt::format("{} {} %: {} {} {}, {} {} ({} / {}{}{}), {} {}", labels.tranche,
                       PercentText(line.weight_pct_e4, language), KeyLabel(line.key, language),
                       labels.issued, MoneyText(*line.issued_cents, language), labels.now,
                       MoneyText(*line.recomputed_cents, language),
                       KeyNumberText(line.key, line.basis_quantity, language),
                       KeyNumberText(line.key, line.basis_total, language),
                       unit.empty() ? "" : "\u00a0", unit, labels.difference,
                       MoneyText(line.amount_cents, language));
  }
  std::string key(KeyLabel(line.key, language));
  if (line.fallback_from)
    key += fmt::format(" ({} {})", labels.fallback_from, KeyLabel(*line.fallback_from, language));
  const std::string_view unit = KeyUnit(line.key, language);
  return fmt::format("{} {} %: {} {} / {}{}{} = {}", labels.tranche,
                     PercentText(line.weight_pct_e4, language), key,
                     KeyNumberText(line.key, line.basis_quantity, language),
                     KeyNumberText(line.key, line.basis_total, language),
                     unit.empty() ? "" : "\u00a0", unit, MoneyText(line.amount_cents, language));
}
}  // namespace

std::string EinvoiceAddressOrOvt(const AgencyInfo& agency) {
  return agency.einvoice_address ? *agency.einvoice_address : OvtOfBusinessId(agency.business_id);
}

PeppolId PeppolIdOf(const AgencyInfo& agency) {
  if (agency.einvoice_address) {
    const std::string& address = *agency.einvoice_address;
    const bool digits4 = address.size() > 5 && address[4] == ':' &&
                         address.find_first_not_of("0123456789") == 4;
    if (digits4) return {address.substr(0, 4), address.substr(5)};
    if (address.starts_with("0037") &&
        address.find_first_not_of("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ") == std::string::npos) {
      return {"0216", address};
    }
  }
  return {"0216", OvtOfBusinessId(agency.business_id)};
}

}  // namespace tori::documents::internal
