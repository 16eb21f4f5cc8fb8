// The projector: folds accepted events into the projection column family of the
// state store, the figures billing reads (SPEC section 3).
//
// Key layout ('\0' between parts; ids are printable ASCII, so it never occurs in one):
//   A agency                          -> AgencyRegistered, with every agency_updated
//                                        since merged in (the details as of now)
//   P point                           -> ServicePointOpened
//   S point effective_from            -> SpaceAllocated (a later event for the same
//                                        day replaces the earlier one)
//   G point agreement version(010d)   -> AgreementSigned
//   K point quarter agency code       -> ContactCounts: contacts, advisor_contacts,
//                                        advisor_time_s (3 x int64, little-endian)
//   B point quarter agency            -> booked minutes (int64, little-endian)
//   C point quarter pool cost_id      -> CostPosted
//   I quarter invoice_id              -> InvoiceIssued
//   L quarter claim_id                -> SubsidyClaimIssued
//   H quarter                         -> HostSharesIssued
//   U agency (the predecessor)        -> AgencySucceeded (SPEC 8)
// SPEC section 9 (measures.cc):
//   X point quarter agency measure    -> int64, little-endian: the measure's sum, one of
//                                        video_time (duration_s of video contacts, as
//                                        corrected), interpretation_minutes, stops,
//                                        stop_minutes, deliveries
//   O point booking_id                -> RoomBooked (room utilisation, by room and month)
//   M point room_id                   -> RoomRegistered
//   F referral_id                     -> ContactReferred (billing looks its contact up)
//   D budget_id                       -> BudgetSet
// Quarters are Europe/Helsinki calendar quarters, written "2026Q1": a contact counts
// in the quarter of its occurred_at, a booking in that of its start, a cost in that of
// its period month. Integers are fixed-width little-endian (events/base/fixed.h).
//
// Incremental: a correction subtracts the contact's previous contribution and adds
// the new one; a void subtracts it. Counters are summed per batch in memory and added
// to their stored values once per batch (TakeWrites), in the same WriteBatch as the
// log position, so a crash never counts an event twice.
//
// Thread safety: one thread at a time.
#ifndef TORI_SERVICES_PROJECTOR_PROJECTOR_H_
#define TORI_SERVICES_PROJECTOR_PROJECTOR_H_

#include <array>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/time/time.h"
#include "events/base/calendar.h"
#include "events/base/check.h"
#include "events/codec/codec.h"
#include "events/validate/validator.h"
#include "services/state/state_store.h"

namespace tori {

// Per (point, quarter, agency, service code).
struct ContactCounts {
  int64_t contacts = 0;
  int64_t advisor_contacts = 0;
  int64_t advisor_time_s = 0;
};

// Key parts and value codecs, shared with the readers of the projection.
namespace projection {
inline constexpr char kAgency = 'A', kPoint = 'P', kSpace = 'S', kAgreement = 'G',
                      kContacts = 'K', kBookings = 'B', kCost = 'C', kInvoice = 'I',
                      kClaim = 'L', kHostShares = 'H',
                      kApprovalPolicy = 'Y', kPrepared = 'Q', kSucceeded = 'U',  // SPEC section 8
                      kMeasures = 'X', kBookingRecord = 'O', kRoom = 'M', kReferral = 'F',
                      kBudget = 'D';  // SPEC section 9
// The measures of kMeasures keys (SPEC section 9's keys, by their names).
inline constexpr std::string_view kVideoTime = "video_time",
                                  kInterpretationMinutes = "interpretation_minutes",
                                  kStops = "stops", kStopMinutes = "stop_minutes",
                                  kDeliveries = "deliveries";
// kind + '\0'-joined parts, ending with '\0' when `open_end` (a prefix for scans).
std::string Key(char kind, std::initializer_list<std::string_view> parts, bool open_end = false);
std::vector<std::string_view> SplitKey(std::string_view key);  // parts after the kind
std::string EncodeCounts(const ContactCounts& counts);
std::string EncodeInt(int64_t value);
// Every projection value is sealed: its bytes, then CRC-32C of key and bytes (4 bytes,
// little-endian), so that a damaged or moved value is caught where it is read.
std::string Seal(std::string_view key, std::string value);
// The key the projector stores each record under.
std::string RecordKey(const events::AgencyRegistered& e);
std::string RecordKey(const events::ServicePointOpened& e);
std::string RecordKey(const events::SpaceAllocated& e);
std::string RecordKey(const events::AgreementSigned& e);
std::string RecordKey(const events::CostPosted& e);
std::string RecordKey(const events::InvoiceIssued& e);
std::string RecordKey(const events::SubsidyClaimIssued& e);
std::string RecordKey(const events::HostSharesIssued& e);
std::string RecordKey(const events::ApprovalPolicySet& e);
std::string RecordKey(const events::QuarterPrepared& e);
std::string RecordKey(const events::AgencySucceeded& e);
std::string RecordKey(const events::RoomBooked& e);
std::string RecordKey(const events::RoomRegistered& e);
std::string RecordKey(const events::ContactReferred& e);
std::string RecordKey(const events::BudgetSet& e);

// Checked reads: every reader of the projection goes through these. A key of an
// unknown kind, or with other than its kind's number of parts, or a part that is not
// 1+ printable ASCII bytes; a value whose seal does not match; a counter of the wrong
// size or below zero; a record that does not decode or belongs under another key:
// each is the state's damage (StateStore::Damaged: DataLoss naming the key, saying
// `tori rebuild`), never a record skipped or a scan cut short.
absl::StatusOr<std::vector<std::string_view>> KeyParts(const StateStore& state,
                                                       std::string_view key);
absl::StatusOr<ContactCounts> ReadCounts(const StateStore& state, std::string_view key,
                                         std::string_view value);
// Booked minutes (kBookings) and section 9's measures (kMeasures): one int64 >= 0.
absl::StatusOr<int64_t> ReadMinutes(const StateStore& state, std::string_view key,
                                    std::string_view value);
// The bytes of a sealed value (see Seal).
absl::StatusOr<std::string_view> Unseal(const StateStore& state, std::string_view key,
                                        std::string_view value);
absl::Status RecordDamaged(const StateStore& state, std::string_view key,
                           std::string_view record_type);
template <typename Record>
absl::StatusOr<Record> ReadRecord(const StateStore& state, std::string_view key,
                                  std::string_view value) {
  TORI_ASSIGN_OR_RETURN(std::string_view bytes, Unseal(state, key, value));
  Record record;
  if (!record.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())) ||
      RecordKey(record) != key) {
    return RecordDamaged(state, key, Record::descriptor()->name());
  }
  return record;
}
// Every record under `prefix`, each read as ReadRecord does: a damaged one is an error,
// never skipped.
template <typename Record>
absl::StatusOr<std::vector<Record>> ScanRecords(StateStore& state, std::string_view prefix) {
  std::vector<Record> records;
  TORI_RETURN_IF_ERROR(
      state.ForEachInProjection(prefix, [&](std::string_view key, std::string_view value) {
        TORI_ASSIGN_OR_RETURN(Record record, ReadRecord<Record>(state, key, value));
        records.push_back(std::move(record));
        return absl::OkStatus();
      }));
  return records;
}
}  // namespace projection

