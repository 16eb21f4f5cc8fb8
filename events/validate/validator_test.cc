// Pins the stateful rules of SPEC section 2: one test per reason code the validator
// gives, each checking the field and the message.
#include "events/validate/validator.h"

#include <map>
#include <random>
#include <set>

#include "fmt/format.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace tori {
namespace {

using ::testing::HasSubstr;

class MapIndex : public IndexLookup {
 public:
  absl::StatusOr<std::optional<std::string>> Get(std::string_view key) override {
    auto it = entries.find(std::string(key));
    if (it == entries.end()) return std::nullopt;
    return it->second;
  }
  std::map<std::string, std::string> entries;
};

const absl::Time kNow = absl::FromUnixSeconds(1775000000);  // 2026-03-31T23:33:20Z

// Seals the validator's batch; its writes, sorted (none when it wrote nothing).
std::vector<IndexWrite> SealedWrites(Validator& validator) {
  std::vector<IndexWrite> writes;
  if (auto sealed = validator.overlay().Seal()) {
    for (const auto& [key, value] : sealed->SortedWrites()) writes.emplace_back(key, value);
  }
  return writes;
}

// Seals the validator's batch and commits it to `index` at once, as AppendEvents does.
std::vector<IndexWrite> Commit(Validator& validator, MapIndex& index) {
  std::vector<IndexWrite> writes = SealedWrites(validator);
  for (const auto& [key, value] : writes) index.entries[key] = value;
  if (!writes.empty()) validator.overlay().Release(1);
  return writes;
}

// The validator's read-ahead of `batch`, as ingest's parse thread does it.
absl::StatusOr<IndexOverlay::ReadAheadEntries> ReadAhead(MapIndex& index, Validator& validator,
                                                         const std::vector<const events::Event*>& batch) {
  return IndexOverlay::ReadAhead(index, Validator::ReadAheadKeys(batch),
                                 validator.overlay().released_batches());
}

class ValidatorTest : public ::testing::Test {
 protected:
  // Feeds one JSON line; commits the index writes as a real ingest would.
  Verdict Feed(const std::string& line) {
    events::Event event;
    auto parse_rejection = parser_.Parse(line, event);
    EXPECT_FALSE(parse_rejection.has_value()) << parse_rejection->message;
    const std::string hash = Validator::ContentHash(event.SerializeAsString());
    auto verdict = validator_.Check(event, hash, rejection_);
    EXPECT_TRUE(verdict.ok());
    Commit(validator_, index_);
    return *verdict;
  }

  void ExpectRejected(const std::string& line, RejectReason reason, const std::string& field,
                      const std::string& message_part) {
    ASSERT_EQ(Feed(line), Verdict::kReject) << line;
    EXPECT_EQ(RejectReasonName(rejection_.reason), RejectReasonName(reason));
    EXPECT_EQ(rejection_.field, field);
    EXPECT_THAT(rejection_.message, HasSubstr(message_part));
  }

  void SetUpPoint() {
    ASSERT_EQ(Feed(R"({"event_id":"a1","type":"agency_registered","occurred_at":"2026-01-01T00:00:00Z","agency_id":"espoo","name":"Espoo","kind":"municipality","business_id":"0101263-6"})"),
              Verdict::kAccept);
    ASSERT_EQ(Feed(R"({"event_id":"a2","type":"agency_registered","occurred_at":"2026-01-01T00:00:00Z","agency_id":"kela","name":"Kela","kind":"kela","business_id":"0246246-0"})"),
              Verdict::kAccept);
    ASSERT_EQ(Feed(R"({"event_id":"p1","type":"service_point_opened","occurred_at":"2026-01-01T00:00:00Z","service_point_id":"iso","name":"Iso Omena","municipality":"Espoo","host_agency_id":"espoo","total_area_m2":"100.00"})"),
              Verdict::kAccept);
  }

  static std::string Contact(const std::string& event_id, const std::string& contact_id,
                             const std::string& agency = "kela", const std::string& point = "iso") {
    return R"({"event_id":")" + event_id +
           R"(","type":"contact_recorded","occurred_at":"2026-02-01T10:00:00Z","contact_id":")" +
           contact_id + R"(","service_point_id":")" + point + R"(","agency_id":")" + agency +
           R"(","service_code":"S","channel":"phone","handled_by":"shared_advisor","duration_s":60})";
  }

  MapIndex index_;
  JsonEventParser parser_;
  Validator validator_{index_, kNow, IndexOverlay::ReadAheads::kKeepForReadAheads};
  Rejection rejection_;
};

