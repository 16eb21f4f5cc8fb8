// Billing end to end through the real embedded log and RocksDB: a golden quarter whose
// cents are computed by hand below, re-billing an issued quarter (same bytes), and a
// late event that becomes an adjustment line on the next quarter.
#include "services/billing/billing.h"
#include "services/billing/scratch_replay.h"

#include "services/state/hash_chain.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <sstream>

#include "events/codec/codec.h"
#include "events/log/embedded_log.h"
#include "fmt/format.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/ingest/ingest.h"
#include "services/projector/projector.h"
#include "tests/failing_part_way_log.h"
#include "tests/log_segment_bytes.h"

namespace tori {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;

// The golden scenario.
//  premises 3 x 1000.00 = 300000 cents, key dedicated_area over Q1's 90 days:
//    espoo 100 m2, kela 300 m2, vero 100 m2 -> 900000 / 2700000 / 900000 centi-m2-days
//    -> espoo 60000, kela 180000, vero 60000.
//  shared_staff 1000.01 = 100001 cents, tranches 60 % contacts / 40 % equal:
//    tranches 60000.6 / 40000.4 -> floors 60000 / 40000, leftover cent to the first
//    (larger remainder) -> 60001 / 40000.
//    contacts (espoo 0, kela 3 after a correction and a void, vero 1; K = 4):
//      kela 45000.75 -> 45000 r 3, vero 15000.25 -> 15000 r 1, leftover 1 -> kela 45001.
//    equal (K = 3): 13333 each r 1, leftover 1 -> tie -> smallest id espoo 13334.
//  Invoices: espoo->kela 180000 + 45001 + 13333 = 238334; espoo->vero 60000 + 15000 +
//  13333 = 88333. Host shares: premises 60000, shared_staff 0 + 13334.
//  Subsidy: 50 % of espoo's share (60000 + 13334 = 73334) = 36667 (cap 1000.00).
const char kGoldenEvents[] = R"(
{"event_id":"e1","type":"agency_registered","occurred_at":"2025-12-01T08:00:00Z","agency_id":"espoo","name":"Espoo","kind":"municipality","business_id":"0101263-6"}
{"event_id":"e2","type":"agency_registered","occurred_at":"2025-12-01T08:00:00Z","agency_id":"kela","name":"Kela","kind":"kela","business_id":"0246246-0"}
{"event_id":"e3","type":"agency_registered","occurred_at":"2025-12-01T08:00:00Z","agency_id":"vero","name":"Verohallinto","kind":"state","business_id":"0245458-3"}
{"event_id":"e4","type":"service_point_opened","occurred_at":"2025-12-01T08:00:00Z","service_point_id":"iso","name":"Iso Omena","municipality":"Espoo","host_agency_id":"espoo","total_area_m2":"1000"}
{"event_id":"e5","type":"space_allocated","occurred_at":"2025-12-01T08:00:00Z","service_point_id":"iso","effective_from":"2026-01-01","allocations":[{"agency_id":"espoo","area_m2":"100"},{"agency_id":"kela","area_m2":"300"},{"agency_id":"vero","area_m2":"100"}],"shared_area_m2":"200"}
{"event_id":"e6","type":"agreement_signed","occurred_at":"2025-12-01T08:00:00Z","agreement_id":"a","version":1,"service_point_id":"iso","effective_from":"2026-01-01","parties":["espoo","kela","vero"],"pools":{"premises":{"tranches":[{"weight_pct":"100","key":"dedicated_area"}]},"shared_staff":{"tranches":[{"weight_pct":"60","key":"contacts"},{"weight_pct":"40","key":"equal"}]}},"subsidies":[{"program_id":"vm","claimant_agency_id":"espoo","rate_pct":"50","basis":"claimant_share","pools":["premises","shared_staff"],"annual_cap":"1000.00"}]}
{"event_id":"c1","type":"cost_posted","occurred_at":"2026-01-31T08:00:00Z","cost_id":"k1","service_point_id":"iso","pool":"premises","period":"2026-01","amount":"1000.00","description":"rent"}
{"event_id":"c2","type":"cost_posted","occurred_at":"2026-02-28T08:00:00Z","cost_id":"k2","service_point_id":"iso","pool":"premises","period":"2026-02","amount":"1000.00","description":"rent"}
{"event_id":"c3","type":"cost_posted","occurred_at":"2026-03-31T08:00:00Z","cost_id":"k3","service_point_id":"iso","pool":"premises","period":"2026-03","amount":"1000.00","description":"rent"}
{"event_id":"c4","type":"cost_posted","occurred_at":"2026-01-31T08:00:00Z","cost_id":"k4","service_point_id":"iso","pool":"shared_staff","period":"2026-01","amount":"1000.01","description":"advisors"}
{"event_id":"t1","type":"contact_recorded","occurred_at":"2025-12-31T22:00:00Z","contact_id":"x1","service_point_id":"iso","agency_id":"kela","service_code":"S","channel":"in_person","handled_by":"shared_advisor","duration_s":600}
{"event_id":"t2","type":"contact_recorded","occurred_at":"2026-02-01T10:00:00Z","contact_id":"x2","service_point_id":"iso","agency_id":"kela","service_code":"S","channel":"phone","handled_by":"shared_advisor","duration_s":300}
{"event_id":"t3","type":"contact_recorded","occurred_at":"2026-02-01T10:00:00Z","contact_id":"x3","service_point_id":"iso","agency_id":"vero","service_code":"S","channel":"video","handled_by":"agency_staff","duration_s":300}
{"event_id":"t4","type":"contact_recorded","occurred_at":"2026-02-02T10:00:00Z","contact_id":"x4","service_point_id":"iso","agency_id":"vero","service_code":"S","channel":"in_person","handled_by":"shared_advisor","duration_s":300}
{"event_id":"t5","type":"contact_corrected","occurred_at":"2026-02-02T11:00:00Z","contact_id":"x4","changes":{"agency_id":"kela"},"reason":"wrong agency"}
{"event_id":"t6","type":"contact_recorded","occurred_at":"2026-03-03T10:00:00Z","contact_id":"x5","service_point_id":"iso","agency_id":"kela","service_code":"S","channel":"in_person","handled_by":"shared_advisor","duration_s":300}
{"event_id":"t7","type":"contact_voided","occurred_at":"2026-03-03T11:00:00Z","contact_id":"x5","reason":"test"}
{"event_id":"t8","type":"contact_recorded","occurred_at":"2026-03-31T21:30:00Z","contact_id":"x6","service_point_id":"iso","agency_id":"vero","service_code":"S","channel":"in_person","handled_by":"shared_advisor","duration_s":300}
)";
// t1 at 2025-12-31T22:00Z is 2026-01-01 00:00 in Helsinki: Q1. t8 at 2026-03-31T21:30Z
// is 2026-04-01 00:30 (EEST): Q2, not counted in Q1.

class BillingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           fmt::format("tori-billing-test-{}-{}", ::getpid(),
                       ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    log_ = *EmbeddedLog::Open((dir_ / "data/log").string());
    state_ = *StateStore::Open((dir_ / "data/state").string());
  }
  void TearDown() override {
    log_.reset();
    state_.reset();
    fs::remove_all(dir_);
  }

  void Ingest(const std::string& events) {
    const std::string path = (dir_ / fmt::format("events-{}.jsonl", files_++)).string();
    std::ofstream(path) << events;
    IngestOptions options;
    options.now = absl::FromUnixSeconds(1790000000);  // 2026-09
    auto summary = IngestFile(path, *log_, *state_, options);
    ASSERT_TRUE(summary.ok()) << summary.status();
    ASSERT_EQ(summary->rejected, 0u) << "see " << path << ".rejected.jsonl";
  }

  // Billed on 2027-01-15 (every quarter of 2026 has ended); `force` for quarters without
  // costs of their own (adjustments only).
  absl::StatusOr<BillOutcome> BillQuarter(engine::Quarter quarter, const std::string& out,
                                          bool dry_run = false, bool force = false) {
    BillRequest request;
    request.quarter = quarter;
    request.out_dir = (dir_ / out).string();
    request.dry_run = dry_run;
    request.force = force;
    request.now = absl::FromUnixSeconds(1799992800);  // 2027-01-15T06:00:00Z
    request.scratch_dir = (dir_ / "scratch").string();
    request.now = now_;
    return Bill(*log_, *state_, request);
  }

  void Close() {
    log_.reset();
    state_.reset();
  }
  void Reopen() {
    log_ = *EmbeddedLog::Open((dir_ / "data/log").string());
    state_ = *StateStore::Open((dir_ / "data/state").string());
  }

  std::string ReadFile(const std::string& out, const std::string& name) {
    std::ifstream in(dir_ / out / name);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }

  static const engine::Invoice* Find(const engine::BillingResult& result, const std::string& id) {
    for (const auto& invoice : result.invoices) {
      if (invoice.invoice_id == id) return &invoice;
    }
    return nullptr;
  }

  fs::path dir_;
  absl::Time now_ = absl::Now();  // of the billing runs
  int files_ = 0;
  std::unique_ptr<EventLog> log_;
  std::unique_ptr<StateStore> state_;
};

