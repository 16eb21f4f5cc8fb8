// SPEC section 9 in billing: the keys video_time, interpretation_minutes, stops,
// stop_minutes, deliveries and referrals_received read into the engine's input, and the
// reports of a run (referrals, room utilisation with its heat map, budgets with
// OVER_BUDGET warnings), all from the projection (services/projector/measures.cc).
#ifndef TORI_SERVICES_BILLING_INTERNAL_SECTION9_H_
#define TORI_SERVICES_BILLING_INTERNAL_SECTION9_H_

#include "services/billing/internal/issued.h"

namespace tori::billing_internal {

// Adds the section 9 keys of `quarter` at every point of `input` to its key values.
// A referral counts for its to_agency_id at its contact's point in the Helsinki quarter
// of the contact's occurred_at, unless the contact is voided.
absl::Status AddSection9Keys(StateStore& state, engine::Quarter quarter,
                             engine::BillingInput& input);

// Fills result.referrals, room_utilisation, room_heat and budgets, and adds an
// OVER_BUDGET warning per budget whose forecast exceeds it. Year to date: the agency's
// invoice lines (adjustments included) and host shares at the budget's point and pool
// on the documents issued for the year's quarters before result.quarter, plus this
// run's.
absl::Status AddSection9Reports(StateStore& state, const IssuedDocuments& issued,
                                engine::BillingResult& result);

// forecast = year_to_date x 4 / quarter_number, rounded half away from zero.
int64_t ForecastCents(int64_t year_to_date_cents, int quarter_number);

}  // namespace tori::billing_internal

#endif  // TORI_SERVICES_BILLING_INTERNAL_SECTION9_H_
