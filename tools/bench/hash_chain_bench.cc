// Micro-benchmarks of the log's hash chain (services/state/hash_chain.h), which ingest,
// billing and verify extend once per record: SHA-256 of the 32-byte head and a record
// of the size of a generated contact event (110 bytes). Run:
//   build/tools/bench/hash_chain_bench
#include <string>

#include "benchmark/benchmark.h"
#include "events/base/sha256.h"
#include "services/state/hash_chain.h"

namespace tori {
namespace {

constexpr size_t kRecordBytes = 110;

void BM_HashChainExtend(benchmark::State& state) {
  HashChain chain(1);
  const std::string payload(kRecordBytes, 'x');
  for (auto _ : state) chain.Extend(0, payload);
  benchmark::DoNotOptimize(chain.HeadsText());
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_HashChainExtend);

// The helper on its own, for one digest of a record and a head.
void BM_Sha256OfRecord(benchmark::State& state) {
  const std::string bytes(kRecordBytes + kSha256Bytes, 'x');
  for (auto _ : state) benchmark::DoNotOptimize(Sha256Of(bytes));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Sha256OfRecord);

}  // namespace
}  // namespace tori

BENCHMARK_MAIN();
