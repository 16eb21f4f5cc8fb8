#include "services/documents/internal/labels.h"

#include "events/base/decimal.h"
#include "fmt/format.h"
#include "services/documents/internal/text.h"
#include "services/documents/internal/views.h"

namespace tori::documents::internal {
namespace {

using engine::Key;

constexpr Labels kFinnish{
    .report_title = "Yhteispalvelun kustannustenjako",
    .draft_mark = "LUONNOS",
    .draft_note = "Luonnos, ei lasku: laskunumero ja viitenumero annetaan vasta laskutettaessa.",
    .generated_by = "Laskettu tapahtumahistoriasta (tori)",
    .summary = "Yhteenveto",
    .quarter = "Vuosineljännes",
    .issue_date = "Laskun päivä",
    .due_date = "Eräpäivä",
    .invoice = "Lasku",
    .invoices = "Laskut",
    .invoice_number = "Laskun numero",
    .invoice_id = "Laskun tunniste",
    .reference_number = "Viitenumero",
    .issuer = "Laskuttaja",
    .recipient = "Vastaanottaja",
    .business_id = "Y-tunnus",
    .agency = "Virasto",
    .service_point = "Palvelupiste",
    .pool = "Kustannuspooli",
    .pools = "Kustannuspoolit",
    .key = "Jakoperuste",
    .weight = "Paino",
    .basis_quantity = "Osapuolen määrä",
    .basis_total = "Kaikki osapuolet",
    .unit = "Yksikkö",
    .amount = "Summa",
    .total = "Yhteensä",
    .vat = "ALV",
    .total_with_vat = "Yhteensä sis. ALV",
    .line = "Rivi",
    .adjusts = "Oikaistava kausi",
    .issued = "laskutettu",
    .now = "nyt",
    .difference = "erotus",
    .adjustment = "Oikaisu",
    .adjustments = "Oikaisut (aiemmat kaudet)",
    .fallback_from = "korvaa jakoperusteen",
    .predecessor = "edeltäjän sijaan:",
    .predecessor_host = "isäntänä edeltäjän sijaan:",
    .host = "ylläpitäjä",
    .host_shares = "Ylläpitäjän omat osuudet",
    .invoiced = "Laskutettu",
    .subsidy_claims = "Valtionavustushakemukset",
    .program = "Avustusohjelma",
    .claimant = "Hakija",
    .basis = "Peruste",
    .warnings = "Huomautukset",
    .no_warnings = "Ei huomautuksia.",
    .key_values = "Jakoperusteiden arvot",
    .key_values_note =
        "Vastaanottajien arvot laskuriveiltä; ylläpitäjän arvo = kaikki osapuolet − muut.",
    .total_costs = "Kustannukset yhteensä",
    .pool_amount = "Poolin kustannus",
    .share_chart = "Virastojen osuudet kustannuspooleittain",
    .point_chart = "Palvelupisteiden kustannuspoolit",
    .chart_note = "Laskutettu vuosineljännes ilman aiempien kausien oikaisuja.",
    .no_invoices = "Ei laskuja.",
    .tranche = "Osuus",
    .invoice_type_text = "LASKU",
    .credit_note_type_text = "HYVITYSLASKU",
    .payment_terms = "{} päivää netto",
    .invoice_free_text = "Yhteispalvelun kustannusosuudet {} omakustannusperiaatteella",
    .lines_text = "invoices.json rivit",
    .vat_outside_scope = "Ei arvonlisäveroa: viranomaisten kustannustenjako (KHO:2009:42)",
    .vat_exempt = "Arvonlisäverosta vapautettu",
    .vat_standard = "Arvonlisävero",
};

constexpr Labels kSwedish{
    .report_title = "Kostnadsfördelning för samservice",
    .draft_mark = "UTKAST",
    .draft_note = "Utkast, ingen faktura: fakturanummer och referensnummer ges först vid fakturering.",
    .generated_by = "Beräknad ur händelsehistoriken (tori)",
    .summary = "Sammandrag",
    .quarter = "Kvartal",
    .issue_date = "Fakturadatum",
    .due_date = "Förfallodag",
    .invoice = "Faktura",
    .invoices = "Fakturor",
    .invoice_number = "Fakturanummer",
    .invoice_id = "Fakturans id",
    .reference_number = "Referensnummer",
    .issuer = "Fakturerare",
    .recipient = "Mottagare",
    .business_id = "FO-nummer",
    .agency = "Myndighet",
    .service_point = "Servicepunkt",
    .pool = "Kostnadspool",
    .pools = "Kostnadspooler",
    .key = "Fördelningsnyckel",
    .weight = "Vikt",
    .basis_quantity = "Partens värde",
    .basis_total = "Alla parter",
    .unit = "Enhet",
    .amount = "Belopp",
    .total = "Totalt",
    .vat = "Moms",
    .total_with_vat = "Totalt inkl. moms",
    .line = "Rad",
    .adjusts = "Korrigerad period",
    .issued = "fakturerat",
    .now = "nu",
    .difference = "skillnad",
    .adjustment = "Korrigering",
    .adjustments = "Korrigeringar (tidigare perioder)",
    .fallback_from = "ersätter nyckeln",
    .predecessor = "i stället för föregångaren",
    .predecessor_host = "värd i stället för föregångaren",
    .host = "värd",
    .host_shares = "Värdens egna andelar",
    .invoiced = "Fakturerat",
    .subsidy_claims = "Ansökningar om statsunderstöd",
    .program = "Program",
    .claimant = "Sökande",
    .basis = "Grund",
    .warnings = "Anmärkningar",
    .no_warnings = "Inga anmärkningar.",
    .key_values = "Fördelningsnycklarnas värden",
    .key_values_note =
        "Mottagarnas värden från fakturaraderna; värdens värde = alla parter − övriga.",
    .total_costs = "Kostnader totalt",
    .pool_amount = "Poolens kostnad",
    .share_chart = "Myndigheternas andelar per kostnadspool",
    .point_chart = "Servicepunkternas kostnadspooler",
    .chart_note = "Fakturerat kvartal utan korrigeringar av tidigare perioder.",
    .no_invoices = "Inga fakturor.",
    .tranche = "Andel",
    .invoice_type_text = "FAKTURA",
    .credit_note_type_text = "KREDITNOTA",
    .payment_terms = "{} dagar netto",
    .invoice_free_text = "Kostnadsandelar för samservice {} enligt självkostnadsprincipen",
    .lines_text = "invoices.json rader",
    .vat_outside_scope = "Ingen moms: kostnadsfördelning mellan myndigheter (HFD KHO:2009:42)",
    .vat_exempt = "Momsfri",
    .vat_standard = "Mervärdesskatt",
};

constexpr Labels kEnglish{
    .report_title = "Cost sharing of joint service points",
    .draft_mark = "DRAFT",
    .draft_note = "Draft, not an invoice: the invoice number and reference are given when it is issued.",
    .generated_by = "Computed from the event history (tori)",
    .summary = "Summary",
    .quarter = "Quarter",
    .issue_date = "Invoice date",
    .due_date = "Due date",
    .invoice = "Invoice",
    .invoices = "Invoices",
    .invoice_number = "Invoice number",
    .invoice_id = "Invoice id",
    .reference_number = "Reference number",
    .issuer = "Issuer",
    .recipient = "Recipient",
    .business_id = "Business ID",
    .agency = "Agency",
    .service_point = "Service point",
    .pool = "Cost pool",
    .pools = "Cost pools",
    .key = "Key",
    .weight = "Weight",
    .basis_quantity = "Party's value",
    .basis_total = "All parties",
    .unit = "Unit",
    .amount = "Amount",
    .total = "Total",
    .vat = "VAT",
    .total_with_vat = "Total incl. VAT",
    .line = "Line",
    .adjusts = "Adjusts quarter",
    .issued = "issued",
    .now = "now",
    .difference = "difference",
    .adjustment = "Adjustment",
    .adjustments = "Adjustments (earlier quarters)",
    .fallback_from = "replaces key",
    .predecessor = "in place of predecessor",
    .predecessor_host = "host in place of predecessor",
    .host = "host",
    .host_shares = "Host's own shares",
    .invoiced = "Invoiced",
    .subsidy_claims = "State subsidy claims",
    .program = "Programme",
    .claimant = "Claimant",
    .basis = "Basis",
    .warnings = "Warnings",
    .no_warnings = "No warnings.",
    .key_values = "Key values",
    .key_values_note =
        "Recipients' values from the invoice lines; the host's value = all parties − the others.",
    .total_costs = "Total costs",
    .pool_amount = "Pool cost",
    .share_chart = "Each agency's share by cost pool",
    .point_chart = "Cost pools of each service point",
    .chart_note = "The billed quarter, without adjustments of earlier quarters.",
    .no_invoices = "No invoices.",
    .tranche = "Tranche",
    .invoice_type_text = "INVOICE",
    .credit_note_type_text = "CREDIT NOTE",
    .payment_terms = "{} days net",
    .invoice_free_text = "Joint service cost shares {} at cost price",
    .lines_text = "invoices.json lines",
    .vat_outside_scope = "Outside the scope of VAT: cost sharing of authorities (KHO:2009:42)",
    .vat_exempt = "Exempt from VAT",
    .vat_standard = "Value added tax",
};

}  // namespace

const Labels& LabelsFor(Language language) {
  switch (language) {
    case Language::kFi:
      return kFinnish;
    case Language::kSv:
      return kSwedish;
    case Language::kEn:
      return kEnglish;
  }
  return kEnglish;
}

std::string_view KeyLabel(Key key, Language language) {
  const int l = language == Language::kFi ? 0 : language == Language::kSv ? 1 : 2;
  static constexpr std::string_view kNames[14][3] = {
      {"asiointitapahtumat", "kundkontakter", "contacts"},
      {"palveluneuvojan asiointitapahtumat", "servicerådgivarens kundkontakter",
       "advisor contacts"},
      {"palveluneuvojan asiointiaika", "servicerådgivarens handläggningstid", "advisor time"},
      {"painotetut asiointitapahtumat", "viktade kundkontakter", "weighted contacts"},
      {"oma pinta-ala", "egen yta", "dedicated area"},
      {"tilavaraukset", "rumsbokningar", "room bookings"},
      {"sovitut osuudet", "fasta andelar", "fixed shares"},
      {"tasajako", "lika delning", "equal split"},
      {"videoasiointiaika", "videohandläggningstid", "video time"},
      {"tulkkausminuutit", "tolkningsminuter", "interpretation minutes"},
      {"pysähdykset", "hållplatser", "route stops"},
      {"pysähdysminuutit", "hållplatsminuter", "stop minutes"},
      {"toimitukset", "leveranser", "deliveries"},
      {"vastaanotetut ohjaukset", "mottagna hänvisningar", "referrals received"},
  };
  return kNames[static_cast<int>(key)][l];
}

int KeyScale(Key key) {
  switch (key) {
    case Key::kDedicatedArea:
      return kAreaScale;
    case Key::kWeightedContacts:
    case Key::kFixedShares:
      return kPctScale;
    default:
      return 0;
  }
}

bool IsDurationKey(Key key) { return key == Key::kAdvisorTime || key == Key::kVideoTime; }

std::string_view KeyUnit(Key key, Language language) {
  switch (key) {
    case Key::kAdvisorTime:
    case Key::kVideoTime:
      return "h:min:s";
    case Key::kBookedMinutes:
    case Key::kInterpretationMinutes:
    case Key::kStopMinutes:
      return "min";
    case Key::kFixedShares:
      return "%";
    case Key::kDedicatedArea:
      return language == Language::kFi   ? "m²·vrk"
             : language == Language::kSv ? "m²·dygn"
                                         : "m²·days";
    default:
      return "";
  }
}

std::string KeyNumberText(Key key, int64_t quantity, Language language) {
  return IsDurationKey(key) ? DurationText(quantity)
                            : DecimalText(quantity, KeyScale(key), language);
}

std::string KeyQuantityText(Key key, int64_t quantity, Language language) {
  std::string text = KeyNumberText(key, quantity, language);
  const std::string_view unit = KeyUnit(key, language);
  if (!unit.empty()) text += "\u00a0" + std::string(unit);
  return text;
}

std::string WarningMessage(const engine::Warning& w, const DocumentContext& context) {
  const Language lang = context.language;
  if (lang == Language::kEn) return w.message;
  const bool fi = lang == Language::kFi;
  const std::string point = PointName(context, w.service_point_id);
  const std::string pool = PoolName(context, w.service_point_id, w.pool);
  const std::string agency = AgencyName(context, w.agency_id);
  const std::string agreement =
      fmt::format("{} {} {}", w.agreement_id, fi ? "versio" : "version", w.agreement_version);
  const std::string money = MoneyText(w.amount_cents, lang);
  auto key = [&](const std::optional<engine::Key>& k) {
    return k ? std::string(KeyLabel(*k, lang)) : std::string();
  };
  const std::string tranche =
      fi ? fmt::format("{}, pooli {}, osuus {} ({} {} %)", point, pool, w.tranche, key(w.key),
                       PercentText(w.weight_pct_e4, lang))
         : fmt::format("{}, poolen {}, andel {} ({} {} %)", point, pool, w.tranche, key(w.key),
                       PercentText(w.weight_pct_e4, lang));
  switch (w.code) {
    case engine::WarningCode::kNoAgreement:
      return fi ? fmt::format("{}: {} ei ole voimassa sopimusta; pooli {} ({}) jää ylläpitäjän "
                              "{} maksettavaksi.",
                              point, DateText(w.date, lang), pool, money, agency)
                : fmt::format("{}: inget avtal gäller {}; poolen {} ({}) bärs av värden {}.",
                              point, DateText(w.date, lang), pool, money, agency);
    case engine::WarningCode::kPoolNotInAgreement:
      return fi ? fmt::format("{}: pooli {} ({}) ei ole sopimuksessa {}; sen maksaa ylläpitäjä {}.",
                              point, pool, money, agreement, agency)
                : fmt::format("{}: poolen {} ({}) ingår inte i avtalet {}; värden {} bär den.",
                              point, pool, money, agreement, agency);
    case engine::WarningCode::kNonPartyExcluded:
      return fi ? fmt::format("{}: {} ei ole sopimuksen {} osapuoli; sen {} asiointitapahtumaa ja "
                              "muut arvot jätetään pois kaikista jakoperusteista.",
                              point, agency, agreement, w.contacts)
                : fmt::format("{}: {} är inte part i avtalet {}; dess {} kundkontakter och övriga "
                              "värden räknas inte med i någon fördelningsnyckel.",
                              point, agency, agreement, w.contacts);
    case engine::WarningCode::kFallbackKeyUsed:
      return fi ? fmt::format("{}: jakoperusteen arvo on kaikilla osapuolilla 0; käytettiin "
                              "varajakoperustetta {}.",
                              tranche, key(w.fallback_key))
                : fmt::format("{}: nyckelns värde är 0 för alla parter; reservnyckeln {} "
                              "användes.",
                              tranche, key(w.fallback_key));
    case engine::WarningCode::kFallbackKeyZero:
      return fi ? fmt::format("{}: myös varajakoperusteen {} arvo on kaikilla osapuolilla 0; "
                              "jaettiin tasan.",
                              tranche, key(w.fallback_key))
                : fmt::format("{}: även reservnyckeln {} är 0 för alla parter; delades lika.",
                              tranche, key(w.fallback_key));    case engine::WarningCode::kAnnualCapApplied:
      return fi ? fmt::format("{}: valtionavustus {} hakijalle {} olisi {}, haettiin {}: vuotuinen "
                              "enimmäismäärä {} täyttyi ({} haettu jo samana vuonna), vähennys {}.",
                              point, w.program_id, agency, MoneyText(w.uncapped_cents, lang), money,
                              MoneyText(w.cap_cents, lang),
                              MoneyText(w.claimed_before_cents, lang),
                              MoneyText(w.uncapped_cents - w.amount_cents, lang))
                : fmt::format("{}: statsunderstödet {} för {} vore {}, söktes {}: årstaket {} "
                              "nåddes ({} redan sökt samma år), minskat med {}.",
                              point, w.program_id, agency, MoneyText(w.uncapped_cents, lang), money,
                              MoneyText(w.cap_cents, lang),
                              MoneyText(w.claimed_before_cents, lang),
                              MoneyText(w.uncapped_cents - w.amount_cents, lang));
    case engine::WarningCode::kNoEinvoiceAddress:
      return fi ? fmt::format("Lasku {} vastaanottajalle {}: vastaanottajalla ei ole "
                              "verkkolaskuosoitetta; operaattori ottaa laskun vastaan mutta ei "
                              "toimita sitä. Lisää osoite (agency_updated, einvoice_address) "
                              "tai lähetä lasku muuten.",
                              w.invoice_id, agency)
                : fmt::format("Faktura {} till {}: mottagaren har ingen e-fakturaadress; "
                              "operatören tar emot fakturan men levererar den inte. Lägg till "
                              "adressen (agency_updated, einvoice_address) eller skicka fakturan "
                              "på annat sätt.",
                              w.invoice_id, agency);
    case engine::WarningCode::kPredecessorContact: {
      const std::string successor = AgencyName(context, w.successor_agency_id);
      return fi ? fmt::format("{}: {} asiointitapahtumaa kirjattiin seuraannon jälkeen edeltäjän "
                              "{} tunnukselle; ne lasketaan seuraajalle {}. Korjaa kirjaava "
                              "järjestelmä käyttämään seuraajan tunnusta.",
                              point, w.contacts, agency, successor)
                : fmt::format("{}: {} kundkontakter registrerades efter övergången under "
                              "föregångaren {} och räknas för efterträdaren {}. Låt det "
                              "registrerande systemet använda efterträdarens id.",
                              point, w.contacts, agency, successor);
    }
    case engine::WarningCode::kOverBudget:
      return fi ? fmt::format("{}, pooli {}: osapuolen {} ennuste {} ylittää talousarvion {}.",
                              point, pool, agency, MoneyText(w.amount_cents, lang),
                              MoneyText(w.cap_cents, lang))
                : fmt::format("{}, poolen {}: prognosen för {} {} överskrider budgeten {}.",
                              point, pool, agency, MoneyText(w.amount_cents, lang),
                              MoneyText(w.cap_cents, lang));
  }
  return w.message;
}

}  // namespace tori::documents::internal
