// Settings of the embedded log that tests take from the environment: not user
// settings, and absent in production, where the defaults hold.
#ifndef TORI_TOOLS_TORI_LOG_ENVIRONMENT_H_
#define TORI_TOOLS_TORI_LOG_ENVIRONMENT_H_

#include <cstdint>
#include <cstdlib>

#include "absl/strings/numbers.h"
#include "events/log/embedded_log.h"

namespace tori {

// $TORI_LOG_SEGMENT_BYTES: the size at which the embedded log starts a new segment, so
// that tests get logs of many segments from little data (tests/damage_test removes
// single segments).
inline EmbeddedLogOptions EmbeddedLogOptionsFromEnvironment() {
  EmbeddedLogOptions options;
  const char* text = std::getenv("TORI_LOG_SEGMENT_BYTES");
  uint64_t bytes = 0;
  if (text != nullptr && absl::SimpleAtoi(text, &bytes) && bytes > 0) {
    options.segment_bytes_target = bytes;
  }
  return options;
}

}  // namespace tori

#endif  // TORI_TOOLS_TORI_LOG_ENVIRONMENT_H_
