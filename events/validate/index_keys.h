// The index's key format, written once and read by the validator, the state store and
// audit (explain, reconcile): what tori knows about the ids events created.
//
// A key is one kind byte, then the entity's id (an agreement version: the agreement's
// id, a '\0', then the version). The kinds and the values they hold are stored in
// RocksDB: fixed forever, never reused. Values:
//   'E' event_id            -> the event's 16-byte content hash (idempotency)
//   'A' agency_id           -> "" (a marker)
//   'P' service_point_id    -> the total area in centi-m2 (8 bytes, host order) + host id
//   'G' agreement_id        -> the agreement's service point id
//   'V' agreement_id\0version -> ""
//   'C' contact_id          -> events::ContactState (corrections applied, voided or not)
//   'K' cost_id             -> ""
//   'B' booking_id          -> ""
//   'T' token_id            -> its access_granted event's AccessGranted (SPEC 7)
//   'R' token_id            -> "" (the grant is revoked)
//   'U' agency_id           -> its successor's agency_id (agency_succeeded, SPEC 8)
// SPEC section 9 (events/validate/section9_rules.cc):
//   'W' service_point_id    -> "" (the point is a mobile route, kind mobile)
//   'S' stop_id\0agency_id  -> "" (route_stop_recorded: one per agency served at a stop)
//   'I' interpretation_id   -> ""
//   'F' referral_id         -> ""
//   'M' service_point_id\0room_id -> "" (rooms are named within their point)
//   'D' budget_id           -> ""
//
// Thread safety: pure functions.
#ifndef TORI_EVENTS_VALIDATE_INDEX_KEYS_H_
#define TORI_EVENTS_VALIDATE_INDEX_KEYS_H_

#include <string>
#include <string_view>

namespace tori::index_keys {

inline constexpr char kEventId = 'E';
inline constexpr char kAgency = 'A';
inline constexpr char kPoint = 'P';
inline constexpr char kAgreement = 'G';
inline constexpr char kAgreementVersion = 'V';
inline constexpr char kContact = 'C';
inline constexpr char kCost = 'K';
inline constexpr char kBooking = 'B';
inline constexpr char kToken = 'T';
inline constexpr char kTokenRevoked = 'R';
inline constexpr char kSucceeded = 'U';
inline constexpr char kMobilePoint = 'W';
inline constexpr char kStop = 'S';
inline constexpr char kInterpretation = 'I';
inline constexpr char kReferral = 'F';
inline constexpr char kRoom = 'M';
inline constexpr char kBudget = 'D';

// The kinds whose entry, once present, never changes (the validator's lookups may
// cache them): agencies and points.
inline constexpr std::string_view kWrittenOnceKinds = "AP";

// kind + id.
inline std::string Key(char kind, std::string_view id) {
  std::string key;
  key.reserve(1 + id.size());
  key.push_back(kind);
  key.append(id);
  return key;
}
// An agreement version's key.
inline std::string AgreementVersionKey(std::string_view agreement_id, std::string_view version) {
  std::string key = Key(kAgreementVersion, agreement_id);
  key.push_back('\0');
  key.append(version);
  return key;
}
// The prefix that every key of `kind` starts with (for scans: ForEachInIndex).
inline std::string KindPrefix(char kind) { return std::string(1, kind); }

// A key's kind and its id (what follows the kind byte); a key is never empty.
inline char KindOf(std::string_view key) { return key.empty() ? '\0' : key[0]; }
inline std::string_view IdOf(std::string_view key) {
  return key.empty() ? key : key.substr(1);
}

// The rule a stored entry breaks (its kind is unknown, or its value does not fit its
// kind: a 16-byte hash, an empty marker, a point's area and host, a contact's state),
// or nullptr when it is well formed.
const char* EntryProblem(std::string_view key, std::string_view value);

// A key as messages print it: printable ASCII as it is, the '\0' between key parts as
// "\0", a backslash as "\\", any other byte as "\xHH".
std::string Escaped(std::string_view key);

}  // namespace tori::index_keys

namespace tori {
// The names older code knows them by.
inline constexpr char kEventIdIndexKind = index_keys::kEventId;
inline const char* IndexEntryProblem(std::string_view key, std::string_view value) {
  return index_keys::EntryProblem(key, value);
}
inline std::string EscapedKey(std::string_view key) { return index_keys::Escaped(key); }
}  // namespace tori

#endif  // TORI_EVENTS_VALIDATE_INDEX_KEYS_H_
