// Pins the canonical JSON form: every event type round-trips, and every check that
// needs only the line rejects with the right code, field and rule.
#include "events/codec/codec.h"

#include <algorithm>
#include <string>
#include <vector>

#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "fmt/format.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "simdjson.h"

namespace tori {
namespace {

using ::testing::HasSubstr;

// One canonical line per event type (SPEC section 2), fields in canonical order.
const char* const kCanonicalEvents[] = {
    R"({"event_id":"e1","type":"agency_registered","occurred_at":"2026-01-02T08:00:00Z","agency_id":"kela","name":"Kela","kind":"kela","business_id":"0246246-0","einvoice_address":"003702462460","iban":"FI2112345600000785","bic":"NDEAFIHH"})",
    R"({"event_id":"e2","type":"agency_registered","occurred_at":"2026-01-02T08:00:00Z","agency_id":"espoo","name":"Espoon kaupunki","kind":"municipality","business_id":"0101263-6"})",
    R"({"event_id":"e3","type":"service_point_opened","occurred_at":"2026-01-02T08:00:00.5Z","service_point_id":"iso-omena","name":"Iso Omena palvelutori","municipality":"Espoo","host_agency_id":"espoo","total_area_m2":"6500.00"})",
    R"({"event_id":"e4","type":"space_allocated","occurred_at":"2026-01-02T08:00:00Z","service_point_id":"iso-omena","effective_from":"2026-01-01","allocations":[{"agency_id":"kela","area_m2":"120.50"},{"agency_id":"espoo","area_m2":"800.00"}],"shared_area_m2":"1500.00"})",
    R"({"event_id":"e5","type":"agreement_signed","occurred_at":"2026-01-02T08:00:00Z","agreement_id":"a1","version":2,"service_point_id":"iso-omena","effective_from":"2026-01-01","effective_to":"2027-01-01","parties":["espoo","kela"],"pools":{"premises":{"tranches":[{"weight_pct":"70.0000","key":"dedicated_area"},{"weight_pct":"30.0000","key":"equal"}],"fallback_key":"equal"},"shared_staff":{"tranches":[{"weight_pct":"100.0000","key":"advisor_time"}]}},"service_weights":{"KELA-1":"1.5000","VERO-2":"0.2500"},"fixed_shares":{"espoo":"66.6667","kela":"33.3333"},"subsidies":[{"program_id":"vm-2009","claimant_agency_id":"espoo","rate_pct":"50.0000","basis":"pool_total","pools":["premises","shared_staff"],"annual_cap":"100000.00"}]})",
    R"({"event_id":"e6","type":"agreement_signed","occurred_at":"2026-01-02T08:00:00Z","agreement_id":"a2","version":1,"service_point_id":"iso-omena","effective_from":"2026-01-01","parties":["espoo"],"pools":{"premises":{"tranches":[{"weight_pct":"100.0000","key":"equal"}],"display_names":{"en":"Premises","fi":"Toimitilat","sv":"Lokaler"}}}})",
    R"({"event_id":"e7","type":"contact_recorded","occurred_at":"2026-03-31T22:30:00Z","contact_id":"c1","service_point_id":"iso-omena","agency_id":"kela","service_code":"KELA-1","channel":"in_person","handled_by":"shared_advisor","duration_s":540})",
    R"({"event_id":"e8","type":"contact_corrected","occurred_at":"2026-04-01T08:00:00Z","contact_id":"c1","changes":{"agency_id":"espoo","channel":"video","handled_by":"agency_staff","duration_s":0},"reason":"wrong agency"})",
    R"({"event_id":"e9","type":"contact_voided","occurred_at":"2026-04-01T08:00:00Z","contact_id":"c1","reason":"test entry"})",
    R"({"event_id":"e10","type":"cost_posted","occurred_at":"2026-04-01T08:00:00Z","cost_id":"k1","service_point_id":"iso-omena","pool":"premises","period":"2026-03","amount":"-1234.50","description":"Rent credit","document_ref":"INV-99"})",
    R"({"event_id":"e11","type":"room_booked","occurred_at":"2026-04-01T08:00:00Z","booking_id":"b1","service_point_id":"iso-omena","room_id":"sali-1","agency_id":"kela","start":"2026-04-02T07:00:00Z","end":"2026-04-02T08:30:00Z"})",
    R"({"event_id":"e12","type":"agency_updated","occurred_at":"2026-04-01T08:00:00Z","agency_id":"espoo","changes":{"name":"Espoon kaupunki, palvelutorit","business_id":"0101263-6","einvoice_address":"003701012636","iban":"FI2112345600000785","bic":"NDEAFIHH"}})",
};

// Issue #15.8: agency_updated is checked as agency_registered is, must change
// something, and carries schema version 2 (the other types keep 1: their bytes and
// idempotency hashes never change).
// Issue #17: grants carry a hash (never a token), a known role and the one field that
// role needs; both access events carry schema version 2 and write back as read.
TEST(Codec, AccessEventsRoundTripWithVersionTwoAndCheckTheirRole) {
  JsonEventParser parser;
  events::Event event;
  const std::string hash(64, 'b');
  const std::string grant =
      R"({"event_id":"g1","type":"access_granted","occurred_at":"2026-04-01T08:00:00Z","token_id":"t1","token_sha256":")" +
      hash + R"(","role":"intake","name":"Iso Omena desk","service_point_id":"iso"})";
  ASSERT_FALSE(parser.Parse(grant, event).has_value());
  EXPECT_EQ(event.schema_version(), 2u);
  EXPECT_EQ(EventToJson(event), grant);
  const std::string revoke =
      R"({"event_id":"r1","type":"access_revoked","occurred_at":"2026-04-01T08:00:00Z","token_id":"t1"})";
  ASSERT_FALSE(parser.Parse(revoke, event).has_value());
  EXPECT_EQ(event.schema_version(), 2u);
  EXPECT_EQ(EventToJson(event), revoke);
  // A grant a host made through the API names the host (field 80); written back as read.
  const std::string by_host =
      R"({"event_id":"g3","type":"access_granted","occurred_at":"2026-04-01T08:00:00Z","token_id":"t3","token_sha256":")" +
      hash + R"(","role":"agency","name":"Kela","agency_id":"kela","granted_by_agency_id":"espoo"})";
  ASSERT_FALSE(parser.Parse(by_host, event).has_value());
  EXPECT_EQ(event.access_granted().granted_by_agency_id(), "espoo");
  EXPECT_EQ(event.schema_version(), kSchemaVersionGrantedBy);  // a version 2 reader would widen its view
  EXPECT_LE(kSchemaVersionGrantedBy, kSchemaVersionRead);
  EXPECT_EQ(EventToJson(event), by_host);
  events::Event decoded;
  ASSERT_TRUE(decoded.ParseFromString(event.SerializeAsString()));
  EXPECT_EQ(decoded.access_granted().granted_by_agency_id(), "espoo");

  const struct {
    std::string rest;
    RejectReason reason;
    std::string field;
  } kCases[] = {
      {R"("token_sha256":")" + hash + R"(","role":"king","name":"X")", RejectReason::kRange, "role"},
      {R"("token_sha256":"abc","role":"auditor","name":"X")", RejectReason::kRange, "token_sha256"},
      {R"("token_sha256":")" + hash + R"(","role":"agency","name":"X")", RejectReason::kSchema, "agency_id"},
      {R"("token_sha256":")" + hash + R"(","role":"auditor","name":"X","agency_id":"kela")", RejectReason::kSchema, "agency_id"},
      {R"("token_sha256":")" + hash + R"(","role":"intake","name":"X")", RejectReason::kSchema, "service_point_id"},
      {R"("token":"secret","token_sha256":")" + hash + R"(","role":"auditor","name":"X")", RejectReason::kSchema, "token"},
      {R"("token_sha256":")" + hash + R"(","role":"auditor","name":"X","granted_by_agency_id":"espoo")",
       RejectReason::kSchema, "granted_by_agency_id"},
  };
  for (const auto& c : kCases) {
    SCOPED_TRACE(c.rest);
    auto rejection = parser.Parse(
        R"({"event_id":"g2","type":"access_granted","occurred_at":"2026-04-01T08:00:00Z","token_id":"t2",)" + c.rest + "}",
        event);
    ASSERT_TRUE(rejection.has_value());
    EXPECT_EQ(rejection->reason, c.reason) << rejection->message;
    EXPECT_EQ(rejection->field, c.field) << rejection->message;
  }
}

