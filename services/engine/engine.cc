// ComputeBilling: one quarter, point by point, pool by pool, tranche by tranche.
#include <algorithm>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/numeric/int128.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "events/base/check.h"
#include "events/base/decimal.h"
#include "services/engine/engine.h"
#include "services/engine/internal/validate.h"

namespace tori::engine {
namespace {

using InvoiceKey = std::pair<std::string, std::string>;  // (issuer, recipient)

// Money sums across pools and points can in principle leave int64; say so, never wrap.
absl::Status AddCents(int64_t add_cents, int64_t* sum_cents, const std::string& what) {
  if (__builtin_add_overflow(*sum_cents, add_cents, sum_cents)) {
    return absl::OutOfRangeError(absl::StrCat(what, ": sum of cents overflows int64"));
  }
  return absl::OkStatus();
}

std::string Money(int64_t cents) { return FormatDecimal(cents, kMoneyScale); }
std::string Pct(int64_t pct_e4) { return FormatDecimal(pct_e4, kPctScale) + " %"; }
// absl::StrCat of this Abseil takes no std::string_view.
std::string Name(Key key) { return std::string(KeyName(key)); }

// Bills one service point into the shared result. Parties are kept sorted by agency_id
// bytewise: that order is the split order the SPEC prescribes.
class PointBilling {
 public:
  PointBilling(const ServicePointInput& point, Quarter quarter, BillingResult* result,
               std::map<InvoiceKey, Invoice>* invoices)
      : point_(point), quarter_(quarter), result_(*result), invoices_(*invoices) {
    if (point_.agreement.has_value()) {
      parties_ = point_.agreement->parties;
      std::sort(parties_.begin(), parties_.end());
    }
  }

  absl::Status Bill() {
    if (point_.agreement.has_value()) {
      WarnNonParties();
      for (const std::string& party : parties_) {
        if (party != point_.host_agency_id) InvoiceTo(party);
      }
    }
    for (const auto& [pool, amount_cents] : point_.pool_amounts_cents) {
      result_.pools.push_back({point_.service_point_id, pool, amount_cents});
      TORI_RETURN_IF_ERROR(BillPool(pool, amount_cents));
    }
    if (point_.agreement.has_value()) return ClaimSubsidies();
    return absl::OkStatus();
  }

 private:
  const Agreement& agreement() const { return *point_.agreement; }
  std::string AgreementName() const {
    return absl::StrCat(agreement().agreement_id, " version ", agreement().version);
  }
  // `details`: what the message names besides the point (Warning's fields).
  void Warn(WarningCode code, std::string message, Warning details = {}) {
    details.code = code;
    details.message = absl::StrCat("service point ", point_.service_point_id, ": ", message);
    details.service_point_id = point_.service_point_id;
    result_.warnings.push_back(std::move(details));
  }
  Invoice& InvoiceTo(const std::string& recipient) {
    Invoice& invoice = invoices_[{point_.host_agency_id, recipient}];
    if (invoice.invoice_id.empty()) {
      invoice.invoice_id =
          absl::StrCat(QuarterName(quarter_), "-", point_.host_agency_id, "-", recipient);
      invoice.issuer_agency_id = point_.host_agency_id;
      invoice.recipient_agency_id = recipient;
      invoice.quarter = quarter_;
    }
    return invoice;
  }

  void WarnNonParties() {
    for (const auto& [agency_id, keys] : point_.key_values) {
      if (std::binary_search(parties_.begin(), parties_.end(), agency_id)) continue;
      if (keys == MeasuredKeys{}) continue;
      Warn(WarningCode::kNonPartyExcluded,
           absl::StrCat("agency ", agency_id, " is not a party of agreement ", AgreementName(),
                        "; its ", keys.contacts,
                        " contacts and other key values are excluded from every key"),
           {.agency_id = agency_id,
            .agreement_id = agreement().agreement_id,
            .agreement_version = agreement().version,
            .contacts = keys.contacts});
    }
  }

