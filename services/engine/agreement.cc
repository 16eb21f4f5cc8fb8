// Vocabulary of the engine (key and warning names) and agreement selection.
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "absl/types/span.h"
#include "services/engine/engine.h"

namespace tori::engine {
namespace {

constexpr std::array<std::pair<Key, std::string_view>, 14> kKeyNames = {{
    {Key::kContacts, "contacts"},
    {Key::kAdvisorContacts, "advisor_contacts"},
    {Key::kAdvisorTime, "advisor_time"},
    {Key::kWeightedContacts, "weighted_contacts"},
    {Key::kDedicatedArea, "dedicated_area"},
    {Key::kBookedMinutes, "booked_minutes"},
    {Key::kFixedShares, "fixed_shares"},
    {Key::kEqual, "equal"},
    {Key::kVideoTime, "video_time"},
    {Key::kInterpretationMinutes, "interpretation_minutes"},
    {Key::kStops, "stops"},
    {Key::kStopMinutes, "stop_minutes"},
    {Key::kDeliveries, "deliveries"},
    {Key::kReferralsReceived, "referrals_received"},
}};

}  // namespace

std::string_view KeyName(Key key) {
  for (const auto& [candidate, name] : kKeyNames) {
    if (candidate == key) return name;
  }
  return "unknown_key";  // unreachable for a valid enumerator
}

std::optional<Key> ParseKey(std::string_view name) {
  for (const auto& [key, candidate] : kKeyNames) {
    if (candidate == name) return key;
  }
  return std::nullopt;
}

std::string_view WarningCodeName(WarningCode code) {
  switch (code) {
    case WarningCode::kNoAgreement:
      return "NO_AGREEMENT";
    case WarningCode::kPoolNotInAgreement:
      return "POOL_NOT_IN_AGREEMENT";
    case WarningCode::kNonPartyExcluded:
      return "NON_PARTY_EXCLUDED";
    case WarningCode::kFallbackKeyUsed:
      return "FALLBACK_KEY_USED";
    case WarningCode::kFallbackKeyZero:
      return "FALLBACK_KEY_ZERO";
    case WarningCode::kAnnualCapApplied:
      return "ANNUAL_CAP_APPLIED";
    case WarningCode::kNoEinvoiceAddress:
      return "NO_EINVOICE_ADDRESS";
    case WarningCode::kPredecessorContact:
      return "PREDECESSOR_CONTACT";
    case WarningCode::kOverBudget:
      return "OVER_BUDGET";
  }
  return "UNKNOWN_WARNING";  // unreachable for a valid enumerator
}

absl::StatusOr<std::optional<size_t>> SelectAgreement(absl::Span<const Agreement> versions,
                                                      absl::CivilDay day) {
  const auto in_effect = [day](const Agreement& agreement) {
    return agreement.effective_from <= day &&
           (!agreement.effective_to.has_value() || *agreement.effective_to > day);
  };
  const auto rank = [](const Agreement& agreement) {
    return std::make_pair(agreement.effective_from, agreement.version);
  };
  std::optional<size_t> best;
  for (size_t i = 0; i < versions.size(); ++i) {
    if (!in_effect(versions[i])) continue;
    if (!best.has_value() || rank(versions[i]) > rank(versions[*best])) best = i;
  }
  if (!best.has_value()) return best;
  for (size_t i = 0; i < versions.size(); ++i) {
    if (i == *best || !in_effect(versions[i])) continue;
    if (rank(versions[i]) == rank(versions[*best])) {
      const Agreement& chosen = versions[*best];
      return absl::FailedPreconditionError(absl::StrCat(
          "service point ", chosen.service_point_id, ": agreements ", chosen.agreement_id,
          " and ", versions[i].agreement_id, " both have version ", chosen.version,
          " effective from ", absl::FormatCivilTime(chosen.effective_from),
          "; sign a higher version to say which one holds"));
    }
  }
  return best;
}

}  // namespace tori::engine
