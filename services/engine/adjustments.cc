// Prior-period adjustments (SPEC section 4): issued documents never change; what a
// recomputation of an earlier quarter finds different goes onto the current quarter.
#include <algorithm>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/numeric/int128.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/types/span.h"
#include "events/base/check.h"
#include "services/engine/engine.h"

namespace tori::engine {
namespace {

// What identifies a line across recomputations: (issuer, recipient, point, pool, key,
// weight_pct_e4). Two tranches of one pool with the same key and weight add up.
using LineKey =
    std::tuple<std::string, std::string, std::string, std::string, Key, int64_t>;
// (claimant, program, point)
using ClaimKey = std::tuple<std::string, std::string, std::string>;

struct LineSums {
  absl::int128 issued_cents = 0;
  absl::int128 recomputed_cents = 0;
  std::optional<InvoiceLine> recomputed;  // the first recomputed line, for its basis
  // An issued line's predecessor (succession.h), for a line that is gone.
  std::optional<std::string> issued_predecessor_agency_id;
  std::optional<std::string> issued_predecessor_host_agency_id;  // the same for the host
};

struct ClaimSums {
  absl::int128 issued_basis_cents = 0;
  absl::int128 issued_cents = 0;
  absl::int128 recomputed_basis_cents = 0;
  absl::int128 recomputed_cents = 0;
};

LineKey KeyOf(const Invoice& invoice, const InvoiceLine& line) {
  return {invoice.issuer_agency_id, invoice.recipient_agency_id, line.service_point_id,
          line.pool, line.key, line.weight_pct_e4};
}

ClaimKey KeyOf(const SubsidyClaim& claim) {
  return {claim.claimant_agency_id, claim.program_id, claim.service_point_id};
}

// Whether a document line stands for quarter `earlier`: an original line of that
// quarter or an adjustment naming it.
bool CountsFor(Quarter earlier, Quarter document_quarter,
               const std::optional<Quarter>& adjusts_quarter) {
  return adjusts_quarter.has_value() ? *adjusts_quarter == earlier
                                     : document_quarter == earlier;
}

absl::StatusOr<int64_t> Difference(absl::int128 recomputed, absl::int128 issued,
                                   const std::string& what) {
  const absl::int128 difference = recomputed - issued;
  if (difference > std::numeric_limits<int64_t>::max() ||
      difference < std::numeric_limits<int64_t>::min()) {
    return absl::OutOfRangeError(absl::StrCat(what, ": adjustment does not fit int64 cents"));
  }
  return static_cast<int64_t>(difference);
}

bool AdjustmentLineBefore(const InvoiceLine& left, const InvoiceLine& right) {
  return std::tie(left.adjusts_quarter, left.service_point_id, left.pool, left.key,
                  left.weight_pct_e4) < std::tie(right.adjusts_quarter,
                                                 right.service_point_id, right.pool,
                                                 right.key, right.weight_pct_e4);
}

bool AdjustmentClaimBefore(const SubsidyClaim& left, const SubsidyClaim& right) {
  return std::tie(left.adjusts_quarter, left.service_point_id, left.program_id,
                  left.claimant_agency_id) < std::tie(right.adjusts_quarter,
                                                      right.service_point_id,
                                                      right.program_id,
                                                      right.claimant_agency_id);
}

absl::StatusOr<std::vector<Invoice>> AdjustInvoices(
    Quarter billed, const BillingResult& recomputed, absl::Span<const Invoice> issued_invoices) {
  const Quarter earlier = recomputed.quarter;
  std::map<LineKey, LineSums> sums;
  for (const Invoice& invoice : recomputed.invoices) {
    for (const InvoiceLine& line : invoice.lines) {
      if (line.adjusts_quarter.has_value()) {
        return absl::InvalidArgumentError(absl::StrCat(
            "recomputed result of ", QuarterName(earlier), ": invoice ", invoice.invoice_id,
            " holds an adjustment line; pass ComputeBilling's result unmerged"));
      }
      LineSums& line_sums = sums[KeyOf(invoice, line)];
      line_sums.recomputed_cents += line.amount_cents;
      if (!line_sums.recomputed.has_value()) line_sums.recomputed = line;
    }
  }
  for (const Invoice& invoice : issued_invoices) {
    for (const InvoiceLine& line : invoice.lines) {
      if (!CountsFor(earlier, invoice.quarter, line.adjusts_quarter)) continue;
      LineSums& line_sums = sums[KeyOf(invoice, line)];
      line_sums.issued_cents += line.amount_cents;
      if (!line_sums.issued_predecessor_agency_id) {
        line_sums.issued_predecessor_agency_id = line.predecessor_agency_id;
      }
      if (!line_sums.issued_predecessor_host_agency_id) {
        line_sums.issued_predecessor_host_agency_id = line.predecessor_host_agency_id;
      }
    }
  }

  std::map<std::pair<std::string, std::string>, Invoice> invoices;  // (issuer, recipient)
  for (const auto& [key, line_sums] : sums) {
    const auto& [issuer, recipient, point, pool, line_key, weight_pct_e4] = key;
    TORI_ASSIGN_OR_RETURN(
        const int64_t difference_cents,
        Difference(line_sums.recomputed_cents, line_sums.issued_cents,
                   absl::StrCat("invoice line ", point, "/", pool, " to ", recipient)));
    if (difference_cents == 0) continue;
    InvoiceLine line;
    if (line_sums.recomputed.has_value()) line = *line_sums.recomputed;
    line.service_point_id = point;
    line.pool = pool;
    line.key = line_key;
    line.weight_pct_e4 = weight_pct_e4;
    if (!line_sums.recomputed.has_value()) {  // the line is gone: no basis left
      line.basis_quantity = 0;
      line.basis_total = 0;
    }
    if (!line.predecessor_agency_id) line.predecessor_agency_id = line_sums.issued_predecessor_agency_id;
    if (!line.predecessor_host_agency_id) {
      line.predecessor_host_agency_id = line_sums.issued_predecessor_host_agency_id;
    }
    line.amount_cents = difference_cents;
    line.adjusts_quarter = earlier;
    TORI_ASSIGN_OR_RETURN(line.issued_cents, Difference(line_sums.issued_cents, 0, "issued line"));
    TORI_ASSIGN_OR_RETURN(line.recomputed_cents,
                          Difference(line_sums.recomputed_cents, 0, "recomputed line"));
    TORI_CHECK(*line.recomputed_cents - *line.issued_cents == line.amount_cents);
    Invoice& invoice = invoices[{issuer, recipient}];
    if (invoice.invoice_id.empty()) {
      invoice.invoice_id = absl::StrCat(QuarterName(billed), "-", issuer, "-", recipient);
      invoice.issuer_agency_id = issuer;
      invoice.recipient_agency_id = recipient;
      invoice.quarter = billed;
    }
    invoice.lines.push_back(std::move(line));
  }
  std::vector<Invoice> result;
  for (auto& [key, invoice] : invoices) {
    std::stable_sort(invoice.lines.begin(), invoice.lines.end(), AdjustmentLineBefore);
    absl::int128 total_cents = 0;
    for (const InvoiceLine& line : invoice.lines) total_cents += line.amount_cents;
    TORI_ASSIGN_OR_RETURN(
        invoice.total_cents,
        Difference(total_cents, 0, absl::StrCat("invoice ", invoice.invoice_id)));
    result.push_back(std::move(invoice));
  }
  return result;
}

absl::StatusOr<std::vector<SubsidyClaim>> AdjustClaims(
    Quarter billed, const BillingResult& recomputed,
    absl::Span<const SubsidyClaim> issued_claims) {
  const Quarter earlier = recomputed.quarter;
  std::map<ClaimKey, ClaimSums> sums;
  for (const SubsidyClaim& claim : recomputed.subsidy_claims) {
    if (claim.adjusts_quarter.has_value()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "recomputed result of ", QuarterName(earlier),
          " holds an adjustment claim; pass ComputeBilling's result unmerged"));
    }
    ClaimSums& claim_sums = sums[KeyOf(claim)];
    claim_sums.recomputed_basis_cents += claim.basis_cents;
    claim_sums.recomputed_cents += claim.amount_cents;
  }
  for (const SubsidyClaim& claim : issued_claims) {
    if (!CountsFor(earlier, claim.quarter, claim.adjusts_quarter)) continue;
    ClaimSums& claim_sums = sums[KeyOf(claim)];
    claim_sums.issued_basis_cents += claim.basis_cents;
    claim_sums.issued_cents += claim.amount_cents;
  }
  std::vector<SubsidyClaim> result;
  for (const auto& [key, claim_sums] : sums) {
    const auto& [claimant, program, point] = key;
    const std::string what = absl::StrCat("subsidy ", program, " of ", claimant, " at ", point);
    TORI_ASSIGN_OR_RETURN(const int64_t basis_cents,
                          Difference(claim_sums.recomputed_basis_cents,
                                     claim_sums.issued_basis_cents, what));
    TORI_ASSIGN_OR_RETURN(
        const int64_t amount_cents,
        Difference(claim_sums.recomputed_cents, claim_sums.issued_cents, what));
    if (basis_cents == 0 && amount_cents == 0) continue;
    result.push_back({claimant, program, point, billed, basis_cents, amount_cents, earlier});
  }
  std::stable_sort(result.begin(), result.end(), AdjustmentClaimBefore);
  return result;
}