// Issue #18 (SPEC section 8): a partner that is a company registers with kind company
// and schema version 3 (a reader of version 2 would bill it without VAT), and writes
// back as read; the other kinds keep version 1.
TEST(Codec, ACompanyPartnerRoundTripsWithVersionThree) {
  JsonEventParser parser;
  events::Event event;
  const std::string company =
      R"({"event_id":"p1","type":"agency_registered","occurred_at":"2026-01-02T08:00:00Z","agency_id":"posti","name":"Posti Oy","kind":"company","business_id":"0109357-9"})";
  ASSERT_FALSE(parser.Parse(company, event).has_value());
  EXPECT_EQ(event.agency_registered().kind(), events::AGENCY_KIND_COMPANY);
  EXPECT_EQ(event.schema_version(), kSchemaVersionCompany);
  EXPECT_EQ(kSchemaVersionCompany, 3u);
  EXPECT_LE(kSchemaVersionCompany, kSchemaVersionRead);
  EXPECT_EQ(EventToJson(event), company);
  ASSERT_FALSE(parser.Parse(kCanonicalEvents[0], event).has_value());
  EXPECT_EQ(event.schema_version(), 1u);
  std::string firm = company;
  firm.replace(firm.find("company"), 7, "firm");
  auto rejection = parser.Parse(firm, event);
  ASSERT_TRUE(rejection.has_value());
  EXPECT_EQ(rejection->field, "kind") << rejection->message;
}

