// The projection of SPEC section 9's events (see projector.h's key layout): route
// stops and interpretations become measures per (point, quarter, agency); rooms,
// bookings, referrals and budgets are kept as records for the reports that billing
// computes from them.
#include "fmt/format.h"
#include "services/projector/projector.h"

namespace tori {
namespace projection {

std::string RecordKey(const events::RoomBooked& e) {
  return Key(kBookingRecord, {e.service_point_id(), e.booking_id()});
}
std::string RecordKey(const events::RoomRegistered& e) {
  return Key(kRoom, {e.service_point_id(), e.room_id()});
}
std::string RecordKey(const events::ContactReferred& e) {
  return Key(kReferral, {e.referral_id()});
}
std::string RecordKey(const events::BudgetSet& e) { return Key(kBudget, {e.budget_id()}); }

}  // namespace projection

void Projector::AddMeasure(std::string_view point, int64_t at_unix_ns, std::string_view agency,
                           std::string_view measure, int64_t delta) {
  const std::string quarter(QuarterNameOf(at_unix_ns));
  minute_deltas_[projection::Key(projection::kMeasures, {point, quarter, agency, measure})] +=
      delta;
}

bool Projector::ApplySection9(const events::Event& event) {
  using namespace projection;
  auto put = [this](const auto& record) {
    std::string key = RecordKey(record);
    std::string value = Seal(key, record.SerializeAsString());
    records_.insert_or_assign(std::move(key), std::move(value));
  };
  switch (event.payload_case()) {
    case events::Event::kRouteStopRecorded: {
      // Counted in the Helsinki quarter of arrived_at (SPEC section 9).
      const auto& e = event.route_stop_recorded();
      AddMeasure(e.service_point_id(), e.arrived_at_unix_ns(), e.agency_id(), kStops, 1);
      AddMeasure(e.service_point_id(), e.arrived_at_unix_ns(), e.agency_id(), kStopMinutes,
                 e.minutes());
      if (e.deliveries() != 0) {
        AddMeasure(e.service_point_id(), e.arrived_at_unix_ns(), e.agency_id(), kDeliveries,
                   e.deliveries());
      }
      return true;
    }
    case events::Event::kInterpretationProvided: {
      // Counted in the quarter of the event's occurred_at.
      const auto& e = event.interpretation_provided();
      AddMeasure(e.service_point_id(), event.occurred_at_unix_ns(), e.agency_id(),
                 kInterpretationMinutes, e.minutes());
      return true;
    }
    case events::Event::kContactReferred:
      put(event.contact_referred());
      return true;
    case events::Event::kRoomRegistered:
      put(event.room_registered());
      return true;
    case events::Event::kBudgetSet:
      put(event.budget_set());
      return true;
    default:
      return false;
  }
}

}  // namespace tori
