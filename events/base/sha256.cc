#include "events/base/sha256.h"

// OpenSSL's SHA256_Init/Update/Final on a context of our own, not EVP: OpenSSL 3.0's
// EVP digests allocate and free per digest even on a reused EVP_MD_CTX (provider
// context re-made at Init), which made the log's hash chain a third slower per record
// (BENCHMARKS.md, "one SHA-256 helper"). The functions are deprecated in OpenSSL 3, not
// removed; this file is the only one that calls them, so moving to EVP again (once it
// reuses its context) changes nothing else.
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/sha.h>

#include "events/base/check.h"

namespace tori {

static_assert(SHA256_DIGEST_LENGTH == kSha256Bytes);

struct Sha256::Context {
  SHA256_CTX sha;
};

Sha256::Sha256() : context_(new Context) { TORI_CHECK(SHA256_Init(&context_->sha) == 1); }

Sha256::~Sha256() { delete context_; }

Sha256& Sha256::Update(const void* bytes, size_t size) {
  TORI_CHECK(SHA256_Update(&context_->sha, bytes, size) == 1);
  return *this;
}

Sha256& Sha256::Update(std::string_view bytes) { return Update(bytes.data(), bytes.size()); }

void Sha256::Finish(unsigned char* digest) {
  TORI_CHECK(SHA256_Final(digest, &context_->sha) == 1);
  TORI_CHECK(SHA256_Init(&context_->sha) == 1);
}

Sha256Digest Sha256::Finish() {
  Sha256Digest digest;
  Finish(digest.data());
  return digest;
}

Sha256Digest Sha256Of(std::string_view bytes) {
  thread_local Sha256 hasher;
  return hasher.Update(bytes).Finish();
}

std::string HexOf(const Sha256Digest& digest) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex(2 * kSha256Bytes, '0');
  for (size_t i = 0; i < kSha256Bytes; ++i) {
    hex[2 * i] = kHex[digest[i] >> 4];
    hex[2 * i + 1] = kHex[digest[i] & 0xf];
  }
  return hex;
}

std::string Sha256Hex(std::string_view bytes) { return HexOf(Sha256Of(bytes)); }

}  // namespace tori
