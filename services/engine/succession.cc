// Succession (SPEC section 8): who stands in an agency's place, applied to a quarter's
// input, its result and the documents an adjustment compares with. See succession.h.
#include "services/engine/succession.h"

#include <algorithm>
#include <map>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "events/base/check.h"

namespace tori::engine {
namespace {

void AddKeys(const MeasuredKeys& from, MeasuredKeys& to) {
  to.contacts += from.contacts;
  to.advisor_contacts += from.advisor_contacts;
  to.advisor_time_s += from.advisor_time_s;
  to.weighted_contacts_e4 += from.weighted_contacts_e4;
  to.dedicated_area_centi_m2_days += from.dedicated_area_centi_m2_days;
  to.booked_minutes += from.booked_minutes;
}

// One point's rewrite: resolves ids and notes, per successor, whom it replaced.
class PointResolver {
 public:
  PointResolver(const Successions& successions, absl::CivilDay day)
      : successions_(successions), day_(day) {}

  // The id standing in `named`'s place; a replacement is noted for the point's lines.
  const std::string& Named(const std::string& named, int64_t contacts = 0) {
    const std::string& standing = successions_.Resolve(named, day_);
    if (standing != named) {
      SuccessionAtPoint& at = by_successor_[standing];
      at.successor_agency_id = standing;
      if (at.predecessor_agency_id.empty() || named < at.predecessor_agency_id) {
        at.predecessor_agency_id = named;
      }
      at.predecessor_contacts += contacts;
    }
    return standing;
  }
  const std::string& Resolve(const std::string& id) const { return successions_.Resolve(id, day_); }

  std::vector<SuccessionAtPoint> Take() {
    std::vector<SuccessionAtPoint> out;
    for (auto& [successor, at] : by_successor_) out.push_back(std::move(at));
    return out;
  }

 private:
  const Successions& successions_;
  absl::CivilDay day_;
  std::map<std::string, SuccessionAtPoint> by_successor_;
};

void ApplyToAgreement(PointResolver& resolver, Agreement& agreement) {
  std::vector<std::string> parties;
  for (const std::string& party : agreement.parties) {
    const std::string& standing = resolver.Named(party);
    if (std::find(parties.begin(), parties.end(), standing) == parties.end()) {
      parties.push_back(standing);
    }
  }
  agreement.parties = std::move(parties);
  std::map<std::string, int64_t> fixed;
  for (const auto& [agency, pct_e4] : agreement.fixed_shares_pct_e4) {
    fixed[resolver.Named(agency)] += pct_e4;  // each <= 100 %: no overflow
  }
  agreement.fixed_shares_pct_e4 = std::move(fixed);
  for (SubsidyRule& rule : agreement.subsidies) {
    rule.claimant_agency_id = resolver.Resolve(rule.claimant_agency_id);
  }
}

}  // namespace

absl::StatusOr<Successions> Successions::Make(std::vector<Succession> successions) {
  Successions out;
  for (Succession& s : successions) {
    if (s.agency_id == s.successor_agency_id) {
      return absl::InvalidArgumentError(
          absl::StrCat("agency ", s.agency_id, " succeeds itself; run `tori rebuild`"));
    }
    const std::string predecessor = s.agency_id;
    if (!out.by_predecessor_.emplace(predecessor, std::move(s)).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("agency ", predecessor, " is succeeded twice; run `tori rebuild`"));
    }
  }
  // Every line ends within kSuccessionLineMax steps (so there is no loop).
  for (const auto& [start, first] : out.by_predecessor_) {
    std::string_view at = first.successor_agency_id;
    size_t steps = 1;
    for (auto it = out.by_predecessor_.find(at); it != out.by_predecessor_.end();
         it = out.by_predecessor_.find(at)) {
      if (++steps > kSuccessionLineMax) {
        return absl::InvalidArgumentError(absl::StrCat(
            "the successors of agency ", start, " loop or form a line longer than ",
            kSuccessionLineMax, "; run `tori rebuild`"));
      }
      at = it->second.successor_agency_id;
    }
  }
  return out;
}

const std::string& Successions::Resolve(const std::string& agency_id, absl::CivilDay day) const {
  const std::string* at = &agency_id;
  for (size_t steps = 0; steps < kSuccessionLineMax; ++steps) {  // Make bounded the line
    auto it = by_predecessor_.find(*at);
    if (it == by_predecessor_.end() || it->second.effective_from > day) break;
    at = &it->second.successor_agency_id;
  }
  return *at;
}

