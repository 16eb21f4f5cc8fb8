// Finnish identifiers with check digits (DOMAIN.md "Identifiers with check digits").
//
//  - Y-tunnus (business ID) `NNNNNNN-C`: must be valid on `agency_registered`.
//  - Personal identity code (henkilötunnus) `DDMMYY` + century sign + `NNN` + check
//    character: must never enter the log, so every string field is searched for one.
//    Only codes with a valid check character and a century sign in use since 2023
//    count; look-alikes with a wrong check character are not personal data.
// Thread-safe: pure functions.
#ifndef TORI_EVENTS_BASE_IDENTIFIERS_H_
#define TORI_EVENTS_BASE_IDENTIFIERS_H_

#include <cstddef>
#include <optional>
#include <string_view>

namespace tori {

// True when `text` is exactly a Y-tunnus with a valid check digit (e.g. "0101263-6").
bool IsValidBusinessId(std::string_view text);

// True when `text` is an IBAN (ISO 13616: country code, check digits, up to 30
// alphanumerics; no spaces) whose mod-97 check holds, e.g. "FI2112345600000785".
bool IsValidIban(std::string_view text);

// True when `text` is a BIC: 4 letters (bank), 2 letters (country), 2 alphanumerics
// (location), optionally 3 alphanumerics (branch).
bool IsValidBic(std::string_view text);

// Offset of the first valid personal identity code inside `text`, if any. The date
// part must be a real calendar date; any individual number counts (900..999 are
// temporary codes, still personal data).
std::optional<size_t> FindPersonalIdentityCode(std::string_view text);

}  // namespace tori

#endif  // TORI_EVENTS_BASE_IDENTIFIERS_H_
