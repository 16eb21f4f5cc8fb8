#include "events/base/fixed.h"

#include <cstdint>
#include <cstring>
#include <random>
#include <string>

#include "gtest/gtest.h"

namespace tori {
namespace {

TEST(Fixed, Writes32BitLeastSignificantByteFirst) {
  char bytes[4];
  EncodeFixed32(bytes, 0x04030201u);
  EXPECT_EQ(std::string(bytes, 4), std::string("\x01\x02\x03\x04", 4));
  EXPECT_EQ(DecodeFixed32(bytes), 0x04030201u);
}

TEST(Fixed, Writes64BitLeastSignificantByteFirst) {
  char bytes[8];
  EncodeFixed64(bytes, 0x0807060504030201u);
  EXPECT_EQ(std::string(bytes, 8), std::string("\x01\x02\x03\x04\x05\x06\x07\x08", 8));
  EXPECT_EQ(DecodeFixed64(bytes), 0x0807060504030201u);
}

TEST(Fixed, AppendsTheSameBytesAsEncode) {
  std::string out = "x";
  PutFixed32(out, 0xA1B2C3D4u);
  PutFixed64(out, 0xFFEEDDCCBBAA9988u);
  EXPECT_EQ(out, std::string("x\xD4\xC3\xB2\xA1\x88\x99\xAA\xBB\xCC\xDD\xEE\xFF", 13));
  EXPECT_EQ(DecodeFixed32(out.data() + 1), 0xA1B2C3D4u);
  EXPECT_EQ(DecodeFixed64(out.data() + 5), 0xFFEEDDCCBBAA9988u);
}

TEST(Fixed, NegativeInt64RoundTripsThroughTwosComplement) {
  std::string out;
  PutFixed64(out, static_cast<uint64_t>(int64_t{-2}));
  EXPECT_EQ(out, std::string("\xFE\xFF\xFF\xFF\xFF\xFF\xFF\xFF", 8));
  EXPECT_EQ(static_cast<int64_t>(DecodeFixed64(out.data())), -2);
}

TEST(Fixed, ReadsUnalignedBytes) {
  const std::string bytes("\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09", 10);
  EXPECT_EQ(DecodeFixed32(bytes.data() + 1), 0x04030201u);
  EXPECT_EQ(DecodeFixed64(bytes.data() + 2), 0x0908070605040302u);
}

TEST(Fixed, BigEndianSortsAsBytesDo) {
  EXPECT_EQ(DecodeBigEndian64("\x01\x02\x03\x04\x05\x06\x07\x08"), 0x0102030405060708u);
  std::mt19937_64 random(16);
  SCOPED_TRACE("seed 16");
  for (int i = 0; i < 10'000; ++i) {
    char a[8], b[8];
    for (char& c : a) c = static_cast<char>(random() % 3);  // many equal prefixes
    for (char& c : b) c = static_cast<char>(random() % 3 == 0 ? 0xFF : random() % 3);
    const int bytes = std::memcmp(a, b, 8);
    const uint64_t x = DecodeBigEndian64(a), y = DecodeBigEndian64(b);
    EXPECT_EQ(bytes < 0, x < y);
    EXPECT_EQ(bytes == 0, x == y);
  }
}

}  // namespace
}  // namespace tori