TEST(Codec, AgencyUpdatedIsCheckedAsAgencyRegisteredAndCarriesVersionTwo) {
  JsonEventParser parser;
  events::Event event;
  const std::string iban_only =
      R"({"event_id":"u1","type":"agency_updated","occurred_at":"2026-04-01T08:00:00Z","agency_id":"espoo","changes":{"iban":"FI2112345600000785"}})";
  ASSERT_FALSE(parser.Parse(iban_only, event).has_value());
  EXPECT_EQ(event.schema_version(), 2u);
  EXPECT_EQ(EventToJson(event), iban_only);
  ASSERT_FALSE(parser.Parse(kCanonicalEvents[1], event).has_value());
  EXPECT_EQ(event.schema_version(), 1u);

  const struct {
    std::string changes;
    RejectReason reason;
    std::string field;
  } kCases[] = {
      {R"({})", RejectReason::kSchema, "changes"},
      {R"({"iban":"FI2112345600000786"})", RejectReason::kRange, "changes.iban"},
      {R"({"bic":"NDEA"})", RejectReason::kRange, "changes.bic"},
      {R"({"business_id":"0101263-7"})", RejectReason::kRange, "changes.business_id"},
      {R"({"kind":"state"})", RejectReason::kSchema, "changes.kind"},
      {R"({"name":7})", RejectReason::kSchema, "changes.name"},
  };
  for (const auto& c : kCases) {
    SCOPED_TRACE(c.changes);
    auto rejection = parser.Parse(
        fmt::format(R"({{"event_id":"u2","type":"agency_updated","occurred_at":"2026-04-01T08:00:00Z","agency_id":"espoo","changes":{}}})",
                    c.changes),
        event);
    ASSERT_TRUE(rejection.has_value());
    EXPECT_EQ(rejection->reason, c.reason) << rejection->message;
    EXPECT_EQ(rejection->field, c.field) << rejection->message;
  }
}

// SPEC section 8: agency_succeeded round-trips with schema version 2; the successor is
// another agency and the day a quarter's first (tori bills by quarter).
TEST(Codec, AgencySucceededRoundTripsWithVersionTwoAndStartsAQuarter) {
  JsonEventParser parser;
  events::Event event;
  const std::string line =
      R"({"event_id":"u1","type":"agency_succeeded","occurred_at":"2024-12-01T08:00:00Z","agency_id":"te-uusimaa","successor_agency_id":"vantaa-kerava-tyo","effective_from":"2025-01-01"})";
  ASSERT_FALSE(parser.Parse(line, event).has_value());
  EXPECT_EQ(event.schema_version(), 2u);
  EXPECT_EQ(EventToJson(event), line);
  const struct {
    std::string rest;
    RejectReason reason;
    std::string field;
  } kCases[] = {
      {R"("agency_id":"te","successor_agency_id":"te","effective_from":"2025-01-01")", RejectReason::kRange,
       "successor_agency_id"},
      {R"("agency_id":"te","successor_agency_id":"tyo","effective_from":"2025-01-15")", RejectReason::kRange,
       "effective_from"},
      {R"("agency_id":"te","successor_agency_id":"tyo","effective_from":"2025-02-01")", RejectReason::kRange,
       "effective_from"},
      {R"("agency_id":"te","successor_agency_id":"tyo","effective_from":"2025-02-30")", RejectReason::kRange,
       "effective_from"},
      {R"("agency_id":"te","effective_from":"2025-01-01")", RejectReason::kSchema, "successor_agency_id"},
  };
  for (const auto& c : kCases) {
    SCOPED_TRACE(c.rest);
    auto rejection = parser.Parse(
        R"({"event_id":"u2","type":"agency_succeeded","occurred_at":"2024-12-01T08:00:00Z",)" + c.rest + "}", event);
    ASSERT_TRUE(rejection.has_value());
    EXPECT_EQ(rejection->reason, c.reason) << rejection->message;
    EXPECT_EQ(rejection->field, c.field) << rejection->message;
  }
}

// SPEC section 10: `tori checkpoint`'s own event prints in `tori log` (root in base64)
// and is never accepted from an input file.
TEST(Codec, CheckpointSignedPrintsAndIsWrittenByToriOnly) {
  events::Event event;
  event.set_event_id("tori-checkpoint-espoo.fi/tori/p0-3");
  event.set_occurred_at_unix_ns(int64_t{1'775'000'000} * 1'000'000'000);  // 2026-03-31
  event.set_schema_version(kSchemaVersionCheckpointSigned);
  auto* e = event.mutable_checkpoint_signed();
  e->set_origin("espoo.fi/tori/p0");
  e->set_tree_size(3);
  e->set_root_hash(std::string(32, '\xff'));
  e->set_signed_note("espoo.fi/tori/p0\n3\nROOT\n\n- sig\n");
  EXPECT_EQ(EventTypeName(event), "checkpoint_signed");
  const std::string json = EventToJson(event);
  EXPECT_NE(json.find(R"("type":"checkpoint_signed")"), std::string::npos) << json;
  EXPECT_NE(json.find(R"("tree_size":3,"root_hash":")" + std::string(42, '/') + "8=\""), std::string::npos) << json;
  JsonEventParser parser;
  events::Event parsed;
  auto rejection = parser.Parse(json, parsed);
  ASSERT_TRUE(rejection.has_value());
  EXPECT_EQ(rejection->reason, RejectReason::kSchema);
  EXPECT_NE(rejection->message.find("tori checkpoint"), std::string::npos) << rejection->message;
}

