#include "events/validate/validator.h"

#include <xxhash.h>

#include <cstring>

#include "events/base/check.h"
#include "events/base/fixed.h"
#include "events/validate/internal/event_rules.h"
#include "fmt/format.h"

namespace tori {
namespace {

namespace keys = index_keys;

constexpr absl::Duration kFutureSlack = absl::Hours(24);

}  // namespace

void ApplyCorrection(const events::ContactChanges& changes, events::ContactState& state) {
  if (changes.has_agency_id()) state.set_agency_id(changes.agency_id());
  if (changes.has_service_code()) state.set_service_code(changes.service_code());
  if (changes.has_handled_by()) state.set_handled_by(changes.handled_by());
  if (changes.has_duration_s()) state.set_duration_s(changes.duration_s());
  // The key video_time (SPEC section 9) depends on the channel.
  if (changes.has_channel()) state.set_channel(changes.channel());
}

void Validator::ContentHash(std::string_view encoded, std::array<char, 16>& hash) {
  const XXH128_hash_t h = XXH3_128bits(encoded.data(), encoded.size());
  EncodeFixed64(hash.data(), h.low64);
  EncodeFixed64(hash.data() + 8, h.high64);
}

std::string Validator::ContentHash(std::string_view encoded) {
  std::array<char, 16> hash;
  ContentHash(encoded, hash);
  return std::string(hash.data(), hash.size());
}

// --- Read-ahead keys ---

void Validator::ReadAheadKeysOf(const events::Event& event, uint32_t item,
                                std::vector<std::string>& keys, std::vector<uint32_t>& owner) {
  if (event.has_contact_recorded()) return ReadAheadKeysOf(ContactViewOf(event), item, keys, owner);
  keys.push_back(keys::Key(keys::kEventId, event.event_id()));
  owner.push_back(2 * item);
  const rules::EventRules* rules = rules::RulesOf(event.payload_case());
  if (rules == nullptr) return;
  if (rules->changes_contact != nullptr) {
    keys.push_back(keys::Key(keys::kContact, *rules->changes_contact(event)));
    owner.push_back(2 * item + 1);
  } else if (rules->creates != nullptr) {
    keys.push_back(std::move(rules->creates(event)->key));
    owner.push_back(2 * item + 1);
  }
}

void Validator::ReadAheadKeysOf(const ContactRecordedView& contact, uint32_t item,
                                std::vector<std::string>& keys, std::vector<uint32_t>& owner) {
  keys.push_back(keys::Key(keys::kEventId, contact.event_id));
  owner.push_back(2 * item);
  keys.push_back(keys::Key(keys::kContact, contact.contact_id));
  owner.push_back(2 * item + 1);
}

IndexOverlay::ReadAheadKeys Validator::ReadAheadKeys(
    const std::vector<const events::Event*>& batch) {
  std::vector<std::string> keys;
  std::vector<uint32_t> owner;
  keys.reserve(2 * batch.size());
  owner.reserve(2 * batch.size());
  for (size_t i = 0; i < batch.size(); ++i) {
    ReadAheadKeysOf(*batch[i], static_cast<uint32_t>(i), keys, owner);
  }
  return IndexOverlay::SortKeys(std::move(keys), owner, batch.size());
}

// --- Lookups ---

absl::StatusOr<std::optional<events::ContactState>> Validator::FindContact(
    std::string_view contact_id) {
  const std::string key = keys::Key(keys::kContact, contact_id);
  TORI_ASSIGN_OR_RETURN(auto value, overlay_.Get(key));
  if (!value) return std::nullopt;
  events::ContactState state;
  if (!state.ParseFromString(*value)) {
    return overlay_.store().Damaged(key, "a contact's entry is its encoded state (ContactState)");
  }
  return state;
}

absl::StatusOr<std::optional<Rejection>> Validator::MustExist(char kind, std::string_view id,
                                                             std::string_view field) {
  TORI_ASSIGN_OR_RETURN(auto value, overlay_.Get(keys::Key(kind, id)));
  if (value) return std::nullopt;
  return rules::NotKnown(rules::Reference{kind, id, field});
}

// --- Judging ---

std::optional<Verdict> Validator::JudgeEnvelope(std::string_view event_id,
                                                int64_t occurred_at_unix_ns,
                                                const std::optional<std::string>& known_hash,
                                                std::string_view content_hash,
                                                Rejection& rejection) const {
  // Idempotency: the same event_id with the same content is accepted once.
  if (known_hash) {
    if (*known_hash == content_hash) return Verdict::kDuplicate;
    rejection = Rejection{RejectReason::kDuplicateConflict, "event_id",
                          fmt::format("event_id '{}' was accepted before with different "
                                      "content; send a correction event with a new event_id "
                                      "instead",
                                      event_id)};
    return Verdict::kReject;
  }
  // The clock.
  if (absl::FromUnixNanos(occurred_at_unix_ns) > now_ + kFutureSlack) {
    rejection = Rejection{RejectReason::kClock, "occurred_at",
                          fmt::format("occurred_at {} is more than 24 h after the ingest clock {}",
                                      FormatInstant(occurred_at_unix_ns),
                                      FormatInstant(absl::ToUnixNanos(now_)))};
    return Verdict::kReject;
  }
  return std::nullopt;
}

absl::StatusOr<std::optional<Rejection>> Validator::JudgeRules(
    const events::Event& event, std::optional<events::ContactState>& contact_before) {
  const rules::EventRules* rules = rules::RulesOf(event.payload_case());
  if (rules == nullptr) return std::nullopt;
  // 1. Must be new.
  if (rules->creates != nullptr) {
    std::optional<rules::Created> created = rules->creates(event);
    TORI_ASSIGN_OR_RETURN(auto known, overlay_.Get(created->key));
    if (known) {
      return Rejection{RejectReason::kDuplicateConflict, std::move(created->field),
                       std::move(created->message)};
    }
  }
  // 2. Must be an active contact.
  if (rules->changes_contact != nullptr) {
    const std::string& contact_id = *rules->changes_contact(event);
    TORI_ASSIGN_OR_RETURN(contact_before, FindContact(contact_id));
    if (!contact_before) {
      return rules::NotKnown(rules::Reference{keys::kContact, contact_id, "contact_id"});
    }
    if (contact_before->voided()) {
      return Rejection{RejectReason::kInvalidState, "contact_id",
                       fmt::format("contact '{}' is voided; a voided contact cannot be {}",
                                   contact_id, rules->voided_contact_cannot_be)};
    }
  }
  // 3. Must exist.
  if (rules->references != nullptr) {
    std::vector<rules::Reference> references;
    rules->references(event, references);
    for (const rules::Reference& reference : references) {
      TORI_ASSIGN_OR_RETURN(auto value, overlay_.Get(keys::Key(reference.kind, reference.id)));
      if (!value) return rules::NotKnown(reference);
    }
  }
  // 4. More.
  if (rules->more != nullptr) return rules->more(event, overlay_);
  return std::nullopt;
}

void Validator::WriteEntities(const events::Event& event,
                              const std::optional<events::ContactState>& contact_before,
                              ContactChange* change) {
  const rules::EventRules* rules = rules::RulesOf(event.payload_case());
  if (rules == nullptr) return;
  if (rules->creates != nullptr) {
    std::optional<rules::Created> created = rules->creates(event);
    overlay_.Put(std::move(created->key), std::move(created->value));
  }
  if (rules->changes_contact != nullptr) {
    TORI_CHECK(contact_before.has_value());
    events::ContactState after = *contact_before;
    rules->change(event, after);
    std::string value;
    AppendEncoded(after, value);
    overlay_.Put(keys::Key(keys::kContact, *rules->changes_contact(event)), std::move(value));
    if (change != nullptr) *change = ContactChange{*contact_before, std::move(after)};
  }
  if (rules->also_writes != nullptr) {
    std::vector<IndexWrite> writes;
    rules->also_writes(event, writes);
    for (auto& [key, value] : writes) overlay_.Put(std::move(key), std::move(value));
  }
}

absl::StatusOr<Verdict> Validator::Check(const events::Event& event,
                                         std::string_view content_hash, Rejection& rejection,
                                         ContactChange* change) {
  if (event.has_contact_recorded()) {
    return CheckContact(ContactViewOf(event), content_hash, rejection);
  }
  std::string id_key = keys::Key(keys::kEventId, event.event_id());
  TORI_ASSIGN_OR_RETURN(auto known_hash, overlay_.Get(id_key));
  if (auto verdict = JudgeEnvelope(event.event_id(), event.occurred_at_unix_ns(), known_hash,
                                   content_hash, rejection)) {
    return *verdict;
  }
  std::optional<events::ContactState> contact_before;
  TORI_ASSIGN_OR_RETURN(std::optional<Rejection> problem, JudgeRules(event, contact_before));
  if (problem) {
    rejection = std::move(*problem);
    return Verdict::kReject;
  }
  overlay_.Put(std::move(id_key), std::string(content_hash));
  WriteEntities(event, contact_before, change);
  return Verdict::kAccept;
}

absl::StatusOr<Verdict> Validator::CheckContact(const ContactRecordedView& contact,
                                                std::string_view content_hash,
                                                Rejection& rejection) {
  // The rules of contact_recorded (internal/event_rules.h), applied to the view: the
  // hot path of every ingest. The event's own entries, where the read-ahead placed them
  // (IndexOverlay::AtItem), are read and written there, without making their keys.
  IndexOverlay::Entry* id_entry = overlay_.ItemEntry(0, keys::kEventId, contact.event_id);
  IndexOverlay::Entry* contact_entry =
      id_entry != nullptr ? overlay_.ItemEntry(1, keys::kContact, contact.contact_id) : nullptr;
  if (contact_entry == nullptr) id_entry = nullptr;
  std::optional<std::string> looked_up;
  if (id_entry == nullptr) {
    TORI_ASSIGN_OR_RETURN(looked_up, overlay_.Get(keys::Key(keys::kEventId, contact.event_id)));
  }
  if (auto verdict = JudgeEnvelope(contact.event_id, contact.occurred_at_unix_ns,
                                   id_entry ? id_entry->value : looked_up, content_hash,
                                   rejection)) {
    return *verdict;
  }
  // 1. Must be new.
  if (contact_entry == nullptr) {
    TORI_ASSIGN_OR_RETURN(looked_up, overlay_.Get(keys::Key(keys::kContact, contact.contact_id)));
  }
  if (contact_entry ? contact_entry->value.has_value() : looked_up.has_value()) {
    rejection = Rejection{RejectReason::kDuplicateConflict, "contact_id",
                          rules::ContactAlreadyExists(contact.contact_id)};
    return Verdict::kReject;
  }
  // 3. Must exist.
  for (const rules::Reference& reference : rules::ContactReferences(contact)) {
    TORI_ASSIGN_OR_RETURN(auto value, overlay_.Get(keys::Key(reference.kind, reference.id)));
    if (!value) {
      rejection = rules::NotKnown(reference);
      return Verdict::kReject;
    }
  }
  std::string state;
  AppendEncodedNewContactState(contact, state);
  if (id_entry != nullptr) {
    IndexOverlay::PutAt(*id_entry, std::string(content_hash));
    IndexOverlay::PutAt(*contact_entry, std::move(state));
  } else {
    overlay_.Put(keys::Key(keys::kEventId, contact.event_id), std::string(content_hash));
    overlay_.Put(keys::Key(keys::kContact, contact.contact_id), std::move(state));
  }
  return Verdict::kAccept;
}

// --- Recording (replays) ---

absl::Status Validator::Record(const events::Event& event, std::string_view content_hash,
                               ContactChange* change) {
  // Replayed events are unique by event_id (ingest checked them; ReplayedIds skips
  // copies): their entries are only written, never looked up.
  overlay_.PutUnread(keys::Key(keys::kEventId, event.event_id()), std::string(content_hash));
  return RecordEntities(event, change);
}

void Validator::RecordContact(const ContactRecordedView& contact, std::string_view content_hash) {
  overlay_.PutUnread(keys::Key(keys::kEventId, contact.event_id), std::string(content_hash));
  RecordContactEntities(contact);
}

void Validator::RecordContactEntities(const ContactRecordedView& contact) {
  std::string state;
  AppendEncodedNewContactState(contact, state);
  overlay_.Put(keys::Key(keys::kContact, contact.contact_id), std::move(state));
}

absl::Status Validator::RecordEntities(const events::Event& event, ContactChange* change) {
  if (event.has_contact_recorded()) {
    RecordContactEntities(ContactViewOf(event));
    return absl::OkStatus();
  }
  const rules::EventRules* rules = rules::RulesOf(event.payload_case());
  std::optional<events::ContactState> contact_before;
  if (rules != nullptr && rules->changes_contact != nullptr) {
    const std::string& contact_id = *rules->changes_contact(event);
    TORI_ASSIGN_OR_RETURN(contact_before, FindContact(contact_id));
    if (!contact_before) {
      return absl::DataLossError(
          fmt::format("the log changes contact '{}' that the index lacks", contact_id));
    }
  }
  WriteEntities(event, contact_before, change);
  return absl::OkStatus();
}

absl::StatusOr<bool> Validator::KnowsEventId(std::string_view event_id) {
  TORI_ASSIGN_OR_RETURN(auto value, overlay_.Get(keys::Key(keys::kEventId, event_id)));
  return value.has_value();
}

absl::StatusOr<bool> Validator::KnowsCreatedEntity(const events::Event& event) {
  std::string key;
  if (!CreatedEntityKey(event, key)) return false;
  TORI_ASSIGN_OR_RETURN(auto value, overlay_.Get(key));
  return value.has_value();
}

absl::StatusOr<bool> Validator::KnowsCreatedEntity(const ContactRecordedView& contact) {
  TORI_ASSIGN_OR_RETURN(auto value, overlay_.Get(keys::Key(keys::kContact, contact.contact_id)));
  return value.has_value();
}

bool Validator::CreatedEntityKey(const events::Event& event, std::string& key) {
  if (event.has_contact_recorded()) {
    CreatedEntityKey(ContactViewOf(event), key);
    return true;
  }
  const rules::EventRules* rules = rules::RulesOf(event.payload_case());
  if (rules == nullptr || rules->creates == nullptr) return false;
  key = std::move(rules->creates(event)->key);
  return true;
}

void Validator::CreatedEntityKey(const ContactRecordedView& contact, std::string& key) {
  key.assign(1, keys::kContact);
  key.append(contact.contact_id);
}

ReplayedIds::ReplayedIds(size_t records_expected) {
  event_ids_.reserve(records_expected);
  size_t bits = size_t{1} << 16;
  while (bits < 16 * records_expected) bits *= 2;
  entity_bits_.assign(bits / 64, 0);
  entity_bit_mask_ = bits - 1;
}

ReplayedIds::Copy ReplayedIds::Judge(const events::Event& event) {
  return Judge(event.event_id(), Validator::CreatedEntityKey(event, key_));
}

ReplayedIds::Copy ReplayedIds::Judge(const ContactRecordedView& contact) {
  Validator::CreatedEntityKey(contact, key_);
  return Judge(contact.event_id, true);
}

ReplayedIds::Copy ReplayedIds::Judge(std::string_view event_id, bool creates_entity) {
  const XXH128_hash_t id = XXH3_128bits(event_id.data(), event_id.size());
  // The event id counts from its first record on, whether that record was applied or
  // not: every replica skips the same records.
  if (!event_ids_.insert(absl::MakeUint128(id.high64, id.low64)).second) {
    return Copy::kRepeatedEventId;
  }
  if (!creates_entity) return Copy::kFirst;
  const uint64_t hash = XXH3_64bits(key_.data(), key_.size());
  bool all_set = true;
  for (uint64_t probe : {hash, (hash >> 32) | (hash << 32)}) {
    const uint64_t bit = probe & entity_bit_mask_;
    uint64_t& word = entity_bits_[bit / 64];
    all_set = all_set && (word >> (bit % 64) & 1) != 0;
    word |= uint64_t{1} << (bit % 64);
  }
  return all_set ? Copy::kEntityPerhapsTaken : Copy::kFirst;
}

}  // namespace tori
