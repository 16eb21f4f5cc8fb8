// The projector: Europe/Helsinki quarters, incremental corrections and voids, and a
// projection that does not depend on the order of unrelated events.
#include "services/projector/projector.h"

#include <filesystem>
#include <fstream>
#include <random>

#include "events/log/embedded_log.h"
#include "fmt/format.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/ingest/ingest.h"

namespace tori {
namespace {

namespace fs = std::filesystem;

int64_t Ns(const char* rfc3339) {
  absl::Time t;
  std::string error;
  EXPECT_TRUE(absl::ParseTime(absl::RFC3339_full, rfc3339, &t, &error)) << error;
  return absl::ToUnixNanos(t);
}

// Helsinki quarters of instants and months: events/base/calendar_test.cc.

class ProjectorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           fmt::format("tori-projector-test-{}-{}", ::getpid(),
                       ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Ingests `lines` into a fresh data directory named `name`; returns the contact
  // counters by "point|quarter|agency|code".
  std::map<std::string, ContactCounts> Counters(const std::string& name,
                                                const std::vector<std::string>& lines) {
    auto log = *EmbeddedLog::Open((dir_ / name / "log").string());
    auto state = *StateStore::Open((dir_ / name / "state").string());
    const std::string path = (dir_ / (name + ".jsonl")).string();
    {
      std::ofstream out(path);
      for (const auto& line : lines) out << line << "\n";
    }
    IngestOptions options;
    options.now = absl::FromUnixSeconds(1790000000);
    options.batch_events_max = 3;
    auto summary = IngestFile(path, *log, *state, options);
    EXPECT_TRUE(summary.ok()) << summary.status();
    EXPECT_EQ(summary->rejected, 0u);
    std::map<std::string, ContactCounts> counters;
    EXPECT_TRUE(state->ScanProjection(std::string(1, projection::kContacts),
                                      [&](std::string_view key, std::string_view value) {
                                        const auto parts = projection::SplitKey(key);
                                        counters[fmt::format("{}|{}|{}|{}", parts[0], parts[1], parts[2], parts[3])] =
                                            *projection::ReadCounts(*state, key, value);
                                        return true;
                                      })
                    .ok());
    return counters;
  }

  fs::path dir_;
};

const std::vector<std::string> kReference = {
    R"({"event_id":"a1","type":"agency_registered","occurred_at":"2025-12-01T08:00:00Z","agency_id":"espoo","name":"Espoo","kind":"municipality","business_id":"0101263-6"})",
    R"({"event_id":"a2","type":"agency_registered","occurred_at":"2025-12-01T08:00:00Z","agency_id":"kela","name":"Kela","kind":"kela","business_id":"0246246-0"})",
    R"({"event_id":"p1","type":"service_point_opened","occurred_at":"2025-12-01T08:00:00Z","service_point_id":"iso","name":"Iso Omena","municipality":"Espoo","host_agency_id":"espoo","total_area_m2":"1000"})",
    R"({"event_id":"p2","type":"service_point_opened","occurred_at":"2025-12-01T08:00:00Z","service_point_id":"kala","name":"Kalajärvi","municipality":"Espoo","host_agency_id":"espoo","total_area_m2":"1000"})",
};

std::string Contact(const std::string& id, const std::string& point, const std::string& agency,
                    const std::string& handled_by, int duration_s) {
  return fmt::format(
      R"({{"event_id":"e-{0}","type":"contact_recorded","occurred_at":"2026-02-01T10:00:00Z","contact_id":"{0}","service_point_id":"{1}","agency_id":"{2}","service_code":"S","channel":"in_person","handled_by":"{3}","duration_s":{4}}})",
      id, point, agency, handled_by, duration_s);
}

TEST_F(ProjectorTest, CorrectionsAndVoidsAdjustTheCountersIncrementally) {
  std::vector<std::string> lines = kReference;
  lines.push_back(Contact("c1", "iso", "kela", "shared_advisor", 600));
  lines.push_back(Contact("c2", "iso", "kela", "shared_advisor", 300));
  lines.push_back(Contact("c3", "iso", "espoo", "agency_staff", 100));
  lines.push_back(R"({"event_id":"k1","type":"contact_corrected","occurred_at":"2026-02-02T10:00:00Z","contact_id":"c1","changes":{"duration_s":900,"agency_id":"espoo"},"reason":"r"})");
  lines.push_back(R"({"event_id":"k2","type":"contact_corrected","occurred_at":"2026-02-02T10:00:00Z","contact_id":"c3","changes":{"handled_by":"shared_advisor"},"reason":"r"})");
  lines.push_back(R"({"event_id":"v1","type":"contact_voided","occurred_at":"2026-02-02T10:00:00Z","contact_id":"c2","reason":"r"})");
  const auto counters = Counters("corrections", lines);
  const ContactCounts espoo = counters.at("iso|2026Q1|espoo|S");
  EXPECT_EQ(espoo.contacts, 2);          // c1 (moved to espoo) and c3
  EXPECT_EQ(espoo.advisor_contacts, 2);  // c1, and c3 after its correction
  EXPECT_EQ(espoo.advisor_time_s, 900 + 100);
  const ContactCounts kela = counters.at("iso|2026Q1|kela|S");
  EXPECT_EQ(kela.contacts, 0);  // c1 moved away, c2 voided
  EXPECT_EQ(kela.advisor_time_s, 0);
}

TEST_F(ProjectorTest, OrderOfUnrelatedEventsDoesNotMatter) {
  std::vector<std::string> contacts;
  for (int i = 0; i < 40; ++i) {
    contacts.push_back(Contact(fmt::format("c{}", i), i % 2 ? "iso" : "kala", i % 3 ? "kela" : "espoo",
                               i % 4 ? "shared_advisor" : "agency_staff", 60 * i));
  }
  std::vector<std::string> in_order = kReference;
  in_order.insert(in_order.end(), contacts.begin(), contacts.end());
  const auto expected = Counters("in-order", in_order);
  for (uint64_t seed : {1u, 2u, 3u}) {
    SCOPED_TRACE(fmt::format("shuffle seed {}", seed));
    std::vector<std::string> shuffled = contacts;
    std::shuffle(shuffled.begin(), shuffled.end(), std::mt19937_64(seed));
    std::vector<std::string> lines = kReference;
    lines.insert(lines.end(), shuffled.begin(), shuffled.end());
    const auto got = Counters(fmt::format("shuffled-{}", seed), lines);
    ASSERT_EQ(got.size(), expected.size());
    for (const auto& [key, counts] : expected) {
      EXPECT_EQ(got.at(key).contacts, counts.contacts) << key;
      EXPECT_EQ(got.at(key).advisor_time_s, counts.advisor_time_s) << key;
    }
  }
}

// Damaged projection values and keys are DataLoss naming the key and saying `tori
// rebuild`: never a record skipped, a counter taken as it is, or an abort.
class ProjectionDamageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           fmt::format("tori-projection-damage-{}-{}", ::getpid(),
                       ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    state_ = *StateStore::Open((dir_ / "data/state").string());
  }
  void TearDown() override {
    state_.reset();
    fs::remove_all(dir_);
  }
  void ExpectDamaged(const absl::Status& status, const std::string& escaped_key) {
    EXPECT_TRUE(absl::IsDataLoss(status)) << status;
    EXPECT_THAT(std::string(status.message()), ::testing::HasSubstr("'" + escaped_key + "'"));
    EXPECT_THAT(std::string(status.message()),
                ::testing::HasSubstr(fmt::format("tori rebuild --data {}`", (dir_ / "data").string())));
  }
  fs::path dir_;
  std::unique_ptr<StateStore> state_;
};

TEST_F(ProjectionDamageTest, CountersOfTheWrongSizeOrWithABadSealAreDamage) {
  using namespace projection;
  const std::string key = Key(kContacts, {"iso", "2026Q1", "kela", "S"});
  const std::string escaped = "K\\0iso\\02026Q1\\0kela\\0S";
  const std::string good = Seal(key, EncodeCounts({3, 2, 600}));
  ASSERT_TRUE(ReadCounts(*state_, key, good).ok());
  EXPECT_EQ(ReadCounts(*state_, key, good)->advisor_time_s, 600);
  ExpectDamaged(ReadCounts(*state_, key, good.substr(0, 27)).status(), escaped);  // truncated
  ExpectDamaged(ReadCounts(*state_, key, Seal(key, EncodeCounts({3, 2, 600}).substr(1))).status(),
                escaped);  // sealed, but 23 bytes
  std::string flipped = good;
  flipped[0] ^= 1;  // 3 -> 2 contacts
  ExpectDamaged(ReadCounts(*state_, key, flipped).status(), escaped);
  ExpectDamaged(ReadCounts(*state_, key, Seal(key, EncodeCounts({-1, 0, 0}))).status(), escaped);
  const std::string minutes_key = Key(kBookings, {"iso", "2026Q1", "kela"});
  ExpectDamaged(ReadMinutes(*state_, minutes_key, "garbage").status(), "B\\0iso\\02026Q1\\0kela");
}

TEST_F(ProjectionDamageTest, KeysOfAnUnknownKindOrWithTooFewPartsAreDamage) {
  using namespace projection;
  ExpectDamaged(KeyParts(*state_, Key(kContacts, {"iso", "2026Q1", "kela"})).status(),
                "K\\0iso\\02026Q1\\0kela");
  ExpectDamaged(KeyParts(*state_, "K").status(), "K");
  ExpectDamaged(KeyParts(*state_, Key('Z', {"x"})).status(), "Z\\0x");
  ExpectDamaged(KeyParts(*state_, Key(kCost, {"iso", "2026Q1", "", "k1"})).status(),
                "C\\0iso\\02026Q1\\0\\0k1");
  EXPECT_TRUE(KeyParts(*state_, Key(kCost, {"iso", "2026Q1", "premises", "k1"})).ok());
}

TEST_F(ProjectionDamageTest, RecordsThatDoNotDecodeOrBelongElsewhereAreDamage) {
  using namespace projection;
  events::CostPosted cost;
  cost.set_cost_id("k1");
  cost.set_service_point_id("iso");
  cost.set_pool("premises");
  cost.set_period("2026-02");
  cost.set_amount_cents(100000);
  cost.set_description("rent");
  const std::string key = RecordKey(cost);
  const std::string escaped = "C\\0iso\\02026Q1\\0premises\\0k1";
  const std::string bytes = cost.SerializeAsString();
  auto read = ReadRecord<events::CostPosted>(*state_, key, Seal(key, bytes));
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(read->amount_cents(), 100000);
  // Cut before its amount: protobuf alone would read a cost of 0.
  const std::string cut = bytes.substr(0, bytes.find("2026-02") + 7);
  ExpectDamaged(ReadRecord<events::CostPosted>(*state_, key, cut).status(), escaped);
  ExpectDamaged(ReadRecord<events::CostPosted>(*state_, key, Seal(key, "\xff\xff garbage")).status(),
                escaped);
  // A well-sealed record under another cost's key.
  const std::string other = Key(kCost, {"iso", "2026Q1", "premises", "k2"});
  ExpectDamaged(ReadRecord<events::CostPosted>(*state_, other, Seal(other, bytes)).status(),
                "C\\0iso\\02026Q1\\0premises\\0k2");
}

TEST_F(ProjectionDamageTest, AStoredCounterOfTheWrongSizeFailsTheNextCommitInsteadOfAborting) {
  using namespace projection;
  const std::string key = Key(kContacts, {"iso", "2026Q1", "kela", "S"});
  ASSERT_TRUE(state_->Commit({}, {{key, std::string(23, '\x01')}}, LogPosition{{1}}).ok());
  events::Event event;
  event.set_event_id("e1");
  event.set_occurred_at_unix_ns(Ns("2026-02-01T10:00:00Z"));
  auto* contact = event.mutable_contact_recorded();
  contact->set_contact_id("c1");
  contact->set_service_point_id("iso");
  contact->set_agency_id("kela");
  contact->set_service_code("S");
  contact->set_handled_by(events::HANDLED_BY_SHARED_ADVISOR);
  contact->set_duration_s(60);
  Projector projector(*HelsinkiTimeZone());
  ASSERT_TRUE(projector.Apply(event, nullptr).ok());
  ExpectDamaged(projector.TakeWrites(*state_).status(), "K\\0iso\\02026Q1\\0kela\\0S");
}

}  // namespace
}  // namespace tori