// SPEC section 8: approval_policy_set carries version 2 and writes back as read;
// 1 or 2 approvals (RANGE), a real date; quarter_prepared and quarter_approved are
// tori's own.
TEST(Codec, ApprovalPolicyRoundTripsWithVersionTwoAndApprovalsAreToriOwn) {
  JsonEventParser parser;
  events::Event event;
  const std::string policy =
      R"({"event_id":"p1","type":"approval_policy_set","occurred_at":"2026-01-02T08:00:00Z","host_agency_id":"espoo","required_approvals":2,"effective_from":"2026-01-01"})";
  ASSERT_FALSE(parser.Parse(policy, event).has_value());
  EXPECT_EQ(event.schema_version(), 2u);
  EXPECT_EQ(event.approval_policy_set().required_approvals(), 2);
  EXPECT_EQ(EventToJson(event), policy);
  const struct {
    std::string rest;
    RejectReason reason;
    std::string field;
  } kCases[] = {
      {R"("host_agency_id":"espoo","required_approvals":3,"effective_from":"2026-01-01")", RejectReason::kRange, "required_approvals"},
      {R"("host_agency_id":"espoo","required_approvals":0,"effective_from":"2026-01-01")", RejectReason::kRange, "required_approvals"},
      {R"("host_agency_id":"espoo","required_approvals":2)", RejectReason::kSchema, "effective_from"},
      {R"("host_agency_id":"espoo","required_approvals":2,"effective_from":"2026-01-01","by":"x")", RejectReason::kSchema, "by"},
  };
  for (const auto& c : kCases) {
    SCOPED_TRACE(c.rest);
    auto rejection = parser.Parse(
        R"({"event_id":"p2","type":"approval_policy_set","occurred_at":"2026-01-02T08:00:00Z",)" + c.rest + "}", event);
    ASSERT_TRUE(rejection.has_value());
    EXPECT_EQ(rejection->reason, c.reason);
    EXPECT_EQ(rejection->field, c.field);
  }
  for (const char* type : {"quarter_prepared", "quarter_approved"}) {
    auto rejection = parser.Parse(
        fmt::format(R"({{"event_id":"q","type":"{}","occurred_at":"2026-01-02T08:00:00Z","quarter":"2026Q1"}})", type),
        event);
    ASSERT_TRUE(rejection.has_value()) << type;
    EXPECT_EQ(rejection->reason, RejectReason::kSchema);
    EXPECT_EQ(rejection->field, "type");
  }
}

TEST(Codec, EveryEventTypeRoundTripsCanonically) {
  JsonEventParser parser;
  for (const char* line : kCanonicalEvents) {
    SCOPED_TRACE(line);
    events::Event event;
    auto rejection = parser.Parse(line, event);
    ASSERT_FALSE(rejection.has_value()) << rejection->field << ": " << rejection->message;
    EXPECT_EQ(EventToJson(event), line);
    // The binary form round-trips too.
    events::Event decoded;
    ASSERT_TRUE(decoded.ParseFromString(event.SerializeAsString()));
    EXPECT_EQ(EventToJson(decoded), line);
  }
}

TEST(Codec, IngestsParseGivesTheEventsEncodingAndAViewOfContacts) {
  // Ingest parses into a ParsedEvent: its encoding is the Event's, and a contact's
  // view holds the Event's fields (pointing into the encoding), whatever the field
  // order; the same parser object alternates between both forms.
  JsonEventParser parser;
  ParsedEvent parsed;
  for (const char* line : kCanonicalEvents) {
    SCOPED_TRACE(line);
    events::Event event;
    ASSERT_FALSE(parser.Parse(line, event).has_value());
    const std::string text = line;
    ASSERT_FALSE(parser.Parse(text, text.size(), parsed).has_value());
    EXPECT_EQ(parsed.encoded, event.SerializeAsString());
    ASSERT_EQ(parsed.contact.has_value(), event.has_contact_recorded());
    if (parsed.contact) {
      events::Event from_view;
      FillEvent(*parsed.contact, from_view);
      EXPECT_EQ(from_view.SerializeAsString(), event.SerializeAsString());
      const char* begin = parsed.encoded.data();
      const char* end = begin + parsed.encoded.size();
      for (std::string_view field : {parsed.contact->event_id, parsed.contact->contact_id,
                                     parsed.contact->service_point_id, parsed.contact->agency_id,
                                     parsed.contact->service_code}) {
        EXPECT_TRUE(field.data() >= begin && field.data() + field.size() <= end) << field;
      }
    } else {
      EXPECT_EQ(parsed.event.SerializeAsString(), event.SerializeAsString());
    }
  }
}

