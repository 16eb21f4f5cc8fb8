// The validator: every check on an event that needs what came before it (SPEC
// section 2): idempotency by event_id, unique entity ids, references to known
// agencies, points and contacts, area within the point's total, the state of a
// contact, and the clock. Checks that need only the line are done by the codec.
//
// Model: what the validator knows lives in an index of small key/value entries
// (key = one kind byte + id). It reads the index through `IndexLookup` (RocksDB in
// production, a map in tests) and keeps the entries written by the events it
// accepted since the last TakeWrites() in memory, so events later in a batch see
// earlier ones. The caller commits TakeWrites() together with the log position.
//
// Thread safety: one thread at a time.
#ifndef TORI_EVENTS_VALIDATE_VALIDATOR_H_
#define TORI_EVENTS_VALIDATE_VALIDATOR_H_

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "events/codec/codec.h"

namespace tori {

class IndexLookup {
 public:
  virtual ~IndexLookup() = default;
  // The value under `key`, nullopt when absent; an error only for I/O failure.
  virtual absl::StatusOr<std::optional<std::string>> Get(std::string_view key) = 0;
};

using IndexWrite = std::pair<std::string, std::string>;

enum class Verdict { kAccept, kDuplicate, kReject };

// What the index says about a contact, for callers that route its corrections
// (Kafka partitions by service point).
struct ContactInfo {
  bool voided = false;
  std::string service_point_id;
};

class Validator {
 public:
  // `now` is the ingest's wall clock, for the CLOCK rule (injected: tests pin it).
  Validator(IndexLookup& lookup, absl::Time now) : lookup_(lookup), now_(now) {}

  // Judges `event`, whose deterministic binary encoding is `encoded`. On kAccept the
  // event's index entries are recorded; on kReject `rejection` says why. An error
  // status means the index could not be read (nothing was recorded).
  absl::StatusOr<Verdict> Check(const events::Event& event, std::string_view encoded,
                                Rejection& rejection);

  // Records the index entries of an event that was accepted before (used to bring
  // the index up to the log after a crash).
  absl::Status Record(const events::Event& event, std::string_view encoded);

  // The entries recorded since the last call, in order; the caller commits them.
  std::vector<IndexWrite> TakeWrites();

  // The contact's index entry (pending or committed), if the contact is known.
  absl::StatusOr<std::optional<ContactInfo>> FindContact(std::string_view contact_id);

 private:
  absl::StatusOr<std::optional<std::string>> Get(const std::string& key);
  void Put(std::string key, std::string value);
  absl::StatusOr<std::optional<Rejection>> CheckReferences(const events::Event& event);

  IndexLookup& lookup_;
  absl::Time now_;
  absl::flat_hash_map<std::string, std::string> pending_;
  std::vector<IndexWrite> writes_;
  // Agencies and points are few and never change: cache what was found.
  absl::flat_hash_map<std::string, std::string> reference_cache_;
};

}  // namespace tori

#endif  // TORI_EVENTS_VALIDATE_VALIDATOR_H_
