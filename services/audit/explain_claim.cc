// tori explain of a subsidy claim: the rule, the pools behind the basis, the rate and
// the annual cap, from the log as it was when the claim was issued (issue #15.10).
#include <algorithm>

#include "events/base/check.h"
#include "events/base/decimal.h"
#include "fmt/format.h"
#include "services/audit/internal/explain.h"
#include "services/billing/billing.h"
#include "services/billing/internal/issued.h"

namespace tori::audit_internal {
namespace {

std::string Euros(int64_t cents) { return FormatDecimal(cents, kMoneyScale); }

// The claimant's share of `pool` at the point: its invoice line(s), or the host's share.
int64_t ClaimantShareCents(const engine::BillingResult& result, const std::string& point,
                           const std::string& pool, const std::string& claimant) {
  int64_t cents = 0;
  for (const auto& invoice : result.invoices) {
    if (invoice.recipient_agency_id != claimant) continue;
    for (const auto& line : invoice.lines) {
      if (line.service_point_id == point && line.pool == pool && !line.adjusts_quarter) cents += line.amount_cents;
    }
  }
  for (const auto& share : result.host_shares) {
    if (share.agency_id == claimant && share.service_point_id == point && share.pool == pool) {
      cents += share.amount_cents;
    }
  }
  return cents;
}

}  // namespace

absl::Status ExplainClaim(StateStore& scratch, const events::SubsidyClaimIssued& claim, std::string& out) {
  const std::string& point_id = claim.service_point_id();
  TORI_ASSIGN_OR_RETURN(engine::Quarter quarter,
                        engine::ParseQuarter(claim.has_adjusts_quarter() ? claim.adjusts_quarter() : claim.quarter()));
  if (claim.has_adjusts_quarter()) {
    out += fmt::format("  an adjustment: the claim for {} recomputed with the events known at {} minus what "
                       "was claimed for it before; the recomputed claim:\n",
                       claim.adjusts_quarter(), claim.as_of());
  }
  TORI_ASSIGN_OR_RETURN(engine::BillingInput input, LoadBillingInput(scratch, quarter));
  const auto point = std::find_if(input.service_points.begin(), input.service_points.end(),
                                  [&](const auto& sp) { return sp.service_point_id == point_id; });
  if (point == input.service_points.end() || !point->agreement) {
    out += "  the point has no agreement in effect any more: no subsidy rule\n";
    return absl::OkStatus();
  }
  const engine::Agreement& agreement = *point->agreement;
  const auto rule = std::find_if(agreement.subsidies.begin(), agreement.subsidies.end(), [&](const auto& r) {
    return r.program_id == claim.program_id() && r.claimant_agency_id == claim.claimant_agency_id();
  });
  if (rule == agreement.subsidies.end()) {
    out += fmt::format("  agreement {} version {} has no rule for {} claimed by {} any more\n",
                       agreement.agreement_id, agreement.version, claim.program_id(), claim.claimant_agency_id());
    return absl::OkStatus();
  }
  const bool claimant_share = rule->basis == engine::SubsidyBasis::kClaimantShare;
  out += fmt::format("  agreement {} version {} (effective from {}): program {}, claimant {}, rate {} % of {}{}\n",
                     agreement.agreement_id, agreement.version, absl::FormatCivilTime(agreement.effective_from),
                     rule->program_id, rule->claimant_agency_id, FormatDecimal(rule->rate_pct_e4, kPctScale),
                     claimant_share ? "the claimant's share of the pools" : "the pools' total",
                     rule->annual_cap_cents ? fmt::format(", annual cap {} EUR", Euros(*rule->annual_cap_cents)) : "");
  TORI_ASSIGN_OR_RETURN(engine::BillingResult result, engine::ComputeBilling(input));
  int64_t basis_cents = 0;
  out += fmt::format("  basis at {} in {}:\n", point_id, engine::QuarterName(quarter));
  for (const auto& pool : rule->pools) {
    const auto amount = point->pool_amounts_cents.find(pool);
    const int64_t pool_cents = amount == point->pool_amounts_cents.end() ? 0 : amount->second;
    if (claimant_share) {
      const int64_t share = ClaimantShareCents(result, point_id, pool, rule->claimant_agency_id);
      out += fmt::format("    pool {:<20} {:>14} EUR, {}'s share {:>14} EUR\n", pool, Euros(pool_cents),
                         rule->claimant_agency_id, Euros(share));
      basis_cents += share;
    } else {
      out += fmt::format("    pool {:<20} {:>14} EUR\n", pool, Euros(pool_cents));
      basis_cents += pool_cents;
    }
  }
  TORI_ASSIGN_OR_RETURN(int64_t amount_cents, engine::SubsidyAmountCents(basis_cents, rule->rate_pct_e4));
  out += fmt::format("  basis {} EUR x {} % = {} EUR (rounded half away from zero to the cent)\n", Euros(basis_cents),
                     FormatDecimal(rule->rate_pct_e4, kPctScale), Euros(amount_cents));
  int64_t recomputed_cents = amount_cents;
  if (rule->annual_cap_cents) {
    int64_t claimed_cents = 0;
    for (const auto& c : point->subsidy_claimed_this_year) {
      if (c.program_id == rule->program_id && c.claimant_agency_id == rule->claimant_agency_id) {
        claimed_cents += c.amount_cents;
      }
    }
    const int64_t capped = engine::CapSubsidyCents(amount_cents, rule->annual_cap_cents, claimed_cents);
    out += fmt::format("  annual cap {} EUR, claimed earlier in {}: {} EUR, room {} EUR -> {} EUR{}\n",
                       Euros(*rule->annual_cap_cents), quarter.year, Euros(claimed_cents),
                       Euros(*rule->annual_cap_cents - claimed_cents), Euros(capped),
                       capped != amount_cents ? fmt::format(" (the cap cut {} EUR)", Euros(amount_cents - capped)) : "");
    recomputed_cents = capped;
  }
  if (claim.has_adjusts_quarter()) {
    // What was claimed for that quarter before: its claim and the adjustments since.
    TORI_ASSIGN_OR_RETURN(auto issued, billing_internal::LoadIssued(scratch));
    int64_t claimed_cents = 0;
    for (const auto& e : issued.claim_events) {
      const bool same = e.service_point_id() == point_id && e.program_id() == claim.program_id() &&
                        e.claimant_agency_id() == claim.claimant_agency_id();
      const bool for_quarter = e.has_adjusts_quarter() ? e.adjusts_quarter() == claim.adjusts_quarter()
                                                       : e.quarter() == claim.adjusts_quarter();
      if (same && for_quarter) claimed_cents += e.amount_cents();
    }
    out += fmt::format("  recomputed {} EUR - claimed for {} before {} EUR = {} EUR, this adjustment\n",
                       Euros(recomputed_cents), claim.adjusts_quarter(), Euros(claimed_cents),
                       Euros(recomputed_cents - claimed_cents));
  }
  return absl::OkStatus();
}

}  // namespace tori::audit_internal
