#include "services/billing/billing.h"

#include <filesystem>

#include "events/base/check.h"
#include "events/base/files.h"
#include "fmt/format.h"
#include "services/state/hash_chain.h"
#include "services/billing/internal/issued.h"
#include "services/projector/projector.h"
#include "services/ingest/ingest.h"

namespace tori {
namespace {

namespace fs = std::filesystem;

events::IssuedLine ToIssuedLine(const engine::InvoiceLine& line) {
  events::IssuedLine out;
  out.set_service_point_id(line.service_point_id);
  out.set_pool(line.pool);
  out.set_key(std::string(engine::KeyName(line.key)));
  if (line.fallback_from) out.set_fallback_from(std::string(engine::KeyName(*line.fallback_from)));
  out.set_weight_pct_e4(line.weight_pct_e4);
  out.set_basis_quantity(line.basis_quantity);
  out.set_basis_total(line.basis_total);
  out.set_amount_cents(line.amount_cents);
  if (line.adjusts_quarter) out.set_adjusts_quarter(engine::QuarterName(*line.adjusts_quarter));
  if (line.issued_cents) out.set_issued_cents(*line.issued_cents);
  if (line.recomputed_cents) out.set_recomputed_cents(*line.recomputed_cents);
  return out;
}

// The events that issue `result`'s documents, in document order.
std::vector<events::Event> IssueEvents(const engine::BillingResult& result, const LogPosition& as_of,
                                       const std::string& chain_head, absl::CivilDay issue_date,
                                       absl::Time now) {
  std::vector<events::Event> out;
  const int64_t now_ns = absl::ToUnixNanos(now);
  for (const auto& invoice : result.invoices) {
    events::Event event;
    event.set_event_id("tori-issued:" + invoice.invoice_id);
    event.set_occurred_at_unix_ns(now_ns);
    event.set_schema_version(kSchemaVersion);
    auto* e = event.mutable_invoice_issued();
    e->set_invoice_id(invoice.invoice_id);
    e->set_quarter(engine::QuarterName(invoice.quarter));
    e->set_issuer_agency_id(invoice.issuer_agency_id);
    e->set_recipient_agency_id(invoice.recipient_agency_id);
    e->set_total_cents(invoice.total_cents);
    e->set_content_sha256(Sha256Hex(InvoiceJson(invoice)));
    e->set_as_of(as_of.ToString());
    e->set_chain_head(chain_head);
    e->set_issue_date(absl::FormatCivilTime(issue_date));
    for (const auto& line : invoice.lines) *e->add_lines() = ToIssuedLine(line);
    out.push_back(std::move(event));
  }
  for (const auto& claim : result.subsidy_claims) {
    events::Event event;
    event.set_event_id("tori-issued:" + SubsidyClaimId(claim));
    event.set_occurred_at_unix_ns(now_ns);
    event.set_schema_version(kSchemaVersion);
    auto* e = event.mutable_subsidy_claim_issued();
    e->set_claim_id(SubsidyClaimId(claim));
    e->set_quarter(engine::QuarterName(claim.quarter));
    e->set_claimant_agency_id(claim.claimant_agency_id);
    e->set_program_id(claim.program_id);
    e->set_service_point_id(claim.service_point_id);
    e->set_basis_cents(claim.basis_cents);
    e->set_amount_cents(claim.amount_cents);
    if (claim.adjusts_quarter) e->set_adjusts_quarter(engine::QuarterName(*claim.adjusts_quarter));
    e->set_content_sha256(Sha256Hex(SubsidyClaimJson(claim)));
    e->set_as_of(as_of.ToString());
    e->set_chain_head(chain_head);
    out.push_back(std::move(event));
  }
  // The host's shares, so that later runs can report the change of them (not a document).
  events::Event event;
  event.set_event_id("tori-issued:" + engine::QuarterName(result.quarter) + "-host-shares");
  event.set_occurred_at_unix_ns(now_ns);
  event.set_schema_version(kSchemaVersionHostSharesIssued);
  auto* e = event.mutable_host_shares_issued();
  e->set_quarter(engine::QuarterName(result.quarter));
  e->set_as_of(as_of.ToString());
  for (const auto& share : result.host_shares) {
    auto* s = e->add_shares();
    s->set_agency_id(share.agency_id);
    s->set_service_point_id(share.service_point_id);
    s->set_pool(share.pool);
    s->set_amount_cents(share.amount_cents);
    if (share.adjusts_quarter) s->set_adjusts_quarter(engine::QuarterName(*share.adjusts_quarter));
  }
  out.push_back(std::move(event));
  return out;
}

// The names, ids and accounts the documents print, from the state's reference data.
absl::StatusOr<documents::DocumentContext> LoadDocumentContext(StateStore& state) {
  documents::DocumentContext context;
  bool decoded = true;
  TORI_RETURN_IF_ERROR(state.ScanProjection(
      projection::Key(projection::kAgency, {}, true), [&](std::string_view, std::string_view value) {
        events::AgencyRegistered a;
        if (!a.ParseFromArray(value.data(), static_cast<int>(value.size()))) return decoded = false;
        documents::AgencyInfo info{a.name(), a.business_id(), std::nullopt, std::nullopt, std::nullopt};
        if (a.has_einvoice_address()) info.einvoice_address = a.einvoice_address();
        if (a.has_iban()) info.iban = a.iban();
        if (a.has_bic()) info.bic = a.bic();
        context.agencies[a.agency_id()] = std::move(info);
        return true;
      }));
  TORI_RETURN_IF_ERROR(state.ScanProjection(
      projection::Key(projection::kPoint, {}, true), [&](std::string_view, std::string_view value) {
        events::ServicePointOpened p;
        if (!p.ParseFromArray(value.data(), static_cast<int>(value.size()))) return decoded = false;
        context.service_points[p.service_point_id()] = {p.name()};
        return true;
      }));
  if (!decoded) return absl::DataLossError("the state holds an undecodable record; run `tori rebuild`");
  return context;
}

// A quarter's documents and the agencies' details as the events before `as_of` give
// them (agency_updated after as_of does not reach documents issued at as_of).
struct ComputedAsOf {
  engine::BillingResult result;
  documents::DocumentContext context;
};

// The quarter's documents computed from the events before `as_of` only.
absl::StatusOr<ComputedAsOf> ComputeAsOf(EventLog& log, const BillRequest& request,
                                         const LogPosition& as_of) {
  std::error_code ec;
  fs::remove_all(request.scratch_dir, ec);
  ComputedAsOf computed;
  {
    TORI_ASSIGN_OR_RETURN(auto scratch, StateStore::Open(request.scratch_dir));
    TORI_RETURN_IF_ERROR(
        CatchUp(log, *scratch, {.until = as_of, .event_ids = EventIdIndex::kSkip}).status());
    TORI_ASSIGN_OR_RETURN(computed.result, ComputeRun(*scratch, request.quarter));
    TORI_ASSIGN_OR_RETURN(computed.context, LoadDocumentContext(*scratch));
  }
  fs::remove_all(request.scratch_dir, ec);
  return computed;
}

// Recomputes an issued quarter from the log as it stood at its as_of, in a scratch
// state, and checks the documents against their stored hashes.
absl::StatusOr<ComputedAsOf> Reissue(EventLog& log, const BillRequest& request,
                                     const LogPosition& as_of,
                                     const billing_internal::IssuedDocuments& issued) {
  const std::string q = engine::QuarterName(request.quarter);
  TORI_ASSIGN_OR_RETURN(ComputedAsOf computed, ComputeAsOf(log, request, as_of));
  const engine::BillingResult& result = computed.result;

  std::map<std::string, std::string> stored;  // document id -> sha256
  for (const auto& e : issued.invoice_events) {
    if (e.quarter() != q) continue;
    stored[e.invoice_id()] = e.content_sha256();
    for (auto& invoice : computed.result.invoices) {
      if (invoice.invoice_id == e.invoice_id()) invoice = billing_internal::AsIssuedFormat(invoice, e);
    }
  }
  for (const auto& e : issued.claim_events) {
    if (e.quarter() == q) stored[e.claim_id()] = e.content_sha256();
  }
  std::map<std::string, std::string> recomputed;
  for (const auto& invoice : result.invoices) recomputed[invoice.invoice_id] = Sha256Hex(InvoiceJson(invoice));
  for (const auto& claim : result.subsidy_claims) recomputed[SubsidyClaimId(claim)] = Sha256Hex(SubsidyClaimJson(claim));
  if (stored != recomputed) {
    return absl::DataLossError(fmt::format(
        "the documents issued for {} do not match a replay of the log up to their as_of {}; "
        "the log or the state was changed: run `tori verify` to see which document differs",
        q, as_of.ToString()));
  }
  return computed;
}

// Writes Finvoice, XLSX and HTML beside invoices.json; says which Finvoices are
// missing and why. `context` holds the agencies' details as of the run.
absl::Status WritePeopleDocuments(documents::DocumentContext context, const BillRequest& request,
                                  absl::CivilDay issue_date, BillOutcome& outcome) {
  context.issue_date = issue_date;
  context.language = request.language;
  for (const auto& issuer : documents::MissingIbanIssuers(outcome.result, context)) {
    outcome.notes.push_back(fmt::format(
        "no Finvoice for the invoices of {}: a Finvoice names the account it is paid to and {} "
        "has no IBAN; add it with an agency_updated event ({{\"type\":\"agency_updated\","
        "\"agency_id\":\"{}\",\"changes\":{{\"iban\":\"...\",\"bic\":\"...\"}}}}), ingest "
        "it and bill the next quarter (documents already issued keep the details they had)",
        issuer, issuer, issuer));
  }
  TORI_ASSIGN_OR_RETURN(std::vector<std::string> files,
                        documents::WriteDocuments(outcome.result, context, request.out_dir));
  outcome.files.insert(outcome.files.end(), files.begin(), files.end());
  return absl::OkStatus();
}

// Why issuing `quarter` now could not be undone, if it could not: a quarter that has
// not ended in Helsinki at `now`, or one without costs. Checked before anything is
// written; `result` is the quarter as it would be issued.
absl::Status CheckIssuable(const BillRequest& request, const engine::BillingResult& result) {
  if (request.force) return absl::OkStatus();
  const std::string q = engine::QuarterName(request.quarter);
  TORI_ASSIGN_OR_RETURN(absl::TimeZone helsinki, HelsinkiTimeZone());
  const absl::CivilDay end_day = absl::CivilDay(absl::CivilMonth(request.quarter.FirstDay()) + 3);
  const absl::Time end = absl::FromCivil(end_day, helsinki);
  if (request.now < end) {
    return absl::FailedPreconditionError(fmt::format(
        "{} has not ended: it ends on {} 00:00 Helsinki time and it is now {} there. Issued "
        "documents never change, so costs and contacts that arrive later could only reach {} as "
        "adjustments on a later quarter. Bill it once it has ended and its costs are posted; "
        "look at it now with --dry-run, or issue it anyway with --force",
        q, absl::FormatCivilTime(end_day), absl::FormatTime("%Y-%m-%d %H:%M", request.now, helsinki),
        q));
  }
  if (result.pools.empty()) {
    return absl::FailedPreconditionError(fmt::format(
        "{} has no costs at any service point: no cost_posted event has a period in {}. Issued "
        "documents never change, so its costs, once posted, could only arrive as adjustments. "
        "Ingest the quarter's costs first; look at it now with --dry-run, or issue it anyway "
        "(e.g. only adjustments of earlier quarters) with --force",
        q, q));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<BillOutcome> Bill(EventLog& log, StateStore& state, const BillRequest& request) {
  if (request.as_of && !request.dry_run) {
    return absl::InvalidArgumentError(
        "--as-of computes what the documents would have been; add --dry-run (nothing is issued "
        "from the past)");
  }
  TORI_RETURN_IF_ERROR(CatchUp(log, state).status());
  TORI_ASSIGN_OR_RETURN(auto issued, billing_internal::LoadIssued(state));
  const std::string q = engine::QuarterName(request.quarter);
  std::optional<std::string> issued_as_of;
  for (const auto& e : issued.invoice_events) {
    if (e.quarter() == q) issued_as_of = e.as_of();
  }
  for (const auto& e : issued.claim_events) {
    if (e.quarter() == q) issued_as_of = e.as_of();
  }

  BillOutcome outcome;
  documents::DocumentContext context;  // the agencies' details as of outcome.as_of
  if (request.as_of) {
    if (request.as_of->next_offsets.size() != static_cast<size_t>(log.partition_count())) {
      return absl::InvalidArgumentError(fmt::format(
          "--as-of {} names {} partitions, the log has {}", request.as_of->ToString(),
          request.as_of->next_offsets.size(), log.partition_count()));
    }
    outcome.as_of = *request.as_of;
    TORI_ASSIGN_OR_RETURN(ComputedAsOf computed, ComputeAsOf(log, request, outcome.as_of));
    outcome.result = std::move(computed.result);
    context = std::move(computed.context);
  } else if (issued_as_of) {
    TORI_ASSIGN_OR_RETURN(outcome.as_of, LogPosition::Parse(*issued_as_of));
    TORI_ASSIGN_OR_RETURN(ComputedAsOf computed, Reissue(log, request, outcome.as_of, issued));
    outcome.result = std::move(computed.result);
    context = std::move(computed.context);
    outcome.already_issued = true;
  } else {
    outcome.as_of = state.applied();
    TORI_ASSIGN_OR_RETURN(outcome.result, ComputeRun(state, request.quarter));
    TORI_ASSIGN_OR_RETURN(context, LoadDocumentContext(state));
    if (!request.dry_run) TORI_RETURN_IF_ERROR(CheckIssuable(request, outcome.result));
  }

  std::error_code ec;
  fs::create_directories(request.out_dir, ec);
  if (ec) return absl::InternalError(fmt::format("cannot create {}: {}", request.out_dir, ec.message()));
  const fs::path out(request.out_dir);
  TORI_RETURN_IF_ERROR(WriteFileAtomically(out / "invoices.json", InvoicesJson(outcome.result, outcome.as_of)));
  outcome.files.push_back((out / "invoices.json").string());
  for (const auto& invoice : outcome.result.invoices) {
    const fs::path csv = out / fmt::format("invoice-{}.csv", invoice.invoice_id);
    TORI_RETURN_IF_ERROR(WriteFileAtomically(csv, InvoiceCsv(invoice)));
    outcome.files.push_back(csv.string());
  }

  // The invoice date: the one printed when the quarter was issued, else today (Helsinki),
  // never before the quarter began.
  TORI_ASSIGN_OR_RETURN(absl::TimeZone helsinki, HelsinkiTimeZone());
  absl::CivilDay issue_date = std::max(absl::ToCivilDay(request.now, helsinki), request.quarter.FirstDay());
  for (const auto& e : issued.invoice_events) {
    absl::CivilDay stored;
    if (outcome.already_issued && e.quarter() == q && absl::ParseCivilTime(e.issue_date(), &stored)) {
      issue_date = stored;
    }
  }
  if (request.write_documents) {
    TORI_RETURN_IF_ERROR(WritePeopleDocuments(std::move(context), request, issue_date, outcome));
  }

  if (!outcome.already_issued && !request.dry_run) {
    TORI_ASSIGN_OR_RETURN(std::string chain_head, ChainHeadsAt(log, state, outcome.as_of));
    TORI_ASSIGN_OR_RETURN(const size_t appended,
                          AppendEvents(log, state, IssueEvents(outcome.result, outcome.as_of, chain_head,
                                                               issue_date, request.now)));
    outcome.documents_issued = appended > 0 ? appended - 1 : 0;  // not the host shares' record
  }
  return outcome;
}

}  // namespace tori
