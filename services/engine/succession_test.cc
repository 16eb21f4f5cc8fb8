// Succession (SPEC section 8): who stands in an agency's place, and a quarter billed
// through a succession exactly as if the successor's id had been written there.
#include "services/engine/succession.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/engine/engine.h"
#include "services/engine/test_fixtures.h"
#include "services/engine/test_printers.h"

namespace tori::engine {
namespace {

using ::testing::HasSubstr;
using fixtures::MakeAgreement;
using fixtures::OneTranche;

constexpr Quarter k2024Q4{2024, 4};
constexpr Quarter k2025Q1{2025, 1};

// The TE office of Uusimaa (te-uusimaa) passed its duties to the employment area of
// Vantaa and Kerava (vantaa-kerava-tyo) on 1.1.2025.
Successions TeReform() {
  auto made = Successions::Make(
      {{"te-uusimaa", "vantaa-kerava-tyo", absl::CivilDay(2025, 1, 1)}});
  EXPECT_TRUE(made.ok()) << made.status();
  return *made;
}

// Host vantaa with parties vantaa, `agency` and vero; 1.00 EUR split equally, so one
// cent is left over and goes to the smallest id (te-uusimaa sorts first, the successor
// after vantaa); fixed shares and key values name `agency` too.
BillingInput Point(Quarter quarter, const std::string& agency) {
  ServicePointInput point;
  point.service_point_id = "p1";
  point.host_agency_id = "vantaa";
  point.agreement = MakeAgreement("p1", {"vantaa", agency, "vero"},
                                  {{"rent", OneTranche(Key::kEqual)},
                                   {"staff", OneTranche(Key::kContacts)},
                                   {"fixed", OneTranche(Key::kFixedShares)}});
  point.agreement->fixed_shares_pct_e4 = {{"vantaa", 50'0000}, {agency, 25'0000}, {"vero", 25'0000}};
  point.pool_amounts_cents = {{"rent", 100}, {"staff", 1001}, {"fixed", 333}};
  point.key_values["vantaa"] = MeasuredKeys{.contacts = 1};
  point.key_values[agency] = MeasuredKeys{.contacts = 1};
  point.key_values["vero"] = MeasuredKeys{.contacts = 1};
  return BillingInput{quarter, {point}};
}

BillingResult Bill(const BillingInput& input) {
  auto result = ComputeBilling(input);
  EXPECT_TRUE(result.ok()) << result.status();
  return result.ok() ? *std::move(result) : BillingResult{};
}

// (recipient, point, pool, amount) of every line: what a bill says, names aside.
std::vector<std::tuple<std::string, std::string, std::string, int64_t>> Amounts(
    const BillingResult& result) {
  std::vector<std::tuple<std::string, std::string, std::string, int64_t>> out;
  for (const Invoice& invoice : result.invoices) {
    for (const InvoiceLine& line : invoice.lines) {
      out.emplace_back(invoice.recipient_agency_id, line.service_point_id, line.pool,
                       line.amount_cents);
    }
  }
  return out;
}

TEST(Successions, ResolveFollowsTheLineThroughEverySuccessionInEffectOnTheDay) {
  auto made = Successions::Make({{"ely", "elinvoima", absl::CivilDay(2026, 1, 1)},
                                 {"te", "ely", absl::CivilDay(2025, 1, 1)}});
  ASSERT_TRUE(made.ok()) << made.status();
  EXPECT_EQ(made->Resolve("te", absl::CivilDay(2024, 10, 1)), "te");
  EXPECT_EQ(made->Resolve("te", absl::CivilDay(2025, 1, 1)), "ely");
  EXPECT_EQ(made->Resolve("te", absl::CivilDay(2026, 1, 1)), "elinvoima");
  EXPECT_EQ(made->Resolve("kela", absl::CivilDay(2026, 1, 1)), "kela");
}

TEST(Successions, MakeRefusesLoopsTwiceSucceededAndSelfSuccession) {
  const absl::CivilDay day(2025, 1, 1);
  EXPECT_THAT(Successions::Make({{"a", "b", day}, {"b", "a", day}}).status().message(),
              HasSubstr("loop"));
  EXPECT_THAT(Successions::Make({{"a", "b", day}, {"a", "c", day}}).status().message(),
              HasSubstr("succeeded twice"));
  EXPECT_THAT(Successions::Make({{"a", "a", day}}).status().message(), HasSubstr("itself"));
}

TEST(Successions, ASuccessorIsBilledExactlyWhatItWouldBeHadItsIdStoodThere) {
  BillingInput via_succession = Point(k2025Q1, "te-uusimaa");
  ApplySuccessions(TeReform(), &via_succession);
  const BillingResult succeeded = Bill(via_succession);
  const BillingResult direct = Bill(Point(k2025Q1, "vantaa-kerava-tyo"));
  EXPECT_EQ(Amounts(succeeded), Amounts(direct));
  // The tie rule used the successor's id: the rent's leftover cent goes to the host
  // vantaa, not to te-uusimaa (which sorts first) as it would without the succession.
  const BillingResult without = Bill(Point(k2025Q1, "te-uusimaa"));
  EXPECT_NE(Amounts(without), Amounts(direct));
}

TEST(Successions, AQuarterBeforeTheDateIsThePredecessors) {
  BillingInput input = Point(k2024Q4, "te-uusimaa");
  ApplySuccessions(TeReform(), &input);
  EXPECT_EQ(Amounts(Bill(input)), Amounts(Bill(Point(k2024Q4, "te-uusimaa"))));
  EXPECT_TRUE(input.service_points[0].successions.empty());
}

TEST(Successions, TheSuccessorsLinesNameThePredecessorAndItsContactsWarn) {
  BillingInput input = Point(k2025Q1, "te-uusimaa");
  ApplySuccessions(TeReform(), &input);
  BillingResult result = Bill(input);
  MarkSuccessions(input, &result);
  for (const Invoice& invoice : result.invoices) {
    for (const InvoiceLine& line : invoice.lines) {
      EXPECT_EQ(line.predecessor_agency_id.has_value(),
                invoice.recipient_agency_id == "vantaa-kerava-tyo");
      if (line.predecessor_agency_id) {
        EXPECT_EQ(*line.predecessor_agency_id, "te-uusimaa");
      }
    }
  }
  ASSERT_EQ(result.warnings.size(), 1u);
  EXPECT_EQ(result.warnings[0].code, WarningCode::kPredecessorContact);
  EXPECT_EQ(result.warnings[0].agency_id, "te-uusimaa");
  EXPECT_EQ(result.warnings[0].successor_agency_id, "vantaa-kerava-tyo");
  EXPECT_EQ(result.warnings[0].contacts, 1);
}

TEST(Successions, ASuccessorThatIsAlreadyAPartyTakesBothPlaces) {
  BillingInput input = Point(k2025Q1, "te-uusimaa");
  input.service_points[0].agreement->parties.push_back("vantaa-kerava-tyo");
  input.service_points[0].key_values["vantaa-kerava-tyo"] = MeasuredKeys{.contacts = 2};
  ApplySuccessions(TeReform(), &input);
  const ServicePointInput& point = input.service_points[0];
  EXPECT_EQ(point.agreement->parties, (std::vector<std::string>{"vantaa", "vantaa-kerava-tyo", "vero"}));
  EXPECT_EQ(point.agreement->fixed_shares_pct_e4.at("vantaa-kerava-tyo"), 25'0000);
  EXPECT_EQ(point.key_values.at("vantaa-kerava-tyo").contacts, 3);
  EXPECT_EQ(point.key_values.count("te-uusimaa"), 0u);
}

TEST(Successions, AnAdjustmentOfThePredecessorsQuarterGoesToTheSuccessorNamingIt) {
  const Successions reform = TeReform();
  // 2024Q4 was issued to te-uusimaa; a late cost raises the rent by 3.00 EUR.
  BillingResult issued = Bill(Point(k2024Q4, "te-uusimaa"));
  BillingInput later = Point(k2024Q4, "te-uusimaa");
  later.service_points[0].pool_amounts_cents["rent"] += 300;
  ApplySuccessions(reform, &later);
  BillingResult recomputed = Bill(later);
  MarkSuccessions(later, &recomputed);
  // Billed in 2025Q1: both sides as of 1.1.2025.
  const absl::CivilDay day = k2025Q1.FirstDay();
  ResolveInvoices(reform, day, &recomputed.invoices);
  ResolveInvoices(reform, day, &issued.invoices);
  auto adjustments = ComputeAdjustments(k2025Q1, recomputed, issued.invoices, {});
  ASSERT_TRUE(adjustments.ok()) << adjustments.status();
  const Invoice* to_successor = nullptr;
  for (const Invoice& invoice : adjustments->invoices) {
    EXPECT_NE(invoice.recipient_agency_id, "te-uusimaa");
    if (invoice.recipient_agency_id == "vantaa-kerava-tyo") to_successor = &invoice;
  }
  ASSERT_NE(to_successor, nullptr);
  EXPECT_EQ(to_successor->invoice_id, "2025Q1-vantaa-vantaa-kerava-tyo");
  ASSERT_EQ(to_successor->lines.size(), 1u);
  const InvoiceLine& line = to_successor->lines[0];
  EXPECT_EQ(line.adjusts_quarter, k2024Q4);
  EXPECT_EQ(line.amount_cents, 100);  // 3.00 EUR over three parties
  EXPECT_EQ(line.predecessor_agency_id, "te-uusimaa");
}

TEST(Successions, ASuccessionRecordedAfterItsQuarterWasIssuedMovesNoMoney) {
  const Successions reform = TeReform();
  // Amounts without leftover cents, so the tie rule moves nothing either.
  auto point = [](const std::string& agency) {
    BillingInput input = Point(k2025Q1, agency);
    input.service_points[0].pool_amounts_cents = {{"rent", 99}, {"staff", 999}, {"fixed", 400}};
    return input;
  };
  // 2025Q1 was issued to te-uusimaa before the succession was recorded.
  BillingResult issued = Bill(point("te-uusimaa"));
  BillingInput now = point("te-uusimaa");
  ApplySuccessions(reform, &now);
  BillingResult recomputed = Bill(now);
  const Quarter billed{2025, 2};
  ResolveInvoices(reform, billed.FirstDay(), &recomputed.invoices);
  ResolveInvoices(reform, billed.FirstDay(), &issued.invoices);
  auto adjustments = ComputeAdjustments(billed, recomputed, issued.invoices, {});
  ASSERT_TRUE(adjustments.ok()) << adjustments.status();
  EXPECT_TRUE(adjustments->invoices.empty());
}

}  // namespace
}  // namespace tori::engine
