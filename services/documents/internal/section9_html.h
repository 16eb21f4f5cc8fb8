// The HTML report's pages of SPEC section 9: the referral matrix, room utilisation by
// month and as a weekday x hour heat map, and each budget's year to date and forecast
// against it; charts as inline SVG drawn here, no script.
#ifndef TORI_SERVICES_DOCUMENTS_INTERNAL_SECTION9_HTML_H_
#define TORI_SERVICES_DOCUMENTS_INTERNAL_SECTION9_HTML_H_

#include <string>

#include "services/documents/documents.h"

namespace tori::documents::internal {

std::string Section9Html(const engine::BillingResult& result, const DocumentContext& context);

}  // namespace tori::documents::internal

#endif  // TORI_SERVICES_DOCUMENTS_INTERNAL_SECTION9_HTML_H_
