#include "events/base/crc32c.h"

#include <string>

#include "gtest/gtest.h"

namespace tori {
namespace {

TEST(Crc32c, MatchesStandardCheckValue) {
  const std::string text = "123456789";
  EXPECT_EQ(Crc32c(0, text.data(), text.size()), 0xE3069283u);
}

TEST(Crc32c, ExtendsIncrementally) {
  const std::string text = "The quick brown fox jumps over the lazy dog, twice over.";
  const uint32_t whole = Crc32c(0, text.data(), text.size());
  for (size_t cut = 0; cut <= text.size(); ++cut) {
    const uint32_t first = Crc32c(0, text.data(), cut);
    EXPECT_EQ(Crc32c(first, text.data() + cut, text.size() - cut), whole) << cut;
  }
}

TEST(Crc32c, EmptyInputIsZero) { EXPECT_EQ(Crc32c(0, "", 0), 0u); }

}  // namespace
}  // namespace tori
