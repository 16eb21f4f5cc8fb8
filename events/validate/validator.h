// The validator: every check on an event that needs what came before it (SPEC
// section 2): idempotency by event_id, unique entity ids, references to known
// agencies, points and contacts, area within the point's total, the state of a
// contact, and the clock. Checks that need only the line are done by the codec.
//
// Model: what the validator knows lives in an index of small key/value entries
// (key = one kind byte + id). It reads the index through `IndexLookup` (RocksDB in
// production, a map in tests) and keeps the entries written by the events it
// accepted since the last TakeWrites() in memory, so events later in a batch see
// earlier ones. The caller commits TakeWrites() together with the log position, at
// once (Committed) or later, several batches together (Pending, then Stored).
//
// Thread safety: one thread at a time.
#ifndef TORI_EVENTS_VALIDATE_VALIDATOR_H_
#define TORI_EVENTS_VALIDATE_VALIDATOR_H_

#include <array>
#include <atomic>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/numeric/int128.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "events/codec/codec.h"

namespace tori {

class IndexLookup {
 public:
  virtual ~IndexLookup() = default;
  // The value under `key`, nullopt when absent; an error only for I/O failure.
  virtual absl::StatusOr<std::optional<std::string>> Get(std::string_view key) = 0;
  // The values under `sorted_keys` (ascending, distinct), in the same order. Stores
  // that can look many keys up at once faster than one by one override this.
  virtual absl::StatusOr<std::vector<std::optional<std::string>>> MultiGet(
      const std::vector<std::string>& sorted_keys);
  // The error for a stored entry under `key` that breaks `rule` (IndexEntryProblem):
  // DataLoss naming the key; a store says how to make it anew (StateStore: `tori
  // rebuild`).
  virtual absl::Status Damaged(std::string_view key, std::string_view rule);
};

// A stored key as messages print it: printable ASCII as it is, the '\0' between key
// parts as "\0", a backslash as "\\", any other byte as "\xHH".
std::string EscapedKey(std::string_view key);

// The kind byte of event_id entries (event_id -> content hash), which scratch states
// skip (services/ingest: EventIdIndex::kSkip).
inline constexpr char kEventIdIndexKind = 'E';

// The rule a stored index entry breaks (its kind is unknown, or its value does not
// fit its kind: a 16-byte hash, an empty marker, a point's area and host, a contact's
// state), or nullptr when it is well formed. The validator checks every entry it
// reads from the store with it; entries of its own batches are not checked again.
const char* IndexEntryProblem(std::string_view key, std::string_view value);

using IndexWrite = std::pair<std::string, std::string>;
// A key's first 24 bytes as three big-endian words (zero-padded), to order keys
// without following each to its bytes: prefixes order keys as bytewise comparison
// does, except that keys with equal prefixes must be compared whole.
using KeyPrefix = std::array<uint64_t, 3>;
KeyPrefix PrefixOf(std::string_view key);
// <0, 0 or >0; 0 when the prefixes are equal (the keys may still differ).
inline int ComparePrefixes(const KeyPrefix& a, const KeyPrefix& b) {
  for (size_t word = 0; word < 3; ++word) {
    if (a[word] != b[word]) return a[word] < b[word] ? -1 : 1;
  }
  return 0;
}
// Bytewise order of two keys, with their prefixes.
inline int CompareKeys(const KeyPrefix& a_prefix, std::string_view a, const KeyPrefix& b_prefix,
                       std::string_view b) {
  const int order = ComparePrefixes(a_prefix, b_prefix);
  return order != 0 ? order : a.compare(b);
}

// `state` with `changes` applied (the fields a correction may change).
void ApplyCorrection(const events::ContactChanges& changes, events::ContactState& state);

enum class Verdict { kAccept, kDuplicate, kReject };

// The index keeps each contact's current state (events::ContactState: corrections
// applied, voided or not): the validator checks corrections against it, the
// projector adjusts its aggregates by it, Kafka routes corrections by its point.

class Validator {
 public:
  // `now` is the ingest's wall clock, for the CLOCK rule (injected: tests pin it).
  Validator(IndexLookup& lookup, absl::Time now) : lookup_(lookup), now_(now) {}

  // The idempotency hash of an event: XXH3-128 of its deterministic binary encoding.
  static std::string ContentHash(std::string_view encoded);
  static void ContentHash(std::string_view encoded, std::array<char, 16>& hash);

