// The documents tests' fixture, made by hand (not by the engine): three agencies, two
// points hosted by espoo, four pools (one with two tranches, one that fell back to
// another key), a prior-period adjustment line, two subsidy claims (one an adjustment)
// and a warning. The cents are worked out in the comments and conserve every pool.
// Also small helpers to run the external tools the tests need. Tests only.
#ifndef TORI_SERVICES_DOCUMENTS_TEST_FIXTURE_H_
#define TORI_SERVICES_DOCUMENTS_TEST_FIXTURE_H_

#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "services/documents/documents.h"
#include "services/engine/engine.h"

namespace tori::documents::fixture {

using engine::InvoiceLine;
using engine::Key;
using engine::Quarter;

inline constexpr Quarter kQ1{2026, 1};
inline constexpr Quarter kQ2{2026, 2};
inline constexpr int64_t kAllPctE4 = 100 * 10'000;

// 2026Q2 (91 days). iso-omena: premises 10 000 001 c = 60 % dedicated_area (6 000 001 c:
// espoo 3 000 001, kela 2 000 000, vero 1 000 000 over 300/200/100 m2) + 40 % equal
// (4 000 000 c: 1 333 334 / 1 333 333 / 1 333 333); shared_staff 500 000 c by advisor_time
// 3000/4000/1000 s: 187 500 / 250 000 / 62 500. kalajarvi: premises 2 500 000 c by
// dedicated_area 150/50/50 m2: 1 500 000 / 500 000 / 500 000; shared_rooms 99 999 c:
// booked_minutes all 0, fallback contacts 40/25/0: 61 538 / 38 461 / 0 (no vero line).
inline engine::BillingResult Result() {
  engine::BillingResult r;
  r.quarter = kQ2;
  r.pools = {{"iso-omena", "premises", 10'000'001},
             {"iso-omena", "shared_staff", 500'000},
             {"kalajarvi", "premises", 2'500'000},
             {"kalajarvi", "shared_rooms", 99'999}};
  engine::Invoice kela{"2026Q2-espoo-kela", "espoo", "kela", kQ2, 0, {}};
  kela.lines = {
      InvoiceLine{"iso-omena", "premises", Key::kDedicatedArea, std::nullopt, 60'0000, 1'820'000,
                  5'460'000, 2'000'000, std::nullopt},
      InvoiceLine{"iso-omena", "premises", Key::kEqual, std::nullopt, 40'0000, 1, 3, 1'333'333,
                  std::nullopt},
      InvoiceLine{"iso-omena", "shared_staff", Key::kAdvisorTime, std::nullopt, kAllPctE4, 4000,
                  8000, 250'000, std::nullopt},
      InvoiceLine{"kalajarvi", "premises", Key::kDedicatedArea, std::nullopt, kAllPctE4, 455'000,
                  2'275'000, 500'000, std::nullopt},
      InvoiceLine{"kalajarvi", "shared_rooms", Key::kContacts, Key::kBookedMinutes, kAllPctE4, 25,
                  65, 38'461, std::nullopt},
      // 2026Q1 recomputed with a late correction: kela's advisor time fell.
      InvoiceLine{"iso-omena", "shared_staff", Key::kAdvisorTime, std::nullopt, kAllPctE4, 3900,
                  7800, -12'345, kQ1},
  };
  kela.total_cents = 2'000'000 + 1'333'333 + 250'000 + 500'000 + 38'461 - 12'345;  // 4 109 449
  engine::Invoice vero{"2026Q2-espoo-vero", "espoo", "vero", kQ2, 0, {}};
  vero.lines = {
      InvoiceLine{"iso-omena", "premises", Key::kDedicatedArea, std::nullopt, 60'0000, 910'000,
                  5'460'000, 1'000'000, std::nullopt},
      InvoiceLine{"iso-omena", "premises", Key::kEqual, std::nullopt, 40'0000, 1, 3, 1'333'333,
                  std::nullopt},
      InvoiceLine{"iso-omena", "shared_staff", Key::kAdvisorTime, std::nullopt, kAllPctE4, 1000,
                  8000, 62'500, std::nullopt},
      InvoiceLine{"kalajarvi", "premises", Key::kDedicatedArea, std::nullopt, kAllPctE4, 455'000,
                  2'275'000, 500'000, std::nullopt},
  };
  vero.total_cents = 1'000'000 + 1'333'333 + 62'500 + 500'000;  // 2 895 833
  r.invoices = {kela, vero};
  r.host_shares = {{"espoo", "iso-omena", "premises", 4'333'335},
                   {"espoo", "iso-omena", "shared_staff", 187'500},
                   {"espoo", "kalajarvi", "premises", 1'500'000},
                   {"espoo", "kalajarvi", "shared_rooms", 61'538}};
  // 50 % of espoo's own share at iso-omena (4 520 835 c), half away from zero.
  r.subsidy_claims = {
      {"espoo", "yps-state-aid", "iso-omena", kQ2, 4'520'835, 2'260'418, std::nullopt},
      {"espoo", "yps-state-aid", "iso-omena", kQ2, 12'345, 6'173, kQ1}};
  engine::Warning fallback{engine::WarningCode::kFallbackKeyUsed,
                           "kalajarvi shared_rooms: booked_minutes sums to 0 over the parties; "
                           "the pool's fallback_key contacts was used"};
  fallback.service_point_id = "kalajarvi";  // what the message names, as the engine fills it
  fallback.pool = "shared_rooms";
  fallback.tranche = 1;
  fallback.weight_pct_e4 = kAllPctE4;
  fallback.key = Key::kBookedMinutes;
  fallback.fallback_key = Key::kContacts;
  r.warnings = {fallback};
  return r;
}

// Gives the host the shares invoice `index` billed for the quarter and leaves that
// invoice without lines, keeping every pool whole (as if its recipient had no activity).
inline void MoveInvoiceToHost(engine::BillingResult& result, size_t index) {
  engine::Invoice& invoice = result.invoices[index];
  for (const auto& line : invoice.lines) {
    if (line.adjusts_quarter) continue;
    for (auto& share : result.host_shares) {
      if (share.service_point_id == line.service_point_id && share.pool == line.pool) {
        share.amount_cents += line.amount_cents;
      }
    }
  }
  invoice.lines.clear();
  invoice.total_cents = 0;
}

inline DocumentContext Context(Language language = Language::kFi) {
  DocumentContext c;
  c.agencies["espoo"] = {"Espoon kaupunki", "0101263-6", "003701012636", "FI21 1234 5600 0007 85",
                         "NDEAFIHH"};
  c.agencies["kela"] = {"Kansaneläkelaitos", "0246246-0", "003702462460", std::nullopt,
                        std::nullopt};
  c.agencies["vero"] = {"Verohallinto", "0245458-3", std::nullopt, std::nullopt, std::nullopt};
  c.service_points["iso-omena"] = {"Palvelutori Iso Omena"};
  c.service_points["kalajarvi"] = {"Kalajärven palvelutori"};
  c.issue_date = absl::CivilDay(2026, 7, 6);
  c.language = language;
  return c;
}

// A fresh, empty directory under the system temp directory, removed when the test
// process exits unless `keep` (then its path is worth printing).
inline std::string TempDir(const std::string& name, bool keep = false) {
  static std::vector<std::filesystem::path>* to_remove = [] {
    auto* dirs = new std::vector<std::filesystem::path>;
    std::atexit([] {
      std::error_code ec;
      for (const auto& dir : *to_remove) std::filesystem::remove_all(dir, ec);
    });
    return dirs;
  }();
  const auto dir = std::filesystem::temp_directory_path() /
                   ("tori-documents-" + name + "-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  if (!keep) to_remove->push_back(dir);
  return dir.string();
}

struct CommandResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr
};

// Runs `command` with /bin/sh and captures its output.
inline CommandResult Run(const std::string& command) {
  CommandResult result;
  FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return result;
  std::array<char, 4096> buffer;
  size_t n = 0;
  while ((n = std::fread(buffer.data(), 1, buffer.size(), pipe)) > 0)
    result.output.append(buffer.data(), n);
  const int status = ::pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

// True when `program` is on PATH.
inline bool HaveProgram(const std::string& program) {
  return Run("command -v " + program).exit_code == 0;
}

inline std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

}  // namespace tori::documents::fixture

#endif  // TORI_SERVICES_DOCUMENTS_TEST_FIXTURE_H_