TEST(Codec, FieldsParseAlikeInAnyOrder) {
  // The reader looks fields up in the order lines usually list them, then anywhere:
  // reversed and rotated lines must parse to the same events, and an unknown or
  // repeated field must be found wherever it stands.
  JsonEventParser parser;
  simdjson::dom::parser dom;
  for (const char* line : kCanonicalEvents) {
    SCOPED_TRACE(line);
    std::vector<std::string> fields;
    const std::string text = line;
    simdjson::dom::object parsed;
    ASSERT_EQ(dom.parse(text).get_object().get(parsed), simdjson::SUCCESS);
    for (auto field : parsed) {
      fields.push_back(fmt::format("\"{}\":{}", field.key, simdjson::minify(field.value)));
    }
    auto object = [](const std::vector<std::string>& parts) {
      return fmt::format("{{{}}}", fmt::join(parts, ","));
    };
    std::vector<std::string> reversed(fields.rbegin(), fields.rend());
    std::vector<std::string> rotated = fields;
    std::rotate(rotated.begin(), rotated.begin() + 4, rotated.end());
    for (const auto& order : {reversed, rotated}) {
      events::Event event;
      auto rejection = parser.Parse(object(order), event);
      ASSERT_FALSE(rejection.has_value()) << rejection->field << ": " << rejection->message;
      EXPECT_EQ(EventToJson(event), line);
      std::vector<std::string> unknown = order;
      unknown.insert(unknown.begin() + 1, R"("ssn":"x")");
      rejection = parser.Parse(object(unknown), event);
      ASSERT_TRUE(rejection.has_value());
      EXPECT_EQ(rejection->field, "ssn");
      std::vector<std::string> repeated = order;
      repeated.push_back(fields[3]);
      rejection = parser.Parse(object(repeated), event);
      ASSERT_TRUE(rejection.has_value());
      EXPECT_THAT(rejection->message, HasSubstr("twice"));
    }
  }
}

TEST(Codec, NormalizesOffsetsToUtcAndSortsKeyedObjects) {
  JsonEventParser parser;
  events::Event event;
  ASSERT_FALSE(parser.Parse(
      R"({"type":"agreement_signed","event_id":"x","occurred_at":"2026-04-01T01:30:00+03:00","agreement_id":"a","version":1,"service_point_id":"p","effective_from":"2026-01-01","parties":["b","a"],"pools":{"z":{"tranches":[{"weight_pct":"100","key":"equal"}]},"a":{"tranches":[{"weight_pct":"100","key":"contacts"}]}}})",
      event));
  EXPECT_EQ(EventToJson(event),
            R"({"event_id":"x","type":"agreement_signed","occurred_at":"2026-03-31T22:30:00Z","agreement_id":"a","version":1,"service_point_id":"p","effective_from":"2026-01-01","parties":["b","a"],"pools":{"a":{"tranches":[{"weight_pct":"100.0000","key":"contacts"}]},"z":{"tranches":[{"weight_pct":"100.0000","key":"equal"}]}}})");
}

TEST(Codec, InstantsInTheCommonFormParseAsAbslParsesThem) {
  // The common form "YYYY-MM-DDTHH:MM:SSZ" has a fast path of its own; it must agree
  // with absl's RFC 3339 parser on every instant and leave everything else to it.
  JsonEventParser parser;
  auto parse = [&](const std::string& instant, events::Event& event) {
    return parser.Parse(
        R"({"event_id":"e","type":"contact_voided","occurred_at":")" + instant +
            R"(","contact_id":"c","reason":"r"})",
        event);
  };
  const absl::Time from = absl::FromCivil(absl::CivilSecond(2000, 1, 1), absl::UTCTimeZone());
  const absl::Time to = absl::FromCivil(absl::CivilSecond(2200, 1, 1), absl::UTCTimeZone());
  std::vector<absl::Time> instants = {from, to - absl::Seconds(1),
                                      absl::FromCivil(absl::CivilSecond(2024, 2, 29, 23, 59, 59),
                                                      absl::UTCTimeZone())};
  uint64_t state = 12345;  // a fixed LCG: reproducible without printing a seed
  for (int i = 0; i < 20000; ++i) {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    const auto span_s = static_cast<uint64_t>(absl::ToInt64Seconds(to - from));
    instants.push_back(from + absl::Seconds(static_cast<int64_t>((state >> 11) % span_s)));
  }
  for (const absl::Time t : instants) {
    const std::string text = absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", t, absl::UTCTimeZone());
    events::Event event;
    auto rejection = parse(text, event);
    ASSERT_FALSE(rejection.has_value()) << text << ": " << rejection->message;
    ASSERT_EQ(event.occurred_at_unix_ns(), absl::ToUnixNanos(t)) << text;
  }
  for (const char* bad : {"2025-02-29T00:00:00Z", "2026-13-01T00:00:00Z", "2026-00-10T00:00:00Z",
                          "2026-01-00T00:00:00Z", "2026-01-01T24:00:00Z", "2026-01-01T23:60:00Z",
                          "2026-04-31T00:00:00Z", "2026-01-01T00:00:0xZ", "2026-01-01 00:00:00Z"}) {
    events::Event event;
    auto rejection = parse(bad, event);
    ASSERT_TRUE(rejection.has_value()) << bad;
    EXPECT_EQ(rejection->reason, RejectReason::kSchema) << bad;
    EXPECT_EQ(rejection->field, "occurred_at");
  }
  for (const char* out_of_range : {"1999-12-31T23:59:59Z", "2200-01-01T00:00:00Z"}) {
    events::Event event;
    auto rejection = parse(out_of_range, event);
    ASSERT_TRUE(rejection.has_value()) << out_of_range;
    EXPECT_EQ(rejection->reason, RejectReason::kRange) << out_of_range;
  }
}

