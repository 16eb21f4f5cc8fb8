#include "events/validate/index_keys.h"

#include <cstdint>
#include <cstring>

#include "events/base/fixed.h"
#include "events/codec/codec.h"
#include "fmt/format.h"

namespace tori::index_keys {

const char* EntryProblem(std::string_view key, std::string_view value) {
  if (key.size() < 2) return "a key is a kind byte and an id";
  switch (key[0]) {
    case kEventId:
      return value.size() == 16 ? nullptr : "an event_id's entry is its 16-byte content hash";
    case kAgency:
    case kCost:
    case kBooking:
    case kAgreementVersion:
    case kTokenRevoked:
    case kMobilePoint:
    case kStop:
    case kInterpretation:
    case kReferral:
    case kBudget:
    case kRoom:
      return value.empty() ? nullptr : "this kind of entry marks an id and holds no value";
    case kPoint: {
      if (value.size() < 9) return "a point's entry is its 8-byte area and its host's id";
      const auto area = static_cast<int64_t>(DecodeFixed64(value.data()));
      return area >= 0 ? nullptr : "a point's area is not negative";
    }
    case kAgreement:
      return value.empty() ? "an agreement's entry is its point's id" : nullptr;
    case kSucceeded:
      return value.empty() ? "a succeeded agency's entry is its successor's id" : nullptr;
    case kContact: {
      events::ContactState state;
      return state.ParseFromArray(value.data(), static_cast<int>(value.size()))
                 ? nullptr
                 : "a contact's entry is its encoded state (ContactState)";
    }
    case kToken: {
      events::AccessGranted grant;
      return grant.ParseFromArray(value.data(), static_cast<int>(value.size()))
                 ? nullptr
                 : "a token's entry is its encoded grant (AccessGranted)";
    }
    default:
      return "unknown kind of entry";
  }
}

std::string Escaped(std::string_view key) {
  std::string out;
  out.reserve(key.size());
  for (const char c : key) {
    if (c == '\0') {
      out += "\\0";
    } else if (c == '\\') {
      out += "\\\\";
    } else if (c >= 0x20 && c <= 0x7e) {
      out += c;
    } else {
      out += fmt::format("\\x{:02x}", static_cast<uint8_t>(c));
    }
  }
  return out;
}

}  // namespace tori::index_keys
