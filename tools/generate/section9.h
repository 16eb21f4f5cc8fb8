// The generator's events of SPEC section 9 (tools/generate/generator.h): a mobile
// route with route stops, video contacts (some corrected, some voided), interpretation
// and referrals, registered rooms at the office points, and budgets. They come after
// every other event of a run and draw from a random stream of their own, so the events
// of earlier versions stay byte for byte what they were.
#ifndef TORI_TOOLS_GENERATE_SECTION9_H_
#define TORI_TOOLS_GENERATE_SECTION9_H_

#include <algorithm>
#include <string>
#include <vector>

#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "events/base/calendar.h"
#include "events/base/decimal.h"
#include "events/base/json_text.h"
#include "fmt/format.h"
#include "tools/generate/generator.h"
#include "tools/generate/random.h"

namespace tori {

inline constexpr std::string_view kRouteAgreementPools =
    R"({"mobile_service":{"tranches":[{"weight_pct":"40","key":"stops"},{"weight_pct":"30","key":"stop_minutes"},{"weight_pct":"30","key":"deliveries"}],"fallback_key":"equal"},)"
    R"("remote_service":{"tranches":[{"weight_pct":"60","key":"video_time"},{"weight_pct":"40","key":"interpretation_minutes"}],"fallback_key":"equal"},)"
    R"("guidance":{"tranches":[{"weight_pct":"100","key":"referrals_received"}],"fallback_key":"equal"}})";

// `Point` has id, host, parties (sorted); `begin(type, at)` starts an event line and
// `emit(w)` ends and writes it.
template <typename Point, typename Begin, typename Emit>
void GenerateSection9(const GenerateOptions& options, const Quarter& quarter,
                      const std::vector<Point>& points, const std::string& route_host,
                      Begin& begin, Emit& emit) {
  const absl::TimeZone helsinki = *HelsinkiTimeZone();  // the caller loaded it
  SplitMix64 rng(options.seed ^ 0x9e3779b97f4a7c15ull);
  const absl::Time start = QuarterStart(quarter, helsinki);
  const int64_t quarter_s = absl::ToInt64Seconds(QuarterEnd(quarter, helsinki) - start);
  const absl::Time setup_at = start - absl::Hours(24 * 10);
  auto instant = [](absl::Time t) {
    return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", t, absl::UTCTimeZone());
  };
  auto random_at = [&] {
    return start + absl::Seconds(static_cast<int64_t>(rng.Below(static_cast<uint64_t>(quarter_s))));
  };
  const std::string route = "reitti-001";
  std::vector<std::string> parties = {route_host, "hva", "kela", "kirjasto"};
  std::sort(parties.begin(), parties.end());

  if (options.reference_data) {
    {
      auto w = begin("service_point_opened", setup_at);
      w.String("service_point_id", route).String("name", "Palvelubussi " + route)
          .String("municipality", route_host).String("host_agency_id", route_host)
          .String("total_area_m2", "0").String("kind", "mobile");
      emit(w);
    }
    std::string list = "[";
    for (size_t i = 0; i < parties.size(); ++i) {
      if (i > 0) list += ",";
      AppendJsonString(list, parties[i]);
    }
    list += "]";
    {
      auto w = begin("agreement_signed", setup_at);
      w.String("agreement_id", "sopimus-" + route).Int("version", 1)
          .String("service_point_id", route)
          .String("effective_from",
                  absl::FormatCivilTime(absl::CivilDay(absl::CivilYear(quarter.year))))
          .Raw("parties", list).Raw("pools", kRouteAgreementPools);
      emit(w);
    }
    // A hall at each office point (its bookings name "sali-1"), bookable on weekdays
    // and Saturday mornings.
    for (const Point& point : points) {
      auto w = begin("room_registered", setup_at);
      w.String("room_id", "sali-1").String("service_point_id", point.id)
          .String("name", "Monitoimisali")
          .String("area_m2", FormatDecimal(4000 + static_cast<int64_t>(rng.Below(4000)), kAreaScale))
          .Raw("bookable_hours",
               R"({"mon":"08:00-20:00","tue":"08:00-20:00","wed":"08:00-20:00","thu":"08:00-20:00","fri":"08:00-16:00","sat":"10:00-14:00"})");
      emit(w);
    }
    // Budgets of the year: each party of the route for each pool, and the first
    // office points' parties for premises; some too small, so OVER_BUDGET shows.
    int b = 0;
    auto budget = [&](const std::string& agency, const std::string& point, const char* pool) {
      auto w = begin("budget_set", setup_at);
      w.String("budget_id", fmt::format("talousarvio-{}-{}-{}", quarter.year, options.seed, ++b))
          .String("agency_id", agency).String("service_point_id", point).String("pool", pool)
          .Int("year", quarter.year)
          .String("amount", FormatDecimal(100'000 + static_cast<int64_t>(rng.Below(8'000'000)),
                                          kMoneyScale));
      emit(w);
    };
    for (const auto& agency : parties) {
      for (const char* pool : {"mobile_service", "remote_service", "guidance"}) {
        budget(agency, route, pool);
      }
    }
    for (size_t p = 0; p < points.size() && p < 3; ++p) {
      for (const auto& agency : points[p].parties) budget(agency, points[p].id, "premises");
    }
  }

  // The route's costs: each pool, each month.
  for (int m = 0; m < 3; ++m) {
    const absl::CivilMonth month = quarter.FirstMonth() + m;
    for (const char* pool : {"mobile_service", "remote_service", "guidance"}) {
      auto w = begin("cost_posted", absl::FromCivil(absl::CivilDay(month + 1) - 3, helsinki));
      w.String("cost_id", fmt::format("{}-{}-{}-{}", route, pool, absl::FormatCivilTime(month), options.seed))
          .String("service_point_id", route).String("pool", pool)
          .String("period", absl::FormatCivilTime(month))
          .String("amount", FormatDecimal(50'000 + static_cast<int64_t>(rng.Below(900'000)), kMoneyScale))
          .String("description", fmt::format("{} {}", pool, absl::FormatCivilTime(month)));
      emit(w);
    }
  }

  // Route stops: one event per agency served at a stop.
  const char* const kPlaces[] = {"Kalajärvi", "Lahnus", "Nuuksio", "Vanhakylä", "Röylä"};
  for (int s = 0; s < 30; ++s) {
    const absl::Time arrived = random_at();
    const std::string stop_id = fmt::format("{}-{}-{}-pysakki-{}", route, options.quarter, options.seed, s);
    const char* place = kPlaces[rng.Below(5)];
    for (const auto& agency : parties) {
      if (!rng.Percent(6000)) continue;
      auto w = begin("route_stop_recorded", arrived + absl::Hours(2));
      w.String("stop_id", stop_id).String("service_point_id", route).String("agency_id", agency)
          .String("place", place).String("arrived_at", instant(arrived))
          .Int("minutes", 10 + static_cast<int64_t>(rng.Below(80)));
      if (agency == "kirjasto" || rng.Percent(3000)) w.Int("deliveries", static_cast<int64_t>(rng.Below(12)));
      emit(w);
    }
  }

  // Contacts at the route, most over video, some corrected (channel, duration) or voided;
  // interpretations and referrals of them.
  const uint64_t contacts = 40 + options.contacts / 100;
  std::vector<std::string> ids;
  std::vector<std::string> agency_of;
  for (uint64_t c = 0; c < contacts; ++c) {
    const absl::Time at = random_at();
    const std::string id = fmt::format("{}-{}-{}-v{}", route, options.quarter, options.seed, c);
    const std::string& agency = parties[rng.Below(parties.size())];
    {
      auto w = begin("contact_recorded", at);
      w.String("contact_id", id).String("service_point_id", route).String("agency_id", agency)
          .String("service_code", "NEUVONTA").String("channel", rng.Percent(7000) ? "video" : "mobile")
          .String("handled_by", "agency_staff")
          .Int("duration_s", 120 + static_cast<int64_t>(rng.Below(2400)));
      emit(w);
    }
    if (c % 10 == 3) {
      auto w = begin("contact_corrected", at + absl::Minutes(10));
      w.String("contact_id", id)
          .Raw("changes", fmt::format(R"({{"channel":"{}","duration_s":{}}})",
                                      rng.Percent(5000) ? "video" : "mobile", 60 + rng.Below(900)))
          .String("reason", "kanava korjattu");
      emit(w);
    }
    if (rng.Percent(4000)) {
      auto w = begin("interpretation_provided", at + absl::Minutes(1));
      w.String("interpretation_id", id + "-tulkkaus").String("service_point_id", route)
          .String("agency_id", agency);
      if (rng.Percent(7000)) w.String("contact_id", id);
      w.String("language", rng.Percent(5000) ? "ar" : "so")
          .String("mode", rng.Percent(8000) ? "remote" : "on_site")
          .Int("minutes", 5 + static_cast<int64_t>(rng.Below(55)));
      emit(w);
    }
    if (rng.Percent(3500)) {
      std::string to = parties[rng.Below(parties.size())];
      if (to == agency) to = parties[(rng.Below(parties.size() - 1) + 1 + std::find(parties.begin(), parties.end(), agency) - parties.begin()) % parties.size()];
      auto w = begin("contact_referred", at + absl::Minutes(2));
      w.String("referral_id", id + "-ohjaus").String("contact_id", id)
          .String("from_agency_id", agency).String("to_agency_id", to)
          .String("reason_code", rng.Percent(5000) ? "ASUMINEN" : "TYOLLISYYS");
      emit(w);
    }
    if (c % 17 == 5) {  // voided after its referral: the referral no longer counts
      auto w = begin("contact_voided", at + absl::Minutes(3));
      w.String("contact_id", id).String("reason", "kirjattu vahingossa");
      emit(w);
    }
  }
}

}  // namespace tori

#endif  // TORI_TOOLS_GENERATE_SECTION9_H_
