// The VAT rate table and the rounding rule of invoices to companies (SPEC section 8).
#include "services/engine/vat.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace tori::engine {
namespace {

using ::testing::HasSubstr;

TEST(VatRates, TheGeneralRateFollowsTheTableByInvoiceDate) {
  const struct {
    absl::CivilDay day;
    int64_t rate_pct_e4;
  } kCases[] = {
      {absl::CivilDay(2024, 8, 31), 240'000},  // the day before the change: 24 %
      {absl::CivilDay(2024, 9, 1), 255'000},   // 25.5 % from 1.9.2024
      {absl::CivilDay(2026, 7, 6), 255'000},
      {absl::CivilDay(2013, 1, 1), 240'000},
      {absl::CivilDay(2012, 12, 31), 230'000},
      {absl::CivilDay(2010, 7, 1), 230'000},
      {absl::CivilDay(1994, 6, 1), 220'000},
  };
  for (const auto& c : kCases) {
    auto rate = VatRateOn(FinnishGeneralVatRates(), c.day);
    ASSERT_TRUE(rate.ok()) << c.day << ": " << rate.status();
    EXPECT_EQ(*rate, c.rate_pct_e4) << c.day;
  }
}

TEST(VatRates, ADayBeforeTheTableIsAnErrorNamingItsFirstDate) {
  auto rate = VatRateOn(FinnishGeneralVatRates(), absl::CivilDay(1994, 5, 31));
  EXPECT_EQ(rate.status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_THAT(std::string(rate.status().message()), HasSubstr("1994-06-01"));
  EXPECT_FALSE(VatRateOn({}, absl::CivilDay(2026, 1, 1)).ok());
}

TEST(VatRates, TheTableIsSortedAndEveryRateFitsFinvoice) {
  const auto table = FinnishGeneralVatRates();
  ASSERT_FALSE(table.empty());
  for (size_t i = 0; i < table.size(); ++i) {
    if (i > 0) {
      EXPECT_LT(table[i - 1].effective_from, table[i].effective_from);
    }
    EXPECT_GT(table[i].rate_pct_e4, 0);
    EXPECT_LT(table[i].rate_pct_e4, 100 * 10'000);
    EXPECT_EQ(table[i].rate_pct_e4 % 10, 0) << "at most 3 decimals";
  }
}

TEST(InvoiceVat, RoundsHalfAwayFromZeroToTheCent) {
  const struct {
    int64_t net_cents, rate_pct_e4, vat_cents;
  } kCases[] = {
      {4'109'449, 255'000, 1'047'909},   // 1 047 909.495 -> down
      {2, 250'000, 1},                   // 0.5 -> up
      {-2, 250'000, -1},                 // a credit: -0.5 -> -1
      {1, 255'000, 0},                   // 0.255 -> 0
      {3, 255'000, 1},                   // 0.765 -> 1
      {10, 255'000, 3},                  // 2.55 -> 3
      {100'000, 240'000, 24'000},        // exact
      {0, 255'000, 0},
      // 254 999 999 999 999.745 -> up; the product needs 128 bits
      {999'999'999'999'999, 255'000, 255'000'000'000'000},
  };
  for (const auto& c : kCases) {
    EXPECT_EQ(InvoiceVatCents(c.net_cents, c.rate_pct_e4), c.vat_cents)
        << c.net_cents << " at " << c.rate_pct_e4;
  }
}

// Per invoice, not per line: three 1-cent lines at 25.5 % carry 1 cent of VAT together,
// where rounding each line would give 0.
TEST(InvoiceVat, IsComputedOnceOnTheTotalNotPerLine) {
  int64_t per_line = 0;
  for (int i = 0; i < 3; ++i) per_line += InvoiceVatCents(1, 255'000);
  EXPECT_EQ(per_line, 0);
  EXPECT_EQ(InvoiceVatCents(3, 255'000), 1);
}

// ChargeVat (billing's step after the adjustments): a company's invoice gets the rate of
// the invoice date on its whole total, once, half away from zero; an authority's none.
BillingResult TwoInvoices(int64_t company_total_cents) {
  BillingResult result;
  result.quarter = Quarter{2024, 3};
  Invoice kela;
  kela.invoice_id = "2024Q3-espoo-kela";
  kela.recipient_agency_id = "kela";
  kela.total_cents = 100'001;
  Invoice posti;
  posti.invoice_id = "2024Q3-espoo-posti";
  posti.recipient_agency_id = "posti";
  posti.total_cents = company_total_cents;
  posti.vat = Invoice::Vat{1, 1};  // whatever stood there is replaced
  result.invoices = {kela, posti};
  return result;
}

TEST(ChargeVat, ACompanyPaysTheRateOfTheInvoiceDateOnItsTotalAndAnAuthorityNone) {
  const struct {
    absl::CivilDay invoice_date;
    int64_t total_cents;
    int64_t rate_pct_e4;
    int64_t vat_cents;
  } kCases[] = {
      // 1 002 c x 24 % = 240.48 -> 240; x 25.5 % = 255.51 -> 256.
      {absl::CivilDay(2024, 8, 31), 1'002, 240'000, 240},
      {absl::CivilDay(2024, 9, 1), 1'002, 255'000, 256},
      // Exactly half a cent rounds away from zero: 2 c x 25.5 % = 0.51 -> 1;
      // 10 c x 25.5 % = 2.55 -> 3; 50 c x 24 % = 12 exactly.
      {absl::CivilDay(2024, 9, 1), 2, 255'000, 1},
      {absl::CivilDay(2026, 4, 2), 10, 255'000, 3},
      {absl::CivilDay(2024, 8, 31), 50, 240'000, 12},
      // 1 c x 25.5 % = 0.255 -> 0; a half cent below half stays down.
      {absl::CivilDay(2024, 9, 1), 1, 255'000, 0},
      // A credit: the negated VAT of the same debit (-2.55 -> -3).
      {absl::CivilDay(2024, 9, 1), -10, 255'000, -3},
      // 1 234 567.89 EUR: 31 481 481.195 c -> 31 481 481 c.
      {absl::CivilDay(2024, 9, 1), 123'456'789, 255'000, 31'481'481},
  };
  for (const auto& c : kCases) {
    SCOPED_TRACE(testing::Message() << c.invoice_date << " " << c.total_cents);
    BillingResult result = TwoInvoices(c.total_cents);
    ASSERT_TRUE(ChargeVat(FinnishGeneralVatRates(), c.invoice_date, {"posti"}, result).ok());
    EXPECT_FALSE(result.invoices[0].vat.has_value());
    ASSERT_TRUE(result.invoices[1].vat.has_value());
    EXPECT_EQ(result.invoices[1].vat->rate_pct_e4, c.rate_pct_e4);
    EXPECT_EQ(result.invoices[1].vat->vat_cents, c.vat_cents);
    EXPECT_EQ(result.invoices[1].total_cents, c.total_cents);  // stays without VAT
  }
}

TEST(ChargeVat, WithoutCompaniesNoInvoiceCarriesVat) {
  BillingResult result = TwoInvoices(1'000);
  ASSERT_TRUE(ChargeVat(FinnishGeneralVatRates(), absl::CivilDay(2024, 9, 1), {}, result).ok());
  EXPECT_FALSE(result.invoices[0].vat.has_value());
  EXPECT_FALSE(result.invoices[1].vat.has_value());
}

TEST(ChargeVat, ADayTheTableDoesNotCoverIsRefusedNamingTheInvoice) {
  BillingResult result = TwoInvoices(1'000);
  const absl::Status status =
      ChargeVat(FinnishGeneralVatRates(), absl::CivilDay(1990, 1, 1), {"posti"}, result);
  EXPECT_EQ(status.code(), absl::StatusCode::kOutOfRange);
  EXPECT_THAT(status.message(), HasSubstr("2024Q3-espoo-posti"));
  // An authority alone needs no rate.
  EXPECT_TRUE(ChargeVat(FinnishGeneralVatRates(), absl::CivilDay(1990, 1, 1), {"nobody"}, result).ok());
}

}  // namespace
}  // namespace tori::engine
