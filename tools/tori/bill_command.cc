#include <filesystem>

#include "events/base/decimal.h"
#include "events/base/json_text.h"
#include "events/codec/codec.h"
#include "fmt/format.h"
#include "services/billing/billing.h"
#include "tools/tori/commands.h"

namespace tori {

void PrintFiles(const BillOutcome& outcome) {
  size_t csv = 0, finvoice = 0, peppol = 0;
  for (const auto& file : outcome.files) {
    std::string name = std::filesystem::path(file).filename().string();
    if (name.starts_with(documents::kDraftFilePrefix)) name.erase(0, documents::kDraftFilePrefix.size());
    csv += file.ends_with(".csv");
    finvoice += name.starts_with("finvoice-");
    peppol += name.starts_with("peppol-");
  }
  fmt::print("files in {}:\n  {}\n", std::filesystem::path(outcome.files.front()).parent_path().string(),
             std::filesystem::path(outcome.files.front()).filename().string());
  for (const auto& file : outcome.files) {
    if (file.ends_with(".xlsx") || file.ends_with(".html")) {
      fmt::print("  {}\n", std::filesystem::path(file).filename().string());
    }
  }
  fmt::print("  {} invoice CSV files, {} Finvoice 3.0 e-invoices (finvoice-*.xml), {} Peppol "
             "BIS Billing 3.0 e-invoices (peppol-*.xml)\n",
             csv, finvoice, peppol);
  for (const auto& note : outcome.notes) fmt::print("note: {}\n", note);
}

int RunBill(const LogOptions& options, engine::Quarter quarter, const std::string& out_dir,
            bool dry_run, bool force, const BillAsOf& as_of, documents::Language language,
            CsvDialect csv_dialect, const std::optional<std::string>& by) {
  LogOptions data_options = options;
  data_options.kafka_writer = !dry_run;  // it issues documents into the log
  // A dry run only reads: it writes nothing under --data (it may be a read-only archive).
  auto data = OpenDataDir(data_options, dry_run ? DataAccess::kRead : DataAccess::kWrite);
  if (!data.ok()) return Fail(data.status());
  BillRequest request;
  request.quarter = quarter;
  request.out_dir = out_dir;
  request.dry_run = dry_run;
  request.force = force;
  if (const auto* position = std::get_if<LogPosition>(&as_of)) request.as_of = *position;
  // An instant is turned into a position in the replay itself: the log is read once.
  const absl::Time* instant = std::get_if<absl::Time>(&as_of);
  if (instant != nullptr) request.as_of_time = *instant;
  request.language = language;
  request.csv_dialect = csv_dialect;
  request.scratch_dir = data->ScratchPath("replay");
  request.by = by;
  auto outcome = Bill(*data->log, *data->state, request);
  if (!outcome.ok()) return Fail(outcome.status());
  if (instant != nullptr) {
    fmt::print("as of {}: log position {} (the log up to the first event that occurred later)\n",
               FormatInstant(absl::ToUnixNanos(*instant)), outcome->as_of.ToString());
  }

  const auto& result = outcome->result;
  for (const auto& warning : result.warnings) {
    fmt::print(stderr, "warning {}: {}\n", engine::WarningCodeName(warning.code), warning.message);
  }
  fmt::print("{} billed as of log position {}: {} invoices, {} subsidy claims\n",
             engine::QuarterName(quarter), outcome->as_of.ToString(), result.invoices.size(),
             result.subsidy_claims.size());
  for (const auto& invoice : result.invoices) {
    fmt::print("  {:<40} {:>16} EUR\n", invoice.invoice_id, FormatDecimal(invoice.total_cents, kMoneyScale));
  }
  if (request.as_of || request.as_of_time) {
    fmt::print("dry run as of log position {}: nothing issued; the files are drafts\n",
               outcome->as_of.ToString());
  } else if (outcome->prepared) {
    fmt::print("prepared by {} for approval: nothing issued; the files are drafts (draft-*), and "
               "another person issues exactly these with `tori approve --quarter {} --by NAME`\n",
               outcome->prepared_by, engine::QuarterName(quarter));
  } else if (dry_run) {
    fmt::print("dry run: nothing issued; the files are drafts (draft-*), marked as such in "
               "every format\n");
  } else if (outcome->already_issued) {
    if (outcome->documents_issued > 0) {
      fmt::print(
          "{} was issued only in part (its billing run was interrupted): issued the other {} "
          "documents, computed at the same as_of\n",
          engine::QuarterName(quarter), outcome->documents_issued);
    }
    if (outcome->approval_completed) {
      fmt::print("{}'s approval by {} (prepared by {}) was cut off before its quarter_approved "
                 "record: completed it, the record names {}\n",
                 engine::QuarterName(quarter), outcome->approved_by, outcome->prepared_by,
                 outcome->approved_by);
    }
    fmt::print("{} was issued before: these are the issued documents, recomputed from the log "
               "up to {} and checked against their hashes; later events show up as adjustments "
               "on the next quarter billed\n",
               engine::QuarterName(quarter), outcome->as_of.ToString());
  } else {
    fmt::print("issued {} documents (invoice_issued / subsidy_claim_issued events in the log)\n",
               outcome->documents_issued);
  }
  PrintFiles(*outcome);
  return 0;
}

int RunApprove(const LogOptions& options, engine::Quarter quarter, const std::string& out_dir,
               const std::string& by, documents::Language language, CsvDialect csv_dialect) {
  LogOptions data_options = options;
  data_options.kafka_writer = true;  // it issues documents into the log
  auto data = OpenDataDir(data_options, DataAccess::kWrite);
  if (!data.ok()) return Fail(data.status());
  BillRequest request;
  request.quarter = quarter;
  request.out_dir = out_dir;
  request.by = by;
  request.language = language;
  request.csv_dialect = csv_dialect;
  request.scratch_dir = data->ScratchPath("replay");
  auto outcome = Approve(*data->log, *data->state, request);
  if (!outcome.ok()) return Fail(outcome.status());
  for (const auto& warning : outcome->result.warnings) {
    fmt::print(stderr, "warning {}: {}\n", engine::WarningCodeName(warning.code), warning.message);
  }
  if (outcome->approval_completed) {
    // SPEC section 8: the approval was made already, by the person its records name.
    fmt::print("{}'s approval by {} (prepared by {}) was cut off part way: completed it as of log "
               "position {}, issuing the other {} documents and the quarter_approved record naming {}\n",
               engine::QuarterName(quarter), outcome->approved_by, outcome->prepared_by,
               outcome->as_of.ToString(), outcome->documents_issued, outcome->approved_by);
  } else {
    fmt::print("{} approved by {} (prepared by {}) and issued as of log position {}: {} documents\n",
               engine::QuarterName(quarter), by, outcome->prepared_by, outcome->as_of.ToString(),
               outcome->documents_issued);
  }
  PrintFiles(*outcome);
  return 0;
}

}  // namespace tori