void ApplySuccessions(const Successions& successions, BillingInput* input) {
  if (successions.empty()) return;
  const absl::CivilDay day = input->quarter.FirstDay();
  for (ServicePointInput& point : input->service_points) {
    PointResolver resolver(successions, day);
    const std::string& host = resolver.Resolve(point.host_agency_id);
    if (host != point.host_agency_id) point.predecessor_host_agency_id = point.host_agency_id;
    point.host_agency_id = host;
    if (point.agreement.has_value()) ApplyToAgreement(resolver, *point.agreement);
    std::map<std::string, MeasuredKeys> keys;
    for (const auto& [agency, values] : point.key_values) {
      AddKeys(values, keys[resolver.Named(agency, values.contacts)]);
    }
    point.key_values = std::move(keys);
    std::map<std::pair<std::string, std::string>, int64_t> claimed;
    for (const SubsidyClaimedThisYear& c : point.subsidy_claimed_this_year) {
      claimed[{c.program_id, resolver.Resolve(c.claimant_agency_id)}] += c.amount_cents;
    }
    point.subsidy_claimed_this_year.clear();
    for (const auto& [id, amount] : claimed) {
      point.subsidy_claimed_this_year.push_back({id.first, id.second, amount});
    }
    point.successions = resolver.Take();
  }
}

void MarkSuccessions(const BillingInput& input, BillingResult* result) {
  std::map<std::pair<std::string, std::string>, const SuccessionAtPoint*> at;  // (point, successor)
  std::map<std::string, std::string> host_predecessor;  // point -> the host it replaced
  for (const ServicePointInput& point : input.service_points) {
    for (const SuccessionAtPoint& s : point.successions) {
      at[{point.service_point_id, s.successor_agency_id}] = &s;
    }
    if (point.predecessor_host_agency_id) {
      host_predecessor[point.service_point_id] = *point.predecessor_host_agency_id;
    }
  }
  // A succeeded host: every line of the point names the host whose place the issuer
  // took, as a successor's lines name its predecessor.
  for (Invoice& invoice : result->invoices) {
    for (InvoiceLine& line : invoice.lines) {
      auto it = host_predecessor.find(line.service_point_id);
      if (it != host_predecessor.end() && !line.predecessor_host_agency_id.has_value()) {
        line.predecessor_host_agency_id = it->second;
      }
    }
  }
  if (at.empty()) return;
  for (Invoice& invoice : result->invoices) {
    for (InvoiceLine& line : invoice.lines) {
      auto it = at.find({line.service_point_id, invoice.recipient_agency_id});
      if (it != at.end() && !line.predecessor_agency_id.has_value()) {
        line.predecessor_agency_id = it->second->predecessor_agency_id;
      }
    }
  }
  for (const auto& [where, s] : at) {
    if (s->predecessor_contacts == 0) continue;
    Warning warning;
    warning.code = WarningCode::kPredecessorContact;
    warning.service_point_id = where.first;
    warning.agency_id = s->predecessor_agency_id;
    warning.successor_agency_id = s->successor_agency_id;
    warning.contacts = s->predecessor_contacts;
    warning.message = absl::StrCat(
        "service point ", where.first, ": ", s->predecessor_contacts,
        " contacts were recorded under the id of ", s->predecessor_agency_id,
        " after its succession; they count for its successor ", s->successor_agency_id,
        " (have the recording system use the successor's id)");
    // After the point's other warnings (warnings are ordered by point).
    auto position = std::find_if(result->warnings.begin(), result->warnings.end(),
                                 [&](const Warning& w) { return w.service_point_id > where.first; });
    result->warnings.insert(position, std::move(warning));
  }
}

void ResolveInvoices(const Successions& successions, absl::CivilDay day,
                     std::vector<Invoice>* invoices) {
  if (successions.empty()) return;
  for (Invoice& invoice : *invoices) {
    const std::string& issuer = successions.Resolve(invoice.issuer_agency_id, day);
    if (issuer != invoice.issuer_agency_id) {
      for (InvoiceLine& line : invoice.lines) {
        if (!line.predecessor_host_agency_id.has_value()) {
          line.predecessor_host_agency_id = invoice.issuer_agency_id;
        }
      }
      invoice.issuer_agency_id = issuer;
    }
    const std::string& recipient = successions.Resolve(invoice.recipient_agency_id, day);
    if (recipient == invoice.recipient_agency_id) continue;
    for (InvoiceLine& line : invoice.lines) {
      if (!line.predecessor_agency_id.has_value()) {
        line.predecessor_agency_id = invoice.recipient_agency_id;
      }
    }
    invoice.recipient_agency_id = recipient;
  }
}

void ResolveClaims(const Successions& successions, absl::CivilDay day,
                   std::vector<SubsidyClaim>* claims) {
  for (SubsidyClaim& claim : *claims) {
    claim.claimant_agency_id = successions.Resolve(claim.claimant_agency_id, day);
  }
}

void ResolveHostShares(const Successions& successions, absl::CivilDay day,
                       std::vector<HostShare>* shares) {
  for (HostShare& share : *shares) share.agency_id = successions.Resolve(share.agency_id, day);
}

}  // namespace tori::engine