TEST_F(ValidatorTest, SameEventTwiceIsADuplicateNotARejection) {
  SetUpPoint();
  EXPECT_EQ(Feed(Contact("e1", "c1")), Verdict::kAccept);
  EXPECT_EQ(Feed(Contact("e1", "c1")), Verdict::kDuplicate);
}

TEST_F(ValidatorTest, SameEventIdWithOtherContentIsDuplicateConflict) {
  SetUpPoint();
  EXPECT_EQ(Feed(Contact("e1", "c1")), Verdict::kAccept);
  ExpectRejected(Contact("e1", "c2"), RejectReason::kDuplicateConflict, "event_id",
                 "different content");
}

TEST_F(ValidatorTest, ReusedEntityIdsAreDuplicateConflict) {
  SetUpPoint();
  EXPECT_EQ(Feed(Contact("e1", "c1")), Verdict::kAccept);
  ExpectRejected(Contact("e2", "c1"), RejectReason::kDuplicateConflict, "contact_id",
                 "contact 'c1' already exists");
  ExpectRejected(R"({"event_id":"a9","type":"agency_registered","occurred_at":"2026-01-01T00:00:00Z","agency_id":"kela","name":"Kela 2","kind":"kela","business_id":"0246246-0"})",
                 RejectReason::kDuplicateConflict, "agency_id", "agency 'kela' already exists");
}

TEST_F(ValidatorTest, UnknownReferencesNameTheField) {
  SetUpPoint();
  ExpectRejected(Contact("e1", "c1", "poliisi"), RejectReason::kUnknownReference, "agency_id",
                 "agency 'poliisi' is not known");
  ExpectRejected(Contact("e2", "c2", "kela", "nowhere"), RejectReason::kUnknownReference,
                 "service_point_id", "service point 'nowhere' is not known");
  ExpectRejected(R"({"event_id":"v1","type":"contact_voided","occurred_at":"2026-02-01T10:00:00Z","contact_id":"ghost","reason":"x"})",
                 RejectReason::kUnknownReference, "contact_id", "contact 'ghost' is not known");
}

// Issue #15.8: details are added to a registered agency only.
TEST_F(ValidatorTest, AnAgencyUpdateNeedsARegisteredAgency) {
  SetUpPoint();
  EXPECT_EQ(Feed(R"({"event_id":"u1","type":"agency_updated","occurred_at":"2026-02-01T10:00:00Z","agency_id":"espoo","changes":{"iban":"FI2112345600000785"}})"),
            Verdict::kAccept);
  ExpectRejected(R"({"event_id":"u2","type":"agency_updated","occurred_at":"2026-02-01T10:00:00Z","agency_id":"poliisi","changes":{"iban":"FI2112345600000785"}})",
                 RejectReason::kUnknownReference, "agency_id", "agency 'poliisi' is not known");
}

// SPEC section 8: a policy names a registered host; the same (host, date) again is
// accepted (it replaces the earlier policy in the projection).
TEST_F(ValidatorTest, AnApprovalPolicyNeedsARegisteredHost) {
  SetUpPoint();
  EXPECT_EQ(Feed(R"({"event_id":"y1","type":"approval_policy_set","occurred_at":"2026-02-01T10:00:00Z","host_agency_id":"espoo","required_approvals":2,"effective_from":"2026-01-01"})"),
            Verdict::kAccept);
  EXPECT_EQ(Feed(R"({"event_id":"y2","type":"approval_policy_set","occurred_at":"2026-02-01T10:00:00Z","host_agency_id":"espoo","required_approvals":1,"effective_from":"2026-01-01"})"),
            Verdict::kAccept);
  ExpectRejected(R"({"event_id":"y3","type":"approval_policy_set","occurred_at":"2026-02-01T10:00:00Z","host_agency_id":"poliisi","required_approvals":2,"effective_from":"2026-01-01"})",
                 RejectReason::kUnknownReference, "host_agency_id", "agency 'poliisi' is not known");
}

