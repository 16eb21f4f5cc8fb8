// The validator: every check on an event that needs what came before it (SPEC
// section 2): idempotency by event_id, the clock, unique ids of new entities,
// references to known agencies, points and contacts, the state of a contact, and the
// area of a point. Checks that need only the line are done by the codec.
//
// Model: what the validator knows lives in the index (index_keys.h: one entry per
// event_id and per entity), read and written through an IndexOverlay, which answers as
// if every accepted event were already stored. The rules per event type (what must be
// new, what must exist, which contact it changes, what it writes) are one table,
// event_rules.cc; this class applies them: Check judges an event and, when it
// accepts, writes its entries; Record writes the entries of an event accepted before
// (replays). Committing the writes is the caller's, through overlay(): Seal, commit,
// Release.
//
// Thread safety: one thread at a time (the overlay's read-ahead aside).
#ifndef TORI_EVENTS_VALIDATE_VALIDATOR_H_
#define TORI_EVENTS_VALIDATE_VALIDATOR_H_

#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/numeric/int128.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "events/codec/codec.h"
#include "events/validate/index_keys.h"
#include "events/validate/index_overlay.h"

namespace tori {

// `state` with `changes` applied (the fields a correction may change).
void ApplyCorrection(const events::ContactChanges& changes, events::ContactState& state);

// What a contact_corrected or contact_voided event did to its contact: its state
// before and after (the projector moves the contact's counts from one to the other).
struct ContactChange {
  events::ContactState before;
  events::ContactState after;
};

enum class Verdict { kAccept, kDuplicate, kReject };

class Validator {
 public:
  // `now` is the ingest's wall clock, for the CLOCK rule (injected: tests pin it).
  // `read_aheads`: whether the caller prefetches batches (IndexOverlay::Prefetch).
  Validator(IndexLookup& store, absl::Time now,
            IndexOverlay::ReadAheads read_aheads = IndexOverlay::ReadAheads::kNone)
      : overlay_(store, read_aheads, index_keys::kWrittenOnceKinds), now_(now) {}

  // Where the validator's reads and writes go; the caller seals and releases batches.
  IndexOverlay& overlay() { return overlay_; }
  const IndexOverlay& overlay() const { return overlay_; }

  // The idempotency hash of an event: XXH3-128 of its deterministic binary encoding.
  static std::string ContentHash(std::string_view encoded);
  static void ContentHash(std::string_view encoded, std::array<char, 16>& hash);

  // Judges `event` (`content_hash` = ContentHash of its encoding). On kAccept the
  // event's index entries are written and, for an event that changes a contact,
  // `change` (when given) says how; on kReject `rejection` says why. An error status
  // means the index could not be read (nothing was written).
  absl::StatusOr<Verdict> Check(const events::Event& event, std::string_view content_hash,
                                Rejection& rejection, ContactChange* change = nullptr);
  // The same for a contact_recorded event read as a view (Check of its Event comes
  // here too).
  absl::StatusOr<Verdict> CheckContact(const ContactRecordedView& contact,
                                       std::string_view content_hash, Rejection& rejection);

  // Writes the index entries of an event that was accepted before (a replay of the
  // log); `change` as in Check. DataLoss when the event changes a contact the index
  // lacks.
  absl::Status Record(const events::Event& event, std::string_view content_hash,
                      ContactChange* change = nullptr);
  // Record without the event_id entry: for scratch states that are replayed and read
  // (verify, as-of) but never ingested into, so never asked about duplicates.
  absl::Status RecordEntities(const events::Event& event, ContactChange* change = nullptr);
  // Record and RecordEntities of a contact_recorded event read as a view.
  void RecordContact(const ContactRecordedView& contact, std::string_view content_hash);
  void RecordContactEntities(const ContactRecordedView& contact);