bool AdjustmentHostShareBefore(const HostShare& left, const HostShare& right) {
  return std::tie(left.adjusts_quarter, left.agency_id, left.service_point_id, left.pool) <
         std::tie(right.adjusts_quarter, right.agency_id, right.service_point_id, right.pool);
}

absl::StatusOr<std::vector<HostShare>> AdjustHostShares(
    const BillingResult& recomputed, absl::Span<const IssuedHostShares> issued_host_shares) {
  const Quarter earlier = recomputed.quarter;
  const bool reported = std::any_of(issued_host_shares.begin(), issued_host_shares.end(),
                                    [&](const IssuedHostShares& run) { return run.quarter == earlier; });
  if (!reported) return std::vector<HostShare>{};
  using HostKey = std::tuple<std::string, std::string, std::string>;  // (host, point, pool)
  std::map<HostKey, std::pair<absl::int128, absl::int128>> sums;  // (issued, recomputed)
  for (const HostShare& share : recomputed.host_shares) {
    if (share.adjusts_quarter.has_value()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "recomputed result of ", QuarterName(earlier),
          " holds an adjustment host share; pass ComputeBilling's result unmerged"));
    }
    sums[{share.agency_id, share.service_point_id, share.pool}].second += share.amount_cents;
  }
  for (const IssuedHostShares& run : issued_host_shares) {
    for (const HostShare& share : run.shares) {
      if (!CountsFor(earlier, run.quarter, share.adjusts_quarter)) continue;
      sums[{share.agency_id, share.service_point_id, share.pool}].first += share.amount_cents;
    }
  }
  std::vector<HostShare> result;
  for (const auto& [key, issued_and_recomputed] : sums) {
    const auto& [host, point, pool] = key;
    TORI_ASSIGN_OR_RETURN(
        const int64_t difference_cents,
        Difference(issued_and_recomputed.second, issued_and_recomputed.first,
                   absl::StrCat("host share ", point, "/", pool, " of ", host)));
    if (difference_cents == 0) continue;
    result.push_back({host, point, pool, difference_cents, earlier});
  }
  return result;
}

}  // namespace

