// `tori status` (what the log holds and what has been issued) and `tori log` (the
// events themselves, filtered, as canonical JSON Lines): issue #15.10. Both only read:
// the state is not caught up, so status shows how far it lags.
#include <algorithm>
#include <filesystem>
#include <map>
#include <set>

#include "absl/container/flat_hash_map.h"
#include "events/base/check.h"
#include "events/base/decimal.h"
#include "events/base/json_text.h"
#include "events/codec/codec.h"
#include "fmt/format.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"
#include "services/audit/audit.h"
#include "services/projector/projector.h"
#include "tools/tori/commands.h"

namespace tori {
namespace {

namespace p = projection;

// Bytes of the embedded log's segment files; nullopt for Kafka (the broker keeps them).
std::optional<uint64_t> EmbeddedLogBytes(const LogOptions& options) {
  if (!options.kafka_brokers.empty()) return std::nullopt;
  uint64_t bytes = 0;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(options.data_dir + "/log", ec)) {
    if (entry.is_regular_file(ec)) bytes += entry.file_size(ec);
  }
  return bytes;
}

// One issued document as status lists it.
struct IssuedDocument {
  std::string kind;  // "invoice" or "subsidy_claim"
  std::string document_id;
  std::string invoice_number;  // invoices only
  std::string reference_number;
  std::string from_agency_id, to_agency_id;  // issuer and recipient; claimant for claims
  int64_t amount_cents = 0;
  std::string as_of;
  std::string content_sha256;
  std::string adjusts_quarter;
};

absl::StatusOr<std::map<std::string, std::vector<IssuedDocument>>> IssuedByQuarter(StateStore& state) {
  std::map<std::string, std::vector<IssuedDocument>> quarters;
  TORI_RETURN_IF_ERROR(state.ForEachInProjection(
      std::string(1, p::kInvoice), [&](std::string_view key, std::string_view value) -> absl::Status {
        TORI_ASSIGN_OR_RETURN(auto e, p::ReadRecord<events::InvoiceIssued>(state, key, value));
        quarters[e.quarter()].push_back({"invoice", e.invoice_id(), "", "", e.issuer_agency_id(),
                                         e.recipient_agency_id(), e.total_cents(), e.as_of(),
                                         e.content_sha256(), ""});
        return absl::OkStatus();
      }));
  TORI_RETURN_IF_ERROR(state.ForEachInProjection(
      std::string(1, p::kClaim), [&](std::string_view key, std::string_view value) -> absl::Status {
        TORI_ASSIGN_OR_RETURN(auto e, p::ReadRecord<events::SubsidyClaimIssued>(state, key, value));
        quarters[e.quarter()].push_back({"subsidy_claim", e.claim_id(), "", "", e.claimant_agency_id(),
                                         "", e.amount_cents(), e.as_of(), e.content_sha256(),
                                         e.has_adjusts_quarter() ? e.adjusts_quarter() : ""});
        return absl::OkStatus();
      }));
  TORI_ASSIGN_OR_RETURN(auto numbers_by_quarter, NumberAllIssuedInvoices(state));
  for (auto& [quarter, documents] : quarters) {
    TORI_RETURN_IF_ERROR(engine::ParseQuarter(quarter).status());
    const std::vector<InvoiceNumbering>& numbers = numbers_by_quarter[quarter];
    for (auto& document : documents) {
      for (const auto& n : numbers) {
        if (n.invoice_id == document.document_id) {
          document.invoice_number = n.invoice_number;
          document.reference_number = n.reference_number;
        }
      }
    }
  }
  return quarters;
}

std::string StatusJson(const LogPosition& end, std::optional<uint64_t> log_bytes, const LogPosition& applied,
                       const std::map<std::string, std::vector<IssuedDocument>>& quarters) {
  std::string out;
  JsonObjectWriter w(out);
  w.String("log_end", end.ToString()).Int("log_records", LogRecords(end));
  if (log_bytes) w.Int("log_bytes", static_cast<int64_t>(*log_bytes));
  w.String("state_position", applied.ToString()).Int("state_lag_events", LogRecords(end) - LogRecords(applied));
  std::string quarters_json = "[";
  for (const auto& [quarter, documents] : quarters) {
    if (quarters_json.size() > 1) quarters_json += ",";
    std::string docs = "[";
    for (const auto& d : documents) {
      if (docs.size() > 1) docs += ",";
      JsonObjectWriter dw(docs);
      dw.String("kind", d.kind).String("document_id", d.document_id);
      if (!d.invoice_number.empty()) {
        dw.String("invoice_number", d.invoice_number).String("reference_number", d.reference_number);
      }
      if (d.kind == "invoice") {
        dw.String("issuer_agency_id", d.from_agency_id).String("recipient_agency_id", d.to_agency_id);
      } else {
        dw.String("claimant_agency_id", d.from_agency_id);
      }
      dw.Int("amount_cents", d.amount_cents).String("amount", FormatDecimal(d.amount_cents, kMoneyScale));
      if (!d.adjusts_quarter.empty()) dw.String("adjusts_quarter", d.adjusts_quarter);
      dw.String("as_of", d.as_of).String("content_sha256", d.content_sha256);
      dw.Close();
    }
    docs += "]";
    JsonObjectWriter qw(quarters_json);
    qw.String("quarter", quarter).Raw("documents", docs);
    qw.Close();
  }
  quarters_json += "]";
  w.Raw("issued_quarters", quarters_json);
  w.Close();
  return out;
}

}  // namespace