// Issue #17: a grant's token_id is new and its agency or point known; a revocation
// names a granted token_id, once.
TEST_F(ValidatorTest, AccessGrantsAndRevocationsFollowTheirRows) {
  SetUpPoint();
  const std::string hash(64, 'a');
  auto grant = [&](const std::string& event_id, const std::string& token_id, const std::string& rest) {
    return R"({"event_id":")" + event_id + R"(","type":"access_granted","occurred_at":"2026-02-01T10:00:00Z","token_id":")" +
           token_id + R"(","token_sha256":")" + hash + R"(",)" + rest + "}";
  };
  auto revoke = [](const std::string& event_id, const std::string& token_id) {
    return R"({"event_id":")" + event_id + R"(","type":"access_revoked","occurred_at":"2026-02-01T10:00:00Z","token_id":")" +
           token_id + R"("})";
  };
  EXPECT_EQ(Feed(grant("g1", "t1", R"("role":"agency","name":"Kela","agency_id":"kela")")), Verdict::kAccept);
  EXPECT_EQ(Feed(grant("g2", "t2", R"("role":"intake","name":"Desk","service_point_id":"iso")")), Verdict::kAccept);
  ExpectRejected(grant("g3", "t1", R"("role":"auditor","name":"A")"), RejectReason::kDuplicateConflict, "token_id",
                 "token_id 't1' already exists");
  ExpectRejected(grant("g4", "t4", R"("role":"agency","name":"P","agency_id":"poliisi")"),
                 RejectReason::kUnknownReference, "agency_id", "agency 'poliisi' is not known");
  ExpectRejected(grant("g5", "t5", R"("role":"intake","name":"D","service_point_id":"nowhere")"),
                 RejectReason::kUnknownReference, "service_point_id", "service point 'nowhere' is not known");
  // A grant a host made through the API names it: a known agency.
  EXPECT_EQ(Feed(grant("g6", "t6", R"("role":"agency","name":"K","agency_id":"kela","granted_by_agency_id":"espoo")")),
            Verdict::kAccept);
  ExpectRejected(grant("g7", "t7", R"("role":"agency","name":"K","agency_id":"kela","granted_by_agency_id":"lahti")"),
                 RejectReason::kUnknownReference, "granted_by_agency_id", "agency 'lahti' is not known");
  ExpectRejected(revoke("r0", "ghost"), RejectReason::kUnknownReference, "token_id",
                 "token_id 'ghost' is not known; send its access_granted event first");
  EXPECT_EQ(Feed(revoke("r1", "t1")), Verdict::kAccept);
  ExpectRejected(revoke("r2", "t1"), RejectReason::kDuplicateConflict, "token_id", "token_id 't1' is revoked already");
}

// SPEC section 8: both agencies known, a predecessor succeeded once, no loop.
TEST_F(ValidatorTest, SuccessionsNameKnownAgenciesOnceAndNeverLoop) {
  SetUpPoint();
  ASSERT_EQ(Feed(R"({"event_id":"a3","type":"agency_registered","occurred_at":"2026-01-01T00:00:00Z","agency_id":"vantaa","name":"Vantaa","kind":"municipality","business_id":"0124610-9"})"),
            Verdict::kAccept);
  auto succeeded = [](const std::string& event_id, const std::string& from, const std::string& to) {
    return R"({"event_id":")" + event_id + R"(","type":"agency_succeeded","occurred_at":"2026-02-01T10:00:00Z","agency_id":")" +
           from + R"(","successor_agency_id":")" + to + R"(","effective_from":"2026-01-01"})";
  };
  ExpectRejected(succeeded("s0", "te", "espoo"), RejectReason::kUnknownReference, "agency_id",
                 "agency 'te' is not known");
  ExpectRejected(succeeded("s1", "espoo", "tyo"), RejectReason::kUnknownReference, "successor_agency_id",
                 "agency 'tyo' is not known");
  EXPECT_EQ(Feed(succeeded("s2", "kela", "espoo")), Verdict::kAccept);
  ExpectRejected(succeeded("s3", "kela", "vantaa"), RejectReason::kDuplicateConflict, "agency_id",
                 "agency 'kela' is succeeded already");
  EXPECT_EQ(Feed(succeeded("s4", "espoo", "vantaa")), Verdict::kAccept);  // a line: kela, espoo, vantaa
  ExpectRejected(succeeded("s5", "vantaa", "kela"), RejectReason::kRange, "successor_agency_id",
                 "the successions would loop");
  ExpectRejected(succeeded("s6", "vantaa", "espoo"), RejectReason::kRange, "successor_agency_id",
                 "the successions would loop");
  EXPECT_EQ(index_.entries.at("Ukela"), "espoo");
}

TEST_F(ValidatorTest, AllocatedAreaAboveTotalIsRange) {
  SetUpPoint();
  ExpectRejected(R"({"event_id":"s1","type":"space_allocated","occurred_at":"2026-01-01T00:00:00Z","service_point_id":"iso","effective_from":"2026-01-01","allocations":[{"agency_id":"kela","area_m2":"60"},{"agency_id":"espoo","area_m2":"30"}],"shared_area_m2":"10.01"})",
                 RejectReason::kRange, "allocations", "exceeds the point's total area of 100.00 m2");
  EXPECT_EQ(Feed(R"({"event_id":"s2","type":"space_allocated","occurred_at":"2026-01-01T00:00:00Z","service_point_id":"iso","effective_from":"2026-01-01","allocations":[{"agency_id":"kela","area_m2":"60"},{"agency_id":"espoo","area_m2":"30"}],"shared_area_m2":"10"})"),
            Verdict::kAccept);
}

