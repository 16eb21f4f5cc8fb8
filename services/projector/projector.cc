#include "services/projector/projector.h"

#include <algorithm>

#include "absl/time/civil_time.h"
#include "events/base/check.h"
#include "events/base/crc32c.h"
#include "events/base/fixed.h"
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

std::string EncodeInt(int64_t value) {
  std::string out;
  PutFixed64(out, static_cast<uint64_t>(value));
  return out;
}

std::string EncodeCounts(const ContactCounts& counts) {
  std::string out;
  out.reserve(24);
  for (int64_t v : {counts.contacts, counts.advisor_contacts, counts.advisor_time_s}) {
    PutFixed64(out, static_cast<uint64_t>(v));
  }
  return out;
}

std::string Seal(std::string_view key, std::string value) {
  const uint32_t crc = Crc32c(Crc32c(0, key.data(), key.size()), value.data(), value.size());
  PutFixed32(value, crc);
  return value;
}

absl::StatusOr<std::string_view> Unseal(const StateStore& state, std::string_view key,
                                        std::string_view value) {
  TORI_RETURN_IF_ERROR(KeyParts(state, key).status());
  if (value.size() >= 4) {
    const std::string_view bytes = value.substr(0, value.size() - 4);
    const uint32_t crc = Crc32c(Crc32c(0, key.data(), key.size()), bytes.data(), bytes.size());
    if (crc == DecodeFixed32(value.data() + bytes.size())) return bytes;
  }
  return state.Damaged("projection", key,
                       "a value ends with CRC-32C of its key and bytes (4 bytes), which does not "
                       "match");
}

std::string RecordKey(const events::AgencyRegistered& e) { return Key(kAgency, {e.agency_id()}); }
std::string RecordKey(const events::ServicePointOpened& e) {
  return Key(kPoint, {e.service_point_id()});
}
std::string RecordKey(const events::SpaceAllocated& e) {
  return Key(kSpace, {e.service_point_id(), e.effective_from()});
}
std::string RecordKey(const events::AgreementSigned& e) {
  return Key(kAgreement,
             {e.service_point_id(), e.agreement_id(), fmt::format("{:010d}", e.version())});
}
std::string RecordKey(const events::CostPosted& e) {
  // The period is checked by the codec; a damaged one gives no quarter, so the record
  // never matches its key.
  const absl::StatusOr<absl::CivilMonth> period = ParseMonth(e.period());
  return Key(kCost, {e.service_point_id(), period.ok() ? QuarterName(QuarterOf(*period)) : "",
                     e.pool(), e.cost_id()});
}
std::string RecordKey(const events::InvoiceIssued& e) {
  return Key(kInvoice, {e.quarter(), e.invoice_id()});
}
std::string RecordKey(const events::HostSharesIssued& e) {
  return Key(kHostShares, {e.quarter()});
}
std::string RecordKey(const events::ApprovalPolicySet& e) {
  return Key(kApprovalPolicy, {e.host_agency_id(), e.effective_from()});
}
std::string RecordKey(const events::QuarterPrepared& e) { return Key(kPrepared, {e.quarter()}); }
std::string RecordKey(const events::AgencySucceeded& e) {
  return Key(kSucceeded, {e.agency_id()});
}
std::string RecordKey(const events::SubsidyClaimIssued& e) {
  return Key(kClaim, {e.quarter(), e.claim_id()});
}

absl::StatusOr<std::vector<std::string_view>> KeyParts(const StateStore& state,
                                                       std::string_view key) {
  size_t parts_expected = 0;
  switch (key.empty() ? '\0' : key[0]) {
    case kAgency: case kPoint: case kHostShares: case kPrepared: case kSucceeded: case kReferral:
    case kBudget:
      parts_expected = 1; break;
    case kSpace: case kInvoice: case kClaim: case kApprovalPolicy: case kBookingRecord: case kRoom:
      parts_expected = 2; break;
    case kAgreement: case kBookings: parts_expected = 3; break;
    case kContacts: case kCost: case kMeasures: parts_expected = 4; break;
    default:
      return state.Damaged("projection", key, "unknown kind of record");
  }
  if (key.size() < 2 || key[1] != '\0') {
    return state.Damaged("projection", key, "the kind is followed by '\\0' and the key's parts");
  }
  std::vector<std::string_view> parts = SplitKey(key);
  const bool printable = std::all_of(parts.begin(), parts.end(), [](std::string_view part) {
    return !part.empty() &&
           std::all_of(part.begin(), part.end(), [](char c) { return c >= 0x20 && c <= 0x7e; });
  });
  if (parts.size() != parts_expected || !printable) {
    return state.Damaged(
        "projection", key,
        fmt::format("a key of this kind has {} parts, each 1+ printable ASCII bytes",
                    parts_expected));
  }
  return parts;
}