TEST_F(BillingTest, GoldenQuarterMatchesHandComputedCents) {
  Ingest(kGoldenEvents);
  auto outcome = BillQuarter({2026, 1}, "q1");
  ASSERT_TRUE(outcome.ok()) << outcome.status();
  const auto& result = outcome->result;
  ASSERT_EQ(result.invoices.size(), 2u);
  const engine::Invoice* kela = Find(result, "2026Q1-espoo-kela");
  const engine::Invoice* vero = Find(result, "2026Q1-espoo-vero");
  ASSERT_NE(kela, nullptr);
  ASSERT_NE(vero, nullptr);
  EXPECT_EQ(kela->total_cents, 238334);
  EXPECT_EQ(vero->total_cents, 88333);
  ASSERT_EQ(kela->lines.size(), 3u);
  EXPECT_EQ(kela->lines[0].amount_cents, 180000);
  EXPECT_EQ(kela->lines[0].basis_quantity, 2'700'000);
  EXPECT_EQ(kela->lines[0].basis_total, 4'500'000);
  EXPECT_EQ(kela->lines[1].amount_cents, 45001);
  EXPECT_EQ(kela->lines[1].basis_quantity, 3);
  EXPECT_EQ(kela->lines[1].basis_total, 4);
  EXPECT_EQ(kela->lines[2].amount_cents, 13333);
  int64_t host_total = 0;
  for (const auto& share : result.host_shares) host_total += share.amount_cents;
  EXPECT_EQ(host_total, 60000 + 13334);
  ASSERT_EQ(result.subsidy_claims.size(), 1u);
  EXPECT_EQ(result.subsidy_claims[0].basis_cents, 73334);
  EXPECT_EQ(result.subsidy_claims[0].amount_cents, 36667);
  EXPECT_EQ(outcome->documents_issued, 3u);
  // The golden host has no bank account: no Finvoice, and the run says why; the
  // workbook and the report need none (issue #15.8).
  ASSERT_EQ(outcome->notes.size(), 1u);
  EXPECT_THAT(outcome->notes[0], HasSubstr("no Finvoice for the invoices of espoo"));
  EXPECT_TRUE(fs::exists(dir_ / "q1/invoices-2026Q1.xlsx"));
  EXPECT_TRUE(fs::exists(dir_ / "q1/report-2026Q1.html"));
  EXPECT_FALSE(fs::exists(dir_ / "q1/finvoice-2026Q1-espoo-kela.xml"));

  const std::string json = ReadFile("q1", "invoices.json");
  EXPECT_THAT(json, HasSubstr(R"("quarter":"2026Q1")"));
  EXPECT_THAT(json, HasSubstr(R"("invoice_id":"2026Q1-espoo-kela","issuer_agency_id":"espoo","recipient_agency_id":"kela","quarter":"2026Q1","total_cents":238334,"total":"2383.34")"));
  const std::string csv = ReadFile("q1", "invoice-2026Q1-espoo-vero.csv");
  EXPECT_THAT(csv, HasSubstr("\n\nTOTAL,2026Q1-espoo-vero,"));
  EXPECT_THAT(csv, HasSubstr(",88333,883.33,,,,,\n"));
}

