// Pins the `tori demo` scenario: every line is a valid event in an order the
// validator accepts, the same seed gives the same bytes, and the quarter has the
// size and shape the demo's printed tables are explained by.
#include "tools/generate/demo_scenario.h"

#include <map>
#include <set>
#include <string>
#include <vector>

#include "events/base/identifiers.h"
#include "events/codec/codec.h"
#include "gtest/gtest.h"

namespace tori {
namespace {

constexpr uint64_t kSeeds[] = {1, 2026, 20260331};  // 2026: the seed of `tori demo`

std::vector<std::string> Generate(uint64_t seed) {
  std::vector<std::string> lines;
  const absl::Status status =
      GenerateDemoEvents(seed, [&](std::string_view line) { lines.emplace_back(line); });
  EXPECT_TRUE(status.ok()) << status;
  return lines;
}

// Parses every line; fails the test (naming seed and line) on any rejection.
std::vector<events::Event> ParseAll(uint64_t seed, const std::vector<std::string>& lines) {
  JsonEventParser parser;
  std::vector<events::Event> parsed(lines.size());
  int failures = 0;
  for (size_t i = 0; i < lines.size() && failures < 10; ++i) {
    if (auto rejection = parser.Parse(lines[i], parsed[i])) {
      ++failures;
      ADD_FAILURE() << "seed " << seed << " line " << i + 1 << ": "
                    << RejectReasonName(rejection->reason) << " " << rejection->field << ": "
                    << rejection->message << "\n  " << lines[i];
    }
  }
  return parsed;
}

TEST(DemoScenarioTest, EveryLineParses) {
  for (uint64_t seed : kSeeds) ParseAll(seed, Generate(seed));
}

TEST(DemoScenarioTest, SameSeedGivesSameBytes) {
  EXPECT_EQ(Generate(7), Generate(7));
  EXPECT_NE(Generate(7), Generate(8));
}

TEST(DemoScenarioTest, BusinessIdsAreValidAndEinvoiceAddressesAreOvt) {
  const auto events = ParseAll(1, Generate(1));
  std::set<std::string> business_ids;
  int companies = 0;
  for (const events::Event& e : events) {
    if (!e.has_agency_registered()) continue;
    const auto& a = e.agency_registered();
    EXPECT_TRUE(IsValidBusinessId(a.business_id())) << a.agency_id() << " " << a.business_id();
    EXPECT_TRUE(business_ids.insert(a.business_id()).second) << a.business_id();
    if (a.kind() == events::AGENCY_KIND_COMPANY) {  // SPEC section 8: VAT, schema 3
      ++companies;
      EXPECT_EQ(e.schema_version(), 3) << a.agency_id();
    }
    if (a.has_einvoice_address()) {
      std::string digits = a.business_id();
      digits.erase(7, 1);
      EXPECT_EQ(a.einvoice_address(), "0037" + digits);
    }
  }
  EXPECT_EQ(business_ids.size(), 9u);  // the eight agencies and the post (a company)
  EXPECT_EQ(companies, 1);
}

// What the validator checks against earlier events (SPEC section 2), checked here in
// file order: references known first, entity ids unique, no voided contact touched
// again, space within the point's area, nothing in the future of the demo's clock.
TEST(DemoScenarioTest, FileOrderSatisfiesTheValidator) {
  for (uint64_t seed : kSeeds) {
    const auto events = ParseAll(seed, Generate(seed));
    std::set<std::string> event_ids, agencies, costs, bookings;
    std::map<std::string, int64_t> point_area_centi_m2;
    std::map<std::string, bool> contact_voided;
    const int64_t now_unix_ns = int64_t{1'795'392'000} * 1'000'000'000;  // 2026-11-23T00:00Z
    int64_t previous_ns = 0;
    for (const events::Event& e : events) {
      SCOPED_TRACE(e.event_id());
      EXPECT_TRUE(event_ids.insert(e.event_id()).second);
      EXPECT_LT(e.occurred_at_unix_ns(), now_unix_ns);
      EXPECT_GE(e.occurred_at_unix_ns(), previous_ns) << "events are in time order";
      previous_ns = e.occurred_at_unix_ns();
      if (e.has_agency_registered()) {
        EXPECT_TRUE(agencies.insert(e.agency_registered().agency_id()).second);
      } else if (e.has_service_point_opened()) {
        const auto& p = e.service_point_opened();
        EXPECT_TRUE(agencies.contains(p.host_agency_id()));
        EXPECT_TRUE(point_area_centi_m2.emplace(p.service_point_id(), p.total_area_centi_m2()).second);
      } else if (e.has_space_allocated()) {
        const auto& s = e.space_allocated();
        ASSERT_TRUE(point_area_centi_m2.contains(s.service_point_id()));
        int64_t used = s.shared_area_centi_m2();
        for (const auto& a : s.allocations()) {
          EXPECT_TRUE(agencies.contains(a.agency_id()));
          used += a.area_centi_m2();
        }
        EXPECT_LE(used, point_area_centi_m2[s.service_point_id()]);
      } else if (e.has_agreement_signed()) {
        EXPECT_TRUE(point_area_centi_m2.contains(e.agreement_signed().service_point_id()));
        for (const auto& party : e.agreement_signed().parties()) {
          EXPECT_TRUE(agencies.contains(party)) << party;
        }
      } else if (e.has_contact_recorded()) {
        const auto& c = e.contact_recorded();
        EXPECT_TRUE(point_area_centi_m2.contains(c.service_point_id()));
        EXPECT_TRUE(agencies.contains(c.agency_id()));
        EXPECT_TRUE(contact_voided.emplace(c.contact_id(), false).second) << c.contact_id();
      } else if (e.has_contact_corrected() || e.has_contact_voided()) {
        const std::string& id = e.has_contact_corrected() ? e.contact_corrected().contact_id()
                                                          : e.contact_voided().contact_id();
        ASSERT_TRUE(contact_voided.contains(id)) << id;
        EXPECT_FALSE(contact_voided[id]) << id << " is voided";
        if (e.has_contact_voided()) contact_voided[id] = true;
        if (e.has_contact_corrected() && e.contact_corrected().changes().has_agency_id()) {
          EXPECT_TRUE(agencies.contains(e.contact_corrected().changes().agency_id()));
        }
      } else if (e.has_cost_posted()) {
        EXPECT_TRUE(costs.insert(e.cost_posted().cost_id()).second);
        EXPECT_TRUE(point_area_centi_m2.contains(e.cost_posted().service_point_id()));
      } else if (e.has_room_booked()) {
        EXPECT_TRUE(bookings.insert(e.room_booked().booking_id()).second);
        EXPECT_TRUE(agencies.contains(e.room_booked().agency_id()));
      }
    }
  }
}

TEST(DemoScenarioTest, QuarterHasRealisticCounts) {
  for (uint64_t seed : kSeeds) {
    SCOPED_TRACE(seed);
    const auto events = ParseAll(seed, Generate(seed));
    std::map<std::string, int> contacts_by_point;
    int contacts = 0, corrected = 0, voided = 0, bookings = 0, credit_notes = 0;
    int non_party_contacts = 0;  // Verohallinto at Kalajärvi
    int64_t costs_cents = 0;
    for (const events::Event& e : events) {
      if (e.has_contact_recorded()) {
        ++contacts;
        ++contacts_by_point[e.contact_recorded().service_point_id()];
        if (e.contact_recorded().service_point_id() == "kalajarvi" &&
            e.contact_recorded().agency_id() == "vero") {
          ++non_party_contacts;
        }
      }
      corrected += e.has_contact_corrected();
      voided += e.has_contact_voided();
      bookings += e.has_room_booked();
      if (e.has_cost_posted()) {
        costs_cents += e.cost_posted().amount_cents();
        credit_notes += e.cost_posted().amount_cents() < 0;
      }
    }
    EXPECT_GE(contacts, 30'000);
    EXPECT_LE(contacts, 50'000);
    ASSERT_EQ(contacts_by_point.size(), 2u);
    EXPECT_GT(contacts_by_point["iso-omena"], 3 * contacts_by_point["kalajarvi"]);
    EXPECT_GT(contacts_by_point["kalajarvi"], 5'000);
    EXPECT_GT(corrected, contacts / 200);  // about 1 %
    EXPECT_LT(corrected, contacts / 50);
    EXPECT_GT(voided, contacts / 400);  // about 0.5 %
    EXPECT_LT(voided, contacts / 100);
    EXPECT_GT(non_party_contacts, 10);
    EXPECT_LT(non_party_contacts, 100);
    EXPECT_GT(bookings, 100);
    EXPECT_EQ(credit_notes, 1);
    // The two squares' costs and the service bus's (SPEC section 9: 42,210.00 EUR).
    EXPECT_EQ(costs_cents, 113'070'554 + 4'221'000) << "the costs do not depend on the seed";
  }
}

}  // namespace
}  // namespace tori
