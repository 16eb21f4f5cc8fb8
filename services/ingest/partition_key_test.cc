// Which partition key each event type gets: its service point where it has one, so that
// a point's events keep their order in one partition and volume spreads over partitions.
#include "gtest/gtest.h"
#include "services/ingest/ingest.h"

namespace tori {
namespace {

TEST(PartitionKeyTest, EventsOfAPointGoWithThePoint) {
  events::Event event;
  event.mutable_contact_recorded()->set_service_point_id("espoo-iso-omena");
  EXPECT_EQ(PartitionKey(event, nullptr), "espoo-iso-omena");
  event.mutable_route_stop_recorded()->set_service_point_id("bus-1");
  EXPECT_EQ(PartitionKey(event, nullptr), "bus-1");
  event.mutable_interpretation_provided()->set_service_point_id("p2");
  EXPECT_EQ(PartitionKey(event, nullptr), "p2");
  event.mutable_room_registered()->set_service_point_id("p3");
  EXPECT_EQ(PartitionKey(event, nullptr), "p3");
  event.mutable_budget_set()->set_service_point_id("p4");
  EXPECT_EQ(PartitionKey(event, nullptr), "p4");
}

TEST(PartitionKeyTest, ACorrectionGoesWithItsContactsPoint) {
  events::Event event;
  event.mutable_contact_corrected()->set_contact_id("c1");
  events::ContactState contact;
  contact.set_service_point_id("espoo-iso-omena");
  EXPECT_EQ(PartitionKey(event, &contact), "espoo-iso-omena");
}

TEST(PartitionKeyTest, ReferenceDataAndReferralsHaveTheEmptyKey) {
  events::Event event;
  event.mutable_agency_registered()->set_agency_id("kela");
  EXPECT_EQ(PartitionKey(event, nullptr), "");
  event.mutable_contact_referred()->set_contact_id("c1");
  EXPECT_EQ(PartitionKey(event, nullptr), "");
}

}  // namespace
}  // namespace tori
