// Text helpers shared by the document renderers: escaping, number and date formats per
// language, character-counted truncation. Money is formatted from int64 cents with
// FormatDecimal, never through a double. Thread-safe: pure functions.
#ifndef TORI_SERVICES_DOCUMENTS_INTERNAL_TEXT_H_
#define TORI_SERVICES_DOCUMENTS_INTERNAL_TEXT_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/time/civil_time.h"
#include "services/documents/documents.h"

namespace tori::documents::internal {

// XML/HTML text and attribute escaping: & < > " ' as entities; invalid UTF-8 becomes
// U+FFFD; control characters XML 1.0 forbids are dropped (tab, LF, CR stay).
std::string XmlEscape(std::string_view text);

// Number of Unicode code points of valid UTF-8 `text` (XSD lengths count these).
size_t CharCount(std::string_view text);
// The first `max_chars` code points of `text` (invalid UTF-8 sanitized first).
std::string TruncateChars(std::string_view text, size_t max_chars);
// `text` in pieces of at most `max_chars` code points (one empty piece for "").
std::vector<std::string> SplitChars(std::string_view text, size_t max_chars);

// Characters outside [A-Za-z0-9._-] become '_': file names and HTML ids.
std::string SafeToken(std::string_view text);

// value x 10^-scale with the language's digit grouping and decimal mark:
// fi/sv "1 234,50" (no-break space), en "1,234.50".
std::string DecimalText(int64_t scaled, int scale, Language language);
// Money for people: fi/sv "1 234,50 €", en "€1,234.50" (minus sign first).
std::string MoneyText(int64_t cents, Language language);
// Finvoice amount: decimal comma, no grouping, "-1234,50".
std::string FinvoiceAmount(int64_t cents);
// Percent x10^4 without trailing zeros: 600000 -> "60", 255000 -> "25.5" (en) / "25,5".
std::string PercentText(int64_t pct_e4, Language language);

// A duration of whole seconds as hours, minutes and seconds, "1234:05:09" (exact, so the
// advisor time a split used is printed as it was; hours are not wrapped at 24).
std::string DurationText(int64_t seconds);

// fi/sv "1.4.2026", en "2026-04-01".
std::string DateText(absl::CivilDay day, Language language);
// Finvoice CCYYMMDD: "20260401".
std::string CompactDate(absl::CivilDay day);

// A Finnish business id's digits behind a prefix: OvtOfBusinessId("0101263-6") is the
// OVT e-invoice address "003701012636", VatNumberOfBusinessId the VAT number "FI01012636".
std::string OvtOfBusinessId(std::string_view business_id);
std::string VatNumberOfBusinessId(std::string_view business_id);

// ISO 13616 IBAN check (letters, digits, optional spaces; mod 97 == 1) and the IBAN
// without spaces.
bool IsValidIban(std::string_view iban);
std::string CompactIban(std::string_view iban);

}  // namespace tori::documents::internal

#endif  // TORI_SERVICES_DOCUMENTS_INTERNAL_TEXT_H_
