// The projection -> the engine's input (per service point: host, agreement in effect,
// pool amounts, key values per agency, subsidy already claimed this year) and the
// issued documents -> engine types.
#include <algorithm>
#include <map>

#include "absl/numeric/int128.h"
#include "absl/time/civil_time.h"
#include "events/base/calendar.h"
#include "events/base/check.h"
#include "events/base/sha256.h"
#include "fmt/format.h"
#include "services/billing/billing.h"
#include "services/billing/internal/issued.h"
#include "services/engine/succession.h"
#include "services/billing/internal/section9.h"
#include "services/projector/projector.h"

namespace tori {
namespace {

using engine::Quarter;
namespace p = projection;

absl::StatusOr<absl::CivilDay> StoredDay(const std::string& text) {
  const absl::StatusOr<absl::CivilDay> day = ParseDay(text);
  if (!day.ok()) return absl::DataLossError(fmt::format("projection holds a bad date '{}'", text));
  return *day;
}

absl::StatusOr<engine::Key> KeyOf(const std::string& name) {
  auto key = engine::ParseKey(name);
  if (!key) return absl::DataLossError(fmt::format("projection holds an unknown key '{}'", name));
  return *key;
}

absl::StatusOr<engine::Agreement> ToAgreement(const events::AgreementSigned& e) {
  engine::Agreement a;
  a.agreement_id = e.agreement_id();
  a.version = e.version();
  a.service_point_id = e.service_point_id();
  TORI_ASSIGN_OR_RETURN(a.effective_from, StoredDay(e.effective_from()));
  if (e.has_effective_to()) {
    TORI_ASSIGN_OR_RETURN(absl::CivilDay to, StoredDay(e.effective_to()));
    a.effective_to = to;
  }
  a.parties.assign(e.parties().begin(), e.parties().end());
  for (const auto& pool : e.pools()) {
    engine::PoolRule rule;
    for (const auto& t : pool.tranches()) {
      TORI_ASSIGN_OR_RETURN(engine::Key key, KeyOf(t.key()));
      rule.tranches.push_back({t.weight_pct_e4(), key});
    }
    if (pool.has_fallback_key()) {
      TORI_ASSIGN_OR_RETURN(rule.fallback_key, KeyOf(pool.fallback_key()));
    }
    a.pools[pool.pool()] = std::move(rule);
  }
  for (const auto& w : e.service_weights()) a.service_weights_e4[w.service_code()] = w.weight_e4();
  for (const auto& f : e.fixed_shares()) a.fixed_shares_pct_e4[f.agency_id()] = f.pct_e4();
  for (const auto& s : e.subsidies()) {
    engine::SubsidyRule rule;
    rule.program_id = s.program_id();
    rule.claimant_agency_id = s.claimant_agency_id();
    rule.rate_pct_e4 = s.rate_pct_e4();
    rule.basis = s.basis() == events::SUBSIDY_BASIS_CLAIMANT_SHARE ? engine::SubsidyBasis::kClaimantShare
                                                                  : engine::SubsidyBasis::kPoolTotal;
    rule.pools.assign(s.pools().begin(), s.pools().end());
    if (s.has_annual_cap_cents()) rule.annual_cap_cents = s.annual_cap_cents();
    a.subsidies.push_back(std::move(rule));
  }
  return a;
}

absl::StatusOr<int64_t> ToInt64(absl::int128 value, std::string_view what) {
  if (value > absl::int128(INT64_MAX)) {
    return absl::OutOfRangeError(fmt::format("{} exceeds the int64 range", what));
  }
  return static_cast<int64_t>(value);
}

// Sum over the quarter's days of each agency's allocated centi-m2 (SPEC: dedicated_area).
absl::Status AddDedicatedArea(StateStore& state, const std::string& point, Quarter quarter,
                              std::map<std::string, engine::MeasuredKeys>& keys) {
  TORI_ASSIGN_OR_RETURN(auto allocations,
                        p::ScanRecords<events::SpaceAllocated>(state, p::Key(p::kSpace, {point}, true)));
  const absl::CivilDay first = quarter.FirstDay();
  const absl::CivilDay end = quarter.EndDay();
  std::map<std::string, absl::int128> area_days;
  for (size_t i = 0; i < allocations.size(); ++i) {  // in effective_from order (key order)
    TORI_ASSIGN_OR_RETURN(absl::CivilDay from, StoredDay(allocations[i].effective_from()));
    absl::CivilDay until = end;
    if (i + 1 < allocations.size()) {
      TORI_ASSIGN_OR_RETURN(until, StoredDay(allocations[i + 1].effective_from()));
    }
    const absl::CivilDay lo = std::max(from, first);
    const absl::CivilDay hi = std::min(until, end);
    if (hi <= lo) continue;
    const int64_t days = hi - lo;
    for (const auto& a : allocations[i].allocations()) {
      area_days[a.agency_id()] += absl::int128(a.area_centi_m2()) * days;
    }
  }
  for (const auto& [agency, value] : area_days) {
    TORI_ASSIGN_OR_RETURN(keys[agency].dedicated_area_centi_m2_days,
                          ToInt64(value, fmt::format("dedicated_area of '{}' at '{}'", agency, point)));
  }
  return absl::OkStatus();
}

// A point's agreement versions as stored (key order) and as the engine takes them.
struct AgreementVersions {
  std::vector<events::AgreementSigned> signed_versions;
  std::vector<engine::Agreement> versions;
};
absl::StatusOr<AgreementVersions> LoadAgreementVersions(StateStore& state,
                                                        const std::string& point_id) {
  AgreementVersions out;
  TORI_ASSIGN_OR_RETURN(out.signed_versions, p::ScanRecords<events::AgreementSigned>(
                                                 state, p::Key(p::kAgreement, {point_id}, true)));
  for (const auto& e : out.signed_versions) {
    TORI_ASSIGN_OR_RETURN(engine::Agreement a, ToAgreement(e));
    out.versions.push_back(std::move(a));
  }
  return out;
}

}  // namespace

namespace billing_internal {

absl::StatusOr<engine::Successions> LoadSuccessions(StateStore& state) {
  TORI_ASSIGN_OR_RETURN(auto records, p::ScanRecords<events::AgencySucceeded>(
                                          state, p::Key(p::kSucceeded, {}, false) + '\0'));
  std::vector<engine::Succession> successions;
  for (const auto& e : records) {
    TORI_ASSIGN_OR_RETURN(absl::CivilDay from, StoredDay(e.effective_from()));
    successions.push_back({e.agency_id(), e.successor_agency_id(), from});
  }
  absl::StatusOr<engine::Successions> made = engine::Successions::Make(std::move(successions));
  if (!made.ok()) return absl::DataLossError(fmt::format("projection: {}", std::string(made.status().message())));
  return made;
}

absl::StatusOr<engine::Invoice> ToEngineInvoice(const events::InvoiceIssued& e) {
  engine::Invoice invoice;
  invoice.invoice_id = e.invoice_id();
  invoice.issuer_agency_id = e.issuer_agency_id();
  invoice.recipient_agency_id = e.recipient_agency_id();
  TORI_ASSIGN_OR_RETURN(invoice.quarter, engine::ParseQuarter(e.quarter()));
  invoice.total_cents = e.total_cents();
  if (e.has_vat_rate_pct_e4() != e.has_vat_cents()) {
    return absl::DataLossError(fmt::format(
        "invoice_issued {} has only one of vat_rate_pct_e4 and vat_cents; both or neither", e.invoice_id()));
  }
  if (e.has_vat_rate_pct_e4()) invoice.vat = engine::Invoice::Vat{e.vat_rate_pct_e4(), e.vat_cents()};
  for (const auto& l : e.lines()) {
    engine::InvoiceLine line;
    line.service_point_id = l.service_point_id();
    line.pool = l.pool();
    TORI_ASSIGN_OR_RETURN(line.key, KeyOf(l.key()));
    if (l.has_fallback_from()) {
      TORI_ASSIGN_OR_RETURN(engine::Key from, KeyOf(l.fallback_from()));
      line.fallback_from = from;
    }
    line.weight_pct_e4 = l.weight_pct_e4();
    line.basis_quantity = l.basis_quantity();
    line.basis_total = l.basis_total();
    if (l.has_issued_cents()) line.issued_cents = l.issued_cents();
    if (l.has_recomputed_cents()) line.recomputed_cents = l.recomputed_cents();
    if (l.has_predecessor_agency_id()) line.predecessor_agency_id = l.predecessor_agency_id();
    if (l.has_predecessor_host_agency_id()) line.predecessor_host_agency_id = l.predecessor_host_agency_id();
    line.amount_cents = l.amount_cents();
    if (l.has_adjusts_quarter()) {
      TORI_ASSIGN_OR_RETURN(Quarter q, engine::ParseQuarter(l.adjusts_quarter()));
      line.adjusts_quarter = q;
    }
    invoice.lines.push_back(std::move(line));
  }
  return invoice;
}

std::vector<merkle::TreeHead> RecordedTreeHeads(
    const google::protobuf::RepeatedPtrField<events::MerkleTreeHead>& heads) {
  std::vector<merkle::TreeHead> out;
  for (const auto& h : heads) {
    merkle::TreeHead head{h.tree_size(), {}};
    if (h.root_hash().size() == head.root_hash.size()) {
      std::copy(h.root_hash().begin(), h.root_hash().end(), head.root_hash.begin());
    }
    out.push_back(head);
  }
  return out;
}

absl::StatusOr<engine::SubsidyClaim> ToEngineClaim(const events::SubsidyClaimIssued& e) {
  engine::SubsidyClaim claim;
  claim.claimant_agency_id = e.claimant_agency_id();
  claim.program_id = e.program_id();
  claim.service_point_id = e.service_point_id();
  TORI_ASSIGN_OR_RETURN(claim.quarter, engine::ParseQuarter(e.quarter()));
  claim.basis_cents = e.basis_cents();
  claim.amount_cents = e.amount_cents();
  if (e.has_adjusts_quarter()) {
    TORI_ASSIGN_OR_RETURN(Quarter q, engine::ParseQuarter(e.adjusts_quarter()));
    claim.adjusts_quarter = q;
  }
  return claim;
}

absl::StatusOr<IssuedDocuments> LoadIssued(StateStore& state) {
  IssuedDocuments issued;
  TORI_ASSIGN_OR_RETURN(issued.invoice_events,
                        p::ScanRecords<events::InvoiceIssued>(state, p::Key(p::kInvoice, {}, false) + '\0'));
  TORI_ASSIGN_OR_RETURN(issued.claim_events,
                        p::ScanRecords<events::SubsidyClaimIssued>(state, p::Key(p::kClaim, {}, false) + '\0'));
  for (const auto& e : issued.invoice_events) {
    TORI_ASSIGN_OR_RETURN(engine::Invoice invoice, ToEngineInvoice(e));
    issued.invoices.push_back(std::move(invoice));
  }
  for (const auto& e : issued.claim_events) {
    TORI_ASSIGN_OR_RETURN(engine::SubsidyClaim claim, ToEngineClaim(e));
    issued.claims.push_back(std::move(claim));
  }
  TORI_ASSIGN_OR_RETURN(auto host_share_events, p::ScanRecords<events::HostSharesIssued>(
                                                    state, p::Key(p::kHostShares, {}, false) + '\0'));
  for (const auto& e : host_share_events) {
    engine::IssuedHostShares run;
    TORI_ASSIGN_OR_RETURN(run.quarter, engine::ParseQuarter(e.quarter()));
    for (const auto& s : e.shares()) {
      engine::HostShare share{s.agency_id(), s.service_point_id(), s.pool(), s.amount_cents(), std::nullopt};
      if (s.has_adjusts_quarter()) {
        TORI_ASSIGN_OR_RETURN(share.adjusts_quarter, engine::ParseQuarter(s.adjusts_quarter()));
      }
      run.shares.push_back(std::move(share));
    }
    issued.host_shares.push_back(std::move(run));
  }
  return issued;
}

engine::Invoice AsIssuedFormat(engine::Invoice recomputed, const events::InvoiceIssued& stored) {
  const bool old_format = std::any_of(stored.lines().begin(), stored.lines().end(), [](const auto& l) {
    return l.has_adjusts_quarter() && !l.has_recomputed_cents();
  });
  if (old_format) {
    for (auto& line : recomputed.lines) {
      line.issued_cents.reset();
      line.recomputed_cents.reset();
    }
  }
  return recomputed;
}

}  // namespace billing_internal

absl::StatusOr<engine::BillingInput> LoadBillingInput(StateStore& state, Quarter quarter) {
  TORI_ASSIGN_OR_RETURN(auto issued, billing_internal::LoadIssued(state));
  return billing_internal::LoadBillingInput(state, quarter, issued);
}

absl::StatusOr<PoolNames> LoadPoolNames(StateStore& state, Quarter quarter) {
  PoolNames names;
  TORI_ASSIGN_OR_RETURN(auto points, p::ScanRecords<events::ServicePointOpened>(
                                         state, p::Key(p::kPoint, {}, false) + '\0'));
  for (const auto& point : points) {
    TORI_ASSIGN_OR_RETURN(AgreementVersions loaded,
                          LoadAgreementVersions(state, point.service_point_id()));
    const auto& signed_versions = loaded.signed_versions;
    const auto& versions = loaded.versions;
    TORI_ASSIGN_OR_RETURN(std::optional<size_t> selected,
                          engine::SelectAgreement(versions, quarter.FirstDay()));
    // Every version in (effective_from, version) order, the one in effect last: its
    // names win, earlier ones name pools only they had (adjusted quarters).
    std::vector<size_t> order(versions.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
      return std::make_pair(versions[a].effective_from, versions[a].version) <
             std::make_pair(versions[b].effective_from, versions[b].version);
    });
    if (selected) order.push_back(*selected);
    for (size_t i : order) {
      for (const auto& pool : signed_versions[i].pools()) {
        for (const auto& name : pool.display_names()) {
          auto language = documents::ParseLanguage(name.language());
          if (!language.ok()) continue;  // the codec admits only fi, sv, en
          names[{point.service_point_id(), pool.pool()}][*language] = name.name();
        }
      }
    }
  }
  return names;
}