namespace tori {
namespace {

// Issue #15.8: agency_updated changes the agency's record field by field, in log
// order, whether the registration is in the same batch or already stored.
TEST_F(ProjectorTest, AgencyUpdatesMergeIntoTheRegisteredRecordInLogOrder) {
  auto log = *EmbeddedLog::Open((dir_ / "log").string());
  auto state = *StateStore::Open((dir_ / "state").string());
  const std::string path = (dir_ / "agencies.jsonl").string();
  std::ofstream(path)
      << R"({"event_id":"a1","type":"agency_registered","occurred_at":"2026-01-01T00:00:00Z","agency_id":"espoo","name":"Espoo","kind":"municipality","business_id":"0101263-6"})" "\n"
      << R"({"event_id":"a2","type":"agency_registered","occurred_at":"2026-01-01T00:00:00Z","agency_id":"kela","name":"Kela","kind":"kela","business_id":"0246246-0"})" "\n"
      << R"({"event_id":"u1","type":"agency_updated","occurred_at":"2026-01-02T00:00:00Z","agency_id":"espoo","changes":{"iban":"FI2112345600000785"}})" "\n"
      << R"({"event_id":"u2","type":"agency_updated","occurred_at":"2026-01-03T00:00:00Z","agency_id":"espoo","changes":{"name":"Espoon kaupunki","bic":"NDEAFIHH"}})" "\n"
      << R"({"event_id":"u3","type":"agency_updated","occurred_at":"2026-01-04T00:00:00Z","agency_id":"espoo","changes":{"name":"Espoon kaupunki, palvelutorit"}})" "\n";
  IngestOptions options;
  options.now = absl::FromUnixSeconds(1790000000);
  options.batch_events_max = 3;  // u1 meets its registration in the batch; u2, u3 the stored one
  auto summary = IngestFile(path, *log, *state, options);
  ASSERT_TRUE(summary.ok()) << summary.status();
  ASSERT_EQ(summary->accepted, 5u);
  auto stored = state->GetProjection(projection::Key(projection::kAgency, {"espoo"}));
  ASSERT_TRUE(stored.ok() && stored->has_value());
  auto read = projection::ReadRecord<events::AgencyRegistered>(
      *state, projection::Key(projection::kAgency, {"espoo"}), **stored);
  ASSERT_TRUE(read.ok()) << read.status();
  const events::AgencyRegistered& espoo = *read;
  EXPECT_EQ(espoo.name(), "Espoon kaupunki, palvelutorit");
  EXPECT_EQ(espoo.business_id(), "0101263-6");
  EXPECT_EQ(espoo.iban(), "FI2112345600000785");
  EXPECT_EQ(espoo.bic(), "NDEAFIHH");
  EXPECT_FALSE(espoo.has_einvoice_address());
  EXPECT_EQ(espoo.kind(), events::AGENCY_KIND_MUNICIPALITY);
  auto kela = state->GetProjection(projection::Key(projection::kAgency, {"kela"}));
  ASSERT_TRUE(kela.ok() && kela->has_value());
  auto kela_record = projection::ReadRecord<events::AgencyRegistered>(
      *state, projection::Key(projection::kAgency, {"kela"}), **kela);
  ASSERT_TRUE(kela_record.ok()) << kela_record.status();
  EXPECT_EQ(kela_record->name(), "Kela");
}

}  // namespace
}  // namespace tori
