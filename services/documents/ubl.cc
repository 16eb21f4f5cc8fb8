// Peppol BIS Billing 3.0 (UBL 2.1): one Invoice, or a CreditNote where the total is
// negative, per invoice, beside its Finvoice and saying the same: the same number,
// reference, VAT and amounts. Elements follow the UBL 2.1 schema's sequence order; only
// what tori knows is written (no empty elements: PEPPOL-EN16931-R008). Amounts "1234.50"
// with currencyID="EUR", dates "2026-07-06". The rules the file must pass are
// ../shared/peppol/ (UBL 2.1 XSD, CEN EN 16931 and Peppol BIS 3.0 Schematron), which the
// tests run on every file they write.
#include <string_view>

#include "events/base/check.h"
#include "events/base/decimal.h"
#include "fmt/format.h"
#include "services/documents/internal/einvoice.h"
#include "services/documents/internal/labels.h"
#include "services/documents/internal/render.h"
#include "services/documents/internal/text.h"

namespace tori::documents::internal {
namespace {

using engine::QuarterName;

constexpr std::string_view kEur = R"(currencyID="EUR")";
// Peppol BIS Billing 3.0: the specification (BT-24) and the business process (BT-23).
constexpr std::string_view kCustomizationId =
    "urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0";
constexpr std::string_view kProfileId = "urn:fdc:peppol.eu:2017:poacc:billing:01:1.0";

class UblWriter : public XmlWriter {
 public:
  using XmlWriter::XmlWriter;
  void Amount(std::string_view name, int64_t cents) {
    Leaf(name, FormatDecimal(cents, kMoneyScale), kEur);
  }
  void Date(std::string_view name, absl::CivilDay day) { Leaf(name, absl::FormatCivilTime(day)); }
};

// UBL's percent: decimal point, no trailing zeros ("25.5", "0" never written).
std::string UblPercent(int64_t pct_e4) { return PercentText(pct_e4, Language::kEn); }

void WriteTaxScheme(UblWriter& xml) {
  xml.Open("cac:TaxScheme");
  xml.Leaf("cbc:ID", "VAT");
  xml.Close("cac:TaxScheme");
}

// AccountingSupplierParty / AccountingCustomerParty. Category O forbids VAT numbers
// (BR-O-02); S needs the seller's (BR-S-02).
void WriteParty(UblWriter& xml, std::string_view role, const AgencyInfo& agency,
                bool with_vat_number) {
  const PeppolId endpoint = PeppolIdOf(agency);
  xml.Open(role);
  xml.Open("cac:Party");
  xml.Leaf("cbc:EndpointID", endpoint.id, fmt::format(R"(schemeID="{}")", endpoint.scheme));
  xml.Open("cac:PartyName");
  xml.Leaf("cbc:Name", agency.name);
  xml.Close("cac:PartyName");
  // The events carry no street address; the country is what EN 16931 requires (BR-09).
  xml.Open("cac:PostalAddress");
  xml.Open("cac:Country");
  xml.Leaf("cbc:IdentificationCode", "FI");
  xml.Close("cac:Country");
  xml.Close("cac:PostalAddress");
  if (with_vat_number) {
    xml.Open("cac:PartyTaxScheme");
    xml.Leaf("cbc:CompanyID", VatNumberOfBusinessId(agency.business_id));
    WriteTaxScheme(xml);
    xml.Close("cac:PartyTaxScheme");
  }
  xml.Open("cac:PartyLegalEntity");
  xml.Leaf("cbc:RegistrationName", agency.name);
  xml.Leaf("cbc:CompanyID", agency.business_id);  // the Y-tunnus (BT-30)
  xml.Close("cac:PartyLegalEntity");
  xml.Close("cac:Party");
  xml.Close(role);
}

void WriteTaxCategory(UblWriter& xml, std::string_view element, const InvoiceVat& vat,
                      bool with_reason) {
  xml.Open(element);
  xml.Leaf("cbc:ID", VatCode(vat.category));
  // A rate only where VAT is charged: O forbids one (BR-O-05, BR-O-06).
  if (vat.category != VatCategory::kOutsideScope) xml.Leaf("cbc:Percent", UblPercent(vat.rate_pct_e4));
  if (with_reason && vat.category != VatCategory::kStandardRated) {
    if (!vat.reason_code.empty()) xml.Leaf("cbc:TaxExemptionReasonCode", vat.reason_code);
    xml.Leaf("cbc:TaxExemptionReason", vat.reason_text);
  }
  WriteTaxScheme(xml);
  xml.Close(element);
}

// One line per (point, pool) group, as the Finvoice rows. The net price is never negative
// (BR-27): a line that credits has quantity -1. `sign` is -1 in a credit note, whose
// amounts are those of the invoice with the sign turned.
void WriteLine(UblWriter& xml, bool credit_note, const engine::Invoice& invoice,
               const RowGroup& group, size_t line_number, const InvoiceVat& vat,
               const DocumentContext& context) {
  const Labels& labels = LabelsFor(context.language);
  const engine::InvoiceLine& first = invoice.lines[group.first_line];
  const int64_t cents = credit_note ? -group.amount_cents : group.amount_cents;
  std::string name = fmt::format("{} – {}", PointName(context, first.service_point_id),
                                 PoolName(context, first.service_point_id, first.pool));
  if (first.adjusts_quarter) {
    name = fmt::format("{} {}: {}", labels.adjustment, QuarterName(*first.adjusts_quarter), name);
  }
  std::string description;
  for (size_t i = group.first_line; i < group.first_line + group.line_count; ++i) {
    description += fmt::format("{}{}", description.empty() ? "" : "; ",
                               TrancheText(invoice.lines[i], context.language));
  }
  std::string line_numbers;
  for (size_t i = group.first_line; i < group.first_line + group.line_count; ++i) {
    line_numbers += fmt::format("{}{}", line_numbers.empty() ? "" : ", ", i + 1);
  }
  const std::string_view line_element = credit_note ? "cac:CreditNoteLine" : "cac:InvoiceLine";
  xml.Open(line_element);
  xml.Leaf("cbc:ID", fmt::format("{}", line_number));
  xml.Leaf("cbc:Note", fmt::format("{} {}", labels.lines_text, line_numbers));
  xml.Leaf(credit_note ? "cbc:CreditedQuantity" : "cbc:InvoicedQuantity", cents < 0 ? "-1" : "1",
           R"(unitCode="C62")");
  xml.Amount("cbc:LineExtensionAmount", cents);
  xml.Open("cac:Item");
  xml.Leaf("cbc:Description", description);
  xml.Leaf("cbc:Name", name);
  xml.Open("cac:SellersItemIdentification");
  xml.Leaf("cbc:ID", fmt::format("{}/{}", first.service_point_id, first.pool));
  xml.Close("cac:SellersItemIdentification");
  WriteTaxCategory(xml, "cac:ClassifiedTaxCategory", vat, /*with_reason=*/false);
  xml.Close("cac:Item");
  xml.Open("cac:Price");
  xml.Amount("cbc:PriceAmount", cents < 0 ? -cents : cents);
  xml.Close("cac:Price");
  xml.Close(line_element);
}

}  // namespace

std::string UblXml(const engine::Invoice& invoice, const InvoiceMeta& meta,
                   const DocumentContext& context) {
  TORI_CHECK(!context.draft);  // an e-invoice is never a draft (no number, no reference)
  const Labels& labels = LabelsFor(context.language);
  const AgencyInfo& seller = context.agencies.at(invoice.issuer_agency_id);
  const AgencyInfo& buyer = context.agencies.at(invoice.recipient_agency_id);
  const std::vector<RowGroup> groups = GroupLines(invoice);
  TORI_CHECK(!groups.empty());
  const InvoiceVat vat = VatOf(invoice, context);
  // A negative total is a credit note whose amounts are the invoice's with the sign
  // turned, so that its total is positive.
  const bool credit_note = invoice.total_cents < 0;
  const int64_t sign = credit_note ? -1 : 1;
  const int64_t net_cents = sign * invoice.total_cents;
  const int64_t vat_cents = sign * vat.vat_cents;
  const std::string_view root = credit_note ? "CreditNote" : "Invoice";

  UblWriter xml(fmt::format(
                    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                    "<{} xmlns=\"urn:oasis:names:specification:ubl:schema:xsd:{}-2\" "
                    "xmlns:cac=\"urn:oasis:names:specification:ubl:schema:xsd:"
                    "CommonAggregateComponents-2\" "
                    "xmlns:cbc=\"urn:oasis:names:specification:ubl:schema:xsd:"
                    "CommonBasicComponents-2\">\n",
                    root, root),
                1);
  xml.Leaf("cbc:CustomizationID", kCustomizationId);
  xml.Leaf("cbc:ProfileID", kProfileId);
  xml.Leaf("cbc:ID", meta.number);
  xml.Date("cbc:IssueDate", context.issue_date);
  if (!credit_note) xml.Date("cbc:DueDate", meta.due_date);
  xml.Leaf(credit_note ? "cbc:CreditNoteTypeCode" : "cbc:InvoiceTypeCode",
           credit_note ? "381" : "380");
  xml.Leaf("cbc:Note",
           fmt::format(fmt::runtime(labels.invoice_free_text), QuarterName(invoice.quarter)));
  xml.Leaf("cbc:DocumentCurrencyCode", "EUR");
  // Peppol requires a buyer reference or an order reference (PEPPOL-EN16931-R003); the
  // buyer's own reference is not in the events, tori's invoice id names the invoice.
  xml.Leaf("cbc:BuyerReference", invoice.invoice_id);
  xml.Open("cac:InvoicePeriod");
  xml.Date("cbc:StartDate", invoice.quarter.FirstDay());
  xml.Date("cbc:EndDate", invoice.quarter.LastDay());
  xml.Close("cac:InvoicePeriod");
  const bool vat_numbers = vat.category == VatCategory::kStandardRated;
  WriteParty(xml, "cac:AccountingSupplierParty", seller, vat_numbers);
  WriteParty(xml, "cac:AccountingCustomerParty", buyer, /*with_vat_number=*/false);
  // An invoice is paid to the seller's account with the reference number; a credit
  // note's refund goes to an account the seller does not know from the events.
  if (!credit_note) {
    TORI_CHECK(seller.iban.has_value());  // WriteDocuments writes e-invoices only then
    xml.Open("cac:PaymentMeans");
    xml.Leaf("cbc:PaymentMeansCode", "58");  // SEPA credit transfer
    xml.Leaf("cbc:PaymentID", meta.reference);
    xml.Open("cac:PayeeFinancialAccount");
    xml.Leaf("cbc:ID", CompactIban(*seller.iban));
    xml.Leaf("cbc:Name", seller.name);
    if (seller.bic) {
      xml.Open("cac:FinancialInstitutionBranch");
      xml.Leaf("cbc:ID", *seller.bic);
      xml.Close("cac:FinancialInstitutionBranch");
    }
    xml.Close("cac:PayeeFinancialAccount");
    xml.Close("cac:PaymentMeans");
  }
  xml.Open("cac:PaymentTerms");
  xml.Leaf("cbc:Note", fmt::format(fmt::runtime(labels.payment_terms), context.due_days));
  xml.Close("cac:PaymentTerms");
  xml.Open("cac:TaxTotal");
  xml.Amount("cbc:TaxAmount", vat_cents);
  xml.Open("cac:TaxSubtotal");
  xml.Amount("cbc:TaxableAmount", net_cents);
  xml.Amount("cbc:TaxAmount", vat_cents);
  WriteTaxCategory(xml, "cac:TaxCategory", vat, /*with_reason=*/true);
  xml.Close("cac:TaxSubtotal");
  xml.Close("cac:TaxTotal");
  xml.Open("cac:LegalMonetaryTotal");
  xml.Amount("cbc:LineExtensionAmount", net_cents);
  xml.Amount("cbc:TaxExclusiveAmount", net_cents);
  xml.Amount("cbc:TaxInclusiveAmount", net_cents + vat_cents);
  xml.Amount("cbc:PayableAmount", net_cents + vat_cents);
  xml.Close("cac:LegalMonetaryTotal");
  for (size_t g = 0; g < groups.size(); ++g) {
    WriteLine(xml, credit_note, invoice, groups[g], g + 1, vat, context);
  }
  xml.out() += fmt::format("</{}>\n", root);
  return std::move(xml.out());
}

}  // namespace tori::documents::internal
