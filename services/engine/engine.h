// tori's billing engine: from a snapshot of one quarter to pools, invoices, host shares,
// subsidy claims and warnings (SPEC sections 3 and 4).
//
// Model. The engine is a pure function: no I/O, no clock, no RocksDB, no files. The
// projector keeps each agency's key values per service point and quarter; billing's
// loader (services/billing/load.cc) reads them, selects the agreement in effect with
// SelectAgreement (below) and sums the cost pools into a BillingInput; the engine
// splits every pool over its tranches and every tranche over the agreement's parties by
// the largest-remainder rule (SplitLargestRemainder), the only place where cents are
// rounded. Money is int64 cents (`*_cents`), percentages are x10^4 (`*_pct_e4`), area is
// centi-m2. Invariant, asserted with TORI_CHECK: every split conserves its amount, so for
// each pool the invoice lines plus the host's share equal the pool amount.
//
// Determinism. The same input gives the same result, field for field: parties are
// sorted by agency_id bytewise, service points and pools by id, and the order of every
// output list is defined below. Nothing depends on hash order, time or locale.
//
// Errors. Malformed input (an agreement whose tranche weights do not sum to 100 %,
// negative key values, duplicate ids) is an absl::Status naming the point, the field
// and the rule; nothing is partially computed.
//
// Thread safety: every function is pure and keeps no state; call from any thread.
#ifndef TORI_SERVICES_ENGINE_ENGINE_H_
#define TORI_SERVICES_ENGINE_ENGINE_H_

#include <cstdint>
#include <array>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/numeric/int128.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/civil_time.h"
#include "absl/types/span.h"
#include "events/base/calendar.h"