  // Judges `event` (`content_hash` = ContentHash of its encoding). On kAccept the
  // event's index entries are recorded; on kReject `rejection` says why. An error
  // status means the index could not be read (nothing was recorded).
  absl::StatusOr<Verdict> Check(const events::Event& event, std::string_view content_hash,
                                Rejection& rejection);
  // The same for a contact_recorded event read as a view (Check of its Event comes
  // here too).
  absl::StatusOr<Verdict> CheckContact(const ContactRecordedView& contact,
                                       std::string_view content_hash, Rejection& rejection);

  // Records the index entries of an event that was accepted before (used to bring
  // the index up to the log after a crash).
  absl::Status Record(const events::Event& event, std::string_view content_hash);
  // Record without the event_id entry: for scratch states that are replayed and read
  // (verify, as-of) but never ingested into, so never asked about duplicates.
  absl::Status RecordEntities(const events::Event& event);
  // Record and RecordEntities of a contact_recorded event read as a view.
  void RecordContact(const ContactRecordedView& contact, std::string_view content_hash);
  void RecordContactEntities(const ContactRecordedView& contact);

  // Optional, for speed: the index keys Check will read for `batch`, sorted and
  // distinct, with each event's own keys located among them (a pure function: callers
  // may compute it on another thread); ReadAhead looks them all up at once, and
  // Prefetch hands the result to Check, which then reads them from memory.
  // Prefetched entries are valid until the next TakeWrites().
  static constexpr uint32_t kNoKey = UINT32_MAX;
  struct BatchKeys {
    std::vector<std::string> sorted;
    std::vector<KeyPrefix> prefixes;  // of sorted
    // Per event of `batch`: where its event_id's and its entity's keys are in `sorted`
    // (kNoKey if it has no entity key).
    std::vector<std::array<uint32_t, 2>> of_event;
  };
  static BatchKeys PrefetchKeys(const std::vector<const events::Event*>& batch);
  // The keys of an event: its event_id's and those of the entity it creates or
  // changes (kind 0 when none is prefetched).
  struct EventKeys {
    std::string_view event_id;
    char entity_kind;
    std::string_view entity_id;
  };
  static EventKeys KeysOf(const events::Event& event);
  static EventKeys KeysOf(const ContactRecordedView& contact);
  static BatchKeys PrefetchKeysOf(const std::vector<EventKeys>& batch);

  // The lookup, done ahead on another thread while earlier batches still commit:
  // ReadAhead reads the store only (thread-safe) and notes how many batches the store
  // held (Stored()) before it read; Prefetch then brings the entries up to date with
  // the batches the read did not see.
  struct ReadAheadEntries {
    BatchKeys keys;
    std::vector<std::optional<std::string>> values;  // of keys.sorted
    uint64_t stored_batches = 0;
  };
  static absl::StatusOr<ReadAheadEntries> ReadAhead(IndexLookup& lookup, BatchKeys keys,
                                                    uint64_t stored_batches);
  absl::Status Prefetch(ReadAheadEntries entries);
  // Optional, for speed: the checks that follow are of event `i` of the prefetched
  // batch, so its entries are found by position instead of by hashing the key (perf:
  // the hash lookups were a tenth of an ingest's CPU). Lookups of other keys still
  // find every prefetched entry.
  void AtEvent(size_t i);

  // The entries recorded since the last call (the last value of each key, sorted by
  // key); the caller commits them. Ends the batch.
  std::vector<IndexWrite> TakeWrites();
  // For replays, which commit a batch on a third thread while they record the next
  // one: HandOver ends the batch like TakeWrites but leaves the sort to the commit
  // thread (HandedBatch::SortedWrites). Until ReleaseHandedBatch(), called once that
  // commit is done, the handed batch answers the lookups the store may not answer yet.
  class HandedBatch;
  std::shared_ptr<const HandedBatch> HandOver();
  void ReleaseHandedBatch() { handed_.reset(); }
  // Ingest commits several batches at once, on another thread, while it validates the
  // next ones. The caller gives TakeWrites()'s entries back with Pending(): the
  // validator answers from them until Stored(n) reports that the store holds the
  // oldest n pending batches. PendingBatches() are those not stored yet, oldest
  // first, to commit (immutable: they may be read on another thread).
  struct WrittenBatch {
    std::vector<IndexWrite> writes;  // sorted by key
    std::vector<KeyPrefix> prefixes;  // of writes' keys
  };
  using Batch = std::shared_ptr<const WrittenBatch>;
  void Pending(std::vector<IndexWrite> writes);
  void Stored(size_t batches);
  std::vector<Batch> PendingBatches() const;
  // The caller has committed TakeWrites()'s entries (Pending, then Stored(1)).
  void Committed(std::vector<IndexWrite> writes);
  // How many batches the store holds (Stored()); may be read from any thread.
  uint64_t stored_batches() const { return stored_batches_.load(std::memory_order_acquire); }

