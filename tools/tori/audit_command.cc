#include "events/base/files.h"
#include "events/base/json_text.h"
#include "fmt/format.h"
#include "services/audit/audit.h"
#include "tools/tori/commands.h"

namespace tori {

int RunExplain(const LogOptions& data_options, const std::string& invoice_id, std::optional<int> line,
               bool list_contacts, bool json) {
  auto data = OpenDataDir(data_options, DataAccess::kRead);
  if (!data.ok()) return Fail(data.status());
  ExplainRequest request;
  request.invoice_id = invoice_id;
  request.line = line;
  request.list_contacts = list_contacts;
  request.json = json;
  request.scratch_dir = data->ScratchPath("explain");
  auto text = Explain(*data->log, *data->state, request);
  if (!text.ok()) return Fail(text.status());
  fmt::print("{}", *text);
  return 0;
}

int RunReconcile(const LogOptions& data_options, const std::string& agency_id, engine::Quarter quarter,
                 const std::string& file, const std::string& out_path, bool json) {
  auto data = OpenDataDir(data_options, DataAccess::kRead);
  if (!data.ok()) return Fail(data.status());
  auto report = Reconcile(*data->state, agency_id, quarter, file);
  if (!report.ok()) return Fail(report.status());
  const std::string csv = out_path.empty() ? file + ".differences.csv" : out_path;
  if (json) {
    if (auto written = WriteFileAtomically(csv, ReconcileCsv(*report)); !written.ok()) return Fail(written);
    fmt::print("{}\n", ReconcileJson(*report, agency_id, quarter, ReconcileFiles{file, csv}));
    return report->ok() ? 0 : kExitFailed;
  }
  fmt::print("reconcile {} {} against {}\n", agency_id, engine::QuarterName(quarter), file);
  fmt::print("  matched                {:>8}\n", report->matched);
  for (const auto& [status, count] : report->differences_by_status) {
    fmt::print("  {:<22} {:>8}\n", status, count);
  }
  constexpr size_t kShown = 20;
  for (size_t i = 0; i < report->differences.size() && i < kShown; ++i) {
    const auto& d = report->differences[i];
    fmt::print("  {:<22} {:<28} {}\n", d.status, d.contact_id, d.detail);
  }
  if (report->differences.size() > kShown) {
    fmt::print("  ... {} more\n", report->differences.size() - kShown);
  }
  if (auto written = WriteFileAtomically(csv, ReconcileCsv(*report)); !written.ok()) {
    return Fail(written);
  }
  fmt::print("{}; differences in {}\n", report->ok() ? "everything matches" : "differences found", csv);
  return report->ok() ? 0 : kExitFailed;
}

}  // namespace tori
