// tori explain: an invoice line, step by step from the events (issue #5).
#include <algorithm>
#include <filesystem>
#include <set>

#include "events/base/check.h"
#include "events/base/decimal.h"
#include "fmt/format.h"
#include "services/audit/audit.h"
#include "services/billing/billing.h"
#include "services/billing/internal/issued.h"
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
    case Key::kFixedShares: {
      auto it = agreement.fixed_shares_pct_e4.find(agency);
      return it == agreement.fixed_shares_pct_e4.end() ? 0 : it->second;
    }
    case Key::kEqual: return 1;
  }
  return 0;
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
  TORI_RETURN_IF_ERROR(scratch.ScanProjection(
      p::Key(p::kCost, {line.service_point_id, engine::QuarterName(quarter), line.pool}, true),
      [&](std::string_view, std::string_view value) {
        events::CostPosted cost;
        if (cost.ParseFromArray(value.data(), static_cast<int>(value.size()))) {
          out += fmt::format("    {:<32} {} {:>14} EUR  {}\n", cost.cost_id(), cost.period(),
                             Euros(cost.amount_cents()), cost.description());
        }
        return true;
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
  for (size_t i = 0; i < parties.size(); ++i) {
    const auto& s = split.steps[i];
    out += fmt::format("    {} {:<20} {:>14}  floor {:>14}  remainder {:>12}{}  = {} EUR\n",
                       parties[i] == invoice.recipient_agency_id ? "->" : "  ", parties[i], s.weight,
                       Euros(s.floor_cents), ToString(s.remainder), s.received_leftover_cent ? " +1 cent" : "",
                       Euros(s.share_cents));
  }
  out += fmt::format("    key total {}, {} leftover cent(s)\n", ToString(split.weight_total), split.leftover_cents);

  if (list_contacts && (line.key == Key::kContacts || line.key == Key::kAdvisorContacts ||
                        line.key == Key::kAdvisorTime || line.key == Key::kWeightedContacts)) {
    TORI_ASSIGN_OR_RETURN(absl::TimeZone helsinki, HelsinkiTimeZone());
    const std::string q = engine::QuarterName(quarter);
    std::vector<std::string> ids;
    TORI_RETURN_IF_ERROR(scratch.ScanIndex("C", [&](std::string_view key, std::string_view value) {
      events::ContactState c;
      if (!c.ParseFromArray(value.data(), static_cast<int>(value.size()))) return true;
      const bool advisor_only = line.key == Key::kAdvisorContacts || line.key == Key::kAdvisorTime;
      if (!c.voided() && c.agency_id() == invoice.recipient_agency_id &&
          c.service_point_id() == line.service_point_id &&
          (!advisor_only || c.handled_by() == events::HANDLED_BY_SHARED_ADVISOR) &&
          QuarterOfInstant(c.occurred_at_unix_ns(), helsinki) == q) {
        ids.push_back(fmt::format("{} ({}, {} s)", std::string(key.substr(1)), c.service_code(), c.duration_s()));
      }
      return true;
    }));
    out += fmt::format("  the {} contacts behind {}'s value:\n", ids.size(), invoice.recipient_agency_id);
    for (const auto& id : ids) out += "    " + id + "\n";
  }
  return absl::OkStatus();
}

}  // namespace

// The events after the adjusted quarter was issued (`from`) and before this invoice's
// as_of (`until`) that touch the adjustment line's point, pool and quarter: costs of
// that pool and quarter, contacts of that quarter at the point (recorded, corrected,
// voided), agreements and space allocations of the point. Appended to `out`, at most
// kChangesListedMax of them. Reads the log from its start (contacts corrected or voided
// later are known by where they were recorded).
absl::Status ExplainChanges(EventLog& log, const LogPosition& from, const LogPosition& until,
                            engine::Quarter adjusted, const engine::InvoiceLine& line, std::string& out) {
  constexpr size_t kChangesListedMax = 50;
  TORI_ASSIGN_OR_RETURN(absl::TimeZone helsinki, HelsinkiTimeZone());
  const std::string quarter = engine::QuarterName(adjusted);
  LogPosition start;
  start.next_offsets.assign(log.partition_count(), 0);
  TORI_ASSIGN_OR_RETURN(auto cursor, log.Read(start));
  std::set<std::string> contacts;  // of the point and quarter
  std::vector<std::string> changes;
  size_t count = 0;
  LogRecord record;
  events::Event event;
  while (true) {
    TORI_ASSIGN_OR_RETURN(bool more, cursor->Next(record));
    if (!more) break;
    const size_t p = static_cast<size_t>(record.partition);
    if (p >= until.next_offsets.size() || record.offset >= until.next_offsets[p]) continue;
    if (!event.ParseFromArray(record.payload.data(), static_cast<int>(record.payload.size()))) {
      return absl::DataLossError(fmt::format("log record at partition {} offset {} is not a tori event",
                                             record.partition, record.offset));
    }
    bool touches = false;
    if (event.has_contact_recorded()) {
      const auto& c = event.contact_recorded();
      if (c.service_point_id() == line.service_point_id &&
          QuarterOfInstant(event.occurred_at_unix_ns(), helsinki) == quarter) {
        contacts.insert(c.contact_id());
        touches = true;
      }
    } else if (event.has_contact_corrected()) {
      touches = contacts.contains(event.contact_corrected().contact_id());
    } else if (event.has_contact_voided()) {
      touches = contacts.contains(event.contact_voided().contact_id());
    } else if (event.has_cost_posted()) {
      const auto& c = event.cost_posted();
      touches = c.service_point_id() == line.service_point_id && c.pool() == line.pool &&
                QuarterOfMonth(c.period()) == quarter;
    } else if (event.has_agreement_signed()) {
      touches = event.agreement_signed().service_point_id() == line.service_point_id;
    } else if (event.has_space_allocated()) {
      touches = event.space_allocated().service_point_id() == line.service_point_id;
    } else if (event.has_room_booked()) {
      touches = event.room_booked().service_point_id() == line.service_point_id;
    }
    const bool after_issue = p < from.next_offsets.size() && record.offset >= from.next_offsets[p];
    if (!touches || !after_issue) continue;
    if (++count <= kChangesListedMax) {
      changes.push_back(fmt::format("    {} {} at p{}:{} ({})", event.event_id(),
                                    EventTypeName(event), record.partition, record.offset,
                                    absl::FormatTime("%Y-%m-%dT%H:%M:%SZ",
                                                     absl::FromUnixNanos(event.occurred_at_unix_ns()),
                                                     absl::UTCTimeZone())));
    }
  }
  out += fmt::format("  changed since {} was issued (log {}) by {} event{}{}\n", quarter, from.ToString(),
                     count, count == 1 ? "" : "s", count == 0 ? "" : ":");
  for (const auto& change : changes) out += change + "\n";
  if (count > kChangesListedMax) out += fmt::format("    ... and {} more\n", count - kChangesListedMax);
  return absl::OkStatus();
}

absl::StatusOr<std::string> Explain(EventLog& log, StateStore& state, const ExplainRequest& request) {
  TORI_RETURN_IF_ERROR(CatchUp(log, state).status());
  TORI_ASSIGN_OR_RETURN(auto issued, billing_internal::LoadIssued(state));
  const events::InvoiceIssued* event = nullptr;
  for (const auto& e : issued.invoice_events) {
    if (e.invoice_id() == request.invoice_id) event = &e;
  }
  if (event == nullptr) {
    return absl::NotFoundError(fmt::format(
        "no issued invoice '{}'; ids look like 2026Q1-espoo-kela (see invoices.json, or run "
        "`tori bill` first)", request.invoice_id));
  }
  TORI_ASSIGN_OR_RETURN(engine::Invoice invoice, billing_internal::ToEngineInvoice(*event));
  if (request.line && (*request.line < 1 || *request.line > static_cast<int>(invoice.lines.size()))) {
    return absl::InvalidArgumentError(fmt::format("invoice {} has lines 1..{}", invoice.invoice_id,
                                                  invoice.lines.size()));
  }
  TORI_ASSIGN_OR_RETURN(LogPosition as_of, LogPosition::Parse(event->as_of()));
  std::string out = fmt::format("invoice {} from {} to {}, {}: {} EUR, issued from the log up to {}\n",
                                invoice.invoice_id, invoice.issuer_agency_id, invoice.recipient_agency_id,
                                engine::QuarterName(invoice.quarter), Euros(invoice.total_cents), event->as_of());
  std::error_code ec;
  std::filesystem::remove_all(request.scratch_dir, ec);
  {
    TORI_ASSIGN_OR_RETURN(auto scratch, StateStore::Open(request.scratch_dir));
    TORI_RETURN_IF_ERROR(
        CatchUp(log, *scratch, {.until = as_of, .event_ids = EventIdIndex::kSkip}).status());
    for (size_t i = 0; i < invoice.lines.size(); ++i) {
      if (request.line && static_cast<int>(i) + 1 != *request.line) continue;
      const auto& line = invoice.lines[i];
      out += fmt::format("\nline {}: {} / {} / {} {} %: {} of {} -> {} EUR{}\n", i + 1, line.service_point_id,
                         line.pool, engine::KeyName(line.key), FormatDecimal(line.weight_pct_e4, kPctScale),
                         line.basis_quantity, line.basis_total, Euros(line.amount_cents),
                         line.adjusts_quarter ? " (adjustment of " + engine::QuarterName(*line.adjusts_quarter) + ")" : "");
      if (line.adjusts_quarter) {
        out += fmt::format("  an adjustment: {} recomputed with the events known at {} minus what was "
                           "issued for it before",
                           engine::QuarterName(*line.adjusts_quarter), event->as_of());
        if (line.issued_cents && line.recomputed_cents) {
          out += fmt::format(" (issued {} EUR, now {} EUR, difference {} EUR)", Euros(*line.issued_cents),
                             Euros(*line.recomputed_cents), Euros(line.amount_cents));
        }
        out += "\n";
        // The adjusted quarter's first issue: the events after it are what changed.
        std::optional<LogPosition> issued_at;
        TORI_ASSIGN_OR_RETURN(auto issued, billing_internal::LoadIssued(state));
        for (const auto& e : issued.invoice_events) {
          if (e.quarter() != engine::QuarterName(*line.adjusts_quarter)) continue;
          TORI_ASSIGN_OR_RETURN(LogPosition position, LogPosition::Parse(e.as_of()));
          if (!issued_at || position.next_offsets < issued_at->next_offsets) issued_at = position;
        }
        if (issued_at) {
          TORI_RETURN_IF_ERROR(ExplainChanges(log, *issued_at, as_of, *line.adjusts_quarter, line, out));
        }
        out += "  the recomputed line:\n";
      }
      TORI_RETURN_IF_ERROR(ExplainLine(*scratch, line.adjusts_quarter.value_or(invoice.quarter), invoice, line,
                                       request.list_contacts, out));
    }
  }
  std::filesystem::remove_all(request.scratch_dir, ec);
  return out;
}

}  // namespace tori
