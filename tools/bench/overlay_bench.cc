// Micro-benchmarks of the index overlay's lookups on ingest's applying thread: a batch
// of 32,768 contacts read ahead (none known yet), each checked and recorded, its two
// entries found by position (IndexOverlay::AtItem/ItemEntry, what CheckContact does) or
// by key (Get/Put: the prefetched batch's hash index), then sealed. Run:
//   build/tools/bench/overlay_bench
#include <string>
#include <vector>

#include "benchmark/benchmark.h"
#include "events/validate/index_keys.h"
#include "events/validate/index_overlay.h"
#include "fmt/format.h"

namespace tori {
namespace {

class EmptyStore : public IndexLookup {
 public:
  absl::StatusOr<std::optional<std::string>> Get(std::string_view) override {
    return std::nullopt;
  }
};

constexpr size_t kItems = 32768;

struct Batch {
  std::vector<std::string> event_ids, contact_ids;
  IndexOverlay::ReadAheadKeys Keys() const {
    std::vector<std::string> keys;
    std::vector<uint32_t> owner;
    for (uint32_t i = 0; i < kItems; ++i) {
      keys.push_back(index_keys::Key(index_keys::kEventId, event_ids[i]));
      owner.push_back(2 * i);
      keys.push_back(index_keys::Key(index_keys::kContact, contact_ids[i]));
      owner.push_back(2 * i + 1);
    }
    return IndexOverlay::SortKeys(std::move(keys), owner, kItems);
  }
};

Batch MakeBatch(size_t round) {
  Batch batch;
  for (size_t i = 0; i < kItems; ++i) {
    const size_t n = round * kItems + i;
    batch.event_ids.push_back(fmt::format("ev-2026-{:09d}", n));
    batch.contact_ids.push_back(fmt::format("ct-2026-{:09d}", n));
  }
  return batch;
}

template <bool kByPosition>
void BM_CheckBatch(benchmark::State& state) {
  EmptyStore store;
  IndexOverlay overlay(store, IndexOverlay::ReadAheads::kKeepForReadAheads, "AP");
  size_t round = 0;
  const std::string hash(16, 'h');
  for (auto _ : state) {
    state.PauseTiming();
    const Batch batch = MakeBatch(round++);
    auto ahead = IndexOverlay::ReadAhead(store, batch.Keys(), overlay.released_batches());
    state.ResumeTiming();
    if (!overlay.Prefetch(std::move(*ahead)).ok()) state.SkipWithError("prefetch");
    for (size_t i = 0; i < kItems; ++i) {
      if constexpr (kByPosition) {
        overlay.AtItem(i);
        IndexOverlay::Entry* id = overlay.ItemEntry(0, index_keys::kEventId, batch.event_ids[i]);
        IndexOverlay::Entry* contact =
            overlay.ItemEntry(1, index_keys::kContact, batch.contact_ids[i]);
        if (id == nullptr || contact == nullptr || id->value || contact->value) {
          state.SkipWithError("not found by position");
        }
        IndexOverlay::PutAt(*id, hash);
        IndexOverlay::PutAt(*contact, "state");
      } else {
        std::string id_key = index_keys::Key(index_keys::kEventId, batch.event_ids[i]);
        std::string contact_key = index_keys::Key(index_keys::kContact, batch.contact_ids[i]);
        if (overlay.Get(id_key)->has_value() || overlay.Get(contact_key)->has_value()) {
          state.SkipWithError("known");
        }
        overlay.Put(std::move(id_key), hash);
        overlay.Put(std::move(contact_key), "state");
      }
    }
    benchmark::DoNotOptimize(overlay.Seal());
    overlay.Release(1);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * kItems));
}
BENCHMARK_TEMPLATE(BM_CheckBatch, true)->Name("BM_CheckBatchByPosition")->Unit(benchmark::kMillisecond);
BENCHMARK_TEMPLATE(BM_CheckBatch, false)->Name("BM_CheckBatchByKey")->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace tori

BENCHMARK_MAIN();
