#include "events/base/sha256.h"

#include <string>

#include "gtest/gtest.h"

namespace tori {
namespace {

// FIPS 180-4 examples (NIST CSRC, SHA256.pdf).
TEST(Sha256, MatchesTheStandardsExamples) {
  EXPECT_EQ(Sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(Sha256Hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

TEST(Sha256, AReusedHasherStartsAnewAfterEachDigestAndPartsHashAsTheWhole) {
  Sha256 hasher;
  EXPECT_EQ(HexOf(hasher.Update("ab").Update("c").Finish()), Sha256Hex("abc"));
  EXPECT_EQ(HexOf(hasher.Update("abc").Finish()), Sha256Hex("abc"));
  EXPECT_EQ(HexOf(hasher.Finish()), Sha256Hex(""));
  const std::string million(1'000'000, 'a');
  EXPECT_EQ(HexOf(hasher.Update(million).Finish()),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

}  // namespace
}  // namespace tori
