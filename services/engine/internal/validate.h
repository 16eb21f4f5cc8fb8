// Input checks of ComputeBilling, run before anything is computed, so a billing run
// either fails with a message naming the point, the field and the rule, or completes.
// Thread-safe: pure functions.
#ifndef TORI_SERVICES_ENGINE_INTERNAL_VALIDATE_H_
#define TORI_SERVICES_ENGINE_INTERNAL_VALIDATE_H_

#include "absl/status/status.h"
#include "services/engine/engine.h"

namespace tori::engine::internal {

// 100 % at scale 10^4: the sum of a pool's tranche weights.
inline constexpr int64_t kWholePctE4 = 100 * 10'000;

// InvalidArgument for: a quarter outside 1..4, duplicate or empty service point ids,
// negative key values, an agreement of another point, no or duplicate parties, pools
// whose tranche weights do not sum to 100 % (or are negative, or number 0 or more than
// kTranchesPerPoolMax), negative fixed shares, subsidy rules with a negative rate or
// cap, no pools or a pool named twice.
absl::Status ValidateBillingInput(const BillingInput& input);

}  // namespace tori::engine::internal

#endif  // TORI_SERVICES_ENGINE_INTERNAL_VALIDATE_H_
