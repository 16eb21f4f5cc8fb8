// Deterministic generator of SPEC-format event files, for tests, demos and benchmarks.
//
// The same options give the same bytes on every machine: a fixed xoshiro-style
// generator (splitmix64) and integer arithmetic only. A run writes reference data
// (agencies, points, space, agreements), monthly costs per pool, contacts spread over
// the quarter with about 1 % corrections and 0.5 % voids, and room bookings; 2 % of
// contacts go to agencies that are not parties of their point's agreement (billing
// warns about them).
//
// Thread safety: pure function of its options.
#ifndef TORI_TOOLS_GENERATE_GENERATOR_H_
#define TORI_TOOLS_GENERATE_GENERATOR_H_

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "absl/status/status.h"

namespace tori {

struct GenerateOptions {
  uint64_t seed = 1;
  int points = 2;
  uint64_t contacts = 10'000;
  std::string quarter = "2026Q1";  // YYYYQn
  // Reference data (agencies, points, agreements) is written unless false, so a
  // second quarter can be generated into the same log.
  bool reference_data = true;
};

// Calls `write_line` with each event line (no newline), in file order.
absl::Status GenerateEvents(const GenerateOptions& options,
                            const std::function<void(std::string_view line)>& write_line);

}  // namespace tori

#endif  // TORI_TOOLS_GENERATE_GENERATOR_H_
