#include "events/base/identifiers.h"

#include <random>
#include <string>

#include "gtest/gtest.h"

namespace tori {
namespace {

TEST(IsValidBusinessId, AcceptsDomainExampleAndRejectsWrongCheckDigit) {
  EXPECT_TRUE(IsValidBusinessId("0101263-6"));
  EXPECT_FALSE(IsValidBusinessId("0101263-5"));
  EXPECT_FALSE(IsValidBusinessId("0101263 6"));
  EXPECT_FALSE(IsValidBusinessId("101263-6"));
  EXPECT_FALSE(IsValidBusinessId("0101263-6 "));
}

TEST(IsValidBusinessId, RemainderOneIsNeverValid) {
  // 0000010: 1*4 = 4 -> check 11-4 = 7. 0000100: 1*8 -> 3.
  EXPECT_TRUE(IsValidBusinessId("0000010-7"));
  EXPECT_TRUE(IsValidBusinessId("0000100-3"));
  // 0000006: 6*2 = 12, 12 % 11 = 1: no check digit makes it valid.
  for (char c = '0'; c <= '9'; ++c) {
    std::string id = "0000006-";
    id.push_back(c);
    EXPECT_FALSE(IsValidBusinessId(id)) << id;
  }
}

TEST(IsValidIban, ChecksTheMod97Rule) {
  EXPECT_TRUE(IsValidIban("FI2112345600000785"));
  EXPECT_TRUE(IsValidIban("GB82WEST12345698765432"));
  EXPECT_FALSE(IsValidIban("FI2112345600000786"));
  EXPECT_FALSE(IsValidIban("FI21 1234 5600 0007 85"));
  EXPECT_FALSE(IsValidIban("fi2112345600000785"));
}

TEST(IsValidBic, ChecksTheShape) {
  EXPECT_TRUE(IsValidBic("NDEAFIHH"));
  EXPECT_TRUE(IsValidBic("OKOYFIHHXXX"));
  EXPECT_FALSE(IsValidBic("NDEA1IHH"));
  EXPECT_FALSE(IsValidBic("NDEAFIH"));
}

TEST(FindPersonalIdentityCode, FindsDomainExamples) {
  EXPECT_EQ(FindPersonalIdentityCode("131052-308T"), 0u);
  EXPECT_EQ(FindPersonalIdentityCode("010594Y9032"), 0u);
  EXPECT_EQ(FindPersonalIdentityCode("customer 131052-308T asked"), 9u);
}

TEST(FindPersonalIdentityCode, FindsEveryCenturySign) {
  // Same date and individual number: only the century sign changes, the check
  // character does not depend on it.
  for (char sign : std::string("+-UVWXYABCDEF")) {
    std::string code = "131052";
    code.push_back(sign);
    code += "308T";
    EXPECT_TRUE(FindPersonalIdentityCode(code).has_value()) << code;
  }
}

TEST(FindPersonalIdentityCode, FindsTemporaryCodes) {
  // 010594 + 999: 10594999 % 31 -> compute in the test to stay honest.
  const int check_index = 10594999 % 31;
  std::string code = "010594-999";
  code.push_back("0123456789ABCDEFHJKLMNPRSTUVWXY"[check_index]);
  EXPECT_TRUE(FindPersonalIdentityCode(code).has_value()) << code;
}

TEST(FindPersonalIdentityCode, FindsTheFirstCodeAnywhereInRandomText) {
  // Texts of digits, century signs and letters with valid codes put in at random:
  // the offset found is the first 11-character window that is a code by itself.
  const std::string codes[] = {"131052-308T", "010594Y9032", "020304A9136", "311299+1236"};
  const std::string alphabet = "0123456789-+AUYFx ";
  std::mt19937 rng(20261123);
  for (int round = 0; round < 20000; ++round) {
    std::string text;
    const size_t length = rng() % 40;
    for (size_t i = 0; i < length; ++i) text += alphabet[rng() % alphabet.size()];
    if (rng() % 2 == 0) text.insert(rng() % (text.size() + 1), codes[rng() % 4]);
    std::optional<size_t> first;
    for (size_t i = 0; !first && i + 11 <= text.size(); ++i) {
      if (FindPersonalIdentityCode(text.substr(i, 11)) == 0u) first = i;
    }
    EXPECT_EQ(FindPersonalIdentityCode(text), first) << "'" << text << "' round " << round;
  }
}

TEST(FindPersonalIdentityCode, IgnoresLookAlikes) {
  EXPECT_FALSE(FindPersonalIdentityCode("131052-308A").has_value());  // wrong check
  EXPECT_FALSE(FindPersonalIdentityCode("131052G308T").has_value());  // no such sign
  EXPECT_FALSE(FindPersonalIdentityCode("311152-308T").has_value());  // 31 Nov
  EXPECT_FALSE(FindPersonalIdentityCode("131352-308T").has_value());  // month 13
  EXPECT_FALSE(FindPersonalIdentityCode("131052-308").has_value());   // too short
  EXPECT_FALSE(FindPersonalIdentityCode("").has_value());
  EXPECT_FALSE(FindPersonalIdentityCode("contact-2026-000123").has_value());
}

}  // namespace
}  // namespace tori
