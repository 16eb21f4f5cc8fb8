// Inputs shared by the engine's tests: the golden point and small builders. Tests only.
#ifndef TORI_SERVICES_ENGINE_TEST_FIXTURES_H_
#define TORI_SERVICES_ENGINE_TEST_FIXTURES_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/time/civil_time.h"
#include "services/engine/engine.h"

namespace tori::engine::fixtures {

inline constexpr int64_t kWholePctE4 = 100 * 10'000;

inline PoolRule OneTranche(Key key, Key fallback_key = Key::kEqual) {
  return PoolRule{{Tranche{kWholePctE4, key}}, fallback_key};
}

inline Agreement MakeAgreement(std::string service_point_id, std::vector<std::string> parties,
                               std::map<std::string, PoolRule> pools) {
  Agreement agreement;
  agreement.agreement_id = "yps-" + service_point_id;
  agreement.version = 1;
  agreement.service_point_id = std::move(service_point_id);
  agreement.effective_from = absl::CivilDay(2025, 1, 1);
  agreement.parties = std::move(parties);
  agreement.pools = std::move(pools);
  return agreement;
}

// The golden point: host espoo with parties kela and vero (listed unsorted on purpose),
// two pools, and espoo's subsidy of 50 % of its own share. Expected cents are worked by
// hand in engine_test.cc.
inline ServicePointInput GoldenPoint() {
  ServicePointInput point;
  point.service_point_id = "iso-omena";
  point.host_agency_id = "espoo";
  Agreement agreement = MakeAgreement(
      "iso-omena", {"vero", "espoo", "kela"},
      {{"premises",
        PoolRule{{Tranche{60'0000, Key::kDedicatedArea}, Tranche{40'0000, Key::kEqual}},
                 Key::kEqual}},
       {"shared_staff", OneTranche(Key::kAdvisorTime, Key::kContacts)}});
  agreement.subsidies.push_back(SubsidyRule{"yps-state-aid", "espoo", 50'0000,
                                            SubsidyBasis::kClaimantShare,
                                            {"premises", "shared_staff"}, std::nullopt});
  point.agreement = std::move(agreement);
  point.pool_amounts_cents = {{"premises", 10000001}, {"shared_staff", 500000}};
  // dedicated_area: 300, 200 and 100 m2 over the 90 days of 2026Q1, in centi-m2 days.
  point.key_values["espoo"] = MeasuredKeys{.contacts = 10,
                                           .advisor_contacts = 10,
                                           .advisor_time_s = 3000,
                                           .dedicated_area_centi_m2_days = 2'700'000};
  point.key_values["kela"] = MeasuredKeys{.contacts = 20,
                                          .advisor_contacts = 15,
                                          .advisor_time_s = 4000,
                                          .dedicated_area_centi_m2_days = 1'800'000};
  point.key_values["vero"] = MeasuredKeys{.contacts = 5,
                                          .dedicated_area_centi_m2_days = 900'000};
  return point;
}

inline BillingInput GoldenInput(Quarter quarter) {
  return BillingInput{quarter, {GoldenPoint()}};
}

}  // namespace tori::engine::fixtures

#endif  // TORI_SERVICES_ENGINE_TEST_FIXTURES_H_
