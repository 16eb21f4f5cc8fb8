#include "services/billing/billing.h"

#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "events/base/calendar.h"
#include "events/base/check.h"
#include "events/base/files.h"
#include "events/validate/index_keys.h"
#include "fmt/format.h"
#include "fmt/ranges.h"
#include "services/state/hash_chain.h"
#include "services/billing/internal/approval.h"
#include "services/billing/internal/issued.h"
#include "services/billing/scratch_replay.h"
#include "services/projector/projector.h"
#include "services/ingest/ingest.h"

namespace tori {
namespace {

namespace fs = std::filesystem;

// An issued document's event_id is this and its id, so issuing is idempotent.
constexpr std::string_view kIssuedEventIdPrefix = "tori-issued:";

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
  if (line.predecessor_agency_id) out.set_predecessor_agency_id(*line.predecessor_agency_id);
  if (line.predecessor_host_agency_id) out.set_predecessor_host_agency_id(*line.predecessor_host_agency_id);
  return out;
}

void SetTreeHeads(const std::vector<merkle::TreeHead>& heads,
                  google::protobuf::RepeatedPtrField<events::MerkleTreeHead>& out) {
  for (const auto& head : heads) {
    auto* h = out.Add();
    h->set_tree_size(head.tree_size);
    h->set_root_hash(reinterpret_cast<const char*>(head.root_hash.data()), head.root_hash.size());
  }
}

// The events that issue `result`'s documents, in document order; `heads` are the log's
// at as_of. `approved_by`: the run is `tori approve`'s, and every event names the
// approver (so that a run cut off before its quarter_approved record can be completed).
std::vector<events::Event> IssueEvents(const engine::BillingResult& result, const LogPosition& as_of,
                                       const LogHeads& heads, absl::CivilDay issue_date,
                                       absl::Time now,
                                       const std::optional<std::string>& approved_by) {
  const std::string& chain_head = heads.chain_heads;
  std::vector<events::Event> out;
  const int64_t now_ns = absl::ToUnixNanos(now);
  const auto run_document_count =
      static_cast<int32_t>(result.invoices.size() + result.subsidy_claims.size());
  for (const auto& invoice : result.invoices) {
    events::Event event;
    event.set_event_id(std::string(kIssuedEventIdPrefix) + invoice.invoice_id);
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
    e->set_run_document_count(run_document_count);
    SetTreeHeads(heads.tree_heads, *e->mutable_tree_heads());
    if (approved_by) e->set_approved_by(*approved_by);
    for (const auto& line : invoice.lines) *e->add_lines() = ToIssuedLine(line);
    if (invoice.vat) {
      e->set_vat_rate_pct_e4(invoice.vat->rate_pct_e4);
      e->set_vat_cents(invoice.vat->vat_cents);
    }
    out.push_back(std::move(event));
  }
  for (const auto& claim : result.subsidy_claims) {
    events::Event event;
    event.set_event_id(std::string(kIssuedEventIdPrefix) + SubsidyClaimId(claim));
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
    e->set_run_document_count(run_document_count);
    SetTreeHeads(heads.tree_heads, *e->mutable_tree_heads());
    if (approved_by) e->set_approved_by(*approved_by);
    out.push_back(std::move(event));
  }
  // The host's shares, so that later runs can report the change of them (not a document).
  events::Event event;
  event.set_event_id(std::string(kIssuedEventIdPrefix) + engine::QuarterName(result.quarter) +
                     "-host-shares");
  event.set_occurred_at_unix_ns(now_ns);
  event.set_schema_version(kSchemaVersionHostSharesIssued);
  auto* e = event.mutable_host_shares_issued();
  e->set_quarter(engine::QuarterName(result.quarter));
  e->set_as_of(as_of.ToString());
  SetTreeHeads(heads.tree_heads, *e->mutable_tree_heads());
  if (approved_by) e->set_approved_by(*approved_by);
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

// The documents of one quarter in the state, and how many its issuing run issues (0:
// not recorded, a log of an earlier version).
struct IssuedQuarter {
  std::map<std::string, std::string> sha256_by_id;  // document id -> content_sha256
  std::string as_of;
  LogHeads heads;  // as recorded (tree heads empty: a log of a version before them)
  int32_t run_document_count = 0;
  // SPEC section 8: the approver its events name (a run of `tori approve`), and whether
  // the log lacks the run's quarter_approved record (set by MarkMissingApprovals).
  std::optional<std::string> approved_by;
  bool approval_missing = false;
  bool interrupted() const {
    return run_document_count > static_cast<int32_t>(sha256_by_id.size());
  }
};

std::map<std::string, IssuedQuarter> IssuedByQuarter(
    const billing_internal::IssuedDocuments& issued) {
  std::map<std::string, IssuedQuarter> quarters;
  auto add = [&](const auto& e, const std::string& id) {
    IssuedQuarter& q = quarters[e.quarter()];
    q.sha256_by_id[id] = e.content_sha256();
    q.as_of = e.as_of();
    q.heads.chain_heads = e.chain_head();
    q.heads.tree_heads = billing_internal::RecordedTreeHeads(e.tree_heads());
    q.run_document_count = std::max(q.run_document_count, e.run_document_count());
    if (e.has_approved_by()) q.approved_by = e.approved_by();
  };
  for (const auto& e : issued.invoice_events) add(e, e.invoice_id());
  for (const auto& e : issued.claim_events) add(e, e.claim_id());
  return quarters;
}

std::string ApprovedEventId(std::string_view quarter) {
  return fmt::format("{}{}-approved", kIssuedEventIdPrefix, quarter);
}

// Sets approval_missing of each quarter issued by `tori approve` whose quarter_approved
// record (its event id) is not in the state: the approval was cut off after its first
// issuing record.
absl::Status MarkMissingApprovals(StateStore& state, std::map<std::string, IssuedQuarter>& quarters) {
  for (auto& [quarter, q] : quarters) {
    if (!q.approved_by) continue;
    TORI_ASSIGN_OR_RETURN(std::optional<std::string> seen,
                          state.Get(index_keys::Key(index_keys::kEventId, ApprovedEventId(quarter))));
    q.approval_missing = !seen.has_value();
  }
  return absl::OkStatus();
}

// A quarter whose issuing run was interrupted holds too few documents: billing any
// other quarter would take the missing ones for changes and bill them again as
// adjustments, so it waits until the run is complete. So does an approval cut off
// before its quarter_approved record: the audited history would not say who approved.
absl::Status RefuseWhileAnotherRunIsInterrupted(
    const std::map<std::string, IssuedQuarter>& quarters, const std::string& billed) {
  for (const auto& [quarter, q] : quarters) {
    if (quarter == billed) continue;
    if (q.approval_missing && !q.interrupted()) {
      return absl::FailedPreconditionError(fmt::format(
          "{}'s approval by {} (as_of {}) was cut off before its quarter_approved record; run "
          "`tori bill --quarter {}` (or `tori approve --quarter {}`) to complete it, then bill {} again",
          quarter, *q.approved_by, q.as_of, quarter, quarter, billed));
    }
    if (!q.interrupted()) continue;
    return absl::FailedPreconditionError(fmt::format(
        "{} was issued only in part: the log holds {} of the {} documents its billing run "
        "(as_of {}) issues, the run was interrupted; run `tori bill --quarter {}` to issue "
        "the rest, then bill {} again",
        quarter, q.sha256_by_id.size(), q.run_document_count, q.as_of, quarter, billed));
  }
  return absl::OkStatus();
}

// The names, ids and accounts the documents print, from the state's reference data.
absl::StatusOr<documents::DocumentContext> LoadDocumentContext(StateStore& state) {
  documents::DocumentContext context;
  TORI_RETURN_IF_ERROR(state.ForEachInProjection(
      projection::Key(projection::kAgency, {}, true),
      [&](std::string_view key, std::string_view value) {
        TORI_ASSIGN_OR_RETURN(auto a,
                              projection::ReadRecord<events::AgencyRegistered>(state, key, value));
        documents::AgencyInfo info{a.name(), a.business_id(), std::nullopt, std::nullopt, std::nullopt};
        if (a.has_einvoice_address()) info.einvoice_address = a.einvoice_address();
        if (a.has_iban()) info.iban = a.iban();
        if (a.has_bic()) info.bic = a.bic();
        context.agencies[a.agency_id()] = std::move(info);
        return absl::OkStatus();
      }));
  TORI_RETURN_IF_ERROR(state.ForEachInProjection(
      projection::Key(projection::kPoint, {}, true),
      [&](std::string_view key, std::string_view value) {
        TORI_ASSIGN_OR_RETURN(auto p,
                              projection::ReadRecord<events::ServicePointOpened>(state, key, value));
        context.service_points[p.service_point_id()] = {p.name()};
        return absl::OkStatus();
      }));
  return context;
}

// A quarter's documents and the agencies' details as the events before `as_of` give
// them (agency_updated after as_of does not reach documents issued at as_of).
struct ComputedAsOf {
  engine::BillingResult result;
  documents::DocumentContext context;
  LogPosition as_of;  // where the replay ended
};

// The quarter's documents computed from the events the replay `replay` applies
// (CatchUpOptions::until or until_occurred), with the VAT of companies at the rate in
// force on `issue_date`.
absl::StatusOr<ComputedAsOf> ComputeAsOf(EventLog& log, const BillRequest& request,
                                         const CatchUpOptions& replay, absl::CivilDay issue_date) {
  ComputedAsOf computed;
  TORI_RETURN_IF_ERROR(WithScratchReplay(
      log, request.scratch_dir, replay, [&](StateStore& scratch) -> absl::Status {
        computed.as_of = scratch.applied();
        if (computed.as_of.next_offsets.empty()) {  // nothing replayed: an empty log
          computed.as_of.next_offsets.assign(log.partition_count(), 0);
        }
        TORI_ASSIGN_OR_RETURN(computed.result, ComputeRun(scratch, request.quarter));
        TORI_RETURN_IF_ERROR(ChargeVatToCompanies(scratch, issue_date, computed.result));
        TORI_ASSIGN_OR_RETURN(computed.context, LoadDocumentContext(scratch));
        TORI_ASSIGN_OR_RETURN(computed.context.pool_names, LoadPoolNames(scratch, request.quarter));
        return absl::OkStatus();
      }));
  return computed;
}

// The quarter's documents computed from the events before `as_of` only.
absl::StatusOr<ComputedAsOf> ComputeAsOf(EventLog& log, const BillRequest& request,
                                         const LogPosition& as_of, absl::CivilDay issue_date) {
  CatchUpOptions replay;
  replay.until = as_of;
  return ComputeAsOf(log, request, replay, issue_date);
}

// Recomputes an issued quarter from the log as it stood at its as_of, in a scratch
// state, and checks the documents in the log against it: each must hash as its
// recomputation does. Recomputed documents the log lacks are the rest of an
// interrupted run (returned in `missing_ids`).
absl::StatusOr<ComputedAsOf> Reissue(EventLog& log, const BillRequest& request,
                                     const LogPosition& as_of, absl::CivilDay issue_date,
                                     const billing_internal::IssuedDocuments& issued,
                                     const IssuedQuarter& issued_quarter,
                                     std::set<std::string>& missing_ids) {
  const std::string q = engine::QuarterName(request.quarter);
  TORI_ASSIGN_OR_RETURN(ComputedAsOf computed, ComputeAsOf(log, request, as_of, issue_date));
  // Adjustment lines issued before tori recorded issued / recomputed cents lose them.
  for (const auto& e : issued.invoice_events) {
    if (e.quarter() != q) continue;
    for (auto& invoice : computed.result.invoices) {
      if (invoice.invoice_id == e.invoice_id()) invoice = billing_internal::AsIssuedFormat(invoice, e);
    }
  }
  const engine::BillingResult& result = computed.result;
  std::map<std::string, std::string> recomputed;
  for (const auto& invoice : result.invoices) recomputed[invoice.invoice_id] = Sha256Hex(InvoiceJson(invoice));
  for (const auto& claim : result.subsidy_claims) recomputed[SubsidyClaimId(claim)] = Sha256Hex(SubsidyClaimJson(claim));
  bool matches = issued_quarter.run_document_count == 0 ||
                 issued_quarter.run_document_count == static_cast<int32_t>(recomputed.size());
  for (const auto& [id, sha256] : issued_quarter.sha256_by_id) {
    const auto it = recomputed.find(id);
    if (it == recomputed.end() || it->second != sha256) matches = false;
  }
  if (!matches) {
    return absl::DataLossError(fmt::format(
        "the documents issued for {} do not match a replay of the log up to their as_of {}; "
        "the log or the state was changed: run `tori verify` to see which document differs",
        q, as_of.ToString()));
  }
  missing_ids.clear();
  for (const auto& [id, sha256] : recomputed) {
    if (!issued_quarter.sha256_by_id.contains(id)) missing_ids.insert(id);
  }
  return computed;
}

// Writes Finvoice, XLSX and HTML beside invoices.json; says which Finvoices are
// missing and why. `context` holds the agencies' details as of the run.
absl::Status WritePeopleDocuments(documents::DocumentContext context, const BillRequest& request,
                                  absl::CivilDay issue_date, bool draft, BillOutcome& outcome) {
  context.issue_date = issue_date;
  context.language = request.language;
  context.draft = draft;
  // A draft has no Finvoice at all (said below).
  for (const auto& issuer : context.draft ? std::vector<std::string>()
                                          : documents::MissingIbanIssuers(outcome.result, context)) {
    outcome.notes.push_back(fmt::format(
        "no Finvoice for the invoices of {} (nor Peppol e-invoice): an e-invoice names the "
        "account it is paid to and {} "
        "has no IBAN; add it with an agency_updated event ({{\"type\":\"agency_updated\","
        "\"agency_id\":\"{}\",\"changes\":{{\"iban\":\"...\",\"bic\":\"...\"}}}}), ingest "
        "it and bill the next quarter (documents already issued keep the details they had)",
        issuer, issuer, issuer));
  }
  TORI_ASSIGN_OR_RETURN(std::vector<std::string> files,
                        documents::WriteDocuments(outcome.result, context, request.out_dir));
  if (context.draft && outcome.prepared) {
    // SPEC section 8: the prepared e-invoices, marked (internal/approval.h).
    context.draft = false;
    TORI_ASSIGN_OR_RETURN(std::vector<std::string> einvoices,
                          billing_internal::WritePreparedEInvoices(outcome.result, context,
                                                                   request.out_dir));
    outcome.files.insert(outcome.files.end(), einvoices.begin(), einvoices.end());
    outcome.notes.push_back(
        "prepared for approval: every file is a draft (draft-*), the e-invoices marked by a "
        "comment after the XML declaration; another person issues exactly these with "
        "`tori approve`");
  } else if (context.draft) {
    outcome.notes.push_back(
        "drafts: no Finvoice or Peppol e-invoice is written in a dry run (an operator would "
        "deliver it as "
        "a real invoice); file names start with \"draft-\"");
  }
  outcome.files.insert(outcome.files.end(), files.begin(), files.end());
  return absl::OkStatus();
}

// An invoice whose recipient has no e-invoice address is accepted by the operators and
// never delivered (DOMAIN.md): warn per invoice, so the host sends it another way or
// registers the address first. Its e-invoices carry the recipient's OVT from the business
// id, the address such an organisation would have.
void WarnOfUndeliverableInvoices(const documents::DocumentContext& context,
                                 engine::BillingResult& result) {
  for (const auto& invoice : result.invoices) {
    const auto it = context.agencies.find(invoice.recipient_agency_id);
    if (it == context.agencies.end() || it->second.einvoice_address) continue;
    engine::Warning warning;
    warning.code = engine::WarningCode::kNoEinvoiceAddress;
    warning.agency_id = invoice.recipient_agency_id;
    warning.invoice_id = invoice.invoice_id;
    warning.message = fmt::format(
        "invoice {} to {}: the recipient has no e-invoice address; operators accept such an "
        "e-invoice and never deliver it. Add einvoice_address with an agency_updated event "
        "before billing, or send this invoice another way",
        invoice.invoice_id, invoice.recipient_agency_id);
    result.warnings.push_back(std::move(warning));
  }
}

// Why issuing `quarter` now could not be undone, if it could not: a quarter that has
// not ended in Helsinki at `now`, or one without costs. Checked before anything is
// written; `result` is the quarter as it would be issued.
absl::Status CheckIssuable(const BillRequest& request, const engine::BillingResult& result) {
  if (request.force) return absl::OkStatus();
  const std::string q = engine::QuarterName(request.quarter);
  TORI_ASSIGN_OR_RETURN(absl::TimeZone helsinki, HelsinkiTimeZone());
  const absl::CivilDay end_day = request.quarter.EndDay();
  if (request.now < QuarterEnd(request.quarter, helsinki)) {
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

// SPEC section 8: what `tori approve --quarter q --by by` may not do.
absl::Status CheckApproval(const std::string& q, const std::optional<events::QuarterPrepared>& prepared,
                           bool issued, const std::optional<std::string>& by) {
  if (!by) return absl::InvalidArgumentError("an approval names its approver (--by PERSON)");
  if (issued) {
    return absl::FailedPreconditionError(fmt::format(
        "{} is issued already; `tori bill --quarter {}` writes its issued documents again", q, q));
  }
  if (!prepared) {
    return absl::FailedPreconditionError(fmt::format(
        "{} has not been prepared: `tori bill --quarter {} --by PERSON` prepares it, then another "
        "person approves it",
        q, q));
  }
  if (billing_internal::SamePerson(prepared->prepared_by(), *by)) {
    return absl::PermissionDeniedError(fmt::format(
        "{} prepared {} (as_of {}) and cannot approve it too: two approvals are required, so "
        "another person runs `tori approve --quarter {} --by THEIR_NAME`",
        prepared->prepared_by(), q, prepared->as_of(), q));
  }
  return absl::OkStatus();
}

events::Event ApprovedEvent(const events::QuarterPrepared& prepared, const std::string& approved_by,
                            absl::Time now) {
  events::Event event;
  event.set_event_id(ApprovedEventId(prepared.quarter()));
  event.set_occurred_at_unix_ns(absl::ToUnixNanos(now));
  event.set_schema_version(kSchemaVersionApproval);
  auto* e = event.mutable_quarter_approved();
  e->set_quarter(prepared.quarter());
  e->set_as_of(prepared.as_of());
  e->set_prepared_by(prepared.prepared_by());
  e->set_approved_by(approved_by);
  e->set_prepared_event_id(billing_internal::PreparedEventId(prepared.quarter(), prepared.as_of(),
                                                             prepared.prepared_by()));
  return event;
}

}  // namespace

absl::StatusOr<BillOutcome> Approve(EventLog& log, StateStore& state, BillRequest request) {
  request.approve = true;
  request.dry_run = false;
  request.as_of.reset();
  request.force = true;  // the preparation was checked as issuable
  return Bill(log, state, request);
}

absl::StatusOr<BillOutcome> Bill(EventLog& log, StateStore& state, const BillRequest& request) {
  if (request.as_of && request.as_of_time) {
    return absl::InvalidArgumentError("--as-of takes a log position or an instant, not both");
  }
  if ((request.as_of || request.as_of_time) && !request.dry_run) {
    return absl::InvalidArgumentError(
        "--as-of computes what the documents would have been; add --dry-run (nothing is issued "
        "from the past)");
  }
  TORI_RETURN_IF_ERROR(CatchUp(log, state).status());
  TORI_ASSIGN_OR_RETURN(auto issued, billing_internal::LoadIssued(state));
  const std::string q = engine::QuarterName(request.quarter);
  std::map<std::string, IssuedQuarter> issued_quarters = IssuedByQuarter(issued);
  TORI_RETURN_IF_ERROR(MarkMissingApprovals(state, issued_quarters));
  TORI_RETURN_IF_ERROR(RefuseWhileAnotherRunIsInterrupted(issued_quarters, q));
  const auto issued_quarter = issued_quarters.find(q);
  // SPEC section 8: an approval cut off part way (some of its records in the log, not
  // its quarter_approved) is completed as it began, by `tori approve` as by `tori bill`:
  // the rest of its documents, then the record naming the approver its events name.
  const bool completing_approval =
      issued_quarter != issued_quarters.end() && issued_quarter->second.approved_by &&
      (issued_quarter->second.approval_missing || issued_quarter->second.interrupted());
  std::set<std::string> missing_ids;  // of an interrupted run

  // The invoice date: the one printed when the quarter was issued (unless --as-of asks
  // what a new run would have been), else today (Helsinki), never before the quarter
  // began. Known before computing: a company's VAT is at the rate in force on it.
  TORI_ASSIGN_OR_RETURN(absl::TimeZone helsinki, HelsinkiTimeZone());
  absl::CivilDay issue_date = std::max(absl::ToCivilDay(request.now, helsinki), request.quarter.FirstDay());
  for (const auto& e : issued.invoice_events) {
    absl::CivilDay stored;
    if (!request.as_of && issued_quarter != issued_quarters.end() && e.quarter() == q &&
        absl::ParseCivilTime(e.issue_date(), &stored)) {
      issue_date = stored;
    }
  }

  BillOutcome outcome;
  documents::DocumentContext context;  // the agencies' details as of outcome.as_of
  LogHeads heads;                      // the log's at outcome.as_of
  std::optional<events::QuarterPrepared> approving;  // Approve: the preparation it issues
  std::optional<std::string> by;
  if (request.by) {
    TORI_ASSIGN_OR_RETURN(by, billing_internal::CheckedPerson(*request.by));
  }
  if (request.approve && !completing_approval) {
    TORI_ASSIGN_OR_RETURN(approving, billing_internal::LoadPrepared(state, request.quarter));
    TORI_RETURN_IF_ERROR(CheckApproval(q, approving, issued_quarter != issued_quarters.end(), by));
    TORI_ASSIGN_OR_RETURN(outcome.as_of, LogPosition::Parse(approving->as_of()));
    if (!absl::ParseCivilTime(approving->issue_date(), &issue_date)) {
      return absl::DataLossError(fmt::format("the preparation of {} has no invoice date; run `tori rebuild`", q));
    }
    // The state's chain is past as_of: the heads there come from a chain of its own, and
    // they must be the ones the preparation recorded.
    HashChain chain(log.partition_count());
    TORI_RETURN_IF_ERROR(ExtendHashChain(log, outcome.as_of, chain));
    heads = {chain.HeadsText(), chain.TreeHeads()};
    if (heads.chain_heads != approving->chain_head()) {
      return absl::DataLossError(fmt::format(
          "the log's hash chain at {}'s prepared as_of {} is not the one its preparation recorded; "
          "run `tori verify`", q, outcome.as_of.ToString()));
    }
    TORI_ASSIGN_OR_RETURN(ComputedAsOf computed, ComputeAsOf(log, request, outcome.as_of, issue_date));
    TORI_RETURN_IF_ERROR(billing_internal::CheckPreparedDocuments(*approving, computed.result));
    outcome.result = std::move(computed.result);
    context = std::move(computed.context);
    outcome.prepared_by = approving->prepared_by();
  } else if (request.as_of) {
    if (request.as_of->next_offsets.size() != static_cast<size_t>(log.partition_count())) {
      return absl::InvalidArgumentError(fmt::format(
          "--as-of {} names {} partitions, the log has {}", request.as_of->ToString(),
          request.as_of->next_offsets.size(), log.partition_count()));
    }
    outcome.as_of = *request.as_of;
    // The state's chain is past as_of: the heads there come from a chain of its own.
    HashChain chain(log.partition_count());
    TORI_RETURN_IF_ERROR(ExtendHashChain(log, outcome.as_of, chain));
    heads = {chain.HeadsText(), chain.TreeHeads()};
    TORI_ASSIGN_OR_RETURN(ComputedAsOf computed, ComputeAsOf(log, request, outcome.as_of, issue_date));
    outcome.result = std::move(computed.result);
    context = std::move(computed.context);
  } else if (request.as_of_time) {
    CatchUpOptions replay;
    replay.until_occurred = *request.as_of_time;
    TORI_ASSIGN_OR_RETURN(ComputedAsOf computed, ComputeAsOf(log, request, replay, issue_date));
    outcome.as_of = std::move(computed.as_of);
    // The tree and chain heads at the position the replay stopped at (a hash pass only).
    HashChain chain(log.partition_count());
    TORI_RETURN_IF_ERROR(ExtendHashChain(log, outcome.as_of, chain));
    heads = {chain.HeadsText(), chain.TreeHeads()};
    outcome.result = std::move(computed.result);
    context = std::move(computed.context);
  } else if (issued_quarter != issued_quarters.end()) {
    TORI_ASSIGN_OR_RETURN(outcome.as_of, LogPosition::Parse(issued_quarter->second.as_of));
    TORI_ASSIGN_OR_RETURN(ComputedAsOf computed, Reissue(log, request, outcome.as_of, issue_date, issued,
                                                         issued_quarter->second, missing_ids));
    outcome.result = std::move(computed.result);
    context = std::move(computed.context);
    outcome.already_issued = true;
    heads = issued_quarter->second.heads;
    if (!missing_ids.empty() && request.dry_run) {
      outcome.notes.push_back(fmt::format(
          "{} was issued only in part (an interrupted run): the log lacks {} of its {} "
          "documents; `tori bill` without --dry-run issues them, as computed at as_of {}",
          q, missing_ids.size(), issued_quarter->second.sha256_by_id.size() + missing_ids.size(),
          outcome.as_of.ToString()));
    }
  } else {
    outcome.as_of = state.applied();
    // A dry run may read a read-only state: it extends the kept chain without keeping it.
    TORI_ASSIGN_OR_RETURN(heads, LogHeadsAt(log, state, outcome.as_of, /*save_progress=*/!request.dry_run));
    TORI_ASSIGN_OR_RETURN(outcome.result, ComputeRun(state, request.quarter));
    TORI_RETURN_IF_ERROR(ChargeVatToCompanies(state, issue_date, outcome.result));
    TORI_ASSIGN_OR_RETURN(context, LoadDocumentContext(state));
    TORI_ASSIGN_OR_RETURN(context.pool_names, LoadPoolNames(state, request.quarter));
    if (!request.dry_run) TORI_RETURN_IF_ERROR(CheckIssuable(request, outcome.result));
    if (!request.dry_run) {
      TORI_ASSIGN_OR_RETURN(const std::vector<std::string> hosts,
                            billing_internal::HostsRequiringTwoApprovals(state, outcome.result));
      if (!hosts.empty() && !by) {
        return absl::FailedPreconditionError(fmt::format(
            "{} needs two approvals: {} has approval_policy_set with required_approvals 2 in "
            "force on {}. Prepare it with `tori bill --quarter {} --by YOUR_NAME`; another "
            "person then issues it with `tori approve --quarter {} --by THEIR_NAME`",
            q, fmt::join(hosts, ", "), absl::FormatCivilTime(request.quarter.FirstDay()), q, q));
      }
      outcome.prepared = !hosts.empty();
      if (outcome.prepared) outcome.prepared_by = *by;
    }
  }

  WarnOfUndeliverableInvoices(context, outcome.result);

  std::error_code ec;
  fs::create_directories(request.out_dir, ec);
  if (ec) return absl::InternalError(fmt::format("cannot create {}: {}", request.out_dir, ec.message()));
  const fs::path out(request.out_dir);
  // A dry run writes drafts, also of an issued quarter: its files never stand for, or
  // replace, issued ones.
  const bool draft = request.dry_run || outcome.prepared;
  TORI_ASSIGN_OR_RETURN(
      const fs::path json,
      PathInDirectory(out, documents::DraftMarked(OutputFileName("invoices", "", ".json"), draft)));
  TORI_RETURN_IF_ERROR(WriteFileAtomically(json, InvoicesJson(outcome.result, outcome.as_of, heads.tree_heads, draft)));
  outcome.files.push_back(json.string());
  for (const auto& invoice : outcome.result.invoices) {
    TORI_ASSIGN_OR_RETURN(
        const fs::path csv,
        PathInDirectory(out, documents::DraftMarked(
                                 OutputFileName("invoice-", invoice.invoice_id, ".csv"), draft)));
    TORI_RETURN_IF_ERROR(WriteFileAtomically(
        csv, InvoiceCsv(invoice, {.dialect = request.csv_dialect, .draft = draft,
                                 .language = request.language})));
    outcome.files.push_back(csv.string());
  }

  if (request.write_documents) {
    TORI_RETURN_IF_ERROR(WritePeopleDocuments(std::move(context), request, issue_date, draft, outcome));
  }

  if (request.dry_run) return outcome;
  if (outcome.prepared) {
    // SPEC section 8: the preparation, unless this person prepared this very as_of.
    TORI_ASSIGN_OR_RETURN(auto earlier, billing_internal::LoadPrepared(state, request.quarter));
    if (earlier && earlier->as_of() == outcome.as_of.ToString() &&
        earlier->prepared_by() == outcome.prepared_by) {
      return outcome;
    }
    TORI_RETURN_IF_ERROR(AppendEvents(log, state,
                                      {billing_internal::PreparedEvent(
                                          outcome.result, outcome.as_of, heads.chain_heads, issue_date,
                                          outcome.prepared_by, request.now)})
                             .status());
    return outcome;
  }
  if (!outcome.already_issued) {
    std::vector<events::Event> events =
        IssueEvents(outcome.result, outcome.as_of, heads, issue_date, request.now,
                    approving ? by : std::nullopt);
    if (approving) {
      events.push_back(ApprovedEvent(*approving, *by, request.now));
      outcome.approved_by = *by;
    }
    TORI_ASSIGN_OR_RETURN(const size_t appended, AppendEvents(log, state, events));
    // Not the host shares' record, nor the approval's.
    outcome.documents_issued = appended > (approving ? 2 : 1) ? appended - (approving ? 2 : 1) : 0;
  } else if (!missing_ids.empty() || completing_approval) {
    // The rest of an interrupted run: the same documents, as_of, chain head and invoice
    // date as the ones already in the log, so the quarter reads as one run. The host's
    // shares come after the documents, so a run cut short lacks them too; an approval's
    // record comes last of all.
    const IssuedQuarter& run = issued_quarter->second;
    const bool host_shares_missing =
        std::none_of(issued.host_shares.begin(), issued.host_shares.end(),
                     [&](const engine::IssuedHostShares& h) { return h.quarter == request.quarter; });
    std::vector<events::Event> rest =
        IssueEvents(outcome.result, outcome.as_of, heads, issue_date, request.now, run.approved_by);
    std::erase_if(rest, [&](const events::Event& e) {
      if (e.has_host_shares_issued()) return !host_shares_missing;
      return !missing_ids.contains(e.event_id().substr(kIssuedEventIdPrefix.size()));
    });
    const size_t records_not_documents = (host_shares_missing ? 1 : 0) + (completing_approval ? 1 : 0);
    if (completing_approval) {
      // The preparation it approved: the quarter's latest, at the run's as_of (a quarter
      // issued in part is never prepared again).
      TORI_ASSIGN_OR_RETURN(std::optional<events::QuarterPrepared> prepared,
                            billing_internal::LoadPrepared(state, request.quarter));
      if (!prepared || prepared->as_of() != run.as_of) {
        return absl::DataLossError(fmt::format(
            "{} was issued by an approval of {} (as_of {}), but the state holds no preparation at that "
            "as_of; run `tori verify`",
            q, *run.approved_by, run.as_of));
      }
      rest.push_back(ApprovedEvent(*prepared, *run.approved_by, request.now));
      outcome.prepared_by = prepared->prepared_by();
      outcome.approved_by = *run.approved_by;
      outcome.approval_completed = true;
    }
    TORI_ASSIGN_OR_RETURN(const size_t appended, AppendEvents(log, state, rest));
    outcome.documents_issued = appended > records_not_documents ? appended - records_not_documents : 0;
  }
  return outcome;
}

absl::StatusOr<documents::EInvoices> IssuedEInvoices(EventLog& log, StateStore& state, std::string_view invoice_id,
                                                     documents::Language language, const std::string& scratch_dir) {
  TORI_ASSIGN_OR_RETURN(IssuedSnapshot issued, SnapshotIssued(state));
  return IssuedEInvoices(log, issued, invoice_id, language, scratch_dir);
}

absl::StatusOr<documents::EInvoices> IssuedEInvoices(EventLog& log, const IssuedSnapshot& snapshot,
                                                     std::string_view invoice_id, documents::Language language,
                                                     const std::string& scratch_dir) {
  const billing_internal::IssuedDocuments& issued = *snapshot.documents;
  const events::InvoiceIssued* found = nullptr;
  for (const auto& e : issued.invoice_events) {
    if (e.invoice_id() == invoice_id) found = &e;
  }
  if (found == nullptr) return absl::NotFoundError(fmt::format("no invoice {} has been issued", invoice_id));
  BillRequest request;
  TORI_ASSIGN_OR_RETURN(request.quarter, engine::ParseQuarter(found->quarter()));
  request.scratch_dir = scratch_dir;
  request.language = language;
  TORI_ASSIGN_OR_RETURN(const LogPosition as_of, LogPosition::Parse(found->as_of()));
  absl::CivilDay issue_date;
  if (!absl::ParseCivilTime(found->issue_date(), &issue_date)) {
    return absl::FailedPreconditionError(fmt::format(
        "invoice {} was issued by a version of tori that did not record its invoice date; its e-invoices can only "
        "be rewritten with `tori bill --quarter {}`",
        invoice_id, found->quarter()));
  }
  TORI_ASSIGN_OR_RETURN(ComputedAsOf computed, ComputeAsOf(log, request, as_of, issue_date));
  // As Bill re-bills an issued quarter: adjustment lines in the format they were issued.
  for (const auto& e : issued.invoice_events) {
    if (e.quarter() != found->quarter()) continue;
    for (auto& invoice : computed.result.invoices) {
      if (invoice.invoice_id == e.invoice_id()) invoice = billing_internal::AsIssuedFormat(invoice, e);
    }
  }
  for (const auto& invoice : computed.result.invoices) {
    if (invoice.invoice_id == invoice_id && Sha256Hex(InvoiceJson(invoice)) != found->content_sha256()) {
      return absl::DataLossError(fmt::format(
          "invoice {} does not match a replay of the log up to its as_of {}; the log or the state was changed: run "
          "`tori verify` to see which document differs",
          invoice_id, found->as_of()));
    }
  }
  documents::DocumentContext& context = computed.context;
  context.issue_date = issue_date;
  context.language = language;
  context.draft = false;
  return documents::RenderEInvoices(computed.result, context, invoice_id);
}

absl::StatusOr<QuarterReports> IssuedQuarterReports(EventLog& log, StateStore& state, engine::Quarter quarter,
                                                    documents::Language language, const std::string& scratch_dir) {
  TORI_ASSIGN_OR_RETURN(IssuedSnapshot issued, SnapshotIssued(state));
  return IssuedQuarterReports(log, issued, quarter, language, scratch_dir);
}

absl::StatusOr<QuarterReports> IssuedQuarterReports(EventLog& log, const IssuedSnapshot& snapshot,
                                                    engine::Quarter quarter, documents::Language language,
                                                    const std::string& scratch_dir) {
  const billing_internal::IssuedDocuments& issued = *snapshot.documents;
  const std::string q = engine::QuarterName(quarter);
  const std::map<std::string, IssuedQuarter> issued_quarters = IssuedByQuarter(issued);
  const auto issued_quarter = issued_quarters.find(q);
  if (issued_quarter == issued_quarters.end()) {
    return absl::NotFoundError(fmt::format("no documents of {} have been issued", q));
  }
  const events::InvoiceIssued* first = nullptr;
  for (const auto& e : issued.invoice_events) {
    if (e.quarter() == q && first == nullptr) first = &e;
  }
  absl::CivilDay issue_date;
  if (first == nullptr || !absl::ParseCivilTime(first->issue_date(), &issue_date)) {
    return absl::FailedPreconditionError(fmt::format(
        "{}'s invoices do not record their invoice date (an older tori issued them); its reports can only be "
        "rewritten with `tori bill --quarter {}`",
        q, q));
  }
  BillRequest request;
  request.quarter = quarter;
  request.scratch_dir = scratch_dir + "/replay";
  request.language = language;
  TORI_ASSIGN_OR_RETURN(const LogPosition as_of, LogPosition::Parse(issued_quarter->second.as_of));
  std::set<std::string> missing_ids;
  TORI_ASSIGN_OR_RETURN(ComputedAsOf computed,
                        Reissue(log, request, as_of, issue_date, issued, issued_quarter->second, missing_ids));
  documents::DocumentContext& context = computed.context;
  context.issue_date = issue_date;
  context.language = language;
  context.draft = false;
  WarnOfUndeliverableInvoices(context, computed.result);  // as Bill does before it writes
  const std::string out_dir = scratch_dir + "/documents";
  auto files = documents::WriteDocuments(computed.result, context, out_dir);
  QuarterReports reports;
  absl::Status read = files.status();
  if (read.ok()) {
    for (const std::string& path : *files) {
      std::string* into = path.ends_with(".xlsx") ? &reports.xlsx : path.ends_with(".html") ? &reports.html : nullptr;
      if (into == nullptr) continue;
      std::ifstream in(path, std::ios::binary);
      std::stringstream bytes;
      bytes << in.rdbuf();
      if (!in) read = absl::InternalError(fmt::format("cannot read back {}", path));
      *into = bytes.str();
    }
  }
  std::error_code ec;
  std::filesystem::remove_all(scratch_dir, ec);
  TORI_RETURN_IF_ERROR(read);
  return reports;
}

}  // namespace tori
