// The rows of the event rules table (internal/event_rules.h) for the event types of
// SPEC section 9, and what a mobile service_point_opened also writes. The rows
// themselves stand in event_rules.cc's table with the others.
#ifndef TORI_EVENTS_VALIDATE_INTERNAL_SECTION9_RULES_H_
#define TORI_EVENTS_VALIDATE_INTERNAL_SECTION9_RULES_H_

#include "events/validate/internal/event_rules.h"

namespace tori::rules {

// service_point_opened of kind mobile: the 'W' marker route stops check for.
void PointOpenedAlsoWrites(const events::Event& event, std::vector<IndexWrite>& out);

// route_stop_recorded: new (stop_id, agency_id), a known point that is a mobile route
// (RANGE otherwise), a known agency.
std::optional<Created> RouteStopCreates(const events::Event& event);
void RouteStopReferences(const events::Event& event, std::vector<Reference>& out);
absl::StatusOr<std::optional<Rejection>> RouteStopMore(const events::Event& event,
                                                       IndexOverlay& index);

// interpretation_provided: a new interpretation_id, known point and agency, and the
// contact when one is named (UNKNOWN_REFERENCE).
std::optional<Created> InterpretationCreates(const events::Event& event);
void InterpretationReferences(const events::Event& event, std::vector<Reference>& out);

// contact_referred: a new referral_id, a known contact and both agencies.
std::optional<Created> ReferralCreates(const events::Event& event);
void ReferralReferences(const events::Event& event, std::vector<Reference>& out);

// room_registered: a new room_id at a known point, its area within the point's total
// area (RANGE).
std::optional<Created> RoomCreates(const events::Event& event);
void RoomReferences(const events::Event& event, std::vector<Reference>& out);
absl::StatusOr<std::optional<Rejection>> RoomMore(const events::Event& event,
                                                  IndexOverlay& index);

// budget_set: a new budget_id of a known agency at a known point.
std::optional<Created> BudgetCreates(const events::Event& event);
void BudgetReferences(const events::Event& event, std::vector<Reference>& out);

}  // namespace tori::rules

#endif  // TORI_EVENTS_VALIDATE_INTERNAL_SECTION9_RULES_H_
