// events::Event -> canonical JSON text (SPEC section 2 field order).
#include "absl/strings/escaping.h"
#include "absl/time/time.h"
#include "events/base/decimal.h"
#include "events/base/json_text.h"
#include "events/codec/codec.h"
#include "events/codec/internal/section9.h"

namespace tori {
namespace {

std::string_view KindName(events::AgencyKind kind) {
  switch (kind) {
    case events::AGENCY_KIND_MUNICIPALITY: return "municipality";
    case events::AGENCY_KIND_STATE: return "state";
    case events::AGENCY_KIND_KELA: return "kela";
    case events::AGENCY_KIND_WELLBEING_COUNTY: return "wellbeing_county";
    case events::AGENCY_KIND_OTHER: return "other";
    case events::AGENCY_KIND_COMPANY: return "company";
    default: return "unspecified";
  }
}

std::string_view ChannelName(events::Channel channel) {
  switch (channel) {
    case events::CHANNEL_IN_PERSON: return "in_person";
    case events::CHANNEL_VIDEO: return "video";
    case events::CHANNEL_PHONE: return "phone";
    case events::CHANNEL_E_SERVICE_SUPPORT: return "e_service_support";
    case events::CHANNEL_MOBILE: return "mobile";
    default: return "unspecified";
  }
}

std::string_view HandledByName(events::HandledBy handled_by) {
  switch (handled_by) {
    case events::HANDLED_BY_SHARED_ADVISOR: return "shared_advisor";
    case events::HANDLED_BY_AGENCY_STAFF: return "agency_staff";
    default: return "unspecified";
  }
}

std::string Quote(std::string_view text) {
  std::string out;
  AppendJsonString(out, text);
  return out;
}

template <typename List, typename Fn>
std::string JsonArray(const List& items, Fn item_json) {
  std::string out = "[";
  bool first = true;
  for (const auto& item : items) {
    if (!first) out.push_back(',');
    first = false;
    out += item_json(item);
  }
  out.push_back(']');
  return out;
}

std::string PoolsJson(const events::AgreementSigned& e) {
  std::string out = "{";
  for (int i = 0; i < e.pools_size(); ++i) {
    const auto& pool = e.pools(i);
    if (i > 0) out.push_back(',');
    AppendJsonString(out, pool.pool());
    out.push_back(':');
    JsonObjectWriter w(out);
    w.Raw("tranches", JsonArray(pool.tranches(), [](const events::Tranche& t) {
      std::string o;
      JsonObjectWriter(o).String("weight_pct", FormatDecimal(t.weight_pct_e4(), kPctScale))
          .String("key", t.key())
          .Close();
      return o;
    }));
    if (pool.has_fallback_key()) w.String("fallback_key", pool.fallback_key());
    if (pool.display_names_size() > 0) {
      std::string names = "{";
      for (int n = 0; n < pool.display_names_size(); ++n) {
        if (n > 0) names.push_back(',');
        AppendJsonString(names, pool.display_names(n).language());
        names.push_back(':');
        AppendJsonString(names, pool.display_names(n).name());
      }
      w.Raw("display_names", names + "}");
    }
    w.Close();
  }
  out.push_back('}');
  return out;
}

void WriteAgreement(JsonObjectWriter& w, const events::AgreementSigned& e) {
  w.String("agreement_id", e.agreement_id()).Int("version", e.version())
      .String("service_point_id", e.service_point_id())
      .String("effective_from", e.effective_from());
  if (e.has_effective_to()) w.String("effective_to", e.effective_to());
  w.Raw("parties", JsonArray(e.parties(), [](const std::string& p) { return Quote(p); }));
  w.Raw("pools", PoolsJson(e));
  if (e.has_service_weights()) {
    std::string o;
    JsonObjectWriter weights(o);
    for (const auto& sw : e.service_weights()) {
      weights.String(sw.service_code(), FormatDecimal(sw.weight_e4(), kPctScale));
    }
    weights.Close();
    w.Raw("service_weights", o);
  }
  if (e.has_fixed_shares()) {
    std::string o;
    JsonObjectWriter shares(o);
    for (const auto& f : e.fixed_shares()) shares.String(f.agency_id(), FormatDecimal(f.pct_e4(), kPctScale));
    shares.Close();
    w.Raw("fixed_shares", o);
  }
  if (e.has_subsidies()) {
    w.Raw("subsidies", JsonArray(e.subsidies(), [](const events::SubsidyRule& s) {
      std::string o;
      JsonObjectWriter rule(o);
      rule.String("program_id", s.program_id())
          .String("claimant_agency_id", s.claimant_agency_id())
          .String("rate_pct", FormatDecimal(s.rate_pct_e4(), kPctScale))
          .String("basis", s.basis() == events::SUBSIDY_BASIS_POOL_TOTAL ? "pool_total"
                                                                         : "claimant_share")
          .Raw("pools", JsonArray(s.pools(), [](const std::string& p) { return Quote(p); }));
      if (s.has_annual_cap_cents()) {
        rule.String("annual_cap", FormatDecimal(s.annual_cap_cents(), kMoneyScale));
      }
      rule.Close();
      return o;
    }));
  }
}

}  // namespace

std::string FormatInstant(int64_t unix_ns) {
  return absl::FormatTime("%Y-%m-%d%ET%H:%M:%E*SZ", absl::FromUnixNanos(unix_ns),
                          absl::UTCTimeZone());
}

std::string_view EventTypeName(const events::Event& event) {
  switch (event.payload_case()) {
    case events::Event::kAgencyRegistered: return "agency_registered";
    case events::Event::kServicePointOpened: return "service_point_opened";
    case events::Event::kSpaceAllocated: return "space_allocated";
    case events::Event::kAgreementSigned: return "agreement_signed";
    case events::Event::kContactRecorded: return "contact_recorded";
    case events::Event::kContactCorrected: return "contact_corrected";
    case events::Event::kContactVoided: return "contact_voided";
    case events::Event::kCostPosted: return "cost_posted";
    case events::Event::kRoomBooked: return "room_booked";
    case events::Event::kAgencyUpdated: return "agency_updated";
    case events::Event::kAgencySucceeded: return "agency_succeeded";
    case events::Event::kAccessGranted: return "access_granted";
    case events::Event::kAccessRevoked: return "access_revoked";
    case events::Event::kHostSharesIssued: return "host_shares_issued";
    case events::Event::kCheckpointSigned: return "checkpoint_signed";
    case events::Event::kApprovalPolicySet: return "approval_policy_set";
    case events::Event::kQuarterPrepared: return "quarter_prepared";
    case events::Event::kQuarterApproved: return "quarter_approved";
    case events::Event::kRouteStopRecorded: return "route_stop_recorded";
    case events::Event::kInterpretationProvided: return "interpretation_provided";
    case events::Event::kContactReferred: return "contact_referred";
    case events::Event::kRoomRegistered: return "room_registered";
    case events::Event::kBudgetSet: return "budget_set";
    case events::Event::kInvoiceIssued: return "invoice_issued";
    case events::Event::kSubsidyClaimIssued: return "subsidy_claim_issued";
    case events::Event::PAYLOAD_NOT_SET: return "unknown";
  }
  return "unknown";
}

std::string EventToJson(const events::Event& event) {
  std::string out;
  JsonObjectWriter w(out);
  w.String("event_id", event.event_id())
      .String("type", EventTypeName(event))
      .String("occurred_at", FormatInstant(event.occurred_at_unix_ns()));
  switch (event.payload_case()) {
    case events::Event::kAgencyRegistered: {
      const auto& e = event.agency_registered();
      w.String("agency_id", e.agency_id()).String("name", e.name())
          .String("kind", KindName(e.kind())).String("business_id", e.business_id());
      if (e.has_einvoice_address()) w.String("einvoice_address", e.einvoice_address());
      if (e.has_iban()) w.String("iban", e.iban());
      if (e.has_bic()) w.String("bic", e.bic());
      break;
    }
    case events::Event::kAgencyUpdated: {
      const auto& c = event.agency_updated().changes();
      std::string changes;
      JsonObjectWriter cw(changes);
      if (c.has_name()) cw.String("name", c.name());
      if (c.has_business_id()) cw.String("business_id", c.business_id());
      if (c.has_einvoice_address()) cw.String("einvoice_address", c.einvoice_address());
      if (c.has_iban()) cw.String("iban", c.iban());
      if (c.has_bic()) cw.String("bic", c.bic());
      cw.Close();
      w.String("agency_id", event.agency_updated().agency_id()).Raw("changes", changes);
      break;
    }
    case events::Event::kAgencySucceeded: {
      const auto& e = event.agency_succeeded();
      w.String("agency_id", e.agency_id()).String("successor_agency_id", e.successor_agency_id())
          .String("effective_from", e.effective_from());
      break;
    }
    case events::Event::kAccessGranted: {
      const auto& e = event.access_granted();
      w.String("token_id", e.token_id()).String("token_sha256", e.token_sha256())
          .String("role", e.role()).String("name", e.name());
      if (!e.agency_id().empty()) w.String("agency_id", e.agency_id());
      if (!e.service_point_id().empty()) w.String("service_point_id", e.service_point_id());
      if (!e.granted_by_agency_id().empty()) w.String("granted_by_agency_id", e.granted_by_agency_id());
      break;
    }
    case events::Event::kAccessRevoked:
      w.String("token_id", event.access_revoked().token_id());
      break;
    case events::Event::kServicePointOpened: {
      const auto& e = event.service_point_opened();
      w.String("service_point_id", e.service_point_id()).String("name", e.name())
          .String("municipality", e.municipality()).String("host_agency_id", e.host_agency_id())
          .String("total_area_m2", FormatDecimal(e.total_area_centi_m2(), kAreaScale));
      if (e.kind() == events::SERVICE_POINT_KIND_MOBILE) w.String("kind", "mobile");
      break;
    }
    case events::Event::kSpaceAllocated: {
      const auto& e = event.space_allocated();
      w.String("service_point_id", e.service_point_id())
          .String("effective_from", e.effective_from())
          .Raw("allocations", JsonArray(e.allocations(), [](const events::AreaAllocation& a) {
            std::string o;
            JsonObjectWriter(o).String("agency_id", a.agency_id())
                .String("area_m2", FormatDecimal(a.area_centi_m2(), kAreaScale))
                .Close();
            return o;
          }))
          .String("shared_area_m2", FormatDecimal(e.shared_area_centi_m2(), kAreaScale));
      break;
    }
    case events::Event::kAgreementSigned:
      WriteAgreement(w, event.agreement_signed());
      break;
    case events::Event::kContactRecorded: {
      const auto& e = event.contact_recorded();
      w.String("contact_id", e.contact_id()).String("service_point_id", e.service_point_id())
          .String("agency_id", e.agency_id()).String("service_code", e.service_code())
          .String("channel", ChannelName(e.channel()))
          .String("handled_by", HandledByName(e.handled_by()))
          .Int("duration_s", e.duration_s());
      break;
    }
    case events::Event::kContactCorrected: {
      const auto& e = event.contact_corrected();
      const auto& c = e.changes();
      std::string changes;
      JsonObjectWriter cw(changes);
      if (c.has_agency_id()) cw.String("agency_id", c.agency_id());
      if (c.has_service_code()) cw.String("service_code", c.service_code());
      if (c.has_channel()) cw.String("channel", ChannelName(c.channel()));
      if (c.has_handled_by()) cw.String("handled_by", HandledByName(c.handled_by()));
      if (c.has_duration_s()) cw.Int("duration_s", c.duration_s());
      cw.Close();
      w.String("contact_id", e.contact_id()).Raw("changes", changes).String("reason", e.reason());
      break;
    }
    case events::Event::kContactVoided: {
      const auto& e = event.contact_voided();
      w.String("contact_id", e.contact_id()).String("reason", e.reason());
      break;
    }
    case events::Event::kCostPosted: {
      const auto& e = event.cost_posted();
      w.String("cost_id", e.cost_id()).String("service_point_id", e.service_point_id())
          .String("pool", e.pool()).String("period", e.period())
          .String("amount", FormatDecimal(e.amount_cents(), kMoneyScale))
          .String("description", e.description());
      if (e.has_document_ref()) w.String("document_ref", e.document_ref());
      break;
    }
    case events::Event::kRoomBooked: {
      const auto& e = event.room_booked();
      w.String("booking_id", e.booking_id()).String("service_point_id", e.service_point_id())
          .String("room_id", e.room_id()).String("agency_id", e.agency_id())
          .String("start", FormatInstant(e.start_unix_ns()))
          .String("end", FormatInstant(e.end_unix_ns()));
      break;
    }
    case events::Event::kInvoiceIssued: {
      const auto& e = event.invoice_issued();
      w.String("invoice_id", e.invoice_id()).String("quarter", e.quarter())
          .String("issuer_agency_id", e.issuer_agency_id())
          .String("recipient_agency_id", e.recipient_agency_id())
          .Int("total_cents", e.total_cents()).String("content_sha256", e.content_sha256())
          .String("as_of", e.as_of());
      break;
    }
    case events::Event::kSubsidyClaimIssued: {
      const auto& e = event.subsidy_claim_issued();
      w.String("claim_id", e.claim_id()).String("quarter", e.quarter())
          .String("claimant_agency_id", e.claimant_agency_id())
          .String("program_id", e.program_id()).String("service_point_id", e.service_point_id())
          .Int("amount_cents", e.amount_cents()).String("content_sha256", e.content_sha256())
          .String("as_of", e.as_of());
      break;
    }
    case events::Event::kHostSharesIssued: {
      const auto& e = event.host_shares_issued();
      w.String("quarter", e.quarter())
          .Raw("shares", JsonArray(e.shares(), [](const events::IssuedHostShare& s) {
            std::string o;
            JsonObjectWriter sw(o);
            sw.String("agency_id", s.agency_id()).String("service_point_id", s.service_point_id())
                .String("pool", s.pool()).Int("amount_cents", s.amount_cents());
            if (s.has_adjusts_quarter()) sw.String("adjusts_quarter", s.adjusts_quarter());
            sw.Close();
            return o;
          }))
          .String("as_of", e.as_of());
      break;
    }
    case events::Event::kCheckpointSigned: {
      const auto& e = event.checkpoint_signed();
      w.String("origin", e.origin()).Int("tree_size", e.tree_size())
          .String("root_hash", absl::Base64Escape(e.root_hash()))
          .String("signed_note", e.signed_note());
      break;
    }
    case events::Event::kApprovalPolicySet: {
      const auto& e = event.approval_policy_set();
      w.String("host_agency_id", e.host_agency_id())
          .Int("required_approvals", e.required_approvals())
          .String("effective_from", e.effective_from());
      break;
    }
    case events::Event::kQuarterPrepared: {
      const auto& e = event.quarter_prepared();
      w.String("quarter", e.quarter()).String("as_of", e.as_of())
          .String("prepared_by", e.prepared_by()).String("issue_date", e.issue_date())
          .Raw("documents", JsonArray(e.documents(), [](const events::PreparedDocument& d) {
            std::string o;
            JsonObjectWriter(o).String("document_id", d.document_id())
                .String("content_sha256", d.content_sha256())
                .Close();
            return o;
          }));
      break;
    }
    case events::Event::kQuarterApproved: {
      const auto& e = event.quarter_approved();
      w.String("quarter", e.quarter()).String("as_of", e.as_of())
          .String("prepared_by", e.prepared_by()).String("approved_by", e.approved_by())
          .String("prepared_event_id", e.prepared_event_id());
      break;
    }
    case events::Event::kRouteStopRecorded:
    case events::Event::kInterpretationProvided:
    case events::Event::kContactReferred:
    case events::Event::kRoomRegistered:
    case events::Event::kBudgetSet:
      codec_internal::WriteSection9Event(w, event);
      break;
    case events::Event::PAYLOAD_NOT_SET:
      break;
  }
  w.Close();
  return out;
}

}  // namespace tori
