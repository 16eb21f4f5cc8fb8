// CRC-32C (Castagnoli), the checksum of every embedded-log record.
//
// Uses the SSE4.2 crc32 instruction when the CPU has it, a table otherwise; both give
// the same value (crc32c("123456789") == 0xE3069283). No Debian package ships a
// CRC-32C library for C++, so this is the one hand-written helper of its kind.
// Thread-safe.
#ifndef TORI_EVENTS_BASE_CRC32C_H_
#define TORI_EVENTS_BASE_CRC32C_H_

#include <cstddef>
#include <cstdint>

namespace tori {

// Extends `crc` (0 to start) over `n` bytes at `data`.
uint32_t Crc32c(uint32_t crc, const void* data, size_t n);

}  // namespace tori

#endif  // TORI_EVENTS_BASE_CRC32C_H_
