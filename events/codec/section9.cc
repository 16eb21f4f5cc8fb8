// The event types of SPEC section 9: JSON <-> events::Event (internal/section9.h).
// Every string goes through the Reader, so personal identity codes are refused in each
// (PERSONAL_DATA) as in every other event; ranges are RANGE, shapes SCHEMA.
#include <array>

#include "events/base/decimal.h"
#include "events/codec/codec.h"
#include "events/codec/internal/section9.h"
#include "fmt/format.h"

namespace tori::codec_internal {
namespace {

#define TORI_ENVELOPE9 "event_id", "type", "occurred_at"

constexpr std::array<std::string_view, 7> kWeekdays = {"mon", "tue", "wed", "thu",
                                                       "fri", "sat", "sun"};

bool ReadRouteStop(Reader& r, dom::object o, events::RouteStopRecorded* e) {
  int64_t arrived, minutes;
  if (!r.CheckFields(o, "", {TORI_ENVELOPE9, "stop_id", "service_point_id", "agency_id",
                             "place", "arrived_at", "minutes", "deliveries"}) ||
      !r.String(o, "", "stop_id", Text::kId, e->mutable_stop_id()) ||
      !r.String(o, "", "service_point_id", Text::kId, e->mutable_service_point_id()) ||
      !r.String(o, "", "agency_id", Text::kId, e->mutable_agency_id()) ||
      !r.String(o, "", "place", Text::kName, e->mutable_place()) ||
      !r.Instant(o, "", "arrived_at", &arrived) ||
      !r.Integer(o, "", "minutes", 0, kSection9MinutesMax, &minutes)) {
    return false;
  }
  e->set_arrived_at_unix_ns(arrived);
  e->set_minutes(minutes);
  if (r.Field(o, "", "deliveries", false)) {
    int64_t deliveries;
    if (!r.Integer(o, "", "deliveries", 0, kSection9DeliveriesMax, &deliveries)) return false;
    e->set_deliveries(deliveries);
  }
  return true;
}

bool ReadInterpretation(Reader& r, dom::object o, events::InterpretationProvided* e) {
  std::string_view mode;
  int64_t minutes;
  if (!r.CheckFields(o, "", {TORI_ENVELOPE9, "interpretation_id", "service_point_id",
                             "agency_id", "contact_id", "language", "mode", "minutes"}) ||
      !r.String(o, "", "interpretation_id", Text::kId, e->mutable_interpretation_id()) ||
      !r.String(o, "", "service_point_id", Text::kId, e->mutable_service_point_id()) ||
      !r.String(o, "", "agency_id", Text::kId, e->mutable_agency_id())) {
    return false;
  }
  std::string contact;
  bool present;
  if (!r.OptionalString(o, "", "contact_id", Text::kId, &contact, &present)) return false;
  if (present) e->set_contact_id(contact);
  if (!r.String(o, "", "language", Text::kId, e->mutable_language()) ||
      !r.StringView(o, "", "mode", Text::kId, &mode) ||
      !r.Integer(o, "", "minutes", 0, kSection9MinutesMax, &minutes)) {
    return false;
  }
  if (mode == "on_site") {
    e->set_mode(events::INTERPRETATION_MODE_ON_SITE);
  } else if (mode == "remote") {
    e->set_mode(events::INTERPRETATION_MODE_REMOTE);
  } else {
    return r.Fail(RejectReason::kSchema, "mode",
                  fmt::format("'{}' is not one of: on_site, remote", mode));
  }
  e->set_minutes(minutes);
  return true;
}

bool ReadReferral(Reader& r, dom::object o, events::ContactReferred* e) {
  if (!r.CheckFields(o, "", {TORI_ENVELOPE9, "referral_id", "contact_id", "from_agency_id",
                             "to_agency_id", "reason_code"}) ||
      !r.String(o, "", "referral_id", Text::kId, e->mutable_referral_id()) ||
      !r.String(o, "", "contact_id", Text::kId, e->mutable_contact_id()) ||
      !r.String(o, "", "from_agency_id", Text::kId, e->mutable_from_agency_id()) ||
      !r.String(o, "", "to_agency_id", Text::kId, e->mutable_to_agency_id()) ||
      !r.String(o, "", "reason_code", Text::kId, e->mutable_reason_code())) {
    return false;
  }
  if (e->from_agency_id() == e->to_agency_id()) {
    return r.Fail(RejectReason::kRange, "to_agency_id",
                  "a referral sends the customer on to another agency than from_agency_id");
  }
  return true;
}

// "HH:MM" with HH 00..24 and MM 00..59 (24:00 only as an end): minutes after midnight.
std::optional<int32_t> ClockMinutes(std::string_view text) {
  if (text.size() != 5 || text[2] != ':') return std::nullopt;
  for (size_t i : {0, 1, 3, 4}) {
    if (text[i] < '0' || text[i] > '9') return std::nullopt;
  }
  const int hours = (text[0] - '0') * 10 + (text[1] - '0');
  const int minutes = (text[3] - '0') * 10 + (text[4] - '0');
  if (minutes > 59 || hours > 24 || (hours == 24 && minutes != 0)) return std::nullopt;
  return hours * 60 + minutes;
}

bool ReadRoom(Reader& r, dom::object o, events::RoomRegistered* e) {
  int64_t area;
  std::optional<dom::object> hours;
  if (!r.CheckFields(o, "", {TORI_ENVELOPE9, "room_id", "service_point_id", "name", "area_m2",
                             "bookable_hours"}) ||
      !r.String(o, "", "room_id", Text::kId, e->mutable_room_id()) ||
      !r.String(o, "", "service_point_id", Text::kId, e->mutable_service_point_id()) ||
      !r.String(o, "", "name", Text::kName, e->mutable_name()) ||
      !r.Decimal(o, "", "area_m2", kAreaScale, /*allow_negative=*/false, &area) ||
      !r.Object(o, "", "bookable_hours", true, &hours)) {
    return false;
  }
  if (area == 0) return r.Fail(RejectReason::kRange, "area_m2", "must be above 0");
  e->set_area_centi_m2(area);
  for (dom::key_value_pair entry : *hours) {
    const std::string path = Reader::Path("bookable_hours", entry.key);
    int weekday = 0;
    for (size_t i = 0; i < kWeekdays.size(); ++i) {
      if (entry.key == kWeekdays[i]) weekday = static_cast<int>(i) + 1;
    }
    if (weekday == 0) {
      return r.Fail(RejectReason::kSchema, path,
                    fmt::format("unknown weekday '{}'; weekdays are mon, tue, wed, thu, fri, "
                                "sat, sun",
                                entry.key));
    }
    for (const auto& earlier : e->bookable_hours()) {
      if (earlier.weekday() == weekday) {
        return r.Fail(RejectReason::kSchema, path, "names the weekday twice");
      }
    }
    std::string text;
    if (!r.StringValue(entry.value, path, Text::kId, &text)) return false;
    const size_t dash = text.find('-');
    const auto from = dash == std::string::npos ? std::nullopt : ClockMinutes(text.substr(0, dash));
    const auto to = dash == std::string::npos ? std::nullopt : ClockMinutes(text.substr(dash + 1));
    if (!from || !to || *from >= *to) {
      return r.Fail(RejectReason::kRange, path,
                    fmt::format("'{}' is not local clock hours \"HH:MM-HH:MM\" with the start "
                                "before the end (00:00..24:00)",
                                text));
    }
    auto* out = e->add_bookable_hours();
    out->set_weekday(weekday);
    out->set_from_minute(*from);
    out->set_to_minute(*to);
  }
  std::sort(e->mutable_bookable_hours()->begin(), e->mutable_bookable_hours()->end(),
            [](const auto& a, const auto& b) { return a.weekday() < b.weekday(); });
  return true;
}

bool ReadBudget(Reader& r, dom::object o, events::BudgetSet* e) {
  int64_t year, amount;
  if (!r.CheckFields(o, "", {TORI_ENVELOPE9, "budget_id", "agency_id", "service_point_id",
                             "pool", "year", "amount"}) ||
      !r.String(o, "", "budget_id", Text::kId, e->mutable_budget_id()) ||
      !r.String(o, "", "agency_id", Text::kId, e->mutable_agency_id()) ||
      !r.String(o, "", "service_point_id", Text::kId, e->mutable_service_point_id()) ||
      !r.String(o, "", "pool", Text::kId, e->mutable_pool()) ||
      !r.Integer(o, "", "year", 2000, 2199, &year) ||
      !r.Decimal(o, "", "amount", kMoneyScale, /*allow_negative=*/false, &amount)) {
    return false;
  }
  e->set_year(static_cast<int32_t>(year));
  e->set_amount_cents(amount);
  return true;
}

std::string ClockText(int32_t minutes) {
  return fmt::format("{:02d}:{:02d}", minutes / 60, minutes % 60);
}

}  // namespace

std::string_view WeekdayName(int weekday) {
  return weekday >= 1 && weekday <= 7 ? kWeekdays[weekday - 1] : "unknown";
}

std::optional<bool> ReadSection9Event(Reader& r, std::string_view type, dom::object o,
                                      events::Event& event) {
  if (type == "route_stop_recorded") {
    return ReadRouteStop(r, o, event.mutable_route_stop_recorded());
  }
  if (type == "interpretation_provided") {
    return ReadInterpretation(r, o, event.mutable_interpretation_provided());
  }
  if (type == "contact_referred") return ReadReferral(r, o, event.mutable_contact_referred());
  if (type == "room_registered") return ReadRoom(r, o, event.mutable_room_registered());
  if (type == "budget_set") return ReadBudget(r, o, event.mutable_budget_set());
  return std::nullopt;
}

bool ReadServicePointKind(Reader& r, dom::object o, events::ServicePointOpened* e) {
  std::string kind;
  bool present;
  if (!r.OptionalString(o, "", "kind", Text::kId, &kind, &present)) return false;
  if (!present || kind == "office") return true;
  if (kind != "mobile") {
    return r.Fail(RejectReason::kSchema, "kind",
                  fmt::format("'{}' is not one of: office, mobile", kind));
  }
  e->set_kind(events::SERVICE_POINT_KIND_MOBILE);
  return true;
}

bool WriteSection9Event(JsonObjectWriter& w, const events::Event& event) {
  switch (event.payload_case()) {
    case events::Event::kRouteStopRecorded: {
      const auto& e = event.route_stop_recorded();
      w.String("stop_id", e.stop_id()).String("service_point_id", e.service_point_id())
          .String("agency_id", e.agency_id()).String("place", e.place())
          .String("arrived_at", FormatInstant(e.arrived_at_unix_ns()))
          .Int("minutes", e.minutes());
      if (e.has_deliveries()) w.Int("deliveries", e.deliveries());
      return true;
    }
    case events::Event::kInterpretationProvided: {
      const auto& e = event.interpretation_provided();
      w.String("interpretation_id", e.interpretation_id())
          .String("service_point_id", e.service_point_id()).String("agency_id", e.agency_id());
      if (e.has_contact_id()) w.String("contact_id", e.contact_id());
      w.String("language", e.language())
          .String("mode", e.mode() == events::INTERPRETATION_MODE_REMOTE ? "remote" : "on_site")
          .Int("minutes", e.minutes());
      return true;
    }
    case events::Event::kContactReferred: {
      const auto& e = event.contact_referred();
      w.String("referral_id", e.referral_id()).String("contact_id", e.contact_id())
          .String("from_agency_id", e.from_agency_id()).String("to_agency_id", e.to_agency_id())
          .String("reason_code", e.reason_code());
      return true;
    }
    case events::Event::kRoomRegistered: {
      const auto& e = event.room_registered();
      std::string hours;
      JsonObjectWriter hw(hours);
      for (const auto& h : e.bookable_hours()) {
        hw.String(WeekdayName(h.weekday()),
                  ClockText(h.from_minute()) + "-" + ClockText(h.to_minute()));
      }
      hw.Close();
      w.String("room_id", e.room_id()).String("service_point_id", e.service_point_id())
          .String("name", e.name())
          .String("area_m2", FormatDecimal(e.area_centi_m2(), kAreaScale))
          .Raw("bookable_hours", hours);
      return true;
    }
    case events::Event::kBudgetSet: {
      const auto& e = event.budget_set();
      w.String("budget_id", e.budget_id()).String("agency_id", e.agency_id())
          .String("service_point_id", e.service_point_id()).String("pool", e.pool())
          .Int("year", e.year()).String("amount", FormatDecimal(e.amount_cents(), kMoneyScale));
      return true;
    }
    default:
      return false;
  }
}

}  // namespace tori::codec_internal