  absl::Status BillPool(const std::string& pool, int64_t amount_cents) {
    if (!point_.agreement.has_value()) {
      Warn(WarningCode::kNoAgreement,
           absl::StrCat("no agreement in effect on ",
                        absl::FormatCivilTime(quarter_.FirstDay()), "; pool ", pool, " (",
                        Money(amount_cents), ") is borne by the host ",
                        point_.host_agency_id),
           {.pool = pool,
            .agency_id = point_.host_agency_id,
            .amount_cents = amount_cents,
            .date = quarter_.FirstDay()});
      return HostBearsPool(pool, amount_cents);
    }
    const auto rule = agreement().pools.find(pool);
    if (rule == agreement().pools.end()) {
      Warn(WarningCode::kPoolNotInAgreement,
           absl::StrCat("pool ", pool, " (", Money(amount_cents), ") is not in agreement ",
                        AgreementName(), "; borne by the host ", point_.host_agency_id),
           {.pool = pool,
            .agency_id = point_.host_agency_id,
            .agreement_id = agreement().agreement_id,
            .agreement_version = agreement().version,
            .amount_cents = amount_cents});
      return HostBearsPool(pool, amount_cents);
    }
    return SplitPool(pool, amount_cents, rule->second);
  }

  absl::Status HostBearsPool(const std::string& pool, int64_t amount_cents) {
    share_cents_[{point_.host_agency_id, pool}] = amount_cents;
    result_.host_shares.push_back(
        {point_.host_agency_id, point_.service_point_id, pool, amount_cents});
    return absl::OkStatus();
  }

  absl::Status SplitPool(const std::string& pool, int64_t amount_cents, const PoolRule& rule) {
    std::vector<int64_t> tranche_weights_pct_e4;
    for (const Tranche& tranche : rule.tranches) {
      tranche_weights_pct_e4.push_back(tranche.weight_pct_e4);
    }
    TORI_ASSIGN_OR_RETURN(const std::vector<int64_t> tranche_amounts_cents,
                          SplitLargestRemainder(amount_cents, tranche_weights_pct_e4));
    int64_t host_cents = 0;
    absl::int128 invoiced_cents = 0;  // what the written lines carry, for conservation
    for (size_t t = 0; t < rule.tranches.size(); ++t) {
      TORI_ASSIGN_OR_RETURN(
          const std::vector<int64_t> shares_cents,
          SplitTranche(pool, rule, t, tranche_amounts_cents[t], &invoiced_cents));
      for (size_t i = 0; i < parties_.size(); ++i) {
        // Shares of one pool carry the pool's sign and sum to it: no overflow here.
        share_cents_[{parties_[i], pool}] += shares_cents[i];
        if (parties_[i] == point_.host_agency_id) host_cents += shares_cents[i];
      }
    }
    // Conservation, on the output itself: invoice lines plus host share = pool.
    TORI_CHECK(invoiced_cents + host_cents == amount_cents);
    result_.host_shares.push_back(
        {point_.host_agency_id, point_.service_point_id, pool, host_cents});
    return absl::OkStatus();
  }

  // The key's value for every party, in party order, and their sum.
  absl::StatusOr<std::pair<std::vector<int64_t>, int64_t>> KeyValues(Key key) const {
    std::vector<int64_t> values;
    int64_t total = 0;
    for (const std::string& party : parties_) {
      values.push_back(KeyValue(key, party));
      if (__builtin_add_overflow(total, values.back(), &total)) {
        return absl::OutOfRangeError(absl::StrCat("service point ", point_.service_point_id,
                                                  ": key ", Name(key),
                                                  " sums beyond int64 over the parties"));
      }
    }
    return std::make_pair(std::move(values), total);
  }

  int64_t KeyValue(Key key, const std::string& party) const {
    if (key == Key::kEqual) return 1;
    if (key == Key::kFixedShares) {
      const auto share = agreement().fixed_shares_pct_e4.find(party);
      return share == agreement().fixed_shares_pct_e4.end() ? 0 : share->second;
    }
    const auto found = point_.key_values.find(party);
    if (found == point_.key_values.end()) return 0;
    const MeasuredKeys& keys = found->second;
    switch (key) {
      case Key::kContacts: return keys.contacts;
      case Key::kAdvisorContacts: return keys.advisor_contacts;
      case Key::kAdvisorTime: return keys.advisor_time_s;
      case Key::kWeightedContacts: return keys.weighted_contacts_e4;
      case Key::kDedicatedArea: return keys.dedicated_area_centi_m2_days;
      case Key::kBookedMinutes: return keys.booked_minutes;
      case Key::kVideoTime: return keys.video_time_s;
      case Key::kInterpretationMinutes: return keys.interpretation_minutes;
      case Key::kStops: return keys.stops;
      case Key::kStopMinutes: return keys.stop_minutes;
      case Key::kDeliveries: return keys.deliveries;
      case Key::kReferralsReceived: return keys.referrals_received;
      case Key::kFixedShares:
      case Key::kEqual: break;
    }
    TORI_CHECK(false);  // handled above
    return 0;
  }

