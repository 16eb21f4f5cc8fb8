#include "services/server/read_cache.h"

namespace tori::server {

std::shared_ptr<const std::string> ReadCache::Find(const std::string& key, const Sha256Digest& digest) {
  std::lock_guard lock(mutex_);
  auto it = entries_.find(key);
  if (it == entries_.end()) {
    ++stats_.misses;
    return nullptr;
  }
  if (it->second.digest != digest) {
    ++stats_.stale;
    Erase(it);
    return nullptr;
  }
  ++stats_.hits;
  lru_.splice(lru_.begin(), lru_, it->second.lru);
  return it->second.answer;
}

void ReadCache::Put(const std::string& key, const Sha256Digest& digest, std::string answer) {
  const size_t bytes = key.size() + answer.size();
  if (bytes > max_bytes_ / 4) return;
  std::lock_guard lock(mutex_);
  if (auto it = entries_.find(key); it != entries_.end()) Erase(it);
  while (!lru_.empty() && stats_.bytes + bytes > max_bytes_) {
    Erase(entries_.find(lru_.back()));
    ++stats_.evicted;
  }
  lru_.push_front(key);
  entries_.emplace(key, Entry{digest, std::make_shared<const std::string>(std::move(answer)), lru_.begin()});
  stats_.bytes += bytes;
  stats_.entries = entries_.size();
}

void ReadCache::Erase(std::map<std::string, Entry>::iterator it) {
  stats_.bytes -= it->first.size() + it->second.answer->size();
  lru_.erase(it->second.lru);
  entries_.erase(it);
  stats_.entries = entries_.size();
}

ReadCache::Stats ReadCache::stats() const {
  std::lock_guard lock(mutex_);
  return stats_;
}

}  // namespace tori::server