int RunStatus(const LogOptions& data_options, bool json) {
  // The state as it is (never caught up here), so that status shows its lag.
  auto data = OpenDataDir(data_options, DataAccess::kReadLog);
  if (!data.ok()) return Fail(data.status());
  if (data->state == nullptr) {
    return Fail(absl::FailedPreconditionError(fmt::format("{} holds an event log but no state yet",
                                                          data_options.data_dir)),
                fmt::format("build it with `tori project --data {}`", data_options.data_dir));
  }
  const LogPosition end = data->log->End();
  const LogPosition& applied = data->state->applied();
  const std::optional<uint64_t> log_bytes = EmbeddedLogBytes(data_options);
  auto quarters = IssuedByQuarter(*data->state);
  if (!quarters.ok()) return Fail(quarters.status());
  if (json) {
    fmt::print("{}\n", StatusJson(end, log_bytes, applied, *quarters));
    return 0;
  }
  fmt::print("log    {} events, end {}{}\n", LogRecords(end), end.ToString(),
             log_bytes ? fmt::format(", {} in {}/log",
                                     *log_bytes < 1'000'000
                                         ? fmt::format("{} bytes", *log_bytes)
                                         : fmt::format("{:.1f} MB", static_cast<double>(*log_bytes) / 1e6),
                                     data_options.data_dir)
                       : fmt::format(" (Kafka topic {})", data_options.kafka_topic));
  const int64_t lag = LogRecords(end) - LogRecords(applied);
  fmt::print("state  at {}{}\n", applied.ToString(),
             lag == 0 ? ", up to date" : fmt::format(", {} events behind the log (`tori project` catches up)", lag));
  if (quarters->empty()) {
    fmt::print("issued nothing yet (`tori bill --quarter Q --out DIR` issues a quarter)\n");
    return 0;
  }
  for (const auto& [quarter, documents] : *quarters) {
    fmt::print("issued {}: {} documents, as of {}\n", quarter, documents.size(), documents.front().as_of);
    for (const auto& d : documents) {
      const std::string who = d.kind == "invoice" ? d.from_agency_id + " -> " + d.to_agency_id
                                                  : d.from_agency_id + " (claim)";
      fmt::print("  {:<44} {:<11} {:<28} {:>14} EUR  sha256 {}{}{}\n", d.document_id, d.invoice_number, who,
                 FormatDecimal(d.amount_cents, kMoneyScale), d.content_sha256,
                 d.as_of != documents.front().as_of ? "  as of " + d.as_of : "",
                 d.adjusts_quarter.empty() ? "" : "  adjusts " + d.adjusts_quarter);
    }
  }
  return 0;
}

namespace {

// Whether `message` names `agency_id` in any field that holds agency ids (agency_id,
// host_agency_id, parties, issuer/recipient/claimant, changes.agency_id, ...): found
// by the fields' names, so new event types are covered without a list to keep.
bool NamesAgency(const google::protobuf::Message& message, const std::string& agency_id) {
  using google::protobuf::FieldDescriptor;
  const auto* reflection = message.GetReflection();
  std::vector<const FieldDescriptor*> fields;
  reflection->ListFields(message, &fields);
  for (const FieldDescriptor* field : fields) {
    const bool agency_field = field->name().ends_with("agency_id") || field->name() == "parties";
    if (field->cpp_type() == FieldDescriptor::CPPTYPE_STRING && agency_field) {
      if (field->is_repeated()) {
        for (int i = 0; i < reflection->FieldSize(message, field); ++i) {
          if (reflection->GetRepeatedString(message, field, i) == agency_id) return true;
        }
      } else if (reflection->GetString(message, field) == agency_id) {
        return true;
      }
    } else if (field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
      if (field->is_map()) continue;  // fixed_shares' keys are parties too: listed already
      if (field->is_repeated()) {
        for (int i = 0; i < reflection->FieldSize(message, field); ++i) {
          if (NamesAgency(reflection->GetRepeatedMessage(message, field, i), agency_id)) return true;
        }
      } else if (NamesAgency(reflection->GetMessage(message, field), agency_id)) {
        return true;
      }
    }
  }
  return false;
}

// The service point an event concerns: its own field, or its contact's.
std::string PointOf(const events::Event& event, const absl::flat_hash_map<std::string, std::string>& contact_points) {
  const auto* reflection = event.GetReflection();
  std::vector<const google::protobuf::FieldDescriptor*> fields;
  reflection->ListFields(event, &fields);
  for (const auto* field : fields) {
    if (field->cpp_type() != google::protobuf::FieldDescriptor::CPPTYPE_MESSAGE || field->is_repeated()) continue;
    const auto& payload = reflection->GetMessage(event, field);
    const auto* point = payload.GetDescriptor()->FindFieldByName("service_point_id");
    if (point != nullptr && point->cpp_type() == google::protobuf::FieldDescriptor::CPPTYPE_STRING &&
        !point->is_repeated()) {
      return payload.GetReflection()->GetString(payload, point);
    }
    const auto* contact = payload.GetDescriptor()->FindFieldByName("contact_id");
    if (contact != nullptr && contact->cpp_type() == google::protobuf::FieldDescriptor::CPPTYPE_STRING &&
        !contact->is_repeated()) {
      auto it = contact_points.find(payload.GetReflection()->GetString(payload, contact));
      if (it != contact_points.end()) return it->second;
    }
  }
  return "";
}

}  // namespace