// Operators accept an e-invoice without the buyer's address and never deliver it: the
// run warns for each such invoice, naming it and its recipient (issue #18).
TEST_F(BillingTest, AnInvoiceToARecipientWithoutAnEinvoiceAddressIsAWarning) {
  Ingest(kGoldenEvents);
  Ingest(R"({"event_id":"u1","type":"agency_updated","occurred_at":"2026-04-01T08:00:00Z","agency_id":"kela","changes":{"einvoice_address":"003702462460"}})");
  auto outcome = BillQuarter({2026, 1}, "q1");
  ASSERT_TRUE(outcome.ok()) << outcome.status();
  std::vector<engine::Warning> undeliverable;
  for (const auto& warning : outcome->result.warnings) {
    if (warning.code == engine::WarningCode::kNoEinvoiceAddress) undeliverable.push_back(warning);
  }
  ASSERT_EQ(undeliverable.size(), 1u);
  EXPECT_EQ(undeliverable[0].invoice_id, "2026Q1-espoo-vero");
  EXPECT_EQ(undeliverable[0].agency_id, "vero");
  EXPECT_THAT(undeliverable[0].message, HasSubstr("no e-invoice address"));
  EXPECT_THAT(ReadFile("q1", "invoices.json"),
              HasSubstr(R"({"code":"NO_EINVOICE_ADDRESS","message":"invoice 2026Q1-espoo-vero to vero)"));
}

TEST_F(BillingTest, BillingAnIssuedQuarterAgainWritesTheSameBytes) {
  Ingest(kGoldenEvents);
  ASSERT_TRUE(BillQuarter({2026, 1}, "first").ok());
  // A late event for Q1 must not change the issued Q1 documents.
  Ingest(R"({"event_id":"late1","type":"contact_recorded","occurred_at":"2026-02-10T10:00:00Z","contact_id":"late-x","service_point_id":"iso","agency_id":"vero","service_code":"S","channel":"phone","handled_by":"shared_advisor","duration_s":60})");
  auto again = BillQuarter({2026, 1}, "second");
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_TRUE(again->already_issued);
  EXPECT_EQ(again->documents_issued, 0u);
  EXPECT_EQ(ReadFile("first", "invoices.json"), ReadFile("second", "invoices.json"));
}

TEST_F(BillingTest, DryRunIssuesNothing) {
  Ingest(kGoldenEvents);
  const LogPosition before = log_->End();
  auto outcome = BillQuarter({2026, 1}, "dry", /*dry_run=*/true);
  ASSERT_TRUE(outcome.ok());
  EXPECT_EQ(outcome->documents_issued, 0u);
  EXPECT_EQ(log_->End(), before);
  auto real = BillQuarter({2026, 1}, "real");
  ASSERT_TRUE(real.ok());
  EXPECT_FALSE(real->already_issued);
  // The draft is the issued file but its mark (issue 15.5; SPEC 8 approves drafts so).
  std::string draft = ReadFile("dry", "draft-invoices.json");
  const std::string mark = ",\n \"draft\":true";
  ASSERT_NE(draft.find(mark), std::string::npos) << draft;
  draft.erase(draft.find(mark), mark.size());
  EXPECT_EQ(draft, ReadFile("real", "invoices.json"));
}

// Issue 15.5: a dry run writes nothing that looks issued: every file name starts with
// "draft-", invoices.json says "draft": true, each CSV opens with the mark, and there is
// no Finvoice. The same holds for a dry run of a quarter that was issued before.
TEST_F(BillingTest, DryRunsWriteOnlyMarkedDraftsAlsoForAnIssuedQuarter) {
  Ingest(kGoldenEvents);
  for (const bool issued_before : {false, true}) {
    if (issued_before) {
      ASSERT_TRUE(BillQuarter({2026, 1}, "issued").ok());
    }
    const std::string out = issued_before ? "dry-after" : "dry-before";
    auto dry = BillQuarter({2026, 1}, out, /*dry_run=*/true);
    ASSERT_TRUE(dry.ok()) << dry.status();
    EXPECT_EQ(dry->documents_issued, 0u);
    size_t files = 0;
    for (const auto& entry : fs::directory_iterator(dir_ / out)) {
      ++files;
      EXPECT_TRUE(entry.path().filename().string().starts_with("draft-")) << entry.path();
      EXPECT_NE(entry.path().extension(), ".xml") << entry.path();
    }
    // invoices.json, two CSVs, the workbook and the report (no Finvoice in a draft)
    EXPECT_EQ(files, 5u);
    EXPECT_THAT(ReadFile(out, "draft-invoices.json"), HasSubstr("\"draft\":true"));
    EXPECT_THAT(ReadFile(out, "draft-invoice-2026Q1-espoo-kela.csv"),
                ::testing::StartsWith("LUONNOS,\"Luonnos, ei lasku"));
  }
  EXPECT_THAT(ReadFile("issued", "invoices.json"), Not(HasSubstr("draft")));
}

// Issue 15.11: pools' display names come from the agreement in effect for the quarter;
// a later version's names win from its effective_from on, and versions before it still
// name pools that only they had.
TEST_F(BillingTest, PoolNamesComeFromTheAgreementInEffect) {
  Ingest(kGoldenEvents);
  Ingest(R"({"event_id":"n1","type":"agreement_signed","occurred_at":"2025-12-01T08:00:00Z","agreement_id":"a","version":2,"service_point_id":"iso","effective_from":"2026-01-01","parties":["espoo","kela","vero"],"pools":{"premises":{"tranches":[{"weight_pct":"100","key":"dedicated_area"}],"display_names":{"fi":"Toimitilat","sv":"Lokaler"}},"shared_staff":{"tranches":[{"weight_pct":"100","key":"contacts"}],"display_names":{"fi":"Yhteinen henkilöstö"}},"cleaning":{"tranches":[{"weight_pct":"100","key":"equal"}],"display_names":{"fi":"Siivous"}}}})"
         "\n"
         R"({"event_id":"n2","type":"agreement_signed","occurred_at":"2025-12-01T08:00:00Z","agreement_id":"a","version":3,"service_point_id":"iso","effective_from":"2026-04-01","parties":["espoo","kela","vero"],"pools":{"premises":{"tranches":[{"weight_pct":"100","key":"dedicated_area"}],"display_names":{"fi":"Tilat"}}}})");
  using documents::Language;
  auto Name = [](const PoolNames& names, const std::string& pool, Language language) {
    const auto it = names.find({"iso", pool});
    if (it == names.end() || !it->second.count(language)) return std::string("(none)");
    return it->second.at(language);
  };
  auto q1 = LoadPoolNames(*state_, {2026, 1});
  ASSERT_TRUE(q1.ok()) << q1.status();
  EXPECT_EQ(Name(*q1, "premises", Language::kFi), "Toimitilat");
  EXPECT_EQ(Name(*q1, "premises", Language::kSv), "Lokaler");
  EXPECT_EQ(Name(*q1, "shared_staff", Language::kFi), "Yhteinen henkilöstö");
  auto q2 = LoadPoolNames(*state_, {2026, 2});
  ASSERT_TRUE(q2.ok()) << q2.status();
  EXPECT_EQ(Name(*q2, "premises", Language::kFi), "Tilat");
  EXPECT_EQ(Name(*q2, "cleaning", Language::kFi), "Siivous");  // only version 2 names it
}

TEST_F(BillingTest, LateEventBecomesAnAdjustmentLineOnTheNextQuarter) {
  Ingest(kGoldenEvents);
  ASSERT_TRUE(BillQuarter({2026, 1}, "q1").ok());
  // A vero contact in February, known only after Q1 was issued. Recomputed Q1 contacts
  // tranche (kela 3, vero 2; K = 5): kela 36000.6 -> 36000 r 3, vero 24000.4 -> 24000
  // r 2, leftover to kela: 36001 / 24000. Differences: kela -9000, vero +9000.
  Ingest(R"({"event_id":"late1","type":"contact_recorded","occurred_at":"2026-02-10T10:00:00Z","contact_id":"late-x","service_point_id":"iso","agency_id":"vero","service_code":"S","channel":"phone","handled_by":"shared_advisor","duration_s":60})");
  auto q2 = BillQuarter({2026, 2}, "q2", /*dry_run=*/false, /*force=*/true);
  ASSERT_TRUE(q2.ok()) << q2.status();
  const engine::Invoice* kela = Find(q2->result, "2026Q2-espoo-kela");
  const engine::Invoice* vero = Find(q2->result, "2026Q2-espoo-vero");
  ASSERT_NE(kela, nullptr);
  ASSERT_NE(vero, nullptr);
  ASSERT_EQ(kela->lines.size(), 1u);
  EXPECT_EQ(kela->lines[0].amount_cents, -9000);
  EXPECT_EQ(kela->lines[0].adjusts_quarter, (engine::Quarter{2026, 1}));
  EXPECT_EQ(kela->lines[0].basis_quantity, 3);
  EXPECT_EQ(kela->lines[0].basis_total, 5);
  // Issue #15.3: what was issued, what it is now, the difference.
  EXPECT_EQ(kela->lines[0].issued_cents, 45001);
  EXPECT_EQ(kela->lines[0].recomputed_cents, 36001);
  ASSERT_EQ(vero->lines.size(), 1u);
  EXPECT_EQ(vero->lines[0].amount_cents, 9000);
  EXPECT_THAT(ReadFile("q2", "invoices.json"), HasSubstr(R"("adjusts_quarter":"2026Q1")"));
  EXPECT_THAT(ReadFile("q2", "invoices.json"),
              HasSubstr(R"("amount_cents":-9000,"amount":"-90.00","adjusts_quarter":"2026Q1","issued_cents":45001,"issued":"450.01","recomputed_cents":36001,"recomputed":"360.01"})"));
  EXPECT_THAT(ReadFile("q2", "invoice-2026Q2-espoo-kela.csv"), HasSubstr(",-9000,-90.00,2026Q1,45001,36001,,\n"));
  // Re-billed, the adjustments' quarter writes the same bytes (the fields are issued).
  auto again = BillQuarter({2026, 2}, "q2-again");
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_TRUE(again->already_issued);
  EXPECT_EQ(ReadFile("q2", "invoices.json"), ReadFile("q2-again", "invoices.json"));

  // Once issued, the adjustment is not repeated on the quarter after.
  auto q3 = BillQuarter({2026, 3}, "q3", /*dry_run=*/false, /*force=*/true);
  ASSERT_TRUE(q3.ok()) << q3.status();
  EXPECT_EQ(Find(q3->result, "2026Q3-espoo-kela"), nullptr);
}

// Issue #15.1: issuing is irreversible, so a quarter that has not ended in Helsinki, or
// one without costs, is refused unless forced; a dry run is always allowed.
TEST_F(BillingTest, AQuarterThatHasNotEndedInHelsinkiIsNotIssuedUnlessForced) {
  Ingest(kGoldenEvents);
  BillRequest request;
  request.quarter = {2026, 1};
  request.out_dir = (dir_ / "early").string();
  request.scratch_dir = (dir_ / "scratch").string();
  // 2026-03-31T20:59:59Z is 23:59:59 in Helsinki (EEST from 29 March): Q1 still runs.
  request.now = absl::FromUnixSeconds(1774990799);
  const LogPosition before = log_->End();
  auto early = Bill(*log_, *state_, request);
  ASSERT_FALSE(early.ok());
  EXPECT_EQ(early.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(early.status().message(), HasSubstr("2026Q1 has not ended"));
  EXPECT_THAT(early.status().message(), HasSubstr("2026-04-01 00:00 Helsinki time"));
  EXPECT_THAT(early.status().message(), HasSubstr("--force"));
  EXPECT_EQ(log_->End(), before);
  EXPECT_FALSE(fs::exists(dir_ / "early/invoices.json"));

  request.dry_run = true;
  ASSERT_TRUE(Bill(*log_, *state_, request).ok());
  EXPECT_EQ(log_->End(), before);

  request.dry_run = false;
  request.now += absl::Seconds(1);  // 2026-04-01 00:00:00 in Helsinki
  auto ended = Bill(*log_, *state_, request);
  ASSERT_TRUE(ended.ok()) << ended.status();
  EXPECT_EQ(ended->documents_issued, 3u);
}

TEST_F(BillingTest, AQuarterWithoutCostsIsNotIssuedUnlessForced) {
  Ingest(kGoldenEvents);
  const LogPosition before = log_->End();
  auto q3 = BillQuarter({2026, 3}, "q3");
  ASSERT_FALSE(q3.ok());
  EXPECT_EQ(q3.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(q3.status().message(), HasSubstr("2026Q3 has no costs at any service point"));
  EXPECT_THAT(q3.status().message(), HasSubstr("--force"));
  EXPECT_EQ(log_->End(), before);
  ASSERT_TRUE(BillQuarter({2026, 3}, "dry", /*dry_run=*/true).ok());
  EXPECT_EQ(log_->End(), before);
  auto forced = BillQuarter({2026, 3}, "forced", /*dry_run=*/false, /*force=*/true);
  ASSERT_TRUE(forced.ok()) << forced.status();
  EXPECT_GT(log_->End().next_offsets[0], before.next_offsets[0]);  // the (zero) claim
}

// Issue #15.2: a late rent of 2,500.00 and a credit of 400.00 for issued Q1. The
// agencies' adjustment lines and the host's own adjustment shares add up to the change
// of the pools (+2,100.00). Premises +250000 over 1/5, 3/5, 1/5: espoo 50000 (host),
// kela 150000, vero 50000. shared_staff 100001 -> 60001: tranches 36001 / 24000;
// contacts kela 27001, vero 9000 (were 45001, 15000); equal 8000 each (were 13334
// espoo, 13333, 13333). Host: +50000 - 5334 = 44666; kela 126667; vero 38667.
TEST_F(BillingTest, TheHostsShareOfAnAdjustmentIsReported) {
  Ingest(kGoldenEvents);
  ASSERT_TRUE(BillQuarter({2026, 1}, "q1").ok());
  Ingest(R"({"event_id":"late-rent","type":"cost_posted","occurred_at":"2026-04-10T08:00:00Z","cost_id":"k9","service_point_id":"iso","pool":"premises","period":"2026-02","amount":"2500.00","description":"late rent"}
{"event_id":"late-credit","type":"cost_posted","occurred_at":"2026-04-10T08:00:00Z","cost_id":"k10","service_point_id":"iso","pool":"shared_staff","period":"2026-03","amount":"-400.00","description":"credit"})");
  auto q2 = BillQuarter({2026, 2}, "q2", /*dry_run=*/false, /*force=*/true);
  ASSERT_TRUE(q2.ok()) << q2.status();
  const auto& result = q2->result;
  ASSERT_EQ(result.host_shares.size(), 2u);
  EXPECT_EQ(result.host_shares[0],
            (engine::HostShare{"espoo", "iso", "premises", 50000, engine::Quarter{2026, 1}}));
  EXPECT_EQ(result.host_shares[1],
            (engine::HostShare{"espoo", "iso", "shared_staff", -5334, engine::Quarter{2026, 1}}));
  EXPECT_EQ(Find(result, "2026Q2-espoo-kela")->total_cents, 126667);
  EXPECT_EQ(Find(result, "2026Q2-espoo-vero")->total_cents, 38667);
  EXPECT_THAT(ReadFile("q2", "invoices.json"),
              HasSubstr(R"({"agency_id":"espoo","service_point_id":"iso","pool":"premises","amount_cents":50000,"amount":"500.00","adjusts_quarter":"2026Q1"})"));

  // Reported once: the next quarter has nothing left to adjust.
  auto q3 = BillQuarter({2026, 3}, "q3", /*dry_run=*/false, /*force=*/true);
  ASSERT_TRUE(q3.ok()) << q3.status();
  EXPECT_TRUE(q3->result.host_shares.empty());
  EXPECT_TRUE(q3->result.invoices.empty());
}

TEST_F(BillingTest, ReplayedStateGivesTheSameDocuments) {
  Ingest(kGoldenEvents);
  ASSERT_TRUE(BillQuarter({2026, 1}, "live", /*dry_run=*/true).ok());
  // Rebuild the state from the log alone and bill again.
  state_.reset();
  fs::remove_all(dir_ / "data/state");
  state_ = *StateStore::Open((dir_ / "data/state").string());
  ASSERT_TRUE(BillQuarter({2026, 1}, "rebuilt", /*dry_run=*/true).ok());
  EXPECT_EQ(ReadFile("live", "invoices.json"), ReadFile("rebuilt", "invoices.json"));
}

}  // namespace
}  // namespace tori

namespace tori {
namespace {

TEST_F(BillingTest, VerifyReproducesEveryIssuedDocument) {
  Ingest(kGoldenEvents);
  ASSERT_TRUE(BillQuarter({2026, 1}, "q1").ok());
  Ingest(R"({"event_id":"late1","type":"contact_recorded","occurred_at":"2026-02-10T10:00:00Z","contact_id":"late-x","service_point_id":"iso","agency_id":"vero","service_code":"S","channel":"phone","handled_by":"shared_advisor","duration_s":60})");
  ASSERT_TRUE(BillQuarter({2026, 2}, "q2", /*dry_run=*/false, /*force=*/true).ok());
  auto report = Verify(*log_, (dir_ / "verify").string());
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_TRUE(report->ok());
  // Q1: 2 invoices and the claim; Q2: 2 invoices of adjustments and the (zero) claim.
  EXPECT_EQ(report->documents.size(), 3u + 3u);
  for (const auto& doc : report->documents) EXPECT_TRUE(doc.ok) << doc.document_id << ": " << doc.difference;
}

// Forges a copy of the log with valid record checksums in which contact x3 belongs to
// kela, as someone rewriting history would. With `rewrite_chain`, the forger also puts
// the forged log's chain heads and tree heads into the issued events.
std::unique_ptr<EventLog> Forge(EventLog& log, const fs::path& dir, bool rewrite_chain) {
  auto forged = *EmbeddedLog::Open(dir.string());
  auto cursor = *log.Read(LogPosition{{0}});
  LogRecord record;
  std::vector<events::Event> history;
  while (*cursor->Next(record)) {
    events::Event event;
    EXPECT_TRUE(event.ParseFromArray(record.payload.data(), static_cast<int>(record.payload.size())));
    if (event.has_contact_recorded() && event.contact_recorded().contact_id() == "x3") {
      event.mutable_contact_recorded()->set_agency_id("kela");
    }
    history.push_back(std::move(event));
  }
  HashChain chain(1);  // the forged log's, extended as it is written
  auto append = [&](const events::Event& event) {
    const std::string payload = event.SerializeAsString();
    EXPECT_TRUE(forged->Append({AppendRecord{"", payload}}).ok());
    chain.Extend(0, payload);
  };
  for (auto& event : history) {
    if (event.has_invoice_issued() || event.has_subsidy_claim_issued()) {
      if (rewrite_chain) {
        const std::string head = chain.HeadsText();
        // And the tree heads (SPEC section 10), which a forger rewrites the same way.
        events::MerkleTreeHead tree_head;
        tree_head.set_tree_size(chain.TreeHeads()[0].tree_size);
        tree_head.set_root_hash(std::string(reinterpret_cast<const char*>(chain.TreeHeads()[0].root_hash.data()), 32));
        if (event.has_invoice_issued()) {
          event.mutable_invoice_issued()->set_chain_head(head);
          *event.mutable_invoice_issued()->mutable_tree_heads(0) = tree_head;
        }
        if (event.has_subsidy_claim_issued()) {
          event.mutable_subsidy_claim_issued()->set_chain_head(head);
          *event.mutable_subsidy_claim_issued()->mutable_tree_heads(0) = tree_head;
        }
      }
    }
    append(event);
  }
  return forged;
}

TEST(HashChain, HeadsAreSha256OfTheHeadBeforeAndThePayload) {
  // head_0 = 32 zero bytes, head_{n+1} = SHA-256(head_n || payload_n); the expected
  // heads are Python's hashlib.sha256 of those bytes.
  HashChain chain(2);
  chain.Extend(1, "abc");
  EXPECT_EQ(chain.HeadsText(),
            "p0:0000000000000000000000000000000000000000000000000000000000000000,"
            "p1:365aa7d8f7f9402c4b9434502b4cc89ddb09fe50d7cd95b493b834c62d5a5370");
  chain.Extend(1, "");
  EXPECT_EQ(chain.HeadsText().substr(68),
            "p1:e68b0c72b1aff9488294900ba6cc1e99075122a8d0c122eb42da506f9c2321a4");
  EXPECT_EQ(chain.covered(), (LogPosition{{0, 2}}));
}

TEST_F(BillingTest, VerifyDetectsAForgedHistoryThroughTheHashChain) {
  Ingest(kGoldenEvents);
  ASSERT_TRUE(BillQuarter({2026, 1}, "q1").ok());
  auto forged = Forge(*log_, dir_ / "forged/log", /*rewrite_chain=*/false);
  auto report = Verify(*forged, (dir_ / "verify").string());
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_FALSE(report->ok());
  for (const auto& doc : report->documents) {
    EXPECT_FALSE(doc.ok) << doc.document_id;
    EXPECT_THAT(doc.difference, HasSubstr("hash chain")) << doc.document_id;
  }
}

// SPEC section 10: each issued event records the Merkle tree head (RFC 9162) of the
// log's records before its as_of, and invoices.json shows it; it is the plain tree's.
TEST_F(BillingTest, IssuedDocumentsRecordTheTreeHeadAtTheirAsOf) {
  Ingest(kGoldenEvents);
  auto outcome = BillQuarter({2026, 1}, "q1");
  ASSERT_TRUE(outcome.ok()) << outcome.status();
  const int64_t as_of = outcome->as_of.next_offsets[0];
  merkle::TreeEdge expected;  // the records before as_of, hashed one by one
  auto cursor = *log_->Read(LogPosition{{0}});
  LogRecord record;
  size_t issued_events = 0;
  while (*cursor->Next(record)) {
    if (record.offset < as_of) {
      expected.AppendRecord(record.payload);
      continue;
    }
    events::Event event;
    ASSERT_TRUE(event.ParseFromArray(record.payload.data(), static_cast<int>(record.payload.size())));
    const auto* heads = event.has_invoice_issued()         ? &event.invoice_issued().tree_heads()
                        : event.has_subsidy_claim_issued() ? &event.subsidy_claim_issued().tree_heads()
                        : event.has_host_shares_issued()   ? &event.host_shares_issued().tree_heads()
                                                           : nullptr;
    ASSERT_NE(heads, nullptr) << record.offset;
    ASSERT_EQ(heads->size(), 1);
    EXPECT_EQ(heads->Get(0).tree_size(), as_of);
    EXPECT_EQ(heads->Get(0).root_hash(),
              std::string(reinterpret_cast<const char*>(expected.Root().data()), expected.Root().size()));
    ++issued_events;
  }
  EXPECT_EQ(issued_events, outcome->documents_issued + 1);  // and the host's shares
  EXPECT_THAT(ReadFile("q1", "invoices.json"),
              HasSubstr(fmt::format(",\n \"tree_heads\":{{\"p0\":{{\"tree_size\":{},\"root_hash\":\"", as_of)));
}

// A recorded tree head that is not the log's (the host recorded another history than
// the one it kept) is a difference of every document of the run, even with the chain
// heads and the documents intact.
TEST_F(BillingTest, VerifyRefusesAWrongRecordedTreeHead) {
  Ingest(kGoldenEvents);
  ASSERT_TRUE(BillQuarter({2026, 1}, "q1").ok());
  for (const bool change_size : {false, true}) {
    auto copy = *EmbeddedLog::Open((dir_ / (change_size ? "size" : "root")).string());
    auto cursor = *log_->Read(LogPosition{{0}});
    LogRecord record;
    while (*cursor->Next(record)) {
      events::Event event;
      ASSERT_TRUE(event.ParseFromArray(record.payload.data(), static_cast<int>(record.payload.size())));
      auto change = [&](auto* heads) {
        ASSERT_EQ(heads->size(), 1);
        if (change_size) {
          heads->Mutable(0)->set_tree_size(heads->Get(0).tree_size() - 1);
        } else {
          (*heads->Mutable(0)->mutable_root_hash())[31] ^= 0x01;
        }
      };
      if (event.has_invoice_issued()) change(event.mutable_invoice_issued()->mutable_tree_heads());
      if (event.has_subsidy_claim_issued()) change(event.mutable_subsidy_claim_issued()->mutable_tree_heads());
      ASSERT_TRUE(copy->Append({AppendRecord{"", event.SerializeAsString()}}).ok());
    }
    auto report = Verify(*copy, (dir_ / "verify").string());
    ASSERT_TRUE(report.ok()) << report.status();
    EXPECT_FALSE(report->ok());
    ASSERT_FALSE(report->documents.empty());
    for (const auto& doc : report->documents) {
      EXPECT_FALSE(doc.ok) << doc.document_id;
      EXPECT_THAT(doc.difference, HasSubstr("the Merkle tree head of partition 0 at as_of differs"))
          << doc.document_id;
    }
  }
  // The unchanged log verifies.
  auto report = Verify(*log_, (dir_ / "verify").string());
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_TRUE(report->ok());
}

// #20's note: the host_shares_issued record's tree heads are checked too. A wrong one,
// with every document intact, is named on its own.
TEST_F(BillingTest, VerifyNamesAWrongTreeHeadOfTheHostShares) {
  Ingest(kGoldenEvents);
  ASSERT_TRUE(BillQuarter({2026, 1}, "q1").ok());
  auto copy = *EmbeddedLog::Open((dir_ / "host-shares").string());
  auto cursor = *log_->Read(LogPosition{{0}});
  LogRecord record;
  int changed = 0;
  while (*cursor->Next(record)) {
    events::Event event;
    ASSERT_TRUE(event.ParseFromArray(record.payload.data(), static_cast<int>(record.payload.size())));
    if (event.has_host_shares_issued()) {
      auto* heads = event.mutable_host_shares_issued()->mutable_tree_heads();
      ASSERT_EQ(heads->size(), 1);
      (*heads->Mutable(0)->mutable_root_hash())[0] ^= 0x40;
      ++changed;
    }
    ASSERT_TRUE(copy->Append({AppendRecord{"", event.SerializeAsString()}}).ok());
  }
  ASSERT_EQ(changed, 1);
  auto report = Verify(*copy, (dir_ / "verify").string());
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_FALSE(report->ok());
  std::vector<std::string> differ;
  for (const auto& doc : report->documents) {
    if (doc.ok) continue;
    differ.push_back(doc.document_id);
    EXPECT_THAT(doc.difference, HasSubstr("host_shares_issued: the Merkle tree head of partition 0 at as_of "
                                          "differs"));
  }
  EXPECT_EQ(differ, std::vector<std::string>{"2026Q1-host-shares"});
}

TEST_F(BillingTest, VerifyNamesTheFieldAForgedEventChanges) {
  Ingest(kGoldenEvents);
  ASSERT_TRUE(BillQuarter({2026, 1}, "q1").ok());
  // Even a forger who rewrites the recorded chain heads cannot make the documents agree.
  auto forged = Forge(*log_, dir_ / "forged/log", /*rewrite_chain=*/true);
  auto report = Verify(*forged, (dir_ / "verify").string());
  ASSERT_TRUE(report.ok()) << report.status();
  std::map<std::string, std::string> differences;
  for (const auto& doc : report->documents) {
    if (!doc.ok) differences[doc.document_id] = doc.difference;
  }
  ASSERT_TRUE(differences.contains("2026Q1-espoo-kela"));
  EXPECT_THAT(differences["2026Q1-espoo-kela"], HasSubstr("total_cents: issued 238334"));
  EXPECT_TRUE(differences.contains("2026Q1-espoo-vero"));
}

}  // namespace
}  // namespace tori

namespace tori {
namespace {

TEST_F(BillingTest, AsOfShowsTheDocumentsOfAnEarlierPosition) {
  Ingest(kGoldenEvents);
  const LogPosition before_late = log_->End();
  ASSERT_TRUE(BillQuarter({2026, 1}, "then", /*dry_run=*/true).ok());
  Ingest(R"({"event_id":"late1","type":"contact_recorded","occurred_at":"2026-02-10T10:00:00Z","contact_id":"late-x","service_point_id":"iso","agency_id":"vero","service_code":"S","channel":"phone","handled_by":"shared_advisor","duration_s":60})");
  BillRequest request;
  request.quarter = {2026, 1};
  request.out_dir = (dir_ / "as-of").string();
  request.dry_run = true;
  request.as_of = before_late;
  request.scratch_dir = (dir_ / "scratch").string();
  auto outcome = Bill(*log_, *state_, request);
  ASSERT_TRUE(outcome.ok()) << outcome.status();
  EXPECT_EQ(ReadFile("then", "invoices.json"), ReadFile("as-of", "invoices.json"));
  request.dry_run = false;
  EXPECT_FALSE(Bill(*log_, *state_, request).ok());  // the past is never issued
}

}  // namespace
}  // namespace tori

namespace tori {
namespace {

// Issue #5: any single-byte change of the stored log is detected, as record corruption
// at the right place or as a document or chain mismatch. The seed is printed.
TEST_F(BillingTest, EverySingleByteChangeOfTheLogIsDetected) {
  Ingest(kGoldenEvents);
  ASSERT_TRUE(BillQuarter({2026, 1}, "q1").ok());
  log_.reset();  // release the log's lock
  const fs::path segment = dir_ / "data/log" / fmt::format("{:020d}.log", 0);
  const auto size = fs::file_size(segment);
  const uint64_t seed = 20261123;
  std::mt19937_64 rng(seed);
  int detected_as_corruption = 0, detected_by_verify = 0;
  for (int trial = 0; trial < 220; ++trial) {
    const uint64_t at = rng() % size;
    SCOPED_TRACE(fmt::format("seed {} trial {} byte {}", seed, trial, at));
    const fs::path copy = dir_ / "mutated";
    fs::remove_all(copy);
    fs::create_directories(copy);
    fs::copy_file(segment, copy / segment.filename());
    {
      std::fstream f(copy / segment.filename(), std::ios::in | std::ios::out | std::ios::binary);
      f.seekg(static_cast<std::streamoff>(at));
      char c;
      f.get(c);
      f.seekp(static_cast<std::streamoff>(at));
      f.put(static_cast<char>(c ^ (1 << (rng() % 8))));
    }
    auto mutated = EmbeddedLog::Open(copy.string());
    if (!mutated.ok()) {
      EXPECT_EQ(mutated.status().code(), absl::StatusCode::kDataLoss);
      EXPECT_THAT(mutated.status().message(), HasSubstr("byte offset"));
      ++detected_as_corruption;
      continue;
    }
    auto report = Verify(**mutated, (dir_ / "verify").string());
    if (!report.ok()) {
      EXPECT_EQ(report.status().code(), absl::StatusCode::kDataLoss);
      ++detected_as_corruption;
      continue;
    }
    EXPECT_FALSE(report->ok()) << "undetected";
    ++detected_by_verify;
  }
  RecordProperty("detected_as_corruption", detected_as_corruption);
  RecordProperty("detected_by_verify", detected_by_verify);
}

// The issue's case: one overwritten cost record cut the quarter short, with an OK
// status, and a real run issued those documents.
TEST_F(BillingTest, ADamagedCostRecordFailsTheRunAndIssuesNothing) {
  Ingest(kGoldenEvents);
  namespace p = projection;
  const std::string key = p::Key(p::kCost, {"iso", "2026Q1", "premises", "k2"});
  for (const std::string& damage : {std::string("\x0a\xff garbage"), std::string()}) {
    ASSERT_TRUE(state_->Commit({}, {{key, damage}}, state_->applied()).ok());
    const LogPosition before = log_->End();
    for (bool dry_run : {true, false}) {
      auto outcome = BillQuarter({2026, 1}, dry_run ? "dry" : "real", dry_run);
      EXPECT_TRUE(absl::IsDataLoss(outcome.status())) << outcome.status();
      EXPECT_THAT(std::string(outcome.status().message()),
                  HasSubstr("'C\\0iso\\02026Q1\\0premises\\0k2'"));
      EXPECT_THAT(std::string(outcome.status().message()),
                  HasSubstr(fmt::format("tori rebuild --data {}`", (dir_ / "data").string())));
    }
    EXPECT_EQ(log_->End(), before);  // nothing issued
  }
}

TEST_F(BillingTest, VerifyReportsALiveCounterChangedToAnotherWellFormedValue) {
  Ingest(kGoldenEvents);
  ASSERT_TRUE(BillQuarter({2026, 1}, "q1").ok());
  auto fine = Verify(*log_, (dir_ / "verify").string(), {}, state_.get());
  ASSERT_TRUE(fine.ok()) << fine.status();
  EXPECT_TRUE(fine->ok());
  EXPECT_TRUE(fine->live_state_checked);
  EXPECT_EQ(fine->live_state_problem, "");
  // kela's counter says 4 contacts instead of 3: sealed, of the right size, so only
  // the comparison with a replay can tell.
  namespace p = projection;
  const std::string key = p::Key(p::kContacts, {"iso", "2026Q1", "kela", "S"});
  ASSERT_TRUE(state_->Commit({}, {{key, p::Seal(key, p::EncodeCounts({4, 3, 1200}))}}, state_->applied()).ok());
  auto report = Verify(*log_, (dir_ / "verify").string(), {}, state_.get());
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_FALSE(report->ok());
  EXPECT_THAT(report->live_state_problem, HasSubstr("'K\\0iso\\02026Q1\\0kela\\0S'"));
  EXPECT_THAT(report->live_state_problem, HasSubstr("tori rebuild --data"));
  for (const auto& document : report->documents) EXPECT_TRUE(document.ok) << document.document_id;
}

}  // namespace
}  // namespace tori

namespace tori {
namespace {

std::string FileBytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

using ::tori::testing::FailingPartWayLog;
using ::tori::testing::RecordEnds;

TEST_F(BillingTest, ARunCutOffByAPowerLossIsCompletedByTheNextBill) {
  // Power lost while the run's documents are appended: the log keeps the first k of
  // them (and a torn record after), the state none (it commits after the log). The
  // next bill must issue exactly what an uninterrupted run issues.
  now_ = absl::FromUnixSeconds(1790000000);
  Ingest(kGoldenEvents);
  Close();
  fs::copy(dir_ / "data", dir_ / "before-bill", fs::copy_options::recursive);
  Reopen();
  auto reference = BillQuarter({2026, 1}, "reference");
  ASSERT_TRUE(reference.ok()) << reference.status();
  ASSERT_EQ(reference->documents_issued, 3u);  // 2 invoices, 1 claim
  Close();
  fs::path segment;
  for (const auto& entry : fs::directory_iterator(dir_ / "data/log")) {
    if (entry.path().extension() == ".log") segment = entry.path();
  }
  const std::string reference_log = FileBytes(segment);
  const std::vector<size_t> ends = RecordEnds(reference_log);
  ASSERT_EQ(ends.back(), reference_log.size());
  const size_t events_before = ends.size() - 4;  // the 3 documents and the host's shares

  for (size_t k = 0; k < 3; ++k) {
    SCOPED_TRACE(fmt::format("{} of 3 documents in the log", k));
    fs::remove_all(dir_ / "data");
    fs::copy(dir_ / "before-bill", dir_ / "data", fs::copy_options::recursive);
    // The records of k documents and 11 bytes of the next one's header.
    const size_t kept_bytes = (k == 0 ? ends[events_before - 1] : ends[events_before + k - 1]) + 11;
    std::ofstream(segment, std::ios::binary | std::ios::trunc) << reference_log.substr(0, kept_bytes);
    Reopen();
    auto again = BillQuarter({2026, 1}, fmt::format("after-{}", k));
    ASSERT_TRUE(again.ok()) << again.status();
    EXPECT_EQ(again->documents_issued, 3 - k);
    EXPECT_EQ(ReadFile(fmt::format("after-{}", k), "invoices.json"), ReadFile("reference", "invoices.json"));
    Close();
    // The same records, byte for byte: documents, as_of, chain head, invoice date.
    EXPECT_EQ(FileBytes(segment), reference_log);
    Reopen();
    auto report = Verify(*log_, (dir_ / "verify").string());
    ASSERT_TRUE(report.ok()) << report.status();
    EXPECT_EQ(report->documents.size(), 3u);
    EXPECT_TRUE(report->ok());
    Close();
  }
  Reopen();
}

TEST_F(BillingTest, AnAppendThatFailsPartWayIsCompletedAndHoldsBackOtherQuarters) {
  Ingest(kGoldenEvents);
  const LogPosition before = log_->End();
  {
    FailingPartWayLog failing(*log_, 1);
    BillRequest request;
    request.quarter = {2026, 1};
    request.out_dir = (dir_ / "failed").string();
    request.scratch_dir = (dir_ / "scratch").string();
    EXPECT_FALSE(Bill(failing, *state_, request).ok());
  }
  ASSERT_EQ(log_->End().next_offsets[0], before.next_offsets[0] + 1);

  // Verify says what happened and the way out.
  auto report = Verify(*log_, (dir_ / "verify").string());
  ASSERT_TRUE(report.ok()) << report.status();
  ASSERT_EQ(report->documents.size(), 3u);
  EXPECT_TRUE(report->documents[0].ok);
  EXPECT_THAT(report->documents[1].difference,
              HasSubstr("interrupted (1 of 3 documents in the log): `tori bill --quarter 2026Q1` "
                        "issues the rest"));

  // Another quarter would bill the missing documents as adjustments: refused.
  auto q2 = BillQuarter({2026, 2}, "q2", /*dry_run=*/true);
  ASSERT_FALSE(q2.ok());
  EXPECT_EQ(q2.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(q2.status().message(), HasSubstr("2026Q1 was issued only in part"));
  EXPECT_THAT(q2.status().message(), HasSubstr("`tori bill --quarter 2026Q1`"));

  // A dry run of the quarter shows every document and issues nothing.
  auto dry = BillQuarter({2026, 1}, "dry", /*dry_run=*/true);
  ASSERT_TRUE(dry.ok()) << dry.status();
  EXPECT_EQ(dry->result.invoices.size(), 2u);
  EXPECT_EQ(log_->End().next_offsets[0], before.next_offsets[0] + 1);
  EXPECT_THAT(dry->notes, ::testing::Contains(HasSubstr("lacks 2 of its 3 documents")));

  auto completed = BillQuarter({2026, 1}, "q1");
  ASSERT_TRUE(completed.ok()) << completed.status();
  EXPECT_TRUE(completed->already_issued);
  EXPECT_EQ(completed->documents_issued, 2u);
  std::string draft = ReadFile("dry", "draft-invoices.json");
  const std::string mark = ",\n \"draft\":true";
  ASSERT_NE(draft.find(mark), std::string::npos) << draft;
  EXPECT_EQ(draft.erase(draft.find(mark), mark.size()), ReadFile("q1", "invoices.json"));
  auto again = BillQuarter({2026, 1}, "q1-again");
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->documents_issued, 0u);
  report = Verify(*log_, (dir_ / "verify").string());
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_TRUE(report->ok());
  EXPECT_EQ(report->documents.size(), 3u);
  auto q2_after = BillQuarter({2026, 2}, "q2", /*dry_run=*/true);
  EXPECT_TRUE(q2_after.ok()) << q2_after.status();
}

TEST_F(BillingTest, IdsOfAnOldLogThatWouldLeaveTheOutputDirectoryGetSafeDistinctNames) {
  // Ingest now refuses agency ids with '/', but a log of an earlier version may hold
  // them: here kela is "x/../../escaped" and vero "x_.._.._escaped" (which replacing
  // characters by '_' would give both). The ids go in through placeholders of the same
  // length, swapped in the events' encoding, as ingest never took such ids.
  const std::string evil_kela = "x/../../escaped", evil_vero = "x_.._.._escaped";
  std::string text = kGoldenEvents;
  auto replace_all = [&](const std::string& from, const std::string& to) {
    for (size_t at = 0; (at = text.find(from, at)) != std::string::npos; at += to.size()) {
      text.replace(at, from.size(), to);
    }
  };
  replace_all(R"("kind":"kela")", R"("kind":"KIND")");
  replace_all(R"("kela")", R"("PLACEHOLDERKELA")");
  replace_all(R"("vero")", R"("PLACEHOLDERVERO")");
  replace_all(R"("kind":"KIND")", R"("kind":"kela")");
  // The issuer's account, so that Finvoice files are written too.
  replace_all(R"("business_id":"0101263-6")",
              R"("business_id":"0101263-6","iban":"FI2112345600000785","bic":"NDEAFIHH")");
  JsonEventParser parser;
  std::vector<events::Event> events;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    if (line.empty()) continue;
    events::Event event;
    auto rejection = parser.Parse(line, event);
    ASSERT_FALSE(rejection.has_value()) << rejection->message << ": " << line;
    std::string bytes = event.SerializeAsString();
    for (const auto& [from, to] : {std::pair{std::string("PLACEHOLDERKELA"), evil_kela},
                                   std::pair{std::string("PLACEHOLDERVERO"), evil_vero}}) {
      for (size_t at = 0; (at = bytes.find(from, at)) != std::string::npos;) bytes.replace(at, from.size(), to);
    }
    ASSERT_TRUE(event.ParseFromString(bytes));
    events.push_back(std::move(event));
  }
  ASSERT_TRUE(AppendEvents(*log_, *state_, events).ok());

  auto outcome = BillQuarter({2026, 1}, "deep/out");
  ASSERT_TRUE(outcome.ok()) << outcome.status();
  ASSERT_EQ(outcome->result.invoices.size(), 2u);
  const fs::path out = dir_ / "deep/out";
  std::set<std::string> names;
  for (const auto& file : outcome->files) {
    EXPECT_EQ(fs::path(file).parent_path(), out) << file;
    names.insert(fs::path(file).filename().string());
  }
  EXPECT_EQ(names.size(), outcome->files.size());  // none written twice
  EXPECT_THAT(names, ::testing::IsSupersetOf({"invoice-2026Q1-espoo-x%2F..%2F..%2Fescaped.csv",
                                              "invoice-2026Q1-espoo-x_.._.._escaped.csv",
                                              "finvoice-2026Q1-espoo-x%2F..%2F..%2Fescaped.xml",
                                              "finvoice-2026Q1-espoo-x_.._.._escaped.xml"}));
  // Nothing but the output directory was written beside the data.
  std::set<std::string> top;
  for (const auto& entry : fs::directory_iterator(dir_)) top.insert(entry.path().filename().string());
  EXPECT_EQ(top, (std::set<std::string>{"data", "deep"}));
  size_t files_in_out = 0;
  for (const auto& entry : fs::recursive_directory_iterator(dir_ / "deep")) files_in_out += entry.is_regular_file();
  EXPECT_EQ(files_in_out, outcome->files.size());

  auto report = Verify(*log_, (dir_ / "verify").string());
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_TRUE(report->ok());
}

// GET /v1/invoices/{id}/finvoice and /peppol: the e-invoices of an issued invoice are
// the bytes the issuing run wrote, in its language, with the agencies' details of its
// as_of (a later agency_updated does not reach them).
TEST_F(BillingTest, IssuedEInvoicesAreTheFilesTheIssuingRunWrote) {
  std::string text = kGoldenEvents;
  const std::string business_id = R"("business_id":"0101263-6")";
  text.replace(text.find(business_id), business_id.size(),
               R"("business_id":"0101263-6","iban":"FI2112345600000785","bic":"NDEAFIHH")");
  Ingest(text);
  BillRequest request;
  request.quarter = {2026, 1};
  request.out_dir = (dir_ / "q1").string();
  request.scratch_dir = (dir_ / "scratch").string();
  request.now = now_;
  request.language = documents::Language::kSv;
  ASSERT_TRUE(Bill(*log_, *state_, request).ok());
  Ingest(R"({"event_id":"u1","type":"agency_updated","occurred_at":"2026-04-02T08:00:00Z","agency_id":"espoo","changes":{"name":"Espoon kaupunki"}}
{"event_id":"u2","type":"agency_updated","occurred_at":"2026-04-02T08:00:00Z","agency_id":"kela","changes":{"name":"Kansaneläkelaitos"}}
)");
  for (const std::string id : {"2026Q1-espoo-kela", "2026Q1-espoo-vero"}) {
    auto documents = IssuedEInvoices(*log_, *state_, id, documents::Language::kSv, (dir_ / "scratch").string());
    ASSERT_TRUE(documents.ok()) << documents.status();
    const std::string finvoice = ReadFile("q1", "finvoice-" + id + ".xml");
    ASSERT_FALSE(finvoice.empty());
    EXPECT_EQ(documents->finvoice_xml, finvoice);
    EXPECT_EQ(documents->peppol_xml, ReadFile("q1", "peppol-" + id + ".xml"));
    EXPECT_THAT(documents->finvoice_xml, ::testing::Not(HasSubstr("Espoon kaupunki")));
    // The language is the caller's to name: another one gives other bytes.
    auto finnish = IssuedEInvoices(*log_, *state_, id, documents::Language::kFi, (dir_ / "scratch").string());
    ASSERT_TRUE(finnish.ok()) << finnish.status();
    EXPECT_NE(finnish->finvoice_xml, finvoice);
  }
  EXPECT_FALSE(fs::exists(dir_ / "scratch"));
  EXPECT_TRUE(absl::IsNotFound(
      IssuedEInvoices(*log_, *state_, "2026Q1-espoo-nobody", documents::Language::kSv, (dir_ / "scratch").string())
          .status()));
}

TEST_F(BillingTest, NoIssuedEInvoiceWhenTheIssuerHadNoIban) {
  Ingest(kGoldenEvents);
  ASSERT_TRUE(BillQuarter({2026, 1}, "q1").ok());
  auto documents =
      IssuedEInvoices(*log_, *state_, "2026Q1-espoo-kela", documents::Language::kFi, (dir_ / "scratch").string());
  EXPECT_TRUE(absl::IsFailedPrecondition(documents.status())) << documents.status();
  EXPECT_THAT(std::string(documents.status().message()), HasSubstr("had no IBAN"));
}

}  // namespace
}  // namespace tori

