#include "services/server/portal_strings.h"
#include "services/server/internal/text.h"

#include <array>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"

namespace tori::server {
namespace {

using internal::Split;
using internal::Trim;

struct Row {
  Text text;  // checked against the row's index at compile time
  std::string_view fi, sv, en;
};

// clang-format off
constexpr Row kTexts[] = {
  {Text::kAppTitle, "tori – yhteispalvelun kustannukset", "tori – samservicens kostnader", "tori – shared service costs"},
  {Text::kLanguageName, "suomi", "svenska", "English"},
  {Text::kLogIn, "Kirjaudu", "Logga in", "Log in"},
  {Text::kLogOut, "Kirjaudu ulos", "Logga ut", "Log out"},
  {Text::kToken, "Tunniste (token)", "Nyckel (token)", "Token"},
  {Text::kLoginHint, "Kirjaudu tunnisteella, jonka isäntäorganisaatio on antanut (tori access grant).",
                     "Logga in med nyckeln som värdorganisationen har gett dig (tori access grant).",
                     "Log in with the token the host gave you (tori access grant)."},
  {Text::kLoginFailed, "Tunniste ei kelpaa tai se on peruttu.", "Nyckeln är ogiltig eller återkallad.",
                       "The token is not valid or has been revoked."},
  {Text::kSignedInAs, "Kirjautuneena", "Inloggad som", "Signed in as"},
  {Text::kQuarters, "Neljännekset", "Kvartal", "Quarters"},
  {Text::kQuarter, "Neljännes", "Kvartal", "Quarter"},
  {Text::kState, "Tila", "Status", "State"},
  {Text::kStateIssued, "laskutettu", "fakturerat", "issued"},
  {Text::kStatePrepared, "valmisteltu, odottaa hyväksyntää", "förberett, väntar på godkännande",
                         "prepared, awaiting approval"},
  {Text::kInvoices, "Laskut", "Fakturor", "Invoices"},
  {Text::kInvoice, "Lasku", "Faktura", "Invoice"},
  {Text::kInvoiceNumber, "Laskun numero", "Fakturanummer", "Invoice number"},
  {Text::kReferenceNumber, "Viitenumero", "Referensnummer", "Reference number"},
  {Text::kIssuer, "Laskuttaja", "Fakturerare", "Issuer"},
  {Text::kRecipient, "Vastaanottaja", "Mottagare", "Recipient"},
  {Text::kTotal, "Yhteensä", "Totalt", "Total"},
  {Text::kAsOf, "Lokin kohta", "Loggposition", "Log position"},
  {Text::kLines, "Rivit", "Rader", "Lines"},
  {Text::kLine, "Rivi", "Rad", "Line"},
  {Text::kServicePoint, "Palvelupiste", "Serviceställe", "Service point"},
  {Text::kPool, "Kustannuspooli", "Kostnadspool", "Cost pool"},
  {Text::kKey, "Jakoperuste", "Fördelningsnyckel", "Key"},
  {Text::kWeight, "Paino", "Vikt", "Weight"},
  {Text::kBasis, "Peruste (oma / kaikki)", "Grund (egen / alla)", "Basis (own / all)"},
  {Text::kAmount, "Summa", "Belopp", "Amount"},
  {Text::kExplanation, "Miten summa syntyi", "Hur beloppet räknades", "How the amount was computed"},
  {Text::kDownloads, "Lataukset", "Nedladdningar", "Downloads"},
  {Text::kProof, "Todiste (Merkle)", "Bevis (Merkle)", "Proof (Merkle)"},
  {Text::kReport, "Neljänneksen raportti", "Kvartalets rapport", "The quarter's report"},
  {Text::kReconcile, "Täsmäytys", "Avstämning", "Reconcile"},
  {Text::kReconcileHint, "Anna oma asiointiluettelosi (CSV, sarake contact_id), niin tori vertaa sitä kirjaamiinsa asiointeihin.",
                         "Ge er kontaktlista (CSV, kolumn contact_id) så jämför tori den med sina kontakter.",
                         "Give your own list of contacts (CSV with a contact_id column); tori compares it with the contacts it holds."},
  {Text::kAgency, "Virasto", "Myndighet", "Agency"},
  {Text::kContactsFile, "Asiointiluettelo tiedostona (CSV)", "Kontaktlista som fil (CSV)", "Contacts as a file (CSV)"},
  {Text::kContactsCsv, "… tai liitä se tähän", "… eller klistra in den här", "… or paste it here"},
  {Text::kRun, "Täsmäytä", "Stäm av", "Reconcile"},
  {Text::kMatched, "Täsmänneet", "Matchade", "Matched"},
  {Text::kDifferences, "Erot", "Skillnader", "Differences"},
  {Text::kContact, "Asiointi", "Kontakt", "Contact"},
  {Text::kStatus, "Tulos", "Resultat", "Status"},
  {Text::kDetail, "Selitys", "Förklaring", "Detail"},
  {Text::kAllMatch, "Kaikki täsmäävät.", "Allt stämmer.", "Everything matches."},
  {Text::kShownFirst, "Näytetään ensimmäiset", "Visar de första", "Showing the first"},
  {Text::kVerify, "Tarkastus", "Granskning", "Verify"},
  {Text::kVerifyHint, "Loki toistetaan alusta ja jokainen asiakirja lasketaan uudelleen.",
                      "Loggen spelas upp från början och varje dokument räknas om.",
                      "The log is replayed from the start and every document recomputed."},
  {Text::kDocument, "Asiakirja", "Dokument", "Document"},
  {Text::kEventsReplayed, "Toistetut tapahtumat", "Uppspelade händelser", "Events replayed"},
  {Text::kLiveState, "Palvelimen tila", "Serverns tillstånd", "The server's state"},
  {Text::kOk, "kunnossa", "i ordning", "OK"},
  {Text::kDiffers, "eroaa", "avviker", "differs"},
  {Text::kNoQuarters, "Ei laskutettuja neljänneksiä.", "Inga fakturerade kvartal.", "No quarters billed yet."},
  {Text::kNotFound, "Ei löydy niistä, jotka saat nähdä.", "Finns inte bland det du får se.",
                    "Not found among what you may see."},
  {Text::kForbidden, "Roolisi ei salli tätä sivua.", "Din roll tillåter inte denna sida.",
                     "Your role may not see this page."},
  {Text::kCsrfFailed, "Lomake on vanhentunut tai se ei tullut tästä portaalista. Lataa sivu uudelleen ja yritä uudestaan.",
                      "Formuläret har gått ut eller kom inte från denna portal. Ladda om sidan och försök igen.",
                      "The form has expired or did not come from this portal. Reload the page and try again."},
  {Text::kBadRequest, "Virheellinen pyyntö", "Felaktig begäran", "Bad request"},
  {Text::kIntakeNothing, "Asiointipisteen järjestelmä kirjaa tapahtumat rajapinnan kautta (POST /v1/events); portaalissa ei ole sille sivuja.",
                         "Ett kundtjänstsystem registrerar händelser via gränssnittet (POST /v1/events); portalen har inga sidor för det.",
                         "A front-desk system posts events through the API (POST /v1/events); the portal has no pages for it."},
  {Text::kBack, "Takaisin", "Tillbaka", "Back"},
};
// clang-format on

constexpr bool RowsInOrder() {
  for (size_t i = 0; i < std::size(kTexts); ++i) {
    if (static_cast<size_t>(kTexts[i].text) != i) return false;
  }
  return true;
}
static_assert(std::size(kTexts) == static_cast<size_t>(Text::kCount), "every Text has one row");
static_assert(RowsInOrder(), "the rows are in the order of Text");

}  // namespace

std::string_view LangCode(Lang lang) {
  switch (lang) {
    case Lang::kFi: return "fi";
    case Lang::kSv: return "sv";
    case Lang::kEn: return "en";
  }
  return "fi";
}

std::optional<Lang> ParseLang(std::string_view code) {
  if (code == "fi") return Lang::kFi;
  if (code == "sv") return Lang::kSv;
  if (code == "en") return Lang::kEn;
  return std::nullopt;
}

Lang LangOfAcceptLanguage(std::string_view header) {
  std::optional<Lang> best;
  double best_q = 0;
  int items = 0;
  for (std::string_view item : Split(header, ',')) {
    if (++items > 32) break;  // a bound on what a client may make us parse
    std::vector<std::string_view> parts = Split(item, ';');
    std::string tag = absl::AsciiStrToLower(std::string(Trim(parts[0])));
    if (size_t dash = tag.find('-'); dash != std::string::npos) tag.resize(dash);
    double q = 1;
    for (size_t i = 1; i < parts.size(); ++i) {
      std::string_view param = Trim(parts[i]);
      if (param.starts_with("q=") && !absl::SimpleAtod(std::string(param.substr(2)), &q)) q = 0;
    }
    auto lang = ParseLang(tag);
    if (lang && q > best_q) {
      best = lang;
      best_q = q;
    }
  }
  return best.value_or(Lang::kFi);
}

std::string_view T(Text text, Lang lang) {
  const Row& row = kTexts[static_cast<size_t>(text)];
  switch (lang) {
    case Lang::kFi: return row.fi;
    case Lang::kSv: return row.sv;
    case Lang::kEn: return row.en;
  }
  return row.en;
}

}  // namespace tori::server