namespace billing_internal {

absl::StatusOr<engine::BillingInput> LoadBillingInput(StateStore& state, Quarter quarter,
                                                      const IssuedDocuments& issued) {
  engine::BillingInput input;
  input.quarter = quarter;
  const std::string q = engine::QuarterName(quarter);
  TORI_ASSIGN_OR_RETURN(auto points, p::ScanRecords<events::ServicePointOpened>(
                                         state, p::Key(p::kPoint, {}, false) + '\0'));

  for (const auto& point : points) {
    engine::ServicePointInput sp;
    sp.service_point_id = point.service_point_id();
    sp.host_agency_id = point.host_agency_id();

    TORI_ASSIGN_OR_RETURN(AgreementVersions loaded,
                          LoadAgreementVersions(state, point.service_point_id()));
    const auto& versions = loaded.versions;
    TORI_ASSIGN_OR_RETURN(std::optional<size_t> selected,
                          engine::SelectAgreement(versions, quarter.FirstDay()));
    if (selected) sp.agreement = versions[*selected];

    // Pools: every cost posted for a month of the quarter.
    TORI_RETURN_IF_ERROR(state.ForEachInProjection(
        p::Key(p::kCost, {point.service_point_id(), q}, true), [&](std::string_view key, std::string_view value) {
          TORI_ASSIGN_OR_RETURN(auto cost, p::ReadRecord<events::CostPosted>(state, key, value));
          sp.pool_amounts_cents[cost.pool()] += cost.amount_cents();
          return absl::OkStatus();
        }));

    // Contact keys, weighting each service code by the agreement's weights.
    std::map<std::string, absl::int128> weighted;
    TORI_RETURN_IF_ERROR(state.ForEachInProjection(
        p::Key(p::kContacts, {point.service_point_id(), q}, true),
        [&](std::string_view key, std::string_view value) -> absl::Status {
          // point, quarter, agency, code
          TORI_ASSIGN_OR_RETURN(const auto parts, p::KeyParts(state, key));
          TORI_ASSIGN_OR_RETURN(const ContactCounts counts, p::ReadCounts(state, key, value));
          const std::string agency(parts[2]);
          engine::MeasuredKeys& keys = sp.key_values[agency];
          keys.contacts += counts.contacts;
          keys.advisor_contacts += counts.advisor_contacts;
          keys.advisor_time_s += counts.advisor_time_s;
          int64_t weight_e4 = 10'000;  // 1.0000 when not listed
          if (sp.agreement) {
            auto it = sp.agreement->service_weights_e4.find(std::string(parts[3]));
            if (it != sp.agreement->service_weights_e4.end()) weight_e4 = it->second;
          }
          weighted[agency] += absl::int128(counts.contacts) * weight_e4;
          return absl::OkStatus();
        }));
    for (const auto& [agency, value] : weighted) {
      TORI_ASSIGN_OR_RETURN(sp.key_values[agency].weighted_contacts_e4,
                            ToInt64(value, fmt::format("weighted_contacts of '{}'", agency)));
    }
    TORI_RETURN_IF_ERROR(state.ForEachInProjection(
        p::Key(p::kBookings, {point.service_point_id(), q}, true),
        [&](std::string_view key, std::string_view value) -> absl::Status {
          // point, quarter, agency
          TORI_ASSIGN_OR_RETURN(const auto parts, p::KeyParts(state, key));
          TORI_ASSIGN_OR_RETURN(const int64_t minutes, p::ReadMinutes(state, key, value));
          sp.key_values[std::string(parts[2])].booked_minutes += minutes;
          return absl::OkStatus();
        }));
    TORI_RETURN_IF_ERROR(AddDedicatedArea(state, point.service_point_id(), quarter, sp.key_values));

    // Subsidy issued earlier in the same calendar year; an adjustment counts in the
    // year of the quarter it adjusts.
    std::map<std::pair<std::string, std::string>, int64_t> claimed;
    for (const auto& claim : issued.claims) {
      const Quarter counted_in = claim.adjusts_quarter.value_or(claim.quarter);
      if (claim.service_point_id != point.service_point_id() || claim.quarter >= quarter ||
          counted_in.year != quarter.year) {
        continue;
      }
      claimed[{claim.program_id, claim.claimant_agency_id}] += claim.amount_cents;
    }
    for (const auto& [id, amount] : claimed) sp.subsidy_claimed_this_year.push_back({id.first, id.second, amount});
    input.service_points.push_back(std::move(sp));
  }
  // Successors stand where their predecessors are named (SPEC section 8).
  TORI_ASSIGN_OR_RETURN(const engine::Successions successions, LoadSuccessions(state));
  engine::ApplySuccessions(successions, &input);
  TORI_RETURN_IF_ERROR(AddSection9Keys(state, quarter, input));  // SPEC section 9
  return input;
}

}  // namespace billing_internal

