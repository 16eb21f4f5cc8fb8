// The rules of SPEC section 2 that need the index, as one table: a row per event
// type says what the event must create anew, which contact it changes, which agencies
// and points must be known, what else it checks against the index, and what it writes.
// The Validator applies the rows, in this order, first rejection wins:
//   1. MUST BE NEW     `creates`: its entity's key is absent    (else DUPLICATE_CONFLICT)
//   2. MUST BE ACTIVE  `changes_contact`: the contact is known  (else UNKNOWN_REFERENCE)
//                      and not voided                           (else INVALID_STATE)
//   3. MUST EXIST      `references`: each agency and point      (else UNKNOWN_REFERENCE)
//   4. MORE            `more`: content against the index        (RANGE, ...)
// and on acceptance writes the event_id's entry, the created entity's, the changed
// contact's new state (`change`) and `also_writes`. Idempotency (event_id) and the
// clock come before every row (Validator::JudgeEnvelope).
//
// Adding an event type: its schema, its codec, a row here, its projection; nothing of
// the overlay or the appliers.
//
// Thread safety: the table is constant.
#ifndef TORI_EVENTS_VALIDATE_INTERNAL_EVENT_RULES_H_
#define TORI_EVENTS_VALIDATE_INTERNAL_EVENT_RULES_H_

#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "events/codec/codec.h"
#include "events/validate/index_overlay.h"

namespace tori::rules {

// An entity an event creates: its key must be new.
struct Created {
  std::string key;
  std::string value;    // its index entry
  std::string field;    // the field a DUPLICATE_CONFLICT names
  std::string message;  // that rejection's message
};

// An agency or point an event names: it must be known.
struct Reference {
  char kind;  // index_keys::kAgency or kPoint
  std::string_view id;
  // The field that names it: `field`, or for an item of a list
  // "`field`[`index`]`field_suffix`".
  std::string_view field;
  int index = -1;
  std::string_view field_suffix = {};
  std::string FieldName() const;
};

// Each member may be null: the type has no such rule.
struct EventRules {
  events::Event::PayloadCase type = events::Event::PAYLOAD_NOT_SET;
  // 1. The entity it creates, if any.
  std::optional<Created> (*creates)(const events::Event&) = nullptr;
  // 2. The id of the contact it changes, or nullptr; and how it changes its state.
  const std::string* (*changes_contact)(const events::Event&) = nullptr;
  void (*change)(const events::Event&, events::ContactState&) = nullptr;
  // The INVALID_STATE message's end: "a voided contact cannot be <this>".
  const char* voided_contact_cannot_be = nullptr;
  // 3. The agencies and points it names.
  void (*references)(const events::Event&, std::vector<Reference>&) = nullptr;
  // 4. Its other checks against the index.
  absl::StatusOr<std::optional<Rejection>> (*more)(const events::Event&, IndexOverlay&) = nullptr;
  // Its writes besides the event_id's, the created entity's and the contact's.
  void (*also_writes)(const events::Event&, std::vector<IndexWrite>&) = nullptr;
};

// The row of `type`; nullptr for a type with no index rules (documents tori issues).
const EventRules* RulesOf(events::Event::PayloadCase type);

// Rows 1 and 3 of contact_recorded for its view (the validator's fast path applies
// them without building an Event).
std::string ContactAlreadyExists(std::string_view contact_id);
std::array<Reference, 2> ContactReferences(const ContactRecordedView& contact);

// The UNKNOWN_REFERENCE of (kind, id) named in `field`.
Rejection NotKnown(const Reference& reference);

}  // namespace tori::rules

#endif  // TORI_EVENTS_VALIDATE_INTERNAL_EVENT_RULES_H_
