// JSON line -> events::Event: the envelope, then one reader per event type.
#include <algorithm>
#include <cstring>
#include <string_view>
#include <utility>
#include <vector>

#include "events/base/calendar.h"
#include "events/base/decimal.h"
#include "events/base/identifiers.h"
#include "events/codec/codec.h"
#include "events/codec/internal/reader.h"
#include "events/codec/internal/section9.h"
#include "fmt/format.h"
#include "simdjson.h"

namespace tori {
namespace {

// The schema version a user event of `type` carries when it is written; the types not
// named are version 1. A company's agency_registered (3) and the section 9 types and
// kinds (2) are set where they are read, since they depend on the content.
uint32_t SchemaVersionOf(std::string_view type) {
  static constexpr std::pair<std::string_view, uint32_t> kVersions[] = {
      {"agency_updated", kSchemaVersionAgencyUpdated},
      {"access_granted", kSchemaVersionAccess},
      {"access_revoked", kSchemaVersionAccess},
      {"approval_policy_set", kSchemaVersionApproval},
      {"agency_succeeded", kSchemaVersionAgencySucceeded},
  };
  for (const auto& [name, version] : kVersions) {
    if (name == type) return version;
  }
  return kSchemaVersion;
}

using codec_internal::Reader;
using codec_internal::Text;
namespace dom = simdjson::dom;

constexpr int64_t kPct100 = 100 * 10'000;  // 100 % in pct_e4
constexpr int64_t kDurationSecondsMax = 86'400;
constexpr size_t kListItemsMax = 10'000;  // parties, allocations, tranches, ...

// The keys of SPEC section 3.
constexpr std::string_view kKeys[] = {"contacts",         "advisor_contacts",  "advisor_time",
                                      "weighted_contacts", "dedicated_area",   "booked_minutes",
                                      "fixed_shares",     "equal",
                                      // SPEC section 9
                                      "video_time", "interpretation_minutes", "stops",
                                      "stop_minutes", "deliveries", "referrals_received"};

bool IsKey(std::string_view key) { return std::find(std::begin(kKeys), std::end(kKeys), key) != std::end(kKeys); }

std::string KeyList() { return fmt::format("{}", fmt::join(std::begin(kKeys), std::end(kKeys), ", ")); }

bool ListSize(Reader& r, const dom::array& a, const std::string& path, size_t min) {
  const size_t n = a.size();
  if (n < min || n > kListItemsMax) {
    return r.Fail(RejectReason::kRange, path,
                  fmt::format("must have {}..{} items, has {}", min, kListItemsMax, n));
  }
  return true;
}

template <typename Enum>
bool EnumField(Reader& r, dom::object obj, std::string_view path, std::string_view name,
               std::initializer_list<std::pair<std::string_view, Enum>> values, Enum* out) {
  std::string_view text;
  if (!r.StringView(obj, path, name, Text::kFree, &text)) return false;
  for (const auto& [label, value] : values) {
    if (text == label) {
      *out = value;
      return true;
    }
  }
  std::vector<std::string_view> labels;
  for (const auto& v : values) labels.push_back(v.first);
  return r.Fail(RejectReason::kSchema, Reader::Path(path, name),
                fmt::format("'{}' is not one of: {}", text, fmt::join(labels, ", ")));
}

const std::initializer_list<std::pair<std::string_view, events::Channel>> kChannels = {
    {"in_person", events::CHANNEL_IN_PERSON},
    {"video", events::CHANNEL_VIDEO},
    {"phone", events::CHANNEL_PHONE},
    {"e_service_support", events::CHANNEL_E_SERVICE_SUPPORT},
    {"mobile", events::CHANNEL_MOBILE}};
const std::initializer_list<std::pair<std::string_view, events::HandledBy>> kHandledBy = {
    {"shared_advisor", events::HANDLED_BY_SHARED_ADVISOR},
    {"agency_staff", events::HANDLED_BY_AGENCY_STAFF}};

// ---- checks shared by agency_registered and agency_updated ----

bool CheckBusinessId(Reader& r, std::string_view field, const std::string& value) {
  if (IsValidBusinessId(value)) return true;
  return r.Fail(RejectReason::kRange, std::string(field),
                fmt::format("'{}' is not a Y-tunnus NNNNNNN-C with a valid check digit", value));
}

bool CheckIban(Reader& r, std::string_view field, const std::string& value) {
  if (IsValidIban(value)) return true;
  return r.Fail(RejectReason::kRange, std::string(field),
                fmt::format("'{}' is not an IBAN (no spaces) with valid check digits", value));
}

bool CheckBic(Reader& r, std::string_view field, const std::string& value) {
  if (IsValidBic(value)) return true;
  return r.Fail(RejectReason::kRange, std::string(field), fmt::format("'{}' is not a BIC like NDEAFIHH", value));
}

// ---- one reader per event type; each returns false after recording a rejection ----

// SPEC section 7: a token's grant. The role decides which of agency_id and
// service_point_id it needs: host and agency an agency, intake a point, auditor
// neither; a field the role does not use must be absent (no grant reads as more than
// it is). token_sha256 is 64 lower-case hex digits; the token itself has no field.
bool ReadAccessGranted(Reader& r, dom::object o, events::AccessGranted* e) {
  if (!r.String(o, "", "token_id", Text::kId, e->mutable_token_id()) ||
      !r.String(o, "", "token_sha256", Text::kId, e->mutable_token_sha256()) ||
      !r.String(o, "", "role", Text::kId, e->mutable_role()) ||
      !r.String(o, "", "name", Text::kName, e->mutable_name())) {
    return false;
  }
  const std::string& hash = e->token_sha256();
  if (hash.size() != 64 || hash.find_first_not_of("0123456789abcdef") != std::string::npos) {
    return r.Fail(RejectReason::kRange, "token_sha256",
                  "must be the token's SHA-256 as 64 lower-case hex digits (never the token)");
  }
  const std::string& role = e->role();
  if (role != "host" && role != "agency" && role != "auditor" && role != "intake") {
    return r.Fail(RejectReason::kRange, "role",
                  fmt::format("'{}' is not a role; one of host, agency, auditor, intake", role));
  }
  std::string text;
  bool present;
  if (!r.OptionalString(o, "", "agency_id", Text::kId, &text, &present)) return false;
  if (present) e->set_agency_id(text);
  if (!r.OptionalString(o, "", "service_point_id", Text::kId, &text, &present)) return false;
  if (present) e->set_service_point_id(text);
  // Who granted it through the API (a host agency); absent for a grant on the machine.
  if (!r.OptionalString(o, "", "granted_by_agency_id", Text::kId, &text, &present)) return false;
  if (present) e->set_granted_by_agency_id(text);
  const bool needs_agency = role == "host" || role == "agency";
  const bool needs_point = role == "intake";
  if (needs_agency != !e->agency_id().empty()) {
    return r.Fail(RejectReason::kSchema, "agency_id",
                  needs_agency ? fmt::format("role {} needs agency_id", role)
                               : fmt::format("role {} takes no agency_id", role));
  }
  if (needs_point != !e->service_point_id().empty()) {
    return r.Fail(RejectReason::kSchema, "service_point_id",
                  needs_point ? fmt::format("role {} needs service_point_id", role)
                              : fmt::format("role {} takes no service_point_id", role));
  }
  if (role == "auditor" && !e->granted_by_agency_id().empty()) {
    return r.Fail(RejectReason::kSchema, "granted_by_agency_id",
                  "an auditor is granted only on the machine (`tori access grant`): no granted_by_agency_id");
  }
  return true;
}

bool ReadAgencyRegistered(Reader& r, dom::object o, events::AgencyRegistered* e) {
  if (!r.String(o, "", "agency_id", Text::kNamingId, e->mutable_agency_id()) ||
      !r.String(o, "", "name", Text::kName, e->mutable_name())) {
    return false;
  }
  events::AgencyKind kind = events::AGENCY_KIND_UNSPECIFIED;
  if (!EnumField<events::AgencyKind>(r, o, "", "kind",
                                     {{"municipality", events::AGENCY_KIND_MUNICIPALITY},
                                      {"state", events::AGENCY_KIND_STATE},
                                      {"kela", events::AGENCY_KIND_KELA},
                                      {"wellbeing_county", events::AGENCY_KIND_WELLBEING_COUNTY},
                                      {"other", events::AGENCY_KIND_OTHER},
                                      {"company", events::AGENCY_KIND_COMPANY}},
                                     &kind)) {
    return false;
  }
  e->set_kind(kind);
  if (!r.String(o, "", "business_id", Text::kId, e->mutable_business_id()) ||
      !CheckBusinessId(r, "business_id", e->business_id())) {
    return false;
  }
  std::string text;
  bool present;
  if (!r.OptionalString(o, "", "einvoice_address", Text::kId, &text, &present)) return false;
  if (present) e->set_einvoice_address(text);
  if (!r.OptionalString(o, "", "iban", Text::kId, &text, &present)) return false;
  if (present) {
    if (!CheckIban(r, "iban", text)) return false;
    e->set_iban(text);
  }
  if (!r.OptionalString(o, "", "bic", Text::kId, &text, &present)) return false;
  if (present) {
    if (!CheckBic(r, "bic", text)) return false;
    e->set_bic(text);
  }
  return true;
}

// The same checks as agency_registered's, on the fields that change.
bool ReadAgencyUpdated(Reader& r, dom::object o, events::AgencyUpdated* e) {
  std::optional<dom::object> changes;
  if (!r.String(o, "", "agency_id", Text::kId, e->mutable_agency_id()) ||
      !r.Object(o, "", "changes", true, &changes) ||
      !r.CheckFields(*changes, "changes", {"name", "business_id", "einvoice_address", "iban", "bic"})) {
    return false;
  }
  auto* out = e->mutable_changes();
  std::string text;
  bool present;
  if (!r.OptionalString(*changes, "changes", "name", Text::kName, &text, &present)) return false;
  if (present) out->set_name(text);
  if (!r.OptionalString(*changes, "changes", "business_id", Text::kId, &text, &present)) return false;
  if (present) {
    if (!CheckBusinessId(r, "changes.business_id", text)) return false;
    out->set_business_id(text);
  }
  if (!r.OptionalString(*changes, "changes", "einvoice_address", Text::kId, &text, &present)) {
    return false;
  }
  if (present) out->set_einvoice_address(text);
  if (!r.OptionalString(*changes, "changes", "iban", Text::kId, &text, &present)) return false;
  if (present) {
    if (!CheckIban(r, "changes.iban", text)) return false;
    out->set_iban(text);
  }
  if (!r.OptionalString(*changes, "changes", "bic", Text::kId, &text, &present)) return false;
  if (present) {
    if (!CheckBic(r, "changes.bic", text)) return false;
    out->set_bic(text);
  }
  if (!out->has_name() && !out->has_business_id() && !out->has_einvoice_address() &&
      !out->has_iban() && !out->has_bic()) {
    return r.Fail(RejectReason::kSchema, "changes", "must change at least one field");
  }
  return true;
}

// approval_policy_set (SPEC section 8): 1 or 2 approvals from a date on.
bool ReadApprovalPolicySet(Reader& r, dom::object o, events::ApprovalPolicySet* e) {
  bool present;
  int64_t required;
  if (!r.String(o, "", "host_agency_id", Text::kId, e->mutable_host_agency_id()) ||
      !r.Integer(o, "", "required_approvals", 1, 2, &required) ||
      !r.Date(o, "", "effective_from", true, e->mutable_effective_from(), &present)) {
    return false;
  }
  e->set_required_approvals(static_cast<int32_t>(required));
  return true;
}

// SPEC section 8: the predecessor, its successor (another agency) and the day, which
// must be a quarter's first day: tori's counters and invoices are per quarter, so a
// succession within one could not be told apart from the quarter's other contacts
// (both reforms took effect on 1 January). The rest (both known, no loop, once per
// predecessor) needs the index: events/validate/event_rules.cc.
bool ReadAgencySucceeded(Reader& r, dom::object o, events::AgencySucceeded* e) {
  bool present;
  if (!r.String(o, "", "agency_id", Text::kId, e->mutable_agency_id()) ||
      !r.String(o, "", "successor_agency_id", Text::kId, e->mutable_successor_agency_id()) ||
      !r.Date(o, "", "effective_from", true, e->mutable_effective_from(), &present)) {
    return false;
  }
  if (e->successor_agency_id() == e->agency_id()) {
    return r.Fail(RejectReason::kRange, "successor_agency_id",
                  fmt::format("'{}' cannot succeed itself; name another agency", e->agency_id()));
  }
  const absl::StatusOr<absl::CivilDay> day = ParseDay(e->effective_from());
  if (!day.ok() || day->day() != 1 || (day->month() - 1) % 3 != 0) {
    return r.Fail(RejectReason::kRange, "effective_from",
                  fmt::format("'{}' is not the first day of a quarter (YYYY-01-01, -04-01, "
                              "-07-01 or -10-01); tori bills by quarter",
                              e->effective_from()));
  }
  return true;
}

bool ReadServicePointOpened(Reader& r, dom::object o, events::ServicePointOpened* e) {
  int64_t area;
  if (!r.String(o, "", "service_point_id", Text::kNamingId, e->mutable_service_point_id()) ||
      !r.String(o, "", "name", Text::kName, e->mutable_name()) ||
      !r.String(o, "", "municipality", Text::kName, e->mutable_municipality()) ||
      !r.String(o, "", "host_agency_id", Text::kId, e->mutable_host_agency_id()) ||
      !r.Decimal(o, "", "total_area_m2", kAreaScale, /*allow_negative=*/false, &area) ||
      !codec_internal::ReadServicePointKind(r, o, e)) {
    return false;
  }
  // A mobile route (SPEC section 9) may have no premises of its own.
  if (area == 0 && e->kind() != events::SERVICE_POINT_KIND_MOBILE) {
    return r.Fail(RejectReason::kRange, "total_area_m2", "must be above 0 (0 only for kind mobile)");
  }
  e->set_total_area_centi_m2(area);
  return true;
}

bool ReadSpaceAllocated(Reader& r, dom::object o, events::SpaceAllocated* e) {
  bool present;
  std::optional<dom::array> allocations;
  int64_t shared;
  if (!r.String(o, "", "service_point_id", Text::kId, e->mutable_service_point_id()) ||
      !r.Date(o, "", "effective_from", true, e->mutable_effective_from(), &present) ||
      !r.Array(o, "", "allocations", true, &allocations) ||
      !ListSize(r, *allocations, "allocations", 0) ||
      !r.Decimal(o, "", "shared_area_m2", kAreaScale, false, &shared)) {
    return false;
  }
  e->set_shared_area_centi_m2(shared);
  size_t i = 0;
  for (dom::element item : *allocations) {
    const std::string path = Reader::Index("allocations", i++);
    dom::object a;
    if (item.get_object().get(a) != simdjson::SUCCESS) {
      return r.Fail(RejectReason::kSchema, path, "must be an object {agency_id, area_m2}");
    }
    auto* out = e->add_allocations();
    int64_t area;
    if (!r.CheckFields(a, path, {"agency_id", "area_m2"}) ||
        !r.String(a, path, "agency_id", Text::kId, out->mutable_agency_id()) ||
        !r.Decimal(a, path, "area_m2", kAreaScale, false, &area)) {
      return false;
    }
    out->set_area_centi_m2(area);
    for (int k = 0; k + 1 < e->allocations_size(); ++k) {
      if (e->allocations(k).agency_id() == out->agency_id()) {
        return r.Fail(RejectReason::kRange, Reader::Path(path, "agency_id"),
                      fmt::format("agency '{}' is allocated twice", out->agency_id()));
      }
    }
  }
  return true;
}

// A pool's optional `display_names` {"fi": ..., "sv": ..., "en": ...}: the documents'
// languages only, each a non-empty name, at least one.
bool ReadDisplayNames(Reader& r, dom::object body, const std::string& path,
                      events::PoolRule* pool) {
  std::optional<dom::object> names;
  if (!r.Object(body, path, "display_names", false, &names)) return false;
  if (!names) return true;
  const std::string npath = Reader::Path(path, "display_names");
  for (dom::key_value_pair entry : *names) {
    const std::string lpath = Reader::Path(npath, entry.key);
    if (entry.key != "fi" && entry.key != "sv" && entry.key != "en") {
      return r.Fail(RejectReason::kSchema, lpath,
                    fmt::format("unknown language '{}'; languages are fi, sv, en", entry.key));
    }
    auto* name = pool->add_display_names();
    name->set_language(std::string(entry.key));
    if (!r.StringValue(entry.value, lpath, Text::kName, name->mutable_name())) return false;
  }
  if (pool->display_names_size() == 0) {
    return r.Fail(RejectReason::kRange, npath, "must name the pool in at least one language");
  }
  std::sort(pool->mutable_display_names()->begin(), pool->mutable_display_names()->end(),
            [](const auto& a, const auto& b) { return a.language() < b.language(); });
  for (int n = 1; n < pool->display_names_size(); ++n) {
    if (pool->display_names(n).language() == pool->display_names(n - 1).language()) {
      return r.Fail(RejectReason::kSchema, npath,
                    fmt::format("names language '{}' twice", pool->display_names(n).language()));
    }
  }
  return true;
}

bool ReadPools(Reader& r, dom::object pools, events::AgreementSigned* e) {
  for (dom::key_value_pair entry : pools) {
    const std::string path = Reader::Path("pools", entry.key);
    if (!r.CheckText(entry.key, path, Text::kId)) return false;
    auto* pool = e->add_pools();
    pool->set_pool(std::string(entry.key));
    dom::object body;
    std::optional<dom::array> tranches;
    if (entry.value.get_object().get(body) != simdjson::SUCCESS) {
      return r.Fail(RejectReason::kSchema, path,
                    "must be an object {tranches, fallback_key, display_names}");
    }
    if (!r.CheckFields(body, path, {"tranches", "fallback_key", "display_names"}) ||
        !r.Array(body, path, "tranches", true, &tranches) ||
        !ListSize(r, *tranches, Reader::Path(path, "tranches"), 1)) {
      return false;
    }
    int64_t weight_sum = 0;
    size_t i = 0;
    for (dom::element item : *tranches) {
      const std::string tpath = Reader::Index(Reader::Path(path, "tranches"), i++);
      dom::object t;
      if (item.get_object().get(t) != simdjson::SUCCESS) {
        return r.Fail(RejectReason::kSchema, tpath, "must be an object {weight_pct, key}");
      }
      auto* tranche = pool->add_tranches();
      int64_t weight;
      if (!r.CheckFields(t, tpath, {"weight_pct", "key"}) ||
          !r.Decimal(t, tpath, "weight_pct", kPctScale, false, &weight) ||
          !r.String(t, tpath, "key", Text::kId, tranche->mutable_key())) {
        return false;
      }
      if (!IsKey(tranche->key())) {
        return r.Fail(RejectReason::kSchema, Reader::Path(tpath, "key"),
                      fmt::format("unknown key '{}'; keys are: {}", tranche->key(), KeyList()));
      }
      tranche->set_weight_pct_e4(weight);
      weight_sum += weight;  // bounded: <= 10'000 items of <= 10^17
    }
    if (weight_sum != kPct100) {
      return r.Fail(RejectReason::kRange, Reader::Path(path, "tranches"),
                    fmt::format("tranche weights sum to {} %, must be 100",
                                FormatDecimal(weight_sum, kPctScale)));
    }
    std::string fallback;
    bool present;
    if (!r.OptionalString(body, path, "fallback_key", Text::kId, &fallback, &present)) {
      return false;
    }
    if (present) {
      if (!IsKey(fallback)) {
        return r.Fail(RejectReason::kSchema, Reader::Path(path, "fallback_key"),
                      fmt::format("unknown key '{}'; keys are: {}", fallback, KeyList()));
      }
      pool->set_fallback_key(fallback);
    }
    if (!ReadDisplayNames(r, body, path, pool)) return false;
  }
  std::sort(e->mutable_pools()->begin(), e->mutable_pools()->end(),
            [](const auto& a, const auto& b) { return a.pool() < b.pool(); });
  return true;
}

bool IsParty(const events::AgreementSigned& e, const std::string& agency_id) {
  return std::find(e.parties().begin(), e.parties().end(), agency_id) != e.parties().end();
}

bool HasPool(const events::AgreementSigned& e, const std::string& pool) {
  return std::any_of(e.pools().begin(), e.pools().end(),
                     [&](const auto& p) { return p.pool() == pool; });
}

bool ReadSubsidies(Reader& r, dom::array subsidies, events::AgreementSigned* e) {
  size_t i = 0;
  for (dom::element item : subsidies) {
    const std::string path = Reader::Index("subsidies", i++);
    dom::object s;
    if (item.get_object().get(s) != simdjson::SUCCESS) {
      return r.Fail(RejectReason::kSchema, path, "must be an object");
    }
    auto* rule = e->add_subsidies();
    int64_t rate;
    std::string basis;
    std::optional<dom::array> pools;
    if (!r.CheckFields(s, path, {"program_id", "claimant_agency_id", "rate_pct", "basis", "pools",
                                 "annual_cap"}) ||
        !r.String(s, path, "program_id", Text::kNamingId, rule->mutable_program_id()) ||
        !r.String(s, path, "claimant_agency_id", Text::kId, rule->mutable_claimant_agency_id()) ||
        !r.Decimal(s, path, "rate_pct", kPctScale, false, &rate) ||
        !r.String(s, path, "basis", Text::kId, &basis) ||
        !r.Array(s, path, "pools", true, &pools) ||
        !ListSize(r, *pools, Reader::Path(path, "pools"), 1)) {
      return false;
    }
    if (rate > kPct100) {
      return r.Fail(RejectReason::kRange, Reader::Path(path, "rate_pct"), "must be 0..100");
    }
    rule->set_rate_pct_e4(rate);
    if (basis == "pool_total") {
      rule->set_basis(events::SUBSIDY_BASIS_POOL_TOTAL);
    } else if (basis == "claimant_share") {
      rule->set_basis(events::SUBSIDY_BASIS_CLAIMANT_SHARE);
    } else {
      return r.Fail(RejectReason::kSchema, Reader::Path(path, "basis"),
                    fmt::format("'{}' is not one of: pool_total, claimant_share", basis));
    }
    if (!IsParty(*e, rule->claimant_agency_id())) {
      return r.Fail(RejectReason::kRange, Reader::Path(path, "claimant_agency_id"),
                    fmt::format("claimant '{}' is not a party of the agreement",
                                rule->claimant_agency_id()));
    }
    size_t k = 0;
    for (dom::element p : *pools) {
      const std::string ppath = Reader::Index(Reader::Path(path, "pools"), k++);
      std::string pool;
      if (!r.StringValue(p, ppath, Text::kId, &pool)) return false;
      if (!HasPool(*e, pool)) {
        return r.Fail(RejectReason::kRange, ppath,
                      fmt::format("pool '{}' is not a pool of the agreement", pool));
      }
      rule->add_pools(pool);
    }
    if (auto cap = r.Field(s, path, "annual_cap", /*required=*/false)) {
      int64_t cap_cents;
      if (!r.DecimalValue(*cap, Reader::Path(path, "annual_cap"), kMoneyScale, false,
                          &cap_cents)) {
        return false;
      }
      rule->set_annual_cap_cents(cap_cents);
    }
  }
  return true;
}

bool ReadAgreementSigned(Reader& r, dom::object o, events::AgreementSigned* e) {
  bool present;
  int64_t version;
  std::string effective_to;
  std::optional<dom::array> parties;
  std::optional<dom::object> pools;
  if (!r.String(o, "", "agreement_id", Text::kId, e->mutable_agreement_id()) ||
      !r.Integer(o, "", "version", 1, INT32_MAX, &version) ||
      !r.String(o, "", "service_point_id", Text::kId, e->mutable_service_point_id()) ||
      !r.Date(o, "", "effective_from", true, e->mutable_effective_from(), &present) ||
      !r.Date(o, "", "effective_to", false, &effective_to, &present)) {
    return false;
  }
  e->set_version(version);
  if (present) {
    if (effective_to <= e->effective_from()) {
      return r.Fail(RejectReason::kRange, "effective_to",
                    "must be later than effective_from (effective_to is exclusive)");
    }
    e->set_effective_to(effective_to);
  }
  if (!r.Array(o, "", "parties", true, &parties) || !ListSize(r, *parties, "parties", 1)) {
    return false;
  }
  size_t i = 0;
  for (dom::element p : *parties) {
    const std::string path = Reader::Index("parties", i++);
    std::string party;
    if (!r.StringValue(p, path, Text::kId, &party)) return false;
    if (IsParty(*e, party)) {
      return r.Fail(RejectReason::kRange, path, fmt::format("party '{}' is listed twice", party));
    }
    e->add_parties(party);
  }
  if (!r.Object(o, "", "pools", true, &pools) || !ReadPools(r, *pools, e)) return false;

  std::optional<dom::object> weights;
  if (!r.Object(o, "", "service_weights", false, &weights)) return false;
  if (weights) {
    e->set_has_service_weights(true);
    for (dom::key_value_pair w : *weights) {
      const std::string path = Reader::Path("service_weights", w.key);
      if (!r.CheckText(w.key, path, Text::kId)) return false;
      auto* sw = e->add_service_weights();
      int64_t weight;
      if (!r.DecimalValue(w.value, path, kPctScale, false, &weight)) return false;
      sw->set_service_code(std::string(w.key));
      sw->set_weight_e4(weight);
    }
    std::sort(e->mutable_service_weights()->begin(), e->mutable_service_weights()->end(),
              [](const auto& a, const auto& b) { return a.service_code() < b.service_code(); });
  }

  std::optional<dom::object> fixed;
  if (!r.Object(o, "", "fixed_shares", false, &fixed)) return false;
  if (fixed) {
    e->set_has_fixed_shares(true);
    int64_t sum = 0;
    for (dom::key_value_pair f : *fixed) {
      const std::string path = Reader::Path("fixed_shares", f.key);
      if (!r.CheckText(f.key, path, Text::kId)) return false;
      auto* share = e->add_fixed_shares();
      int64_t pct;
      if (!r.DecimalValue(f.value, path, kPctScale, false, &pct)) return false;
      share->set_agency_id(std::string(f.key));
      share->set_pct_e4(pct);
      if (!IsParty(*e, share->agency_id())) {
        return r.Fail(RejectReason::kRange, path,
                      fmt::format("'{}' is not a party of the agreement", f.key));
      }
      sum += pct;
    }
    if (sum != kPct100) {
      return r.Fail(RejectReason::kRange, "fixed_shares",
                    fmt::format("fixed shares sum to {} %, must be 100",
                                FormatDecimal(sum, kPctScale)));
    }
    std::sort(e->mutable_fixed_shares()->begin(), e->mutable_fixed_shares()->end(),
              [](const auto& a, const auto& b) { return a.agency_id() < b.agency_id(); });
  }

  std::optional<dom::array> subsidies;
  if (!r.Array(o, "", "subsidies", false, &subsidies)) return false;
  if (subsidies) {
    e->set_has_subsidies(true);
    if (!ListSize(r, *subsidies, "subsidies", 0) || !ReadSubsidies(r, *subsidies, e)) return false;
  }
  return true;
}

// Into views of the parsed document (copied out by the caller before the next parse).
bool ReadContactRecorded(Reader& r, dom::object o, ContactRecordedView& e) {
  return r.StringView(o, "", "contact_id", Text::kId, &e.contact_id) &&
         r.StringView(o, "", "service_point_id", Text::kId, &e.service_point_id) &&
         r.StringView(o, "", "agency_id", Text::kId, &e.agency_id) &&
         r.StringView(o, "", "service_code", Text::kId, &e.service_code) &&
         EnumField(r, o, "", "channel", kChannels, &e.channel) &&
         EnumField(r, o, "", "handled_by", kHandledBy, &e.handled_by) &&
         r.Integer(o, "", "duration_s", 0, kDurationSecondsMax, &e.duration_s);
}

bool ReadContactCorrected(Reader& r, dom::object o, events::ContactCorrected* e) {
  std::optional<dom::object> changes;
  if (!r.String(o, "", "contact_id", Text::kId, e->mutable_contact_id()) ||
      !r.Object(o, "", "changes", true, &changes) ||
      !r.CheckFields(*changes, "changes",
                     {"agency_id", "service_code", "channel", "handled_by", "duration_s"}) ||
      !r.String(o, "", "reason", Text::kName, e->mutable_reason())) {
    return false;
  }
  auto* out = e->mutable_changes();
  std::string text;
  bool present;
  if (!r.OptionalString(*changes, "changes", "agency_id", Text::kId, &text, &present)) return false;
  if (present) out->set_agency_id(text);
  if (!r.OptionalString(*changes, "changes", "service_code", Text::kId, &text, &present)) {
    return false;
  }
  if (present) out->set_service_code(text);
  // Enumerations and the duration are read with the same rules as on contact_recorded.
  if (r.Field(*changes, "changes", "channel", false)) {
    events::Channel channel = events::CHANNEL_UNSPECIFIED;
    if (!EnumField(r, *changes, "changes", "channel", kChannels, &channel)) return false;
    out->set_channel(channel);
  }
  if (r.Field(*changes, "changes", "handled_by", false)) {
    events::HandledBy handled_by = events::HANDLED_BY_UNSPECIFIED;
    if (!EnumField(r, *changes, "changes", "handled_by", kHandledBy, &handled_by)) return false;
    out->set_handled_by(handled_by);
  }
  if (r.Field(*changes, "changes", "duration_s", false)) {
    int64_t duration;
    if (!r.Integer(*changes, "changes", "duration_s", 0, kDurationSecondsMax, &duration)) {
      return false;
    }
    out->set_duration_s(duration);
  }
  if (!out->has_agency_id() && !out->has_service_code() && !out->has_channel() &&
      !out->has_handled_by() && !out->has_duration_s()) {
    return r.Fail(RejectReason::kSchema, "changes", "must change at least one field");
  }
  return true;
}

bool ReadContactVoided(Reader& r, dom::object o, events::ContactVoided* e) {
  return r.String(o, "", "contact_id", Text::kId, e->mutable_contact_id()) &&
         r.String(o, "", "reason", Text::kName, e->mutable_reason());
}

bool ReadCostPosted(Reader& r, dom::object o, events::CostPosted* e) {
  int64_t amount;
  if (!r.String(o, "", "cost_id", Text::kId, e->mutable_cost_id()) ||
      !r.String(o, "", "service_point_id", Text::kId, e->mutable_service_point_id()) ||
      !r.String(o, "", "pool", Text::kId, e->mutable_pool()) ||
      !r.Month(o, "", "period", e->mutable_period()) ||
      !r.Decimal(o, "", "amount", kMoneyScale, /*allow_negative=*/true, &amount) ||
      !r.String(o, "", "description", Text::kName, e->mutable_description())) {
    return false;
  }
  e->set_amount_cents(amount);
  std::string ref;
  bool present;
  if (!r.OptionalString(o, "", "document_ref", Text::kId, &ref, &present)) return false;
  if (present) e->set_document_ref(ref);
  return true;
}

bool ReadRoomBooked(Reader& r, dom::object o, events::RoomBooked* e) {
  int64_t start, end;
  if (!r.String(o, "", "booking_id", Text::kId, e->mutable_booking_id()) ||
      !r.String(o, "", "service_point_id", Text::kId, e->mutable_service_point_id()) ||
      !r.String(o, "", "room_id", Text::kId, e->mutable_room_id()) ||
      !r.String(o, "", "agency_id", Text::kId, e->mutable_agency_id()) ||
      !r.Instant(o, "", "start", &start) || !r.Instant(o, "", "end", &end)) {
    return false;
  }
  if (end <= start) return r.Fail(RejectReason::kRange, "end", "must be later than start");
  e->set_start_unix_ns(start);
  e->set_end_unix_ns(end);
  return true;
}

#define TORI_ENVELOPE "event_id", "type", "occurred_at"

// Byte offset of the first byte that starts no valid UTF-8 sequence (rejected lines
// only; overlong forms and surrogates are left to simdjson's verdict).
size_t FirstNonUtf8Byte(std::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    const auto lead = static_cast<unsigned char>(text[i]);
    const size_t length = lead < 0x80 ? 1 : (lead >> 5) == 0x6 ? 2 : (lead >> 4) == 0xE ? 3
                                        : (lead >> 3) == 0x1E   ? 4
                                                                : 0;
    if (length == 0 || i + length > text.size()) return i;
    for (size_t k = 1; k < length; ++k) {
      if ((static_cast<unsigned char>(text[i + k]) & 0xC0) != 0x80) return i;
    }
    i += length;
  }
  return i;
}

// Files saved by Excel and older Windows tools are Windows-1252 (a superset of
// Latin-1): the message says where and how to convert, not only that it is wrong.
std::string NotUtf8Message(std::string_view line) {
  const size_t at = FirstNonUtf8Byte(line);
  return fmt::format(
      "line is not valid UTF-8 (byte 0x{:02X} at byte {} of the line); events are UTF-8: a "
      "file saved as Latin-1 / Windows-1252 (e.g. by Excel) converts with `iconv -f "
      "windows-1252 -t utf-8 FILE > FILE.utf8.jsonl`",
      at < line.size() ? static_cast<unsigned char>(line[at]) : 0, at + 1);
}

}  // namespace