int RunLog(const LogOptions& data_options, const LogFilter& filter) {
  // The event types are the payload's field names (SPEC section 2's `type`).
  const google::protobuf::OneofDescriptor* payload = events::Event::descriptor()->FindOneofByName("payload");
  std::vector<std::string> known;
  for (int i = 0; i < payload->field_count(); ++i) known.push_back(payload->field(i)->name());
  for (const auto& type : filter.types) {
    if (std::find(known.begin(), known.end(), type) == known.end()) {
      fmt::print(stderr, "tori log: --type '{}' is no event type; the types: {}\n", type, fmt::join(known, ", "));
      return kExitUsage;
    }
  }
  auto data = OpenDataDir(data_options, DataAccess::kReadLog);
  if (!data.ok()) return Fail(data.status());
  auto cursor = data->log->Read(LogPosition{std::vector<int64_t>(data->log->partition_count(), 0)});
  if (!cursor.ok()) return Fail(cursor.status());
  const std::set<std::string> types(filter.types.begin(), filter.types.end());
  // Corrections and voids name only their contact: its point and agency come from the
  // contact_recorded before them (kept only when a filter needs them).
  const bool track_contacts = !filter.service_point_id.empty() || !filter.agency_id.empty();
  absl::flat_hash_map<std::string, std::string> contact_points, contact_agencies;
  events::Event event;
  LogRecord record;
  uint64_t read = 0, written = 0;
  absl::Time next_progress = absl::Now() + absl::Seconds(2);
  std::string out;
  while (true) {
    auto more = (*cursor)->Next(record);
    if (!more.ok()) return Fail(more.status());
    if (!*more) break;
    if (++read % 65536 == 0 && absl::Now() >= next_progress) {  // stdout may be a file: progress on stderr
      next_progress = absl::Now() + absl::Seconds(2);
      fmt::print(stderr, "log: read {} events, wrote {}\n", read, written);
    }
    if (!DecodeEvent(record.payload, event)) {
      return Fail(absl::DataLossError(fmt::format(
          "the log's record p{}:{} is no event of schema v1", record.partition, record.offset)));
    }
    // The agency of a corrected or voided contact before this event.
    std::string contact_agency_before;
    if (track_contacts) {
      if (event.has_contact_recorded()) {
        contact_points[event.contact_recorded().contact_id()] = event.contact_recorded().service_point_id();
        contact_agencies[event.contact_recorded().contact_id()] = event.contact_recorded().agency_id();
      }
      const std::string& contact_id = event.has_contact_corrected() ? event.contact_corrected().contact_id()
                                      : event.has_contact_voided()  ? event.contact_voided().contact_id()
                                                                    : std::string();
      if (auto it = contact_agencies.find(contact_id); !contact_id.empty() && it != contact_agencies.end()) {
        contact_agency_before = it->second;
        if (event.has_contact_corrected() && event.contact_corrected().changes().has_agency_id()) {
          it->second = event.contact_corrected().changes().agency_id();
        }
      }
    }
    if (!types.empty() && !types.contains(std::string(EventTypeName(event)))) continue;
    if (filter.since && absl::FromUnixNanos(event.occurred_at_unix_ns()) < *filter.since) continue;
    if (filter.until && absl::FromUnixNanos(event.occurred_at_unix_ns()) >= *filter.until) continue;
    if (!filter.service_point_id.empty() && PointOf(event, contact_points) != filter.service_point_id) continue;
    if (!filter.agency_id.empty() && !NamesAgency(event, filter.agency_id) &&
        contact_agency_before != filter.agency_id) {
      continue;
    }
    out = EventToJson(event);
    out.push_back('\n');
    std::fwrite(out.data(), 1, out.size(), stdout);
    ++written;
  }
  if (std::fflush(stdout) != 0) return Fail(absl::InternalError("cannot write to standard output"));
  fmt::print(stderr, "log: {} of {} events\n", written, read);
  return 0;
}

}  // namespace tori
