// tori-serve-load's command-line values, checked before any connection is opened: the
// URL (http://127.0.0.1:PORT only), scenario groups ("SCENARIO[:key=value,...]") and
// tokens ("SCOPE=TOKEN"). Each error names the flag, the value and the rule.
//
// Thread safety: pure functions.
#ifndef TORI_TOOLS_BENCH_SERVE_LOAD_OPTIONS_H_
#define TORI_TOOLS_BENCH_SERVE_LOAD_OPTIONS_H_

#include <charconv>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "tools/bench/serve_load_report.h"

namespace tori::bench {

// The whole of `text` as a number of type T.
template <typename T>
bool ParseNumber(std::string_view text, T* value) {
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), *value);
  return ec == std::errc() && end == text.data() + text.size();
}

// The port of "http://127.0.0.1:PORT" (a trailing '/' allowed); any other host, scheme or
// port 0 is refused: the generator never loads another machine.
absl::StatusOr<uint16_t> ParseLocalUrl(std::string_view url);

absl::StatusOr<Scenario> ParseScenario(std::string_view name);

// "SCENARIO[:key=value,...]" with keys name, rate, connections, lines, requests; what a
// key does not set comes from `spec`. Bounds: connections 1..1000, lines 1..100000,
// rate 0..1e6, requests at least 1, name [a-z0-9-_]{1,32} (it goes into event ids).
absl::StatusOr<GroupSpec> ParseGroup(std::string_view text, GroupSpec spec);

// A token and what it is for: a service point (intake; "" for a host's token, which
// posts any point) or an agency (reads) with the invoices that agency sees.
struct Credential {
  std::string token;
  std::string scope;
  std::vector<std::string> invoices;
};

// "SCOPE=TOKEN", or for posts (scope_required false) a bare host token.
absl::StatusOr<Credential> ParseCredential(std::string_view text, bool scope_required);

}  // namespace tori::bench

#endif  // TORI_TOOLS_BENCH_SERVE_LOAD_OPTIONS_H_
