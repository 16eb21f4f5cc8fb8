// SPEC section 9's event types in the codec: canonical JSON round trips, schema
// version 2, protobuf's binary encoding, and one rejection per rule.
#include <string>

#include "events/codec/codec.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace tori {
namespace {

constexpr const char* kEnvelope = R"({"event_id":"e1","type":"{}","occurred_at":"2026-02-03T10:00:00Z",)";

std::string Line(std::string_view type, std::string_view rest) {
  std::string line = kEnvelope;
  line.replace(line.find("{}"), 2, type);
  return line + std::string(rest) + "}";
}

TEST(Section9Codec, EveryNewTypeRoundTripsAsVersionTwoInTextAndBinary) {
  const std::string lines[] = {
      Line("route_stop_recorded",
           R"("stop_id":"s1","service_point_id":"bus","agency_id":"kela","place":"Kalajärvi","arrived_at":"2026-02-03T08:00:00Z","minutes":45,"deliveries":3)"),
      Line("route_stop_recorded",
           R"("stop_id":"s1","service_point_id":"bus","agency_id":"posti","place":"Kalajärvi","arrived_at":"2026-02-03T08:00:00Z","minutes":0)"),
      Line("interpretation_provided",
           R"("interpretation_id":"i1","service_point_id":"iso","agency_id":"kela","contact_id":"c1","language":"ar","mode":"remote","minutes":20)"),
      Line("interpretation_provided",
           R"("interpretation_id":"i2","service_point_id":"iso","agency_id":"kela","language":"so","mode":"on_site","minutes":5)"),
      Line("contact_referred",
           R"("referral_id":"r1","contact_id":"c1","from_agency_id":"kela","to_agency_id":"te","reason_code":"TYONHAKU")"),
      Line("room_registered",
           R"("room_id":"sali","service_point_id":"kj","name":"Ruskasali","area_m2":"180.00","bookable_hours":{"mon":"08:00-21:00","sat":"10:00-16:00","sun":"00:00-24:00"})"),
      Line("budget_set",
           R"("budget_id":"b1","agency_id":"kela","service_point_id":"iso","pool":"premises","year":2026,"amount":"160000.00")"),
      Line("service_point_opened",
           R"("service_point_id":"bus","name":"Bussi","municipality":"Espoo","host_agency_id":"espoo","total_area_m2":"0.00","kind":"mobile")"),
  };
  JsonEventParser parser;
  for (const std::string& line : lines) {
    SCOPED_TRACE(line);
    events::Event event;
    ASSERT_EQ(parser.Parse(line, event), std::nullopt);
    EXPECT_EQ(event.schema_version(), 2u);
    EXPECT_EQ(EventToJson(event), line);
    std::string bytes;
    AppendEncoded(event, bytes);
    EXPECT_EQ(bytes, event.SerializeAsString());
    events::Event decoded;
    ASSERT_TRUE(DecodeEvent(bytes, decoded));
    EXPECT_EQ(EventToJson(decoded), line);
  }
}

TEST(Section9Codec, AnOfficeStaysVersionOneAndItsBytesUnchanged) {
  const std::string office = Line(
      "service_point_opened",
      R"("service_point_id":"iso","name":"Iso","municipality":"Espoo","host_agency_id":"espoo","total_area_m2":"10.00")");
  JsonEventParser parser;
  events::Event event;
  ASSERT_EQ(parser.Parse(office, event), std::nullopt);
  EXPECT_EQ(event.schema_version(), 1u);
  EXPECT_EQ(EventToJson(event), office);
  events::Event explicit_office;
  const std::string with_kind = office.substr(0, office.size() - 1) + R"(,"kind":"office"})";
  ASSERT_EQ(parser.Parse(with_kind, explicit_office), std::nullopt);
  EXPECT_EQ(explicit_office.SerializeAsString(), event.SerializeAsString());
}

TEST(Section9Codec, RejectsEachBrokenRuleNamingTheField) {
  const struct {
    std::string line;
    RejectReason reason;
    std::string field;
  } kCases[] = {
      {Line("service_point_opened", R"("service_point_id":"iso","name":"I","municipality":"E","host_agency_id":"e","total_area_m2":"0")"),
       RejectReason::kRange, "total_area_m2"},
      {Line("service_point_opened", R"("service_point_id":"iso","name":"I","municipality":"E","host_agency_id":"e","total_area_m2":"1","kind":"boat")"),
       RejectReason::kSchema, "kind"},
      {Line("route_stop_recorded", R"("stop_id":"s","service_point_id":"b","agency_id":"k","place":"p","arrived_at":"2026-02-03T08:00:00Z","minutes":1441)"),
       RejectReason::kRange, "minutes"},
      {Line("route_stop_recorded", R"("stop_id":"s","service_point_id":"b","agency_id":"k","place":"p","arrived_at":"2026-02-03T08:00:00Z","minutes":5,"deliveries":-1)"),
       RejectReason::kRange, "deliveries"},
      {Line("route_stop_recorded", R"("stop_id":"s","service_point_id":"b","agency_id":"k","place":"131052-308T","arrived_at":"2026-02-03T08:00:00Z","minutes":5)"),
       RejectReason::kPersonalData, "place"},
      {Line("interpretation_provided", R"("interpretation_id":"i","service_point_id":"b","agency_id":"k","language":"ar","mode":"telepathy","minutes":5)"),
       RejectReason::kSchema, "mode"},
      {Line("interpretation_provided", R"("interpretation_id":"i","service_point_id":"b","agency_id":"k","language":"ar","mode":"remote")"),
       RejectReason::kSchema, "minutes"},
      {Line("contact_referred", R"("referral_id":"r","contact_id":"c","from_agency_id":"kela","to_agency_id":"kela","reason_code":"X")"),
       RejectReason::kRange, "to_agency_id"},
      {Line("room_registered", R"("room_id":"r","service_point_id":"p","name":"n","area_m2":"10","bookable_hours":{"mon":"20:00-08:00"})"),
       RejectReason::kRange, "bookable_hours.mon"},
      {Line("room_registered", R"("room_id":"r","service_point_id":"p","name":"n","area_m2":"10","bookable_hours":{"monday":"08:00-20:00"})"),
       RejectReason::kSchema, "bookable_hours.monday"},
      {Line("room_registered", R"("room_id":"r","service_point_id":"p","name":"n","area_m2":"10","bookable_hours":{"mon":"08:00-24:30"})"),
       RejectReason::kRange, "bookable_hours.mon"},
      {Line("budget_set", R"("budget_id":"b","agency_id":"k","service_point_id":"p","pool":"x","year":2026,"amount":"1.005")"),
       RejectReason::kRange, "amount"},
      {Line("budget_set", R"("budget_id":"b","agency_id":"k","service_point_id":"p","pool":"x","year":1999,"amount":"1")"),
       RejectReason::kRange, "year"},
  };
  JsonEventParser parser;
  for (const auto& c : kCases) {
    SCOPED_TRACE(c.line);
    events::Event event;
    const std::optional<Rejection> rejection = parser.Parse(c.line, event);
    ASSERT_TRUE(rejection.has_value());
    EXPECT_EQ(rejection->reason, c.reason) << rejection->message;
    EXPECT_EQ(rejection->field, c.field) << rejection->message;
  }
}

}  // namespace
}  // namespace tori
