// Succession (SPEC section 8): `agency_succeeded` {agency_id, successor_agency_id,
// effective_from}. From effective_from the successor stands wherever the predecessor is
// named: agreement parties, fixed shares and subsidy claimants, space allocations, room
// bookings, contacts, the host of a point; shares are computed as if the successor's id
// had stood there (so the tie rule uses it), and documents go to the successor.
//
// Model. Successions form lines (A -> B -> C), never loops, each predecessor succeeded
// at most once (the validator refuses the rest; Make checks again). Who stands in an
// agency's place on a day follows the line through every succession in effect on that
// day. tori bills by quarter: effective_from is a quarter's first day (the codec's
// rule), and a quarter is resolved as of its first day, so a quarter that starts on or
// after the date is wholly the successor's.
//
// Where it applies (services/billing/load.cc):
//   - ApplySuccessions rewrites a quarter's BillingInput before ComputeBilling and notes
//     per point which predecessor each successor replaced; MarkSuccessions then names
//     the predecessor on the successor's lines and warns PREDECESSOR_CONTACT where
//     contacts were still recorded under the predecessor's id.
//   - For adjustments billed in quarter Q, the recomputed earlier quarter and the issued
//     documents are both resolved as of Q's first day (ResolveInvoices and friends) and
//     then compared: what was billed to the predecessor is compared with what the
//     successor owes now, so adjustments of the predecessor's quarters go to the
//     successor, and a succession recorded after its quarters were issued moves no
//     money (the successor took over the predecessor's invoices).
//
// Thread safety: pure functions; a Successions is immutable after Make.
#ifndef TORI_SERVICES_ENGINE_SUCCESSION_H_
#define TORI_SERVICES_ENGINE_SUCCESSION_H_

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/civil_time.h"
#include "services/engine/engine.h"

namespace tori::engine {

struct Succession {
  std::string agency_id;  // the predecessor
  std::string successor_agency_id;
  absl::CivilDay effective_from;
  friend bool operator==(const Succession&, const Succession&) = default;
};

// The validator's bound on a line of successors (events/validate/event_rules.cc).
inline constexpr size_t kSuccessionLineMax = 64;

class Successions {
 public:
  Successions() = default;
  // InvalidArgument naming the agency: a predecessor succeeded twice, an agency that
  // succeeds itself, a loop, or a line longer than kSuccessionLineMax.
  static absl::StatusOr<Successions> Make(std::vector<Succession> successions);

  // The agency that stands in `agency_id`'s place on `day` (`agency_id` itself when no
  // succession of it is in effect).
  const std::string& Resolve(const std::string& agency_id, absl::CivilDay day) const;
  bool empty() const { return by_predecessor_.empty(); }

 private:
  std::map<std::string, Succession, std::less<>> by_predecessor_;
};

// Rewrites `input` (of input->quarter, resolved as of its first day): hosts, agreement
// parties (merged when a successor is already one), fixed shares (summed), subsidy
// claimants, key values of every agency (summed), subsidy already claimed this year;
// fills each point's `successions`. Nothing changes without a succession in effect.
void ApplySuccessions(const Successions& successions, BillingInput* input);

// After ComputeBilling of an input ApplySuccessions rewrote: names the predecessor on
// every line to a successor at a point where it replaced one, names the predecessor
// host on every line of a point whose host a successor replaced, and adds a
// PREDECESSOR_CONTACT warning per point and successor whose predecessors' ids still
// carried contacts (after the point's other warnings).
void MarkSuccessions(const BillingInput& input, BillingResult* result);

// Resolves documents as of `day` (the first day of the quarter that adjusts them):
// issuers, recipients, claimants and hosts become who stands in their place. A line
// whose recipient changed names the recipient it had (unless it names one already);
// one whose issuer changed names the issuer it had (predecessor_host_agency_id).
void ResolveInvoices(const Successions& successions, absl::CivilDay day,
                     std::vector<Invoice>* invoices);
void ResolveClaims(const Successions& successions, absl::CivilDay day,
                   std::vector<SubsidyClaim>* claims);
void ResolveHostShares(const Successions& successions, absl::CivilDay day,
                       std::vector<HostShare>* shares);

}  // namespace tori::engine

#endif  // TORI_SERVICES_ENGINE_SUCCESSION_H_
