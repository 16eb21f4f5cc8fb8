// Agreement selection (SPEC section 3) and the engine's vocabulary: quarters, key names.
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "absl/time/civil_time.h"
#include "gtest/gtest.h"
#include "services/engine/engine.h"
#include "services/engine/test_printers.h"

namespace tori::engine {
namespace {

Agreement Version(std::string id, int64_t version, absl::CivilDay from,
                  std::optional<absl::CivilDay> to = std::nullopt) {
  Agreement agreement;
  agreement.agreement_id = std::move(id);
  agreement.version = version;
  agreement.service_point_id = "iso-omena";
  agreement.effective_from = from;
  agreement.effective_to = to;
  agreement.parties = {"espoo"};
  return agreement;
}

struct SelectionExample {
  std::string name;
  std::vector<Agreement> versions;
  std::optional<size_t> expected_index;
};
void PrintTo(const SelectionExample& example, std::ostream* os) { *os << example.name; }

const absl::CivilDay kQ2 = absl::CivilDay(2026, 4, 1);

const std::vector<SelectionExample> kSelectionExamples = {
    {"NoVersionsNoAgreement", {}, std::nullopt},
    {"OnlyVersionInEffect", {Version("a", 1, absl::CivilDay(2025, 1, 1))}, 0},
    {"StartingOnFirstDayCounts", {Version("a", 1, kQ2)}, 0},
    {"FutureAgreementIgnored",
     {Version("a", 1, absl::CivilDay(2025, 1, 1)), Version("a", 2, absl::CivilDay(2026, 4, 2))},
     0},
    {"OnlyFutureAgreementMeansNone", {Version("a", 1, absl::CivilDay(2026, 5, 1))},
     std::nullopt},
    {"LatestEffectiveFromBeatsHigherVersion",
     {Version("a", 7, absl::CivilDay(2025, 1, 1)), Version("b", 1, absl::CivilDay(2026, 1, 1))},
     1},
    {"SameEffectiveFromHighestVersionWins",
     {Version("a", 3, absl::CivilDay(2026, 1, 1)), Version("a", 2, absl::CivilDay(2026, 1, 1))},
     0},
    {"EffectiveToIsExclusive",
     {Version("a", 1, absl::CivilDay(2025, 1, 1)),
      Version("a", 2, absl::CivilDay(2026, 1, 1), kQ2)},
     0},
    {"EffectiveToDayAfterStillInEffect",
     {Version("a", 1, absl::CivilDay(2025, 1, 1)),
      Version("a", 2, absl::CivilDay(2026, 1, 1), kQ2 + 1)},
     1},
    {"EndedAgreementLeavesNone",
     {Version("a", 1, absl::CivilDay(2025, 1, 1), absl::CivilDay(2026, 3, 31))},
     std::nullopt},
};

class SelectAgreementTest : public ::testing::TestWithParam<SelectionExample> {};

TEST_P(SelectAgreementTest, PicksVersionInEffectOnFirstDayOfQuarter) {
  const SelectionExample& example = GetParam();
  const auto selected = SelectAgreement(example.versions, kQ2);
  ASSERT_TRUE(selected.ok()) << selected.status();
  EXPECT_EQ(*selected, example.expected_index);
}

INSTANTIATE_TEST_SUITE_P(Spec, SelectAgreementTest, ::testing::ValuesIn(kSelectionExamples),
                         [](const auto& info) { return info.param.name; });

TEST(SelectAgreement, TieOnEffectiveFromAndVersionIsAnError) {
  const std::vector<Agreement> versions = {Version("a", 1, absl::CivilDay(2026, 1, 1)),
                                           Version("b", 1, absl::CivilDay(2026, 1, 1))};
  const auto selected = SelectAgreement(versions, kQ2);
  EXPECT_EQ(selected.status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST(SelectAgreement, TieAmongVersionsNotInEffectIsIgnored) {
  const std::vector<Agreement> versions = {
      Version("a", 1, absl::CivilDay(2026, 1, 1)),
      Version("b", 1, absl::CivilDay(2026, 1, 1), absl::CivilDay(2026, 2, 1)),
  };
  const auto selected = SelectAgreement(versions, kQ2);
  ASSERT_TRUE(selected.ok()) << selected.status();
  EXPECT_EQ(*selected, std::optional<size_t>(0));
}

// Quarters (first days, names, parsing, order) are pinned in events/base/calendar_test.cc.

TEST(Key, NamesRoundTripForEveryKey) {
  for (Key key : {Key::kContacts, Key::kAdvisorContacts, Key::kAdvisorTime,
                  Key::kWeightedContacts, Key::kDedicatedArea, Key::kBookedMinutes,
                  Key::kFixedShares, Key::kEqual}) {
    EXPECT_EQ(ParseKey(KeyName(key)), key) << KeyName(key);
  }
  EXPECT_EQ(KeyName(Key::kAdvisorTime), "advisor_time");
  EXPECT_EQ(ParseKey("Contacts"), std::nullopt);
}

}  // namespace
}  // namespace tori::engine
