// Pins the overlay's invariant: a lookup answers as if every write were already in the
// store, whatever was sealed, committed, released or read ahead meanwhile. Random
// operations run against a plain std::map model; each seed is printed on failure.
#include "events/validate/index_overlay.h"

#include <future>
#include <map>
#include <mutex>
#include <random>
#include <set>

#include "events/codec/codec.h"
#include "events/validate/index_keys.h"
#include "fmt/format.h"
#include "gtest/gtest.h"

namespace tori {
namespace {

// The store: a map, safe to read while another thread writes (read-ahead, commit).
class MapStore : public IndexLookup {
 public:
  absl::StatusOr<std::optional<std::string>> Get(std::string_view key) override {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = entries_.find(std::string(key));
    if (it == entries_.end()) return std::nullopt;
    return it->second;
  }
  void Write(const std::vector<IndexWriteView>& writes) {
    std::lock_guard<std::mutex> lock(mutex_);
    for (const auto& [key, value] : writes) entries_[std::string(key)] = std::string(value);
  }

 private:
  std::mutex mutex_;
  std::map<std::string, std::string> entries_;
};

// Keys and values of the kinds the validator writes (their values must pass
// index_keys::EntryProblem when read from the store).
class Keys {
 public:
  Keys(uint64_t seed, bool sequential) : random_(seed), sequential_(sequential) {}
  std::mt19937_64& random() { return random_; }
  // An id: in sequence (mostly new, sometimes an earlier one), or at random from a
  // small space (often seen before); some share their first 24 bytes or end inside.
  std::string Id() {
    uint64_t n;
    if (sequential_) {
      n = random_() % 8 == 0 && next_ > 0 ? random_() % next_ : next_++;
    } else {
      n = random_() % 4000;
    }
    switch (n % 5) {
      case 0: return fmt::format("{}{}", std::string(30, 'c'), n);
      case 1: return std::string(1 + n % 40, 'x');
      default: return sequential_ ? fmt::format("c{:08d}", n) : fmt::format("{:x}", n * 0x9E3779B97F4A7C15u);
    }
  }
  std::string Value(char kind) {
    const uint64_t n = random_();
    if (kind == index_keys::kEventId) return fmt::format("{:016x}", n).substr(0, 16);
    events::ContactState state;  // kContact
    state.set_duration_s(static_cast<int64_t>(n % 1000000));
    return state.SerializeAsString();
  }
  std::string Key(char kind) { return index_keys::Key(kind, Id()); }
  std::string AnyKey() {
    return Key(random_() % 2 == 0 ? index_keys::kEventId : index_keys::kContact);
  }

