#include "events/codec/rejection.h"

namespace tori {

std::string_view RejectReasonName(RejectReason reason) {
  switch (reason) {
    case RejectReason::kMalformed: return "MALFORMED";
    case RejectReason::kSchema: return "SCHEMA";
    case RejectReason::kRange: return "RANGE";
    case RejectReason::kUnknownReference: return "UNKNOWN_REFERENCE";
    case RejectReason::kDuplicateConflict: return "DUPLICATE_CONFLICT";
    case RejectReason::kPersonalData: return "PERSONAL_DATA";
    case RejectReason::kClock: return "CLOCK";
    case RejectReason::kInvalidState: return "INVALID_STATE";
  }
  return "UNKNOWN";
}

}  // namespace tori
