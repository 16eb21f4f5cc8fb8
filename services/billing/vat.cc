// VAT on invoices to partners that are companies (SPEC section 8): which agencies are
// companies, from the state; the rate and the rounding are the engine's (vat.h).
#include <set>
#include <string>

#include "events/base/check.h"
#include "services/billing/billing.h"
#include "services/engine/vat.h"
#include "services/projector/projector.h"

namespace tori {

absl::StatusOr<std::set<std::string>> CompanyAgencyIds(StateStore& state) {
  std::set<std::string> companies;
  TORI_RETURN_IF_ERROR(state.ForEachInProjection(
      projection::Key(projection::kAgency, {}, true),
      [&](std::string_view key, std::string_view value) {
        TORI_ASSIGN_OR_RETURN(auto a,
                              projection::ReadRecord<events::AgencyRegistered>(state, key, value));
        if (a.kind() == events::AGENCY_KIND_COMPANY) companies.insert(a.agency_id());
        return absl::OkStatus();
      }));
  return companies;
}

absl::Status ChargeVatToCompanies(StateStore& state, absl::CivilDay invoice_date,
                                  engine::BillingResult& result) {
  TORI_ASSIGN_OR_RETURN(const std::set<std::string> companies, CompanyAgencyIds(state));
  return engine::ChargeVat(engine::FinnishGeneralVatRates(), invoice_date, companies, result);
}

}  // namespace tori
