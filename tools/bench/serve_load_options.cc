#include "tools/bench/serve_load_options.h"

#include "absl/status/status.h"
#include "fmt/format.h"

namespace tori::bench {

// http://127.0.0.1:PORT[/] only: the generator never loads another machine.
absl::StatusOr<uint16_t> ParseLocalUrl(std::string_view url) {
  constexpr std::string_view kPrefix = "http://127.0.0.1:";
  if (!url.starts_with(kPrefix)) {
    return absl::InvalidArgumentError(fmt::format(
        "--url {}: only http://127.0.0.1:PORT is loaded (a local benchmark; no other host, no TLS)", url));
  }
  url.remove_prefix(kPrefix.size());
  if (url.ends_with('/')) url.remove_suffix(1);
  uint32_t port = 0;
  if (!ParseNumber(url, &port) || port == 0 || port > 65535) {
    return absl::InvalidArgumentError(fmt::format("--url: '{}' is not a port (1..65535)", url));
  }
  return static_cast<uint16_t>(port);
}

absl::StatusOr<Scenario> ParseScenario(std::string_view name) {
  for (Scenario s : {Scenario::kPostSingle, Scenario::kPostBatch, Scenario::kReadInvoice, Scenario::kReadExplain}) {
    if (name == ScenarioName(s)) return s;
  }
  return absl::InvalidArgumentError(
      fmt::format("scenario '{}' is none of post-single, post-batch, read-invoice, read-explain", name));
}

// "SCENARIO[:key=value,...]" with keys name, rate, connections, lines, requests.
absl::StatusOr<GroupSpec> ParseGroup(std::string_view text, GroupSpec spec) {
  const size_t colon = text.find(':');
  auto scenario = ParseScenario(text.substr(0, colon));
  if (!scenario.ok()) return scenario.status();
  spec.scenario = *scenario;
  spec.name = ScenarioName(spec.scenario);
  if (colon != std::string_view::npos) {
    std::string_view rest = text.substr(colon + 1);
    while (!rest.empty()) {
      const size_t comma = rest.find(',');
      const std::string_view pair = rest.substr(0, comma);
      rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
      const size_t eq = pair.find('=');
      const std::string_view key = pair.substr(0, eq), value = eq == std::string_view::npos ? "" : pair.substr(eq + 1);
      bool ok = !value.empty();
      if (key == "name") {
        ok = ok && value.size() <= 32 && value.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-_") ==
                                             std::string_view::npos;
        spec.name = value;
      } else if (key == "rate") {
        ok = ok && ParseNumber(value, &spec.rate_per_s) && spec.rate_per_s >= 0 && spec.rate_per_s <= 1e6;
      } else if (key == "connections") {
        ok = ok && ParseNumber(value, &spec.connections);
      } else if (key == "lines") {
        ok = ok && ParseNumber(value, &spec.lines);
      } else if (key == "requests") {
        ok = ok && ParseNumber(value, &spec.requests_max);
      } else {
        ok = false;
      }
      if (!ok) {
        return absl::InvalidArgumentError(fmt::format(
            "--group {}: '{}' is not name=[a-z0-9-_]{{1,32}}, rate=R (0..1e6), connections=N, lines=N or requests=N",
            text, pair));
      }
    }
  }
  if (spec.connections < 1 || spec.connections > 1000 || spec.lines < 1 || spec.lines > 100000 ||
      spec.requests_max < 1) {
    return absl::InvalidArgumentError(
        fmt::format("--group {}: connections must be 1..1000, lines 1..100000, requests at least 1", text));
  }
  return spec;
}

// "SCOPE=TOKEN" (an intake's point or an agency) or, for posts, a bare host token.
absl::StatusOr<Credential> ParseCredential(std::string_view text, bool scope_required) {
  const size_t eq = text.find('=');
  if (eq == std::string_view::npos) {
    if (scope_required) return absl::InvalidArgumentError("--agency-token takes AGENCY=TOKEN");
    return Credential{std::string(text), "", {}};
  }
  return Credential{std::string(text.substr(eq + 1)), std::string(text.substr(0, eq)), {}};
}

}  // namespace tori::bench
