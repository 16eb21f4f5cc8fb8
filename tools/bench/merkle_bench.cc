// The Merkle tree of SPEC section 10: the cost of a leaf (hash and right edge, in
// memory and into files with fdatasync per flush), and proofs in a tree of 20 M leaves
// built once through the library into files ($TORI_BENCH_DIR, default /tmp).
// Figures and commands in BENCHMARKS.md.
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "benchmark/benchmark.h"
#include "events/merkle/merkle.h"
#include "fmt/format.h"

namespace tori::merkle {
namespace {

std::string Record(int64_t i) {
  // About the size of a contact's record (SPEC section 2 event, protobuf bytes).
  return fmt::format("{:0>120}", i);
}

std::string BenchDir(std::string_view name) {
  const char* base = std::getenv("TORI_BENCH_DIR");
  return fmt::format("{}/tori-merkle-bench-{}", base != nullptr ? base : "/tmp", name);
}

void BM_AppendLeafInMemory(benchmark::State& state) {
  MemoryHashStore store;
  auto tree = MerkleTree::Open(&store).value();
  const std::string record = Record(7);
  for (auto _ : state) tree->AppendRecord(record);
  benchmark::DoNotOptimize(tree->Root());
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_AppendLeafInMemory);

// Leaves appended to files and flushed (fdatasync) every 262,144 leaves, as a catch-up does.
void BM_AppendLeafToFiles(benchmark::State& state) {
  const std::string dir = BenchDir(fmt::format("append-{}", ::getpid()));
  std::filesystem::remove_all(dir);
  auto store = FileHashStore::Open(dir, false).value();
  auto tree = MerkleTree::Open(store.get()).value();
  const std::string record = Record(7);
  int64_t since_flush = 0;
  for (auto _ : state) {
    tree->AppendRecord(record);
    if (++since_flush == 262'144) {
      if (!tree->Flush().ok()) state.SkipWithError("flush failed");
      since_flush = 0;
    }
  }
  if (!tree->Flush().ok()) state.SkipWithError("flush failed");
  state.SetItemsProcessed(state.iterations());
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_AppendLeafToFiles);

constexpr int64_t kLargeTree = 20'000'000;

// The 20 M-leaf tree, built once (kept between runs of the benchmark binary).
MerkleTree& LargeTree() {
  static std::unique_ptr<FileHashStore> store;
  static std::unique_ptr<MerkleTree> tree;
  if (tree) return *tree;
  const std::string dir = BenchDir("20m");
  store = FileHashStore::Open(dir, false).value();
  tree = MerkleTree::Open(store.get()).value();
  for (int64_t i = tree->size(); i < kLargeTree; ++i) {
    tree->AppendRecord(Record(i));
    if (i % 1'000'000 == 0 && !tree->Flush().ok()) std::abort();
  }
  if (!tree->Flush().ok()) std::abort();
  return *tree;
}

void BM_InclusionProof20M(benchmark::State& state) {
  MerkleTree& tree = LargeTree();
  int64_t leaf = 12'345;
  size_t bytes = 0;
  for (auto _ : state) {
    auto path = tree.InclusionProof(leaf, kLargeTree);
    if (!path.ok()) state.SkipWithError("proof failed");
    bytes = path->size() * sizeof(Hash);
    leaf = (leaf * 7919 + 104'729) % kLargeTree;
  }
  state.counters["path_bytes"] = static_cast<double>(bytes);
}
BENCHMARK(BM_InclusionProof20M)->Unit(benchmark::kMicrosecond);

void BM_ConsistencyProof20M(benchmark::State& state) {
  MerkleTree& tree = LargeTree();
  int64_t old_size = 1'234'567;
  size_t bytes = 0;
  for (auto _ : state) {
    auto path = tree.ConsistencyProof(old_size, kLargeTree);
    if (!path.ok()) state.SkipWithError("proof failed");
    bytes = path->size() * sizeof(Hash);
    old_size = 1 + (old_size * 7919 + 104'729) % (kLargeTree - 1);
  }
  state.counters["path_bytes"] = static_cast<double>(bytes);
}
BENCHMARK(BM_ConsistencyProof20M)->Unit(benchmark::kMicrosecond);

// Opening the 20 M tree (reads its right edge) and its root: what `tori checkpoint`
// pays before it signs when nothing is new.
void BM_OpenAndRoot20M(benchmark::State& state) {
  LargeTree();
  for (auto _ : state) {
    auto store = FileHashStore::Open(BenchDir("20m"), true).value();
    auto tree = MerkleTree::Open(store.get()).value();
    benchmark::DoNotOptimize(tree->Root());
  }
}
BENCHMARK(BM_OpenAndRoot20M)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace tori::merkle

BENCHMARK_MAIN();