struct RejectCase {
  const char* name;
  std::string line;
  RejectReason reason;
  const char* field;
  const char* message_part;
};

std::string Contact(const std::string& fields) {
  return R"({"event_id":"e1","type":"contact_recorded","occurred_at":"2026-02-01T10:00:00Z",)" +
         fields + "}";
}
const std::string kContactFields =
    R"("contact_id":"c1","service_point_id":"p","agency_id":"kela","service_code":"S","channel":"phone","handled_by":"shared_advisor")";

TEST(Codec, RejectsWithCodeFieldAndRule) {
  const RejectCase cases[] = {
      {"not json", "{nope", RejectReason::kMalformed, "", "not a JSON value"},
      {"invalid utf8", "{\"event_id\":\"\xFF\"}", RejectReason::kMalformed, "", "UTF-8"},
      {"trailing garbage", Contact(kContactFields + R"(,"duration_s":1)") + "x",
       RejectReason::kMalformed, "", "not a JSON value"},
      {"not an object", "[1,2]", RejectReason::kSchema, "", "JSON object"},
      {"missing field", Contact(kContactFields), RejectReason::kSchema, "duration_s",
       "missing required field"},
      {"mistyped field", Contact(kContactFields + R"(,"duration_s":"60")"), RejectReason::kSchema,
       "duration_s", "integer"},
      {"unknown field", Contact(kContactFields + R"(,"duration_s":6,"ssn":"x")"),
       RejectReason::kSchema, "ssn", "unknown field"},
      {"duplicate field", Contact(kContactFields + R"(,"duration_s":6,"duration_s":7)"),
       RejectReason::kSchema, "duration_s", "twice"},
      {"unknown type", R"({"event_id":"e","type":"party","occurred_at":"2026-01-01T00:00:00Z"})",
       RejectReason::kSchema, "type", "unknown event type"},
      {"bad enum", Contact(R"("contact_id":"c1","service_point_id":"p","agency_id":"kela","service_code":"S","channel":"fax","handled_by":"shared_advisor","duration_s":1)"),
       RejectReason::kSchema, "channel", "not one of"},
      {"no offset", R"({"event_id":"e","type":"contact_voided","occurred_at":"2026-01-01T00:00:00","contact_id":"c","reason":"r"})",
       RejectReason::kSchema, "occurred_at", "RFC 3339"},
      {"negative duration", Contact(kContactFields + R"(,"duration_s":-1)"), RejectReason::kRange,
       "duration_s", "0..86400"},
      {"too long duration", Contact(kContactFields + R"(,"duration_s":86401)"),
       RejectReason::kRange, "duration_s", "0..86400"},
      {"three decimals", R"({"event_id":"e","type":"cost_posted","occurred_at":"2026-01-01T00:00:00Z","cost_id":"k","service_point_id":"p","pool":"premises","period":"2026-01","amount":"10.005","description":"d"})",
       RejectReason::kRange, "amount", "more than 2 decimals"},
      {"money as number", R"({"event_id":"e","type":"cost_posted","occurred_at":"2026-01-01T00:00:00Z","cost_id":"k","service_point_id":"p","pool":"premises","period":"2026-01","amount":10.5,"description":"d"})",
       RejectReason::kSchema, "amount", "decimal string"},
      {"bad month", R"({"event_id":"e","type":"cost_posted","occurred_at":"2026-01-01T00:00:00Z","cost_id":"k","service_point_id":"p","pool":"premises","period":"2026-13","amount":"1","description":"d"})",
       RejectReason::kRange, "period", "not a month"},
      {"weights not 100", R"({"event_id":"e","type":"agreement_signed","occurred_at":"2026-01-01T00:00:00Z","agreement_id":"a","version":1,"service_point_id":"p","effective_from":"2026-01-01","parties":["x"],"pools":{"premises":{"tranches":[{"weight_pct":"60","key":"equal"},{"weight_pct":"30","key":"contacts"}]}}})",
       RejectReason::kRange, "pools.premises.tranches", "sum to 90.0000 %"},
      {"unknown key", R"({"event_id":"e","type":"agreement_signed","occurred_at":"2026-01-01T00:00:00Z","agreement_id":"a","version":1,"service_point_id":"p","effective_from":"2026-01-01","parties":["x"],"pools":{"premises":{"tranches":[{"weight_pct":"100","key":"height"}]}}})",
       RejectReason::kSchema, "pools.premises.tranches[0].key", "unknown key"},
      {"bad business id", R"({"event_id":"e","type":"agency_registered","occurred_at":"2026-01-01T00:00:00Z","agency_id":"a","name":"A","kind":"state","business_id":"0101263-5"})",
       RejectReason::kRange, "business_id", "check digit"},
      {"personal data", R"({"event_id":"e","type":"contact_voided","occurred_at":"2026-01-01T00:00:00Z","contact_id":"c","reason":"asiakas 131052-308T soitti"})",
       RejectReason::kPersonalData, "reason", "personal identity code"},
      {"escaped personal data", R"({"event_id":"e","type":"contact_voided","occurred_at":"2026-01-01T00:00:00Z","contact_id":"c","reason":"\u0031\u0033\u0031\u0030\u0035\u0032-308T"})",
       RejectReason::kPersonalData, "reason", "personal identity code"},
      {"id too long", Contact(R"("contact_id":")" + std::string(129, 'c') + R"(","service_point_id":"p","agency_id":"kela","service_code":"S","channel":"phone","handled_by":"shared_advisor","duration_s":1)"),
       RejectReason::kRange, "contact_id", "1..128"},
      {"area in allocation", R"({"event_id":"e","type":"space_allocated","occurred_at":"2026-01-01T00:00:00Z","service_point_id":"p","effective_from":"2026-01-01","allocations":[{"agency_id":"a","area_m2":"1.001"}],"shared_area_m2":"0"})",
       RejectReason::kRange, "allocations[0].area_m2", "more than 2 decimals"},
      {"booking ends first", R"({"event_id":"e","type":"room_booked","occurred_at":"2026-01-01T00:00:00Z","booking_id":"b","service_point_id":"p","room_id":"r","agency_id":"a","start":"2026-01-02T10:00:00Z","end":"2026-01-02T09:00:00Z"})",
       RejectReason::kRange, "end", "later than start"},
      {"bad iban", R"({"event_id":"e","type":"agency_registered","occurred_at":"2026-01-01T00:00:00Z","agency_id":"a","name":"A","kind":"state","business_id":"0101263-6","iban":"FI2112345600000786"})",
       RejectReason::kRange, "iban", "check digits"},
      {"agency id with a slash", R"({"event_id":"e","type":"agency_registered","occurred_at":"2026-01-01T00:00:00Z","agency_id":"x/../../etc","name":"A","kind":"state","business_id":"0101263-6"})",
       RejectReason::kRange, "agency_id", "must not contain '/'"},
      {"agency id with a backslash", R"({"event_id":"e","type":"agency_registered","occurred_at":"2026-01-01T00:00:00Z","agency_id":"x\\y","name":"A","kind":"state","business_id":"0101263-6"})",
       RejectReason::kRange, "agency_id", "file names"},
      {"point id starting with a dot", R"({"event_id":"e","type":"service_point_opened","occurred_at":"2026-01-01T00:00:00Z","service_point_id":"..","name":"P","municipality":"Espoo","host_agency_id":"a","total_area_m2":"10"})",
       RejectReason::kRange, "service_point_id", "start with '.'"},
      {"program id with a slash", R"({"event_id":"e","type":"agreement_signed","occurred_at":"2026-01-01T00:00:00Z","agreement_id":"a","version":1,"service_point_id":"p","effective_from":"2026-01-01","parties":["x"],"pools":{"premises":{"tranches":[{"weight_pct":"100","key":"equal"}]}},"subsidies":[{"program_id":"vm/1","claimant_agency_id":"x","rate_pct":"50","basis":"pool_total","pools":["premises"]}]})",
       RejectReason::kRange, "subsidies[0].program_id", "must not contain '/'"},
      // Issue 15.11: pools' names for people, per document language.
      {"display name in an unknown language", R"({"event_id":"e","type":"agreement_signed","occurred_at":"2026-01-01T00:00:00Z","agreement_id":"a","version":1,"service_point_id":"p","effective_from":"2026-01-01","parties":["x"],"pools":{"premises":{"tranches":[{"weight_pct":"100","key":"equal"}],"display_names":{"fi":"Toimitilat","de":"Räume"}}}})",
       RejectReason::kSchema, "pools.premises.display_names.de", "languages are fi, sv, en"},
      {"display name not a string", R"({"event_id":"e","type":"agreement_signed","occurred_at":"2026-01-01T00:00:00Z","agreement_id":"a","version":1,"service_point_id":"p","effective_from":"2026-01-01","parties":["x"],"pools":{"premises":{"tranches":[{"weight_pct":"100","key":"equal"}],"display_names":{"fi":7}}}})",
       RejectReason::kSchema, "pools.premises.display_names.fi", "string"},
      {"display name empty", R"({"event_id":"e","type":"agreement_signed","occurred_at":"2026-01-01T00:00:00Z","agreement_id":"a","version":1,"service_point_id":"p","effective_from":"2026-01-01","parties":["x"],"pools":{"premises":{"tranches":[{"weight_pct":"100","key":"equal"}],"display_names":{"sv":""}}}})",
       RejectReason::kRange, "pools.premises.display_names.sv", ""},
      {"display names empty", R"({"event_id":"e","type":"agreement_signed","occurred_at":"2026-01-01T00:00:00Z","agreement_id":"a","version":1,"service_point_id":"p","effective_from":"2026-01-01","parties":["x"],"pools":{"premises":{"tranches":[{"weight_pct":"100","key":"equal"}],"display_names":{}}}})",
       RejectReason::kRange, "pools.premises.display_names", "at least one language"},
      {"display name twice", R"({"event_id":"e","type":"agreement_signed","occurred_at":"2026-01-01T00:00:00Z","agreement_id":"a","version":1,"service_point_id":"p","effective_from":"2026-01-01","parties":["x"],"pools":{"premises":{"tranches":[{"weight_pct":"100","key":"equal"}],"display_names":{"fi":"A","fi":"B"}}}})",
       RejectReason::kSchema, "pools.premises.display_names", "twice"},
      {"invoice from outside", R"({"event_id":"e","type":"invoice_issued","occurred_at":"2026-01-01T00:00:00Z"})",
       RejectReason::kSchema, "type", "tori bill"},
  };
  JsonEventParser parser;
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    events::Event event;
    auto rejection = parser.Parse(c.line, event);
    ASSERT_TRUE(rejection.has_value());
    EXPECT_EQ(RejectReasonName(rejection->reason), RejectReasonName(c.reason));
    EXPECT_EQ(rejection->field, c.field);
    EXPECT_THAT(rejection->message, HasSubstr(c.message_part));
  }
}

