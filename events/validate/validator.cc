#include "events/validate/validator.h"

#include <xxhash.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "events/base/check.h"
#include "events/base/decimal.h"
#include "fmt/format.h"

namespace tori {
namespace {

// Index key kinds: one byte, then the id. Fixed forever (stored in RocksDB).
constexpr char kEventKey = kEventIdIndexKind;  // event_id -> 16-byte content hash
constexpr char kAgencyKey = 'A';     // agency_id -> ""
constexpr char kPointKey = 'P';      // point -> 8-byte total area (centi-m2) + host id
constexpr char kContactKey = 'C';    // contact_id -> events::ContactState
constexpr char kCostKey = 'K';       // cost_id -> ""
constexpr char kBookingKey = 'B';    // booking_id -> ""
constexpr char kAgreementKey = 'G';  // agreement_id -> point id
constexpr char kVersionKey = 'V';    // agreement_id \0 version -> ""

constexpr absl::Duration kFutureSlack = absl::Hours(24);

// The kinds of key PrefetchKeys reads ahead: event ids and the ids events create or
// change. Reference data is rare and cached (reference_cache_).
bool IsPrefetchedKind(char kind) {
  return kind == kEventKey || kind == kContactKey || kind == kCostKey || kind == kBookingKey;
}

std::string Key(char kind, std::string_view id) {
  std::string key;
  key.reserve(1 + id.size());
  key.push_back(kind);
  key.append(id);
  return key;
}

// The order that sorts `count` keys (`key(i)`) bytewise, with each key's prefix. It
// sorts the prefixes in one array instead of following every key to its bytes
// (measured: the sort was a sixth of a Kafka projection's CPU, most of it cache
// misses); keys that share their first 24 bytes compare whole. The keys are first
// spread by their kind (first byte), in a stable pass, and a kind already in order
// is left as it is: a batch's event ids and contact ids each come in order when they
// follow a sequence or a clock (perf: the sort was a twelfth of an ingest's
// instructions).
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

void ApplyCorrection(const events::ContactChanges& changes, events::ContactState& state) {
  if (changes.has_agency_id()) state.set_agency_id(changes.agency_id());
  if (changes.has_service_code()) state.set_service_code(changes.service_code());
  if (changes.has_handled_by()) state.set_handled_by(changes.handled_by());
  if (changes.has_duration_s()) state.set_duration_s(changes.duration_s());
  // channel is not part of ContactState: no key depends on it.
}

void Validator::ContentHash(std::string_view encoded, std::array<char, 16>& hash) {
  const XXH128_hash_t h = XXH3_128bits(encoded.data(), encoded.size());
  std::memcpy(hash.data(), &h.low64, 8);
  std::memcpy(hash.data() + 8, &h.high64, 8);
}

std::string Validator::ContentHash(std::string_view encoded) {
  std::array<char, 16> hash;
  ContentHash(encoded, hash);
  return std::string(hash.data(), hash.size());
}

namespace {

std::string PointValue(const events::ServicePointOpened& e) {
  std::string value(8, '\0');
  const int64_t area = e.total_area_centi_m2();
  std::memcpy(value.data(), &area, 8);
  value += e.host_agency_id();
  return value;
}

int64_t PointTotalArea(const std::string& value) {
  TORI_CHECK(value.size() >= 8);
  int64_t area;
  std::memcpy(&area, value.data(), 8);
  return area;
}

std::string VersionKey(const events::AgreementSigned& e) {
  return absl::StrCat(std::string(1, kVersionKey), e.agreement_id(), std::string(1, '\0'),
                      e.version());
}

// The index entry of a contact just recorded, encoded from the event's fields (a
// ContactState object in between copied its three strings: perf, replays).
std::string NewContactState(const ContactRecordedView& contact) {
  std::string state;
  AppendEncodedNewContactState(contact, state);
  return state;
}

Rejection Reject(RejectReason reason, std::string field, std::string message) {
  return Rejection{reason, std::move(field), std::move(message)};
}

}  // namespace

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

std::string EscapedKey(std::string_view key) {
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

absl::Status IndexLookup::Damaged(std::string_view key, std::string_view rule) {
  return absl::DataLossError(
      fmt::format("the index entry '{}' is damaged: {}", EscapedKey(key), rule));
}

const char* IndexEntryProblem(std::string_view key, std::string_view value) {
  if (key.size() < 2) return "a key is a kind byte and an id";
  switch (key[0]) {
    case kEventKey:
      return value.size() == 16 ? nullptr : "an event_id's entry is its 16-byte content hash";
    case kAgencyKey:
    case kCostKey:
    case kBookingKey:
    case kVersionKey:
      return value.empty() ? nullptr : "this kind of entry marks an id and holds no value";
    case kPointKey: {
      if (value.size() < 9) return "a point's entry is its 8-byte area and its host's id";
      int64_t area;
      std::memcpy(&area, value.data(), 8);
      return area >= 0 ? nullptr : "a point's area is not negative";
    }
    case kAgreementKey:
      return value.empty() ? "an agreement's entry is its point's id" : nullptr;
    case kContactKey: {
      events::ContactState state;
      return state.ParseFromArray(value.data(), static_cast<int>(value.size()))
                 ? nullptr
                 : "a contact's entry is its encoded state (ContactState)";
    }
    default:
      return "unknown kind of entry";
  }
}

Validator::EventKeys Validator::KeysOf(const events::Event& event) {
  EventKeys keys{event.event_id(), kContactKey, {}};
  switch (event.payload_case()) {
    case events::Event::kContactRecorded:
      keys.entity_id = event.contact_recorded().contact_id();
      break;
    case events::Event::kContactCorrected:
      keys.entity_id = event.contact_corrected().contact_id();
      break;
    case events::Event::kContactVoided:
      keys.entity_id = event.contact_voided().contact_id();
      break;
    case events::Event::kCostPosted:
      keys = {event.event_id(), kCostKey, event.cost_posted().cost_id()};
      break;
    case events::Event::kRoomBooked:
      keys = {event.event_id(), kBookingKey, event.room_booked().booking_id()};
      break;
    default:
      keys.entity_kind = 0;  // reference data: see IsPrefetchedKind
      break;
  }
  return keys;
}

Validator::EventKeys Validator::KeysOf(const ContactRecordedView& contact) {
  return EventKeys{contact.event_id, kContactKey, contact.contact_id};
}

Validator::BatchKeys Validator::PrefetchKeys(const std::vector<const events::Event*>& batch) {
  std::vector<EventKeys> keys;
  keys.reserve(batch.size());
  for (const events::Event* event : batch) keys.push_back(KeysOf(*event));
  return PrefetchKeysOf(keys);
}

Validator::BatchKeys Validator::PrefetchKeysOf(const std::vector<EventKeys>& batch) {
  TORI_CHECK(batch.size() * 2 < kNoKey);
  std::vector<std::string> keys;
  std::vector<uint32_t> event_of_key;  // event * 2, + 1 for the entity's key
  keys.reserve(batch.size() * 2);
  event_of_key.reserve(batch.size() * 2);
  for (uint32_t e = 0; e < batch.size(); ++e) {
    keys.push_back(Key(kEventKey, batch[e].event_id));
    event_of_key.push_back(2 * e);
    if (batch[e].entity_kind != 0) {
      keys.push_back(Key(batch[e].entity_kind, batch[e].entity_id));
      event_of_key.push_back(2 * e + 1);
    }
  }
  BatchKeys out;
  out.sorted.reserve(keys.size());
  out.prefixes.reserve(keys.size());
  out.of_event.assign(batch.size(), {kNoKey, kNoKey});
  auto key = [&keys](size_t i) -> std::string_view { return keys[i]; };
  for (const SortItem& item : SortedByKey(keys.size(), key)) {
    const uint32_t i = item.index;
    if (out.sorted.empty() ||
        CompareKeys(out.prefixes.back(), out.sorted.back(), item.prefix, keys[i]) != 0) {
      out.sorted.push_back(std::move(keys[i]));
      out.prefixes.push_back(item.prefix);
    }
    out.of_event[event_of_key[i] / 2][event_of_key[i] % 2] =
        static_cast<uint32_t>(out.sorted.size() - 1);
  }
  return out;
}

absl::StatusOr<Validator::ReadAheadEntries> Validator::ReadAhead(IndexLookup& lookup,
                                                                 BatchKeys keys,
                                                                 uint64_t stored_batches) {
  ReadAheadEntries entries;
  entries.stored_batches = stored_batches;  // noted before reading: the read sees them
  TORI_ASSIGN_OR_RETURN(entries.values, lookup.MultiGet(keys.sorted));
  TORI_CHECK(entries.values.size() == keys.sorted.size());
  for (size_t i = 0; i < entries.values.size(); ++i) {
    if (!entries.values[i]) continue;  // most are new ids
    if (const char* rule = IndexEntryProblem(keys.sorted[i], *entries.values[i])) {
      return lookup.Damaged(keys.sorted[i], rule);
    }
  }
  entries.keys = std::move(keys);
  return entries;
}

void Validator::Pending(std::vector<IndexWrite> writes) {
  auto batch = std::make_shared<WrittenBatch>();
  batch->prefixes.reserve(writes.size());
  for (const IndexWrite& write : writes) batch->prefixes.push_back(PrefixOf(write.first));
  batch->writes = std::move(writes);
  recent_batches_.push_back(std::move(batch));
}

void Validator::Stored(size_t batches) {
  const uint64_t stored = stored_batches() + batches;
  TORI_CHECK(stored <= recent_first_ + recent_batches_.size());
  stored_batches_.store(stored, std::memory_order_release);
}

std::vector<Validator::Batch> Validator::PendingBatches() const {
  return std::vector<Batch>(recent_batches_.begin() + (stored_batches() - recent_first_),
                            recent_batches_.end());
}

void Validator::Committed(std::vector<IndexWrite> writes) {
  Pending(std::move(writes));
  Stored(1);
}

const std::string* Validator::FindPending(const std::string& key) const {
  for (size_t b = recent_batches_.size(); b-- > stored_batches() - recent_first_;) {
    const std::vector<IndexWrite>& writes = recent_batches_[b]->writes;
    auto it = std::lower_bound(
        writes.begin(), writes.end(), key,
        [](const IndexWrite& w, const std::string& k) { return w.first < k; });
    if (it != writes.end() && it->first == key) return &it->second;
  }
  return nullptr;
}

absl::Status Validator::Prefetch(ReadAheadEntries entries) {
  // One prefetch per batch: what Check reads must be at least as new as the store.
  TORI_CHECK(prefetched_keys_.sorted.empty() && batch_extra_.empty());
  // Batches the read did not see, oldest first (so the newest value wins): both
  // sides are sorted, a merge finds the keys they share.
  TORI_CHECK(entries.stored_batches >= recent_first_);
  // Later read-aheads read later, so they see at least what this one saw.
  while (recent_first_ < entries.stored_batches) {
    recent_batches_.pop_front();
    ++recent_first_;
  }
  std::vector<std::string>& keys = entries.keys.sorted;
  const std::vector<KeyPrefix>& key_prefixes = entries.keys.prefixes;
  TORI_CHECK(key_prefixes.size() == keys.size());
  std::vector<std::optional<std::string>>& values = entries.values;
  for (size_t b = 0; b < recent_batches_.size(); ++b) {
    const std::vector<IndexWrite>& writes = recent_batches_[b]->writes;
    const std::vector<KeyPrefix>& write_prefixes = recent_batches_[b]->prefixes;
    // By prefixes first: whole keys are compared only when those are equal (perf:
    // comparing the keys themselves, scattered in memory, was a thirtieth of an
    // ingest's CPU). Runs of either side that the other has no key in are skipped
    // by galloping: new ids rarely fall among a pending batch's (perf: the merge
    // walked every pending write for every batch).
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
  prefetched_keys_ = std::move(entries.keys);
  for (size_t i = 0; i < prefetched_entries_.size(); ++i) {
    prefetched_entries_[i] = BatchEntry{std::move(values[i]), false};
  }
  return absl::OkStatus();
}

void Validator::AtEvent(size_t i) {
  TORI_CHECK(i < prefetched_keys_.of_event.size());
  event_slots_ = prefetched_keys_.of_event[i];
}

void Validator::IndexPrefetched() {
  const std::vector<std::string>& keys = prefetched_keys_.sorted;
  prefetched_index_.reserve(keys.size());
  for (size_t i = 0; i < keys.size(); ++i) prefetched_index_.emplace(keys[i], i);
}

Validator::BatchEntry* Validator::FindInPrefetched(const std::string& key) {
  const std::vector<std::string>& keys = prefetched_keys_.sorted;
  if (keys.empty()) return nullptr;  // replays: spare the hash
  for (uint32_t slot : event_slots_) {
    if (slot != kNoKey && keys[slot] == key) return &prefetched_entries_[slot];
  }
  if (!IsPrefetchedKind(key[0])) return nullptr;  // no index needed to say so
  if (prefetched_index_.empty()) IndexPrefetched();
  auto it = prefetched_index_.find(absl::string_view(key));
  if (it == prefetched_index_.end()) return nullptr;
  return &prefetched_entries_[it->second];
}

Validator::BatchEntry* Validator::FindInBatch(const std::string& key) {
  if (BatchEntry* entry = FindInPrefetched(key)) return entry;
  if (auto it = batch_extra_.find(key); it != batch_extra_.end()) return &it->second;
  return nullptr;
}

absl::StatusOr<std::optional<std::string>> Validator::Get(const std::string& key) {
  // Agencies and points never change once known: the small cache answers first.
  const bool cacheable = key[0] == kAgencyKey || key[0] == kPointKey;
  if (cacheable) {
    if (auto it = reference_cache_.find(key); it != reference_cache_.end()) return it->second;
  }
  if (const BatchEntry* entry = FindInBatch(key)) return entry->value;
  if (handed_ != nullptr) {
    if (auto it = handed_->entries.find(key); it != handed_->entries.end()) return it->second.value;
  }
  std::optional<std::string> value;
  if (const std::string* pending = FindPending(key)) {
    value = *pending;
  } else {
    TORI_ASSIGN_OR_RETURN(value, lookup_.Get(key));
    if (value) {
      if (const char* rule = IndexEntryProblem(key, *value)) return lookup_.Damaged(key, rule);
    }
  }
  if (cacheable && value) reference_cache_.emplace(key, *value);
  return value;
}

void Validator::Put(std::string key, std::string value) {
  if (BatchEntry* entry = FindInPrefetched(key)) {
    *entry = BatchEntry{std::move(value), true};
  } else {
    batch_extra_.insert_or_assign(std::move(key), BatchEntry{std::move(value), true});
  }
}

std::vector<IndexWrite> Validator::TakeWrites() {
  std::vector<IndexWrite> writes;
  // Merge the (sorted) prefetched entries with the few others, sorted here.
  std::vector<IndexWrite> extra = std::move(event_writes_);
  event_writes_.clear();
  extra.reserve(extra.size() + batch_extra_.size());
  for (auto& [key, entry] : batch_extra_) {
    if (entry.written) extra.emplace_back(key, std::move(*entry.value));
  }
  std::sort(extra.begin(), extra.end(),
            [](const IndexWrite& a, const IndexWrite& b) { return a.first < b.first; });
  std::vector<std::string>& keys = prefetched_keys_.sorted;
  writes.reserve(keys.size() + extra.size());
  auto next_extra = extra.begin();
  for (size_t i = 0; i < keys.size(); ++i) {
    if (!prefetched_entries_[i].written) continue;
    for (; next_extra != extra.end() && next_extra->first < keys[i]; ++next_extra) {
      writes.push_back(std::move(*next_extra));
    }
    writes.emplace_back(std::move(keys[i]), std::move(*prefetched_entries_[i].value));
  }
  for (; next_extra != extra.end(); ++next_extra) writes.push_back(std::move(*next_extra));
  prefetched_index_.clear();
  keys.clear();
  prefetched_keys_.prefixes.clear();
  prefetched_keys_.of_event.clear();
  prefetched_entries_.clear();
  event_slots_ = {kNoKey, kNoKey};
  // Sized for a batch like this one: growing step by step rehashes every entry
  // several times (measured: a tenth of a replay's time).
  const size_t batch_extra_entries = batch_extra_.size();
  batch_extra_.clear();
  batch_extra_.reserve(batch_extra_entries);
  return writes;
}

std::shared_ptr<const Validator::HandedBatch> Validator::HandOver() {
  TORI_CHECK(prefetched_keys_.sorted.empty());  // replays do not prefetch
  auto handed = std::make_shared<HandedBatch>();
  const size_t batch_extra_entries = batch_extra_.size();
  handed->entries = std::move(batch_extra_);
  handed->event_writes = std::move(event_writes_);
  batch_extra_ = {};
  batch_extra_.reserve(batch_extra_entries);  // see TakeWrites
  event_writes_.clear();
  handed_ = handed;
  return handed;
}

std::vector<std::pair<std::string_view, std::string_view>> Validator::HandedBatch::SortedWrites()
    const {
  std::vector<std::pair<std::string_view, std::string_view>> writes;
  writes.reserve(entries.size() + event_writes.size());
  for (const auto& [key, entry] : entries) {
    if (entry.written) writes.emplace_back(key, *entry.value);
  }
  for (const auto& [key, value] : event_writes) writes.emplace_back(key, value);
  std::vector<std::pair<std::string_view, std::string_view>> sorted;
  sorted.reserve(writes.size());
  for (const SortItem& item :
       SortedByKey(writes.size(), [&writes](size_t i) { return writes[i].first; })) {
    sorted.push_back(writes[item.index]);
  }
  return sorted;
}

absl::StatusOr<std::optional<events::ContactState>> Validator::FindContact(
    std::string_view contact_id) {
  TORI_ASSIGN_OR_RETURN(auto value, Get(Key(kContactKey, contact_id)));
  if (!value) return std::nullopt;
  events::ContactState state;
  if (!state.ParseFromString(*value)) {
    return lookup_.Damaged(Key(kContactKey, contact_id),
                           "a contact's entry is its encoded state (ContactState)");
  }
  return state;
}

std::optional<Verdict> Validator::JudgeEnvelope(std::string_view event_id,
                                                int64_t occurred_at_unix_ns,
                                                const std::optional<std::string>& known_hash,
                                                std::string_view content_hash,
                                                Rejection& rejection) const {
  if (known_hash) {
    if (*known_hash == content_hash) return Verdict::kDuplicate;
    rejection = Reject(RejectReason::kDuplicateConflict, "event_id",
                       fmt::format("event_id '{}' was accepted before with different content; "
                                   "send a correction event with a new event_id instead",
                                   event_id));
    return Verdict::kReject;
  }
  if (absl::FromUnixNanos(occurred_at_unix_ns) > now_ + kFutureSlack) {
    rejection = Reject(RejectReason::kClock, "occurred_at",
                       fmt::format("occurred_at {} is more than 24 h after the ingest clock {}",
                                   FormatInstant(occurred_at_unix_ns),
                                   FormatInstant(absl::ToUnixNanos(now_))));
    return Verdict::kReject;
  }
  return std::nullopt;
}

absl::StatusOr<Verdict> Validator::Check(const events::Event& event,
                                         std::string_view content_hash, Rejection& rejection) {
  if (event.has_contact_recorded()) {
    return CheckContact(ContactViewOf(event), content_hash, rejection);
  }
  TORI_ASSIGN_OR_RETURN(auto known_hash, Get(Key(kEventKey, event.event_id())));
  if (auto verdict = JudgeEnvelope(event.event_id(), event.occurred_at_unix_ns(), known_hash,
                                   content_hash, rejection)) {
    return *verdict;
  }
  TORI_ASSIGN_OR_RETURN(std::optional<Rejection> problem, CheckReferences(event));
  if (problem) {
    rejection = std::move(*problem);
    return Verdict::kReject;
  }
  Put(Key(kEventKey, event.event_id()), std::string(content_hash));
  TORI_RETURN_IF_ERROR(RecordEntities(event));
  return Verdict::kAccept;
}

absl::StatusOr<Verdict> Validator::CheckContact(const ContactRecordedView& contact,
                                                std::string_view content_hash,
                                                Rejection& rejection) {
  // The event's own entries where AtEvent placed them are read and written there,
  // without making its keys and reading the stored ones (perf: those first reads missed
  // the cache on the main thread). Otherwise (another event's check), by key.
  BatchEntry* id_entry = nullptr;
  BatchEntry* contact_entry = nullptr;
  if (event_slots_[0] != kNoKey && event_slots_[1] != kNoKey &&
      SlotHolds(event_slots_[0], kEventKey, contact.event_id) &&
      SlotHolds(event_slots_[1], kContactKey, contact.contact_id)) {
    id_entry = &prefetched_entries_[event_slots_[0]];
    contact_entry = &prefetched_entries_[event_slots_[1]];
  }
  std::optional<std::string> looked_up;
  if (id_entry == nullptr) {
    TORI_ASSIGN_OR_RETURN(looked_up, Get(Key(kEventKey, contact.event_id)));
  }
  if (auto verdict = JudgeEnvelope(contact.event_id, contact.occurred_at_unix_ns,
                                   id_entry ? id_entry->value : looked_up, content_hash,
                                   rejection)) {
    return *verdict;
  }
  if (contact_entry == nullptr) {
    TORI_ASSIGN_OR_RETURN(looked_up, Get(Key(kContactKey, contact.contact_id)));
  }
  if (contact_entry ? contact_entry->value.has_value() : looked_up.has_value()) {
    rejection = AlreadyExists("contact_id", "contact", contact.contact_id);
    return Verdict::kReject;
  }
  for (auto [kind, id, field, what] :
       {std::tuple{kPointKey, contact.service_point_id, "service_point_id", "service point"},
        std::tuple{kAgencyKey, contact.agency_id, "agency_id", "agency"}}) {
    TORI_ASSIGN_OR_RETURN(std::optional<Rejection> problem, MustExist(kind, id, field, what));
    if (problem) {
      rejection = std::move(*problem);
      return Verdict::kReject;
    }
  }
  PutAt(id_entry, kEventKey, contact.event_id, std::string(content_hash));
  PutAt(contact_entry, kContactKey, contact.contact_id, NewContactState(contact));
  return Verdict::kAccept;
}

void Validator::PutAt(BatchEntry* entry, char kind, std::string_view id, std::string value) {
  if (entry == nullptr) return Put(Key(kind, id), std::move(value));
  *entry = BatchEntry{std::move(value), true};
}

bool Validator::SlotHolds(uint32_t slot, char kind, std::string_view id) const {
  // By size and 24-byte prefix, which the slot keeps side by side with its neighbours'
  // (the whole key, when it is no longer); longer keys compare whole as well.
  const std::string& key = prefetched_keys_.sorted[slot];
  if (key.size() != 1 + id.size()) return false;
  char start[24] = {kind};
  std::memcpy(start + 1, id.data(), std::min<size_t>(23, id.size()));
  if (ComparePrefixes(prefetched_keys_.prefixes[slot],
                      PrefixOf(std::string_view(start, std::min<size_t>(24, key.size())))) != 0) {
    return false;
  }
  return key.size() <= 24 || std::string_view(key).substr(1) == id;
}

Rejection Validator::AlreadyExists(std::string_view field, std::string_view what,
                                   std::string_view id) {
  return Reject(RejectReason::kDuplicateConflict, std::string(field),
                fmt::format("{} '{}' already exists; ids of new entities are unique", what, id));
}

absl::StatusOr<std::optional<Rejection>> Validator::MustExist(char kind, std::string_view id,
                                                             std::string_view field,
                                                             std::string_view what) {
  TORI_ASSIGN_OR_RETURN(auto value, Get(Key(kind, id)));
  if (value) return std::nullopt;
  return Reject(RejectReason::kUnknownReference, std::string(field),
                fmt::format("{} '{}' is not known; send its {} event first", what, id,
                            kind == kAgencyKey  ? "agency_registered"
                            : kind == kPointKey ? "service_point_opened"
                                                : "contact_recorded"));
}

absl::StatusOr<std::optional<Rejection>> Validator::MustBeNew(char kind, std::string_view id,
                                                             std::string_view field,
                                                             std::string_view what) {
  TORI_ASSIGN_OR_RETURN(auto value, Get(Key(kind, id)));
  if (!value) return std::nullopt;
  return AlreadyExists(field, what, id);
}

absl::StatusOr<std::optional<Rejection>> Validator::CheckReferences(const events::Event& event) {
#define TORI_CHECK_REF(expr)                           \
  do {                                                 \
    TORI_ASSIGN_OR_RETURN(auto problem_, (expr));      \
    if (problem_) return problem_;                     \
  } while (0)

  switch (event.payload_case()) {
    case events::Event::kAgencyRegistered:
      TORI_CHECK_REF(MustBeNew(kAgencyKey, event.agency_registered().agency_id(), "agency_id",
                                 "agency"));
      break;
    case events::Event::kAgencyUpdated:
      TORI_CHECK_REF(MustExist(kAgencyKey, event.agency_updated().agency_id(), "agency_id", "agency"));
      break;
    case events::Event::kServicePointOpened: {
      const auto& e = event.service_point_opened();
      TORI_CHECK_REF(MustBeNew(kPointKey, e.service_point_id(), "service_point_id",
                                 "service point"));
      TORI_CHECK_REF(MustExist(kAgencyKey, e.host_agency_id(), "host_agency_id", "agency"));
      break;
    }
    case events::Event::kSpaceAllocated: {
      const auto& e = event.space_allocated();
      TORI_ASSIGN_OR_RETURN(auto point, Get(Key(kPointKey, e.service_point_id())));
      if (!point) {
        TORI_CHECK_REF(MustExist(kPointKey, e.service_point_id(), "service_point_id",
                                  "service point"));
      }
      int64_t used = e.shared_area_centi_m2();
      for (int i = 0; i < e.allocations_size(); ++i) {
        TORI_CHECK_REF(MustExist(kAgencyKey, e.allocations(i).agency_id(),
                                  fmt::format("allocations[{}].agency_id", i), "agency"));
        used += e.allocations(i).area_centi_m2();  // bounded: each < 10^17, <= 10^4 items
      }
      const int64_t total = PointTotalArea(*point);
      if (used > total) {
        return Reject(RejectReason::kRange, "allocations",
                      fmt::format("allocated {} m2 (with the shared area) exceeds the point's "
                                  "total area of {} m2",
                                  FormatDecimal(used, kAreaScale), FormatDecimal(total, kAreaScale)));
      }
      break;
    }
    case events::Event::kAgreementSigned: {
      const auto& e = event.agreement_signed();
      TORI_CHECK_REF(MustExist(kPointKey, e.service_point_id(), "service_point_id",
                                "service point"));
      for (int i = 0; i < e.parties_size(); ++i) {
        TORI_CHECK_REF(MustExist(kAgencyKey, e.parties(i), fmt::format("parties[{}]", i),
                                  "agency"));
      }
      TORI_ASSIGN_OR_RETURN(auto point_of_agreement, Get(Key(kAgreementKey, e.agreement_id())));
      if (point_of_agreement && *point_of_agreement != e.service_point_id()) {
        return Reject(RejectReason::kRange, "service_point_id",
                      fmt::format("agreement '{}' belongs to service point '{}'", e.agreement_id(),
                                  *point_of_agreement));
      }
      TORI_ASSIGN_OR_RETURN(auto version, Get(VersionKey(e)));
      if (version) {
        return Reject(RejectReason::kDuplicateConflict, "version",
                      fmt::format("agreement '{}' version {} exists; sign a new version",
                                  e.agreement_id(), e.version()));
      }
      break;
    }
    case events::Event::kContactRecorded:
      TORI_CHECK(false);  // Check hands contacts to CheckContact
      break;
    case events::Event::kContactCorrected:
    case events::Event::kContactVoided: {
      const bool corrected = event.has_contact_corrected();
      const std::string& contact_id = corrected ? event.contact_corrected().contact_id()
                                                : event.contact_voided().contact_id();
      TORI_ASSIGN_OR_RETURN(std::optional<events::ContactState> contact, FindContact(contact_id));
      if (!contact.has_value()) {
        return Reject(RejectReason::kUnknownReference, "contact_id",
                      fmt::format("contact '{}' is not known; send its contact_recorded event "
                                  "first",
                                  contact_id));
      }
      if (contact.value().voided()) {
        return Reject(RejectReason::kInvalidState, "contact_id",
                      fmt::format("contact '{}' is voided; a voided contact cannot be {}",
                                  contact_id, corrected ? "corrected" : "voided again"));
      }
      if (corrected && event.contact_corrected().changes().has_agency_id()) {
        TORI_CHECK_REF(MustExist(kAgencyKey, event.contact_corrected().changes().agency_id(),
                                  "changes.agency_id", "agency"));
      }
      break;
    }
    case events::Event::kCostPosted: {
      const auto& e = event.cost_posted();
      TORI_CHECK_REF(MustBeNew(kCostKey, e.cost_id(), "cost_id", "cost"));
      TORI_CHECK_REF(MustExist(kPointKey, e.service_point_id(), "service_point_id",
                                "service point"));
      break;
    }
    case events::Event::kRoomBooked: {
      const auto& e = event.room_booked();
      TORI_CHECK_REF(MustBeNew(kBookingKey, e.booking_id(), "booking_id", "booking"));
      TORI_CHECK_REF(MustExist(kPointKey, e.service_point_id(), "service_point_id",
                                "service point"));
      TORI_CHECK_REF(MustExist(kAgencyKey, e.agency_id(), "agency_id", "agency"));
      break;
    }
    case events::Event::kInvoiceIssued:
    case events::Event::kSubsidyClaimIssued:
    case events::Event::kHostSharesIssued:
    case events::Event::PAYLOAD_NOT_SET:
      break;
  }
#undef TORI_CHECK_REF
  return std::nullopt;
}

absl::Status Validator::Record(const events::Event& event, std::string_view content_hash) {
  // Replayed events are unique by event_id (ingest checked them): their entries are
  // only written, never looked up, so they skip the batch's map.
  event_writes_.emplace_back(Key(kEventKey, event.event_id()), std::string(content_hash));
  return RecordEntities(event);
}

void Validator::RecordContact(const ContactRecordedView& contact, std::string_view content_hash) {
  // Unique by event_id, as in Record.
  event_writes_.emplace_back(Key(kEventKey, contact.event_id), std::string(content_hash));
  RecordContactEntities(contact);
}

void Validator::RecordContactEntities(const ContactRecordedView& contact) {
  Put(Key(kContactKey, contact.contact_id), NewContactState(contact));
}

absl::Status Validator::RecordEntities(const events::Event& event) {
  switch (event.payload_case()) {
    case events::Event::kAgencyRegistered:
      Put(Key(kAgencyKey, event.agency_registered().agency_id()), "");
      break;
    case events::Event::kServicePointOpened:
      Put(Key(kPointKey, event.service_point_opened().service_point_id()),
          PointValue(event.service_point_opened()));
      break;
    case events::Event::kAgreementSigned:
      Put(Key(kAgreementKey, event.agreement_signed().agreement_id()),
          event.agreement_signed().service_point_id());
      Put(VersionKey(event.agreement_signed()), "");
      break;
    case events::Event::kContactRecorded:
      RecordContactEntities(ContactViewOf(event));
      break;
    case events::Event::kContactCorrected:
    case events::Event::kContactVoided: {
      const bool corrected = event.has_contact_corrected();
      const std::string& contact_id = corrected ? event.contact_corrected().contact_id()
                                                : event.contact_voided().contact_id();
      TORI_ASSIGN_OR_RETURN(auto state, FindContact(contact_id));
      if (!state) {
        return absl::DataLossError(
            fmt::format("the log changes contact '{}' that the index lacks", contact_id));
      }
      if (corrected) {
        ApplyCorrection(event.contact_corrected().changes(), *state);
      } else {
        state->set_voided(true);
      }
      std::string value;
      AppendEncoded(*state, value);
      Put(Key(kContactKey, contact_id), std::move(value));
      break;
    }
    case events::Event::kCostPosted:
      Put(Key(kCostKey, event.cost_posted().cost_id()), "");
      break;
    case events::Event::kRoomBooked:
      Put(Key(kBookingKey, event.room_booked().booking_id()), "");
      break;
    default:
      break;
  }
  return absl::OkStatus();
}

absl::StatusOr<bool> Validator::KnowsEventId(std::string_view event_id) {
  TORI_ASSIGN_OR_RETURN(auto value, Get(Key(kEventKey, event_id)));
  return value.has_value();
}

absl::StatusOr<bool> Validator::KnowsCreatedEntity(const events::Event& event) {
  std::string key;
  if (!CreatedEntityKey(event, key)) return false;
  TORI_ASSIGN_OR_RETURN(auto value, Get(key));
  return value.has_value();
}

absl::StatusOr<bool> Validator::KnowsCreatedEntity(const ContactRecordedView& contact) {
  TORI_ASSIGN_OR_RETURN(auto value, Get(Key(kContactKey, contact.contact_id)));
  return value.has_value();
}

bool Validator::CreatedEntityKey(const events::Event& event, std::string& key) {
  auto set = [&key](char kind, std::string_view id) {
    key.assign(1, kind);
    key.append(id);
    return true;
  };
  switch (event.payload_case()) {
    case events::Event::kAgencyRegistered:
      return set(kAgencyKey, event.agency_registered().agency_id());
    case events::Event::kServicePointOpened:
      return set(kPointKey, event.service_point_opened().service_point_id());
    case events::Event::kAgreementSigned:
      key = VersionKey(event.agreement_signed());
      return true;
    case events::Event::kContactRecorded:
      return set(kContactKey, event.contact_recorded().contact_id());
    case events::Event::kCostPosted:
      return set(kCostKey, event.cost_posted().cost_id());
    case events::Event::kRoomBooked:
      return set(kBookingKey, event.room_booked().booking_id());
    default:
      return false;
  }
}

void Validator::CreatedEntityKey(const ContactRecordedView& contact, std::string& key) {
  key.assign(1, kContactKey);
  key.append(contact.contact_id);
}

ReplayedIds::ReplayedIds(size_t records_expected) {
  event_ids_.reserve(records_expected);
  size_t bits = size_t{1} << 16;
  while (bits < 16 * records_expected) bits *= 2;
  entity_bits_.assign(bits / 64, 0);
  entity_bit_mask_ = bits - 1;
}

ReplayedIds::Copy ReplayedIds::Judge(const events::Event& event) {
  return Judge(event.event_id(), Validator::CreatedEntityKey(event, key_));
}

ReplayedIds::Copy ReplayedIds::Judge(const ContactRecordedView& contact) {
  Validator::CreatedEntityKey(contact, key_);
  return Judge(contact.event_id, true);
}

ReplayedIds::Copy ReplayedIds::Judge(std::string_view event_id, bool creates_entity) {
  const XXH128_hash_t id = XXH3_128bits(event_id.data(), event_id.size());
  // The event id counts from its first record on, whether that record was applied or
  // not: every replica skips the same records.
  if (!event_ids_.insert(absl::MakeUint128(id.high64, id.low64)).second) {
    return Copy::kRepeatedEventId;
  }
  if (!creates_entity) return Copy::kFirst;
  const uint64_t hash = XXH3_64bits(key_.data(), key_.size());
  bool all_set = true;
  for (uint64_t probe : {hash, (hash >> 32) | (hash << 32)}) {
    const uint64_t bit = probe & entity_bit_mask_;
    uint64_t& word = entity_bits_[bit / 64];
    all_set = all_set && (word >> (bit % 64) & 1) != 0;
    word |= uint64_t{1} << (bit % 64);
  }
  return all_set ? Copy::kEntityPerhapsTaken : Copy::kFirst;
}

}  // namespace tori