TEST_F(ValidatorTest, EventsMoreThanADayAheadAreClock) {
  SetUpPoint();
  ExpectRejected(R"({"event_id":"f1","type":"contact_voided","occurred_at":"2026-04-02T00:00:00Z","contact_id":"c","reason":"x"})",
                 RejectReason::kClock, "occurred_at", "more than 24 h");
}

TEST_F(ValidatorTest, VoidedContactCannotChangeAgain) {
  SetUpPoint();
  EXPECT_EQ(Feed(Contact("e1", "c1")), Verdict::kAccept);
  EXPECT_EQ(Feed(R"({"event_id":"v1","type":"contact_voided","occurred_at":"2026-02-01T10:00:00Z","contact_id":"c1","reason":"test"})"),
            Verdict::kAccept);
  ExpectRejected(R"({"event_id":"k1","type":"contact_corrected","occurred_at":"2026-02-01T10:00:00Z","contact_id":"c1","changes":{"duration_s":5},"reason":"x"})",
                 RejectReason::kInvalidState, "contact_id", "is voided");
  auto info = validator_.FindContact("c1");
  ASSERT_TRUE(info.ok() && info->has_value());
  EXPECT_TRUE((*info)->voided());
  EXPECT_EQ((*info)->service_point_id(), "iso");
  EXPECT_EQ((*info)->agency_id(), "kela");
}

TEST_F(ValidatorTest, AgreementVersionsAreUniqueAndStayOnTheirPoint) {
  SetUpPoint();
  const std::string agreement =
      R"({"event_id":"g1","type":"agreement_signed","occurred_at":"2026-01-01T00:00:00Z","agreement_id":"a","version":1,"service_point_id":"iso","effective_from":"2026-01-01","parties":["espoo","kela"],"pools":{"premises":{"tranches":[{"weight_pct":"100","key":"equal"}]}}})";
  EXPECT_EQ(Feed(agreement), Verdict::kAccept);
  std::string again = agreement;
  again.replace(again.find("g1"), 2, "g2");
  ExpectRejected(again, RejectReason::kDuplicateConflict, "version", "version 1 exists");
  std::string unknown_party = agreement;
  unknown_party.replace(unknown_party.find("g1"), 2, "g3");
  unknown_party.replace(unknown_party.find("\"version\":1"), 11, "\"version\":2");
  unknown_party.replace(unknown_party.find("\"kela\"]"), 6, "\"vero\"");
  ExpectRejected(unknown_party, RejectReason::kUnknownReference, "parties[1]",
                 "agency 'vero' is not known");
}

TEST_F(ValidatorTest, LaterEventsInABatchSeeEarlierOnes) {
  // No commit between the two: the pending entries answer.
  events::Event agency, point;
  ASSERT_FALSE(parser_.Parse(R"({"event_id":"a1","type":"agency_registered","occurred_at":"2026-01-01T00:00:00Z","agency_id":"espoo","name":"Espoo","kind":"municipality","business_id":"0101263-6"})", agency));
  ASSERT_FALSE(parser_.Parse(R"({"event_id":"p1","type":"service_point_opened","occurred_at":"2026-01-01T00:00:00Z","service_point_id":"iso","name":"Iso Omena","municipality":"Espoo","host_agency_id":"espoo","total_area_m2":"100.00"})", point));
  Rejection rejection;
  EXPECT_EQ(*validator_.Check(agency, Validator::ContentHash(agency.SerializeAsString()), rejection),
            Verdict::kAccept);
  EXPECT_EQ(*validator_.Check(point, Validator::ContentHash(point.SerializeAsString()), rejection),
            Verdict::kAccept);
  EXPECT_EQ(SealedWrites(validator_).size(), 4u);
}

TEST_F(ValidatorTest, AReadAheadSeesTheCommitsThatFollowedIt) {
  // Ingest looks a batch's entries up on its parse thread while earlier batches
  // commit: the commits the lookup missed must still answer.
  SetUpPoint();
  events::Event first, again, voided;
  ASSERT_FALSE(parser_.Parse(Contact("e1", "c1"), first));
  ASSERT_FALSE(parser_.Parse(Contact("e1", "c1"), again));
  ASSERT_FALSE(parser_.Parse(R"({"event_id":"e2","type":"contact_voided","occurred_at":"2026-02-02T10:00:00Z","contact_id":"c1","reason":"test"})", voided));
  auto ahead = ReadAhead(index_, validator_, {&again, &voided});
  ASSERT_TRUE(ahead.ok());
  EXPECT_FALSE(ahead->values[0].has_value());  // nothing of c1 or e1 was committed yet

  // Meanwhile the batch holding `first` commits.
  ASSERT_EQ(*validator_.Check(first, Validator::ContentHash(first.SerializeAsString()), rejection_),
            Verdict::kAccept);
  Commit(validator_, index_);

  ASSERT_TRUE(validator_.overlay().Prefetch(std::move(*ahead)).ok());
  EXPECT_EQ(*validator_.Check(again, Validator::ContentHash(again.SerializeAsString()), rejection_),
            Verdict::kDuplicate);
  EXPECT_EQ(*validator_.Check(voided, Validator::ContentHash(voided.SerializeAsString()), rejection_),
            Verdict::kAccept)
      << rejection_.message;  // c1 is known although the read-ahead did not see it
  ASSERT_TRUE(validator_.FindContact("c1").ok());
  EXPECT_TRUE(validator_.FindContact("c1")->value().voided());
}

