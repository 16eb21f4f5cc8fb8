// The table of event rules (internal/event_rules.h): one row per event type, in the
// order of SPEC section 2's table.
#include <array>
#include <cstring>

#include "events/base/check.h"
#include "events/base/fixed.h"
#include "events/base/decimal.h"
#include "events/validate/index_keys.h"
#include "events/validate/internal/event_rules.h"
#include "events/validate/internal/section9_rules.h"
#include "events/validate/validator.h"
#include "fmt/format.h"

namespace tori::rules {
namespace {

using events::Event;
namespace keys = index_keys;

// The DUPLICATE_CONFLICT of a reused id (SPEC: ids of new entities are unique).
Created New(char kind, std::string_view id, std::string value, std::string field,
            std::string_view what) {
  return Created{keys::Key(kind, id), std::move(value), std::move(field),
                 fmt::format("{} '{}' already exists; ids of new entities are unique", what, id)};
}

// A point's entry: its total area (8 bytes, little-endian: events/base/fixed.h) and its
// host's id.
std::string PointValue(const events::ServicePointOpened& e) {
  std::string value;
  PutFixed64(value, static_cast<uint64_t>(e.total_area_centi_m2()));
  value += e.host_agency_id();
  return value;
}
int64_t PointTotalArea(const std::string& value) {
  TORI_CHECK(value.size() >= 8);  // index_keys::EntryProblem checked it
  return static_cast<int64_t>(DecodeFixed64(value.data()));
}

// --- agency_registered: a new agency_id.
std::optional<Created> AgencyRegisteredCreates(const Event& event) {
  return New(keys::kAgency, event.agency_registered().agency_id(), "", "agency_id", "agency");
}

// --- agency_updated: of a registered agency (issue #15.8).
void AgencyUpdatedReferences(const Event& event, std::vector<Reference>& out) {
  out.push_back({keys::kAgency, event.agency_updated().agency_id(), "agency_id"});
}

// --- agency_succeeded (SPEC 8): both agencies known; a predecessor is succeeded at most
// once (DUPLICATE_CONFLICT); the successor's own line of successors must not lead back
// to the predecessor (RANGE: a loop would leave no one to bill), and is at most
// kSuccessionChainMax long, so the walk here and the engine's resolution stay bounded.
constexpr int kSuccessionChainMax = 64;
std::optional<Created> AgencySucceededCreates(const Event& event) {
  const auto& e = event.agency_succeeded();
  return Created{keys::Key(keys::kSucceeded, e.agency_id()), e.successor_agency_id(), "agency_id",
                 fmt::format("agency '{}' is succeeded already; an agency is succeeded at most "
                             "once (a later reform succeeds its successor)",
                             e.agency_id())};
}
void AgencySucceededReferences(const Event& event, std::vector<Reference>& out) {
  const auto& e = event.agency_succeeded();
  out.push_back({keys::kAgency, e.agency_id(), "agency_id"});
  out.push_back({keys::kAgency, e.successor_agency_id(), "successor_agency_id"});
}
absl::StatusOr<std::optional<Rejection>> AgencySucceededMore(const Event& event,
                                                             IndexOverlay& index) {
  const auto& e = event.agency_succeeded();
  std::string next = e.successor_agency_id();
  for (int links = 1; links <= kSuccessionChainMax; ++links) {
    TORI_ASSIGN_OR_RETURN(auto successor, index.Get(keys::Key(keys::kSucceeded, next)));
    if (!successor) return std::nullopt;
    if (*successor == e.agency_id()) {
      return Rejection{RejectReason::kRange, "successor_agency_id",
                       fmt::format("the successors of '{}' lead back to '{}' ({} succeeds "
                                   "'{}'): the successions would loop; name another successor",
                                   e.successor_agency_id(), e.agency_id(), e.agency_id(), next)};
    }
    next = *successor;
  }
  return Rejection{RejectReason::kRange, "successor_agency_id",
                   fmt::format("'{}' has more than {} successors in a line; tori follows at most "
                               "that many",
                               e.successor_agency_id(), kSuccessionChainMax)};
}

// --- service_point_opened: a new service_point_id, hosted by a known agency.
std::optional<Created> PointOpenedCreates(const Event& event) {
  const auto& e = event.service_point_opened();
  return New(keys::kPoint, e.service_point_id(), PointValue(e), "service_point_id",
             "service point");
}
void PointOpenedReferences(const Event& event, std::vector<Reference>& out) {
  out.push_back({keys::kAgency, event.service_point_opened().host_agency_id(), "host_agency_id"});
}

// --- space_allocated: a known point and agencies; the allocations and the shared area
// within the point's total area (RANGE).
void SpaceAllocatedReferences(const Event& event, std::vector<Reference>& out) {
  const auto& e = event.space_allocated();
  out.push_back({keys::kPoint, e.service_point_id(), "service_point_id"});
  for (int i = 0; i < e.allocations_size(); ++i) {
    out.push_back({keys::kAgency, e.allocations(i).agency_id(),
                   "allocations", i, ".agency_id"});
  }
}
absl::StatusOr<std::optional<Rejection>> SpaceAllocatedMore(const Event& event,
                                                             IndexOverlay& index) {
  const auto& e = event.space_allocated();
  TORI_ASSIGN_OR_RETURN(auto point, index.Get(keys::Key(keys::kPoint, e.service_point_id())));
  TORI_CHECK(point.has_value());  // row 3 found it
  int64_t used = e.shared_area_centi_m2();
  for (const auto& allocation : e.allocations()) {
    used += allocation.area_centi_m2();  // bounded: each < 10^17, <= 10^4 items
  }
  const int64_t total = PointTotalArea(*point);
  if (used <= total) return std::nullopt;
  return Rejection{RejectReason::kRange, "allocations",
                   fmt::format("allocated {} m2 (with the shared area) exceeds the point's "
                               "total area of {} m2",
                               FormatDecimal(used, kAreaScale), FormatDecimal(total, kAreaScale))};
}

// --- agreement_signed: a new version of the agreement, on a known point, between known
// parties; an agreement stays on its point (RANGE).
std::optional<Created> AgreementSignedCreates(const Event& event) {
  const auto& e = event.agreement_signed();
  return Created{keys::AgreementVersionKey(e.agreement_id(), std::to_string(e.version())), "",
                 "version",
                 fmt::format("agreement '{}' version {} exists; sign a new version",
                             e.agreement_id(), e.version())};
}
void AgreementSignedReferences(const Event& event, std::vector<Reference>& out) {
  const auto& e = event.agreement_signed();
  out.push_back({keys::kPoint, e.service_point_id(), "service_point_id"});
  for (int i = 0; i < e.parties_size(); ++i) {
    out.push_back({keys::kAgency, e.parties(i), "parties", i});
  }
}
absl::StatusOr<std::optional<Rejection>> AgreementSignedMore(const Event& event,
                                                              IndexOverlay& index) {
  const auto& e = event.agreement_signed();
  TORI_ASSIGN_OR_RETURN(auto point, index.Get(keys::Key(keys::kAgreement, e.agreement_id())));
  if (!point || *point == e.service_point_id()) return std::nullopt;
  return Rejection{RejectReason::kRange, "service_point_id",
                   fmt::format("agreement '{}' belongs to service point '{}'", e.agreement_id(),
                               *point)};
}
void AgreementSignedAlsoWrites(const Event& event, std::vector<IndexWrite>& out) {
  const auto& e = event.agreement_signed();
  out.emplace_back(keys::Key(keys::kAgreement, e.agreement_id()), e.service_point_id());
}

// --- contact_recorded: a new contact_id at a known point, of a known agency.
std::optional<Created> ContactRecordedCreates(const Event& event) {
  const ContactRecordedView contact = ContactViewOf(event);
  std::string state;
  AppendEncodedNewContactState(contact, state);
  return Created{keys::Key(keys::kContact, contact.contact_id), std::move(state), "contact_id",
                 ContactAlreadyExists(contact.contact_id)};
}
void ContactRecordedReferences(const Event& event, std::vector<Reference>& out) {
  for (const Reference& reference : ContactReferences(ContactViewOf(event))) {
    out.push_back(reference);
  }
}

// --- contact_corrected: of an active contact; a changed agency must be known.
const std::string* ContactCorrectedContact(const Event& event) {
  return &event.contact_corrected().contact_id();
}
void ContactCorrectedChange(const Event& event, events::ContactState& state) {
  ApplyCorrection(event.contact_corrected().changes(), state);
}
void ContactCorrectedReferences(const Event& event, std::vector<Reference>& out) {
  const auto& changes = event.contact_corrected().changes();
  if (changes.has_agency_id()) {
    out.push_back({keys::kAgency, changes.agency_id(), "changes.agency_id"});
  }
}

// --- contact_voided: of an active contact.
const std::string* ContactVoidedContact(const Event& event) {
  return &event.contact_voided().contact_id();
}
void ContactVoidedChange(const Event&, events::ContactState& state) { state.set_voided(true); }

// --- cost_posted: a new cost_id at a known point.
std::optional<Created> CostPostedCreates(const Event& event) {
  return New(keys::kCost, event.cost_posted().cost_id(), "", "cost_id", "cost");
}
void CostPostedReferences(const Event& event, std::vector<Reference>& out) {
  out.push_back({keys::kPoint, event.cost_posted().service_point_id(), "service_point_id"});
}

// --- room_booked: a new booking_id at a known point, by a known agency.
std::optional<Created> RoomBookedCreates(const Event& event) {
  return New(keys::kBooking, event.room_booked().booking_id(), "", "booking_id", "booking");
}
void RoomBookedReferences(const Event& event, std::vector<Reference>& out) {
  const auto& e = event.room_booked();
  out.push_back({keys::kPoint, e.service_point_id(), "service_point_id"});
  out.push_back({keys::kAgency, e.agency_id(), "agency_id"});
}

// --- access_granted (SPEC 7): a new token_id; its agency or point, and its granter
// when it has one, must be known.
std::optional<Created> AccessGrantedCreates(const Event& event) {
  const auto& e = event.access_granted();
  return New(keys::kToken, e.token_id(), e.SerializeAsString(), "token_id", "token_id");
}
void AccessGrantedReferences(const Event& event, std::vector<Reference>& out) {
  const auto& e = event.access_granted();
  if (!e.agency_id().empty()) out.push_back({keys::kAgency, e.agency_id(), "agency_id"});
  if (!e.service_point_id().empty()) {
    out.push_back({keys::kPoint, e.service_point_id(), "service_point_id"});
  }
  if (!e.granted_by_agency_id().empty()) {
    out.push_back({keys::kAgency, e.granted_by_agency_id(), "granted_by_agency_id"});
  }
}

// --- access_revoked: of a granted token_id, once (a second revocation is a
// DUPLICATE_CONFLICT naming that it is revoked already).
std::optional<Created> AccessRevokedCreates(const Event& event) {
  const std::string& id = event.access_revoked().token_id();
  return Created{keys::Key(keys::kTokenRevoked, id), "", "token_id",
                 fmt::format("token_id '{}' is revoked already", id)};
}
void AccessRevokedReferences(const Event& event, std::vector<Reference>& out) {
  out.push_back({keys::kToken, event.access_revoked().token_id(), "token_id"});
}

// --- approval_policy_set (SPEC 8): of a registered host agency. The same (host,
// effective_from) again replaces the policy (the projection keeps the later one), so
// nothing is created in the index.
void ApprovalPolicySetReferences(const Event& event, std::vector<Reference>& out) {
  out.push_back({keys::kAgency, event.approval_policy_set().host_agency_id(), "host_agency_id"});
}

// A row names only what its type has; a missing member is "none" (see the header).
constexpr EventRules kRules[] = {
    {.type = Event::kAgencyRegistered, .creates = AgencyRegisteredCreates},
    {.type = Event::kAgencyUpdated, .references = AgencyUpdatedReferences},
    {.type = Event::kAgencySucceeded,
     .creates = AgencySucceededCreates,
     .references = AgencySucceededReferences,
     .more = AgencySucceededMore},
    {.type = Event::kAccessGranted,
     .creates = AccessGrantedCreates,
     .references = AccessGrantedReferences},
    {.type = Event::kAccessRevoked,
     .creates = AccessRevokedCreates,
     .references = AccessRevokedReferences},
    {.type = Event::kApprovalPolicySet, .references = ApprovalPolicySetReferences},
    {.type = Event::kServicePointOpened,
     .creates = PointOpenedCreates,
     .references = PointOpenedReferences,
     .also_writes = PointOpenedAlsoWrites},
    {.type = Event::kSpaceAllocated,
     .references = SpaceAllocatedReferences,
     .more = SpaceAllocatedMore},
    {.type = Event::kAgreementSigned,
     .creates = AgreementSignedCreates,
     .references = AgreementSignedReferences,
     .more = AgreementSignedMore,
     .also_writes = AgreementSignedAlsoWrites},
    {.type = Event::kContactRecorded,
     .creates = ContactRecordedCreates,
     .references = ContactRecordedReferences},
    {.type = Event::kContactCorrected,
     .changes_contact = ContactCorrectedContact,
     .change = ContactCorrectedChange,
     .voided_contact_cannot_be = "corrected",
     .references = ContactCorrectedReferences},
    {.type = Event::kContactVoided,
     .changes_contact = ContactVoidedContact,
     .change = ContactVoidedChange,
     .voided_contact_cannot_be = "voided again"},
    {.type = Event::kCostPosted, .creates = CostPostedCreates, .references = CostPostedReferences},
    {.type = Event::kRoomBooked, .creates = RoomBookedCreates, .references = RoomBookedReferences},
    // SPEC section 9 (section9_rules.cc).
    {.type = Event::kRouteStopRecorded,
     .creates = RouteStopCreates,
     .references = RouteStopReferences,
     .more = RouteStopMore},
    {.type = Event::kInterpretationProvided,
     .creates = InterpretationCreates,
     .references = InterpretationReferences},
    {.type = Event::kContactReferred, .creates = ReferralCreates, .references = ReferralReferences},
    {.type = Event::kRoomRegistered,
     .creates = RoomCreates,
     .references = RoomReferences,
     .more = RoomMore},
    {.type = Event::kBudgetSet, .creates = BudgetCreates, .references = BudgetReferences},
    // invoice_issued, subsidy_claim_issued, host_shares_issued, quarter_prepared,
    // quarter_approved: documents tori issues itself, with no index rules.
    // checkpoint_signed (tori checkpoint) neither: it
    // creates and references no entity; only its event_id is kept unique.
};

}  // namespace

const EventRules* RulesOf(events::Event::PayloadCase type) {
  static const auto* const by_type = [] {
    auto* table = new std::array<const EventRules*, 64>{};
    for (const EventRules& rules : kRules) {
      TORI_CHECK(rules.type < 64 && (*table)[rules.type] == nullptr);
      (*table)[rules.type] = &rules;
    }
    return table;
  }();
  return type < 64 ? (*by_type)[type] : nullptr;
}

std::string ContactAlreadyExists(std::string_view contact_id) {
  return fmt::format("contact '{}' already exists; ids of new entities are unique", contact_id);
}

std::array<Reference, 2> ContactReferences(const ContactRecordedView& contact) {
  return {Reference{keys::kPoint, contact.service_point_id, "service_point_id"},
          Reference{keys::kAgency, contact.agency_id, "agency_id"}};
}

std::string Reference::FieldName() const {
  if (index < 0) return std::string(field);
  return fmt::format("{}[{}]{}", field, index, field_suffix);
}

Rejection NotKnown(const Reference& reference) {
  const char kind = reference.kind;
  const std::string_view id = reference.id;
  const char* what = kind == keys::kAgency  ? "agency"
                     : kind == keys::kPoint ? "service point"
                     : kind == keys::kToken ? "token_id"
                                            : "contact";
  const char* creator = kind == keys::kAgency  ? "agency_registered"
                        : kind == keys::kPoint ? "service_point_opened"
                        : kind == keys::kToken ? "access_granted"
                                               : "contact_recorded";
  return Rejection{RejectReason::kUnknownReference, reference.FieldName(),
                   fmt::format("{} '{}' is not known; send its {} event first", what, id, creator)};
}

}  // namespace tori::rules
