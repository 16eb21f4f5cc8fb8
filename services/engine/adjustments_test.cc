// Prior-period adjustments (SPEC section 4): recomputed earlier quarters against what
// stands issued.
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
using ::testing::IsEmpty;
using fixtures::GoldenInput;
using fixtures::kWholePctE4;

constexpr Quarter kQ1{2026, 1};
constexpr Quarter kQ2{2026, 2};
constexpr Quarter kQ3{2026, 3};

BillingResult Bill(const BillingInput& input) {
  auto result = ComputeBilling(input);
  EXPECT_TRUE(result.ok()) << result.status();
  return result.ok() ? *std::move(result) : BillingResult{};
}

Adjustments Adjust(Quarter billed, const BillingResult& recomputed,
                   const std::vector<Invoice>& issued_invoices,
                   const std::vector<SubsidyClaim>& issued_claims) {
  auto adjustments = ComputeAdjustments(billed, recomputed, issued_invoices, issued_claims);
  EXPECT_TRUE(adjustments.ok()) << adjustments.status();
  return adjustments.ok() ? *std::move(adjustments) : Adjustments{};
}

// The golden Q1 after a late correction: kela's advisor time 4000 -> 5000 s.
BillingInput CorrectedQ1() {
  BillingInput input = GoldenInput(kQ1);
  input.service_points[0].key_values["kela"].advisor_time_s = 5000;
  return input;
}

TEST(ComputeAdjustments, UnchangedQuarterNeedsNoAdjustment) {
  const BillingResult issued = Bill(GoldenInput(kQ1));
  const Adjustments adjustments =
      Adjust(kQ2, Bill(GoldenInput(kQ1)), issued.invoices, issued.subsidy_claims);
  EXPECT_THAT(adjustments.invoices, IsEmpty());
  EXPECT_THAT(adjustments.subsidy_claims, IsEmpty());
}

TEST(ComputeAdjustments, LateCorrectionBecomesLineNamingEarlierQuarter) {
  const BillingResult issued = Bill(GoldenInput(kQ1));
  const Adjustments adjustments =
      Adjust(kQ2, Bill(CorrectedQ1()), issued.invoices, issued.subsidy_claims);
  // shared_staff 500000 over advisor_time 3000 / 5000 of 8000: espoo 187500, kela
  // 312500. kela was invoiced 285714: +26786. vero had neither basis nor amount.
  ASSERT_EQ(adjustments.invoices.size(), 1u);
  const Invoice& kela = adjustments.invoices[0];
  EXPECT_EQ(kela.invoice_id, "2026Q2-espoo-kela");
  EXPECT_EQ(kela.quarter, kQ2);
  EXPECT_EQ(kela.total_cents, 26786);
  EXPECT_THAT(kela.lines, ElementsAre(InvoiceLine{"iso-omena", "shared_staff", Key::kAdvisorTime,
                                                  std::nullopt, kWholePctE4, 5000, 8000, 26786,
                                                  kQ1, 285714, 312500}));
  // espoo's share: 4333335 + 187500 = 4520835 (was 4547621, -26786); 50 % is 2260417.5
  // -> 2260418 (was 2273811, -13393).
  EXPECT_THAT(adjustments.subsidy_claims,
              ElementsAre(SubsidyClaim{"espoo", "yps-state-aid", "iso-omena", kQ2, -26786,
                                       -13393, kQ1}));
}

TEST(ComputeAdjustments, AdjustmentsAlreadyIssuedAreNotRepeated) {
  const BillingResult q1 = Bill(GoldenInput(kQ1));
  BillingResult q2 = Bill(GoldenInput(kQ2));
  ASSERT_TRUE(MergeAdjustments(Adjust(kQ2, Bill(CorrectedQ1()), q1.invoices, q1.subsidy_claims),
                               &q2)
                  .ok());

  std::vector<Invoice> issued_invoices = q1.invoices;
  issued_invoices.insert(issued_invoices.end(), q2.invoices.begin(), q2.invoices.end());
  std::vector<SubsidyClaim> issued_claims = q1.subsidy_claims;
  issued_claims.insert(issued_claims.end(), q2.subsidy_claims.begin(), q2.subsidy_claims.end());
  const Adjustments at_q3 = Adjust(kQ3, Bill(CorrectedQ1()), issued_invoices, issued_claims);
  EXPECT_THAT(at_q3.invoices, IsEmpty());
  EXPECT_THAT(at_q3.subsidy_claims, IsEmpty());
}