  // The contact's current state (pending or committed), if the contact is known.
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
  absl::StatusOr<std::optional<std::string>> Get(const std::string& key);
  void Put(std::string key, std::string value);
  absl::StatusOr<std::optional<Rejection>> CheckReferences(const events::Event& event);
  // A verdict when the event_id (`known_hash`: its entry) or the clock decides it,
  // else nullopt.
  std::optional<Verdict> JudgeEnvelope(std::string_view event_id, int64_t occurred_at_unix_ns,
                                       const std::optional<std::string>& known_hash,
                                       std::string_view content_hash, Rejection& rejection) const;
  // Whether prefetched key `slot` is (kind, id).
  bool SlotHolds(uint32_t slot, char kind, std::string_view id) const;
  static Rejection AlreadyExists(std::string_view field, std::string_view what,
                                 std::string_view id);
  // A rejection when the entry of (kind, id) is missing / present.
  absl::StatusOr<std::optional<Rejection>> MustExist(char kind, std::string_view id,
                                                     std::string_view field,
                                                     std::string_view what);
  absl::StatusOr<std::optional<Rejection>> MustBeNew(char kind, std::string_view id,
                                                     std::string_view field,
                                                     std::string_view what);

  IndexLookup& lookup_;
  absl::Time now_;
  // The batch's view of the index, which answers before the store: the prefetched
  // entries (kept in key order, so TakeWrites needs no sort on this thread) and the
  // other entries read or recorded during the batch. `written`: recorded by an
  // accepted event, to be committed.
  struct BatchEntry {
    std::optional<std::string> value;
    bool written = false;
  };
  // Put into `entry` (a prefetched one) when there is one, else by (kind, id).
  void PutAt(BatchEntry* entry, char kind, std::string_view id, std::string value);
  BatchEntry* FindInPrefetched(const std::string& key);
  void IndexPrefetched();
  BatchEntry* FindInBatch(const std::string& key);
  // The newest value of `key` in the batches pending, if one writes it.
  const std::string* FindPending(const std::string& key) const;
  BatchKeys prefetched_keys_;
  std::vector<BatchEntry> prefetched_entries_;  // of prefetched_keys_.sorted
  std::array<uint32_t, 2> event_slots_ = {kNoKey, kNoKey};  // see AtEvent
  // Built on the first lookup that AtEvent's slots do not answer.
  absl::flat_hash_map<absl::string_view, size_t> prefetched_index_;
  absl::flat_hash_map<std::string, BatchEntry> batch_extra_;
  std::vector<IndexWrite> event_writes_;  // by Record: event_id entries of replayed events
  std::shared_ptr<const HandedBatch> handed_;  // see HandOver
  // The pending batches and the stored ones that read-aheads may not have seen,
  // oldest first: batch number `recent_first_` and on. Prefetch drops those stored
  // before its read-ahead read.
  std::deque<Batch> recent_batches_;
  uint64_t recent_first_ = 0;
  std::atomic<uint64_t> stored_batches_ = 0;
  // Agencies and points are few and never change: cache what was found.
  absl::flat_hash_map<std::string, std::string> reference_cache_;
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
// (Validator::KnowsCreatedEntity) to be sure (perf: a set of 64-bit fingerprints
// missed the cache for every contact). Ids stored before the replay began are not
// here: replays onto a non-empty state ask the index for every record. Memory: about
// 36 bytes per record.
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

class Validator::HandedBatch {
 public:
  // The entries to commit, sorted by key: views into this batch. Const, so it may run
  // on the commit thread while the validator reads the batch.
  std::vector<std::pair<std::string_view, std::string_view>> SortedWrites() const;

 private:
  friend class Validator;
  absl::flat_hash_map<std::string, BatchEntry> entries;
  std::vector<IndexWrite> event_writes;
};

}  // namespace tori

#endif  // TORI_EVENTS_VALIDATE_VALIDATOR_H_
