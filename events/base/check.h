// tori's ground floor: assertions and Status plumbing.
//
// Debian's Abseil 20220623 has neither absl/log (CHECK) nor the status macros, so
// they live here, a few lines each.
//   TORI_CHECK(cond)        always on, also in Release: money conservation, sign,
//                           overflow, log invariants. Prints file:line and aborts.
//   TORI_DCHECK(cond)       debug builds only: O(n) re-checks of what TORI_CHECK
//                           already guards cheaply.
//   TORI_RETURN_IF_ERROR(e) returns e's Status from the enclosing function if not ok.
//   TORI_ASSIGN_OR_RETURN(lhs, e)  unwraps a StatusOr or returns its Status.
// Thread-safe: the macros keep no state.
#ifndef TORI_EVENTS_BASE_CHECK_H_
#define TORI_EVENTS_BASE_CHECK_H_

#include <cstdio>
#include <cstdlib>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace tori::internal {
[[noreturn]] inline void CheckFailed(const char* file, int line, const char* expr) {
  std::fprintf(stderr, "tori: internal invariant violated at %s:%d: %s\n", file, line, expr);
  std::fflush(stderr);
  std::abort();
}
}  // namespace tori::internal

#define TORI_CHECK(cond)                                                           \
  do {                                                                             \
    if (__builtin_expect(!(cond), 0)) ::tori::internal::CheckFailed(__FILE__, __LINE__, #cond); \
  } while (0)

#ifdef NDEBUG
#define TORI_DCHECK(cond) \
  do {                    \
  } while (false && (cond))
#else
#define TORI_DCHECK(cond) TORI_CHECK(cond)
#endif

#define TORI_CONCAT_INNER_(a, b) a##b
#define TORI_CONCAT_(a, b) TORI_CONCAT_INNER_(a, b)

#define TORI_RETURN_IF_ERROR(expr)              \
  do {                                          \
    ::absl::Status tori_status_ = (expr);       \
    if (!tori_status_.ok()) return tori_status_; \
  } while (0)

#define TORI_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                                \
  if (!tmp.ok()) return tmp.status();               \
  lhs = std::move(*tmp)

#define TORI_ASSIGN_OR_RETURN(lhs, expr) \
  TORI_ASSIGN_OR_RETURN_IMPL_(TORI_CONCAT_(tori_statusor_, __LINE__), lhs, expr)

#endif  // TORI_EVENTS_BASE_CHECK_H_
