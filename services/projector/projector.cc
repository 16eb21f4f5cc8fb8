#include "services/projector/projector.h"

#include <algorithm>
#include <cstring>

#include "absl/time/civil_time.h"
#include "events/base/check.h"
#include "fmt/format.h"

namespace tori {
namespace projection {

std::string Key(char kind, std::initializer_list<std::string_view> parts, bool open_end) {
  std::string key(1, kind);
  for (std::string_view part : parts) {
    key.push_back('\0');
    key.append(part);
  }
  if (open_end) key.push_back('\0');
  return key;
}

std::vector<std::string_view> SplitKey(std::string_view key) {
  std::vector<std::string_view> parts;
  size_t start = 2;  // after the kind and its separator
  while (start <= key.size()) {
    const size_t end = key.find('\0', start);
    if (end == std::string_view::npos) {
      parts.push_back(key.substr(start));
      break;
    }
    parts.push_back(key.substr(start, end - start));
    start = end + 1;
  }
  return parts;
}

std::string EncodeInt(int64_t value) { return std::string(reinterpret_cast<const char*>(&value), 8); }

int64_t DecodeInt(std::string_view value) {
  TORI_CHECK(value.size() == 8);
  int64_t v;
  std::memcpy(&v, value.data(), 8);
  return v;
}

std::string EncodeCounts(const ContactCounts& counts) {
  return EncodeInt(counts.contacts) + EncodeInt(counts.advisor_contacts) +
         EncodeInt(counts.advisor_time_s);
}

ContactCounts DecodeCounts(std::string_view value) {
  TORI_CHECK(value.size() == 24);
  return {DecodeInt(value.substr(0, 8)), DecodeInt(value.substr(8, 8)),
          DecodeInt(value.substr(16, 8))};
}

}  // namespace projection

absl::StatusOr<absl::TimeZone> HelsinkiTimeZone() {
  absl::TimeZone tz;
  if (!absl::LoadTimeZone("Europe/Helsinki", &tz)) {
    return absl::FailedPreconditionError(
        "cannot load the Europe/Helsinki time zone from /usr/share/zoneinfo; install the "
        "tzdata package (bash ops/setup)");
  }
  return tz;
}

std::string QuarterOfInstant(int64_t unix_ns, absl::TimeZone helsinki) {
  const absl::CivilMonth month(absl::ToCivilDay(absl::FromUnixNanos(unix_ns), helsinki));
  return fmt::format("{}Q{}", month.year(), (month.month() - 1) / 3 + 1);
}

std::string QuarterOfMonth(std::string_view month) {
  // "YYYY-MM", validated by the codec.
  const int m = (month[5] - '0') * 10 + (month[6] - '0');
  return fmt::format("{}Q{}", month.substr(0, 4), (m - 1) / 3 + 1);
}

std::string_view Projector::Quarter(int64_t unix_ns) {
  if (unix_ns < cached_quarter_start_ns_ || unix_ns >= cached_quarter_end_ns_) {
    const absl::CivilMonth month(absl::ToCivilDay(absl::FromUnixNanos(unix_ns), helsinki_));
    const absl::CivilMonth first = month - (month.month() - 1) % 3;
    cached_quarter_start_ns_ = absl::ToUnixNanos(absl::FromCivil(first, helsinki_));
    cached_quarter_end_ns_ = absl::ToUnixNanos(absl::FromCivil(first + 3, helsinki_));
    cached_quarter_ = QuarterOfInstant(unix_ns, helsinki_);
    cached_quarter_id_ = kNoPartId;
  }
  return cached_quarter_;
}

uint32_t Projector::Names::Id(std::string_view name) {
  auto [it, added] = ids.try_emplace(absl::string_view(name.data(), name.size()),
                                     static_cast<uint32_t>(names.size()));
  if (added) names.emplace_back(name);
  return it->second;
}

void Projector::Names::Clear() {
  ids.clear();
  names.clear();
}

void Projector::AddContact(std::string_view point, std::string_view agency,
                           std::string_view service_code, events::HandledBy handled_by,
                           int64_t duration_s, int64_t occurred_at_unix_ns, int sign) {
  std::string_view quarter = Quarter(occurred_at_unix_ns);
  // The quarter's id is kept with the quarter (contacts arrive roughly in time order).
  if (cached_quarter_id_ == kNoPartId) cached_quarter_id_ = quarters_.Id(quarter);
  // Points and (agency, service code) pairs are few: their ids come from a small map
  // that stays in the cache, and the counters are found under the ids alone (perf: one
  // map keyed by the joined strings missed the cache twice a contact, a fifth of a
  // 10 M ingest's main thread).
  pair_scratch_.assign(agency);
  pair_scratch_.push_back('\0');
  pair_scratch_.append(service_code);
  const uint64_t point_id = parts_.Id(point), pair_id = parts_.Id(pair_scratch_);
  TORI_CHECK(point_id < (uint64_t{1} << 26) && pair_id < (uint64_t{1} << 26) &&
             cached_quarter_id_ < (1u << 12));
  ContactCounts& delta = count_deltas_[point_id << 38 | pair_id << 12 | cached_quarter_id_];
  const bool advisor = handled_by == events::HANDLED_BY_SHARED_ADVISOR;
  delta.contacts += sign;
  delta.advisor_contacts += advisor ? sign : 0;
  delta.advisor_time_s += advisor ? sign * duration_s : 0;
}

void Projector::AddContact(const events::ContactState& contact, int sign) {
  AddContact(contact.service_point_id(), contact.agency_id(), contact.service_code(),
             contact.handled_by(), contact.duration_s(), contact.occurred_at_unix_ns(), sign);
}

void Projector::ApplyContact(const ContactRecordedView& contact) {
  AddContact(contact.service_point_id, contact.agency_id, contact.service_code, contact.handled_by,
             contact.duration_s, contact.occurred_at_unix_ns, +1);
}

absl::Status Projector::Apply(const events::Event& event, const events::ContactState* before) {
  using namespace projection;
  switch (event.payload_case()) {
    case events::Event::kAgencyRegistered:
      records_[Key(kAgency, {event.agency_registered().agency_id()})] =
          event.agency_registered().SerializeAsString();
      break;
    case events::Event::kAgencyUpdated:
      // Merged into the agency's record by TakeWrites, which may read the stored one.
      agency_updates_.push_back(event.agency_updated());
      break;
    case events::Event::kServicePointOpened:
      records_[Key(kPoint, {event.service_point_opened().service_point_id()})] =
          event.service_point_opened().SerializeAsString();
      break;
    case events::Event::kSpaceAllocated: {
      const auto& e = event.space_allocated();
      records_[Key(kSpace, {e.service_point_id(), e.effective_from()})] = e.SerializeAsString();
      break;
    }
    case events::Event::kAgreementSigned: {
      const auto& e = event.agreement_signed();
      records_[Key(kAgreement, {e.service_point_id(), e.agreement_id(),
                                fmt::format("{:010d}", e.version())})] = e.SerializeAsString();
      break;
    }
    case events::Event::kContactRecorded:
      ApplyContact(ContactViewOf(event));
      break;
    case events::Event::kContactCorrected: {
      if (before == nullptr || before->voided()) {
        return absl::InternalError("projector: a correction needs the contact's active state");
      }
      events::ContactState after = *before;
      ApplyCorrection(event.contact_corrected().changes(), after);
      AddContact(*before, -1);
      AddContact(after, +1);
      break;
    }
    case events::Event::kContactVoided:
      if (before == nullptr || before->voided()) {
        return absl::InternalError("projector: a void needs the contact's active state");
      }
      AddContact(*before, -1);
      break;
    case events::Event::kCostPosted: {
      const auto& e = event.cost_posted();
      records_[Key(kCost, {e.service_point_id(), QuarterOfMonth(e.period()), e.pool(), e.cost_id()})] =
          e.SerializeAsString();
      break;
    }
    case events::Event::kRoomBooked: {
      const auto& e = event.room_booked();
      // Whole minutes, floored, counted in the quarter the booking starts in.
      const int64_t minutes = (e.end_unix_ns() - e.start_unix_ns()) / (60 * int64_t{1'000'000'000});
      minute_deltas_[Key(kBookings, {e.service_point_id(), QuarterOfInstant(e.start_unix_ns(), helsinki_),
                                     e.agency_id()})] += minutes;
      break;
    }
    case events::Event::kInvoiceIssued:
      records_[Key(kInvoice, {event.invoice_issued().quarter(), event.invoice_issued().invoice_id()})] =
          event.invoice_issued().SerializeAsString();
      break;
    case events::Event::kHostSharesIssued:
      records_[Key(kHostShares, {event.host_shares_issued().quarter()})] =
          event.host_shares_issued().SerializeAsString();
      break;
    case events::Event::kSubsidyClaimIssued:
      records_[Key(kClaim, {event.subsidy_claim_issued().quarter(),
                            event.subsidy_claim_issued().claim_id()})] =
          event.subsidy_claim_issued().SerializeAsString();
      break;
    case events::Event::PAYLOAD_NOT_SET:
      return absl::InvalidArgumentError("projector: event without payload");
  }
  return absl::OkStatus();
}

absl::Status Projector::MergeAgencyUpdates(StateStore& state) {
  // In log order: the record registered in this batch, else the stored one (the
  // validator made sure the agency exists), with each update's fields replaced.
  for (const auto& update : agency_updates_) {
    const std::string key = projection::Key(projection::kAgency, {update.agency_id()});
    auto it = records_.find(key);
    if (it == records_.end()) {
      TORI_ASSIGN_OR_RETURN(std::optional<std::string> stored, state.GetProjection(key));
      if (!stored) {
        return absl::DataLossError(fmt::format(
            "projector: agency_updated of '{}' finds no registered agency; run `tori rebuild`",
            update.agency_id()));
      }
      it = records_.emplace(key, std::move(*stored)).first;
    }
    events::AgencyRegistered agency;
    if (!agency.ParseFromString(it->second)) {
      return absl::DataLossError("projector: an agency record does not decode; run `tori rebuild`");
    }
    const auto& c = update.changes();
    if (c.has_name()) agency.set_name(c.name());
    if (c.has_business_id()) agency.set_business_id(c.business_id());
    if (c.has_einvoice_address()) agency.set_einvoice_address(c.einvoice_address());
    if (c.has_iban()) agency.set_iban(c.iban());
    if (c.has_bic()) agency.set_bic(c.bic());
    it->second = agency.SerializeAsString();
  }
  agency_updates_.clear();
  return absl::OkStatus();
}

absl::StatusOr<std::vector<KeyValue>> Projector::TakeWrites(StateStore& state) {
  TORI_RETURN_IF_ERROR(MergeAgencyUpdates(state));
  std::vector<KeyValue> writes;
  writes.reserve(records_.size() + count_deltas_.size() + minute_deltas_.size());
  for (auto& [key, value] : records_) writes.emplace_back(key, std::move(value));

  // Counters: the stored values come from the cache, or are read at once, then added.
  struct Counter {
    std::string key;
    ContactCounts counts;  // kContacts
    int64_t minutes = 0;   // kBookings
  };
  std::vector<Counter> counters;
  counters.reserve(count_deltas_.size() + minute_deltas_.size());
  for (const auto& [ids, delta] : count_deltas_) {
    // The ids of point, (agency "\0" service code) and quarter (see AddContact).
    const std::string_view pair = parts_.names[(ids >> 12) & ((uint64_t{1} << 26) - 1)];
    const size_t code_at = pair.find('\0') + 1;
    counters.push_back({projection::Key(projection::kContacts,
                                        {parts_.names[ids >> 38], quarters_.names[ids & 0xFFF],
                                         pair.substr(0, code_at - 1), pair.substr(code_at)}),
                        delta});
  }
  for (const auto& [key, minutes] : minute_deltas_) counters.push_back({key, {}, minutes});
  std::sort(counters.begin(), counters.end(),
            [](const Counter& a, const Counter& b) { return a.key < b.key; });
  if (counter_cache_.size() + counters.size() > kCounterCacheEntriesMax) counter_cache_.clear();
  std::vector<std::string> missing;
  for (const Counter& counter : counters) {
    if (!counter_cache_.contains(counter.key)) missing.push_back(counter.key);
  }
  TORI_ASSIGN_OR_RETURN(auto read, state.MultiGetProjection(missing));
  for (size_t i = 0, m = 0; i < counters.size(); ++i) {
    Counter& counter = counters[i];
    std::optional<std::string> stored;
    if (m < missing.size() && missing[m] == counter.key) {
      stored = std::move(read[m++]);
    } else {
      stored = counter_cache_.at(counter.key);
    }
    if (counter.key[0] == projection::kContacts) {
      ContactCounts counts = stored ? projection::DecodeCounts(*stored) : ContactCounts{};
      counts.contacts += counter.counts.contacts;
      counts.advisor_contacts += counter.counts.advisor_contacts;
      counts.advisor_time_s += counter.counts.advisor_time_s;
      // A contact can only be taken back after it was counted.
      TORI_CHECK(counts.contacts >= 0 && counts.advisor_contacts >= 0 && counts.advisor_time_s >= 0);
      writes.emplace_back(counter.key, projection::EncodeCounts(counts));
    } else {
      const int64_t minutes = (stored ? projection::DecodeInt(*stored) : 0) + counter.minutes;
      writes.emplace_back(counter.key, projection::EncodeInt(minutes));
    }
    // The caller commits these writes before the next batch, or gives up the projector.
    counter_cache_.insert_or_assign(std::move(counter.key), writes.back().second);
  }
  records_.clear();
  count_deltas_.clear();
  parts_.Clear();  // bounded by the parts of one step's counters
  quarters_.Clear();
  cached_quarter_id_ = kNoPartId;
  minute_deltas_.clear();
  return writes;
}

}  // namespace tori
