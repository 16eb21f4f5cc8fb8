// Why an event was rejected (SPEC section 2, "Bad input").
//
// The numbers are fixed forever: they are stored in dead-letter topics and may be
// read by tools years later. Add new codes at the end, never reuse a number.
#ifndef TORI_EVENTS_CODEC_REJECTION_H_
#define TORI_EVENTS_CODEC_REJECTION_H_

#include <string>
#include <string_view>

namespace tori {

enum class RejectReason : int {
  kMalformed = 1,          // not JSON, not UTF-8, too long, too deep
  kSchema = 2,             // missing, mistyped, unknown or duplicate field; unknown type
  kRange = 3,              // bad decimal precision, negative duration, area > total, ...
  kUnknownReference = 4,   // agency, point, contact or pool not known
  kDuplicateConflict = 5,  // reused event_id with other content, reused entity id
  kPersonalData = 6,       // a valid Finnish personal identity code in a string field
  kClock = 7,              // occurred_at more than 24 h in the future
  kInvalidState = 8,       // e.g. correcting or voiding a voided contact
};

// "MALFORMED", "SCHEMA", ... as in SPEC.
std::string_view RejectReasonName(RejectReason reason);

// A verdict on one input event: the code, the field it concerns (dotted path such as
// "allocations[1].area_m2", or "" for the whole line) and a message naming the rule.
struct Rejection {
  RejectReason reason;
  std::string field;
  std::string message;
};

}  // namespace tori

#endif  // TORI_EVENTS_CODEC_REJECTION_H_