struct JsonEventParser::Impl {
  dom::parser parser;
  Reader reader;
  std::string padded;  // copy of a line that lacks padding
  ParsedEvent parsed;  // for Parse into an Event
};

size_t JsonParserPaddingBytes() { return simdjson::SIMDJSON_PADDING; }

JsonEventParser::JsonEventParser() : impl_(std::make_unique<Impl>()) {
  // Bounded: the parser never grows beyond one maximal line.
  // Allocation failure here is out of memory at start-up; Parse then reports
  // every line as MALFORMED rather than crashing.
  const auto error = impl_->parser.allocate(kEventLineBytesMax, simdjson::DEFAULT_MAX_DEPTH);
  (void)error;
}
JsonEventParser::~JsonEventParser() = default;

std::optional<Rejection> JsonEventParser::Parse(std::string_view line, size_t readable_bytes,
                                                events::Event& event) {
  ParsedEvent& parsed = impl_->parsed;
  if (auto rejection = Parse(line, readable_bytes, parsed)) return rejection;
  if (parsed.contact) {
    FillEvent(*parsed.contact, event);
  } else {
    event.Swap(&parsed.event);
  }
  return std::nullopt;
}

std::optional<Rejection> JsonEventParser::Parse(std::string_view line, size_t readable_bytes,
                                                ParsedEvent& parsed) {
  Reader& r = impl_->reader;
  r.Reset();
  parsed.contact.reset();
  parsed.encoded.clear();
  if (line.size() > kEventLineBytesMax) {
    return Rejection{RejectReason::kMalformed, "",
                     fmt::format("line is {} bytes, longer than the limit of {} bytes",
                                 line.size(), kEventLineBytesMax)};
  }
  const char* data = line.data();
  if (readable_bytes < line.size() + simdjson::SIMDJSON_PADDING) {
    impl_->padded.assign(line);
    impl_->padded.resize(line.size() + simdjson::SIMDJSON_PADDING, '\0');
    data = impl_->padded.data();
  }
  dom::element root;
  if (auto error = impl_->parser.parse(data, line.size(), false).get(root)) {
    // simdjson rejects invalid UTF-8 itself but may name another error first; checked
    // again here, for rejected lines only, the message stays what it was.
    if (!simdjson::validate_utf8(data, line.size())) {
      return Rejection{RejectReason::kMalformed, "", NotUtf8Message(line)};
    }
    return Rejection{RejectReason::kMalformed, "",
                     fmt::format("not a JSON value: {}", simdjson::error_message(error))};
  }
  dom::object o;
  if (root.get_object().get(o) != simdjson::SUCCESS) {
    return Rejection{RejectReason::kSchema, "", "an event must be a JSON object"};
  }
  std::string_view event_id, type;
  int64_t occurred_at;
  if (!r.StringView(o, "", "event_id", Text::kId, &event_id) ||
      !r.StringView(o, "", "type", Text::kId, &type) ||
      !r.Instant(o, "", "occurred_at", &occurred_at)) {
    return r.failure();
  }
  if (type == "contact_recorded") {
    ContactRecordedView contact;  // views into the document, until encoded
    contact.event_id = event_id;
    contact.occurred_at_unix_ns = occurred_at;
    if (!r.CheckFields(o, "", {TORI_ENVELOPE, "contact_id", "service_point_id", "agency_id",
                               "service_code", "channel", "handled_by", "duration_s"}) ||
        !ReadContactRecorded(r, o, contact)) {
      return r.failure();
    }
    parsed.contact = AppendEncoded(contact, parsed.encoded);
    return std::nullopt;
  }
  events::Event& event = parsed.event;
  event.Clear();
  event.set_event_id(std::string(event_id));
  event.set_occurred_at_unix_ns(occurred_at);
  event.set_schema_version(SchemaVersionOf(type));

  bool ok;
  if (type == "agency_registered") {
    ok = r.CheckFields(o, "", {TORI_ENVELOPE, "agency_id", "name", "kind", "business_id",
                               "einvoice_address", "iban", "bic"}) &&
         ReadAgencyRegistered(r, o, event.mutable_agency_registered());
    if (ok && event.agency_registered().kind() == events::AGENCY_KIND_COMPANY) {
      event.set_schema_version(kSchemaVersionCompany);
    }
  } else if (type == "agency_updated") {
    ok = r.CheckFields(o, "", {TORI_ENVELOPE, "agency_id", "changes"}) &&
         ReadAgencyUpdated(r, o, event.mutable_agency_updated());
  } else if (type == "agency_succeeded") {
    ok = r.CheckFields(o, "", {TORI_ENVELOPE, "agency_id", "successor_agency_id", "effective_from"}) &&
         ReadAgencySucceeded(r, o, event.mutable_agency_succeeded());
  } else if (type == "access_granted") {
    ok = r.CheckFields(o, "", {TORI_ENVELOPE, "token_id", "token_sha256", "role", "name",
                               "agency_id", "service_point_id", "granted_by_agency_id"}) &&
         ReadAccessGranted(r, o, event.mutable_access_granted());
    if (ok && !event.access_granted().granted_by_agency_id().empty()) {
      event.set_schema_version(kSchemaVersionGrantedBy);
    }
  } else if (type == "access_revoked") {
    ok = r.CheckFields(o, "", {TORI_ENVELOPE, "token_id"}) &&
         r.String(o, "", "token_id", Text::kId, event.mutable_access_revoked()->mutable_token_id());
  } else if (type == "approval_policy_set") {
    ok = r.CheckFields(o, "", {TORI_ENVELOPE, "host_agency_id", "required_approvals",
                               "effective_from"}) &&
         ReadApprovalPolicySet(r, o, event.mutable_approval_policy_set());
  } else if (type == "service_point_opened") {
    ok = r.CheckFields(o, "", {TORI_ENVELOPE, "service_point_id", "name", "municipality",
                               "host_agency_id", "total_area_m2", "kind"}) &&
         ReadServicePointOpened(r, o, event.mutable_service_point_opened());
    // A mobile route carries schema_version 2 (an older reader would bill it as an office).
    if (ok && event.service_point_opened().kind() != events::SERVICE_POINT_KIND_OFFICE) {
      event.set_schema_version(kSchemaVersionSection9);
    }
  } else if (type == "space_allocated") {
    ok = r.CheckFields(o, "", {TORI_ENVELOPE, "service_point_id", "effective_from",
                               "allocations", "shared_area_m2"}) &&
         ReadSpaceAllocated(r, o, event.mutable_space_allocated());
  } else if (type == "agreement_signed") {
    ok = r.CheckFields(o, "", {TORI_ENVELOPE, "agreement_id", "version", "service_point_id",
                               "effective_from", "effective_to", "parties", "pools",
                               "service_weights", "fixed_shares", "subsidies"}) &&
         ReadAgreementSigned(r, o, event.mutable_agreement_signed());
  } else if (type == "contact_corrected") {
    ok = r.CheckFields(o, "", {TORI_ENVELOPE, "contact_id", "changes", "reason"}) &&
         ReadContactCorrected(r, o, event.mutable_contact_corrected());
  } else if (type == "contact_voided") {
    ok = r.CheckFields(o, "", {TORI_ENVELOPE, "contact_id", "reason"}) &&
         ReadContactVoided(r, o, event.mutable_contact_voided());
  } else if (type == "cost_posted") {
    ok = r.CheckFields(o, "", {TORI_ENVELOPE, "cost_id", "service_point_id", "pool", "period",
                               "amount", "description", "document_ref"}) &&
         ReadCostPosted(r, o, event.mutable_cost_posted());
  } else if (type == "room_booked") {
    ok = r.CheckFields(o, "", {TORI_ENVELOPE, "booking_id", "service_point_id", "room_id",
                               "agency_id", "start", "end"}) &&
         ReadRoomBooked(r, o, event.mutable_room_booked());
  } else if (auto section9 = codec_internal::ReadSection9Event(r, type, o, event)) {
    ok = *section9;
    event.set_schema_version(kSchemaVersionSection9);
  } else if (type == "invoice_issued" || type == "subsidy_claim_issued" || type == "host_shares_issued" ||
             type == "checkpoint_signed" || type == "quarter_prepared" || type == "quarter_approved") {
    return Rejection{RejectReason::kSchema, "type",
                     fmt::format("'{}' events are written by `tori bill` (checkpoint_signed: `tori checkpoint`; "
                                 "quarter_approved: `tori approve`) only", type)};
  } else {
    return Rejection{RejectReason::kSchema, "type",
                     fmt::format("unknown event type '{}'", type)};
  }
  if (!ok) return r.failure();
  AppendEncoded(event, parsed.encoded);
  return std::nullopt;
}

}  // namespace tori
