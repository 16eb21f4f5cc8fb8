// The binary encoding of the most frequent messages, by hand. Encoding: protobuf's
// serializer checked the UTF-8 of every string again (the parser already did) and
// walked each message twice, for sizes and for bytes (BENCHMARKS.md, "measured
// history"). Decoding: protobuf's parser freed and allocated the contact
// and its strings for every record of a replay. The bytes are protobuf's own: fields
// in number order, proto3 defaults left out; anything else goes to protobuf
// (binary_test compares both ways with protobuf).
#include <cstdint>
#include <cstring>
#include <string>

#include "events/base/check.h"
#include "events/codec/codec.h"
#include "simdjson.h"

namespace tori {
namespace {

size_t VarintBytes(uint64_t value) {
  size_t bytes = 1;
  while (value >= 0x80) value >>= 7, ++bytes;
  return bytes;
}

// Tags of fields 1..15: one byte, (number << 3) | wire type.
constexpr char Tag(int number, int wire_type) { return static_cast<char>(number << 3 | wire_type); }
constexpr int kVarint = 0, kLengthDelimited = 2;

// Field sizes and writers; proto3 leaves empty strings and zeros out. Negative
// int32 (enums) and int64 values are varints of their 64-bit two's complement.
size_t StringBytes(std::string_view value) {
  return value.empty() ? 0 : 1 + VarintBytes(value.size()) + value.size();
}
size_t IntBytes(int64_t value) {
  return value == 0 ? 0 : 1 + VarintBytes(static_cast<uint64_t>(value));
}
// Writes fields into room made beforehand: appending byte by byte checks the
// capacity at every byte.
class Writer {
 public:
  // Makes `bytes` of room at the end of `out`, to write into.
  Writer(std::string& out, size_t bytes) : out_(out), start_(out.size()) {
    out.resize(start_ + bytes);
    at_ = out.data() + start_;
  }
  ~Writer() { TORI_DCHECK(at_ == out_.data() + out_.size()); }
  void Byte(char byte) { *at_++ = byte; }
  void Varint(uint64_t value) {
    while (value >= 0x80) {
      *at_++ = static_cast<char>(value | 0x80);
      value >>= 7;
    }
    *at_++ = static_cast<char>(value);
  }
  // Returns where the string's bytes went, from the start of `out`.
  size_t String(int number, std::string_view value) {
    if (value.empty()) return static_cast<size_t>(at_ - out_.data());
    *at_++ = Tag(number, kLengthDelimited);
    Varint(value.size());
    std::memcpy(at_, value.data(), value.size());
    at_ += value.size();
    return static_cast<size_t>(at_ - out_.data()) - value.size();
  }
  void Int(int number, int64_t value) {
    if (value == 0) return;
    *at_++ = Tag(number, kVarint);
    Varint(static_cast<uint64_t>(value));
  }

