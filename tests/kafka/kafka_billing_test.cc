// Billing over the real Kafka broker when issuing fails part way (issue #14.3): some
// documents acknowledged, then the append fails. The next bill of the quarter must
// issue exactly what an uninterrupted run issues, and verify must pass.
#include <filesystem>
#include <fstream>
#include <sstream>

#include "events/log/kafka/kafka_log.h"
#include "fmt/format.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/billing/billing.h"
#include "services/ingest/ingest.h"
#include "tests/failing_part_way_log.h"
#include "tests/kafka/test_support.h"

namespace tori {
namespace {

namespace fs = std::filesystem;

// Three agencies sharing one point's rent equally, the host claiming a subsidy on its
// share: two invoices and one claim for 2026Q1.
const char kEvents[] = R"(
{"event_id":"e1","type":"agency_registered","occurred_at":"2025-12-01T08:00:00Z","agency_id":"espoo","name":"Espoo","kind":"municipality","business_id":"0101263-6"}
{"event_id":"e2","type":"agency_registered","occurred_at":"2025-12-01T08:00:00Z","agency_id":"kela","name":"Kela","kind":"kela","business_id":"0246246-0"}
{"event_id":"e3","type":"agency_registered","occurred_at":"2025-12-01T08:00:00Z","agency_id":"vero","name":"Verohallinto","kind":"state","business_id":"0245458-3"}
{"event_id":"e4","type":"service_point_opened","occurred_at":"2025-12-01T08:00:00Z","service_point_id":"iso","name":"Iso Omena","municipality":"Espoo","host_agency_id":"espoo","total_area_m2":"1000"}
{"event_id":"e6","type":"agreement_signed","occurred_at":"2025-12-01T08:00:00Z","agreement_id":"a","version":1,"service_point_id":"iso","effective_from":"2026-01-01","parties":["espoo","kela","vero"],"pools":{"premises":{"tranches":[{"weight_pct":"100","key":"equal"}]}},"subsidies":[{"program_id":"vm","claimant_agency_id":"espoo","rate_pct":"50","basis":"claimant_share","pools":["premises"]}]}
{"event_id":"c1","type":"cost_posted","occurred_at":"2026-01-31T08:00:00Z","cost_id":"k1","service_point_id":"iso","pool":"premises","period":"2026-01","amount":"1000.00","description":"rent"}
)";

class KafkaBillingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           fmt::format("tori-kafka-billing-test-{}-{}", ::getpid(),
                       ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    std::ofstream(dir_ / "events.jsonl") << kEvents;
  }
  void TearDown() override { fs::remove_all(dir_); }

  // A topic with the events ingested, and its state.
  struct Setup {
    std::unique_ptr<KafkaLog> log;
    std::unique_ptr<StateStore> state;
  };
  Setup Ingested(const std::string& topic, const std::string& name) {
    Setup s;
    auto log = KafkaLog::Open(kafka_test::LocalOptions(topic));
    EXPECT_TRUE(log.ok()) << log.status();
    s.log = std::move(*log);
    s.state = *StateStore::Open((dir_ / name / "state").string());
    IngestOptions options;
    options.now = now_;
    auto summary = IngestFile((dir_ / "events.jsonl").string(), *s.log, *s.state, options);
    EXPECT_TRUE(summary.ok()) << summary.status();
    EXPECT_EQ(summary->accepted, 6u);
    return s;
  }
  BillRequest Request(const std::string& out) {
    BillRequest request;
    request.quarter = {2026, 1};
    request.out_dir = (dir_ / out).string();
    request.scratch_dir = (dir_ / "scratch").string();
    request.now = now_;
    return request;
  }
  std::string ReadFile(const std::string& out) {
    std::ifstream in(dir_ / out / "invoices.json");
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }

  fs::path dir_;
  absl::Time now_ = absl::FromUnixSeconds(1790000000);
};

TEST_F(KafkaBillingTest, AnIssuingAppendThatFailsPartWayIsCompletedByTheNextBill) {
  kafka_test::ScopedTopic reference_topic("billing-reference");
  Setup reference = Ingested(reference_topic, "reference");
  auto uninterrupted = Bill(*reference.log, *reference.state, Request("reference-out"));
  ASSERT_TRUE(uninterrupted.ok()) << uninterrupted.status();
  ASSERT_EQ(uninterrupted->documents_issued, 3u);

  kafka_test::ScopedTopic topic("billing-part-way");
  Setup cut = Ingested(topic, "cut");
  {
    testing::FailingPartWayLog failing(*cut.log, 1);
    EXPECT_FALSE(Bill(failing, *cut.state, Request("failed-out")).ok());
  }
  // One document acknowledged by the broker, two not.
  auto report = Verify(*cut.log, (dir_ / "verify").string());
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_FALSE(report->ok());
  EXPECT_EQ(report->documents.size(), 3u);

  auto completed = Bill(*cut.log, *cut.state, Request("cut-out"));
  ASSERT_TRUE(completed.ok()) << completed.status();
  EXPECT_TRUE(completed->already_issued);
  EXPECT_EQ(completed->documents_issued, 2u);
  EXPECT_EQ(ReadFile("cut-out"), ReadFile("reference-out"));

  // The same issued records in partition 0, in the same order, byte for byte.
  auto issued = [](EventLog& log, const LogPosition& from) {
    std::vector<std::string> payloads;
    auto records = kafka_test::ReadAll(log, from);
    EXPECT_TRUE(records.ok()) << records.status();
    for (const auto& r : *records) payloads.push_back(r.payload);
    return payloads;
  };
  EXPECT_EQ(issued(*cut.log, completed->as_of), issued(*reference.log, uninterrupted->as_of));
  report = Verify(*cut.log, (dir_ / "verify").string());
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_TRUE(report->ok());
  EXPECT_EQ(report->documents.size(), 3u);
}

}  // namespace
}  // namespace tori
