// FUZZ_CHECK(condition, message): the fuzz targets' assertion. On failure it prints
// the message and aborts, which libFuzzer reports as a crash and keeps the input that
// caused it (ops/fuzz: build-fuzz/artifacts/). Always on, like TORI_CHECK, but with a
// message built from the input at hand.
#ifndef TORI_TESTS_FUZZ_FUZZ_CHECK_H_
#define TORI_TESTS_FUZZ_FUZZ_CHECK_H_

#include <cstdio>
#include <cstdlib>
#include <string>

#define FUZZ_CHECK(condition, message)                                                  \
  do {                                                                                  \
    if (!(condition)) {                                                                 \
      std::fprintf(stderr, "%s:%d: FUZZ_CHECK(%s) failed: %s\n", __FILE__, __LINE__,    \
                   #condition, std::string(message).c_str());                           \
      std::abort();                                                                     \
    }                                                                                   \
  } while (false)

#endif  // TORI_TESTS_FUZZ_FUZZ_CHECK_H_
