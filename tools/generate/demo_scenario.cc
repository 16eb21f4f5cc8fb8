// The `tori demo` scenario (see demo_scenario.h): fixed tables of agencies, points,
// agreements and costs, and seeded contacts, corrections, voids and room bookings.
// Every event is collected with its instant, sorted into time order and only then
// given its event id, so the file reads like the log of a real quarter.
#include "tools/generate/demo_scenario.h"

#include <tuple>
#include <algorithm>
#include <array>
#include <span>
#include <string>
#include <vector>

#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "events/base/calendar.h"
#include "events/base/check.h"
#include "events/base/decimal.h"
#include "events/base/json_text.h"
#include "fmt/format.h"
#include "tools/generate/random.h"

namespace tori {
namespace {

using Random = SplitMix64;

// ---- Reference data ----

struct AgencySpec {
  const char* id;
  const char* name;
  const char* kind;
  bool einvoice;  // has an OVT e-invoice address
};
constexpr AgencySpec kAgencies[] = {
    {"espoo", "Espoon kaupunki", "municipality", true},
    {"kela", "Kansaneläkelaitos", "kela", true},
    {"vero", "Verohallinto", "state", true},
    {"tyollisyys", "Espoon seudun työllisyysalue", "municipality", true},
    {"poliisi", "Länsi-Uudenmaan poliisilaitos, lupapalvelut", "state", false},
    {"dvv", "Digi- ja väestötietovirasto", "state", true},
    {"lansi-uusimaa", "Länsi-Uudenmaan hyvinvointialue", "wellbeing_county", true},
    {"migri", "Maahanmuuttovirasto", "state", false},
};
enum AgencyIndex { kEspoo, kKela, kVero, kTyollisyys, kPoliisi, kDvv, kLansiUusimaa, kMigri };
constexpr int kAgencyCount = 8;
// The company partner (kind company, VAT): a party of the service bus only.
constexpr char kPosti[] = "posti";

// A Y-tunnus with a valid check digit: the first valid one from `base` upwards (a base
// whose weighted sum leaves remainder 1 has no check digit). Synthetic, not looked up.
std::string BusinessIdFrom(int base) {
  static constexpr int kWeights[7] = {7, 9, 10, 5, 8, 4, 2};
  for (int b = base;; ++b) {  // bounded: one base in any two consecutive ones is valid
    const std::string digits = fmt::format("{:07d}", b);
    int sum = 0;
    for (int i = 0; i < 7; ++i) sum += (digits[i] - '0') * kWeights[i];
    const int r = sum % 11;
    if (r != 1) return fmt::format("{}-{}", digits, r == 0 ? 0 : 11 - r);
  }
}

struct ServiceSpec {
  const char* code;
  int weight;
  int duration_s_min, duration_s_max;
};
// What each agency's customers come for, how often, and how long it takes.
constexpr ServiceSpec kEspooServices[] = {
    {"ESPOO-NEUVONTA", 30, 120, 600},      {"ESPOO-ASUMINEN", 8, 300, 1200},
    {"ESPOO-PYSAKOINTI", 8, 180, 600},     {"ESPOO-VARHAISKASVATUS", 10, 300, 1200},
    {"KIRJASTO-ASIAKKUUS", 22, 60, 300},   {"KIRJASTO-DIGITUKI", 12, 600, 1800},
    {"NUORISO-OHJAAMO", 10, 600, 2400}};
constexpr ServiceSpec kKelaServices[] = {
    {"KELA-ASUMISTUKI", 28, 300, 1200}, {"KELA-TOIMEENTULOTUKI", 22, 480, 1500},
    {"KELA-TYOTTOMYYSTURVA", 18, 300, 1200}, {"KELA-LAPSIPERHE", 14, 240, 900},
    {"KELA-ELAKE", 10, 300, 1200},      {"KELA-KORTTI", 8, 120, 420}};
constexpr ServiceSpec kVeroServices[] = {
    {"VERO-VEROKORTTI", 40, 180, 720}, {"VERO-OMAVERO", 30, 300, 1200},
    {"VERO-MAKSUT", 15, 240, 900},     {"VERO-ULKOMAA", 15, 600, 1800}};
constexpr ServiceSpec kTyollisyysServices[] = {
    {"TYO-ILMOITTAUTUMINEN", 35, 300, 1200}, {"TYO-TYONHAKU", 30, 900, 2700},
    {"TYO-KOTOUTUMINEN", 20, 1200, 3000},    {"TYO-YRITYSPALVELUT", 15, 900, 2400}};
constexpr ServiceSpec kPoliisiServices[] = {
    {"POL-PASSI", 45, 420, 1080}, {"POL-HENKILOKORTTI", 35, 420, 1080},
    {"POL-ASELUPA", 8, 900, 1800}, {"POL-NEUVONTA", 12, 120, 480}};
constexpr ServiceSpec kDvvServices[] = {
    {"DVV-REKISTEROINTI", 50, 600, 1500}, {"DVV-MUUTTOILMOITUS", 25, 180, 600},
    {"DVV-EDUNVALVONTA", 20, 1200, 2700}, {"DVV-VIHKIMINEN", 5, 1200, 2400}};
constexpr ServiceSpec kHvaServices[] = {
    {"HVA-SOSIAALINEUVONTA", 30, 600, 1800}, {"HVA-TERVEYSNEUVONTA", 25, 300, 1200},
    {"HVA-AJANVARAUS", 25, 120, 480},        {"HVA-IKAANTYNEET", 12, 600, 1800},
    {"HVA-VAMMAISPALVELUT", 8, 900, 2400}};
constexpr ServiceSpec kMigriServices[] = {{"MIGRI-OLESKELULUPA", 50, 900, 2100},
                                          {"MIGRI-KANSALAISUUS", 25, 900, 1800},
                                          {"MIGRI-NEUVONTA", 25, 300, 900}};

constexpr const char* kChannels[] = {"in_person", "video", "phone", "e_service_support",
                                     "mobile"};
enum ChannelIndex { kInPerson, kVideo, kPhone, kEServiceSupport, kMobile };

struct Profile {
  std::span<const ServiceSpec> services;
  std::array<int, 5> channel_weights;  // in kChannels order
  int shared_advisor_pct;              // of the contacts not by video
};
// Indexed by AgencyIndex. Video contacts go to the agency's own expert; shared
// advisors handle most city, Kela and tax matters, police and employment staff their own.
const Profile kProfiles[kAgencyCount] = {
    {kEspooServices, {70, 2, 10, 14, 4}, 88},       {kKelaServices, {60, 15, 10, 15, 0}, 78},
    {kVeroServices, {66, 6, 10, 18, 0}, 72},        {kTyollisyysServices, {70, 10, 15, 5, 0}, 12},
    {kPoliisiServices, {96, 0, 0, 4, 0}, 5},        {kDvvServices, {70, 20, 0, 10, 0}, 45},
    {kHvaServices, {60, 10, 25, 5, 0}, 35},         {kMigriServices, {90, 10, 0, 0, 0}, 8}};

struct PointSpec {
  const char* id;
  const char* name;
  const char* prefix;  // of contact and cost ids
  int64_t total_area_centi_m2;
  int contacts_per_day;
  int open_hour, close_hour, close_hour_friday;
  std::array<int, kAgencyCount> agency_mix_e3;  // per mille, by AgencyIndex
};
constexpr PointSpec kIsoOmena = {
    "iso-omena", "Iso Omenan palvelutori", "io", 650'000, 520, 8, 18, 16, {300, 190, 110, 110, 90, 45, 120, 35}};
constexpr PointSpec kKalajarvi = {
    "kalajarvi", "Kalajärven palvelutori", "kj", 290'000, 128, 9, 16, 15, {500, 170, 0, 80, 0, 0, 250, 0}};

// Contacts by hour of the day: a late-morning peak and a post-lunch one.
constexpr int kHourWeights[24] = {0, 0, 0, 0, 0, 0, 0, 0, 7, 11, 14, 14,
                                  12, 13, 12, 10, 8, 6, 0, 0, 0, 0, 0, 0};
constexpr int kWeekdayPct[5] = {118, 104, 100, 96, 82};  // Mon..Fri
constexpr int kMonthPct[3] = {108, 97, 95};               // January: tax cards, benefits

// ---- Time: local Helsinki civil time (DemoBuilder::InstantOf gives its instant) ----

absl::CivilSecond At(absl::CivilDay day, int hour, int minute, int second = 0) {
  return absl::CivilSecond(day.year(), day.month(), day.day(), hour, minute, second);
}

const absl::CivilDay kQuarterFirst(2026, 1, 1);
const absl::CivilDay kQuarterEnd(2026, 4, 1);  // exclusive

// Opening days: Monday to Friday except the public holidays of the quarter.
bool IsOpen(absl::CivilDay day) {
  const absl::Weekday w = absl::GetWeekday(day);
  if (w == absl::Weekday::saturday || w == absl::Weekday::sunday) return false;
  return day != absl::CivilDay(2026, 1, 1) && day != absl::CivilDay(2026, 1, 6);
}

int WeekdayIndex(absl::CivilDay day) {  // Monday 0 .. Friday 4 (open days only)
  return static_cast<int>((absl::CivilDay(day) - absl::CivilDay(2026, 1, 5)) % 7 + 7) % 7;
}

// ---- Costs ----

struct CostSpec {
  const PointSpec* point;
  const char* pool;
  const char* slug;  // of the cost id
  const char* description;
  int day_of_month;
  std::array<int64_t, 3> amount_cents;  // Jan, Feb, Mar; 0: nothing posted that month
};
const CostSpec kCosts[] = {
    {&kIsoOmena, "premises", "vuokra", "Vuokra, Iso Omenan palvelutori 6500 m2", 2,
     {16'835'000, 16'835'000, 16'835'000}},
    {&kIsoOmena, "premises", "siivous", "Siivous ja jätehuolto", 12,
     {1'428'000, 1'428'000, 1'428'000}},
    {&kIsoOmena, "premises", "vartiointi", "Vartiointi ja aulapalvelu", 14,
     {694'000, 694'000, 694'000}},
    {&kIsoOmena, "premises", "sahko", "Sähkö ja kiinteistön käyttöpalvelut", 20,
     {491'247, 460'812, 427'590}},
    {&kIsoOmena, "shared_staff", "palkat", "Palveluneuvojien palkat sivukuluineen, 24 htv", 27,
     {9'784'620, 9'784'620, 9'911'255}},
    {&kIsoOmena, "shared_staff", "perehdytys",
     "Palveluneuvojien perehdytys: Kelan ja Verohallinnon tehtävät", 10, {0, 245'000, 0}},
    {&kIsoOmena, "equipment", "video", "Etäpalvelulaitteiden leasing, 8 videopistettä", 5,
     {438'000, 438'000, 438'000}},
    {&kIsoOmena, "equipment", "jonotus", "Ajanvaraus- ja jonotusjärjestelmä", 5,
     {221'500, 221'500, 221'500}},
    {&kIsoOmena, "equipment", "naytot", "Asiakasnäyttöjen uusiminen", 24, {0, 0, 786'000}},
    {&kKalajarvi, "premises", "vuokra", "Vuokra, Kalajärven palvelutori 2900 m2", 2,
     {5'497'000, 5'497'000, 5'497'000}},
    {&kKalajarvi, "premises", "siivous", "Siivous ja jätehuolto", 12,
     {612'000, 612'000, 612'000}},
    {&kKalajarvi, "premises", "sahko", "Sähkö ja lämpö", 20, {341'035, 318'860, 276'015}},
    {&kKalajarvi, "shared_rooms", "salit", "Salien ja opetustilojen ylläpito ja siivous, 350 m2",
     12, {735'000, 735'000, 735'000}},
    {&kKalajarvi, "shared_rooms", "av", "Salien AV-tekniikka ja varausjärjestelmä", 6,
     {124'000, 124'000, 124'000}},
    {&kKalajarvi, "shared_rooms", "kalusteet", "Kokoontumistilan kalusteet", 17, {0, 398'000, 0}},
    // Not a pool of Kalajärvi's agreement: billing reports it as borne by the host.
    {&kKalajarvi, "mobile_service", "palvelubussi", "Palvelubussin käynnit Kalajärvellä", 26,
     {0, 276'000, 0}},
};

// ---- Room bookings at Kalajärvi ----

constexpr const char* kRooms[] = {"ruskasali", "opetustila-1", "opetustila-2"};
struct Slot {
  int hour, minute, minutes_min, minutes_max;
};
constexpr Slot kSlots[] = {{8, 30, 45, 105}, {10, 30, 45, 135}, {13, 0, 45, 105},
                           {15, 0, 60, 150}, {17, 30, 60, 150}};
// Who books the halls in the daytime (by AgencyIndex); evenings are mostly residents'
// events booked by the city.
constexpr int kBookingMix[kAgencyCount] = {50, 10, 0, 12, 0, 0, 28, 0};

// ---- The builder ----

constexpr size_t kEventsMax = 100'000;  // the scenario writes about 41,000

class DemoBuilder {
 public:
  // `helsinki`: HelsinkiTimeZone() of events/base/calendar.h.
  DemoBuilder(uint64_t seed, absl::TimeZone helsinki) : helsinki_(helsinki), rng_(seed) {}

  void AddAgenciesAndPoints();
  absl::Status AddSpaces();
  void AddAgreements();
  void AddCosts();
  void AddContacts();
  void AddRoomBookings();
  // SPEC section 9: Kalajärvi's halls registered, the city's service bus on a route,
  // interpretation and referrals at Iso Omena, budgets; from a random stream of their
  // own, so the scenario's other events are what they were.
  void AddSection9(uint64_t seed);
  absl::Status Write(const std::function<void(std::string_view line)>& write_line);

 private:
  struct Pending {
    int64_t unix_s;
    uint64_t sequence;  // creation order: ties keep it
    const char* type;
    absl::CivilSecond at;
    std::string fields;  // the event's own fields: "\"a\":1,\"b\":\"x\""
  };

  // The instant of Helsinki wall-clock time `t`. The scenario's times are business
  // hours and fixed office times, never in the hour a DST change skips or repeats.
  absl::Time InstantOf(absl::CivilSecond t) const {
    const absl::TimeZone::TimeInfo info = helsinki_.At(t);
    TORI_CHECK(info.kind == absl::TimeZone::TimeInfo::UNIQUE);
    return info.pre;
  }
  // "2026-01-05T12:00:00+02:00": the wall-clock time with its offset.
  std::string Instant(absl::CivilSecond t) const {
    return absl::FormatTime("%Y-%m-%dT%H:%M:%S%Ez", InstantOf(t), helsinki_);
  }
  int64_t UnixSeconds(absl::CivilSecond t) const { return absl::ToUnixSeconds(InstantOf(t)); }

  // Queues an event; `fill` writes its own fields (the envelope comes in Write()).
  void Add(const char* type, absl::CivilSecond at,
           const std::function<void(JsonObjectWriter&)>& fill) {
    std::string object;
    JsonObjectWriter w(object);
    fill(w);
    w.Close();
    pending_.push_back({UnixSeconds(at), pending_.size(), type, at,
                        object.substr(1, object.size() - 2)});
  }
  absl::Status AddSpace(const PointSpec& point, absl::CivilSecond at, const char* effective_from,
                        std::span<const std::pair<int, int64_t>> areas,
                        int64_t shared_centi_m2);
  void AddContactsOfDay(const PointSpec& point, absl::CivilDay day);
  void AddContact(const PointSpec& point, absl::CivilSecond at, const std::string& contact_id,
                  int agency, bool pop_up);
  const ServiceSpec& PickService(int agency, absl::CivilDay day);

  absl::TimeZone helsinki_;
  Random rng_;
  std::vector<Pending> pending_;
  struct ContactSeen {
    std::string id;
    int agency;
    absl::CivilSecond at;
  };
  std::vector<ContactSeen> iso_omena_contacts_;  // for referrals and interpretation
  int booking_count_ = 0;
};

absl::Status DemoBuilder::AddSpace(const PointSpec& point, absl::CivilSecond at,
                                   const char* effective_from,
                                   std::span<const std::pair<int, int64_t>> areas,
                                   int64_t shared_centi_m2) {
  std::string allocations = "[";
  int64_t used_centi_m2 = shared_centi_m2;
  for (const auto& [agency, area_centi_m2] : areas) {
    if (allocations.size() > 1) allocations += ",";
    JsonObjectWriter a(allocations);
    a.String("agency_id", kAgencies[agency].id)
        .String("area_m2", FormatDecimal(area_centi_m2, kAreaScale));
    a.Close();
    used_centi_m2 += area_centi_m2;
  }
  allocations += "]";
  if (used_centi_m2 > point.total_area_centi_m2) {
    return absl::InternalError(fmt::format("demo space of '{}' exceeds its total area", point.id));
  }
  Add("space_allocated", at, [&](JsonObjectWriter& w) {
    w.String("service_point_id", point.id).String("effective_from", effective_from)
        .Raw("allocations", allocations)
        .String("shared_area_m2", FormatDecimal(shared_centi_m2, kAreaScale));
  });
  return absl::OkStatus();
}

void DemoBuilder::AddAgenciesAndPoints() {
  const absl::CivilDay registered(2025, 11, 17);
  for (int i = 0; i < kAgencyCount; ++i) {
    const AgencySpec& a = kAgencies[i];
    const std::string business_id = BusinessIdFrom(3'614'201 + 1'013 * i);
    Add("agency_registered", At(registered, 9, i), [&](JsonObjectWriter& w) {
      w.String("agency_id", a.id).String("name", a.name).String("kind", a.kind)
          .String("business_id", business_id);
      // OVT: 0037 + the business id's eight digits.
      if (a.einvoice) {
        w.String("einvoice_address", "0037" + business_id.substr(0, 7) + business_id.substr(8));
      }
      // The host's bank account, for its Finvoice invoices: the example account of the
      // Finnish IBAN guidance, demo data and no real account.
      if (i == kEspoo) w.String("iban", "FI2112345600000785").String("bic", "NDEAFIHH");
    });
  }
  // SPEC section 8: a partner that is a company (schema version 3 of agency_registered):
  // the post, on the service bus's route. Not in kAgencies: it is no party at the
  // service squares, and the seeded contacts and referrals stay as they were.
  {
    const std::string business_id = BusinessIdFrom(3'614'201 + 1'013 * kAgencyCount);
    Add("agency_registered", At(registered, 9, kAgencyCount), [&](JsonObjectWriter& w) {
      w.String("agency_id", kPosti).String("name", "Posti Oy").String("kind", "company")
          .String("business_id", business_id)
          .String("einvoice_address", "0037" + business_id.substr(0, 7) + business_id.substr(8));
    });
  }
  for (const PointSpec* p : {&kIsoOmena, &kKalajarvi}) {
    Add("service_point_opened", At(registered, 10, p == &kIsoOmena ? 0 : 5),
        [&](JsonObjectWriter& w) {
          w.String("service_point_id", p->id).String("name", p->name)
              .String("municipality", "Espoo").String("host_agency_id", "espoo")
              .String("total_area_m2", FormatDecimal(p->total_area_centi_m2, kAreaScale));
        });
  }
}

absl::Status DemoBuilder::AddSpaces() {
  // Dedicated space; the rest is the shared lobby (and Kalajärvi's 350 m2 of halls).
  const std::pair<int, int64_t> iso_omena[] = {
      {kEspoo, 235'000}, {kKela, 52'000},         {kVero, 31'000}, {kTyollisyys, 64'000},
      {kPoliisi, 26'000}, {kDvv, 12'000}, {kLansiUusimaa, 148'000}, {kMigri, 9'000}};
  std::pair<int, int64_t> iso_omena_march[std::size(iso_omena)];
  std::copy(std::begin(iso_omena), std::end(iso_omena), iso_omena_march);
  iso_omena_march[kTyollisyys].second -= 4'000;  // 40 m2 to DVV's guardianship desk
  iso_omena_march[kDvv].second += 4'000;
  const std::pair<int, int64_t> kalajarvi[] = {
      {kEspoo, 142'000}, {kKela, 14'000}, {kTyollisyys, 9'500}, {kLansiUusimaa, 62'000}};
  const absl::CivilDay allocated(2025, 11, 20);
  for (const auto& status :
       {AddSpace(kIsoOmena, At(allocated, 10, 0), "2025-12-01", iso_omena, 70'000),
        AddSpace(kKalajarvi, At(allocated, 10, 5), "2025-12-01", kalajarvi, 35'000),
        AddSpace(kIsoOmena, At(absl::CivilDay(2026, 2, 20), 10, 0), "2026-03-01",
                 iso_omena_march, 70'000)}) {
    if (!status.ok()) return status;
  }
  return absl::OkStatus();
}

void DemoBuilder::AddAgreements() {
  const char* const kIsoOmenaAgreement =
      R"({"agreement_id":"iso-omena-yhteispalvelu","version":1,"service_point_id":"iso-omena",)"
      R"("effective_from":"2025-12-01",)"
      R"("parties":["espoo","dvv","kela","lansi-uusimaa","migri","poliisi","tyollisyys","vero"],)"
      R"("pools":{"premises":{"tranches":[{"weight_pct":"70","key":"dedicated_area"},)"
      R"({"weight_pct":"30","key":"contacts"}]},)"
      R"("shared_staff":{"tranches":[{"weight_pct":"80","key":"advisor_time"},)"
      R"({"weight_pct":"20","key":"weighted_contacts"}],"fallback_key":"contacts"},)"
      R"("equipment":{"tranches":[{"weight_pct":"40","key":"equal"},)"
      R"({"weight_pct":"60","key":"weighted_contacts"}]}},)"
      R"("service_weights":{"KELA-TOIMEENTULOTUKI":"1.5","KELA-TYOTTOMYYSTURVA":"1.3",)"
      R"("VERO-ULKOMAA":"1.4","DVV-REKISTEROINTI":"1.5","DVV-EDUNVALVONTA":"1.8",)"
      R"("MIGRI-OLESKELULUPA":"1.6","TYO-KOTOUTUMINEN":"1.4","ESPOO-NEUVONTA":"0.8",)"
      R"("KIRJASTO-ASIAKKUUS":"0.5"},)"
      R"("subsidies":[{"program_id":"vm-yhteispalvelu","claimant_agency_id":"espoo",)"
      R"("rate_pct":"50","basis":"claimant_share","pools":["premises","shared_staff"],)"
      R"("annual_cap":"600000.00"}]})";
  const char* const kKalajarviSubsidy =
      R"("subsidies":[{"program_id":"vm-yhteispalvelu","claimant_agency_id":"espoo",)"
      R"("rate_pct":"50","basis":"pool_total","pools":["shared_rooms"],)"
      R"("annual_cap":"12000.00"}])";
  const std::string kalajarvi_v1 =
      std::string(R"({"agreement_id":"kalajarvi-palvelutori","version":1,)"
                  R"("service_point_id":"kalajarvi","effective_from":"2025-12-01",)"
                  R"("parties":["espoo","kela","lansi-uusimaa"],)"
                  R"("pools":{"premises":{"tranches":[{"weight_pct":"100","key":"dedicated_area"}]},)"
                  R"("shared_rooms":{"tranches":[{"weight_pct":"100","key":"booked_minutes"}],)"
                  R"("fallback_key":"equal"}},)") +
      kKalajarviSubsidy + "}";
  // Version 2, same effective_from: the employment services joined before the start.
  const std::string kalajarvi_v2 =
      std::string(R"({"agreement_id":"kalajarvi-palvelutori","version":2,)"
                  R"("service_point_id":"kalajarvi","effective_from":"2025-12-01",)"
                  R"("parties":["espoo","kela","lansi-uusimaa","tyollisyys"],)"
                  R"("pools":{"premises":{"tranches":[{"weight_pct":"85","key":"dedicated_area"},)"
                  R"({"weight_pct":"15","key":"contacts"}]},)"
                  R"("shared_rooms":{"tranches":[{"weight_pct":"70","key":"booked_minutes"},)"
                  R"({"weight_pct":"30","key":"fixed_shares"}],"fallback_key":"equal"}},)"
                  R"("fixed_shares":{"espoo":"55","lansi-uusimaa":"25","kela":"10",)"
                  R"("tyollisyys":"10"},)") +
      kKalajarviSubsidy + "}";
  auto add_agreement = [&](absl::CivilSecond at, std::string_view object) {
    pending_.push_back({UnixSeconds(at), pending_.size(), "agreement_signed", at,
                        std::string(object.substr(1, object.size() - 2))});
  };
  add_agreement(At(absl::CivilDay(2025, 11, 24), 14, 0), kIsoOmenaAgreement);
  add_agreement(At(absl::CivilDay(2025, 11, 24), 15, 0), kalajarvi_v1);
  add_agreement(At(absl::CivilDay(2025, 12, 16), 11, 0), kalajarvi_v2);
}

void DemoBuilder::AddCosts() {
  int document_number = 0;
  for (int m = 0; m < 3; ++m) {
    const absl::CivilMonth month(2026, 1 + m);
    const std::string period = absl::FormatCivilTime(month);
    for (size_t i = 0; i < std::size(kCosts); ++i) {
      const CostSpec& c = kCosts[i];
      if (c.amount_cents[m] == 0) continue;
      const absl::CivilSecond at =
          At(absl::CivilDay(month) + (c.day_of_month - 1), 10, static_cast<int>(i) * 3);
      const std::string document_ref = fmt::format("OL-{}-{:04d}", period, ++document_number);
      Add("cost_posted", at, [&](JsonObjectWriter& w) {
        w.String("cost_id", fmt::format("{}-{}-{}", c.point->prefix, period, c.slug))
            .String("service_point_id", c.point->id).String("pool", c.pool)
            .String("period", period)
            .String("amount", FormatDecimal(c.amount_cents[m], kMoneyScale))
            .String("description", c.description).String("document_ref", document_ref);
      });
    }
  }
  // A credit note: January's cleaning was billed twice for the lobby.
  Add("cost_posted", At(absl::CivilDay(2026, 3, 18), 13, 20), [](JsonObjectWriter& w) {
    w.String("cost_id", "io-2026-01-siivous-hyvitys").String("service_point_id", "iso-omena")
        .String("pool", "premises").String("period", "2026-01")
        .String("amount", FormatDecimal(-184'000, kMoneyScale))
        .String("description", "Hyvityslasku: tammikuun aulasiivous laskutettu kahdesti")
        .String("document_ref", "HYV-2026-0007");
  });
}

const ServiceSpec& DemoBuilder::PickService(int agency, absl::CivilDay day) {
  const Profile& profile = kProfiles[agency];
  // January is tax-card season: many extra tax-card errands.
  if (agency == kVero && day.month() == 1 && rng_.Percent(3'000)) return profile.services[0];
  std::array<int, 8> weights{};  // bounded: no agency has more than 8 services
  const size_t n = std::min(profile.services.size(), weights.size());
  for (size_t i = 0; i < n; ++i) weights[i] = profile.services[i].weight;
  return profile.services[rng_.Pick(std::span<const int>(weights.data(), n))];
}

void DemoBuilder::AddContact(const PointSpec& point, absl::CivilSecond at,
                             const std::string& contact_id, int agency, bool pop_up) {
  const Profile& profile = kProfiles[agency];
  if (&point == &kIsoOmena) iso_omena_contacts_.push_back({contact_id, agency, at});
  const ServiceSpec& service = PickService(agency, absl::CivilDay(at));
  size_t channel = pop_up ? size_t{kInPerson} : rng_.Pick(profile.channel_weights);
  if (channel == kMobile && &point != &kKalajarvi) channel = kInPerson;  // the bus visits Kalajärvi
  const bool shared_advisor =
      !pop_up && channel != kVideo && rng_.Percent(profile.shared_advisor_pct * 100);
  const int span = service.duration_s_max - service.duration_s_min + 1;
  int duration_s = service.duration_s_min + (rng_.Below(span) + rng_.Below(span)) / 2;
  if (channel == kVideo) duration_s = duration_s * 6 / 5;  // connecting the expert
  Add("contact_recorded", at, [&](JsonObjectWriter& w) {
    w.String("contact_id", contact_id).String("service_point_id", point.id)
        .String("agency_id", kAgencies[agency].id).String("service_code", service.code)
        .String("channel", kChannels[channel])
        .String("handled_by", shared_advisor ? "shared_advisor" : "agency_staff")
        .Int("duration_s", duration_s);
  });

  // About 1 % are corrected once and 0.5 % voided; never both, so no voided contact is
  // ever corrected or voided again.
  if (rng_.Percent(100)) {
    int new_agency = agency;
    for (int tries = 0; tries < 16 && new_agency == agency; ++tries) {
      new_agency = static_cast<int>(rng_.Pick(point.agency_mix_e3));
    }
    const absl::CivilSecond corrected_at = at + 60 * (3 + rng_.Below(178));
    if (new_agency != agency && rng_.Percent(5'000)) {
      const ServiceSpec& new_service = PickService(new_agency, absl::CivilDay(at));
      Add("contact_corrected", corrected_at, [&](JsonObjectWriter& w) {
        w.String("contact_id", contact_id)
            .Raw("changes", fmt::format(R"({{"agency_id":"{}","service_code":"{}"}})",
                                        kAgencies[new_agency].id, new_service.code))
            .String("reason", "Kirjattu väärälle virastolle");
      });
    } else {
      int new_duration_s = service.duration_s_min + rng_.Below(span);
      if (new_duration_s == duration_s) new_duration_s += 60;
      Add("contact_corrected", corrected_at, [&](JsonObjectWriter& w) {
        w.String("contact_id", contact_id)
            .Raw("changes", fmt::format(R"({{"duration_s":{}}})", new_duration_s))
            .String("reason", "Kesto korjattu: asiointi kirjattiin päättyneeksi myöhässä");
      });
    }
  } else if (rng_.Percent(50)) {
    static constexpr const char* kVoidReasons[] = {"Sama asiointi kirjattu kahdesti",
                                                   "Testikirjaus", "Asiakas poistui jonosta"};
    const char* reason = kVoidReasons[rng_.Below(3)];
    Add("contact_voided", at + 60 * (1 + rng_.Below(60)), [&](JsonObjectWriter& w) {
      w.String("contact_id", contact_id).String("reason", reason);
    });
  }
}

void DemoBuilder::AddContactsOfDay(const PointSpec& point, absl::CivilDay day) {
  const int weekday = WeekdayIndex(day);
  const int close_hour = weekday == 4 ? point.close_hour_friday : point.close_hour;
  const int spread = point.contacts_per_day / 12;
  const int count = point.contacts_per_day * kWeekdayPct[weekday] * kMonthPct[day.month() - 1] /
                        10'000 + rng_.Below(2 * spread + 1) - spread;
  const std::span<const int> hours(kHourWeights + point.open_hour, kHourWeights + close_hour);
  std::vector<absl::CivilSecond> times;
  for (int i = 0; i < count; ++i) {
    const int hour = point.open_hour + static_cast<int>(rng_.Pick(hours));
    times.push_back(At(day, hour, rng_.Below(60), rng_.Below(60)));
  }
  // Verohallinto's pop-up tax advice days at Kalajärvi: Tuesdays in February.
  const bool pop_up_day = &point == &kKalajarvi && day.month() == 2 && weekday == 1;
  const int pop_up_count = pop_up_day ? 8 + rng_.Below(7) : 0;
  std::vector<bool> pop_up(times.size(), false);
  for (int i = 0; i < pop_up_count; ++i) {
    times.push_back(At(day, 10 + rng_.Below(4), rng_.Below(60), rng_.Below(60)));
    pop_up.push_back(true);
  }
  // Ticket numbers run in time order within the day.
  std::vector<size_t> order(times.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return times[a] < times[b]; });
  for (size_t n = 0; n < order.size(); ++n) {
    const size_t i = order[n];
    const int agency = pop_up[i] ? kVero : static_cast<int>(rng_.Pick(point.agency_mix_e3));
    AddContact(point, times[i],
               fmt::format("{}-{}-{:04d}", point.prefix, absl::FormatCivilTime(day), n + 1),
               agency, pop_up[i]);
  }
}

void DemoBuilder::AddContacts() {
  for (absl::CivilDay day = kQuarterFirst; day < kQuarterEnd; ++day) {
    if (!IsOpen(day)) continue;
    AddContactsOfDay(kIsoOmena, day);
    AddContactsOfDay(kKalajarvi, day);
  }
}

void DemoBuilder::AddRoomBookings() {
  for (absl::CivilDay day = kQuarterFirst; day < kQuarterEnd; ++day) {
    if (!IsOpen(day)) continue;
    for (const char* room : kRooms) {
      for (const Slot& slot : kSlots) {
        if (!rng_.Percent(3'500)) continue;
        const absl::CivilSecond start = At(day, slot.hour, slot.minute);
        const int minutes =
            slot.minutes_min + 15 * rng_.Below((slot.minutes_max - slot.minutes_min) / 15 + 1);
        const int agency = slot.hour >= 17 && rng_.Percent(7'500)
                               ? static_cast<int>(kEspoo)
                               : static_cast<int>(rng_.Pick(kBookingMix));
        const absl::CivilSecond booked_at =
            At(day - (1 + rng_.Below(14)), 8 + rng_.Below(8), rng_.Below(60));
        const std::string booking_id = fmt::format("kj-varaus-{:04d}", ++booking_count_);
        Add("room_booked", booked_at, [&](JsonObjectWriter& w) {
          w.String("booking_id", booking_id).String("service_point_id", kKalajarvi.id)
              .String("room_id", room).String("agency_id", kAgencies[agency].id)
              .String("start", Instant(start)).String("end", Instant(start + 60 * minutes));
        });
      }
    }
  }
}

void DemoBuilder::AddSection9(uint64_t seed) {
  Random rng(seed ^ 0x5eed5eed5eed5eedull);
  const absl::CivilDay setup(2025, 12, 1);
  // Kalajärvi's halls ("often stand empty"): bookable on open days and Saturdays.
  int minute = 0;
  for (const char* room : kRooms) {
    Add("room_registered", At(setup, 9, minute++), [&](JsonObjectWriter& w) {
      w.String("room_id", room).String("service_point_id", kKalajarvi.id)
          .String("name", room).String("area_m2", room == kRooms[0] ? "180" : "85")
          .Raw("bookable_hours", R"({"mon":"08:00-21:00","tue":"08:00-21:00","wed":"08:00-21:00","thu":"08:00-21:00","fri":"08:00-18:00","sat":"10:00-16:00"})");
    });
  }
  // The city's service bus: Espoo hosts it; Kela, the wellbeing county and the library
  // (the city) serve from it; the post delivers parcels on its stops.
  const char* const bus = "espoon-palvelubussi";
  Add("service_point_opened", At(setup, 10, 0), [&](JsonObjectWriter& w) {
    w.String("service_point_id", bus).String("name", "Espoon palvelubussi")
        .String("municipality", "Espoo").String("host_agency_id", "espoo")
        .String("total_area_m2", "0").String("kind", "mobile");
  });
  Add("agreement_signed", At(setup, 10, 5), [&](JsonObjectWriter& w) {
    w.String("agreement_id", "palvelubussi-2026").Int("version", 1)
        .String("service_point_id", bus).String("effective_from", "2026-01-01")
        .Raw("parties", R"(["espoo","kela","lansi-uusimaa","posti"])")
        .Raw("pools", R"({"mobile_service":{"tranches":[{"weight_pct":"50","key":"stops"},{"weight_pct":"30","key":"stop_minutes"},{"weight_pct":"20","key":"deliveries"}],"fallback_key":"equal"}})");
  });
  // Budgets for 2026: the bus, and Iso Omena's premises.
  int b = 0;
  for (const auto& [agency, point, pool, amount] :
       std::initializer_list<std::tuple<const char*, const char*, const char*, const char*>>{
           {"espoo", bus, "mobile_service", "110000.00"},
           {"kela", bus, "mobile_service", "36000.00"},
           {"lansi-uusimaa", bus, "mobile_service", "30000.00"},
           {"kela", "iso-omena", "premises", "300000.00"},
           {"vero", "iso-omena", "premises", "150000.00"},
           {"tyollisyys", "iso-omena", "premises", "240000.00"}}) {
    Add("budget_set", At(setup, 11, b), [&](JsonObjectWriter& w) {
      w.String("budget_id", fmt::format("talousarvio-2026-{:02d}", ++b)).String("agency_id", agency)
          .String("service_point_id", point).String("pool", pool).Int("year", 2026)
          .String("amount", amount);
    });
  }
  // The bus's costs and stops: Tuesdays and Thursdays, four villages a day.
  for (int m = 1; m <= 3; ++m) {
    Add("cost_posted", At(absl::CivilDay(2026, m, 28), 12, 0), [&](JsonObjectWriter& w) {
      w.String("cost_id", fmt::format("bussi-2026-{:02d}", m)).String("service_point_id", bus)
          .String("pool", "mobile_service").String("period", fmt::format("2026-{:02d}", m))
          .String("amount", m == 1 ? "14250.00" : "13980.00")
          .String("description", "Palvelubussin leasing, polttoaine ja kuljettaja");
    });
  }
  const char* const kVillages[] = {"Kalajärvi", "Lahnus", "Nuuksio", "Röylä"};
  Random posti_rng(seed ^ 0x706f737469ull);  // "posti"
  int stop = 0;
  for (absl::CivilDay day = kQuarterFirst; day < kQuarterEnd; ++day) {
    const absl::Weekday weekday = absl::GetWeekday(day);
    if (weekday != absl::Weekday::tuesday && weekday != absl::Weekday::thursday) continue;
    for (int v = 0; v < 4; ++v) {
      const absl::CivilSecond arrived = At(day, 9 + 2 * v, 15);
      const std::string stop_id = fmt::format("bussi-pysakki-{:04d}", ++stop);
      for (const char* agency : {"espoo", "kela", "lansi-uusimaa"}) {
        if (std::string_view(agency) != "espoo" && !rng.Percent(6'000)) continue;
        Add("route_stop_recorded", arrived + 3600, [&](JsonObjectWriter& w) {
          w.String("stop_id", stop_id).String("service_point_id", bus).String("agency_id", agency)
              .String("place", kVillages[v]).String("arrived_at", Instant(arrived))
              .Int("minutes", 30 + 15 * static_cast<int64_t>(rng.Below(5)));
          if (std::string_view(agency) == "espoo") {
            w.Int("deliveries", static_cast<int64_t>(rng.Below(9)));  // library loans
          }
        });
      }
      // The post's parcel point on Thursdays, from a generator of its own so that the
      // other agencies' draws stay as they were.
      if (weekday == absl::Weekday::thursday) {
        Add("route_stop_recorded", arrived + 3600, [&](JsonObjectWriter& w) {
          w.String("stop_id", stop_id).String("service_point_id", bus).String("agency_id", kPosti)
              .String("place", kVillages[v]).String("arrived_at", Instant(arrived))
              .Int("minutes", 15).Int("deliveries", 4 + static_cast<int64_t>(posti_rng.Below(20)));
        });
      }
    }
  }
  // Iso Omena: interpretation for some contacts of Kela and Migri; referrals of the
  // common customer between agencies.
  int interpretation = 0, referral = 0;
  for (const ContactSeen& c : iso_omena_contacts_) {
    const std::string_view agency = kAgencies[c.agency].id;
    if ((agency == "kela" || agency == "migri") && rng.Percent(400)) {
      Add("interpretation_provided", c.at + 60, [&](JsonObjectWriter& w) {
        w.String("interpretation_id", fmt::format("tulkkaus-{:04d}", ++interpretation))
            .String("service_point_id", kIsoOmena.id).String("agency_id", agency)
            .String("contact_id", c.id).String("language", rng.Percent(5'000) ? "ar" : "so")
            .String("mode", rng.Percent(7'000) ? "remote" : "on_site")
            .Int("minutes", 10 + static_cast<int64_t>(rng.Below(40)));
      });
    }
    if (rng.Percent(150)) {
      int to = static_cast<int>(rng.Below(kAgencyCount - 1));
      if (to >= c.agency) ++to;
      Add("contact_referred", c.at + 120, [&](JsonObjectWriter& w) {
        w.String("referral_id", fmt::format("ohjaus-{:05d}", ++referral)).String("contact_id", c.id)
            .String("from_agency_id", agency).String("to_agency_id", kAgencies[to].id)
            .String("reason_code", rng.Percent(5'000) ? "TOIMEENTULO" : "TYONHAKU");
      });
    }
  }
}

absl::Status DemoBuilder::Write(const std::function<void(std::string_view line)>& write_line) {
  if (pending_.size() > kEventsMax) {
    return absl::InternalError(
        fmt::format("demo scenario made {} events, above its bound {}", pending_.size(), kEventsMax));
  }
  std::sort(pending_.begin(), pending_.end(), [](const Pending& a, const Pending& b) {
    return a.unix_s != b.unix_s ? a.unix_s < b.unix_s : a.sequence < b.sequence;
  });
  std::string line;
  for (size_t i = 0; i < pending_.size(); ++i) {
    const Pending& e = pending_[i];
    line.clear();
    JsonObjectWriter w(line);
    w.String("event_id", fmt::format("demo-{:06d}", i + 1)).String("type", e.type)
        .String("occurred_at", Instant(e.at));
    line += ',';
    line += e.fields;
    line += '}';
    write_line(line);
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status GenerateDemoEvents(uint64_t seed,
                                const std::function<void(std::string_view line)>& write_line) {
  TORI_ASSIGN_OR_RETURN(const absl::TimeZone helsinki, HelsinkiTimeZone());
  DemoBuilder builder(seed, helsinki);
  builder.AddAgenciesAndPoints();
  if (absl::Status status = builder.AddSpaces(); !status.ok()) return status;
  builder.AddAgreements();
  builder.AddCosts();
  builder.AddContacts();
  builder.AddRoomBookings();
  builder.AddSection9(seed);
  return builder.Write(write_line);
}

}  // namespace tori
