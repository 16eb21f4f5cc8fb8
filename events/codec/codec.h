// The canonical JSON form of events (SPEC section 2) <-> the protobuf encoding in
// schemas/tori/schema/v1/events.proto.
//
// Parsing does every check that needs nothing but the line itself: JSON syntax and
// UTF-8, field presence and types, unknown and duplicate fields, decimal precision
// and ranges, enumerations, id syntax, the Y-tunnus check digit, and personal
// identity codes in any string. Checks that need state (references, uniqueness,
// the clock) belong to the validator in events/validate.
//
// Writing produces the canonical text: fields in SPEC order, instants in RFC 3339
// UTC, money as "1234.50". JSON -> event -> JSON is stable after one pass.
//
// Thread safety: a JsonEventParser is used by one thread at a time (it owns a
// simdjson parser and its buffers); EventToJson is a pure function.
#ifndef TORI_EVENTS_CODEC_CODEC_H_
#define TORI_EVENTS_CODEC_CODEC_H_

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "events/codec/rejection.h"
#include "tori/schema/v1/events.pb.h"

namespace tori {

namespace events = ::tori::schema::v1;

// The schema version this build writes on every event type of version 1 (their bytes,
// and so their idempotency hashes, never change).
inline constexpr uint32_t kSchemaVersion = 1;
// agency_updated and host_shares_issued, added in version 2, carry 2 (schemas/README.md).
inline constexpr uint32_t kSchemaVersionAgencyUpdated = 2;
inline constexpr uint32_t kSchemaVersionHostSharesIssued = 2;
// checkpoint_signed (tori checkpoint), added in version 2 as well.
inline constexpr uint32_t kSchemaVersionCheckpointSigned = 2;
// access_granted and access_revoked (SPEC section 7) carry 2 as well.
inline constexpr uint32_t kSchemaVersionAccess = 2;
// approval_policy_set, quarter_prepared and quarter_approved (SPEC section 8) carry 2.
inline constexpr uint32_t kSchemaVersionApproval = 2;
// agency_succeeded (SPEC section 8) carries 2 as well.
inline constexpr uint32_t kSchemaVersionAgencySucceeded = 2;
// agency_registered of kind company (SPEC section 8) carries 3: a reader of version 2
// would bill the partner without VAT. Other agencies keep version 1 and their bytes.
inline constexpr uint32_t kSchemaVersionCompany = 3;
// An access_granted with granted_by_agency_id (a host's grant through the API) carries
// 3: a reader of version 2 would give the token the view of every host's invoices.
// Machine grants keep version 2 and their bytes.
inline constexpr uint32_t kSchemaVersionGrantedBy = 3;
// The highest schema version this build reads.
inline constexpr uint32_t kSchemaVersionRead = 3;
// SPEC section 9's event types and a mobile service_point_opened.
inline constexpr uint32_t kSchemaVersionSection9 = 2;

// Longest line accepted as an event; longer lines are rejected as MALFORMED.
inline constexpr size_t kEventLineBytesMax = 1 << 20;

// Bytes a caller may leave readable after a line so the parser need not copy it.
size_t JsonParserPaddingBytes();

// A contact_recorded event without an Event object: ingest's hot path reads these,
// so that no line fills, clears and reads an Event's heap strings. The views point into a ParsedEvent's
// encoding (or into the Event of ContactViewOf).
struct ContactRecordedView {
  std::string_view event_id;
  int64_t occurred_at_unix_ns = 0;
  uint32_t schema_version = kSchemaVersion;
  std::string_view contact_id, service_point_id, agency_id, service_code;
  events::Channel channel = events::CHANNEL_UNSPECIFIED;
  events::HandledBy handled_by = events::HANDLED_BY_UNSPECIFIED;
  int64_t duration_s = 0;
};
// The view of a contact_recorded `event` (views into it), and the event of a view
// (into `event`'s existing objects, which keep their strings' buffers).
ContactRecordedView ContactViewOf(const events::Event& event);
void FillEvent(const ContactRecordedView& contact, events::Event& event);

// One line parsed for ingest: the event's binary encoding, and a view of the contact
// it records or, for every other type, the event.
struct ParsedEvent {
  std::string encoded;
  std::optional<ContactRecordedView> contact;  // views into `encoded`
  events::Event event;                         // when `contact` is empty
};

class JsonEventParser {
 public:
  JsonEventParser();
  ~JsonEventParser();
  JsonEventParser(const JsonEventParser&) = delete;
  JsonEventParser& operator=(const JsonEventParser&) = delete;

  // Parses one event line (without its newline) into `event`. Returns the rejection
  // when the line is not a valid event; `event` is then unspecified.
  // `readable_bytes` >= line.size(): how many bytes from line.data() may be read;
  // with JsonParserPaddingBytes() to spare the line is parsed in place.
  std::optional<Rejection> Parse(std::string_view line, size_t readable_bytes,
                                 events::Event& event);
  std::optional<Rejection> Parse(std::string_view line, events::Event& event) {
    return Parse(line, line.size(), event);
  }
  // The same for ingest: into `parsed`, with the event's binary encoding.
  std::optional<Rejection> Parse(std::string_view line, size_t readable_bytes,
                                 ParsedEvent& parsed);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Appends the binary encoding of `event` (or `state`) to `out`: byte for byte what
// protobuf's SerializeToString writes, which the log's records and the idempotency
// hash are made of, written faster for contacts (binary.cc).
void AppendEncoded(const events::Event& event, std::string& out);
void AppendEncoded(const events::ContactState& state, std::string& out);
// The encoding of the contact_recorded event `contact` (as AppendEncoded of its
// Event); returns the view of it whose strings point into `out`.
ContactRecordedView AppendEncoded(const ContactRecordedView& contact, std::string& out);
// The encoding of the state a contact_recorded event gives its contact: point, agency,
// service code, handled_by, duration and occurred_at, not voided.
void AppendEncodedNewContactState(const ContactRecordedView& recorded, std::string& out);

// Decodes `bytes` into `event` as protobuf's ParseFromArray does (same result, same
// refusals), faster for contacts, whose objects and string buffers in `event` are
// reused (binary.cc). False when `bytes` is no valid encoding.
bool DecodeEvent(std::string_view bytes, events::Event& event);
// The view (into `bytes`) of a contact_recorded event in the encoding AppendEncoded
// writes; nullopt for anything else, which DecodeEvent reads (as it would these).
std::optional<ContactRecordedView> DecodeContactView(std::string_view bytes);

// The SPEC `type` of an event ("contact_recorded", ...).
std::string_view EventTypeName(const events::Event& event);

// The canonical JSON text of `event`, one line, no trailing newline.
std::string EventToJson(const events::Event& event);

// RFC 3339 UTC text of an instant in Unix nanoseconds: "2026-03-31T22:30:00Z".
std::string FormatInstant(int64_t unix_ns);

}  // namespace tori

#endif  // TORI_EVENTS_CODEC_CODEC_H_
