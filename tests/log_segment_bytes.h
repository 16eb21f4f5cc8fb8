// Test helper: where the records of an embedded log segment file end, for tests that
// cut or split segments as a crash or a rollover would (the format is
// events/log/embedded_log.h's: "TORILOG1", then records of a 20-byte header that
// starts with the payload's length, u32 little-endian, and the payload).
#ifndef TORI_TESTS_LOG_SEGMENT_BYTES_H_
#define TORI_TESTS_LOG_SEGMENT_BYTES_H_

#include <string>
#include <vector>

#include "events/base/fixed.h"

namespace tori::testing {

// The byte offset at which each whole record of `segment` (a file's bytes) ends.
inline std::vector<size_t> RecordEnds(const std::string& segment) {
  constexpr size_t kMagicBytes = 8, kHeaderBytes = 20;
  std::vector<size_t> ends;
  size_t at = kMagicBytes;
  while (at + kHeaderBytes <= segment.size()) {
    at += kHeaderBytes + DecodeFixed32(segment.data() + at);
    if (at > segment.size()) break;  // a torn last record
    ends.push_back(at);
  }
  return ends;
}

}  // namespace tori::testing

#endif  // TORI_TESTS_LOG_SEGMENT_BYTES_H_
