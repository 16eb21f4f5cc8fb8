#include "services/engine/internal/validate.h"

#include <set>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "events/base/check.h"
#include "services/engine/engine.h"

namespace tori::engine::internal {
namespace {

absl::Status Invalid(const ServicePointInput& point, const std::string& field,
                     const std::string& rule) {
  return absl::InvalidArgumentError(
      absl::StrCat("service point ", point.service_point_id, ": ", field, ": ", rule));
}

absl::Status ValidateKeyValues(const ServicePointInput& point) {
  for (const auto& [agency_id, keys] : point.key_values) {
    if (agency_id.empty()) return Invalid(point, "key_values", "empty agency_id");
    if (keys.contacts < 0 || keys.advisor_contacts < 0 || keys.advisor_time_s < 0 ||
        keys.weighted_contacts_e4 < 0 || keys.dedicated_area_centi_m2_days < 0 ||
        keys.booked_minutes < 0) {
      return Invalid(point, absl::StrCat("key_values[", agency_id, "]"),
                     "key values must be >= 0");
    }
  }
  return absl::OkStatus();
}

absl::Status ValidatePools(const ServicePointInput& point, const Agreement& agreement) {
  for (const auto& [pool, rule] : agreement.pools) {
    const std::string field = absl::StrCat("agreement pools[", pool, "]");
    if (pool.empty()) return Invalid(point, "agreement pools", "empty pool name");
    if (rule.tranches.empty() || rule.tranches.size() > kTranchesPerPoolMax) {
      return Invalid(point, field,
                     absl::StrCat("needs 1..", kTranchesPerPoolMax, " tranches, has ",
                                  rule.tranches.size()));
    }
    int64_t weight_total_pct_e4 = 0;
    for (const Tranche& tranche : rule.tranches) {
      // Each weight is checked against 100 % first, so the sum cannot overflow.
      if (tranche.weight_pct_e4 < 0 || tranche.weight_pct_e4 > kWholePctE4) {
        return Invalid(point, field, "tranche weight_pct must lie in 0..100");
      }
      weight_total_pct_e4 += tranche.weight_pct_e4;
    }
    if (weight_total_pct_e4 != kWholePctE4) {
      return Invalid(point, field,
                     absl::StrCat("tranche weights sum to ", weight_total_pct_e4,
                                  " pct_e4, must be 100 % (", kWholePctE4, ")"));
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateSubsidies(const ServicePointInput& point, const Agreement& agreement) {
  for (size_t i = 0; i < agreement.subsidies.size(); ++i) {
    const SubsidyRule& rule = agreement.subsidies[i];
    const std::string field = absl::StrCat("agreement subsidies[", i, "]");
    if (rule.program_id.empty() || rule.claimant_agency_id.empty()) {
      return Invalid(point, field, "program_id and claimant_agency_id are required");
    }
    if (rule.rate_pct_e4 < 0) return Invalid(point, field, "rate_pct must be >= 0");
    if (rule.annual_cap_cents.has_value() && *rule.annual_cap_cents < 0) {
      return Invalid(point, field, "annual_cap must be >= 0");
    }
    if (rule.pools.empty()) return Invalid(point, field, "names no pools");
    const std::set<std::string> unique_pools(rule.pools.begin(), rule.pools.end());
    if (unique_pools.size() != rule.pools.size()) {
      return Invalid(point, field, "names a pool twice");
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateAgreement(const ServicePointInput& point) {
  if (!point.agreement.has_value()) return absl::OkStatus();
  const Agreement& agreement = *point.agreement;
  if (agreement.service_point_id != point.service_point_id) {
    return Invalid(point, "agreement",
                   absl::StrCat("agreement ", agreement.agreement_id, " belongs to point ",
                                agreement.service_point_id));
  }
  if (agreement.parties.empty() || agreement.parties.size() > kPartiesPerAgreementMax) {
    return Invalid(point, "agreement parties",
                   absl::StrCat("needs 1..", kPartiesPerAgreementMax, " parties, has ",
                                agreement.parties.size()));
  }
  const std::set<std::string> unique_parties(agreement.parties.begin(),
                                             agreement.parties.end());
  if (unique_parties.size() != agreement.parties.size() || unique_parties.count("") > 0) {
    return Invalid(point, "agreement parties", "agency ids must be non-empty and unique");
  }
  for (const auto& [agency_id, share_pct_e4] : agreement.fixed_shares_pct_e4) {
    if (share_pct_e4 < 0) {
      return Invalid(point, absl::StrCat("agreement fixed_shares[", agency_id, "]"),
                     "must be >= 0");
    }
  }
  TORI_RETURN_IF_ERROR(ValidatePools(point, agreement));
  return ValidateSubsidies(point, agreement);
}

}  // namespace

absl::Status ValidateBillingInput(const BillingInput& input) {
  if (input.quarter.quarter_of_year < 1 || input.quarter.quarter_of_year > 4) {
    return absl::InvalidArgumentError(absl::StrCat(
        "billing input: quarter_of_year is ", input.quarter.quarter_of_year, ", must be 1..4"));
  }
  std::set<std::string> point_ids;
  for (const ServicePointInput& point : input.service_points) {
    if (point.service_point_id.empty() || point.host_agency_id.empty()) {
      return absl::InvalidArgumentError(
          "billing input: service_point_id and host_agency_id are required");
    }
    if (!point_ids.insert(point.service_point_id).second) {
      return Invalid(point, "service_point_id", "appears twice in the billing input");
    }
    for (const auto& [pool, amount_cents] : point.pool_amounts_cents) {
      if (pool.empty()) return Invalid(point, "pool_amounts", "empty pool name");
    }
    TORI_RETURN_IF_ERROR(ValidateKeyValues(point));
    TORI_RETURN_IF_ERROR(ValidateAgreement(point));
  }
  return absl::OkStatus();
}

}  // namespace tori::engine::internal
