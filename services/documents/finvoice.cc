// Finvoice 3.0 (Finvoice3.0.xsd, Finance Finland): one message per invoice. Elements
// are written in the schema's sequence order; only what tori knows is written.
// Amounts use a decimal comma ("1234,50") and AmountCurrencyIdentifier="EUR"; dates
// Format="CCYYMMDD". Party identifiers carry ISO 6523 scheme 0212 (Finnish business ID).
#include <optional>
#include <string_view>
#include <utility>

#include "events/base/check.h"
#include "fmt/format.h"
#include "services/documents/internal/einvoice.h"
#include "services/engine/vat.h"
#include "services/documents/internal/labels.h"
#include "services/documents/internal/render.h"
#include "services/documents/internal/text.h"

namespace tori::documents::internal {
namespace {

using engine::QuarterName;

constexpr std::string_view kEur = R"(AmountCurrencyIdentifier="EUR")";
constexpr std::string_view kBusinessIdScheme = R"(SchemeID="0212")";

// Finvoice's amounts ("1234,50", EUR) and dates (CCYYMMDD) on the shared writer.
class FinvoiceWriter : public XmlWriter {
 public:
  using XmlWriter::XmlWriter;
  void Amount(std::string_view name, int64_t cents) { Leaf(name, FinvoiceAmount(cents), kEur); }
  void Date(std::string_view name, absl::CivilDay day) {
    Leaf(name, CompactDate(day), R"(Format="CCYYMMDD")");
  }
};

// A Finvoice percentage: decimal comma, at most 3 decimals. The schema copy in
// ../shared/finvoice/ (30.11.2020) allows 4; Finance Finland withdrew that change and the
// schema in force allows 3 (DOMAIN.md), which CheckVat guarantees for VAT rates.
std::string FinvoicePercent(int64_t pct_e4) {
  TORI_CHECK(pct_e4 % 10 == 0);
  return PercentText(pct_e4, Language::kFi);
}

// MessageTransmissionDetails: the routing frame and, in it, SpecificationIdentifier
// "EN16931", the declaration operators require of EN 16931 invoices (e-invoicing act
// 241/2019). The events name no operator, so each intermediator is the party's BIC when
// known (Finvoice's bank network) and else its own address; the sender's operator routes
// by ToIdentifier through its address register and completes the frame.
void WriteTransmission(FinvoiceWriter& xml, const AgencyInfo& seller, const AgencyInfo& buyer,
                       const InvoiceMeta& meta, const DocumentContext& context) {
  const std::string from = EinvoiceAddressOrOvt(seller), to = EinvoiceAddressOrOvt(buyer);
  xml.Open("MessageTransmissionDetails");
  xml.Open("MessageSenderDetails");
  xml.Leaf("FromIdentifier", from);
  xml.Leaf("FromIntermediator", seller.bic.value_or(from));
  xml.Close("MessageSenderDetails");
  xml.Open("MessageReceiverDetails");
  xml.Leaf("ToIdentifier", to);
  xml.Leaf("ToIntermediator", buyer.bic.value_or(to));
  xml.Close("MessageReceiverDetails");
  xml.Open("MessageDetails");
  xml.Leaf("MessageIdentifier", meta.number);
  // The invoice date, not the clock: re-writing an issued quarter gives the same bytes.
  xml.Leaf("MessageTimeStamp",
           fmt::format("{}T00:00:00", absl::FormatCivilTime(context.issue_date)));
  xml.Leaf("SpecificationIdentifier", kFinvoiceSpecificationIdentifier);
  xml.Close("MessageDetails");
  xml.Close("MessageTransmissionDetails");
}

void WriteRow(FinvoiceWriter& xml, const engine::Invoice& invoice, const RowGroup& group,
              size_t row_number, const InvoiceVat& vat, const DocumentContext& context) {
  const Labels& labels = LabelsFor(context.language);
  const engine::InvoiceLine& first = invoice.lines[group.first_line];
  const engine::Quarter period = first.adjusts_quarter.value_or(invoice.quarter);
  std::string article =
      fmt::format("{} – {}", PointName(context, first.service_point_id),
                  PoolName(context, first.service_point_id, first.pool));
  if (first.adjusts_quarter) {
    article = fmt::format("{} {}: {}", labels.adjustment, QuarterName(period), article);
  }
  const int64_t cents = group.amount_cents;
  // Informative: the invoice's VAT is computed once on its total (VatOf).
  const int64_t vat_cents = VatCents(cents, vat.rate_pct_e4);

  xml.Open("InvoiceRow");
  xml.Leaf("ArticleIdentifier",
           TruncateChars(fmt::format("{}/{}", first.service_point_id, first.pool), 70));
  xml.Leaf("ArticleName", TruncateChars(article, 100));
  // EN 16931: the net price is never negative; a credit row has quantity -1.
  xml.Leaf("InvoicedQuantity", cents < 0 ? "-1" : "1", R"(QuantityUnitCodeUN="C62")");
  xml.Date("StartDate", period.FirstDay());
  xml.Date("EndDate", period.LastDay());
  xml.Leaf("UnitPriceAmount", FinvoiceAmount(cents < 0 ? -cents : cents), kEur);
  xml.Leaf("RowPositionIdentifier", fmt::format("{}", row_number));
  if (first.adjusts_quarter) {
    xml.Leaf("RowFreeText", fmt::format("{} {}", labels.adjustment, QuarterName(period)));
  }
  std::string line_numbers;
  for (size_t i = group.first_line; i < group.first_line + group.line_count; ++i) {
    xml.Leaf("RowFreeText", TruncateChars(TrancheText(invoice.lines[i], context.language), 512));
    line_numbers += fmt::format("{}{}", line_numbers.empty() ? "" : ", ", i + 1);
  }
  xml.Leaf("RowFreeText", fmt::format("{} {}", labels.lines_text, line_numbers));
  xml.Leaf("RowVatRatePercent", FinvoicePercent(vat.rate_pct_e4));
  xml.Leaf("RowVatCode", VatCode(vat.category));
  xml.Amount("RowVatAmount", vat_cents);
  xml.Amount("RowVatExcludedAmount", cents);
  xml.Amount("RowAmount", cents + vat_cents);
  xml.Close("InvoiceRow");
}

// SellerPartyDetails / BuyerPartyDetails. `tax_code`: the VAT number, when VAT applies.
void WriteParty(FinvoiceWriter& xml, std::string_view role, const AgencyInfo& agency,
                const std::optional<std::string>& tax_code) {
  xml.Open(fmt::format("{}PartyDetails", role));
  xml.Leaf(fmt::format("{}PartyIdentifier", role), agency.business_id, kBusinessIdScheme);
  // A name longer than the field continues in further elements, as Finvoice intends.
  for (const std::string& piece : SplitChars(agency.name, 70)) {
    xml.Leaf(fmt::format("{}OrganisationName", role), piece);
  }
  if (tax_code) xml.Leaf(fmt::format("{}OrganisationTaxCode", role), *tax_code);
  xml.Close(fmt::format("{}PartyDetails", role));
}

}  // namespace

int64_t VatCents(int64_t cents, int64_t rate_pct_e4) {
  return engine::InvoiceVatCents(cents, rate_pct_e4);  // one rounding rule for VAT
}

std::string FinvoiceXml(const engine::Invoice& invoice, const InvoiceMeta& meta,
                        const DocumentContext& context) {
  const Labels& labels = LabelsFor(context.language);
  const AgencyInfo& seller = context.agencies.at(invoice.issuer_agency_id);
  const AgencyInfo& buyer = context.agencies.at(invoice.recipient_agency_id);
  const std::vector<RowGroup> groups = GroupLines(invoice);
  TORI_CHECK(!groups.empty());
  const int64_t net_cents = invoice.total_cents;
  const InvoiceVat vat = VatOf(invoice, context);
  const int64_t vat_cents = vat.vat_cents;
  const bool credit = net_cents < 0;

  // The root element stays open; its children start one level in.
  FinvoiceWriter xml(
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      "<Finvoice Version=\"3.0\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" "
      "xsi:noNamespaceSchemaLocation=\"Finvoice3.0.xsd\">\n",
      1);
  WriteTransmission(xml, seller, buyer, meta, context);
  std::optional<std::string> seller_vat_number;
  if (vat.category == VatCategory::kStandardRated) {
    seller_vat_number = VatNumberOfBusinessId(seller.business_id);
  }
  WriteParty(xml, "Seller", seller, seller_vat_number);
  if (seller.einvoice_address) xml.Leaf("SellerOrganisationUnitNumber", *seller.einvoice_address);
  if (seller.bic) {
    xml.Open("SellerInformationDetails");
    xml.Open("SellerAccountDetails");
    xml.Leaf("SellerAccountID", CompactIban(*seller.iban), R"(IdentificationSchemeName="IBAN")");
    xml.Leaf("SellerBic", *seller.bic, R"(IdentificationSchemeName="BIC")");
    xml.Close("SellerAccountDetails");
    xml.Close("SellerInformationDetails");
  }
  WriteParty(xml, "Buyer", buyer, std::nullopt);
  if (buyer.einvoice_address) xml.Leaf("BuyerOrganisationUnitNumber", *buyer.einvoice_address);

  xml.Open("InvoiceDetails");
  xml.Leaf("InvoiceTypeCode", credit ? "INV02" : "INV01");
  xml.Leaf("InvoiceTypeCodeUN", credit ? "381" : "380");
  xml.Leaf("InvoiceTypeText", credit ? labels.credit_note_type_text : labels.invoice_type_text);
  xml.Leaf("OriginCode", "Original");
  xml.Leaf("InvoiceNumber", meta.number);
  xml.Date("InvoiceDate", context.issue_date);
  xml.Date("InvoicingPeriodStartDate", invoice.quarter.FirstDay());
  xml.Date("InvoicingPeriodEndDate", invoice.quarter.LastDay());
  xml.Leaf("SellerReferenceIdentifier", TruncateChars(invoice.invoice_id, 70));
  xml.Amount("RowsTotalVatExcludedAmount", net_cents);
  xml.Amount("InvoiceTotalVatExcludedAmount", net_cents);
  xml.Amount("InvoiceTotalVatAmount", vat_cents);
  xml.Amount("InvoiceTotalVatIncludedAmount", net_cents + vat_cents);
  xml.Open("VatSpecificationDetails");
  xml.Amount("VatBaseAmount", net_cents);
  xml.Leaf("VatRatePercent", FinvoicePercent(vat.rate_pct_e4));
  xml.Leaf("VatCode", VatCode(vat.category));
  xml.Amount("VatRateAmount", vat_cents);
  xml.Leaf("VatFreeText", vat.reason_text);
  if (!vat.reason_code.empty()) xml.Leaf("VatExemptionReasonCode", vat.reason_code);
  xml.Close("VatSpecificationDetails");
  xml.Leaf("InvoiceFreeText",
           fmt::format(fmt::runtime(labels.invoice_free_text), QuarterName(invoice.quarter)));
  xml.Open("PaymentTermsDetails");
  xml.Leaf("PaymentTermsFreeText",
           fmt::format(fmt::runtime(labels.payment_terms), context.due_days));
  xml.Date("InvoiceDueDate", meta.due_date);
  xml.Close("PaymentTermsDetails");
  xml.Close("InvoiceDetails");

  for (size_t g = 0; g < groups.size(); ++g) {
    WriteRow(xml, invoice, groups[g], g + 1, vat, context);
  }

  xml.Open("EpiDetails");
  xml.Open("EpiIdentificationDetails");
  xml.Date("EpiDate", context.issue_date);
  xml.Leaf("EpiReference", "");
  xml.Close("EpiIdentificationDetails");
  xml.Open("EpiPartyDetails");
  xml.Open("EpiBfiPartyDetails");
  if (seller.bic) xml.Leaf("EpiBfiIdentifier", *seller.bic, R"(IdentificationSchemeName="BIC")");
  xml.Close("EpiBfiPartyDetails");
  xml.Open("EpiBeneficiaryPartyDetails");
  xml.Leaf("EpiNameAddressDetails", TruncateChars(seller.name, 35));
  xml.Leaf("EpiBei", seller.business_id);
  xml.Leaf("EpiAccountID", CompactIban(*seller.iban), R"(IdentificationSchemeName="IBAN")");
  xml.Close("EpiBeneficiaryPartyDetails");
  xml.Close("EpiPartyDetails");
  xml.Open("EpiPaymentInstructionDetails");
  xml.Leaf("EpiRemittanceInfoIdentifier", meta.reference, R"(IdentificationSchemeName="SPY")");
  xml.Amount("EpiInstructedAmount", net_cents + vat_cents);
  xml.Leaf("EpiCharge", "SHA", R"(ChargeOption="SHA")");
  xml.Date("EpiDateOptionDate", meta.due_date);
  xml.Close("EpiPaymentInstructionDetails");
  xml.Close("EpiDetails");
  xml.out() += "</Finvoice>\n";
  return std::move(xml.out());
}

}  // namespace tori::documents::internal
