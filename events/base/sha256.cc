#include "events/base/sha256.h"

#include <openssl/evp.h>

#include "events/base/check.h"

namespace tori {
namespace {
// Fetched once: EVP_sha256() would look the implementation up in every Init.
const EVP_MD* Sha256Md() {
  static EVP_MD* md = [] {
    EVP_MD* fetched = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    TORI_CHECK(fetched != nullptr);
    return fetched;
  }();
  return md;
}
}  // namespace

struct Sha256::Context {
  EVP_MD_CTX* evp = nullptr;
};

Sha256::Sha256() : context_(new Context) {
  context_->evp = EVP_MD_CTX_new();
  TORI_CHECK(context_->evp != nullptr);
  TORI_CHECK(EVP_DigestInit_ex2(context_->evp, Sha256Md(), nullptr) == 1);
}

Sha256::~Sha256() {
  EVP_MD_CTX_free(context_->evp);
  delete context_;
}

Sha256& Sha256::Update(const void* bytes, size_t size) {
  TORI_CHECK(EVP_DigestUpdate(context_->evp, bytes, size) == 1);
  return *this;
}

Sha256& Sha256::Update(std::string_view bytes) { return Update(bytes.data(), bytes.size()); }

void Sha256::Finish(unsigned char* digest) {
  unsigned int length = 0;
  TORI_CHECK(EVP_DigestFinal_ex(context_->evp, digest, &length) == 1 && length == kSha256Bytes);
  TORI_CHECK(EVP_DigestInit_ex2(context_->evp, nullptr, nullptr) == 1);
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
