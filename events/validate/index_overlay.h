// The index overlay: what the validator reads and writes, laid over the store that
// holds the index (RocksDB in production, a map in tests), in the spirit of LevelDB's
// memtable and immutable memtables.
//
// Model. The accepted events' index writes go to the *active batch*. Seal() ends it: it
// becomes an immutable *sealed batch*, handed to a commit thread that writes it to the
// store (SealedBatch::SortedWrites, or MergedWrites of several); Release(n) tells the
// overlay that the store now holds the oldest n sealed batches, which it then drops. A
// lookup (Get) reads the active batch, then the sealed batches not yet released,
// newest first, then the store.
//
// Invariant: a lookup answers as if every write since the overlay was made were already
// in the store, whatever was sealed or released meanwhile (tested against a map model
// under random operations: index_overlay_test.cc).
//
// Read-ahead, for speed: a batch's keys can be looked up on another thread (ReadAhead,
// reads the store only) while earlier batches still commit; the read notes how many
// batches the store held (released_batches()) before it read, and Prefetch lays the
// sealed batches the read did not see over its values, so that the active batch starts
// with them. Prefetched keys are sorted (SortKeys), so Seal() merges them with the few
// others instead of sorting the whole batch; each item (event) of the batch knows where
// its keys are (AtItem, ItemEntry), which spares hashing them.
//
// Keys are compared by their first 24 bytes as three big-endian words (KeyPrefix)
// before their bytes: sorting and merging then rarely follow a key to its memory.
//
// Thread safety: one thread (the applying one) calls everything except ReadAhead and
// SortKeys (pure, any thread), released_batches() (any thread) and a SealedBatch's
// const methods (any thread, also while the overlay goes on).
#ifndef TORI_EVENTS_VALIDATE_INDEX_OVERLAY_H_
#define TORI_EVENTS_VALIDATE_INDEX_OVERLAY_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"

namespace tori {

// The store under the overlay.
class IndexLookup {
 public:
  virtual ~IndexLookup() = default;
  // The value under `key`, nullopt when absent; an error only for I/O failure.
  virtual absl::StatusOr<std::optional<std::string>> Get(std::string_view key) = 0;
  // The values under `sorted_keys` (ascending, distinct), in the same order. Stores
  // that can look many keys up at once faster than one by one override this.
  virtual absl::StatusOr<std::vector<std::optional<std::string>>> MultiGet(
      const std::vector<std::string>& sorted_keys);
  // The error for a stored entry under `key` that breaks `rule`
  // (index_keys::EntryProblem): DataLoss naming the key; a store says how to make it
  // anew (StateStore: `tori rebuild`).
  virtual absl::Status Damaged(std::string_view key, std::string_view rule);
};

using IndexWrite = std::pair<std::string, std::string>;
using IndexWriteView = std::pair<std::string_view, std::string_view>;

// A key's first 24 bytes as three big-endian words (zero-padded): prefixes order keys
// as bytewise comparison does, except that keys with equal prefixes must be compared
// whole.
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

// An entry of a batch: a value written by it, or read from below it (a cached read;
// nullopt: absent).
struct OverlayEntry {
  std::optional<std::string> value;
  bool written = false;
};

// An immutable batch of writes, sealed for a commit. Its const methods may run on any
// thread.
class SealedBatch {
 public:
  // The entries to write, sorted by key, each once: views into this batch.
  std::vector<IndexWriteView> SortedWrites() const;
  size_t size() const;
  // The value the batch writes under `key`, or nullptr.
  const std::string* Find(const std::string& key) const;

 private:
  friend class IndexOverlay;
  // Sorted form (a batch that was prefetched: sorted on the applying thread, as a merge
  // of sorted prefetched keys with the few others), or hashed form (sorted by
  // SortedWrites, on the commit thread).
  bool sorted_ = false;
  std::vector<IndexWrite> writes_;  // sorted form
  std::vector<KeyPrefix> prefixes_;  // of writes_
  absl::flat_hash_map<std::string, OverlayEntry> entries_;  // hashed form
  std::vector<IndexWrite> unread_;                   // hashed form: see PutUnread
};

class IndexOverlay {
 public:
  // kKeepForReadAheads: read-aheads run (ReadAhead/Prefetch), so a released batch is
  // kept until the Prefetch of a read that saw it in the store; kNone drops it at once.
  enum class ReadAheads { kNone, kKeepForReadAheads };
  // `written_once_kinds`: kinds of key whose entry never changes once present; found
  // entries of these kinds are cached for the overlay's life.
  IndexOverlay(IndexLookup& store, ReadAheads read_aheads, std::string_view written_once_kinds);