class Projector {
 public:
  // `helsinki`: HelsinkiTimeZone() of events/base/calendar.h.
  explicit Projector(absl::TimeZone helsinki) : helsinki_(helsinki) {}

  // Adds the effects of the accepted `event`. `contact`: what a correction or void did
  // to its contact, as the validator judged it (required for those, ignored otherwise).
  absl::Status Apply(const events::Event& event, const ContactChange* contact);
  // The same for a contact_recorded event read as a view.
  void ApplyContact(const ContactRecordedView& contact);

  // The batch's writes: records as they are, counters added to their stored values
  // (read from `state`). Ends the batch. A caller that does not commit the writes
  // must discard this projector (its counter cache assumes they were committed).
  absl::StatusOr<std::vector<KeyValue>> TakeWrites(StateStore& state);

 private:
  void AddContact(std::string_view point, std::string_view agency, std::string_view service_code,
                  events::HandledBy handled_by, int64_t duration_s, int64_t occurred_at_unix_ns,
                  events::Channel channel, int sign);
  // SPEC section 9's events (measures.cc); false when `event` is not one of them.
  bool ApplySection9(const events::Event& event);
  // Adds `delta` to the measure of (point, the quarter of `at_unix_ns`, agency).
  void AddMeasure(std::string_view point, int64_t at_unix_ns, std::string_view agency,
                  std::string_view measure, int64_t delta);
  void AddContact(const events::ContactState& contact, int sign);
  // Applies the batch's agency_updated events to the agencies' records, in order.
  absl::Status MergeAgencyUpdates(StateStore& state);
  // The name of the Helsinki quarter of an instant, with a one-quarter cache: contacts
  // arrive roughly in time order.
  std::string_view QuarterNameOf(int64_t unix_ns);

  absl::TimeZone helsinki_;
  int64_t cached_quarter_start_ns_ = 1;  // empty range: start > end
  int64_t cached_quarter_end_ns_ = 0;
  std::string cached_quarter_;
  absl::flat_hash_map<std::string, std::string> records_;
  std::vector<events::AgencyUpdated> agency_updates_;  // this batch's, in log order
  // Contact counters are summed under ids of their key's parts (point, quarter, and
  // agency with service code), and keyed only by TakeWrites: no contact hashes or
  // compares the long keys.
  struct Names {  // small ids for names, and the names by id
    absl::flat_hash_map<std::string, uint32_t> ids;
    std::vector<std::string> names;
    uint32_t Id(std::string_view name);
    void Clear();
  };
  static constexpr uint32_t kNoPartId = UINT32_MAX;
  Names parts_;               // points and pairs
  std::string pair_scratch_;  // "agency\0service_code"
  Names quarters_;
  uint32_t cached_quarter_id_ = kNoPartId;  // of cached_quarter_, once asked
  // Under point id << 38 | pair id << 12 | quarter id.
  absl::flat_hash_map<uint64_t, ContactCounts> count_deltas_;
  absl::flat_hash_map<std::string, int64_t> minute_deltas_;
  // The committed values of the counters this projector has written or read: the
  // next batch adds to them without reading RocksDB again. Bounded: cleared when it
  // outgrows kCounterCacheEntriesMax. Valid because one projector at a time writes a
  // state (the log's lock file guarantees a single writer).
  static constexpr size_t kCounterCacheEntriesMax = 1 << 20;
  absl::flat_hash_map<std::string, std::string> counter_cache_;
};

}  // namespace tori

#endif  // TORI_SERVICES_PROJECTOR_PROJECTOR_H_