TEST_F(ValidatorTest, SealedBatchesAnswerUntilTheStoreHoldsThem) {
  // Ingest commits several batches at once, later: until then the batches answer, the
  // newest first, for lookups and for read-aheads that did not see them.
  SetUpPoint();
  events::Event recorded, corrected, again, voided;
  ASSERT_FALSE(parser_.Parse(Contact("e1", "c1"), recorded));
  ASSERT_FALSE(parser_.Parse(R"({"event_id":"e2","type":"contact_corrected","occurred_at":"2026-02-02T10:00:00Z","contact_id":"c1","changes":{"agency_id":"espoo"},"reason":"test"})", corrected));
  ASSERT_FALSE(parser_.Parse(Contact("e1", "c1"), again));
  ASSERT_FALSE(parser_.Parse(R"({"event_id":"e3","type":"contact_voided","occurred_at":"2026-02-02T10:00:00Z","contact_id":"c1","reason":"test"})", voided));
  auto check = [&](const events::Event& event) {
    return *validator_.Check(event, Validator::ContentHash(event.SerializeAsString()), rejection_);
  };
  IndexOverlay& overlay = validator_.overlay();
  ASSERT_EQ(check(recorded), Verdict::kAccept);
  ASSERT_NE(overlay.Seal(), nullptr);
  // A read-ahead before the store holds anything of c1.
  auto ahead = ReadAhead(index_, validator_, {&again, &voided});
  ASSERT_TRUE(ahead.ok());
  ASSERT_EQ(check(corrected), Verdict::kAccept) << rejection_.message;  // c1 found sealed
  ASSERT_NE(overlay.Seal(), nullptr);
  ASSERT_EQ(overlay.Unreleased().size(), 2u);
  ASSERT_TRUE(validator_.FindContact("c1").ok());
  EXPECT_EQ(validator_.FindContact("c1")->value().agency_id(), "espoo");  // the newest batch

  // The first batch reaches the store; the read-ahead still sees both.
  for (auto& [k, v] : overlay.Unreleased()[0]->SortedWrites()) {
    index_.entries[std::string(k)] = std::string(v);
  }
  overlay.Release(1);
  ASSERT_EQ(overlay.Unreleased().size(), 1u);
  ASSERT_TRUE(overlay.Prefetch(std::move(*ahead)).ok());
  overlay.AtItem(0);
  EXPECT_EQ(check(again), Verdict::kDuplicate);
  overlay.AtItem(1);
  EXPECT_EQ(check(voided), Verdict::kAccept) << rejection_.message;
  EXPECT_EQ(validator_.FindContact("c1")->value().agency_id(), "espoo");
}

