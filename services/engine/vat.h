// Finnish VAT for invoices to partners that are companies (SPEC section 8, issue #18).
//
// Model. The general rate is data: a table of rates, each with the day it took effect,
// in force until the next one takes over (FinnishGeneralVatRates). The rate of an
// invoice is the one in force on its invoice date. The VAT is computed once per invoice
// on its total, rounded half away from zero to the cent (InvoiceVatCents), never per
// line: an invoice of three 1-cent lines at 25.5 % carries 1 cent, not 0 (EN 16931's
// BR-CO-17 and BR-S-09 check the breakdown's amount against its taxable total too).
//
// Billing calls ChargeVat on every result it writes, issues or recomputes, with the
// invoice date of the run and the agencies of kind `company`: the VAT is then part of
// the invoice document (Invoice::vat) and of its hash.
//
// Thread safety: pure functions over constant data.
#ifndef TORI_SERVICES_ENGINE_VAT_H_
#define TORI_SERVICES_ENGINE_VAT_H_

#include <cstdint>
#include <set>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/civil_time.h"
#include "absl/types/span.h"
#include "services/engine/engine.h"

namespace tori::engine {

struct VatRatePeriod {
  absl::CivilDay effective_from;  // the first day the rate applies
  int64_t rate_pct_e4 = 0;        // percent x10^4: 25.5 % = 255'000
};

// Finland's general VAT rate since the current act's rates: 22 % from 1.6.1994, 23 %
// from 1.7.2010, 24 % from 1.1.2013, 25.5 % from 1.9.2024. Sorted by effective_from,
// strictly increasing; every rate above 0 and below 100 % with at most 3 decimals (the
// Finvoice percentage type).
absl::Span<const VatRatePeriod> FinnishGeneralVatRates();

// The rate of `table` (sorted as above) in force on `day`: the last period that took
// effect on or before it. OutOfRange for a day before the table's first period, naming
// the day and the first date covered.
absl::StatusOr<int64_t> VatRateOn(absl::Span<const VatRatePeriod> table, absl::CivilDay day);

// The VAT of an invoice whose total (net, signed) is `net_cents` at `rate_pct_e4`
// (0 <= rate < 100 %): |net| x rate rounded half away from zero to the cent, with the
// sign of the total, so a credit's VAT is the negated VAT of the same debit. Exact:
// the product is taken in 128 bits.
int64_t InvoiceVatCents(int64_t net_cents, int64_t rate_pct_e4);

// Sets Invoice::vat on every invoice of `result` whose recipient is in
// `company_agency_ids`, at the rate of `table` in force on `invoice_date`, and clears it
// on every other invoice (authorities: category O). Call it after the adjustments are
// merged: the VAT is on the whole invoice total, adjustment lines included. OutOfRange
// (nothing changed) when a company is invoiced on a day the table does not cover.
absl::Status ChargeVat(absl::Span<const VatRatePeriod> table, absl::CivilDay invoice_date,
                       const std::set<std::string>& company_agency_ids, BillingResult& result);

}  // namespace tori::engine

#endif  // TORI_SERVICES_ENGINE_VAT_H_
