// Micro-benchmarks of the per-event work of ingest: JSON parse with every stateless
// check (into an Event: BM_ParseContact, the yardstick of BENCHMARKS.md), and as
// ingest does it, into a view and the encoding, with the log record checksum. Run:
//   build/tools/bench/codec_bench
#include <string>
#include <vector>

#include "benchmark/benchmark.h"
#include "events/base/crc32c.h"
#include "events/codec/codec.h"
#include "tools/generate/generator.h"

namespace tori {
namespace {

std::vector<std::string> ContactLines() {
  std::vector<std::string> lines;
  GenerateOptions options;
  options.contacts = 20'000;
  (void)GenerateEvents(options, [&](std::string_view line) {
    if (line.find("contact_recorded") != std::string_view::npos) lines.emplace_back(line);
  });
  return lines;
}

void BM_ParseContact(benchmark::State& state) {
  const auto lines = ContactLines();
  JsonEventParser parser;
  events::Event event;
  size_t i = 0, bytes = 0;
  for (auto _ : state) {
    const std::string& line = lines[i++ % lines.size()];
    benchmark::DoNotOptimize(parser.Parse(line, event));
    bytes += line.size();
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
  state.SetBytesProcessed(static_cast<int64_t>(bytes));
}
BENCHMARK(BM_ParseContact);

// What ingest does per line: parse into a view and the encoding, then the checksum.
void BM_ParseEncodeChecksum(benchmark::State& state) {
  const auto lines = ContactLines();
  JsonEventParser parser;
  ParsedEvent parsed;
  size_t i = 0;
  for (auto _ : state) {
    const std::string& line = lines[i++ % lines.size()];
    (void)parser.Parse(line, line.size(), parsed);
    benchmark::DoNotOptimize(Crc32c(0, parsed.encoded.data(), parsed.encoded.size()));
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_ParseEncodeChecksum);

}  // namespace
}  // namespace tori

BENCHMARK_MAIN();
