// The generators' random numbers: splitmix64, integer arithmetic only, so the same seed
// gives the same events on every machine and compiler (std distributions do not
// promise that). Not for anything secret. Thread safety: one thread per instance.
#ifndef TORI_TOOLS_GENERATE_RANDOM_H_
#define TORI_TOOLS_GENERATE_RANDOM_H_

#include <cstdint>
#include <span>

namespace tori {

class SplitMix64 {
 public:
  explicit SplitMix64(uint64_t seed) : state_(seed) {}
  uint64_t Next() {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  // 0 <= result < n (n > 0).
  int64_t Below(int64_t n) { return static_cast<int64_t>(Next() % static_cast<uint64_t>(n)); }
  // True with probability pct_e2 / 10000 (percent x 100).
  bool Percent(int64_t pct_e2) { return Below(10'000) < pct_e2; }
  // An index drawn with the given non-negative weights (at least one above 0).
  size_t Pick(std::span<const int> weights) {
    int64_t total = 0;
    for (int w : weights) total += w;
    int64_t r = Below(total);
    for (size_t i = 0; i < weights.size(); ++i) {
      if (r < weights[i]) return i;
      r -= weights[i];
    }
    return weights.size() - 1;
  }

 private:
  uint64_t state_;
};

}  // namespace tori

#endif  // TORI_TOOLS_GENERATE_RANDOM_H_