  // Splits one tranche over the parties, writes the invoice lines (adding their cents
  // to `invoiced_cents`), returns every party's share.
  absl::StatusOr<std::vector<int64_t>> SplitTranche(const std::string& pool,
                                                    const PoolRule& rule, size_t index,
                                                    int64_t tranche_cents,
                                                    absl::int128* invoiced_cents) {
    const Tranche& tranche = rule.tranches[index];
    Key key = tranche.key;
    std::optional<Key> fallback_from;
    TORI_ASSIGN_OR_RETURN(auto basis, KeyValues(key));
    if (basis.second == 0) {
      const std::string where =
          absl::StrCat("pool ", pool, ", tranche ", index + 1, " (", Name(tranche.key), " ",
                       Pct(tranche.weight_pct_e4), "): ", Name(tranche.key));
      const Warning fallback_details{.pool = pool,
                                     .tranche = index + 1,
                                     .weight_pct_e4 = tranche.weight_pct_e4,
                                     .key = tranche.key,
                                     .fallback_key = rule.fallback_key};
      fallback_from = key;
      key = rule.fallback_key;
      TORI_ASSIGN_OR_RETURN(basis, KeyValues(key));
      if (basis.second == 0) {
        // Documented choice: when even the fallback is all zero, every party pays alike.
        key = Key::kEqual;
        TORI_ASSIGN_OR_RETURN(basis, KeyValues(key));
        Warn(WarningCode::kFallbackKeyZero,
             absl::StrCat(where, " and the fallback key ", Name(rule.fallback_key),
                          " both sum to 0 over the parties; split equally"),
             fallback_details);
      } else {
        Warn(WarningCode::kFallbackKeyUsed,
             absl::StrCat(where, " sums to 0 over the parties; fallback key ", Name(key),
                          " used"),
             fallback_details);
      }
    }
    const auto& [values, total] = basis;
    TORI_ASSIGN_OR_RETURN(std::vector<int64_t> shares_cents,
                          SplitLargestRemainder(tranche_cents, values));
    for (size_t i = 0; i < parties_.size(); ++i) {
      if (parties_[i] == point_.host_agency_id) continue;
      if (shares_cents[i] == 0 && values[i] == 0) continue;  // SPEC: zero lines need a basis
      InvoiceTo(parties_[i])
          .lines.push_back({point_.service_point_id, pool, key, fallback_from,
                            tranche.weight_pct_e4, values[i], total, shares_cents[i],
                            std::nullopt});
      *invoiced_cents += shares_cents[i];
    }
    return shares_cents;
  }