  IndexLookup& store() { return store_; }

  // The newest value of `key` (see the model), nullopt when no write and no store entry
  // has it. A stored entry that breaks its kind's rule is the store's Damaged().
  absl::StatusOr<std::optional<std::string>> Get(const std::string& key);
  // Writes into the active batch.
  void Put(std::string key, std::string value);
  // A write that no lookup will ask for before it is released (a replay's event ids,
  // which ReplayedIds judges instead): it skips the active batch's map.
  void PutUnread(std::string key, std::string value);

  // Read-ahead (see the model). Each item of a batch has up to two keys.
  static constexpr uint32_t kNoKey = UINT32_MAX;
  struct ReadAheadKeys {
    std::vector<std::string> sorted;   // distinct, ascending
    std::vector<KeyPrefix> prefixes;   // of sorted
    std::vector<std::array<uint32_t, 2>> of_item;  // where each item's keys are in sorted
  };
  // `keys[i]` belongs to item `owner[i] / 2` as its key number `owner[i] % 2`.
  static ReadAheadKeys SortKeys(std::vector<std::string> keys, const std::vector<uint32_t>& owner,
                                size_t items);
  struct ReadAheadEntries {
    ReadAheadKeys keys;
    std::vector<std::optional<std::string>> values;  // of keys.sorted
    uint64_t released_batches = 0;
  };
  // Reads `keys` from the store; `released_batches`: released_batches() read before.
  static absl::StatusOr<ReadAheadEntries> ReadAhead(IndexLookup& store, ReadAheadKeys keys,
                                                    uint64_t released_batches);
  // How many batches were released so far; any thread.
  uint64_t released_batches() const { return released_.load(std::memory_order_acquire); }
  // Starts the active batch with a read-ahead's entries, brought up to date. At most
  // one per batch, before its first lookup.
  absl::Status Prefetch(ReadAheadEntries entries);
  // The lookups that follow are of item `i` of the prefetched batch.
  void AtItem(size_t i);
  // The current item's key number `k` (0 or 1) when it is `kind` + `id`: its entry, to
  // read (value) and write (PutAt) in place; nullptr otherwise.
  using Entry = OverlayEntry;
  Entry* ItemEntry(size_t k, char kind, std::string_view id);
  static void PutAt(Entry& entry, std::string value) { entry = Entry{std::move(value), true}; }

  // Ends the active batch; nullptr when it wrote nothing. The batch stays readable
  // here until Release.
  std::shared_ptr<const SealedBatch> Seal();
  // The sealed batches not released, oldest first.
  std::vector<std::shared_ptr<const SealedBatch>> Unreleased() const;
  // The store holds the oldest `batches` unreleased batches.
  void Release(size_t batches);
  // The writes of `batches` (oldest first) as one sorted list; where several write a
  // key, the newest wins. Any thread.
  static std::vector<IndexWriteView> MergedWrites(
      const std::vector<std::shared_ptr<const SealedBatch>>& batches);

 private:
  Entry* FindInPrefetched(const std::string& key);
  Entry* FindInActive(const std::string& key);
  const std::string* FindInSealed(const std::string& key) const;
  void ClearActive();

  IndexLookup& store_;
  const ReadAheads read_aheads_;
  std::array<bool, 256> written_once_ = {};
  // The active batch: the prefetched entries (in key order) and the others, read or
  // written during the batch.
  ReadAheadKeys prefetched_keys_;
  std::vector<Entry> prefetched_entries_;  // of prefetched_keys_.sorted
  std::array<bool, 256> prefetched_kinds_ = {};  // kinds among prefetched_keys_
  std::array<uint32_t, 2> item_slots_ = {kNoKey, kNoKey};  // see AtItem
  // Built on the first lookup that the item's slots do not answer.
  absl::flat_hash_map<absl::string_view, size_t> prefetched_index_;
  absl::flat_hash_map<std::string, Entry> extra_;
  std::vector<IndexWrite> unread_;
  // The sealed batches, oldest first: batch number `sealed_first_` and on. Those
  // numbered below released_ are in the store, kept only for read-aheads that may not
  // have seen them.
  std::deque<std::shared_ptr<const SealedBatch>> sealed_;
  uint64_t sealed_first_ = 0;
  std::atomic<uint64_t> released_ = 0;
  absl::flat_hash_map<std::string, std::string> written_once_cache_;
};

}  // namespace tori

#endif  // TORI_EVENTS_VALIDATE_INDEX_OVERLAY_H_
