#include "services/engine/vat.h"

#include <optional>
#include <string>

#include "absl/numeric/int128.h"
#include "events/base/check.h"
#include "absl/strings/str_cat.h"

namespace tori::engine {
namespace {

// The table, as data: a new rate is a new row (with the day it takes effect), never an
// edit of an old one, so invoices of earlier dates keep the rate they were issued with.
constexpr VatRatePeriod kFinnishGeneralVatRates[] = {
    {absl::CivilDay(1994, 6, 1), 220'000},
    {absl::CivilDay(2010, 7, 1), 230'000},
    {absl::CivilDay(2013, 1, 1), 240'000},
    {absl::CivilDay(2024, 9, 1), 255'000},
};

}  // namespace

absl::Span<const VatRatePeriod> FinnishGeneralVatRates() { return kFinnishGeneralVatRates; }

absl::StatusOr<int64_t> VatRateOn(absl::Span<const VatRatePeriod> table, absl::CivilDay day) {
  const VatRatePeriod* in_force = nullptr;
  for (const VatRatePeriod& period : table) {
    if (period.effective_from > day) break;
    in_force = &period;
  }
  if (in_force == nullptr) {
    return absl::OutOfRangeError(absl::StrCat(
        "no VAT rate in force on ", absl::FormatCivilTime(day), ": the rate table begins ",
        table.empty() ? std::string("nowhere (it is empty)")
                      : absl::FormatCivilTime(table.front().effective_from)));
  }
  return in_force->rate_pct_e4;
}

int64_t InvoiceVatCents(int64_t net_cents, int64_t rate_pct_e4) {
  TORI_CHECK(rate_pct_e4 >= 0 && rate_pct_e4 < 100 * 10'000);
  const absl::int128 scale = 100 * 10'000;  // percent x10^4 of one
  const absl::int128 magnitude = absl::int128(net_cents < 0 ? -net_cents : net_cents);
  const auto vat = static_cast<int64_t>((magnitude * rate_pct_e4 + scale / 2) / scale);
  return net_cents < 0 ? -vat : vat;
}

absl::Status ChargeVat(absl::Span<const VatRatePeriod> table, absl::CivilDay invoice_date,
                       const std::set<std::string>& company_agency_ids, BillingResult& result) {
  std::optional<int64_t> rate_pct_e4;  // looked up once, only when a company is invoiced
  for (const Invoice& invoice : result.invoices) {
    if (!company_agency_ids.contains(invoice.recipient_agency_id) || rate_pct_e4) continue;
    auto rate = VatRateOn(table, invoice_date);
    if (!rate.ok()) {
      return absl::OutOfRangeError(absl::StrCat("invoice ", invoice.invoice_id, " to the company ",
                                                invoice.recipient_agency_id, ": ",
                                                rate.status().message()));
    }
    rate_pct_e4 = *rate;
  }
  for (Invoice& invoice : result.invoices) {
    invoice.vat.reset();
    if (!company_agency_ids.contains(invoice.recipient_agency_id)) continue;
    invoice.vat = Invoice::Vat{*rate_pct_e4, InvoiceVatCents(invoice.total_cents, *rate_pct_e4)};
  }
  return absl::OkStatus();
}

}  // namespace tori::engine