TEST(ValidatorOverlay, AReadAheadGetsTheNewestSealedValueOfEveryKey) {
  // The overlay of sealed batches on a read-ahead skips the runs of keys that the
  // other side lacks: whether ids come in sequence (disjoint runs) or at random
  // (interleaved), each prefetched key must see the newest sealed value, else the
  // store's.
  JsonEventParser parser;
  for (uint64_t seed = 1; seed <= 100; ++seed) {
    SCOPED_TRACE(fmt::format("seed {}", seed));
    std::mt19937_64 random(seed);
    const bool sequential = seed % 2 == 0;
    auto id = [&](uint64_t n) {
      return sequential ? fmt::format("c{:06d}", n) : fmt::format("c{:016x}", n * 0x9E3779B97F4A7C15u);
    };
    auto state_of = [](int64_t duration_s) {
      events::ContactState state;
      state.set_duration_s(duration_s);
      return state.SerializeAsString();
    };
    MapIndex index;
    Validator validator(index, kNow, IndexOverlay::ReadAheads::kKeepForReadAheads);
    std::map<std::string, int64_t> expected;  // by key: the duration the newest write gave
    for (uint64_t n = 0; n < 400; n += 1 + random() % 3) {
      index.entries["C" + id(n)] = state_of(1);
      expected["C" + id(n)] = 1;
    }
    for (int b = 0; b < 6; ++b) {
      std::map<std::string, std::string> writes;
      const uint64_t start = 400 + 300 * static_cast<uint64_t>(b);
      for (uint64_t n = start; n < start + 300; n += 1 + random() % 2) writes["C" + id(n)] = "";
      for (int i = 0; i < 20; ++i) writes["C" + id(random() % (start + 300))] = "";  // rewrites
      for (auto& [key, value] : writes) {
        validator.overlay().Put(key, state_of(10 + b));
        expected[key] = 10 + b;
      }
      ASSERT_NE(validator.overlay().Seal(), nullptr);
    }
    std::vector<events::Event> voids(300);
    std::vector<const events::Event*> batch;
    for (auto& event : voids) {
      const std::string contact = id(random() % 2400);
      ASSERT_FALSE(parser.Parse(fmt::format(R"({{"event_id":"v-{}","type":"contact_voided","occurred_at":"2026-02-01T10:00:00Z","contact_id":"{}","reason":"r"}})",
                                            &event - voids.data(), contact),
                                event));
      batch.push_back(&event);
    }
    auto ahead = ReadAhead(index, validator, batch);
    ASSERT_TRUE(ahead.ok());
    ASSERT_TRUE(validator.overlay().Prefetch(std::move(*ahead)).ok());
    for (const events::Event* event : batch) {
      const std::string& contact = event->contact_voided().contact_id();
      auto found = validator.FindContact(contact);
      ASSERT_TRUE(found.ok());
      auto it = expected.find("C" + contact);
      ASSERT_EQ(found->has_value(), it != expected.end()) << contact;
      if (it != expected.end()) {
        EXPECT_EQ((*found)->duration_s(), it->second) << contact;
      }
    }
  }
}

TEST_F(ValidatorTest, AReadAheadFindsSealedKeysThatShareLongPrefixes) {
  // Prefetch lays sealed batches over a read-ahead comparing 24-byte key prefixes
  // first: ids that share them, or end inside them, must still match exactly.
  SetUpPoint();
  const std::vector<std::string> ids = {std::string(30, 'c') + "0", std::string(30, 'c') + "2",
                                        std::string(23, 'c'), std::string(24, 'c'), "c"};
  std::vector<events::Event> recorded(ids.size()), voided(ids.size() + 1);
  std::vector<const events::Event*> batch;
  for (size_t i = 0; i <= ids.size(); ++i) {
    const std::string id = i < ids.size() ? ids[i] : std::string(30, 'c') + "1";
    if (i < ids.size()) {
      ASSERT_FALSE(parser_.Parse(Contact(fmt::format("e{}", i), id), recorded[i]));
    }
    ASSERT_FALSE(parser_.Parse(fmt::format(R"({{"event_id":"v{}","type":"contact_voided","occurred_at":"2026-02-02T10:00:00Z","contact_id":"{}","reason":"test"}})", i, id), voided[i]));
    batch.push_back(&voided[i]);
  }
  auto ahead = ReadAhead(index_, validator_, batch);
  ASSERT_TRUE(ahead.ok());
  for (const auto& event : recorded) {
    ASSERT_EQ(*validator_.Check(event, Validator::ContentHash(event.SerializeAsString()), rejection_),
              Verdict::kAccept);
  }
  ASSERT_NE(validator_.overlay().Seal(), nullptr);
  ASSERT_TRUE(validator_.overlay().Prefetch(std::move(*ahead)).ok());
  for (size_t i = 0; i < voided.size(); ++i) {
    validator_.overlay().AtItem(i);
    const auto verdict =
        validator_.Check(voided[i], Validator::ContentHash(voided[i].SerializeAsString()), rejection_);
    ASSERT_TRUE(verdict.ok());
    if (i < ids.size()) {
      EXPECT_EQ(*verdict, Verdict::kAccept) << ids[i] << ": " << rejection_.message;
    } else {
      EXPECT_EQ(*verdict, Verdict::kReject);  // never recorded: the prefix is no match
      EXPECT_EQ(rejection_.reason, RejectReason::kUnknownReference);
    }
  }
}

