#include "events/validate/index_overlay.h"

#include <algorithm>
#include <cstring>

#include "events/base/check.h"
#include "events/validate/index_keys.h"
#include "fmt/format.h"

namespace tori {
namespace {

// The order that sorts `count` keys (`key(i)`) bytewise, with each key's prefix. It
// sorts the prefixes in one array instead of following every key to its bytes; keys
// that share their first 24 bytes compare whole. The keys are first spread by their
// kind (first byte), in a stable pass, and a kind already in order is left as it is:
// a batch's event ids and contact ids each come in order when they follow a sequence
// or a clock (BENCHMARKS.md: the sort's share of an ingest).
struct SortItem {
  KeyPrefix prefix;
  uint32_t index;
};
template <typename KeyOf>
std::vector<SortItem> SortedByKey(size_t count, const KeyOf& key) {
  TORI_CHECK(count <= UINT32_MAX);
  auto kind = [](const KeyPrefix& prefix) { return static_cast<size_t>(prefix[0] >> 56); };
  std::vector<KeyPrefix> prefixes(count);
  std::array<size_t, 257> kind_start = {};  // counts, then where each kind starts
  for (uint32_t i = 0; i < count; ++i) {
    prefixes[i] = PrefixOf(key(i));
    ++kind_start[kind(prefixes[i]) + 1];
  }
  for (size_t k = 1; k < kind_start.size(); ++k) kind_start[k] += kind_start[k - 1];
  std::vector<SortItem> items(count);
  std::array<size_t, 256> next = {};
  std::copy(kind_start.begin(), kind_start.end() - 1, next.begin());
  for (uint32_t i = 0; i < count; ++i) items[next[kind(prefixes[i])]++] = {prefixes[i], i};
  auto before = [&key](const SortItem& a, const SortItem& b) {
    const int order = ComparePrefixes(a.prefix, b.prefix);
    return order != 0 ? order < 0 : key(a.index) < key(b.index);
  };
  for (size_t k = 0; k < 256; ++k) {
    const auto first = items.begin() + static_cast<std::ptrdiff_t>(kind_start[k]);
    const auto last = items.begin() + static_cast<std::ptrdiff_t>(kind_start[k + 1]);
    if (!std::is_sorted(first, last, before)) std::sort(first, last, before);
  }
  return items;
}

// The first index in [from, end) at which `before(i)` turns false (it holds at
// `from` and is monotone: true, then false), by steps doubling from `from` and then
// halving: O(log distance) instead of O(distance).
template <typename Before>
size_t Gallop(size_t from, size_t end, const Before& before) {
  size_t low = from, step = 1;  // before(low) holds
  while (low + step < end && before(low + step)) low += step, step *= 2;
  size_t high = std::min(low + step, end);  // before(high) fails, or high == end
  while (high - low > 1) {
    const size_t mid = low + (high - low) / 2;
    (before(mid) ? low : high) = mid;
  }
  return high;
}

}  // namespace

KeyPrefix PrefixOf(std::string_view key) {
  KeyPrefix prefix;
  for (size_t word = 0; word < 3; ++word) {
    uint64_t bytes = 0;
    if (key.size() > word * 8) {
      std::memcpy(&bytes, key.data() + word * 8, std::min<size_t>(8, key.size() - word * 8));
    }
    prefix[word] = __builtin_bswap64(bytes);
  }
  return prefix;
}

absl::StatusOr<std::vector<std::optional<std::string>>> IndexLookup::MultiGet(
    const std::vector<std::string>& sorted_keys) {
  std::vector<std::optional<std::string>> values;
  values.reserve(sorted_keys.size());
  for (const auto& key : sorted_keys) {
    TORI_ASSIGN_OR_RETURN(auto value, Get(key));
    values.push_back(std::move(value));
  }
  return values;
}

absl::Status IndexLookup::Damaged(std::string_view key, std::string_view rule) {
  return absl::DataLossError(
      fmt::format("the index entry '{}' is damaged: {}", index_keys::Escaped(key), rule));
}

// --- SealedBatch ---

size_t SealedBatch::size() const {
  return sorted_ ? writes_.size() : entries_.size() + unread_.size();
}

const std::string* SealedBatch::Find(const std::string& key) const {
  if (!sorted_) {
    auto it = entries_.find(key);
    return it != entries_.end() && it->second.written ? &*it->second.value : nullptr;
  }
  const KeyPrefix prefix = PrefixOf(key);
  size_t low = 0, high = writes_.size();
  while (low < high) {
    const size_t mid = low + (high - low) / 2;
    const int order = CompareKeys(prefixes_[mid], writes_[mid].first, prefix, key);
    if (order == 0) return &writes_[mid].second;
    (order < 0 ? low : high) = order < 0 ? mid + 1 : mid;
  }
  return nullptr;
}

std::vector<IndexWriteView> SealedBatch::SortedWrites() const {
  if (sorted_) return std::vector<IndexWriteView>(writes_.begin(), writes_.end());
  std::vector<IndexWriteView> writes;
  writes.reserve(entries_.size() + unread_.size());
  for (const auto& [key, entry] : entries_) {
    if (entry.written) writes.emplace_back(key, *entry.value);
  }
  for (const auto& [key, value] : unread_) writes.emplace_back(key, value);
  std::vector<IndexWriteView> sorted;
  sorted.reserve(writes.size());
  for (const SortItem& item :
       SortedByKey(writes.size(), [&writes](size_t i) { return writes[i].first; })) {
    sorted.push_back(writes[item.index]);
  }
  return sorted;
}

std::vector<IndexWriteView> IndexOverlay::MergedWrites(
    const std::vector<std::shared_ptr<const SealedBatch>>& batches) {
  // Each batch as a sorted run with its keys' prefixes (hashed batches sorted here).
  struct Run {
    std::vector<IndexWriteView> writes;
    std::vector<KeyPrefix> computed;
    const std::vector<KeyPrefix>* prefixes;
  };
  std::vector<Run> runs(batches.size());
  size_t total = 0;
  for (size_t b = 0; b < batches.size(); ++b) {
    runs[b].writes = batches[b]->SortedWrites();
    if (batches[b]->sorted_) {
      runs[b].prefixes = &batches[b]->prefixes_;
    } else {
      for (const auto& write : runs[b].writes) runs[b].computed.push_back(PrefixOf(write.first));
      runs[b].prefixes = &runs[b].computed;
    }
    total += runs[b].writes.size();
  }
  std::vector<IndexWriteView> merged;
  merged.reserve(total);
  std::vector<size_t> next(runs.size(), 0);
  // Keys compare by their prefixes first (BENCHMARKS.md: comparing the keys themselves
  // on the commit thread).
  auto compare = [&](size_t a, size_t b) {
    return CompareKeys((*runs[a].prefixes)[next[a]], runs[a].writes[next[a]].first,
                       (*runs[b].prefixes)[next[b]], runs[b].writes[next[b]].first);
  };
  while (true) {
    // The smallest key at the runs' fronts; on a tie the newest batch's value.
    size_t smallest = runs.size();
    for (size_t b = 0; b < runs.size(); ++b) {
      if (next[b] == runs[b].writes.size()) continue;
      if (smallest == runs.size() || compare(b, smallest) <= 0) smallest = b;
    }
    if (smallest == runs.size()) break;
    merged.push_back(runs[smallest].writes[next[smallest]]);
    for (size_t b = 0; b < runs.size(); ++b) {
      if (b != smallest && next[b] < runs[b].writes.size() && compare(b, smallest) == 0) {
        ++next[b];
      }
    }
    ++next[smallest];
  }
  return merged;
}

// --- IndexOverlay ---

IndexOverlay::IndexOverlay(IndexLookup& store, ReadAheads read_aheads,
                           std::string_view written_once_kinds)
    : store_(store), read_aheads_(read_aheads) {
  for (char kind : written_once_kinds) written_once_[static_cast<uint8_t>(kind)] = true;
}

IndexOverlay::ReadAheadKeys IndexOverlay::SortKeys(std::vector<std::string> keys,
                                                   const std::vector<uint32_t>& owner,
                                                   size_t items) {
  TORI_CHECK(keys.size() == owner.size() && items * 2 < kNoKey);
  ReadAheadKeys out;
  out.sorted.reserve(keys.size());
  out.prefixes.reserve(keys.size());
  out.of_item.assign(items, {kNoKey, kNoKey});
  auto key = [&keys](size_t i) -> std::string_view { return keys[i]; };
  for (const SortItem& item : SortedByKey(keys.size(), key)) {
    const uint32_t i = item.index;
    if (out.sorted.empty() ||
        CompareKeys(out.prefixes.back(), out.sorted.back(), item.prefix, keys[i]) != 0) {
      out.sorted.push_back(std::move(keys[i]));
      out.prefixes.push_back(item.prefix);
    }
    TORI_CHECK(owner[i] / 2 < items);
    out.of_item[owner[i] / 2][owner[i] % 2] = static_cast<uint32_t>(out.sorted.size() - 1);
  }
  TORI_DCHECK(std::is_sorted(out.sorted.begin(), out.sorted.end()));
  return out;
}

absl::StatusOr<IndexOverlay::ReadAheadEntries> IndexOverlay::ReadAhead(
    IndexLookup& store, ReadAheadKeys keys, uint64_t released_batches) {
  ReadAheadEntries entries;
  entries.released_batches = released_batches;  // noted before reading: the read sees them
  TORI_ASSIGN_OR_RETURN(entries.values, store.MultiGet(keys.sorted));
  TORI_CHECK(entries.values.size() == keys.sorted.size());
  for (size_t i = 0; i < entries.values.size(); ++i) {
    if (!entries.values[i]) continue;  // most are new ids
    if (const char* rule = index_keys::EntryProblem(keys.sorted[i], *entries.values[i])) {
      return store.Damaged(keys.sorted[i], rule);
    }
  }
  entries.keys = std::move(keys);
  return entries;
}

absl::Status IndexOverlay::Prefetch(ReadAheadEntries entries) {
  // One prefetch per batch, before its lookups and writes: what they read must be at
  // least as new as the store.
  TORI_CHECK(prefetched_keys_.sorted.empty() && extra_.empty() && unread_.empty());
  TORI_CHECK(read_aheads_ == ReadAheads::kKeepForReadAheads);
  TORI_CHECK(entries.released_batches >= sealed_first_ &&
             entries.released_batches <= released_batches());
  // Later read-aheads read later, so they see at least what this one saw.
  while (sealed_first_ < entries.released_batches) {
    sealed_.pop_front();
    ++sealed_first_;
  }
  std::vector<std::string>& keys = entries.keys.sorted;
  const std::vector<KeyPrefix>& key_prefixes = entries.keys.prefixes;
  TORI_CHECK(key_prefixes.size() == keys.size());
  std::vector<std::optional<std::string>>& values = entries.values;
  // The batches the read did not see, oldest first, so that the newest value wins.
  for (const auto& batch : sealed_) {
    if (!batch->sorted_) {
      for (size_t k = 0; k < keys.size(); ++k) {
        if (const std::string* value = batch->Find(keys[k])) values[k] = *value;
      }
      continue;
    }
    const std::vector<IndexWrite>& writes = batch->writes_;
    const std::vector<KeyPrefix>& write_prefixes = batch->prefixes_;
    // Both sides are sorted: a merge finds the keys they share, by prefixes first
    // (whole keys only when those are equal). Runs of either side that the other has no
    // key in are skipped by galloping: new ids rarely fall among a sealed batch's.
    auto key_before = [&](size_t k, size_t w) {
      return CompareKeys(key_prefixes[k], keys[k], write_prefixes[w], writes[w].first) < 0;
    };
    auto write_before = [&](size_t w, size_t k) {
      return CompareKeys(write_prefixes[w], writes[w].first, key_prefixes[k], keys[k]) < 0;
    };
    for (size_t k = 0, w = 0; k < keys.size() && w < writes.size();) {
      const int order = CompareKeys(key_prefixes[k], keys[k], write_prefixes[w], writes[w].first);
      if (order == 0) {
        values[k++] = writes[w++].second;
      } else if (order < 0) {
        k = Gallop(k, keys.size(), [&](size_t i) { return key_before(i, w); });
      } else {
        w = Gallop(w, writes.size(), [&](size_t i) { return write_before(i, k); });
      }
    }
  }
  prefetched_entries_.resize(keys.size());
  for (size_t i = 0; i < keys.size(); ++i) {
    prefetched_kinds_[static_cast<uint8_t>(index_keys::KindOf(keys[i]))] = true;
    prefetched_entries_[i] = Entry{std::move(values[i]), false};
    // The invariant, by another path than the merge: a key that an unreleased batch
    // writes has that batch's newest value.
    TORI_DCHECK(FindInSealed(keys[i]) == nullptr ||
                *FindInSealed(keys[i]) == prefetched_entries_[i].value);
  }
  prefetched_keys_ = std::move(entries.keys);
  return absl::OkStatus();
}

void IndexOverlay::AtItem(size_t i) {
  TORI_CHECK(i < prefetched_keys_.of_item.size());
  item_slots_ = prefetched_keys_.of_item[i];
}

IndexOverlay::Entry* IndexOverlay::ItemEntry(size_t k, char kind, std::string_view id) {
  const uint32_t slot = item_slots_[k];
  if (slot == kNoKey) return nullptr;
  // By size and 24-byte prefix, which the slot keeps side by side with its neighbours'
  // (the whole key, when it is no longer); longer keys compare whole as well.
  const std::string& key = prefetched_keys_.sorted[slot];
  if (key.size() != 1 + id.size()) return nullptr;
  char start[24] = {kind};
  std::memcpy(start + 1, id.data(), std::min<size_t>(23, id.size()));
  if (ComparePrefixes(prefetched_keys_.prefixes[slot],
                      PrefixOf(std::string_view(start, std::min<size_t>(24, key.size())))) != 0) {
    return nullptr;
  }
  if (key.size() > 24 && std::string_view(key).substr(1) != id) return nullptr;
  return &prefetched_entries_[slot];
}

IndexOverlay::Entry* IndexOverlay::FindInPrefetched(const std::string& key) {
  const std::vector<std::string>& keys = prefetched_keys_.sorted;
  if (keys.empty()) return nullptr;  // replays: spare the hash
  for (uint32_t slot : item_slots_) {
    if (slot != kNoKey && keys[slot] == key) return &prefetched_entries_[slot];
  }
  if (!prefetched_kinds_[static_cast<uint8_t>(key[0])]) return nullptr;  // no hash needed
  if (prefetched_index_.empty()) {
    prefetched_index_.reserve(keys.size());
    for (size_t i = 0; i < keys.size(); ++i) prefetched_index_.emplace(keys[i], i);
  }
  auto it = prefetched_index_.find(absl::string_view(key));
  return it == prefetched_index_.end() ? nullptr : &prefetched_entries_[it->second];
}

IndexOverlay::Entry* IndexOverlay::FindInActive(const std::string& key) {
  if (Entry* entry = FindInPrefetched(key)) return entry;
  if (auto it = extra_.find(key); it != extra_.end()) return &it->second;
  return nullptr;
}

const std::string* IndexOverlay::FindInSealed(const std::string& key) const {
  const size_t first_unreleased = released_batches() - sealed_first_;
  for (size_t b = sealed_.size(); b-- > first_unreleased;) {
    if (const std::string* value = sealed_[b]->Find(key)) return value;
  }
  return nullptr;
}

absl::StatusOr<std::optional<std::string>> IndexOverlay::Get(const std::string& key) {
  TORI_CHECK(!key.empty());
  const bool written_once = written_once_[static_cast<uint8_t>(key[0])];
  if (written_once) {
    if (auto it = written_once_cache_.find(key); it != written_once_cache_.end()) {
      return it->second;
    }
  }
  if (const Entry* entry = FindInActive(key)) return entry->value;
  std::optional<std::string> value;
  if (const std::string* sealed = FindInSealed(key)) {
    value = *sealed;
  } else {
    TORI_ASSIGN_OR_RETURN(value, store_.Get(key));
    if (value) {
      if (const char* rule = index_keys::EntryProblem(key, *value)) {
        return store_.Damaged(key, rule);
      }
    }
  }
  if (written_once && value) written_once_cache_.emplace(key, *value);
  return value;
}

void IndexOverlay::Put(std::string key, std::string value) {
  if (Entry* entry = FindInPrefetched(key)) {
    PutAt(*entry, std::move(value));
  } else {
    extra_.insert_or_assign(std::move(key), Entry{std::move(value), true});
  }
}

void IndexOverlay::PutUnread(std::string key, std::string value) {
  unread_.emplace_back(std::move(key), std::move(value));
}

std::shared_ptr<const SealedBatch> IndexOverlay::Seal() {
  auto batch = std::make_shared<SealedBatch>();
  const size_t extra_entries = extra_.size();
  if (read_aheads_ == ReadAheads::kKeepForReadAheads) {
    // Sorted here, for the Prefetch merges of later batches: the (sorted) prefetched
    // entries merged with the few others, sorted alone.
    batch->sorted_ = true;
    std::vector<IndexWrite> extra = std::move(unread_);
    extra.reserve(extra.size() + extra_.size());
    for (auto& [key, entry] : extra_) {
      if (entry.written) extra.emplace_back(key, std::move(*entry.value));
    }
    std::sort(extra.begin(), extra.end(),
              [](const IndexWrite& a, const IndexWrite& b) { return a.first < b.first; });
    std::vector<std::string>& keys = prefetched_keys_.sorted;
    std::vector<IndexWrite>& writes = batch->writes_;
    std::vector<KeyPrefix>& prefixes = batch->prefixes_;
    writes.reserve(keys.size() + extra.size());
    prefixes.reserve(keys.size() + extra.size());
    auto next_extra = extra.begin();
    for (size_t i = 0; i < keys.size(); ++i) {
      if (!prefetched_entries_[i].written) continue;
      for (; next_extra != extra.end() && next_extra->first < keys[i]; ++next_extra) {
        prefixes.push_back(PrefixOf(next_extra->first));
        writes.push_back(std::move(*next_extra));
      }
      prefixes.push_back(prefetched_keys_.prefixes[i]);
      writes.emplace_back(std::move(keys[i]), std::move(*prefetched_entries_[i].value));
    }
    for (; next_extra != extra.end(); ++next_extra) {
      prefixes.push_back(PrefixOf(next_extra->first));
      writes.push_back(std::move(*next_extra));
    }
    TORI_DCHECK(std::adjacent_find(writes.begin(), writes.end(),
                                   [](const IndexWrite& a, const IndexWrite& b) {
                                     return a.first >= b.first;
                                   }) == writes.end());
    extra_.clear();
  } else {
    // Sorted on the commit thread (SortedWrites); the map moves whole.
    batch->entries_ = std::move(extra_);
    batch->unread_ = std::move(unread_);
    extra_ = {};
  }
  ClearActive();
  // Sized for a batch like this one: growing step by step rehashes every entry several
  // times (BENCHMARKS.md: a replay's map growth).
  extra_.reserve(extra_entries);
  if (batch->size() == 0) return nullptr;
  sealed_.push_back(batch);
  return batch;
}

void IndexOverlay::ClearActive() {
  unread_.clear();
  prefetched_index_.clear();
  prefetched_keys_.sorted.clear();
  prefetched_keys_.prefixes.clear();
  prefetched_keys_.of_item.clear();
  prefetched_entries_.clear();
  prefetched_kinds_ = {};
  item_slots_ = {kNoKey, kNoKey};
}

std::vector<std::shared_ptr<const SealedBatch>> IndexOverlay::Unreleased() const {
  return std::vector<std::shared_ptr<const SealedBatch>>(
      sealed_.begin() + static_cast<std::ptrdiff_t>(released_batches() - sealed_first_),
      sealed_.end());
}

void IndexOverlay::Release(size_t batches) {
  const uint64_t released = released_batches() + batches;
  TORI_CHECK(released <= sealed_first_ + sealed_.size());
  released_.store(released, std::memory_order_release);
  if (read_aheads_ == ReadAheads::kNone) {
    while (sealed_first_ < released) {
      sealed_.pop_front();
      ++sealed_first_;
    }
  }
}

}  // namespace tori
