// tori explain: an invoice line, step by step from the events (issue #5).
#include <algorithm>
#include <functional>
#include <set>

#include "events/base/calendar.h"
#include "events/base/check.h"
#include "events/validate/index_keys.h"
#include "events/base/decimal.h"
#include "fmt/format.h"
#include "events/base/json_text.h"
#include "services/audit/audit.h"
#include "services/audit/internal/explain.h"
#include "services/billing/billing.h"
#include "services/billing/internal/issued.h"
#include "services/billing/scratch_replay.h"
#include "services/ingest/ingest.h"
#include "services/projector/projector.h"

namespace tori {
namespace {

using engine::Key;
namespace p = projection;

std::string Euros(int64_t cents) { return FormatDecimal(cents, kMoneyScale); }

int64_t KeyValue(Key key, const engine::MeasuredKeys& m, const engine::Agreement& agreement,
                 const std::string& agency) {
  switch (key) {
    case Key::kContacts: return m.contacts;
    case Key::kAdvisorContacts: return m.advisor_contacts;
    case Key::kAdvisorTime: return m.advisor_time_s;
    case Key::kWeightedContacts: return m.weighted_contacts_e4;
    case Key::kDedicatedArea: return m.dedicated_area_centi_m2_days;
    case Key::kBookedMinutes: return m.booked_minutes;
    case Key::kVideoTime: return m.video_time_s;
    case Key::kInterpretationMinutes: return m.interpretation_minutes;
    case Key::kStops: return m.stops;
    case Key::kStopMinutes: return m.stop_minutes;
    case Key::kDeliveries: return m.deliveries;
    case Key::kReferralsReceived: return m.referrals_received;
    case Key::kFixedShares: {
      auto it = agreement.fixed_shares_pct_e4.find(agency);
      return it == agreement.fixed_shares_pct_e4.end() ? 0 : it->second;
    }
    case Key::kEqual: return 1;
  }
  return 0;
}

// What each key of SPEC section 9 measures, for the reader of an explanation; nullptr
// for the keys of section 3.
const char* Section9KeyRule(Key key) {
  switch (key) {
    case Key::kVideoTime:
      return "sum of duration_s of the party's contacts at the point in the quarter with channel "
             "video (as corrected, voided ones left out)";
    case Key::kInterpretationMinutes:
      return "sum of minutes of the party's interpretation_provided events at the point whose "
             "occurred_at lies in the quarter";
    case Key::kStops:
      return "number of the party's route_stop_recorded events at the route whose arrived_at lies "
             "in the quarter";
    case Key::kStopMinutes:
      return "sum of minutes of those route stops";
    case Key::kDeliveries:
      return "sum of deliveries of those route stops";
    case Key::kReferralsReceived:
      return "number of contact_referred events to the party whose contact (not voided) is at "
             "the point in the quarter";
    default:
      return nullptr;
  }
}

std::string ToString(absl::uint128 v) {
  if (v == 0) return "0";
  std::string digits;
  while (v > 0) {
    digits.push_back(static_cast<char>('0' + static_cast<int>(v % 10)));
    v /= 10;
  }
  return std::string(digits.rbegin(), digits.rend());
}

// Explains one line of quarter `quarter` (the line's own, or the adjusted one).
absl::Status ExplainLine(StateStore& scratch, engine::Quarter quarter, const engine::Invoice& invoice,
                         const engine::InvoiceLine& line, bool list_contacts, std::string& out) {
  TORI_ASSIGN_OR_RETURN(engine::BillingInput input, LoadBillingInput(scratch, quarter));
  const auto point = std::find_if(input.service_points.begin(), input.service_points.end(),
                                  [&](const auto& sp) { return sp.service_point_id == line.service_point_id; });
  if (point == input.service_points.end() || !point->agreement) {
    out += "  the point has no agreement in effect any more: nothing to split\n";
    return absl::OkStatus();
  }
  const engine::Agreement& agreement = *point->agreement;
  const int64_t pool_cents = point->pool_amounts_cents.count(line.pool) ? point->pool_amounts_cents.at(line.pool) : 0;
  out += fmt::format("  agreement {} version {} (effective from {}), parties: {}\n", agreement.agreement_id,
                     agreement.version, absl::FormatCivilTime(agreement.effective_from),
                     fmt::join(agreement.parties, ", "));
  out += fmt::format("  pool {} at {} in {}: {} EUR from these costs:\n", line.pool, line.service_point_id,
                     engine::QuarterName(quarter), Euros(pool_cents));
  TORI_RETURN_IF_ERROR(scratch.ForEachInProjection(
      p::Key(p::kCost, {line.service_point_id, engine::QuarterName(quarter), line.pool}, true),
      [&](std::string_view key, std::string_view value) {
        TORI_ASSIGN_OR_RETURN(auto cost, p::ReadRecord<events::CostPosted>(scratch, key, value));
        out += fmt::format("    {:<32} {} {:>14} EUR  {}\n", cost.cost_id(), cost.period(),
                           Euros(cost.amount_cents()), cost.description());
        return absl::OkStatus();
      }));

  // Step 1: the pool over its tranches.
  auto rule = agreement.pools.find(line.pool);
  if (rule == agreement.pools.end()) return absl::OkStatus();
  std::vector<int64_t> tranche_weights;
  for (const auto& t : rule->second.tranches) tranche_weights.push_back(t.weight_pct_e4);
  TORI_ASSIGN_OR_RETURN(engine::SplitExplanation tranches,
                        engine::ExplainSplitLargestRemainder(pool_cents, tranche_weights));
  const Key tranche_key = line.fallback_from.value_or(line.key);
  size_t t = 0;
  while (t < rule->second.tranches.size() &&
         !(rule->second.tranches[t].key == tranche_key && rule->second.tranches[t].weight_pct_e4 == line.weight_pct_e4)) {
    ++t;
  }
  if (t == rule->second.tranches.size()) return absl::OkStatus();
  out += "  step 1, the pool over its tranches (largest remainder, ties to the earlier tranche):\n";
  for (size_t i = 0; i < tranches.steps.size(); ++i) {
    const auto& s = tranches.steps[i];
    out += fmt::format("    {} tranche {} {:<18} {:>8} %  floor {:>14}  remainder {:>8}/{}{}  = {} EUR\n",
                       i == t ? "->" : "  ", i + 1, engine::KeyName(rule->second.tranches[i].key),
                       FormatDecimal(s.weight, kPctScale), Euros(s.floor_cents), ToString(s.remainder),
                       ToString(tranches.weight_total), s.received_leftover_cent ? " +1 cent" : "",
                       Euros(s.share_cents));
  }
  // Step 2: the tranche over the parties, by the key used.
  std::vector<std::string> parties = agreement.parties;
  std::sort(parties.begin(), parties.end());
  std::vector<int64_t> values;
  for (const auto& party : parties) {
    const auto it = point->key_values.find(party);
    values.push_back(KeyValue(line.key, it == point->key_values.end() ? engine::MeasuredKeys{} : it->second,
                              agreement, party));
  }
  out += fmt::format("  step 2, {} EUR over the parties by {}{} (largest remainder, ties to the smaller agency id):\n",
                     Euros(tranches.steps[t].share_cents), engine::KeyName(line.key),
                     line.fallback_from ? fmt::format(" (fallback: {} summed to 0)", engine::KeyName(*line.fallback_from)) : "");
  TORI_ASSIGN_OR_RETURN(engine::SplitExplanation split,
                        engine::ExplainSplitLargestRemainder(tranches.steps[t].share_cents, values));
  // A successor's line (SPEC 8) stands for its predecessor's id too: in the
  // predecessor's own quarter (an adjustment) and in its contacts recorded later.
  const auto is_recipient = [&](const std::string& agency) {
    return agency == invoice.recipient_agency_id ||
           (line.predecessor_agency_id && agency == *line.predecessor_agency_id);
  };
  if (line.predecessor_agency_id) {
    out += fmt::format("  {} stands in the place of {} (agency_succeeded)\n",
                       invoice.recipient_agency_id, *line.predecessor_agency_id);
  }
  if (line.predecessor_host_agency_id) {
    out += fmt::format("  {} hosts the point in the place of {} (agency_succeeded)\n",
                       invoice.issuer_agency_id, *line.predecessor_host_agency_id);
  }
  for (size_t i = 0; i < parties.size(); ++i) {
    const auto& s = split.steps[i];
    out += fmt::format("    {} {:<20} {:>14}  floor {:>14}  remainder {:>12}{}  = {} EUR\n",
                       is_recipient(parties[i]) ? "->" : "  ", parties[i], s.weight,
                       Euros(s.floor_cents), ToString(s.remainder), s.received_leftover_cent ? " +1 cent" : "",
                       Euros(s.share_cents));
  }
  out += fmt::format("    key total {}, {} leftover cent(s)\n", ToString(split.weight_total), split.leftover_cents);

  if (const char* rule = Section9KeyRule(line.key)) {
    out += fmt::format("    {}: {}\n", engine::KeyName(line.key), rule);
  }
  if (list_contacts && (line.key == Key::kContacts || line.key == Key::kAdvisorContacts ||
                        line.key == Key::kAdvisorTime || line.key == Key::kWeightedContacts ||
                        line.key == Key::kVideoTime)) {
    TORI_ASSIGN_OR_RETURN(absl::TimeZone helsinki, HelsinkiTimeZone());
    std::vector<std::string> ids;
    TORI_RETURN_IF_ERROR(scratch.ForEachInIndex(
        index_keys::KindPrefix(index_keys::kContact),
        [&](std::string_view key, std::string_view value) {
      events::ContactState c;
      if (const char* rule = IndexEntryProblem(key, value)) {
        return scratch.Damaged("index", key, rule);
      }
      c.ParseFromArray(value.data(), static_cast<int>(value.size()));  // checked just above
      const bool advisor_only = line.key == Key::kAdvisorContacts || line.key == Key::kAdvisorTime;
      const bool video_only = line.key == Key::kVideoTime;
      if (!c.voided() && is_recipient(c.agency_id()) &&
          (!video_only || c.channel() == events::CHANNEL_VIDEO) &&
          c.service_point_id() == line.service_point_id &&
          (!advisor_only || c.handled_by() == events::HANDLED_BY_SHARED_ADVISOR) &&
          QuarterOfInstant(absl::FromUnixNanos(c.occurred_at_unix_ns()), helsinki) == quarter) {
        ids.push_back(fmt::format("{} ({}, {} s)", std::string(index_keys::IdOf(key)), c.service_code(), c.duration_s()));
      }
      return absl::OkStatus();
    }));
    out += fmt::format("  the {} contacts behind {}'s value:\n", ids.size(), invoice.recipient_agency_id);
    for (const auto& id : ids) out += "    " + id + "\n";
  }
  return absl::OkStatus();
}

}  // namespace

namespace {

// The text's lines, for JSON.
std::string TextLinesJson(std::string_view text) {
  std::string out = "[";
  for (std::string_view rest = text; !rest.empty();) {
    const size_t end = rest.find('\n');
    std::string_view line = rest.substr(0, end);
    rest = end == std::string_view::npos ? std::string_view() : rest.substr(end + 1);
    if (line.empty()) continue;
    if (out.size() > 1) out += ",";
    AppendJsonString(out, line);
  }
  return out + "]";
}

// Replays the log up to a document's `as_of` into a scratch state for `explain`.
absl::Status WithScratchAt(EventLog& log, const std::string& dir, const std::string& as_of_text,
                           const std::function<absl::Status(StateStore&)>& use) {
  TORI_ASSIGN_OR_RETURN(LogPosition as_of, LogPosition::Parse(as_of_text));
  return WithScratchReplay(log, dir, as_of, use);
}

absl::StatusOr<std::string> ExplainSubsidyClaim(EventLog& log, const billing_internal::IssuedDocuments& issued,
                                                const std::string& claim_id, const ExplainRequest& request) {
  const events::SubsidyClaimIssued* claim = nullptr;
  for (const auto& e : issued.claim_events) {
    if (e.claim_id() == claim_id) claim = &e;
  }
  TORI_CHECK(claim != nullptr);
  std::string out = fmt::format("subsidy claim {} by {} for {} at {}, {}: {} EUR (basis {} EUR), issued from the "
                                "log up to {}\n",
                                claim->claim_id(), claim->claimant_agency_id(), claim->program_id(),
                                claim->service_point_id(), claim->quarter(), Euros(claim->amount_cents()),
                                Euros(claim->basis_cents()), claim->as_of());
  TORI_RETURN_IF_ERROR(WithScratchAt(log, request.scratch_dir, claim->as_of(), [&](StateStore& scratch) {
    return audit_internal::ExplainClaim(scratch, *claim, out);
  }));
  if (!request.json) return out;
  std::string json;
  JsonObjectWriter w(json);
  w.String("document", "subsidy_claim").String("document_id", claim->claim_id()).String("quarter", claim->quarter());
  if (claim->has_adjusts_quarter()) w.String("adjusts_quarter", claim->adjusts_quarter());
  w.String("claimant_agency_id", claim->claimant_agency_id())
      .String("program_id", claim->program_id())
      .String("service_point_id", claim->service_point_id())
      .Int("basis_cents", claim->basis_cents())
      .String("basis", Euros(claim->basis_cents()))
      .Int("amount_cents", claim->amount_cents())
      .String("amount", Euros(claim->amount_cents()))
      .String("as_of", claim->as_of())
      .String("content_sha256", claim->content_sha256())
      .Raw("explanation", TextLinesJson(out));
  w.Close();
  return json + "\n";
}

// What FindChanges looks for, for one adjustment line, and what it found.
struct LineChanges {
  LogPosition from;  // the adjusted quarter's first issue
  Quarter quarter;  // the adjusted quarter
  const engine::InvoiceLine* line = nullptr;
  std::set<std::string> contacts;  // of the point and quarter
  std::vector<std::string> listed;
  size_t count = 0;
};

// The events after each adjusted quarter was issued (`from`) and before this invoice's
// as_of (`until`) that touch an adjustment line's point, pool and quarter: costs of
// that pool and quarter, contacts of that quarter at the point (recorded, corrected,
// voided), agreements and space allocations of the point; at most kChangesListedMax
// of them listed per line. Reads the log from its start once for all lines (contacts
// corrected or voided later are known by where they were recorded).
constexpr size_t kChangesListedMax = 50;
absl::Status FindChanges(EventLog& log, const LogPosition& until, std::vector<LineChanges>& lines) {
  if (lines.empty()) return absl::OkStatus();
  TORI_ASSIGN_OR_RETURN(absl::TimeZone helsinki, HelsinkiTimeZone());
  LogPosition start;
  start.next_offsets.assign(log.partition_count(), 0);
  TORI_ASSIGN_OR_RETURN(auto cursor, log.Read(start));
  LogRecord record;
  events::Event event;
  while (true) {
    TORI_ASSIGN_OR_RETURN(bool more, cursor->Next(record));
    if (!more) break;
    if (!until.Contains(record.partition, record.offset)) continue;
    if (!event.ParseFromArray(record.payload.data(), static_cast<int>(record.payload.size()))) {
      return absl::DataLossError(fmt::format("log record at partition {} offset {} is not a tori event",
                                             record.partition, record.offset));
    }
    for (LineChanges& changes : lines) {
      const engine::InvoiceLine& line = *changes.line;
      bool touches = false;
      if (event.has_contact_recorded()) {
        const auto& c = event.contact_recorded();
        if (c.service_point_id() == line.service_point_id &&
            QuarterOfInstant(absl::FromUnixNanos(event.occurred_at_unix_ns()), helsinki) ==
                changes.quarter) {
          changes.contacts.insert(c.contact_id());
          touches = true;
        }
      } else if (event.has_contact_corrected()) {
        touches = changes.contacts.contains(event.contact_corrected().contact_id());
      } else if (event.has_contact_voided()) {
        touches = changes.contacts.contains(event.contact_voided().contact_id());
      } else if (event.has_cost_posted()) {
        const auto& c = event.cost_posted();
        const absl::StatusOr<absl::CivilMonth> period = ParseMonth(c.period());
        touches = c.service_point_id() == line.service_point_id && c.pool() == line.pool &&
                  period.ok() && QuarterOf(*period) == changes.quarter;
      } else if (event.has_agreement_signed()) {
        touches = event.agreement_signed().service_point_id() == line.service_point_id;
      } else if (event.has_space_allocated()) {
        touches = event.space_allocated().service_point_id() == line.service_point_id;
      } else if (event.has_room_booked()) {
        touches = event.room_booked().service_point_id() == line.service_point_id;
      }
      const bool after_issue =
          record.partition < static_cast<int32_t>(changes.from.next_offsets.size()) &&
          !changes.from.Contains(record.partition, record.offset);
      if (!touches || !after_issue) continue;
      if (++changes.count <= kChangesListedMax) {
        changes.listed.push_back(fmt::format(
            "    {} {} at p{}:{} ({})", event.event_id(), EventTypeName(event), record.partition,
            record.offset,
            absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", absl::FromUnixNanos(event.occurred_at_unix_ns()),
                             absl::UTCTimeZone())));
      }
    }
  }
  return absl::OkStatus();
}

// Appends what FindChanges found for one line.
void AppendChanges(const LineChanges& changes, std::string& out) {
  const size_t count = changes.count;
  out += fmt::format("  changed since {} was issued (log {}) by {} event{}{}\n", QuarterName(changes.quarter),
                     changes.from.ToString(), count, count == 1 ? "" : "s", count == 0 ? "" : ":");
  for (const auto& change : changes.listed) out += change + "\n";
  if (count > kChangesListedMax) out += fmt::format("    ... and {} more\n", count - kChangesListedMax);
}

}  // namespace

