// The index rules of SPEC section 9's event types (internal/section9_rules.h).
#include "events/validate/internal/section9_rules.h"

#include "events/base/check.h"
#include "events/base/decimal.h"
#include "events/base/fixed.h"
#include "events/validate/index_keys.h"
#include "fmt/format.h"

namespace tori::rules {
namespace {

using events::Event;
namespace keys = index_keys;

Created NewEntity(std::string key, std::string value, std::string field, std::string_view what,
                  std::string_view id) {
  return Created{std::move(key), std::move(value), std::move(field),
                 fmt::format("{} '{}' already exists; ids of new entities are unique", what, id)};
}

}  // namespace

void PointOpenedAlsoWrites(const Event& event, std::vector<IndexWrite>& out) {
  const auto& e = event.service_point_opened();
  if (e.kind() == events::SERVICE_POINT_KIND_MOBILE) {
    out.emplace_back(keys::Key(keys::kMobilePoint, e.service_point_id()), "");
  }
}

std::optional<Created> RouteStopCreates(const Event& event) {
  const auto& e = event.route_stop_recorded();
  std::string key = keys::Key(keys::kStop, e.stop_id());
  key.push_back('\0');
  key.append(e.agency_id());
  return Created{std::move(key), "", "stop_id",
                 fmt::format("stop '{}' is recorded for agency '{}' already; a stop has one "
                             "event per agency served",
                             e.stop_id(), e.agency_id())};
}
void RouteStopReferences(const Event& event, std::vector<Reference>& out) {
  const auto& e = event.route_stop_recorded();
  out.push_back({keys::kPoint, e.service_point_id(), "service_point_id"});
  out.push_back({keys::kAgency, e.agency_id(), "agency_id"});
}
absl::StatusOr<std::optional<Rejection>> RouteStopMore(const Event& event, IndexOverlay& index) {
  const auto& e = event.route_stop_recorded();
  TORI_ASSIGN_OR_RETURN(auto mobile,
                        index.Get(keys::Key(keys::kMobilePoint, e.service_point_id())));
  if (mobile) return std::nullopt;
  return Rejection{RejectReason::kRange, "service_point_id",
                   fmt::format("service point '{}' is not a mobile route; route stops belong to "
                               "a point opened with kind mobile",
                               e.service_point_id())};
}

std::optional<Created> InterpretationCreates(const Event& event) {
  const auto& e = event.interpretation_provided();
  return NewEntity(keys::Key(keys::kInterpretation, e.interpretation_id()), "",
                   "interpretation_id", "interpretation", e.interpretation_id());
}
void InterpretationReferences(const Event& event, std::vector<Reference>& out) {
  const auto& e = event.interpretation_provided();
  out.push_back({keys::kPoint, e.service_point_id(), "service_point_id"});
  out.push_back({keys::kAgency, e.agency_id(), "agency_id"});
  if (e.has_contact_id()) out.push_back({keys::kContact, e.contact_id(), "contact_id"});
}

std::optional<Created> ReferralCreates(const Event& event) {
  const auto& e = event.contact_referred();
  return NewEntity(keys::Key(keys::kReferral, e.referral_id()), "", "referral_id", "referral",
                   e.referral_id());
}
void ReferralReferences(const Event& event, std::vector<Reference>& out) {
  const auto& e = event.contact_referred();
  out.push_back({keys::kContact, e.contact_id(), "contact_id"});
  out.push_back({keys::kAgency, e.from_agency_id(), "from_agency_id"});
  out.push_back({keys::kAgency, e.to_agency_id(), "to_agency_id"});
}

std::optional<Created> RoomCreates(const Event& event) {
  // Rooms are named within their point, as room_booked names them.
  const auto& e = event.room_registered();
  std::string key = keys::Key(keys::kRoom, e.service_point_id());
  key.push_back('\0');
  key.append(e.room_id());
  return NewEntity(std::move(key), "", "room_id",
                   fmt::format("at service point '{}', room", e.service_point_id()), e.room_id());
}
void RoomReferences(const Event& event, std::vector<Reference>& out) {
  out.push_back({keys::kPoint, event.room_registered().service_point_id(), "service_point_id"});
}
absl::StatusOr<std::optional<Rejection>> RoomMore(const Event& event, IndexOverlay& index) {
  const auto& e = event.room_registered();
  TORI_ASSIGN_OR_RETURN(auto point, index.Get(keys::Key(keys::kPoint, e.service_point_id())));
  TORI_CHECK(point.has_value() && point->size() >= 8);  // row 3 and EntryProblem
  const auto total = static_cast<int64_t>(DecodeFixed64(point->data()));
  if (e.area_centi_m2() <= total) return std::nullopt;
  return Rejection{RejectReason::kRange, "area_m2",
                   fmt::format("the room's {} m2 exceeds the point's total area of {} m2",
                               FormatDecimal(e.area_centi_m2(), kAreaScale),
                               FormatDecimal(total, kAreaScale))};
}

std::optional<Created> BudgetCreates(const Event& event) {
  const auto& e = event.budget_set();
  return NewEntity(keys::Key(keys::kBudget, e.budget_id()), "", "budget_id", "budget",
                   e.budget_id());
}
void BudgetReferences(const Event& event, std::vector<Reference>& out) {
  const auto& e = event.budget_set();
  out.push_back({keys::kAgency, e.agency_id(), "agency_id"});
  out.push_back({keys::kPoint, e.service_point_id(), "service_point_id"});
}

}  // namespace tori::rules