namespace tori {
namespace {

// Splits CSV text as a spreadsheet would with `separator` (quoted fields may hold it).
std::vector<std::vector<std::string>> ReadCsv(std::string_view text, char separator,
                                              std::string_view eol) {
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> row;
  std::string field;
  bool quoted = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quoted) {
      if (c == '"' && i + 1 < text.size() && text[i + 1] == '"') {
        field += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        field += c;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == separator) {
      row.push_back(std::exchange(field, ""));
    } else if (text.substr(i, eol.size()) == eol) {
      row.push_back(std::exchange(field, ""));
      rows.push_back(std::exchange(row, {}));
      i += eol.size() - 1;
    } else {
      EXPECT_NE(c, '\n') << "a bare LF inside a row: the line ends are not " << eol.size();
      field += c;
    }
  }
  EXPECT_TRUE(field.empty() && row.empty()) << "the last row has no line end";
  return rows;
}

engine::Invoice CsvInvoice() {
  using engine::Key;
  engine::Invoice invoice{"2026Q2-espoo-kela", "espoo", "kela", {2026, 2}, 0, {}};
  invoice.lines = {
      {"iso-omena", "premises", Key::kDedicatedArea, std::nullopt, 60'0000, 1'820'050, 5'460'000,
       2'000'000, std::nullopt},
      {"iso-omena", "shared_staff", Key::kAdvisorTime, std::nullopt, 100'0000, 4000, 8000,
       250'005, std::nullopt},
      {"iso-omena", "premises", Key::kWeightedContacts, std::nullopt, 40'0000, 25'000, 100'000,
       -123'456, engine::Quarter{2026, 1}},
  };
  invoice.total_cents = 2'000'000 + 250'005 - 123'456;
  return invoice;
}

// Issue 15.13: Finnish Excel opens a CSV with a BOM, ';' and decimal commas as columns
// and numbers; quantities are in their units, not scaled integers; the total row comes
// after an empty row and says TOTAL in its first column.
TEST(InvoiceCsvTest, ExcelFiHasABomSemicolonsDecimalCommasCrlfAndQuantitiesInTheirUnits) {
  const std::string csv =
      InvoiceCsv(CsvInvoice(), {.dialect = CsvDialect::kExcelFi, .language = documents::Language::kFi});
  ASSERT_TRUE(csv.starts_with("\xEF\xBB\xBF")) << "no UTF-8 byte-order mark";
  const auto rows = ReadCsv(std::string_view(csv).substr(3), ';', "\r\n");
  ASSERT_EQ(rows.size(), 6u);  // header, 3 lines, empty, total
  const std::vector<std::string>& header = rows[0];
  auto col = [&](std::string_view name) {
    const auto it = std::find(header.begin(), header.end(), name);
    EXPECT_NE(it, header.end()) << name;
    return static_cast<size_t>(it - header.begin());
  };
  for (size_t r = 1; r <= 3; ++r) ASSERT_EQ(rows[r].size(), header.size()) << r;
  EXPECT_EQ(rows[1][col("basis_quantity")], "18200,50");  // m²·days, not 1820050
  EXPECT_EQ(rows[1][col("basis_total")], "54600,00");
  EXPECT_EQ(rows[1][col("basis_unit")], "m²·vrk");
  EXPECT_EQ(rows[1][col("weight_pct")], "60,0000");
  EXPECT_EQ(rows[1][col("amount")], "20000,00");
  EXPECT_EQ(rows[2][col("basis_quantity")], "1:06:40");  // 4000 s as h:mm:ss
  EXPECT_EQ(rows[2][col("basis_total")], "2:13:20");
  EXPECT_EQ(rows[2][col("basis_unit")], "h:min:s");
  EXPECT_EQ(rows[3][col("basis_quantity")], "2,5000");  // weighted contacts, not 25000
  EXPECT_EQ(rows[3][col("amount")], "-1234,56");
  EXPECT_EQ(rows[4], std::vector<std::string>{""});  // the empty row
  EXPECT_EQ(rows[5][0], "TOTAL");
  EXPECT_EQ(rows[5][col("amount")], "21265,49");
  EXPECT_EQ(rows[5][col("amount_cents")], "2126549");
}

TEST(InvoiceCsvTest, PlainHasCommasDecimalPointsLfAndNoBom) {
  const std::string csv = InvoiceCsv(CsvInvoice());
  ASSERT_TRUE(csv.starts_with("invoice_id,"));
  EXPECT_EQ(csv.find('\r'), std::string::npos);
  const auto rows = ReadCsv(csv, ',', "\n");
  ASSERT_EQ(rows.size(), 6u);
  EXPECT_EQ(rows[1][9], "18200.50");
  EXPECT_EQ(rows[1][8], "60.0000");
  EXPECT_EQ(rows[5][0], "TOTAL");
  EXPECT_EQ(rows[5][13], "21265.49");
}

TEST(InvoiceCsvTest, ParsesTheTwoDialects) {
  EXPECT_EQ(*ParseCsvDialect("plain"), CsvDialect::kPlain);
  EXPECT_EQ(*ParseCsvDialect("excel-fi"), CsvDialect::kExcelFi);
  EXPECT_FALSE(ParseCsvDialect("excel").ok());
}

TEST_F(BillingTest, AScratchReplayHoldsTheLogUpToItsPositionAndIsRemovedAfterUse) {
  Ingest(kGoldenEvents);
  const std::string scratch = (dir_ / "scratch").string();
  const LogPosition at{{5}};
  bool used = false;
  ASSERT_TRUE(WithScratchReplay(*log_, scratch, at, [&](StateStore& state) {
                used = true;
                EXPECT_EQ(state.applied(), at);
                EXPECT_TRUE(fs::exists(scratch));
                return absl::OkStatus();
              }).ok());
  EXPECT_TRUE(used);
  EXPECT_FALSE(fs::exists(scratch));
  // Also when its user fails, whose error comes back as it is.
  const absl::Status failed = WithScratchReplay(
      *log_, scratch, at, [](StateStore&) { return absl::DataLossError("the user's error"); });
  EXPECT_EQ(failed, absl::DataLossError("the user's error"));
  EXPECT_FALSE(fs::exists(scratch));
}

TEST_F(BillingTest, AScratchReplayStartsOverOnlyForAPositionBeforeItsOwn) {
  Ingest(kGoldenEvents);
  const std::string dir = (dir_ / "scratch").string();
  fs::create_directories(dir + "/left-over");  // a crashed run's: removed at Open
  {
    auto scratch = ScratchReplay::Open(dir);
    ASSERT_TRUE(scratch.ok()) << scratch.status();
    EXPECT_FALSE(fs::exists(dir + "/left-over"));
    ASSERT_EQ(*(*scratch)->CatchUpTo(*log_, {.until = LogPosition{{10}}}), 10u);
    EXPECT_FALSE(*(*scratch)->StartOverUnlessCovered(LogPosition{{12}}));
    EXPECT_FALSE(*(*scratch)->StartOverUnlessCovered(LogPosition{{10}}));
    EXPECT_EQ((*scratch)->state().applied(), LogPosition{{10}});
    EXPECT_EQ(*(*scratch)->CatchUpTo(*log_, {.until = LogPosition{{12}}}), 2u);
    EXPECT_TRUE(*(*scratch)->StartOverUnlessCovered(LogPosition{{9}}));
    EXPECT_EQ((*scratch)->state().applied(), LogPosition{});
    EXPECT_EQ(*(*scratch)->CatchUpTo(*log_, {.until = LogPosition{{9}}}), 9u);
  }
  EXPECT_FALSE(fs::exists(dir));
}

}  // namespace
}  // namespace tori