namespace {
int64_t Int64At(std::string_view value, size_t at) {
  return static_cast<int64_t>(DecodeFixed64(value.data() + at));
}
}  // namespace

absl::StatusOr<ContactCounts> ReadCounts(const StateStore& state, std::string_view key,
                                         std::string_view sealed) {
  TORI_ASSIGN_OR_RETURN(std::string_view value, Unseal(state, key, sealed));
  if (key[0] != kContacts || value.size() != 24) {
    return state.Damaged("projection", key,
                         "contact counters are 3 int64 (contacts, advisor_contacts, "
                         "advisor_time_s), 24 bytes");
  }
  const ContactCounts counts{Int64At(value, 0), Int64At(value, 8), Int64At(value, 16)};
  if (counts.contacts < 0 || counts.advisor_contacts < 0 || counts.advisor_time_s < 0 ||
      counts.advisor_contacts > counts.contacts) {
    return state.Damaged("projection", key,
                         "contact counters are not negative and advisor_contacts <= contacts");
  }
  return counts;
}

absl::StatusOr<int64_t> ReadMinutes(const StateStore& state, std::string_view key,
                                    std::string_view sealed) {
  TORI_ASSIGN_OR_RETURN(std::string_view value, Unseal(state, key, sealed));
  if ((key[0] != kBookings && key[0] != kMeasures) || value.size() != 8 ||
      Int64At(value, 0) < 0) {
    return state.Damaged("projection", key,
                         "booked minutes and measures are one int64 >= 0, 8 bytes");
  }
  return Int64At(value, 0);
}

absl::Status RecordDamaged(const StateStore& state, std::string_view key,
                           std::string_view record_type) {
  TORI_RETURN_IF_ERROR(KeyParts(state, key).status());
  return state.Damaged(
      "projection", key,
      fmt::format("the value is not the projector's encoding of a {} that belongs under this key",
                  record_type));
}

}  // namespace projection