TEST(ComputeAdjustments, ChangedKeyReversesOldLineAndAddsNewOne) {
  // Q1 as issued: advisor_time was all 0, so shared_staff fell back to contacts
  // 10 / 20 / 5 of 35 (espoo, kela, vero): 142857 r5, 285714 r10, 71428 r20; the
  // leftover cent goes to vero's remainder 20: kela 285714, vero 71429.
  BillingInput issued_input = GoldenInput(kQ1);
  for (auto& [agency, keys] : issued_input.service_points[0].key_values) keys.advisor_time_s = 0;
  const BillingResult issued = Bill(issued_input);
  // Recomputed with the advisor times known now: the golden kela 285714, vero no line.
  const Adjustments adjustments =
      Adjust(kQ2, Bill(GoldenInput(kQ1)), issued.invoices, issued.subsidy_claims);
  ASSERT_EQ(adjustments.invoices.size(), 2u);
  const Invoice& kela = adjustments.invoices[0];
  const Invoice& vero = adjustments.invoices[1];
  // kela: the contacts line is reversed (no recomputed basis: 0 / 0), the advisor_time
  // line added; net 0.
  EXPECT_THAT(kela.lines,
              ElementsAre(InvoiceLine{"iso-omena", "shared_staff", Key::kContacts, std::nullopt,
                                      kWholePctE4, 0, 0, -285714, kQ1, 285714, 0},
                          InvoiceLine{"iso-omena", "shared_staff", Key::kAdvisorTime,
                                      std::nullopt, kWholePctE4, 4000, 7000, 285714, kQ1, 0,
                                      285714}));
  EXPECT_EQ(kela.total_cents, 0);
  // vero: its whole contacts line is reversed.
  EXPECT_THAT(vero.lines,
              ElementsAre(InvoiceLine{"iso-omena", "shared_staff", Key::kContacts, std::nullopt,
                                      kWholePctE4, 0, 0, -71429, kQ1, 71429, 0}));
  EXPECT_EQ(vero.total_cents, -71429);
  // espoo's subsidy basis: 4333335 + 142857 = 4476192 issued, 4547621 now: +71429;
  // 50 %: 2238096 issued, 2273811 now: +35715.
  EXPECT_THAT(adjustments.subsidy_claims,
              ElementsAre(SubsidyClaim{"espoo", "yps-state-aid", "iso-omena", kQ2, 71429, 35715,
                                       kQ1}));
}

TEST(ComputeAdjustments, RejectsQuarterNotBeforeTheBilledOne) {
  const BillingResult q2 = Bill(GoldenInput(kQ2));
  EXPECT_EQ(ComputeAdjustments(kQ2, q2, {}, {}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ComputeAdjustments(kQ1, q2, {}, {}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(MergeAdjustments, AppendsLinesAfterTheQuartersOwnAndRestoresTotals) {
  const BillingResult q1 = Bill(GoldenInput(kQ1));
  BillingResult q2 = Bill(GoldenInput(kQ2));
  const int64_t kela_q2_cents = q2.invoices[0].total_cents;
  ASSERT_TRUE(MergeAdjustments(Adjust(kQ2, Bill(CorrectedQ1()), q1.invoices, q1.subsidy_claims),
                               &q2)
                  .ok());
  const Invoice& kela = q2.invoices[0];
  ASSERT_EQ(kela.recipient_agency_id, "kela");
  ASSERT_EQ(kela.lines.size(), 4u);
  EXPECT_EQ(kela.lines[2].adjusts_quarter, std::nullopt);
  EXPECT_EQ(kela.lines[3].adjusts_quarter, kQ1);
  EXPECT_EQ(kela.total_cents, kela_q2_cents + 26786);
  ASSERT_EQ(q2.subsidy_claims.size(), 2u);
  EXPECT_EQ(q2.subsidy_claims[0].adjusts_quarter, std::nullopt);
  EXPECT_EQ(q2.subsidy_claims[1].adjusts_quarter, kQ1);
}

TEST(MergeAdjustments, CreatesInvoiceForRecipientNotBilledThisQuarter) {
  const BillingResult q1 = Bill(GoldenInput(kQ1));
  BillingInput q2_input = GoldenInput(kQ2);
  q2_input.service_points[0].agreement->parties = {"espoo", "vero"};  // kela left
  BillingResult q2 = Bill(q2_input);
  ASSERT_EQ(q2.invoices.size(), 1u);
  ASSERT_TRUE(MergeAdjustments(Adjust(kQ2, Bill(CorrectedQ1()), q1.invoices, q1.subsidy_claims),
                               &q2)
                  .ok());
  ASSERT_EQ(q2.invoices.size(), 2u);
  EXPECT_EQ(q2.invoices[0].invoice_id, "2026Q2-espoo-kela");
  EXPECT_EQ(q2.invoices[0].total_cents, 26786);
  EXPECT_EQ(q2.invoices[1].invoice_id, "2026Q2-espoo-vero");
}

TEST(MergeAdjustments, RejectsAdjustmentsOfAnotherQuarter) {
  BillingResult q3 = Bill(GoldenInput(kQ3));
  Adjustments adjustments;
  adjustments.billed = kQ2;
  EXPECT_EQ(MergeAdjustments(adjustments, &q3).code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace tori::engine