absl::StatusOr<engine::BillingResult> ComputeRun(StateStore& state, Quarter quarter) {
  // The issued documents are read once and serve every quarter computed below.
  TORI_ASSIGN_OR_RETURN(auto issued, billing_internal::LoadIssued(state));
  TORI_ASSIGN_OR_RETURN(engine::BillingInput input,
                        billing_internal::LoadBillingInput(state, quarter, issued));
  TORI_ASSIGN_OR_RETURN(engine::BillingResult result, engine::ComputeBilling(input));
  engine::MarkSuccessions(input, &result);
  // Adjustments compare as of the billed quarter's first day: what the predecessor was
  // billed with what its successor owes now (engine/succession.h).
  TORI_ASSIGN_OR_RETURN(const engine::Successions successions,
                        billing_internal::LoadSuccessions(state));
  // Resolved copies (only with successions): the recomputed quarters' inputs read the
  // claims as issued.
  const absl::CivilDay resolved_on = quarter.FirstDay();
  absl::Span<const engine::Invoice> compared_invoices = issued.invoices;
  absl::Span<const engine::SubsidyClaim> compared_claims = issued.claims;
  absl::Span<const engine::IssuedHostShares> compared_host_shares = issued.host_shares;
  std::vector<engine::Invoice> resolved_invoices;
  std::vector<engine::SubsidyClaim> resolved_claims;
  std::vector<engine::IssuedHostShares> resolved_host_shares;
  if (!successions.empty()) {
    resolved_invoices = issued.invoices;
    resolved_claims = issued.claims;
    resolved_host_shares = issued.host_shares;
    engine::ResolveInvoices(successions, resolved_on, &resolved_invoices);
    engine::ResolveClaims(successions, resolved_on, &resolved_claims);
    for (auto& run : resolved_host_shares) {
      engine::ResolveHostShares(successions, resolved_on, &run.shares);
    }
    compared_invoices = resolved_invoices;
    compared_claims = resolved_claims;
    compared_host_shares = resolved_host_shares;
  }
  // Every earlier quarter with issued documents is recomputed with what is known now.
  std::vector<Quarter> earlier;
  for (const auto& invoice : issued.invoices) earlier.push_back(invoice.quarter);
  for (const auto& claim : issued.claims) earlier.push_back(claim.quarter);
  std::sort(earlier.begin(), earlier.end());
  earlier.erase(std::unique(earlier.begin(), earlier.end()), earlier.end());
  for (Quarter prior : earlier) {
    if (prior >= quarter) continue;
    TORI_ASSIGN_OR_RETURN(engine::BillingInput prior_input,
                          billing_internal::LoadBillingInput(state, prior, issued));
    TORI_ASSIGN_OR_RETURN(engine::BillingResult recomputed, engine::ComputeBilling(prior_input));
    engine::MarkSuccessions(prior_input, &recomputed);
    engine::ResolveInvoices(successions, resolved_on, &recomputed.invoices);
    engine::ResolveClaims(successions, resolved_on, &recomputed.subsidy_claims);
    engine::ResolveHostShares(successions, resolved_on, &recomputed.host_shares);
    TORI_ASSIGN_OR_RETURN(engine::Adjustments adjustments,
                          engine::ComputeAdjustments(quarter, recomputed, compared_invoices,
                                                     compared_claims, compared_host_shares));
    TORI_RETURN_IF_ERROR(engine::MergeAdjustments(adjustments, &result));
  }
  // A successor that hosts the point (the predecessor's lines now go from the host to
  // itself): nothing to bill; the adjustment is the host's own. Only adjustments can
  // do this: ComputeBilling never bills the host.
  std::erase_if(result.invoices, [](const engine::Invoice& invoice) {
    return invoice.issuer_agency_id == invoice.recipient_agency_id;
  });
  // An invoice without lines has nothing to say: it is neither written nor issued.
  std::erase_if(result.invoices, [](const engine::Invoice& invoice) { return invoice.lines.empty(); });
  TORI_RETURN_IF_ERROR(billing_internal::AddSection9Reports(state, issued, result));
  return result;
}

absl::StatusOr<IssuedSnapshot> SnapshotIssued(StateStore& state) {
  IssuedSnapshot snapshot;
  TORI_ASSIGN_OR_RETURN(snapshot.digest, IssuedDocumentsDigest(state));
  TORI_ASSIGN_OR_RETURN(auto documents, billing_internal::LoadIssued(state));
  snapshot.documents = std::make_shared<const billing_internal::IssuedDocuments>(std::move(documents));
  return snapshot;
}

absl::StatusOr<Sha256Digest> IssuedDocumentsDigest(StateStore& state) {
  // The prefixes of LoadIssued, each ended by '\0' as there; every record's key and
  // value, length-prefixed so that no two sequences of records hash alike.
  Sha256 hash;
  for (char kind : {p::kInvoice, p::kClaim, p::kHostShares}) {
    TORI_RETURN_IF_ERROR(state.ScanProjection(p::Key(kind, {}, false) + '\0',
                                              [&](std::string_view key, std::string_view value) {
                                                const uint64_t sizes[2] = {key.size(), value.size()};
                                                hash.Update(sizes, sizeof sizes).Update(key).Update(value);
                                                return true;
                                              }));
    hash.Update(&kind, 1);
  }
  return hash.Finish();
}

}  // namespace tori