std::string_view Projector::QuarterNameOf(int64_t unix_ns) {
  if (unix_ns < cached_quarter_start_ns_ || unix_ns >= cached_quarter_end_ns_) {
    const tori::Quarter quarter = QuarterOfInstant(absl::FromUnixNanos(unix_ns), helsinki_);
    cached_quarter_start_ns_ = absl::ToUnixNanos(QuarterStart(quarter, helsinki_));
    cached_quarter_end_ns_ = absl::ToUnixNanos(QuarterEnd(quarter, helsinki_));
    cached_quarter_ = QuarterName(quarter);
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
                           int64_t duration_s, int64_t occurred_at_unix_ns,
                           events::Channel channel, int sign) {
  std::string_view quarter = QuarterNameOf(occurred_at_unix_ns);
  // The quarter's id is kept with the quarter (contacts arrive roughly in time order).
  if (cached_quarter_id_ == kNoPartId) cached_quarter_id_ = quarters_.Id(quarter);
  // Points and (agency, service code) pairs are few: their ids come from a small map
  // that stays in the cache, and the counters are found under the ids alone (one map
  // keyed by the joined strings missed the cache twice a contact).
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
  if (channel == events::CHANNEL_VIDEO && duration_s != 0) {
    AddMeasure(point, occurred_at_unix_ns, agency, projection::kVideoTime, sign * duration_s);
  }
}

void Projector::AddContact(const events::ContactState& contact, int sign) {
  AddContact(contact.service_point_id(), contact.agency_id(), contact.service_code(),
             contact.handled_by(), contact.duration_s(), contact.occurred_at_unix_ns(),
             contact.channel(), sign);
}

void Projector::ApplyContact(const ContactRecordedView& contact) {
  AddContact(contact.service_point_id, contact.agency_id, contact.service_code, contact.handled_by,
             contact.duration_s, contact.occurred_at_unix_ns, contact.channel, +1);
}

absl::Status Projector::Apply(const events::Event& event, const ContactChange* contact) {
  using namespace projection;
  auto put = [this](const auto& record) {
    std::string key = RecordKey(record);
    std::string value = Seal(key, record.SerializeAsString());
    records_.insert_or_assign(std::move(key), std::move(value));
  };
  if (ApplySection9(event)) return absl::OkStatus();
  switch (event.payload_case()) {
    case events::Event::kAgencyRegistered:
      put(event.agency_registered());
      break;
    case events::Event::kAgencyUpdated:
      // Merged into the agency's record by TakeWrites, which may read the stored one.
      agency_updates_.push_back(event.agency_updated());
      break;
    case events::Event::kAgencySucceeded:
      put(event.agency_succeeded());
      break;
    case events::Event::kAccessGranted:
    case events::Event::kAccessRevoked:
      // The validator's index holds them ('T' and 'R' entries): tori serve reads them.
      break;
    case events::Event::kServicePointOpened:
      put(event.service_point_opened());
      break;
    case events::Event::kSpaceAllocated: {
      const auto& e = event.space_allocated();
      put(e);
      break;
    }
    case events::Event::kAgreementSigned: {
      const auto& e = event.agreement_signed();
      put(e);
      break;
    }
    case events::Event::kContactRecorded:
      ApplyContact(ContactViewOf(event));
      break;
    case events::Event::kContactCorrected:
      if (contact == nullptr || contact->before.voided() || contact->after.voided()) {
        return absl::InternalError("projector: a correction needs the contact's active state");
      }
      AddContact(contact->before, -1);
      AddContact(contact->after, +1);
      break;
    case events::Event::kContactVoided:
      if (contact == nullptr || contact->before.voided()) {
        return absl::InternalError("projector: a void needs the contact's active state");
      }
      AddContact(contact->before, -1);
      break;
    case events::Event::kCostPosted: {
      const auto& e = event.cost_posted();
      put(e);
      break;
    }
    case events::Event::kRoomBooked: {
      const auto& e = event.room_booked();
      // Whole minutes, floored, counted in the quarter the booking starts in.
      const int64_t minutes = (e.end_unix_ns() - e.start_unix_ns()) / (60 * int64_t{1'000'000'000});
      minute_deltas_[Key(kBookings, {e.service_point_id(), QuarterName(QuarterOfInstant(absl::FromUnixNanos(e.start_unix_ns()), helsinki_)),
                                     e.agency_id()})] += minutes;
      put(e);  // for room utilisation (SPEC section 9)
      break;
    }
    case events::Event::kInvoiceIssued:
      put(event.invoice_issued());
      break;
    case events::Event::kHostSharesIssued:
      put(event.host_shares_issued());
      break;
    case events::Event::kSubsidyClaimIssued:
      put(event.subsidy_claim_issued());
      break;
    case events::Event::kApprovalPolicySet:
      put(event.approval_policy_set());
      break;
    case events::Event::kQuarterPrepared:
      put(event.quarter_prepared());  // the quarter's latest preparation
      break;
    case events::Event::kQuarterApproved:
      break;  // the issued documents say the quarter is issued; the log keeps the names
    case events::Event::kRouteStopRecorded:
    case events::Event::kInterpretationProvided:
    case events::Event::kContactReferred:
    case events::Event::kRoomRegistered:
    case events::Event::kBudgetSet:
      break;  // ApplySection9 took them
    case events::Event::kCheckpointSigned:
      break;  // nothing to project: DIR/checkpoints is rebuilt from the log (tori proof)
    case events::Event::PAYLOAD_NOT_SET:
      return absl::InvalidArgumentError("projector: event without payload");
  }
  return absl::OkStatus();
}

absl::Status Projector::MergeAgencyUpdates(StateStore& state) {
  // In log order: the record registered in this batch, else the stored one (the
  // validator made sure the agency exists), with each update's fields replaced.
  using namespace projection;
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
    TORI_ASSIGN_OR_RETURN(events::AgencyRegistered agency,
                          ReadRecord<events::AgencyRegistered>(state, key, it->second));
    const auto& c = update.changes();
    if (c.has_name()) agency.set_name(c.name());
    if (c.has_business_id()) agency.set_business_id(c.business_id());
    if (c.has_einvoice_address()) agency.set_einvoice_address(c.einvoice_address());
    if (c.has_iban()) agency.set_iban(c.iban());
    if (c.has_bic()) agency.set_bic(c.bic());
    it->second = Seal(key, agency.SerializeAsString());
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
    int64_t minutes = 0;   // kBookings, kMeasures
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
      ContactCounts counts;
      if (stored) {
        TORI_ASSIGN_OR_RETURN(counts, projection::ReadCounts(state, counter.key, *stored));
      }
      counts.contacts += counter.counts.contacts;
      counts.advisor_contacts += counter.counts.advisor_contacts;
      counts.advisor_time_s += counter.counts.advisor_time_s;
      // A contact can only be taken back after it was counted: a stored counter below
      // what this batch takes back was damaged (or the contact's index entry was).
      if (counts.contacts < 0 || counts.advisor_contacts < 0 || counts.advisor_time_s < 0) {
        return state.Damaged("projection", counter.key,
                             "a counter holds at least the contacts taken back from it");
      }
      writes.emplace_back(counter.key,
                          projection::Seal(counter.key, projection::EncodeCounts(counts)));
    } else {
      int64_t minutes = 0;
      if (stored) {
        TORI_ASSIGN_OR_RETURN(minutes, projection::ReadMinutes(state, counter.key, *stored));
      }
      if (minutes + counter.minutes < 0) {  // video time taken back by a correction or void
        return state.Damaged("projection", counter.key,
                             "a measure holds at least what is taken back from it");
      }
      writes.emplace_back(counter.key,
                          projection::Seal(counter.key,
                                           projection::EncodeInt(minutes + counter.minutes)));
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