TEST_F(ValidatorTest, APrefetchedEntryIsFoundByPositionAndByKey) {
  // Ingest names the event it checks (AtItem) so that its entries are found by
  // position; a lookup of another event's key must still find that key's entry.
  SetUpPoint();
  events::Event first, second, reused_id;
  ASSERT_FALSE(parser_.Parse(Contact("e5", "c5"), first));
  ASSERT_FALSE(parser_.Parse(Contact("e6", "c6"), second));
  ASSERT_FALSE(parser_.Parse(Contact("e5", "c7"), reused_id));
  auto check = [&](const events::Event& event) {
    return *validator_.Check(event, Validator::ContentHash(event.SerializeAsString()), rejection_);
  };
  const IndexOverlay::ReadAheadKeys keys = Validator::ReadAheadKeys({&first, &second});
  ASSERT_EQ(keys.sorted.size(), 4u);
  for (size_t e = 0; e < 2; ++e) {
    const std::string id = e == 0 ? "5" : "6";
    std::vector<std::string> own = {keys.sorted[keys.of_item[e][0]],
                                    keys.sorted[keys.of_item[e][1]]};
    std::sort(own.begin(), own.end());
    EXPECT_EQ(own, (std::vector<std::string>{"Cc" + id, "Ee" + id})) << e;
  }
  auto ahead = IndexOverlay::ReadAhead(index_, keys, validator_.overlay().released_batches());
  ASSERT_TRUE(ahead.ok());
  ASSERT_TRUE(validator_.overlay().Prefetch(std::move(*ahead)).ok());
  validator_.overlay().AtItem(0);
  ASSERT_EQ(check(first), Verdict::kAccept) << rejection_.message;
  validator_.overlay().AtItem(1);
  EXPECT_EQ(check(reused_id), Verdict::kReject);  // e5 is first's, found by its key
  EXPECT_EQ(rejection_.field, "event_id");
  ASSERT_EQ(check(second), Verdict::kAccept) << rejection_.message;
  std::vector<IndexWrite> writes = SealedWrites(validator_);
  ASSERT_EQ(writes.size(), 4u);  // each entry once, in key order
  for (size_t i = 1; i < writes.size(); ++i) EXPECT_LT(writes[i - 1].first, writes[i].first);
}

TEST_F(ValidatorTest, AnotherEventsLongKeyIsNotTakenForTheOnesAtItsPosition) {
  // Entries found by position are checked to be the event's own by size and 24-byte
  // prefix; keys longer than that, equal in both, must compare whole.
  SetUpPoint();
  const std::string id(40, 'x');
  events::Event first, second, reused_id;
  ASSERT_FALSE(parser_.Parse(Contact(id + "1", id + "c1"), first));
  ASSERT_FALSE(parser_.Parse(Contact(id + "2", id + "c2"), second));
  ASSERT_FALSE(parser_.Parse(Contact(id + "1", id + "c3"), reused_id));
  auto check = [&](const events::Event& event) {
    return *validator_.Check(event, Validator::ContentHash(event.SerializeAsString()), rejection_);
  };
  auto ahead = ReadAhead(index_, validator_, {&first, &second});
  ASSERT_TRUE(ahead.ok());
  ASSERT_TRUE(validator_.overlay().Prefetch(std::move(*ahead)).ok());
  validator_.overlay().AtItem(0);
  ASSERT_EQ(check(first), Verdict::kAccept) << rejection_.message;
  validator_.overlay().AtItem(1);
  EXPECT_EQ(check(reused_id), Verdict::kReject);  // first's event_id, not second's
  EXPECT_EQ(rejection_.field, "event_id");
  ASSERT_EQ(check(second), Verdict::kAccept) << rejection_.message;
  EXPECT_EQ(SealedWrites(validator_).size(), 4u);
}

TEST_F(ValidatorTest, AReplayReadsTheBatchThatIsStillCommitting) {
  // Replays commit a batch on another thread while they record the next one: a void
  // of a contact from that batch must find it before the store has it.
  SetUpPoint();
  Validator replay(index_, kNow);
  events::Event recorded, voided;
  ASSERT_FALSE(parser_.Parse(Contact("e1", "c1"), recorded));
  ASSERT_FALSE(parser_.Parse(R"({"event_id":"e2","type":"contact_voided","occurred_at":"2026-02-02T10:00:00Z","contact_id":"c1","reason":"test"})", voided));
  ASSERT_TRUE(replay.Record(recorded, "hash").ok());
  auto sealed = replay.overlay().Seal();  // committing, not in index_ yet
  ContactChange change;
  ASSERT_TRUE(replay.Record(voided, "hash2", &change).ok());
  EXPECT_FALSE(change.before.voided());
  EXPECT_TRUE(change.after.voided());
  ASSERT_TRUE(replay.FindContact("c1").ok());
  EXPECT_TRUE(replay.FindContact("c1")->value().voided());  // the newer batch wins

  // The sealed batch holds what the first event wrote, sorted, for the commit.
  const auto writes = sealed->SortedWrites();
  ASSERT_EQ(writes.size(), 2u);
  EXPECT_LT(writes[0].first, writes[1].first);
  for (const auto& [key, value] : writes) index_.entries[std::string(key)] = std::string(value);

  // Released once committed: the store answers from then on; without the sealed
  // batch, a contact the store lacks is unknown.
  replay.overlay().Release(1);
  ASSERT_NE(replay.overlay().Seal(), nullptr);  // the void's batch, released as if stored
  replay.overlay().Release(1);
  index_.entries.clear();
  EXPECT_FALSE(replay.Record(voided, "hash3").ok());
}

