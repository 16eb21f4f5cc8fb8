// ComputeBilling: the golden scenario and the SPEC's special cases, one fact each.
#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/engine/engine.h"
#include "services/engine/test_fixtures.h"
#include "services/engine/test_printers.h"

namespace tori::engine {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using fixtures::GoldenInput;
using fixtures::kWholePctE4;
using fixtures::MakeAgreement;
using fixtures::OneTranche;

constexpr Quarter kQ1{2026, 1};

BillingResult Bill(const BillingInput& input) {
  auto result = ComputeBilling(input);
  EXPECT_TRUE(result.ok()) << result.status();
  return result.ok() ? *std::move(result) : BillingResult{};
}

// A point hosted by h with parties h, a, b and one pool.
ServicePointInput SmallPoint(PoolRule rule, int64_t amount_cents) {
  ServicePointInput point;
  point.service_point_id = "p1";
  point.host_agency_id = "h";
  point.agreement = MakeAgreement("p1", {"h", "a", "b"}, {{"pool", std::move(rule)}});
  point.pool_amounts_cents = {{"pool", amount_cents}};
  return point;
}

const Invoice* FindInvoice(const BillingResult& result, const std::string& recipient) {
  for (const Invoice& invoice : result.invoices) {
    if (invoice.recipient_agency_id == recipient) return &invoice;
  }
  return nullptr;
}

// ---------------------------------------------------------------- golden

TEST(ComputeBilling, GoldenScenarioThreePartiesTwoPools) {
  // premises, 100000.01 EUR = 10000001 cents, tranches 60 % dedicated_area, 40 % equal:
  //   tranches: 10000001 * 0.6 = 6000000.6, * 0.4 = 4000000.4 -> floors 6000000 and
  //   4000000, one leftover cent to the larger remainder (tranche 1): 6000001, 4000000.
  //   dedicated_area 2.7M / 1.8M / 0.9M of K = 5.4M (espoo, kela, vero):
  //     6000001 * 1/2 = 3000000.5, * 1/3 = 2000000.33, * 1/6 = 1000000.17;
  //     floors sum to 6000000, the cent goes to espoo (remainder .5): 3000001, 2000000,
  //     1000000.
  //   equal: 4000000 / 3 = 1333333.33 each, the cent to espoo (tie, smallest id):
  //     1333334, 1333333, 1333333.
  //   espoo (host) 4333335, kela 3333333, vero 2333333; sum 10000001.
  // shared_staff, 5000.00 EUR = 500000 cents, advisor_time 3000 / 4000 / 0 of 7000 s:
  //   500000 * 3/7 = 214285.71, * 4/7 = 285714.29, vero 0; the cent goes to espoo
  //   (remainder 5000/7000 over 2000/7000): 214286, 285714. vero's line is dropped:
  //   amount 0 and basis 0.
  // subsidy: 50 % of espoo's share 4333335 + 214286 = 4547621 -> 2273810.5, rounded
  //   half away from zero: 2273811.
  BillingResult expected;
  expected.quarter = kQ1;
  expected.pools = {{"iso-omena", "premises", 10000001}, {"iso-omena", "shared_staff", 500000}};
  expected.invoices = {
      {"2026Q1-espoo-kela",
       "espoo",
       "kela",
       kQ1,
       3619047,
       {
           {"iso-omena", "premises", Key::kDedicatedArea, std::nullopt, 60'0000, 1800000, 5400000,
            2000000, std::nullopt},
           {"iso-omena", "premises", Key::kEqual, std::nullopt, 40'0000, 1, 3, 1333333,
            std::nullopt},
           {"iso-omena", "shared_staff", Key::kAdvisorTime, std::nullopt, kWholePctE4, 4000,
            7000, 285714, std::nullopt},
       }},
      {"2026Q1-espoo-vero",
       "espoo",
       "vero",
       kQ1,
       2333333,
       {
           {"iso-omena", "premises", Key::kDedicatedArea, std::nullopt, 60'0000, 900000, 5400000,
            1000000, std::nullopt},
           {"iso-omena", "premises", Key::kEqual, std::nullopt, 40'0000, 1, 3, 1333333,
            std::nullopt},
       }},
  };
  expected.host_shares = {{"espoo", "iso-omena", "premises", 4333335},
                          {"espoo", "iso-omena", "shared_staff", 214286}};
  expected.subsidy_claims = {
      {"espoo", "yps-state-aid", "iso-omena", kQ1, 4547621, 2273811, std::nullopt}};

  const BillingResult result = Bill(GoldenInput(kQ1));
  EXPECT_EQ(result.pools, expected.pools);
  EXPECT_EQ(result.invoices, expected.invoices);
  EXPECT_EQ(result.host_shares, expected.host_shares);
  EXPECT_EQ(result.subsidy_claims, expected.subsidy_claims);
  EXPECT_THAT(result.warnings, IsEmpty());
  EXPECT_EQ(result, expected);
}

TEST(ComputeBilling, SameResultWhateverTheInputOrder) {
  BillingInput input = GoldenInput(kQ1);
  ServicePointInput second = fixtures::GoldenPoint();
  second.service_point_id = "kalajarvi";
  second.agreement->service_point_id = "kalajarvi";
  input.service_points.push_back(second);
  const BillingResult result = Bill(input);

  std::reverse(input.service_points.begin(), input.service_points.end());
  for (ServicePointInput& point : input.service_points) {
    std::reverse(point.agreement->parties.begin(), point.agreement->parties.end());
  }
  EXPECT_EQ(Bill(input), result);
}

TEST(ComputeBilling, PointsOfOneHostShareOneInvoiceOrderedByPoint) {
  BillingInput input = GoldenInput(kQ1);
  ServicePointInput second = fixtures::GoldenPoint();
  second.service_point_id = "kalajarvi";
  second.agreement->service_point_id = "kalajarvi";
  input.service_points.push_back(second);
  const BillingResult result = Bill(input);
  ASSERT_EQ(result.invoices.size(), 2u);
  const Invoice& kela = result.invoices[0];
  ASSERT_EQ(kela.lines.size(), 6u);
  EXPECT_EQ(kela.lines[0].service_point_id, "iso-omena");
  EXPECT_EQ(kela.lines[3].service_point_id, "kalajarvi");
  EXPECT_EQ(kela.total_cents, 2 * 3619047);
}

// ---------------------------------------------------------------- keys and fallbacks

TEST(ComputeBilling, KeySummingToZeroFallsBackToEqualByDefault) {
  const BillingResult result = Bill({kQ1, {SmallPoint(OneTranche(Key::kBookedMinutes), 300)}});
  const Invoice* a = FindInvoice(result, "a");
  ASSERT_NE(a, nullptr);
  EXPECT_THAT(a->lines, ElementsAre(InvoiceLine{"p1", "pool", Key::kEqual, Key::kBookedMinutes,
                                                kWholePctE4, 1, 3, 100, std::nullopt}));
  ASSERT_EQ(result.warnings.size(), 1u);
  EXPECT_EQ(result.warnings[0].code, WarningCode::kFallbackKeyUsed);
  EXPECT_THAT(result.warnings[0].message, HasSubstr("booked_minutes sums to 0"));
}

TEST(ComputeBilling, KeySummingToZeroUsesThePoolsFallbackKey) {
  ServicePointInput point = SmallPoint(OneTranche(Key::kAdvisorTime, Key::kContacts), 300);
  point.key_values["a"].contacts = 2;
  point.key_values["b"].contacts = 1;
  const BillingResult result = Bill({kQ1, {point}});
  // contacts 0 / 2 / 1 of 3 for h, a, b: 0, 200, 100.
  EXPECT_THAT(FindInvoice(result, "a")->lines,
              ElementsAre(InvoiceLine{"p1", "pool", Key::kContacts, Key::kAdvisorTime,
                                      kWholePctE4, 2, 3, 200, std::nullopt}));
  EXPECT_THAT(FindInvoice(result, "b")->lines,
              ElementsAre(InvoiceLine{"p1", "pool", Key::kContacts, Key::kAdvisorTime,
                                      kWholePctE4, 1, 3, 100, std::nullopt}));
  EXPECT_EQ(result.host_shares[0].amount_cents, 0);
}

TEST(ComputeBilling, FallbackKeySummingToZeroSplitsEquallyAndWarns) {
  const BillingResult result =
      Bill({kQ1, {SmallPoint(OneTranche(Key::kBookedMinutes, Key::kFixedShares), 300)}});
  EXPECT_THAT(FindInvoice(result, "b")->lines,
              ElementsAre(InvoiceLine{"p1", "pool", Key::kEqual, Key::kBookedMinutes,
                                      kWholePctE4, 1, 3, 100, std::nullopt}));
  ASSERT_EQ(result.warnings.size(), 1u);
  EXPECT_EQ(result.warnings[0].code, WarningCode::kFallbackKeyZero);
}

TEST(ComputeBilling, FixedSharesKeyUsesAgreementPercentages) {
  ServicePointInput point = SmallPoint(OneTranche(Key::kFixedShares), 1000);
  point.agreement->fixed_shares_pct_e4 = {{"h", 50'0000}, {"a", 30'0000}, {"b", 20'0000}};
  const BillingResult result = Bill({kQ1, {point}});
  EXPECT_EQ(FindInvoice(result, "a")->total_cents, 300);
  EXPECT_EQ(FindInvoice(result, "b")->total_cents, 200);
  EXPECT_EQ(result.host_shares[0].amount_cents, 500);
  EXPECT_THAT(result.warnings, IsEmpty());
}

TEST(ComputeBilling, ZeroAmountLineKeptOnlyWhenBasisIsNonZero) {
  ServicePointInput point = SmallPoint(OneTranche(Key::kContacts), 1);
  point.agreement->parties.push_back("c");
  point.key_values["a"].contacts = 5;
  point.key_values["b"].contacts = 1;
  const BillingResult result = Bill({kQ1, {point}});
  // 1 cent over contacts 5 / 1 / 0 / 0 (a, b, c, h): a's remainder 5/6 takes it.
  EXPECT_EQ(FindInvoice(result, "a")->total_cents, 1);
  EXPECT_THAT(FindInvoice(result, "b")->lines,
              ElementsAre(InvoiceLine{"p1", "pool", Key::kContacts, std::nullopt, kWholePctE4,
                                      1, 6, 0, std::nullopt}));
  // c has neither amount nor basis: no line, but still its invoice.
  ASSERT_NE(FindInvoice(result, "c"), nullptr);
  EXPECT_THAT(FindInvoice(result, "c")->lines, IsEmpty());
  EXPECT_EQ(FindInvoice(result, "c")->total_cents, 0);
}

TEST(ComputeBilling, CreditPoolGivesNegativeLines) {
  const BillingResult result = Bill({kQ1, {SmallPoint(OneTranche(Key::kEqual), -301)}});
  // -301 / 3: -100 each, the extra cent to a (tie, smallest id among a, b, h).
  EXPECT_EQ(FindInvoice(result, "a")->total_cents, -101);
  EXPECT_EQ(FindInvoice(result, "b")->total_cents, -100);
  EXPECT_EQ(result.host_shares[0].amount_cents, -100);
}

TEST(ComputeBilling, TiesGoToSmallerAgencyIdComparedBytewise) {
  ServicePointInput point = SmallPoint(OneTranche(Key::kEqual), 1);
  // "\xC3\x84" (Ä in UTF-8) sorts after "z" bytewise, though before it as signed char.
  point.agreement->parties = {"\xC3\x84vero", "zeta"};
  const BillingResult result = Bill({kQ1, {point}});
  EXPECT_EQ(FindInvoice(result, "zeta")->total_cents, 1);
  EXPECT_EQ(FindInvoice(result, "\xC3\x84vero")->total_cents, 0);
}

TEST(ComputeBilling, HostOutsideThePartiesBearsNothingOfSplitPools) {
  ServicePointInput point = SmallPoint(OneTranche(Key::kEqual), 200);
  point.agreement->parties = {"a", "b"};
  const BillingResult result = Bill({kQ1, {point}});
  EXPECT_EQ(FindInvoice(result, "a")->total_cents, 100);
  EXPECT_EQ(FindInvoice(result, "b")->total_cents, 100);
  EXPECT_THAT(result.host_shares, ElementsAre(HostShare{"h", "p1", "pool", 0}));
}

// ---------------------------------------------------------------- exclusions

TEST(ComputeBilling, PoolNotInAgreementIsBorneByHostWithWarning) {
  ServicePointInput point = SmallPoint(OneTranche(Key::kEqual), 300);
  point.pool_amounts_cents["cleaning"] = 12345;
  const BillingResult result = Bill({kQ1, {point}});
  EXPECT_THAT(result.pools, ElementsAre(PoolAmount{"p1", "cleaning", 12345},
                                        PoolAmount{"p1", "pool", 300}));
  EXPECT_THAT(result.host_shares, ElementsAre(HostShare{"h", "p1", "cleaning", 12345},
                                              HostShare{"h", "p1", "pool", 100}));
  for (const Invoice& invoice : result.invoices) {
    for (const InvoiceLine& line : invoice.lines) EXPECT_NE(line.pool, "cleaning");
  }
  ASSERT_EQ(result.warnings.size(), 1u);
  EXPECT_EQ(result.warnings[0].code, WarningCode::kPoolNotInAgreement);
  EXPECT_THAT(result.warnings[0].message, HasSubstr("cleaning (123.45)"));
}

TEST(ComputeBilling, NonPartyContactsAreExcludedWithWarning) {
  ServicePointInput point = SmallPoint(OneTranche(Key::kContacts), 300);
  point.key_values["a"].contacts = 1;
  point.key_values["b"].contacts = 2;
  point.key_values["poliisi"].contacts = 1000;
  const BillingResult result = Bill({kQ1, {point}});
  EXPECT_EQ(FindInvoice(result, "a")->total_cents, 100);
  EXPECT_EQ(FindInvoice(result, "b")->total_cents, 200);
  EXPECT_EQ(FindInvoice(result, "poliisi"), nullptr);
  ASSERT_EQ(result.warnings.size(), 1u);
  EXPECT_EQ(result.warnings[0].code, WarningCode::kNonPartyExcluded);
  EXPECT_THAT(result.warnings[0].message, HasSubstr("poliisi"));
  EXPECT_THAT(result.warnings[0].message, HasSubstr("1000 contacts"));
}

TEST(ComputeBilling, NonPartyWithoutActivityIsNotReported) {
  ServicePointInput point = SmallPoint(OneTranche(Key::kEqual), 300);
  point.key_values["poliisi"] = MeasuredKeys{};
  EXPECT_THAT(Bill({kQ1, {point}}).warnings, IsEmpty());
}

TEST(ComputeBilling, PointWithoutAgreementLeavesEveryPoolToHost) {
  ServicePointInput point = SmallPoint(OneTranche(Key::kEqual), 300);
  point.agreement.reset();
  const BillingResult result = Bill({kQ1, {point}});
  EXPECT_THAT(result.invoices, IsEmpty());
  EXPECT_THAT(result.host_shares, ElementsAre(HostShare{"h", "p1", "pool", 300}));
  ASSERT_EQ(result.warnings.size(), 1u);
  EXPECT_EQ(result.warnings[0].code, WarningCode::kNoAgreement);
  EXPECT_THAT(result.warnings[0].message, HasSubstr("2026-01-01"));
}

TEST(ComputeBilling, AgreementPoolWithoutCostsIsNotBilled) {
  ServicePointInput point = SmallPoint(OneTranche(Key::kBookedMinutes), 300);
  point.pool_amounts_cents.clear();
  const BillingResult result = Bill({kQ1, {point}});
  EXPECT_THAT(result.pools, IsEmpty());
  EXPECT_THAT(result.host_shares, IsEmpty());
  EXPECT_THAT(result.warnings, IsEmpty());  // no fallback reported for an unbilled pool
  EXPECT_EQ(result.invoices.size(), 2u);    // parties are still invoiced, for 0
}

// ---------------------------------------------------------------- subsidies

ServicePointInput CappedSubsidyPoint(int64_t claimed_this_year_cents) {
  ServicePointInput point = SmallPoint(OneTranche(Key::kEqual), 120000);
  point.pool_amounts_cents["other"] = 999;  // not named by the rule
  point.agreement->subsidies = {SubsidyRule{"state-aid", "h", 50'0000,
                                            SubsidyBasis::kPoolTotal, {"pool"}, 100000}};
  point.subsidy_claimed_this_year = {{"state-aid", "h", claimed_this_year_cents}};
  return point;
}

TEST(ComputeBilling, SubsidyCapCarriesAcrossQuartersOfAYear) {
  // 50 % of 1200.00 is 600.00 each quarter; the cap is 1000.00 a year.
  const struct {
    Quarter quarter;
    int64_t claimed_this_year_cents;
    int64_t expected_cents;
  } quarters[] = {{{2026, 1}, 0, 60000},
                  {{2026, 2}, 60000, 40000},
                  {{2026, 3}, 100000, 0},
                  {{2027, 1}, 0, 60000}};  // a new year starts from nothing
  for (const auto& [quarter, claimed_cents, expected_cents] : quarters) {
    SCOPED_TRACE(QuarterName(quarter));
    const BillingResult result = Bill({quarter, {CappedSubsidyPoint(claimed_cents)}});
    EXPECT_THAT(result.subsidy_claims, ElementsAre(SubsidyClaim{"h", "state-aid", "p1", quarter,
                                                                120000, expected_cents,
                                                                std::nullopt}));
  }
}

// Issue #15.4: a claim cut by its cap says so, with the figures.
TEST(ComputeBilling, AClaimCutByItsAnnualCapIsReportedWithTheFigures) {
  const BillingResult under = Bill({{2026, 1}, {CappedSubsidyPoint(0)}});
  for (const Warning& warning : under.warnings) EXPECT_NE(warning.code, WarningCode::kAnnualCapApplied);

  const BillingResult cut = Bill({{2026, 2}, {CappedSubsidyPoint(60000)}});
  ASSERT_EQ(cut.warnings.size(), 2u);  // and the pool "other" outside the agreement
  EXPECT_EQ(cut.warnings[1].code, WarningCode::kAnnualCapApplied);
  EXPECT_EQ(WarningCodeName(cut.warnings[1].code), "ANNUAL_CAP_APPLIED");
  EXPECT_EQ(cut.warnings[1].message,
            "service point p1: subsidy state-aid of h is 600.00 EUR (50.0000 % of 1200.00), "
            "claimed 400.00 EUR: the annual cap of 1000.00 EUR applied (600.00 EUR already "
            "claimed in 2026), cut by 200.00 EUR");
}

TEST(ComputeBilling, TwoRulesOfOneProgramShareTheCap) {
  ServicePointInput point = CappedSubsidyPoint(0);
  point.agreement->subsidies.push_back(point.agreement->subsidies[0]);
  const BillingResult result = Bill({kQ1, {point}});
  ASSERT_EQ(result.subsidy_claims.size(), 2u);
  EXPECT_EQ(result.subsidy_claims[0].amount_cents, 60000);
  EXPECT_EQ(result.subsidy_claims[1].amount_cents, 40000);
}

TEST(ComputeBilling, ClaimantShareBasisIncludesPoolsTheHostBears) {
  ServicePointInput point = SmallPoint(OneTranche(Key::kEqual), 300);
  point.pool_amounts_cents["cleaning"] = 1000;  // not in the agreement: the host's
  point.agreement->subsidies = {SubsidyRule{"state-aid", "h", 50'0000,
                                            SubsidyBasis::kClaimantShare,
                                            {"pool", "cleaning"}, std::nullopt}};
  const BillingResult result = Bill({kQ1, {point}});
  ASSERT_EQ(result.subsidy_claims.size(), 1u);
  EXPECT_EQ(result.subsidy_claims[0].basis_cents, 1100);
  EXPECT_EQ(result.subsidy_claims[0].amount_cents, 550);
}

// ---------------------------------------------------------------- bad input

TEST(ComputeBilling, RejectsTrancheWeightsNotSummingToHundredPct) {
  const auto result = ComputeBilling(
      {kQ1, {SmallPoint(PoolRule{{Tranche{50'0000, Key::kEqual}}, Key::kEqual}, 1)}});
  EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(result.status().message()), HasSubstr("p1"));
}

TEST(ComputeBilling, RejectsDuplicateServicePoint) {
  const ServicePointInput point = SmallPoint(OneTranche(Key::kEqual), 1);
  EXPECT_EQ(ComputeBilling({kQ1, {point, point}}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(ComputeBilling, RejectsNegativeKeyValue) {
  ServicePointInput point = SmallPoint(OneTranche(Key::kContacts), 1);
  point.key_values["a"].contacts = -1;
  EXPECT_EQ(ComputeBilling({kQ1, {point}}).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(ComputeBilling, RejectsDuplicateParty) {
  ServicePointInput point = SmallPoint(OneTranche(Key::kEqual), 1);
  point.agreement->parties.push_back("a");
  EXPECT_EQ(ComputeBilling({kQ1, {point}}).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace tori::engine