 private:
  std::string& out_;
  size_t start_;
  char* at_;
};

bool HasUnknownFields(const google::protobuf::Message& message) {
  return !message.GetReflection()->GetUnknownFields(message).empty();
}

}  // namespace

ContactRecordedView ContactViewOf(const events::Event& event) {
  const events::ContactRecorded& e = event.contact_recorded();
  return ContactRecordedView{event.event_id(), event.occurred_at_unix_ns(),
                             event.schema_version(), e.contact_id(),
                             e.service_point_id(), e.agency_id(),
                             e.service_code(),     e.channel(),
                             e.handled_by(),       e.duration_s()};
}

void FillEvent(const ContactRecordedView& contact, events::Event& event) {
  // Unknown fields of what `event` held before (a newer schema's, kept by protobuf)
  // must not survive into this one.
  if (HasUnknownFields(event) ||
      (event.has_contact_recorded() && HasUnknownFields(event.contact_recorded()))) {
    event.Clear();
  }
  // Into the event's existing objects: assign keeps their strings' buffers.
  event.mutable_event_id()->assign(contact.event_id);
  event.set_occurred_at_unix_ns(contact.occurred_at_unix_ns);
  event.set_schema_version(contact.schema_version);
  events::ContactRecorded& e = *event.mutable_contact_recorded();
  e.mutable_contact_id()->assign(contact.contact_id);
  e.mutable_service_point_id()->assign(contact.service_point_id);
  e.mutable_agency_id()->assign(contact.agency_id);
  e.mutable_service_code()->assign(contact.service_code);
  e.set_channel(contact.channel);
  e.set_handled_by(contact.handled_by);
  e.set_duration_s(contact.duration_s);
}

ContactRecordedView AppendEncoded(const ContactRecordedView& contact, std::string& out) {
  const size_t contact_bytes =
      StringBytes(contact.contact_id) + StringBytes(contact.service_point_id) +
      StringBytes(contact.agency_id) + StringBytes(contact.service_code) +
      IntBytes(contact.channel) + IntBytes(contact.handled_by) + IntBytes(contact.duration_s);
  // Where each string lands, to view it there once `out` stops growing.
  size_t event_id, contact_id, point, agency, code;
  {
    Writer w(out, StringBytes(contact.event_id) + IntBytes(contact.occurred_at_unix_ns) +
                      IntBytes(contact.schema_version) + 1 + VarintBytes(contact_bytes) +
                      contact_bytes);
    event_id = w.String(1, contact.event_id);
    w.Int(2, contact.occurred_at_unix_ns);
    w.Int(3, contact.schema_version);
    w.Byte(static_cast<char>(14 << 3 | kLengthDelimited));  // contact_recorded = 14
    w.Varint(contact_bytes);
    contact_id = w.String(1, contact.contact_id);
    point = w.String(2, contact.service_point_id);
    agency = w.String(3, contact.agency_id);
    code = w.String(4, contact.service_code);
    w.Int(5, contact.channel);
    w.Int(6, contact.handled_by);
    w.Int(7, contact.duration_s);
  }
  ContactRecordedView in_out = contact;
  auto view = [&out](size_t at, std::string_view value) {
    return std::string_view(out.data() + at, value.size());
  };
  in_out.event_id = view(event_id, contact.event_id);
  in_out.contact_id = view(contact_id, contact.contact_id);
  in_out.service_point_id = view(point, contact.service_point_id);
  in_out.agency_id = view(agency, contact.agency_id);
  in_out.service_code = view(code, contact.service_code);
  return in_out;
}

void AppendEncoded(const events::Event& event, std::string& out) {
  if (!event.has_contact_recorded() || HasUnknownFields(event) ||
      HasUnknownFields(event.contact_recorded())) {
    event.AppendToString(&out);
    return;
  }
  AppendEncoded(ContactViewOf(event), out);
}

namespace {

void AppendContactState(bool voided, std::string_view service_point_id,
                        std::string_view agency_id, std::string_view service_code,
                        int64_t handled_by, int64_t duration_s, int64_t occurred_at_unix_ns,
                        int64_t channel, std::string& out) {
  // Field 40 (channel, SPEC section 9) has a two-byte tag: (40 << 3) | varint = 320.
  constexpr uint64_t kChannelTag = 40 << 3 | kVarint;
  const size_t channel_bytes =
      channel == 0 ? 0 : VarintBytes(kChannelTag) + VarintBytes(static_cast<uint64_t>(channel));
  Writer w(out, IntBytes(voided) + StringBytes(service_point_id) + StringBytes(agency_id) +
                    StringBytes(service_code) + IntBytes(handled_by) + IntBytes(duration_s) +
                    IntBytes(occurred_at_unix_ns) + channel_bytes);
  w.Int(1, voided);
  w.String(2, service_point_id);
  w.String(3, agency_id);
  w.String(4, service_code);
  w.Int(5, handled_by);
  w.Int(6, duration_s);
  w.Int(7, occurred_at_unix_ns);
  if (channel != 0) {
    w.Varint(kChannelTag);
    w.Varint(static_cast<uint64_t>(channel));
  }
}

}  // namespace

void AppendEncoded(const events::ContactState& state, std::string& out) {
  if (HasUnknownFields(state)) {
    state.AppendToString(&out);
    return;
  }
  AppendContactState(state.voided(), state.service_point_id(), state.agency_id(),
                     state.service_code(), state.handled_by(), state.duration_s(),
                     state.occurred_at_unix_ns(), state.channel(), out);
}

void AppendEncodedNewContactState(const ContactRecordedView& recorded, std::string& out) {
  AppendContactState(false, recorded.service_point_id, recorded.agency_id, recorded.service_code,
                     recorded.handled_by, recorded.duration_s, recorded.occurred_at_unix_ns,
                     recorded.channel, out);
}

namespace {

// Reads the canonical encoding (see the top of the file); false on anything else.
class CanonicalReader {
 public:
  explicit CanonicalReader(std::string_view bytes)
      : at_(reinterpret_cast<const uint8_t*>(bytes.data())), end_(at_ + bytes.size()) {}