  absl::Status ClaimSubsidies() {
    std::map<std::pair<std::string, std::string>, int64_t> claimed_cents;  // (program, claimant)
    for (const SubsidyClaimedThisYear& claimed : point_.subsidy_claimed_this_year) {
      TORI_RETURN_IF_ERROR(
          AddCents(claimed.amount_cents,
                   &claimed_cents[{claimed.program_id, claimed.claimant_agency_id}],
                   absl::StrCat("service point ", point_.service_point_id,
                                ": subsidy claimed this year")));
    }
    for (const SubsidyRule& rule : agreement().subsidies) {
      const std::string what = absl::StrCat("service point ", point_.service_point_id,
                                            ": subsidy ", rule.program_id);
      int64_t basis_cents = 0;
      for (const std::string& pool : rule.pools) {
        int64_t part_cents = 0;
        if (rule.basis == SubsidyBasis::kPoolTotal) {
          const auto amount = point_.pool_amounts_cents.find(pool);
          if (amount != point_.pool_amounts_cents.end()) part_cents = amount->second;
        } else {
          const auto share = share_cents_.find({rule.claimant_agency_id, pool});
          if (share != share_cents_.end()) part_cents = share->second;
        }
        TORI_RETURN_IF_ERROR(AddCents(part_cents, &basis_cents, what));
      }
      TORI_ASSIGN_OR_RETURN(const int64_t uncapped_cents,
                            SubsidyAmountCents(basis_cents, rule.rate_pct_e4));
      int64_t& claimed = claimed_cents[{rule.program_id, rule.claimant_agency_id}];
      const int64_t amount_cents = CapSubsidyCents(uncapped_cents, rule.annual_cap_cents, claimed);
      if (amount_cents != uncapped_cents) {
        // A claim cut to the cap looks like an error on paper unless it says so.
        Warning& warning = result_.warnings.emplace_back(Warning{
            WarningCode::kAnnualCapApplied,
             absl::StrCat("service point ", point_.service_point_id, ": subsidy ", rule.program_id,
                          " of ", rule.claimant_agency_id, " is ",
                          FormatDecimal(uncapped_cents, kMoneyScale), " EUR (",
                          FormatDecimal(rule.rate_pct_e4, 4), " % of ",
                          FormatDecimal(basis_cents, kMoneyScale), "), claimed ",
                          FormatDecimal(amount_cents, kMoneyScale),
                          " EUR: the annual cap of ", FormatDecimal(*rule.annual_cap_cents, kMoneyScale),
                          " EUR applied (", FormatDecimal(claimed, kMoneyScale),
                          " EUR already claimed in ", quarter_.year, "), cut by ",
                          FormatDecimal(uncapped_cents - amount_cents, kMoneyScale), " EUR")});
        warning.service_point_id = point_.service_point_id;
        warning.agency_id = rule.claimant_agency_id;
        warning.amount_cents = amount_cents;
        warning.program_id = rule.program_id;
        warning.uncapped_cents = uncapped_cents;
        warning.cap_cents = *rule.annual_cap_cents;
        warning.claimed_before_cents = claimed;
      }
      // A second rule of the same program and claimant meets the cap already used.
      TORI_RETURN_IF_ERROR(AddCents(amount_cents, &claimed, what));
      result_.subsidy_claims.push_back({rule.claimant_agency_id, rule.program_id,
                                        point_.service_point_id, quarter_, basis_cents,
                                        amount_cents, std::nullopt});
    }
    return absl::OkStatus();
  }

  const ServicePointInput& point_;
  const Quarter quarter_;
  BillingResult& result_;
  std::map<InvoiceKey, Invoice>& invoices_;
  std::vector<std::string> parties_;  // sorted bytewise
  std::map<std::pair<std::string, std::string>, int64_t> share_cents_;  // (agency, pool)
};

}  // namespace

absl::StatusOr<BillingResult> ComputeBilling(const BillingInput& input) {
  TORI_RETURN_IF_ERROR(internal::ValidateBillingInput(input));
  std::vector<const ServicePointInput*> points;
  for (const ServicePointInput& point : input.service_points) points.push_back(&point);
  std::sort(points.begin(), points.end(), [](const auto* left, const auto* right) {
    return left->service_point_id < right->service_point_id;
  });

  BillingResult result;
  result.quarter = input.quarter;
  std::map<InvoiceKey, Invoice> invoices;
  for (const ServicePointInput* point : points) {
    TORI_RETURN_IF_ERROR(PointBilling(*point, input.quarter, &result, &invoices).Bill());
  }

  std::set<std::string> invoice_ids;
  for (auto& [key, invoice] : invoices) {
    for (const InvoiceLine& line : invoice.lines) {
      TORI_RETURN_IF_ERROR(AddCents(line.amount_cents, &invoice.total_cents,
                                    absl::StrCat("invoice ", invoice.invoice_id)));
    }
    if (!invoice_ids.insert(invoice.invoice_id).second) {
      // Ids are "{quarter}-{issuer}-{recipient}"; hyphens inside agency ids can collide.
      return absl::FailedPreconditionError(
          absl::StrCat("invoice id ", invoice.invoice_id, " would name two invoices"));
    }
    result.invoices.push_back(std::move(invoice));
  }
  // pools come out in (point, pool) order already; host shares are regrouped by agency.
  std::stable_sort(result.host_shares.begin(), result.host_shares.end(),
                   [](const HostShare& left, const HostShare& right) {
                     return std::tie(left.agency_id, left.service_point_id, left.pool) <
                            std::tie(right.agency_id, right.service_point_id, right.pool);
                   });
  return result;
}

}  // namespace tori::engine