  // The keys Check will read first for an event (its event_id's, and the key of the
  // entity it creates or changes), for a read-ahead: appended to `keys`, with
  // `item` * 2 + their number to `owner` (IndexOverlay::SortKeys).
  static void ReadAheadKeysOf(const events::Event& event, uint32_t item,
                              std::vector<std::string>& keys, std::vector<uint32_t>& owner);
  static void ReadAheadKeysOf(const ContactRecordedView& contact, uint32_t item,
                              std::vector<std::string>& keys, std::vector<uint32_t>& owner);
  // The read-ahead keys of a batch of events (`batch[i]` is item i).
  static IndexOverlay::ReadAheadKeys ReadAheadKeys(const std::vector<const events::Event*>& batch);

  // The contact's current state (in the overlay or the store), if the contact is known.
  absl::StatusOr<std::optional<events::ContactState>> FindContact(std::string_view contact_id);

  // Replays (see ReplayedIds): exact answers where fingerprints cannot rule a copy out.
  // Whether the index holds `event_id` / the entity `event` creates (false when it
  // creates none).
  absl::StatusOr<bool> KnowsEventId(std::string_view event_id);
  absl::StatusOr<bool> KnowsCreatedEntity(const events::Event& event);
  absl::StatusOr<bool> KnowsCreatedEntity(const ContactRecordedView& contact);
  // The index key of the entity `event` creates (an agency, point, agreement version,
  // contact, cost or booking) into `key`; false when it creates none.
  static bool CreatedEntityKey(const events::Event& event, std::string& key);
  static void CreatedEntityKey(const ContactRecordedView& contact, std::string& key);

 private:
  // A verdict when the event_id (`known_hash`: its entry) or the clock decides it,
  // else nullopt.
  std::optional<Verdict> JudgeEnvelope(std::string_view event_id, int64_t occurred_at_unix_ns,
                                       const std::optional<std::string>& known_hash,
                                       std::string_view content_hash, Rejection& rejection) const;
  // The rules of the event's type against the index: a rejection, or nullopt (then
  // `contact_before` holds the state of the contact it changes, if it changes one).
  absl::StatusOr<std::optional<Rejection>> JudgeRules(
      const events::Event& event, std::optional<events::ContactState>& contact_before);
  // Writes the event's entries (the event_id's aside); `contact_before` as JudgeRules
  // gives it.
  void WriteEntities(const events::Event& event,
                     const std::optional<events::ContactState>& contact_before,
                     ContactChange* change);
  absl::StatusOr<std::optional<Rejection>> MustExist(char kind, std::string_view id,
                                                     std::string_view field);

  IndexOverlay overlay_;
  absl::Time now_;
};

// A log may hold copies: two tori processes that appended to one Kafka topic at once
// (before writers were fenced, issue #14) each accepted the same events. A replay
// applies each event once: a record is a copy when an earlier record of the replay
// had its event_id, or created the entity it creates (DUPLICATE_CONFLICT: a contact,
// cost, booking, agency, point or agreement version id is unique). "Earlier" is the
// replay's reading order: per partition the offset order, partitions one after the
// other (EventLog::Read). ReplayedIds keeps what one replay has read, in memory:
// event ids as XXH3-128 of the id (as exact as the content hash idempotency already
// trusts), created entities in a Bloom filter of 16 bits per record (two probes;
// about 1.4 % of new ids match by chance): kEntityPerhapsTaken asks the index
// (Validator::KnowsCreatedEntity) to be sure (a set of 64-bit fingerprints misses the
// cache for every contact). Ids stored before the replay began are not here: replays
// onto a non-empty state ask the index for every record. Memory: about 36 bytes per
// record.
// Thread safety: one thread at a time.
class ReplayedIds {
 public:
  enum class Copy : uint8_t { kFirst, kRepeatedEventId, kEntityPerhapsTaken };
  explicit ReplayedIds(size_t records_expected);
  // Judges the next record in reading order, and remembers its ids.
  Copy Judge(const events::Event& event);
  Copy Judge(const ContactRecordedView& contact);

 private:
  Copy Judge(std::string_view event_id, bool creates_entity);
  absl::flat_hash_set<absl::uint128> event_ids_;
  std::vector<uint64_t> entity_bits_;  // the Bloom filter; a power of two of bits
  uint64_t entity_bit_mask_ = 0;
  std::string key_;  // the created entity's key; reused
};

}  // namespace tori

#endif  // TORI_EVENTS_VALIDATE_VALIDATOR_H_
