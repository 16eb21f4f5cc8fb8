// tori verify: every issued document, recomputed from the log alone.
#include <map>
#include <optional>
#include <set>

#include "events/base/check.h"
#include "events/base/json_text.h"
#include "fmt/format.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/wire_format_lite.h"
#include "services/billing/billing.h"
#include "services/state/hash_chain.h"
#include "services/billing/internal/issued.h"
#include "services/billing/scratch_replay.h"
#include "services/ingest/ingest.h"

namespace tori {
namespace {

using billing_internal::ToEngineClaim;
using billing_internal::ToEngineInvoice;
using billing_internal::AsIssuedFormat;

// What one run issued: all documents of one quarter, computed at one as_of.
struct IssuedRun {
  LogPosition as_of;
  std::string as_of_text;
  std::string chain_head;  // recomputed from the log
  std::vector<merkle::TreeHead> tree_heads;  // recomputed from the log
  engine::Quarter quarter;
  std::vector<events::InvoiceIssued> invoices;
  std::vector<events::SubsidyClaimIssued> claims;
  int32_t run_document_count = 0;  // as recorded at issue; 0: not recorded
  // The run's host_shares_issued record (its tree heads are checked too).
  std::optional<events::HostSharesIssued> host_shares;
  // SPEC section 8: the approver its records name (a run of `tori approve`), and
  // whether the log holds the run's quarter_approved record.
  std::optional<std::string> approved_by;
  bool approval_recorded = false;
};

std::string FirstDifference(const engine::Invoice& stored, const engine::Invoice& computed) {
  if (stored.issuer_agency_id != computed.issuer_agency_id) return "issuer_agency_id";
  if (stored.recipient_agency_id != computed.recipient_agency_id) return "recipient_agency_id";
  if (stored.total_cents != computed.total_cents) {
    return fmt::format("total_cents: issued {}, recomputed {}", stored.total_cents, computed.total_cents);
  }
  if (stored.vat != computed.vat) {
    auto text = [](const std::optional<engine::Invoice::Vat>& vat) {
      return vat ? fmt::format("{} c at {} % x10^4", vat->vat_cents, vat->rate_pct_e4) : std::string("none");
    };
    return fmt::format("vat: issued {}, recomputed {}", text(stored.vat), text(computed.vat));
  }
  const size_t n = std::min(stored.lines.size(), computed.lines.size());
  for (size_t i = 0; i < n; ++i) {
    const auto& a = stored.lines[i];
    const auto& b = computed.lines[i];
    auto field = [&](const char* name, auto x, auto y) -> std::optional<std::string> {
      if (x == y) return std::nullopt;
      return fmt::format("lines[{}].{}: issued {}, recomputed {}", i, name, x, y);
    };
    for (auto diff : {field("service_point_id", a.service_point_id, b.service_point_id),
                      field("pool", a.pool, b.pool),
                      field("key", engine::KeyName(a.key), engine::KeyName(b.key)),
                      field("weight_pct_e4", a.weight_pct_e4, b.weight_pct_e4),
                      field("basis_quantity", a.basis_quantity, b.basis_quantity),
                      field("basis_total", a.basis_total, b.basis_total),
                      field("amount_cents", a.amount_cents, b.amount_cents)}) {
      if (diff) return *diff;
    }
    if (a != b) return fmt::format("lines[{}] (fallback_from or adjusts_quarter)", i);
  }
  if (stored.lines.size() != computed.lines.size()) {
    return fmt::format("lines: issued {}, recomputed {}", stored.lines.size(), computed.lines.size());
  }
  return "the canonical JSON";
}

std::string FirstDifference(const engine::SubsidyClaim& stored, const engine::SubsidyClaim& computed) {
  if (stored.basis_cents != computed.basis_cents) {
    return fmt::format("basis_cents: issued {}, recomputed {}", stored.basis_cents, computed.basis_cents);
  }
  if (stored.amount_cents != computed.amount_cents) {
    return fmt::format("amount_cents: issued {}, recomputed {}", stored.amount_cents, computed.amount_cents);
  }
  return "the canonical JSON";
}

// Whether an encoded event may be an issued document: walks the envelope's top-level
// fields without decoding them, so the first pass over a national year's contacts
// skips their full decode. False only for a well-formed non-document event (a
// malformed one is reported by the replay that follows, with its offset).
bool MayBeDocument(std::string_view payload) {
  google::protobuf::io::CodedInputStream input(reinterpret_cast<const uint8_t*>(payload.data()),
                                               static_cast<int>(payload.size()));
  while (const uint32_t tag = input.ReadTag()) {
    const int field = google::protobuf::internal::WireFormatLite::GetTagFieldNumber(tag);
    if (field == events::Event::kInvoiceIssuedFieldNumber ||
        field == events::Event::kSubsidyClaimIssuedFieldNumber ||
        field == events::Event::kHostSharesIssuedFieldNumber ||
        field == events::Event::kQuarterApprovedFieldNumber) {
      return true;
    }
    if (!google::protobuf::internal::WireFormatLite::SkipField(&input, tag)) return true;
  }
  return !input.ConsumedEntireMessage();
}

// Pass 1: the issued documents, grouped by run, from the log itself (with each run's
// host_shares_issued and quarter_approved records).
absl::StatusOr<std::vector<IssuedRun>> CollectIssued(EventLog& log) {
  LogPosition start;
  start.next_offsets.assign(log.partition_count(), 0);
  TORI_ASSIGN_OR_RETURN(auto cursor, log.Read(start));
  std::map<std::pair<std::string, std::string>, size_t> run_index;  // (as_of, quarter)
  std::vector<IssuedRun> runs;
  std::set<std::pair<std::string, std::string>> approved;  // (as_of, quarter)
  std::vector<events::HostSharesIssued> host_shares;
  LogRecord record;
  events::Event event;
  while (true) {
    TORI_ASSIGN_OR_RETURN(bool more, cursor->Next(record));
    if (!more) break;
    if (!MayBeDocument(record.payload)) continue;
    if (!event.ParseFromArray(record.payload.data(), static_cast<int>(record.payload.size()))) {
      return absl::DataLossError(fmt::format("log record at partition {} offset {} is not a tori event",
                                             record.partition, record.offset));
    }
    if (event.has_quarter_approved()) {
      approved.emplace(event.quarter_approved().as_of(), event.quarter_approved().quarter());
      continue;
    }
    if (event.has_host_shares_issued()) {
      host_shares.push_back(event.host_shares_issued());
      continue;
    }
    if (!event.has_invoice_issued() && !event.has_subsidy_claim_issued()) continue;
    const std::string& as_of = event.has_invoice_issued() ? event.invoice_issued().as_of()
                                                          : event.subsidy_claim_issued().as_of();
    const std::string& quarter = event.has_invoice_issued() ? event.invoice_issued().quarter()
                                                            : event.subsidy_claim_issued().quarter();
    auto [it, added] = run_index.emplace(std::make_pair(as_of, quarter), runs.size());
    if (added) {
      IssuedRun run;
      TORI_ASSIGN_OR_RETURN(run.as_of, LogPosition::Parse(as_of));
      run.as_of_text = as_of;
      TORI_ASSIGN_OR_RETURN(run.quarter, engine::ParseQuarter(quarter));
      runs.push_back(std::move(run));
    }
    IssuedRun& run = runs[it->second];
    if (event.has_invoice_issued() && event.invoice_issued().has_approved_by()) {
      run.approved_by = event.invoice_issued().approved_by();
    } else if (event.has_subsidy_claim_issued() && event.subsidy_claim_issued().has_approved_by()) {
      run.approved_by = event.subsidy_claim_issued().approved_by();
    }
    if (event.has_invoice_issued()) {
      run.invoices.push_back(event.invoice_issued());
      run.run_document_count =
          std::max(run.run_document_count, event.invoice_issued().run_document_count());
    } else {
      run.claims.push_back(event.subsidy_claim_issued());
      run.run_document_count =
          std::max(run.run_document_count, event.subsidy_claim_issued().run_document_count());
    }
  }
  for (auto& run : runs) {
    run.approval_recorded = approved.contains({run.as_of_text, engine::QuarterName(run.quarter)});
  }
  // A host_shares_issued record belongs to the run of its (as_of, quarter); one without
  // documents (a run that issued none) is checked on its own.
  for (auto& shares : host_shares) {
    auto [it, added] = run_index.emplace(std::make_pair(shares.as_of(), shares.quarter()), runs.size());
    if (added) {
      IssuedRun run;
      TORI_ASSIGN_OR_RETURN(run.as_of, LogPosition::Parse(shares.as_of()));
      run.as_of_text = shares.as_of();
      TORI_ASSIGN_OR_RETURN(run.quarter, engine::ParseQuarter(shares.quarter()));
      if (shares.has_approved_by()) run.approved_by = shares.approved_by();
      run.approval_recorded = approved.contains({run.as_of_text, shares.quarter()});
      runs.push_back(std::move(run));
    }
    runs[it->second].host_shares = std::move(shares);
  }
  // Replay order: ascending positions (each run's as_of is the log end when it began).
  std::stable_sort(runs.begin(), runs.end(), [](const IssuedRun& a, const IssuedRun& b) {
    return a.as_of.next_offsets < b.as_of.next_offsets;
  });
  return runs;
}

void CheckRun(const IssuedRun& run, const engine::BillingResult& computed, VerifyReport& report) {
  // The chain first: a document computed from a changed history may still hash equal
  // (the change did not touch it), but the history it was issued from is gone.
  // So do the Merkle tree heads (SPEC section 10), which the document's proof and the
  // host's checkpoints rest on; none recorded: a log of a version before them.
  auto tree_difference = [&](const auto& stored_trees) -> std::optional<std::string> {
    if (stored_trees.empty()) return std::nullopt;
    const std::vector<merkle::TreeHead> recorded = billing_internal::RecordedTreeHeads(stored_trees);
    for (size_t p = 0; p < std::max(recorded.size(), run.tree_heads.size()); ++p) {
      if (p < recorded.size() && p < run.tree_heads.size() && recorded[p] == run.tree_heads[p]) continue;
      return fmt::format(
          "the Merkle tree head of partition {} at as_of differs from the one recorded at issue "
          "(recorded {}, the log gives {}): the event's tree_heads or the events before as_of "
          "were changed",
          p, p < recorded.size() ? fmt::format("size {}", recorded[p].tree_size) : std::string("none"),
          p < run.tree_heads.size() ? fmt::format("size {}", run.tree_heads[p].tree_size) : std::string("none"));
    }
    return std::nullopt;
  };
  auto chain_difference = [&](const std::string& stored_head, const auto& stored_trees)
      -> std::optional<std::string> {
    if (stored_head != run.chain_head) {
      return "the log's hash chain at as_of differs from the one recorded at issue: events before "
             "as_of were changed, removed or reordered";
    }
    return tree_difference(stored_trees);
  };
  // Each recomputed invoice in the format its issued event was written in.
  std::vector<engine::Invoice> as_issued = computed.invoices;
  for (auto& invoice : as_issued) {
    for (const auto& e : run.invoices) {
      if (e.invoice_id() == invoice.invoice_id) invoice = AsIssuedFormat(invoice, e);
    }
  }
  std::map<std::string, const engine::Invoice*> computed_invoices;
  for (const auto& invoice : as_issued) computed_invoices[invoice.invoice_id] = &invoice;
  std::map<std::string, const engine::SubsidyClaim*> computed_claims;
  for (const auto& claim : computed.subsidy_claims) computed_claims[SubsidyClaimId(claim)] = &claim;
  const std::string quarter = engine::QuarterName(run.quarter);

  bool history_differs = false;  // a document's chain or tree heads differ
  auto check = [&](const auto& e, const std::string& id, auto stored_doc, auto& computed_map, auto to_json) {
    const std::string& stored_hash = e.content_sha256();
    VerifiedDocument doc{id, quarter, run.as_of_text, false, ""};
    if (auto chain = chain_difference(e.chain_head(), e.tree_heads())) {
      doc.difference = *chain;
      history_differs = true;
    } else if (!stored_doc.ok()) {
      doc.difference = fmt::format("the issued event cannot be read: {}",
                                   std::string(stored_doc.status().message()));
    } else if (Sha256Hex(to_json(*stored_doc)) != stored_hash) {
      doc.difference = "the issued content does not match its content_sha256 (the event was altered)";
    } else if (auto it = computed_map.find(id); it == computed_map.end()) {
      doc.difference = "the log at as_of does not produce this document";
    } else if (Sha256Hex(to_json(*it->second)) != stored_hash) {
      doc.difference = FirstDifference(*stored_doc, *it->second);
    } else {
      doc.ok = true;
    }
    if (auto it = computed_map.find(id); it != computed_map.end()) computed_map.erase(it);
    report.documents.push_back(std::move(doc));
  };
  for (const auto& e : run.invoices) {
    check(e, e.invoice_id(), ToEngineInvoice(e), computed_invoices, InvoiceJson);
  }
  for (const auto& e : run.claims) {
    check(e, e.claim_id(), ToEngineClaim(e), computed_claims, SubsidyClaimJson);
  }
  // The host's shares record the same tree heads (#20); only a difference is listed,
  // since the record is not a document, and only one of its own (the documents name a
  // changed history already).
  if (run.host_shares && !history_differs) {
    if (auto trees = tree_difference(run.host_shares->tree_heads())) {
      report.documents.push_back({quarter + "-host-shares", quarter, run.as_of_text, false,
                                  "host_shares_issued: " + *trees});
    }
  }
  // SPEC section 8: an approval cut off before its quarter_approved record; only listed
  // when missing (not a document).
  if (run.approved_by && !run.approval_recorded) {
    report.documents.push_back(
        {quarter + "-approved", quarter, run.as_of_text, false,
         fmt::format("the approval by {} was cut off before its quarter_approved record, so the log does not "
                     "say who approved {}: `tori bill --quarter {}` completes it",
                     *run.approved_by, quarter, quarter)});
  }
  // A run interrupted while issuing lacks the rest of its documents; billing the
  // quarter again issues them.
  const size_t in_log = run.invoices.size() + run.claims.size();
  const std::string interrupted =
      run.run_document_count > static_cast<int32_t>(in_log)
          ? fmt::format("; its billing run was interrupted ({} of {} documents in the log): "
                        "`tori bill --quarter {}` issues the rest",
                        in_log, run.run_document_count, quarter)
          : "";
  for (const auto& [id, invoice] : computed_invoices) {
    report.documents.push_back({id, quarter, run.as_of_text, false,
                                "the log at as_of produces this invoice, but it was never issued" +
                                    interrupted});
  }
  for (const auto& [id, claim] : computed_claims) {
    report.documents.push_back({id, quarter, run.as_of_text, false,
                                "the log at as_of produces this claim, but it was never issued" +
                                    interrupted});
  }
}

// The live state against its replay (see Verify); `scratch` is reused when it can move
// forward to the live state's position. A damaged live state is the report's problem,
// not an error.
absl::Status CheckLiveState(EventLog& log, StateStore& live, ScratchReplay& scratch,
                            VerifyReport& report) {
  report.live_state_checked = true;
  const LogPosition at = live.applied();
  report.live_state_position = at.ToString();
  auto problem = [&](const absl::Status& status) {
    if (!absl::IsDataLoss(status)) return status;
    report.live_state_problem = std::string(status.message());
    return absl::OkStatus();
  };
  if (absl::Status checksums = live.VerifyChecksums(); !checksums.ok()) return problem(checksums);
  if (!at.next_offsets.empty() &&
      at.next_offsets.size() != static_cast<size_t>(log.partition_count())) {
    report.live_state_problem = fmt::format(
        "the live state's position {} does not fit a log of {} partitions; {}", at.ToString(),
        log.partition_count(), live.rebuild_advice());
    return absl::OkStatus();
  }
  TORI_RETURN_IF_ERROR(scratch.StartOverUnlessCovered(at).status());
  if (!at.next_offsets.empty()) {
    TORI_ASSIGN_OR_RETURN(uint64_t replayed, scratch.CatchUpTo(log, {.until = at}));
    report.events_replayed += replayed;
  }
  if (!at.next_offsets.empty() && scratch.state().applied() != at) {
    report.live_state_problem = fmt::format(
        "the live state says it holds the log up to {}, but the log ends at {}", at.ToString(),
        scratch.state().applied().ToString());
    return absl::OkStatus();
  }
  auto difference = live.FirstDifference(scratch.state());
  if (!difference.ok()) return problem(difference.status());
  if (*difference) {
    report.live_state_problem = fmt::format(
        "the live state differs from a replay of the log up to {}: {}; {}", at.ToString(),
        **difference, live.rebuild_advice());
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<VerifyReport> Verify(EventLog& log, const std::string& scratch_dir,
                                    const std::function<void(uint64_t)>& on_progress,
                                    StateStore* live) {
  TORI_ASSIGN_OR_RETURN(std::vector<IssuedRun> runs, CollectIssued(log));
  VerifyReport report;
  {
    TORI_ASSIGN_OR_RETURN(std::unique_ptr<ScratchReplay> scratch, ScratchReplay::Open(scratch_dir));
    // The replay's reading thread extends the chain, so the log is read once more,
    // not twice.
    HashChain chain(log.partition_count());
    auto extend_chain = [&chain](const LogRecord& record) {
      chain.ExtendAt(record.partition, record.offset, record.payload);
    };
    for (IssuedRun& run : runs) {
      if (run.as_of.next_offsets.size() != static_cast<size_t>(log.partition_count())) {
        return absl::InvalidArgumentError(fmt::format(
            "issued documents name as_of {}, which does not fit a log of {} partitions",
            run.as_of_text, log.partition_count()));
      }
      // Runs are in ascending as_of order, so the replay only moves forward.
      TORI_ASSIGN_OR_RETURN(const bool started_over, scratch->StartOverUnlessCovered(run.as_of));
      if (started_over) chain = HashChain(log.partition_count());
      CatchUpOptions replay{.until = run.as_of, .observe_record = extend_chain};
      if (on_progress) {
        replay.on_progress = [&](uint64_t applied, uint64_t) {
          on_progress(report.events_replayed + applied);
        };
      }
      TORI_ASSIGN_OR_RETURN(uint64_t replayed, scratch->CatchUpTo(log, replay));
      run.chain_head = chain.HeadsText();
      run.tree_heads = chain.TreeHeads();
      report.events_replayed += replayed;
      if (on_progress) on_progress(report.events_replayed);
      TORI_ASSIGN_OR_RETURN(engine::BillingResult computed,
                            ComputeRun(scratch->state(), run.quarter));
      // A company's VAT at the rate of the run's invoice date (logs of versions that
      // did not record it have no companies).
      absl::CivilDay issue_date;
      if (!run.invoices.empty() && absl::ParseCivilTime(run.invoices.front().issue_date(), &issue_date)) {
        TORI_RETURN_IF_ERROR(ChargeVatToCompanies(scratch->state(), issue_date, computed));
      }
      CheckRun(run, computed, report);
    }
    if (live != nullptr) {
      TORI_RETURN_IF_ERROR(CheckLiveState(log, *live, *scratch, report));
    }
  }
  return report;
}

}  // namespace tori

namespace tori {

std::string VerifyJson(const VerifyReport& report) {
  size_t differs = 0;
  for (const auto& doc : report.documents) differs += !doc.ok;
  std::string documents = "[";
  for (const auto& doc : report.documents) {
    if (documents.size() > 1) documents += ",";
    JsonObjectWriter d(documents);
    d.String("quarter", doc.quarter).String("document_id", doc.document_id).String("as_of", doc.as_of);
    d.String("status", doc.ok ? "OK" : "DIFFERS");
    if (!doc.ok) d.String("difference", doc.difference);
    d.Close();
  }
  documents += "]";
  std::string out;
  JsonObjectWriter w(out);
  w.Raw("ok", report.ok() ? "true" : "false")
      .Int("events_replayed", static_cast<int64_t>(report.events_replayed))
      .Int("documents_ok", static_cast<int64_t>(report.documents.size() - differs))
      .Int("documents_differ", static_cast<int64_t>(differs))
      .Raw("live_state_ok", report.live_state_problem.empty() ? "true" : "false")
      .String("live_state_problem", report.live_state_problem)
      .Raw("documents", documents);
  w.Close();
  return out;
}

}  // namespace tori