  bool AtEnd() const { return at_ == end_; }
  // Consumes `tag` if it comes next.
  bool Next(uint8_t tag) {
    if (at_ == end_ || *at_ != tag) return false;
    ++at_;
    return true;
  }
  bool Varint(uint64_t& value) {
    value = 0;
    for (int shift = 0; shift < 64 && at_ < end_; shift += 7) {
      const uint8_t byte = *at_++;
      value |= static_cast<uint64_t>(byte & 0x7F) << shift;
      if (byte < 0x80) return true;
    }
    return false;  // too long or cut off
  }
  bool Bytes(std::string_view& bytes) {
    uint64_t length;
    if (!Varint(length) || length > static_cast<uint64_t>(end_ - at_)) return false;
    bytes = std::string_view(reinterpret_cast<const char*>(at_), length);
    at_ += length;
    return true;
  }
  // Optional fields in number order: absent ones keep their defaults.
  bool String(uint8_t tag, std::string_view& out) {
    out = {};
    if (!Next(tag)) return true;
    // proto3 strings must be UTF-8 (protobuf refuses to parse them otherwise); ids are
    // ASCII, checked eight bytes at a time before simdjson's general check is called.
    return Bytes(out) && (IsAscii(out) || simdjson::validate_utf8(out.data(), out.size()));
  }
  static bool IsAscii(std::string_view bytes) {
    uint64_t high = 0;  // the top bits of every byte, eight at a time
    size_t at = 0;
    for (; at + 8 <= bytes.size(); at += 8) {
      uint64_t word;
      std::memcpy(&word, bytes.data() + at, 8);
      high |= word;
    }
    for (; at < bytes.size(); ++at) high |= static_cast<uint8_t>(bytes[at]);
    return (high & 0x8080808080808080u) == 0;
  }
  bool Int(uint8_t tag, uint64_t& value) {
    value = 0;
    return !Next(tag) || Varint(value);
  }

 private:
  const uint8_t* at_;
  const uint8_t* end_;
};

// A contact_recorded event in canonical encoding, as views into `bytes`.
bool DecodeCanonicalContact(std::string_view bytes, ContactRecordedView& contact) {
  CanonicalReader r(bytes);
  uint64_t occurred_at, schema_version;
  std::string_view contact_bytes;
  if (!r.String(Tag(1, kLengthDelimited), contact.event_id) ||
      !r.Int(Tag(2, kVarint), occurred_at) || !r.Int(Tag(3, kVarint), schema_version) ||
      !r.Next(14 << 3 | kLengthDelimited) || !r.Bytes(contact_bytes) || !r.AtEnd()) {
    return false;
  }
  CanonicalReader c(contact_bytes);
  uint64_t channel, handled_by, duration_s;
  if (!c.String(Tag(1, kLengthDelimited), contact.contact_id) ||
      !c.String(Tag(2, kLengthDelimited), contact.service_point_id) ||
      !c.String(Tag(3, kLengthDelimited), contact.agency_id) ||
      !c.String(Tag(4, kLengthDelimited), contact.service_code) ||
      !c.Int(Tag(5, kVarint), channel) || !c.Int(Tag(6, kVarint), handled_by) ||
      !c.Int(Tag(7, kVarint), duration_s) || !c.AtEnd()) {
    return false;
  }
  contact.occurred_at_unix_ns = static_cast<int64_t>(occurred_at);
  contact.schema_version = static_cast<uint32_t>(schema_version);
  // Enumerations are open in proto3: any int32 is kept, as protobuf keeps it.
  contact.channel = static_cast<events::Channel>(static_cast<int32_t>(channel));
  contact.handled_by = static_cast<events::HandledBy>(static_cast<int32_t>(handled_by));
  contact.duration_s = static_cast<int64_t>(duration_s);
  return true;
}

}  // namespace

bool DecodeEvent(std::string_view bytes, events::Event& event) {
  ContactRecordedView contact;
  if (DecodeCanonicalContact(bytes, contact)) {
    FillEvent(contact, event);
    return true;
  }
  return event.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()));
}

std::optional<ContactRecordedView> DecodeContactView(std::string_view bytes) {
  ContactRecordedView contact;
  if (!DecodeCanonicalContact(bytes, contact)) return std::nullopt;
  return contact;
}

}  // namespace tori
