// SHA-256 (FIPS 180-4) through OpenSSL (SHA-NI where the CPU has it): the one helper
// every part of tori hashes with (the log's hash chain, document hashes, file names,
// the Merkle tree of SPEC section 10).
#ifndef TORI_EVENTS_BASE_SHA256_H_
#define TORI_EVENTS_BASE_SHA256_H_

#include <array>
#include <cstddef>
#include <string>
#include <string_view>

namespace tori {

inline constexpr size_t kSha256Bytes = 32;
using Sha256Digest = std::array<unsigned char, kSha256Bytes>;

// An incremental hasher. Reuse one for many digests: it keeps its context, so a digest
// costs no allocation (making a hasher costs one). One thread at a time.
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  Sha256& Update(std::string_view bytes);
  Sha256& Update(const void* bytes, size_t size);
  // The digest of everything given since the last Finish (or construction); the hasher
  // then starts anew.
  Sha256Digest Finish();
  void Finish(unsigned char* digest);  // kSha256Bytes bytes

 private:
  struct Context;
  Context* context_;
};

Sha256Digest Sha256Of(std::string_view bytes);
// Lower-case hex of the digest of `bytes` (64 characters).
std::string Sha256Hex(std::string_view bytes);
std::string HexOf(const Sha256Digest& digest);

}  // namespace tori

#endif  // TORI_EVENTS_BASE_SHA256_H_
