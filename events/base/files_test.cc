#include "events/base/files.h"

#include <set>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace tori {
namespace {

using ::testing::HasSubstr;

TEST(OutputFileName, KeepsPlainIdsAsTheyAre) {
  EXPECT_EQ(OutputFileName("invoice-", "2026Q1-espoo-kela.fi_2", ".csv"),
            "invoice-2026Q1-espoo-kela.fi_2.csv");
}

TEST(OutputFileName, EncodesEverythingThatCouldLeaveTheDirectory) {
  EXPECT_EQ(OutputFileName("invoice-", "2026Q1-x/../../etc-kela", ".csv"),
            "invoice-2026Q1-x%2F..%2F..%2Fetc-kela.csv");
  EXPECT_EQ(OutputFileName("", "..", ""), "%2E.");
  EXPECT_EQ(OutputFileName("", ".hidden", ".csv"), "%2Ehidden.csv");
  EXPECT_EQ(OutputFileName("f-", "a\\b c%d~", ".xml"), "f-a%5Cb%20c%25d%7E.xml");
}

TEST(OutputFileName, TwoIdsNeverShareAName) {
  // Each pair would meet if characters were replaced or dropped.
  const std::set<std::string> names = {
      OutputFileName("i-", "a/b", ".csv"),   OutputFileName("i-", "a_b", ".csv"),
      OutputFileName("i-", "a%2Fb", ".csv"), OutputFileName("i-", "a\\b", ".csv"),
      OutputFileName("i-", "ab", ".csv"),    OutputFileName("i-", "a b", ".csv")};
  EXPECT_EQ(names.size(), 6u);
}

TEST(OutputFileName, LongIdsGetAShortNameWithTheirHash) {
  const std::string long_a = "2026Q1-" + std::string(128, '/') + "-" + std::string(128, 'a');
  const std::string long_b = "2026Q1-" + std::string(128, '/') + "-" + std::string(127, 'a') + "b";
  const std::string a = OutputFileName("finvoice-", long_a, ".xml");
  const std::string b = OutputFileName("finvoice-", long_b, ".xml");
  EXPECT_NE(a, b);
  EXPECT_LE(a.size(), 9u + 120 + 1 + 32 + 4);
  EXPECT_THAT(a, HasSubstr("~"));
  EXPECT_TRUE(PathInDirectory("/out", a).ok());
  // Not cut inside a "%2F".
  EXPECT_EQ(a.substr(9 + 7, 3), "%2F");
  EXPECT_EQ((a.find('~') - (9 + 7)) % 3, 0u);
}

TEST(OutputFileName, ALongIdsHashIsTheFirst32HexDigitsOfItsSha256) {
  // sha256("a" x 200) = c2a908d98f5df987ade41b5fce213067... (Python's hashlib): names
  // written before stay the names of the same ids.
  EXPECT_EQ(OutputFileName("x-", std::string(200, 'a'), ".xml"),
            "x-" + std::string(120, 'a') + "~c2a908d98f5df987ade41b5fce213067.xml");
}

TEST(PathInDirectory, RefusesNamesThatAreNotOnePlainName) {
  EXPECT_EQ(*PathInDirectory("/out", "invoice-a.csv"), std::filesystem::path("/out/invoice-a.csv"));
  const std::vector<std::string> bad_names = {"",    ".",   "..", "../x", "a/b", "a\\b",
                                             std::string("a\0b", 3), std::string(256, 'x')};
  for (const std::string& bad : bad_names) {
    auto path = PathInDirectory("/out", bad);
    ASSERT_FALSE(path.ok()) << bad;
    EXPECT_EQ(path.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(path.status().message(), HasSubstr("/out"));
  }
}

}  // namespace
}  // namespace tori
