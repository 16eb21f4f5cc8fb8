// ReadCache: the answers of `tori serve` that replay the log (explanations, the
// quarter's XLSX and HTML reports, the e-invoices), kept so that a second read of the
// same document does not replay again.
//
// Why a cached answer is right: each of those answers is a function of the request
// (route, id, query) and of the state's issued documents only; everything else they
// read is the log up to an as_of an issued record names, a prefix of the log that
// later appends never change (billing.h, IssuedDocumentsDigest). So an entry is stored
// with the digest of the issued documents it was computed from, and served only to a
// request that finds the same digest in the state (read under the state's mutex):
// a new bill, an approval, an adjustment run or anything else that adds or changes an
// issued record makes every entry a miss. Who may read it is decided before the cache
// is asked (the route table and the handler's agency check, per request), so a revoked
// token or another agency never reaches an entry.
//
// Bounded: at most `max_bytes` of answers (keys and values); the least recently used go
// first; an answer larger than a quarter of that is not kept.
//
// Thread safety: all methods may be called from any thread at once.
#ifndef TORI_SERVICES_SERVER_READ_CACHE_H_
#define TORI_SERVICES_SERVER_READ_CACHE_H_

#include <cstdint>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "events/base/sha256.h"

namespace tori::server {

class ReadCache {
 public:
  explicit ReadCache(size_t max_bytes) : max_bytes_(max_bytes) {}

  // The answer stored for `key` from the issued documents `digest`; null when none or
  // when it was computed from other issued documents (then it is dropped).
  std::shared_ptr<const std::string> Find(const std::string& key, const Sha256Digest& digest);
  void Put(const std::string& key, const Sha256Digest& digest, std::string answer);

  struct Stats {
    uint64_t hits = 0, misses = 0, stale = 0, evicted = 0;
    size_t entries = 0, bytes = 0;
  };
  Stats stats() const;

 private:
  struct Entry {
    Sha256Digest digest{};
    std::shared_ptr<const std::string> answer;
    std::list<std::string>::iterator lru;  // its place in lru_
  };
  void Erase(std::map<std::string, Entry>::iterator it);

  const size_t max_bytes_;
  mutable std::mutex mutex_;
  std::map<std::string, Entry> entries_;
  std::list<std::string> lru_;  // most recently used first
  Stats stats_;
};

// 64 MiB: the demo's explanations are ~10 KB each, a quarter's reports ~100 KB.
inline constexpr size_t kReadCacheBytesMax = 64ull << 20;

}  // namespace tori::server

#endif  // TORI_SERVICES_SERVER_READ_CACHE_H_