TEST(Codec, AcceptsPersonalIdentityCodeLookAlike) {
  JsonEventParser parser;
  events::Event event;
  auto rejection = parser.Parse(
      R"({"event_id":"e","type":"contact_voided","occurred_at":"2026-01-01T00:00:00Z","contact_id":"c","reason":"ticket 131052-308A"})",
      event);
  EXPECT_FALSE(rejection.has_value());
}

TEST(Codec, SurvivesHostileInput) {
  JsonEventParser parser;
  events::Event event;
  const std::string deep = std::string(20'000, '[') + std::string(20'000, ']');
  EXPECT_EQ(parser.Parse(deep, event)->reason, RejectReason::kMalformed);
  const std::string deep_object = std::string(20'000, '{');
  EXPECT_EQ(parser.Parse(deep_object, event)->reason, RejectReason::kMalformed);
  const std::string huge(10 << 20, 'x');
  auto rejection = parser.Parse(huge, event);
  EXPECT_EQ(rejection->reason, RejectReason::kMalformed);
  EXPECT_THAT(rejection->message, HasSubstr("longer than the limit"));
  EXPECT_EQ(parser.Parse("", event)->reason, RejectReason::kMalformed);
  EXPECT_EQ(parser.Parse(std::string("\0\0\0", 3), event)->reason, RejectReason::kMalformed);
  // The parser still works after all that.
  EXPECT_FALSE(parser.Parse(kCanonicalEvents[6], event).has_value());
}

}  // namespace
}  // namespace tori

namespace tori {
namespace {

// A Finnish name saved by Excel as Windows-1252: the message names the byte and says how
// to convert the file (issue #15.6).
TEST(Codec, ALineNotInUtf8SaysWhereAndHowToConvert) {
  JsonEventParser parser;
  events::Event event;
  const std::string line = "{\"event_id\":\"e1\",\"name\":\"Kansanel\xE4kelaitos\"}";
  auto rejection = parser.Parse(line, event);
  ASSERT_TRUE(rejection.has_value());
  EXPECT_EQ(rejection->reason, RejectReason::kMalformed);
  EXPECT_THAT(rejection->message, HasSubstr("byte 0xE4 at byte 34 of the line"));
  EXPECT_THAT(rejection->message, HasSubstr("iconv -f windows-1252 -t utf-8"));
}

}  // namespace
}  // namespace tori