namespace tori {


int RunVerify(const LogOptions& data_options, bool json) {
  // Also fails when the state is ahead of the log: acknowledged events are missing.
  auto data = OpenDataDir(data_options, DataAccess::kReadLog);
  if (!data.ok()) return Fail(data.status());
  const absl::Time started = absl::Now();
  absl::Time next_progress = started + absl::Seconds(2);
  auto report = Verify(*data->log, data->ScratchPath("verify"), [&](uint64_t replayed) {
    if (absl::Now() < next_progress) return;
    next_progress = absl::Now() + absl::Seconds(2);
    fmt::print(stderr, "verify: replayed {} events, {:.0f} s\n", replayed,
               absl::ToDoubleSeconds(absl::Now() - started));
  }, data->state.get());
  if (!report.ok()) {
    return Fail(report.status(), "the log could not be replayed; nothing was verified");
  }
  size_t differs = 0;
  for (const auto& doc : report->documents) differs += !doc.ok;
  if (json) {
    fmt::print("{}\n", VerifyJson(*report));
    return report->ok() ? 0 : kExitFailed;
  }
  for (const auto& doc : report->documents) {
    if (doc.ok) {
      fmt::print("OK       {} {} (as of {})\n", doc.quarter, doc.document_id, doc.as_of);
    } else {
      fmt::print("DIFFERS  {} {} (as of {}): {}\n", doc.quarter, doc.document_id, doc.as_of,
                 doc.difference);
    }
  }
  fmt::print("verified {} documents from {} events replayed in {:.1f} s: {} OK, {} differ\n",
             report->documents.size(), report->events_replayed,
             absl::ToDoubleSeconds(absl::Now() - started), report->documents.size() - differs,
             differs);
  if (report->live_state_problem.empty()) {
    fmt::print("live state OK: its files pass their checksums and it holds what a replay of the "
               "log up to {} makes\n",
               report->live_state_position);
  } else {
    fmt::print("live state DAMAGED: {}\n", report->live_state_problem);
    // Also on stderr, where scripts and people look for why the exit code is 1.
    fmt::print(stderr, "tori: the live state is damaged: {}\n", report->live_state_problem);
  }
  return report->ok() ? 0 : kExitFailed;
}

}  // namespace tori
