// The hand-written encoder writes protobuf's bytes exactly (the log's records and the
// idempotency hashes are these bytes: any difference would make a re-ingested event a
// DUPLICATE_CONFLICT), and the decoder gives what protobuf's parser gives, refusals
// included (a replay must see the log as any other reader does).
#include <random>
#include <string>

#include "events/codec/codec.h"
#include "fmt/format.h"
#include "google/protobuf/stubs/logging.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"

namespace tori {
namespace {

class Random {
 public:
  explicit Random(uint64_t seed) : engine_(seed) {}
  uint64_t Below(uint64_t n) { return engine_() % n; }
  // Empty, short, or longer than 127 bytes (a two-byte length), UTF-8 included.
  std::string Text() {
    static const char* const kPieces[] = {"a", "Z", "-", "0", "ä", "€", "\xF0\x9F\x99\x82"};
    const uint64_t length = Below(4) == 0 ? 0 : Below(3) == 0 ? 100 + Below(200) : Below(20);
    std::string text;
    while (text.size() < length) text += kPieces[Below(7)];
    return text;
  }
  // Zero, small, large and negative values (negatives are ten-byte varints).
  int64_t Int() {
    switch (Below(5)) {
      case 0: return 0;
      case 1: return static_cast<int64_t>(Below(200));
      case 2: return -static_cast<int64_t>(Below(1000)) - 1;
      case 3: return static_cast<int64_t>(engine_());
      default: return 1'790'000'000'000'000'000 + static_cast<int64_t>(Below(1'000'000'000));
    }
  }

 private:
  std::mt19937_64 engine_;
};

std::string Encoded(const events::Event& event) {
  std::string out = "prefix";  // appends, never overwrites
  AppendEncoded(event, out);
  return out;
}

events::Event RandomContact(Random& random) {
  events::Event event;
  event.set_event_id(random.Text());
  event.set_occurred_at_unix_ns(random.Int());
  event.set_schema_version(static_cast<uint32_t>(random.Below(3) == 0 ? random.Int() : 1));
  events::ContactRecorded& contact = *event.mutable_contact_recorded();
  contact.set_contact_id(random.Text());
  contact.set_service_point_id(random.Text());
  contact.set_agency_id(random.Text());
  contact.set_service_code(random.Text());
  // Open enums: unknown and negative values are kept and encoded too.
  contact.set_channel(static_cast<events::Channel>(static_cast<int32_t>(random.Int())));
  contact.set_handled_by(static_cast<events::HandledBy>(static_cast<int32_t>(random.Int())));
  contact.set_duration_s(random.Int());
  return event;
}

TEST(Encode, ContactsEncodeAsProtobufDoes) {
  constexpr uint64_t kSeeds = 20'000;
  for (uint64_t seed = 1; seed <= kSeeds; ++seed) {
    SCOPED_TRACE(fmt::format("seed {}", seed));
    Random random(seed);
    const events::Event event = RandomContact(random);
    const events::ContactRecorded& contact = event.contact_recorded();
    ASSERT_EQ(Encoded(event), "prefix" + event.SerializeAsString());

    events::ContactState state;
    state.set_voided(random.Below(2) == 0);
    state.set_service_point_id(random.Text());
    state.set_agency_id(random.Text());
    state.set_service_code(random.Text());
    state.set_handled_by(static_cast<events::HandledBy>(static_cast<int32_t>(random.Int())));
    state.set_duration_s(random.Int());
    state.set_occurred_at_unix_ns(random.Int());
    state.set_channel(static_cast<events::Channel>(static_cast<int32_t>(random.Int())));  // field 40
    std::string encoded_state = "prefix";
    AppendEncoded(state, encoded_state);
    ASSERT_EQ(encoded_state, "prefix" + state.SerializeAsString());

    // The state a contact_recorded gives its contact.
    events::ContactState created;
    created.set_service_point_id(contact.service_point_id());
    created.set_agency_id(contact.agency_id());
    created.set_service_code(contact.service_code());
    created.set_handled_by(contact.handled_by());
    created.set_duration_s(contact.duration_s());
    created.set_occurred_at_unix_ns(event.occurred_at_unix_ns());
    created.set_channel(contact.channel());  // SPEC section 9: video_time follows the channel
    std::string encoded_created = "prefix";
    AppendEncodedNewContactState(ContactViewOf(event), encoded_created);
    ASSERT_EQ(encoded_created, "prefix" + created.SerializeAsString());
  }
}

TEST(Encode, AnEmptyContactIsStillWritten) {
  events::Event event;
  event.mutable_contact_recorded();
  EXPECT_EQ(Encoded(event), "prefix" + event.SerializeAsString());
  EXPECT_EQ(Encoded(event), std::string("prefix\x72\x00", 8));
}

TEST(Encode, OtherEventsAndUnknownFieldsEncodeAsProtobufDoes) {
  JsonEventParser parser;
  events::Event event;
  ASSERT_FALSE(parser.Parse(
      R"({"event_id":"e1","type":"cost_posted","occurred_at":"2026-04-01T08:00:00Z","cost_id":"k1","service_point_id":"iso","pool":"premises","period":"2026-03","amount":"-1234.50","description":"Rent"})",
      event));
  EXPECT_EQ(Encoded(event), "prefix" + event.SerializeAsString());

  // A record of a newer schema: field 99 of the event and of the contact are unknown
  // here, and kept.
  events::Event contact;
  contact.set_event_id("e2");
  contact.mutable_contact_recorded()->set_contact_id("c1");
  std::string bytes = contact.SerializeAsString();
  bytes += std::string("\x98\x06\x01", 3);  // field 99, varint 1
  ASSERT_TRUE(contact.ParseFromString(bytes));
  EXPECT_EQ(Encoded(contact), "prefix" + contact.SerializeAsString());
  events::ContactRecorded inner;
  inner.set_contact_id("c1");
  std::string inner_bytes = inner.SerializeAsString() + std::string("\x98\x06\x01", 3);
  events::Event nested;
  ASSERT_TRUE(nested.mutable_contact_recorded()->ParseFromString(inner_bytes));
  EXPECT_EQ(Encoded(nested), "prefix" + nested.SerializeAsString());
}

// Decodes `bytes` into `reused` and into a fresh event with protobuf: same verdict,
// and on success the same message.
void ExpectDecodedAsProtobufDoes(const std::string& bytes, events::Event& reused) {
  google::protobuf::LogSilencer quiet;  // protobuf logs each invalid UTF-8 string it refuses
  events::Event expected;
  const bool parsed = expected.ParseFromString(bytes);
  ASSERT_EQ(DecodeEvent(bytes, reused), parsed);
  if (!parsed) {
    ASSERT_FALSE(DecodeContactView(bytes).has_value());
    return;
  }
  ASSERT_TRUE(google::protobuf::util::MessageDifferencer::Equals(reused, expected))
      << reused.DebugString() << " vs " << expected.DebugString();
  ASSERT_EQ(reused.SerializeAsString(), expected.SerializeAsString());  // unknown fields too
  // A view, where one is given, holds the same event.
  if (auto view = DecodeContactView(bytes)) {
    events::Event from_view;
    FillEvent(*view, from_view);
    ASSERT_EQ(from_view.SerializeAsString(), expected.SerializeAsString());
  }
}

TEST(Decode, RecordsDecodeAsProtobufDecodesThemEvenDamaged) {
  constexpr uint64_t kSeeds = 20'000;
  events::Event reused;  // like a replay's: holds whatever the record before left
  for (uint64_t seed = 1; seed <= kSeeds; ++seed) {
    SCOPED_TRACE(fmt::format("seed {}", seed));
    Random random(seed);
    std::string bytes;
    if (random.Below(10) == 0) {  // another type, a newer schema's unknown field
      events::Event other;
      other.set_event_id(random.Text());
      other.mutable_contact_voided()->set_contact_id(random.Text());
      bytes = other.SerializeAsString();
      if (random.Below(2) == 0) bytes += std::string("\x98\x06\x01", 3);
    } else {
      AppendEncoded(RandomContact(random), bytes);
      ASSERT_TRUE(DecodeContactView(bytes).has_value());  // what a replay reads
    }
    ExpectDecodedAsProtobufDoes(bytes, reused);
    // Damaged: a byte changed, cut short, or a byte inserted.
    std::string damaged = bytes;
    switch (random.Below(3)) {
      case 0:
        if (!damaged.empty()) damaged[random.Below(damaged.size())] = static_cast<char>(random.Below(256));
        break;
      case 1: damaged.resize(random.Below(damaged.size() + 1)); break;
      default:
        damaged.insert(damaged.begin() + static_cast<std::ptrdiff_t>(random.Below(damaged.size() + 1)),
                       static_cast<char>(random.Below(256)));
        break;
    }
    ExpectDecodedAsProtobufDoes(damaged, reused);
  }
}

TEST(Decode, InvalidUtf8IsRefusedAsProtobufRefusesIt) {
  events::Event event;
  event.set_event_id("e1");
  event.mutable_contact_recorded()->set_contact_id("c\xC3");  // cut in a character
  std::string bytes;
  AppendEncoded(event, bytes);
  events::Event reused;
  google::protobuf::LogSilencer quiet;
  EXPECT_FALSE(DecodeEvent(bytes, reused));
  ExpectDecodedAsProtobufDoes(bytes, reused);
}

}  // namespace
}  // namespace tori