namespace tori::engine {

// ---------------------------------------------------------------- vocabulary

// Quarters are the calendar's (events/base/calendar.h): a year and 1..4, written
// "2026Q1". The engine sees quarters and civil days only, never an instant or a zone.
using ::tori::ParseQuarter;
using ::tori::Quarter;
using ::tori::QuarterName;

// Allocation keys of SPEC section 3. The first six are measured by the projector; the
// last two follow from the agreement.
enum class Key {
  kContacts,          // number of contacts
  kAdvisorContacts,   // contacts handled by a shared advisor
  kAdvisorTime,       // duration_s of those contacts
  kWeightedContacts,  // sum of service weights x10^4
  kDedicatedArea,     // sum over the quarter's days of allocated centi-m2
  kBookedMinutes,     // whole minutes of room bookings starting in the quarter
  kFixedShares,       // fixed_shares[a] x10^4, 0 when not listed
  kEqual,             // 1 for every party
  // SPEC section 9, measured by the projector (services/projector/measures.cc) and
  // billing (referrals):
  kVideoTime,              // duration_s of contacts with channel video
  kInterpretationMinutes,  // minutes of interpretations that occurred in the quarter
  kStops,                  // route stops arrived at in the quarter
  kStopMinutes,            // their minutes
  kDeliveries,             // their deliveries
  kReferralsReceived,      // referrals to a whose contact is at the point in the quarter
};
std::string_view KeyName(Key key);  // "advisor_time"
std::optional<Key> ParseKey(std::string_view name);

// One party's measured key values at one point over one quarter; all >= 0.
struct MeasuredKeys {
  int64_t contacts = 0;
  int64_t advisor_contacts = 0;
  int64_t advisor_time_s = 0;
  int64_t weighted_contacts_e4 = 0;
  int64_t dedicated_area_centi_m2_days = 0;
  int64_t booked_minutes = 0;
  int64_t video_time_s = 0;
  int64_t interpretation_minutes = 0;
  int64_t stops = 0;
  int64_t stop_minutes = 0;
  int64_t deliveries = 0;
  int64_t referrals_received = 0;
  friend bool operator==(const MeasuredKeys&, const MeasuredKeys&) = default;
};

// ---------------------------------------------------------------- agreements

struct Tranche {
  int64_t weight_pct_e4 = 0;  // the pool's tranches sum to 100 % = 1'000'000
  Key key = Key::kEqual;
  friend bool operator==(const Tranche&, const Tranche&) = default;
};

struct PoolRule {
  std::vector<Tranche> tranches;  // 1..kTranchesPerPoolMax, split in this order
  Key fallback_key = Key::kEqual;
  friend bool operator==(const PoolRule&, const PoolRule&) = default;
};

enum class SubsidyBasis { kPoolTotal, kClaimantShare };

struct SubsidyRule {
  std::string program_id;
  std::string claimant_agency_id;
  int64_t rate_pct_e4 = 0;
  SubsidyBasis basis = SubsidyBasis::kPoolTotal;
  std::vector<std::string> pools;
  std::optional<int64_t> annual_cap_cents;
  friend bool operator==(const SubsidyRule&, const SubsidyRule&) = default;
};

// One `agreement_signed` version.
struct Agreement {
  std::string agreement_id;
  int64_t version = 1;
  std::string service_point_id;
  absl::CivilDay effective_from;
  std::optional<absl::CivilDay> effective_to;  // exclusive
  std::vector<std::string> parties;            // agency ids, any order, no duplicates
  std::map<std::string, PoolRule> pools;       // by pool name
  std::map<std::string, int64_t> service_weights_e4;     // for the projector's weighted_contacts
  std::map<std::string, int64_t> fixed_shares_pct_e4;    // by agency_id
  std::vector<SubsidyRule> subsidies;
  friend bool operator==(const Agreement&, const Agreement&) = default;
};

inline constexpr size_t kPartiesPerAgreementMax = 1024;
inline constexpr size_t kTranchesPerPoolMax = 64;

// The agreement in effect on `day` (the first day of the quarter being billed) among
// the versions of ONE service point: effective_from <= day < effective_to (absent =
// open-ended); of those the latest effective_from, then the highest version. Returns the
// index into `versions`, nullopt when none is in effect, FailedPrecondition when two
// versions tie on both (effective_from, version): which contract holds is then a human
// decision (sign a higher version), not the engine's.
absl::StatusOr<std::optional<size_t>> SelectAgreement(absl::Span<const Agreement> versions,
                                                      absl::CivilDay day);

// ---------------------------------------------------------------- rounding rules

// Largest-remainder split (SPEC section 3) of `amount_cents` over `weights` (>= 0, at
// least one, not all zero; callers order parties by agency_id bytewise and tranches as
// listed). Each share is floor(|A| * w_i / K); the r < n leftover cents go one each to
// the largest remainders |A| * w_i mod K, ties to the smaller index; signs follow A.
// Shares sum to A exactly for every int64 A (checked). A weight of 0 gets 0. Errors:
// InvalidArgument for no weights, a negative weight, or weights summing to 0 (the
// caller picks a fallback key).
absl::StatusOr<std::vector<int64_t>> SplitLargestRemainder(int64_t amount_cents,
                                                           absl::Span<const int64_t> weights);

// The same split with its steps, for `tori explain`.
struct SplitStep {
  int64_t weight = 0;
  int64_t floor_cents = 0;          // sign(A) * floor(|A| * weight / K)
  absl::uint128 remainder = 0;      // |A| * weight mod K: the cent fraction, in 1/K
  bool received_leftover_cent = false;
  int64_t share_cents = 0;          // floor_cents + sign(A) * (leftover cent ? 1 : 0)
  friend bool operator==(const SplitStep&, const SplitStep&) = default;
};
struct SplitExplanation {
  int64_t amount_cents = 0;
  absl::uint128 weight_total = 0;  // K
  uint64_t leftover_cents = 0;     // r = |A| - sum of floors, 0 <= r < n
  std::vector<SplitStep> steps;    // one per weight, input order
  friend bool operator==(const SplitExplanation&, const SplitExplanation&) = default;
};
absl::StatusOr<SplitExplanation> ExplainSplitLargestRemainder(
    int64_t amount_cents, absl::Span<const int64_t> weights);

// basis * rate / 100 rounded half away from zero to the cent (128-bit intermediate):
// 1 cent at 50 % is 1, -1 cent at 50 % is -1. InvalidArgument for a negative rate,
// OutOfRange when the result does not fit int64.
absl::StatusOr<int64_t> SubsidyAmountCents(int64_t basis_cents, int64_t rate_pct_e4);

// The annual cap: without a cap the amount itself (a credit quarter may claim a negative
// amount); with one, min(amount, cap - claimed_this_year), never below 0.
int64_t CapSubsidyCents(int64_t amount_cents, std::optional<int64_t> annual_cap_cents,
                        int64_t claimed_this_year_cents);

// ---------------------------------------------------------------- billing input

// Subsidy already issued at one point for (program, claimant) in earlier quarters of
// the billed quarter's calendar year, adjustments included.
struct SubsidyClaimedThisYear {
  std::string program_id;
  std::string claimant_agency_id;
  int64_t amount_cents = 0;
};

// What a succession changed at one point of one quarter (ApplySuccessions in
// succession.h fills it; MarkSuccessions reads it).
struct SuccessionAtPoint {
  std::string successor_agency_id;
  std::string predecessor_agency_id;  // of several, the smallest id bytewise
  int64_t predecessor_contacts = 0;   // contacts recorded under predecessors' ids
  friend bool operator==(const SuccessionAtPoint&, const SuccessionAtPoint&) = default;
};

struct ServicePointInput {
  std::string service_point_id;
  std::string host_agency_id;
  // From SelectAgreement; absent: no agreement in effect, every pool is the host's.
  std::optional<Agreement> agreement;
  // Every pool with at least one cost posted in the quarter (in the agreement or not),
  // summed. Pools of the agreement without costs are not billed.
  std::map<std::string, int64_t> pool_amounts_cents;
  // By agency_id: every agency with activity at the point, parties or not. Parties
  // missing here have all keys 0; non-parties are excluded and reported.
  std::map<std::string, MeasuredKeys> key_values;
  std::vector<SubsidyClaimedThisYear> subsidy_claimed_this_year;
  // By successor: the agencies named here whose place a successor took (empty without
  // agency_succeeded events in effect). The engine ignores it; MarkSuccessions uses it.
  std::vector<SuccessionAtPoint> successions;
  // The host named here whose place a successor took (the successor is host_agency_id
  // after ApplySuccessions); absent without such a succession. MarkSuccessions uses it.
  std::optional<std::string> predecessor_host_agency_id;
};

struct BillingInput {
  Quarter quarter;
  std::vector<ServicePointInput> service_points;  // any order, unique ids
};

// ---------------------------------------------------------------- billing result

struct PoolAmount {
  std::string service_point_id;
  std::string pool;
  int64_t amount_cents = 0;
  friend bool operator==(const PoolAmount&, const PoolAmount&) = default;
};

struct InvoiceLine {
  std::string service_point_id;
  std::string pool;
  Key key = Key::kEqual;              // the key actually used
  std::optional<Key> fallback_from;   // the tranche's key when a fallback replaced it
  int64_t weight_pct_e4 = 0;          // the tranche's weight
  int64_t basis_quantity = 0;         // the recipient's value of `key`
  int64_t basis_total = 0;            // the sum of `key` over the parties
  int64_t amount_cents = 0;           // on adjustment lines: recomputed - issued
  std::optional<Quarter> adjusts_quarter;  // only on prior-period adjustment lines
  // Only on adjustment lines: what stands issued for the adjusted quarter's line (its
  // original amount plus adjustments already made) and what it is now; the basis
  // values are the recomputed ones. Absent on adjustments issued before tori wrote them.
  std::optional<int64_t> issued_cents;
  std::optional<int64_t> recomputed_cents;
  // The agency whose place the recipient took at this point (agency_succeeded, SPEC
  // section 8; services/engine/succession.h); absent on every other line.
  std::optional<std::string> predecessor_agency_id;
  // The same for the issuer: the host whose place the issuer took at this point (the
  // host itself succeeded); absent on every other line.
  std::optional<std::string> predecessor_host_agency_id;
  friend bool operator==(const InvoiceLine&, const InvoiceLine&) = default;
};

struct Invoice {
  std::string invoice_id;  // "{quarter}-{issuer}-{recipient}", e.g. "2026Q1-espoo-kela"
  std::string issuer_agency_id;     // the host
  std::string recipient_agency_id;  // a party other than the host
  Quarter quarter;
  int64_t total_cents = 0;  // sum of lines
  // Per point, pool and tranche in that order; then adjustment lines ordered by
  // (adjusts_quarter, point, pool, key, weight).
  std::vector<InvoiceLine> lines;
  // SPEC section 8: only on invoices to a partner that is a company (ChargeVat, vat.h);
  // total_cents stays without VAT. Absent: VAT category O (authorities).
  struct Vat {
    int64_t rate_pct_e4 = 0;  // the general rate on the invoice date, 25.5 % = 255'000
    int64_t vat_cents = 0;    // InvoiceVatCents(total_cents, rate_pct_e4), signed as the total
    friend bool operator==(const Vat&, const Vat&) = default;
  };
  std::optional<Vat> vat;
  friend bool operator==(const Invoice&, const Invoice&) = default;
};

struct HostShare {
  std::string agency_id;
  std::string service_point_id;
  std::string pool;
  int64_t amount_cents = 0;
  // Only on prior-period adjustments: the change of the host's own share of that
  // quarter's pool, so that the agencies' adjustment lines plus the host's equal the
  // change of the pool.
  std::optional<Quarter> adjusts_quarter;
  friend bool operator==(const HostShare&, const HostShare&) = default;
};

// The host shares one issuing run reported for `quarter` (its own and adjustments).
struct IssuedHostShares {
  Quarter quarter;
  std::vector<HostShare> shares;
  friend bool operator==(const IssuedHostShares&, const IssuedHostShares&) = default;
};

struct SubsidyClaim {
  std::string claimant_agency_id;
  std::string program_id;
  std::string service_point_id;
  Quarter quarter;
  int64_t basis_cents = 0;
  int64_t amount_cents = 0;
  std::optional<Quarter> adjusts_quarter;  // only on prior-period adjustments
  friend bool operator==(const SubsidyClaim&, const SubsidyClaim&) = default;
};

enum class WarningCode {
  kNoAgreement,         // costs at a point without an agreement in effect: host bears them
  kPoolNotInAgreement,  // costs in a pool the agreement does not name: host bears them
  kNonPartyExcluded,    // activity of a non-party agency excluded from every key
  kFallbackKeyUsed,     // a tranche's key summed to 0: the pool's fallback_key was used
  kFallbackKeyZero,     // the fallback key summed to 0 too: split equally
  kAnnualCapApplied,    // a subsidy claim was cut by its annual cap (the figures in the message)
  kNoEinvoiceAddress,   // an invoice's recipient has no e-invoice address (added by billing,
                        // which knows the agencies' details; the engine never makes it)
  kPredecessorContact,  // contacts recorded under a succeeded agency's id after its
                        // succession count for the successor (MarkSuccessions)
  kOverBudget,          // SPEC section 9: a budget's forecast exceeds it (added by billing)
};
std::string_view WarningCodeName(WarningCode code);  // "FALLBACK_KEY_USED"

struct Warning {
  WarningCode code = WarningCode::kNoAgreement;
  std::string message;  // English; names the point, the pool or agency, and the rule
  // What the message names, for documents that say it in another language (empty or 0
  // where the code does not name it).
  std::string service_point_id;
  std::string pool;
  std::string agency_id;   // the host that bears a pool, or the excluded non-party
  std::string agreement_id;
  int64_t agreement_version = 0;
  int64_t amount_cents = 0;     // the pool's amount (kNoAgreement, kPoolNotInAgreement)
  int64_t contacts = 0;         // the non-party's contacts (kNonPartyExcluded)
  absl::CivilDay date;          // the quarter's first day (kNoAgreement)
  size_t tranche = 0;           // 1-based (fallback warnings)
  int64_t weight_pct_e4 = 0;    // the tranche's weight
  std::optional<Key> key;           // the tranche's key
  std::optional<Key> fallback_key;  // the pool's fallback key
  // kAnnualCapApplied: the claim (amount_cents is what was claimed), before the cap.
  std::string program_id;
  int64_t uncapped_cents = 0;
  int64_t cap_cents = 0;
  int64_t claimed_before_cents = 0;  // in the same calendar year
  std::string invoice_id;  // kNoEinvoiceAddress (agency_id: the recipient)
  std::string successor_agency_id;  // kPredecessorContact (agency_id: the predecessor)
  friend bool operator==(const Warning&, const Warning&) = default;
};

// Output order: pools by (point, pool); invoices by (issuer, recipient); host_shares
// by (agency, point, pool), then adjustments by (adjusts_quarter, agency, point, pool);
// subsidy_claims by (point, agreement rule order), then
// adjustments by (adjusts_quarter, point, program, claimant); warnings by point, in
// the order the rules meet them.
// SPEC section 9's reports of a run, computed by billing beside the engine
// (services/billing/section9.h); sorted by their fields in order.
struct ReferralCount {
  std::string service_point_id, from_agency_id, to_agency_id;
  int64_t count = 0;
  friend bool operator==(const ReferralCount&, const ReferralCount&) = default;
};
struct RoomUtilisation {
  std::string service_point_id, room_id;
  std::string month;  // "2026-01"
  int64_t booked_minutes = 0;
  int64_t bookable_minutes = 0;
  friend bool operator==(const RoomUtilisation&, const RoomUtilisation&) = default;
};
// Booked minutes of a registered room over the quarter by local weekday (0 = Monday)
// and hour, a booking's minutes spread over the hours it covers (the HTML heat map).
struct RoomHeat {
  std::string service_point_id, room_id;
  std::array<int64_t, 7 * 24> booked_minutes{};
  std::array<int64_t, 7 * 24> bookable_minutes{};
  friend bool operator==(const RoomHeat&, const RoomHeat&) = default;
};
struct BudgetStatus {
  std::string budget_id, agency_id, service_point_id, pool;
  int32_t year = 0;
  int64_t budget_cents = 0;
  int64_t year_to_date_cents = 0;
  int64_t forecast_cents = 0;
  friend bool operator==(const BudgetStatus&, const BudgetStatus&) = default;
};

struct BillingResult {
  Quarter quarter;
  std::vector<PoolAmount> pools;
  // One per (host, party != host) of every point with an agreement, even when empty.
  std::vector<Invoice> invoices;
  // One per billed (point, pool): the host's part, including pools it bears alone.
  std::vector<HostShare> host_shares;
  std::vector<SubsidyClaim> subsidy_claims;  // one per agreement rule and point
  std::vector<Warning> warnings;
  // SPEC section 9 (filled by billing, not by ComputeBilling).
  std::vector<ReferralCount> referrals;
  std::vector<RoomUtilisation> room_utilisation;
  std::vector<RoomHeat> room_heat;  // not in invoices.json: the report's heat map
  std::vector<BudgetStatus> budgets;
  friend bool operator==(const BillingResult&, const BillingResult&) = default;
};

// Bills `input.quarter`. A tranche whose key sums to 0 over the parties uses the pool's
// fallback_key; if that sums to 0 too, `equal` (with a warning). Lines of zero amount
// are kept only when the recipient's basis_quantity is non-zero.
absl::StatusOr<BillingResult> ComputeBilling(const BillingInput& input);

// ---------------------------------------------------------------- prior periods

// Adjustments that go on the invoices of `billed` (SPEC section 4).
struct Adjustments {
  Quarter billed;
  std::vector<Invoice> invoices;             // adjustment lines only
  std::vector<SubsidyClaim> subsidy_claims;  // quarter = billed, adjusts_quarter set
  std::vector<HostShare> host_shares;        // adjusts_quarter set
  friend bool operator==(const Adjustments&, const Adjustments&) = default;
};

// Differences between `recomputed` (ComputeBilling of an earlier quarter Q' with the
// events known now, without adjustment lines) and what stands issued for Q': lines of
// invoices of Q' without adjusts_quarter plus every line with adjusts_quarter = Q' in
// `issued_invoices` (pass all issued invoices; the rest is ignored), likewise for
// claims. Lines are compared per (issuer, recipient, point, pool, key, weight_pct); a
// non-zero difference becomes a line with adjusts_quarter = Q' whose basis is the
// recomputed one (0 / 0 when the line disappeared). Claims are compared per (claimant,
// program, point) on basis and amount. The host's shares are compared per (host, point,
// pool) against `issued_host_shares` of Q' plus those adjusting Q', only when Q' itself
// has reported host shares (quarters issued before tori reported them have none to
// compare with). InvalidArgument unless Q' < billed.
absl::StatusOr<Adjustments> ComputeAdjustments(
    Quarter billed, const BillingResult& recomputed, absl::Span<const Invoice> issued_invoices,
    absl::Span<const SubsidyClaim> issued_claims,
    absl::Span<const IssuedHostShares> issued_host_shares = {});

// Appends `adjustments` to `result` (same quarter): lines to the invoice of the same
// issuer and recipient, created when missing; totals and order restored.
absl::Status MergeAdjustments(const Adjustments& adjustments, BillingResult* result);

}  // namespace tori::engine

#endif  // TORI_SERVICES_ENGINE_ENGINE_H_