absl::StatusOr<Adjustments> ComputeAdjustments(
    Quarter billed, const BillingResult& recomputed, absl::Span<const Invoice> issued_invoices,
    absl::Span<const SubsidyClaim> issued_claims,
    absl::Span<const IssuedHostShares> issued_host_shares) {
  if (!(recomputed.quarter < billed)) {
    return absl::InvalidArgumentError(
        absl::StrCat("adjustments on ", QuarterName(billed),
                     " can only name an earlier quarter, not ", QuarterName(recomputed.quarter)));
  }
  Adjustments adjustments;
  adjustments.billed = billed;
  TORI_ASSIGN_OR_RETURN(adjustments.invoices,
                        AdjustInvoices(billed, recomputed, issued_invoices));
  TORI_ASSIGN_OR_RETURN(adjustments.subsidy_claims,
                        AdjustClaims(billed, recomputed, issued_claims));
  TORI_ASSIGN_OR_RETURN(adjustments.host_shares, AdjustHostShares(recomputed, issued_host_shares));
  return adjustments;
}

absl::Status MergeAdjustments(const Adjustments& adjustments, BillingResult* result) {
  if (adjustments.billed != result->quarter) {
    return absl::InvalidArgumentError(
        absl::StrCat("adjustments for ", QuarterName(adjustments.billed),
                     " cannot go onto the result of ", QuarterName(result->quarter)));
  }
  for (const Invoice& adjustment : adjustments.invoices) {
    const auto same_parties = [&](const Invoice& candidate) {
      return candidate.issuer_agency_id == adjustment.issuer_agency_id &&
             candidate.recipient_agency_id == adjustment.recipient_agency_id;
    };
    auto invoice = std::find_if(result->invoices.begin(), result->invoices.end(), same_parties);
    if (invoice == result->invoices.end()) {
      Invoice created = adjustment;
      created.lines.clear();
      created.total_cents = 0;
      result->invoices.push_back(std::move(created));
      invoice = result->invoices.end() - 1;
    }
    invoice->lines.insert(invoice->lines.end(), adjustment.lines.begin(),
                          adjustment.lines.end());
    // Lines of the quarter itself stay first and in their order; adjustments follow.
    const auto first_adjustment =
        std::stable_partition(invoice->lines.begin(), invoice->lines.end(),
                              [](const InvoiceLine& line) { return !line.adjusts_quarter; });
    std::stable_sort(first_adjustment, invoice->lines.end(), AdjustmentLineBefore);
    absl::int128 total_cents = 0;
    for (const InvoiceLine& line : invoice->lines) total_cents += line.amount_cents;
    TORI_ASSIGN_OR_RETURN(
        invoice->total_cents,
        Difference(total_cents, 0, absl::StrCat("invoice ", invoice->invoice_id)));
  }
  std::stable_sort(result->invoices.begin(), result->invoices.end(),
                   [](const Invoice& left, const Invoice& right) {
                     return std::tie(left.issuer_agency_id, left.recipient_agency_id) <
                            std::tie(right.issuer_agency_id, right.recipient_agency_id);
                   });
  result->subsidy_claims.insert(result->subsidy_claims.end(),
                                adjustments.subsidy_claims.begin(),
                                adjustments.subsidy_claims.end());
  const auto first_adjustment = std::stable_partition(
      result->subsidy_claims.begin(), result->subsidy_claims.end(),
      [](const SubsidyClaim& claim) { return !claim.adjusts_quarter; });
  std::stable_sort(first_adjustment, result->subsidy_claims.end(), AdjustmentClaimBefore);
  result->host_shares.insert(result->host_shares.end(), adjustments.host_shares.begin(),
                             adjustments.host_shares.end());
  const auto first_host_adjustment = std::stable_partition(
      result->host_shares.begin(), result->host_shares.end(),
      [](const HostShare& share) { return !share.adjusts_quarter; });
  std::stable_sort(first_host_adjustment, result->host_shares.end(), AdjustmentHostShareBefore);
  return absl::OkStatus();
}

}  // namespace tori::engine
