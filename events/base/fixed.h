// Fixed-width integers in stored bytes: the one encoding every on-disk format of tori
// uses (the embedded log's record header, the projection's counters and checksums).
//
// Little-endian, whatever the host: the least significant byte first, so
// EncodeFixed32(p, 0x04030201) writes 01 02 03 04. On a little-endian host (x86-64,
// AArch64 as Debian runs it) this is one plain load or store; a big-endian host swaps.
//
// Big-endian only where bytes must sort as the numbers do (index key prefixes
// compared as integers): DecodeBigEndian64.
//
// Thread-safe (pure functions). `dst`/`src` need no alignment.
#ifndef TORI_EVENTS_BASE_FIXED_H_
#define TORI_EVENTS_BASE_FIXED_H_

#include <bit>
#include <cstdint>
#include <cstring>
#include <string>

namespace tori {

static_assert(std::endian::native == std::endian::little ||
                  std::endian::native == std::endian::big,
              "a mixed-endian host: fixed.h knows how to swap only whole words");

namespace fixed_internal {
constexpr bool kSwapForLittle = std::endian::native == std::endian::big;
}  // namespace fixed_internal

inline void EncodeFixed32(char* dst, uint32_t value) {
  if constexpr (fixed_internal::kSwapForLittle) value = __builtin_bswap32(value);
  std::memcpy(dst, &value, sizeof value);
}

inline void EncodeFixed64(char* dst, uint64_t value) {
  if constexpr (fixed_internal::kSwapForLittle) value = __builtin_bswap64(value);
  std::memcpy(dst, &value, sizeof value);
}

inline uint32_t DecodeFixed32(const char* src) {
  uint32_t value;
  std::memcpy(&value, src, sizeof value);
  if constexpr (fixed_internal::kSwapForLittle) value = __builtin_bswap32(value);
  return value;
}

inline uint64_t DecodeFixed64(const char* src) {
  uint64_t value;
  std::memcpy(&value, src, sizeof value);
  if constexpr (fixed_internal::kSwapForLittle) value = __builtin_bswap64(value);
  return value;
}

// Appends the 4 or 8 bytes of `value` to `dst`.
inline void PutFixed32(std::string& dst, uint32_t value) {
  char bytes[sizeof value];
  EncodeFixed32(bytes, value);
  dst.append(bytes, sizeof bytes);
}

inline void PutFixed64(std::string& dst, uint64_t value) {
  char bytes[sizeof value];
  EncodeFixed64(bytes, value);
  dst.append(bytes, sizeof bytes);
}

// The 8 bytes at `src` as a big-endian number: a < b exactly when a's bytes sort
// before b's (unsigned, as memcmp compares).
inline uint64_t DecodeBigEndian64(const char* src) {
  uint64_t value;
  std::memcpy(&value, src, sizeof value);
  if constexpr (!fixed_internal::kSwapForLittle) value = __builtin_bswap64(value);
  return value;
}

}  // namespace tori

#endif  // TORI_EVENTS_BASE_FIXED_H_
