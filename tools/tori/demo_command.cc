// `tori demo`: a realistic quarter of Espoo's Iso Omena and Kalajärvi service points,
// generated, ingested into the embedded log and billed; prints each agency's share.
#include <cstdio>
#include <filesystem>
#include <map>
#include <set>

#include "events/base/decimal.h"
#include "fmt/format.h"
#include "services/billing/billing.h"
#include "services/ingest/ingest.h"
#include "tools/generate/demo_scenario.h"
#include "tools/tori/commands.h"

namespace tori {
namespace {

std::string Euros(int64_t cents) { return FormatDecimal(cents, kMoneyScale); }

void PrintShareTable(const engine::BillingResult& result) {
  // agency -> pool -> cents, from invoice lines (recipients) and host shares (hosts).
  std::map<std::string, std::map<std::string, int64_t>> shares;
  std::set<std::string> pools;
  for (const auto& invoice : result.invoices) {
    for (const auto& line : invoice.lines) {
      shares[invoice.recipient_agency_id][line.pool] += line.amount_cents;
      pools.insert(line.pool);
    }
  }
  for (const auto& share : result.host_shares) {
    shares[share.agency_id][share.pool] += share.amount_cents;
    pools.insert(share.pool);
  }
  std::string header = fmt::format("{:<24}", "agency");
  for (const auto& pool : pools) header += fmt::format(" {:>14}", pool);
  header += fmt::format(" {:>14}", "total");
  fmt::print("\n{}\n{}\n", header, std::string(header.size(), '-'));
  std::map<std::string, int64_t> column_totals;
  int64_t grand_total = 0;
  for (const auto& [agency, by_pool] : shares) {
    std::string row = fmt::format("{:<24}", agency);
    int64_t total = 0;
    for (const auto& pool : pools) {
      const auto it = by_pool.find(pool);
      const int64_t cents = it == by_pool.end() ? 0 : it->second;
      row += fmt::format(" {:>14}", Euros(cents));
      total += cents;
      column_totals[pool] += cents;
    }
    grand_total += total;
    fmt::print("{} {:>14}\n", row, Euros(total));
  }
  std::string footer = fmt::format("{:<24}", "all agencies (= costs)");
  for (const auto& pool : pools) footer += fmt::format(" {:>14}", Euros(column_totals[pool]));
  fmt::print("{}\n{} {:>14}\n", std::string(header.size(), '-'), footer, Euros(grand_total));
  fmt::print("(EUR; invoiced shares for participating agencies, the host's own share for the host)\n");

  if (!result.subsidy_claims.empty()) {
    fmt::print("\nstate subsidy claims\n");
    for (const auto& claim : result.subsidy_claims) {
      fmt::print("  {:<12} {:<22} {:<14} basis {:>14}  claim {:>12}\n", claim.claimant_agency_id,
                 claim.program_id, claim.service_point_id, Euros(claim.basis_cents),
                 Euros(claim.amount_cents));
    }
  }
}

}  // namespace

int RunDemo(const std::string& dir, documents::Language language) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return Fail(absl::InternalError(fmt::format("cannot create {}: {}", dir, ec.message())));
  const std::string events_path = dir + "/demo-events.jsonl";
  {
    std::FILE* out = std::fopen(events_path.c_str(), "w");
    if (out == nullptr) return Fail(absl::InternalError(fmt::format("cannot create {}", events_path)));
    auto status = GenerateDemoEvents(/*seed=*/2026, [&](std::string_view line) {
      std::fwrite(line.data(), 1, line.size(), out);
      std::fputc('\n', out);
    });
    const bool ok = std::fclose(out) == 0;
    if (!status.ok()) return Fail(status);
    if (!ok) return Fail(absl::InternalError(fmt::format("cannot write {}", events_path)));
  }
  fmt::print("tori demo: Espoo's Iso Omena and Kalajärvi service points and its service bus, quarter 2026Q1\n");
  fmt::print("events: {}\n", events_path);

  LogOptions log_options;
  log_options.data_dir = dir + "/data";
  auto data = OpenDataDir(log_options, DataAccess::kCreate);
  if (!data.ok()) return Fail(data.status());
  auto summary = IngestFile(events_path, *data->log, *data->state, IngestOptions{});
  if (!summary.ok()) return Fail(summary.status());
  fmt::print("ingest: {}\n", summary->Line());

  BillRequest request;
  request.quarter = engine::Quarter{2026, 1};
  request.out_dir = dir + "/out";
  request.scratch_dir = dir + "/data/scratch-replay";
  request.language = language;
  auto outcome = Bill(*data->log, *data->state, request);
  if (!outcome.ok()) return Fail(outcome.status());
  PrintShareTable(outcome->result);

  fmt::print("\ninvoices\n");
  for (const auto& invoice : outcome->result.invoices) {
    fmt::print("  {:<36} {:>14} EUR  {} lines", invoice.invoice_id, Euros(invoice.total_cents),
               invoice.lines.size());
    // SPEC section 8: a company's invoice carries VAT (the post's, on the service bus).
    if (invoice.vat) {
      fmt::print("  + VAT {} % {} = {} EUR", FormatDecimal(invoice.vat->rate_pct_e4, kPctScale),
                 Euros(invoice.vat->vat_cents), Euros(invoice.total_cents + invoice.vat->vat_cents));
    }
    fmt::print("\n");
  }
  if (!outcome->result.warnings.empty()) {
    fmt::print("\nwarnings\n");
    for (const auto& warning : outcome->result.warnings) {
      fmt::print("  {}: {}\n", engine::WarningCodeName(warning.code), warning.message);
    }
  }
  fmt::print("\n{} as of log position {}.\n",
             outcome->already_issued ? "Issued earlier; the same documents again"
                                     : fmt::format("Issued {} documents", outcome->documents_issued),
             outcome->as_of.ToString());
  PrintFiles(*outcome);
  fmt::print("state and event log: {}/data (try: tori bill --data {}/data --quarter 2026Q1 --out OUT)\n",
             dir, dir);
  return 0;
}

}  // namespace tori