TEST_F(ValidatorTest, AnEventsReadAheadKeysAreItsIdAndTheEntityItCreatesOrChanges) {
  // Each event knows where its keys went among the batch's sorted keys; a repeated
  // event shares the first's.
  SetUpPoint();
  std::vector<std::string> lines = {
      Contact("e1", "c1"),
      R"({"event_id":"v1","type":"contact_voided","occurred_at":"2026-02-02T10:00:00Z","contact_id":"c0","reason":"test"})",
      R"({"event_id":"k1","type":"cost_posted","occurred_at":"2026-02-01T00:00:00Z","cost_id":"rent","service_point_id":"iso","pool":"premises","period":"2026-01","amount":"10.00","description":"d"})",
      Contact("e1", "c1")};
  std::vector<events::Event> events(lines.size());
  std::vector<const events::Event*> batch;
  for (size_t i = 0; i < lines.size(); ++i) {
    ASSERT_FALSE(parser_.Parse(lines[i], events[i])) << lines[i];
    batch.push_back(&events[i]);
  }
  const IndexOverlay::ReadAheadKeys keys = Validator::ReadAheadKeys(batch);
  const std::vector<std::pair<std::string, std::string>> expected = {
      {"Ee1", "Cc1"}, {"Ev1", "Cc0"}, {"Ek1", "Krent"}, {"Ee1", "Cc1"}};
  ASSERT_EQ(keys.of_item.size(), expected.size());
  for (size_t e = 0; e < expected.size(); ++e) {
    EXPECT_EQ(keys.sorted[keys.of_item[e][0]], expected[e].first) << e;
    EXPECT_EQ(keys.sorted[keys.of_item[e][1]], expected[e].second) << e;
  }
  EXPECT_EQ(keys.sorted.size(), 6u);
}

TEST_F(ValidatorTest, AStoredEntryThatBreaksItsKindsRuleIsDataLossNamingItsKey) {
  SetUpPoint();
  ASSERT_EQ(Feed(Contact("e1", "c1")), Verdict::kAccept);
  // An event_id's hash cut short: the same event again was a DUPLICATE_CONFLICT.
  index_.entries["Ee1"].resize(15);
  events::Event event;
  ASSERT_FALSE(parser_.Parse(Contact("e1", "c1"), event).has_value());
  auto verdict = validator_.Check(event, Validator::ContentHash(event.SerializeAsString()), rejection_);
  EXPECT_TRUE(absl::IsDataLoss(verdict.status())) << verdict.status();
  EXPECT_THAT(std::string(verdict.status().message()), HasSubstr("'Ee1'"));
  // A point's entry too short for its area: an abort before.
  index_.entries["Piso"] = "abc";
  ASSERT_FALSE(parser_.Parse(R"({"event_id":"s1","type":"space_allocated","occurred_at":"2026-01-01T00:00:00Z","service_point_id":"iso","effective_from":"2026-01-01","allocations":[{"agency_id":"kela","area_m2":"10"}],"shared_area_m2":"10"})", event).has_value());
  Validator fresh(index_, kNow);  // the first has the point in its cache
  verdict = fresh.Check(event, Validator::ContentHash(event.SerializeAsString()), rejection_);
  EXPECT_TRUE(absl::IsDataLoss(verdict.status())) << verdict.status();
  EXPECT_THAT(std::string(verdict.status().message()), HasSubstr("'Piso'"));
}

TEST(IndexEntryProblem, EachKindHasItsRule) {
  EXPECT_EQ(IndexEntryProblem("Ee1", std::string(16, 'h')), nullptr);
  EXPECT_NE(IndexEntryProblem("Ee1", std::string(17, 'h')), nullptr);
  EXPECT_EQ(IndexEntryProblem("Aespoo", ""), nullptr);
  EXPECT_NE(IndexEntryProblem("Aespoo", "x"), nullptr);
  EXPECT_NE(IndexEntryProblem("Ccontact", "\xff\xff\xff"), nullptr);
  EXPECT_NE(IndexEntryProblem("Q1", ""), nullptr);
  EXPECT_NE(IndexEntryProblem("E", std::string(16, 'h')), nullptr);
}

}  // namespace
}  // namespace tori