absl::StatusOr<std::string> Explain(EventLog& log, StateStore& state, const ExplainRequest& request) {
  TORI_RETURN_IF_ERROR(CatchUp(log, state).status());
  TORI_ASSIGN_OR_RETURN(IssuedSnapshot issued, SnapshotIssued(state));
  return Explain(log, issued, request);
}

absl::StatusOr<std::string> Explain(EventLog& log, const IssuedSnapshot& snapshot, const ExplainRequest& request) {
  const billing_internal::IssuedDocuments& issued = *snapshot.documents;
  TORI_ASSIGN_OR_RETURN(IssuedDocumentId document,
                        audit_internal::FindIssuedDocumentIn(issued, request.invoice_id));
  if (document.kind == IssuedDocumentId::Kind::kSubsidyClaim) {
    if (request.line) return absl::InvalidArgumentError("--line is for invoices; a subsidy claim has no lines");
    return ExplainSubsidyClaim(log, issued, document.id, request);
  }
  const events::InvoiceIssued* event = nullptr;
  for (const auto& e : issued.invoice_events) {
    if (e.invoice_id() == document.id) event = &e;
  }
  TORI_CHECK(event != nullptr);
  TORI_ASSIGN_OR_RETURN(engine::Invoice invoice, billing_internal::ToEngineInvoice(*event));
  if (request.line && (*request.line < 1 || *request.line > static_cast<int>(invoice.lines.size()))) {
    return absl::InvalidArgumentError(fmt::format("invoice {} has lines 1..{}", invoice.invoice_id,
                                                  invoice.lines.size()));
  }
  TORI_ASSIGN_OR_RETURN(auto numbers, audit_internal::NumberInvoicesOf(issued, invoice.quarter));
  const auto number = std::find_if(numbers.begin(), numbers.end(),
                                   [&](const auto& n) { return n.invoice_id == invoice.invoice_id; });
  TORI_CHECK(number != numbers.end());
  std::string out = fmt::format("invoice {} (number {}, reference {}) from {} to {}, {}: {} EUR, issued from the "
                                "log up to {}\n",
                                invoice.invoice_id, number->invoice_number, number->reference_number,
                                invoice.issuer_agency_id, invoice.recipient_agency_id,
                                engine::QuarterName(invoice.quarter), Euros(invoice.total_cents), event->as_of());
  // SPEC section 8: a company's VAT, and how it follows from the total.
  if (invoice.vat) {
    out += fmt::format("VAT {} % (Finland's general rate in force on the invoice date {}) on the total, once, "
                       "rounded half away from zero to the cent: {} EUR; with VAT {} EUR\n",
                       FormatDecimal(invoice.vat->rate_pct_e4, kPctScale), event->issue_date(),
                       Euros(invoice.vat->vat_cents), Euros(invoice.total_cents + invoice.vat->vat_cents));
  }
  std::vector<std::pair<size_t, std::string>> line_texts;  // (index, explanation) for JSON
  TORI_ASSIGN_OR_RETURN(const LogPosition as_of, LogPosition::Parse(event->as_of()));
  // The changes behind the adjustment lines explained, all from one read of the log.
  std::vector<LineChanges> changes;
  std::vector<std::optional<size_t>> changes_of_line(invoice.lines.size());
  for (size_t i = 0; i < invoice.lines.size(); ++i) {
    const auto& line = invoice.lines[i];
    if ((request.line && static_cast<int>(i) + 1 != *request.line) || !line.adjusts_quarter) continue;
    // The adjusted quarter's first issue: the events after it are what changed.
    std::optional<LogPosition> issued_at;
    for (const auto& e : issued.invoice_events) {
      if (e.quarter() != engine::QuarterName(*line.adjusts_quarter)) continue;
      TORI_ASSIGN_OR_RETURN(LogPosition position, LogPosition::Parse(e.as_of()));
      if (!issued_at || position.next_offsets < issued_at->next_offsets) issued_at = position;
    }
    if (!issued_at) continue;
    changes_of_line[i] = changes.size();
    changes.push_back({*issued_at, *line.adjusts_quarter, &line, {}, {}, 0});
  }
  TORI_RETURN_IF_ERROR(FindChanges(log, as_of, changes));
  TORI_RETURN_IF_ERROR(WithScratchAt(log, request.scratch_dir, event->as_of(), [&](StateStore& scratch) {
    for (size_t i = 0; i < invoice.lines.size(); ++i) {
      if (request.line && static_cast<int>(i) + 1 != *request.line) continue;
      const auto& line = invoice.lines[i];
      out += fmt::format("\nline {}: {} / {} / {} {} %: {} of {} -> {} EUR{}\n", i + 1, line.service_point_id,
                         line.pool, engine::KeyName(line.key), FormatDecimal(line.weight_pct_e4, kPctScale),
                         line.basis_quantity, line.basis_total, Euros(line.amount_cents),
                         line.adjusts_quarter ? " (adjustment of " + engine::QuarterName(*line.adjusts_quarter) + ")" : "");
      const size_t explanation_start = out.size();
      if (line.adjusts_quarter) {
        out += fmt::format("  an adjustment: {} recomputed with the events known at {} minus what was "
                           "issued for it before",
                           engine::QuarterName(*line.adjusts_quarter), event->as_of());
        if (line.issued_cents && line.recomputed_cents) {
          out += fmt::format(" (issued {} EUR, now {} EUR, difference {} EUR)", Euros(*line.issued_cents),
                             Euros(*line.recomputed_cents), Euros(line.amount_cents));
        }
        out += "\n";
        if (changes_of_line[i]) AppendChanges(changes[*changes_of_line[i]], out);
        out += "  the recomputed line:\n";
      }
      TORI_RETURN_IF_ERROR(ExplainLine(scratch, line.adjusts_quarter.value_or(invoice.quarter), invoice, line,
                                       request.list_contacts, out));
      line_texts.emplace_back(i, out.substr(explanation_start));
    }
    return absl::OkStatus();
  }));
  if (!request.json) return out;
  std::string lines = "[";
  for (const auto& [i, text] : line_texts) {
    const auto& line = invoice.lines[i];
    if (lines.size() > 1) lines += ",";
    JsonObjectWriter lw(lines);
    lw.Int("line", static_cast<int64_t>(i) + 1)
        .String("service_point_id", line.service_point_id)
        .String("pool", line.pool)
        .String("key", engine::KeyName(line.key))
        .String("weight_pct", FormatDecimal(line.weight_pct_e4, kPctScale))
        .Int("basis_quantity", line.basis_quantity)
        .Int("basis_total", line.basis_total)
        .Int("amount_cents", line.amount_cents)
        .String("amount", Euros(line.amount_cents));
    if (line.adjusts_quarter) lw.String("adjusts_quarter", engine::QuarterName(*line.adjusts_quarter));
    lw.Raw("explanation", TextLinesJson(text));
    lw.Close();
  }
  lines += "]";
  std::string json;
  JsonObjectWriter w(json);
  w.String("document", "invoice")
      .String("document_id", invoice.invoice_id)
      .String("invoice_number", number->invoice_number)
      .String("reference_number", number->reference_number)
      .String("quarter", engine::QuarterName(invoice.quarter))
      .String("issuer_agency_id", invoice.issuer_agency_id)
      .String("recipient_agency_id", invoice.recipient_agency_id)
      .Int("amount_cents", invoice.total_cents)
      .String("amount", Euros(invoice.total_cents));
  if (invoice.vat) {
    w.String("vat_rate_pct", FormatDecimal(invoice.vat->rate_pct_e4, kPctScale))
        .Int("vat_cents", invoice.vat->vat_cents)
        .Int("amount_with_vat_cents", invoice.total_cents + invoice.vat->vat_cents);
  }
  w.String("as_of", event->as_of())
      .String("content_sha256", event->content_sha256())
      .Raw("lines", lines);
  w.Close();
  return json + "\n";
}

}  // namespace tori