 private:
  std::mt19937_64 random_;
  bool sequential_;
  uint64_t next_ = 0;
};

// The model: every write, as if stored at once.
using Model = std::map<std::string, std::string>;

void ExpectAnswersAsModel(IndexOverlay& overlay, const Model& model, const std::string& key) {
  auto value = overlay.Get(key);
  ASSERT_TRUE(value.ok()) << value.status();
  auto it = model.find(key);
  if (it == model.end()) {
    EXPECT_FALSE(value->has_value()) << index_keys::Escaped(key);
  } else {
    ASSERT_TRUE(value->has_value()) << index_keys::Escaped(key);
    EXPECT_EQ(**value, it->second) << index_keys::Escaped(key);
  }
}

TEST(IndexOverlayModel, LookupsAnswerAsIfEveryWriteWereStored) {
  // Without read-aheads (replays, documents): writes, seals, commits of one or several
  // batches, releases and lookups in random order.
  for (uint64_t seed = 1; seed <= 60; ++seed) {
    SCOPED_TRACE(fmt::format("seed {}", seed));
    Keys keys(seed, seed % 2 == 0);
    MapStore store;
    IndexOverlay overlay(store, IndexOverlay::ReadAheads::kNone, "");
    Model model;
    std::vector<std::string> written;  // keys written, to look some up again
    for (int op = 0; op < 3000; ++op) {
      const uint64_t dice = keys.random()() % 100;
      if (dice < 40) {
        const char kind = keys.random()() % 2 == 0 ? index_keys::kEventId : index_keys::kContact;
        std::string key = keys.Key(kind), value = keys.Value(kind);
        model[key] = value;
        written.push_back(key);
        overlay.Put(key, value);
      } else if (dice < 47) {
        // Write-only entries: never looked up (their kind is apart).
        std::string key = index_keys::Key(index_keys::kCost, fmt::format("u{}", op));
        overlay.PutUnread(key, "");
        model[key] = "";
      } else if (dice < 52) {
        overlay.Seal();
      } else if (dice < 57) {
        const auto unreleased = overlay.Unreleased();
        if (unreleased.empty()) continue;
        const size_t n = 1 + keys.random()() % unreleased.size();
        const std::vector<std::shared_ptr<const SealedBatch>> batches(unreleased.begin(),
                                                                      unreleased.begin() + n);
        store.Write(n == 1 ? batches[0]->SortedWrites() : IndexOverlay::MergedWrites(batches));
        overlay.Release(n);
      } else if (dice < 80 && !written.empty()) {
        ExpectAnswersAsModel(overlay, model, written[keys.random()() % written.size()]);
      } else {
        ExpectAnswersAsModel(overlay, model, keys.AnyKey());
      }
      if (HasFailure()) return;
    }
    // Everything committed: the store alone is the model.
    overlay.Seal();
    const auto rest = overlay.Unreleased();
    if (!rest.empty()) store.Write(IndexOverlay::MergedWrites(rest));
    overlay.Release(rest.size());
    for (const auto& [key, value] : model) {
      auto stored = store.Get(key);
      ASSERT_TRUE(stored.ok() && stored->has_value()) << index_keys::Escaped(key);
      EXPECT_EQ(**stored, value);
    }
  }
}

// One batch of items (events) with two keys each, as ingest reads them ahead.
struct PlannedBatch {
  std::vector<std::array<std::string, 2>> items;
  IndexOverlay::ReadAheadKeys Keys() const {
    std::vector<std::string> keys;
    std::vector<uint32_t> owner;
    for (uint32_t i = 0; i < items.size(); ++i) {
      for (uint32_t k = 0; k < 2; ++k) {
        keys.push_back(items[i][k]);
        owner.push_back(2 * i + k);
      }
    }
    return IndexOverlay::SortKeys(std::move(keys), owner, items.size());
  }
};

PlannedBatch Plan(Keys& keys, size_t items) {
  PlannedBatch batch;
  for (size_t i = 0; i < items; ++i) {
    batch.items.push_back({keys.Key(index_keys::kEventId), keys.Key(index_keys::kContact)});
  }
  return batch;
}

// Applies a prefetched batch as ingest does: per item, its own entries by position
// (ItemEntry), sometimes another key by lookup; writes go to the model too.
void ApplyBatch(IndexOverlay& overlay, Keys& keys, Model& model, const PlannedBatch& batch) {
  for (size_t i = 0; i < batch.items.size(); ++i) {
    overlay.AtItem(i);
    for (size_t k = 0; k < 2; ++k) {
      const std::string& key = batch.items[i][k];
      IndexOverlay::Entry* entry =
          overlay.ItemEntry(k, index_keys::KindOf(key), index_keys::IdOf(key));
      ASSERT_NE(entry, nullptr) << index_keys::Escaped(key);
      auto it = model.find(key);
      ASSERT_EQ(entry->value.has_value(), it != model.end()) << index_keys::Escaped(key);
      if (it != model.end()) {
        EXPECT_EQ(*entry->value, it->second) << index_keys::Escaped(key);
      }
      // Another item's key at this position is not taken for this one's.
      const std::string& other = batch.items[(i + 1) % batch.items.size()][k];
      if (other != key) {
        EXPECT_EQ(overlay.ItemEntry(k, index_keys::KindOf(other), index_keys::IdOf(other)),
                  nullptr);
      }
      if (keys.random()() % 3 != 0) {
        std::string value = keys.Value(index_keys::KindOf(key));
        model[key] = value;
        IndexOverlay::PutAt(*entry, std::move(value));
      }
    }
    const uint64_t dice = keys.random()() % 10;
    if (dice < 3) {
      ExpectAnswersAsModel(overlay, model, keys.AnyKey());  // perhaps another item's
    } else if (dice < 5) {
      const std::string key = batch.items[keys.random()() % batch.items.size()][dice % 2];
      ExpectAnswersAsModel(overlay, model, key);
    } else if (dice < 6) {
      std::string key = keys.Key(index_keys::kContact), value = keys.Value(index_keys::kContact);
      model[key] = value;
      overlay.Put(key, value);
    }
  }
}

TEST(IndexOverlayModel, ReadAheadsSeeEveryBatchTheirReadMissed) {
  // Ingest's protocol on one thread, with the read-ahead's store read moved to random
  // points among the seals, commits and releases that precede its Prefetch.
  for (uint64_t seed = 1; seed <= 60; ++seed) {
    SCOPED_TRACE(fmt::format("seed {}", seed));
    Keys keys(seed, seed % 2 == 1);
    MapStore store;
    IndexOverlay overlay(store, IndexOverlay::ReadAheads::kKeepForReadAheads, "");
    Model model;
    auto commit_some = [&] {
      const auto unreleased = overlay.Unreleased();
      if (unreleased.empty() || keys.random()() % 2 == 0) return;
      const size_t n = 1 + keys.random()() % unreleased.size();
      store.Write(IndexOverlay::MergedWrites({unreleased.begin(), unreleased.begin() + n}));
      overlay.Release(n);
    };
    for (int round = 0; round < 40; ++round) {
      const PlannedBatch next = Plan(keys, 1 + keys.random()() % 60);
      if (keys.random()() % 2 == 0) commit_some();
      auto ahead = IndexOverlay::ReadAhead(store, next.Keys(), overlay.released_batches());
      ASSERT_TRUE(ahead.ok());
      commit_some();
      overlay.Seal();  // the batch before
      commit_some();
      ASSERT_TRUE(overlay.Prefetch(std::move(*ahead)).ok());
      ApplyBatch(overlay, keys, model, next);
      if (HasFailure()) return;
    }
  }
}

TEST(IndexOverlayModel, ReadAheadAndCommitOnTheirOwnThreadsAsIngestRunsThem) {
  // Ingest's threads: the parse thread reads the next batch ahead while the applying
  // thread applies this one and a commit thread writes sealed batches to the store;
  // the applying thread releases them once the commit is done.
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    SCOPED_TRACE(fmt::format("seed {}", seed));
    Keys keys(seed, seed % 2 == 0);
    Keys plan_keys(seed + 1000, seed % 2 == 0);
    MapStore store;
    IndexOverlay overlay(store, IndexOverlay::ReadAheads::kKeepForReadAheads, "");
    Model model;
    std::vector<PlannedBatch> plans;
    for (int b = 0; b < 40; ++b) plans.push_back(Plan(plan_keys, 1 + plan_keys.random()() % 300));
    auto read_ahead = [&](size_t b) {
      return std::async(std::launch::async, [&store, &overlay, &plans, b] {
        return IndexOverlay::ReadAhead(store, plans[b].Keys(), overlay.released_batches());
      });
    };
    std::future<void> committing;
    size_t committing_batches = 0;
    auto finish_commit = [&] {
      if (!committing.valid()) return;
      committing.get();
      overlay.Release(committing_batches);
    };
    auto next = read_ahead(0);
    for (size_t b = 0; b < plans.size(); ++b) {
      auto ahead = next.get();
      ASSERT_TRUE(ahead.ok());
      if (b + 1 < plans.size()) next = read_ahead(b + 1);
      ASSERT_TRUE(overlay.Prefetch(std::move(*ahead)).ok());
      ApplyBatch(overlay, keys, model, plans[b]);
      if (HasFailure()) {
        if (b + 1 < plans.size()) next.wait();
        finish_commit();
        return;
      }
      overlay.Seal();
      if (keys.random()() % 3 == 0) {
        finish_commit();
        auto batches = overlay.Unreleased();
        committing_batches = batches.size();
        committing = std::async(std::launch::async, [&store, batches = std::move(batches)] {
          store.Write(IndexOverlay::MergedWrites(batches));
        });
      }
    }
    finish_commit();
    for (const auto& [key, value] : model) ExpectAnswersAsModel(overlay, model, key);
  }
}

TEST(IndexOverlay, SealedBatchesSortTheirWritesInByteOrder) {
  // The commit sorts by 24-byte prefixes first: keys that share them, keys that end
  // inside them and keys of every length must still come in byte order, each once.
  const std::vector<std::string> ids = {
      "c", "c0", "C", "cc", std::string(23, 'c'), std::string(24, 'c'), std::string(25, 'c'),
      std::string(30, 'c') + "1", std::string(30, 'c') + "0", std::string(23, 'c') + "~",
      std::string(22, 'c') + "~c", "b" + std::string(40, 'z'), "~", "0"};
  for (auto read_aheads :
       {IndexOverlay::ReadAheads::kNone, IndexOverlay::ReadAheads::kKeepForReadAheads}) {
    MapStore store;
    IndexOverlay overlay(store, read_aheads, "");
    for (const std::string& id : ids) {
      overlay.Put(index_keys::Key(index_keys::kContact, id), "");
      overlay.PutUnread(index_keys::Key(index_keys::kEventId, id), "");
    }
    overlay.Put(index_keys::Key(index_keys::kContact, "c"), "again");  // the newest wins
    const auto writes = overlay.Seal()->SortedWrites();
    ASSERT_EQ(writes.size(), 2 * ids.size());
    for (size_t i = 1; i < writes.size(); ++i) {
      EXPECT_LT(std::string(writes[i - 1].first), std::string(writes[i].first)) << i;
    }
    EXPECT_EQ(overlay.Seal(), nullptr);  // nothing written since
  }
}

TEST(IndexOverlay, ReadAheadKeysSortWhetherTheyComeInOrderOrNot) {
  // Ids in sequence (each kind already in order, the fast path), with some swapped,
  // repeated or random; each item knows where its keys went.
  for (uint64_t seed = 1; seed <= 200; ++seed) {
    SCOPED_TRACE(fmt::format("seed {}", seed));
    std::mt19937_64 random(seed);
    PlannedBatch batch;
    for (uint64_t n = 0; n < 300; ++n) {
      std::string id = fmt::format("{}", 100000 + n);
      if (random() % 50 == 0) id = fmt::format("{:x}", random());
      std::string contact = random() % 10 == 0 && n > 0 ? fmt::format("{}", 100000 + random() % n) : id;
      batch.items.push_back({"E" + id, "C" + contact});
    }
    if (random() % 2 == 0) {
      std::swap(batch.items[random() % batch.items.size()], batch.items[random() % batch.items.size()]);
    }
    const IndexOverlay::ReadAheadKeys keys = batch.Keys();
    std::set<std::string> expected;
    for (const auto& item : batch.items) expected.insert(item.begin(), item.end());
    EXPECT_EQ(std::set<std::string>(keys.sorted.begin(), keys.sorted.end()), expected);
    ASSERT_EQ(keys.sorted.size(), expected.size());
    EXPECT_TRUE(std::is_sorted(keys.sorted.begin(), keys.sorted.end()));
    for (size_t i = 0; i < batch.items.size(); ++i) {
      EXPECT_EQ(keys.sorted[keys.of_item[i][0]], batch.items[i][0]) << i;
      EXPECT_EQ(keys.sorted[keys.of_item[i][1]], batch.items[i][1]) << i;
    }
  }
}

TEST(IndexOverlay, AStoredEntryThatBreaksItsKindsRuleIsTheStoresDamage) {
  MapStore store;
  store.Write({{"Ee1", "short"}});
  IndexOverlay overlay(store, IndexOverlay::ReadAheads::kNone, "");
  auto value = overlay.Get("Ee1");
  EXPECT_TRUE(absl::IsDataLoss(value.status())) << value.status();
  EXPECT_NE(value.status().message().find("'Ee1'"), std::string_view::npos);
}

}  // namespace
}  // namespace tori
