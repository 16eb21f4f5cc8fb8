// ComputeBilling over random inputs: conservation per pool, totals, determinism. A
// failing seed is printed; pin it as a fixture in engine_test.cc.
#include <cstdint>
#include <map>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "absl/numeric/int128.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "services/engine/engine.h"
#include "services/engine/test_fixtures.h"
#include "services/engine/test_printers.h"

namespace tori::engine {
namespace {

using fixtures::kWholePctE4;
using fixtures::MakeAgreement;

constexpr Quarter kQ1{2026, 1};

constexpr Key kAllKeys[] = {Key::kContacts,      Key::kAdvisorContacts, Key::kAdvisorTime,
                            Key::kWeightedContacts, Key::kDedicatedArea, Key::kBookedMinutes,
                            Key::kFixedShares,   Key::kEqual};

// Raw engine output keeps a seed's case identical across standard libraries.
struct Random {
  std::mt19937_64 engine;
  uint64_t Below(uint64_t bound) { return engine() % bound; }
  int64_t KeyValue() {
    switch (Below(3)) {
      case 0: return 0;
      case 1: return static_cast<int64_t>(Below(1000));
      default: return static_cast<int64_t>(Below(uint64_t{1} << 50));
    }
  }
};

PoolRule RandomPoolRule(Random& random) {
  PoolRule rule;
  const size_t tranche_count = 1 + random.Below(3);
  int64_t left_pct_e4 = kWholePctE4;
  for (size_t t = 0; t < tranche_count; ++t) {
    const int64_t weight_pct_e4 =
        t + 1 == tranche_count ? left_pct_e4
                               : static_cast<int64_t>(random.Below(uint64_t(left_pct_e4) + 1));
    left_pct_e4 -= weight_pct_e4;
    rule.tranches.push_back({weight_pct_e4, kAllKeys[random.Below(8)]});
  }
  rule.fallback_key = kAllKeys[random.Below(8)];
  return rule;
}

BillingInput RandomInput(Random& random) {
  const std::vector<std::string> agencies = {"espoo", "kela", "vero", "poliisi", "dvv", "te"};
  const std::vector<std::string> pools = {"premises", "shared_staff", "rooms", "extra"};
  BillingInput input{kQ1, {}};
  const size_t point_count = 1 + random.Below(3);
  for (size_t p = 0; p < point_count; ++p) {
    ServicePointInput point;
    point.service_point_id = absl::StrCat("point-", p);
    point.host_agency_id = agencies[random.Below(agencies.size())];
    std::vector<std::string> parties;
    for (const std::string& agency : agencies) {
      if (random.Below(2) == 0) parties.push_back(agency);
    }
    if (parties.empty()) parties.push_back(agencies[random.Below(agencies.size())]);
    std::map<std::string, PoolRule> rules;
    for (size_t i = 0; i + 1 < pools.size(); ++i) {
      if (random.Below(4) != 0) rules[pools[i]] = RandomPoolRule(random);
    }
    if (random.Below(10) != 0) {
      point.agreement = MakeAgreement(point.service_point_id, parties, rules);
    }
    for (const std::string& agency : parties) {
      if (point.agreement.has_value() && random.Below(2) == 0) {
        point.agreement->fixed_shares_pct_e4[agency] = random.KeyValue();
      }
    }
    for (const std::string& pool : pools) {
      if (random.Below(4) == 0) continue;
      point.pool_amounts_cents[pool] =
          static_cast<int64_t>(random.Below(2'000'000'000'000)) - 1'000'000'000'000;
    }
    for (const std::string& agency : agencies) {
      point.key_values[agency] = MeasuredKeys{random.KeyValue(), random.KeyValue(),
                                              random.KeyValue(), random.KeyValue(),
                                              random.KeyValue(), random.KeyValue()};
    }
    input.service_points.push_back(std::move(point));
  }
  return input;
}

TEST(ComputeBillingProperty, InvoiceLinesPlusHostShareEqualEveryPool) {
  constexpr uint64_t kSeeds = 500;
  for (uint64_t seed = 1; seed <= kSeeds; ++seed) {
    SCOPED_TRACE(absl::StrCat("seed ", seed));
    Random random{std::mt19937_64(seed)};
    const BillingInput input = RandomInput(random);
    const auto result = ComputeBilling(input);
    ASSERT_TRUE(result.ok()) << result.status();
    ASSERT_EQ(result->host_shares.size(), result->pools.size());

    std::map<std::pair<std::string, std::string>, absl::int128> allocated_cents;
    for (const HostShare& share : result->host_shares) {
      allocated_cents[{share.service_point_id, share.pool}] += share.amount_cents;
    }
    for (const Invoice& invoice : result->invoices) {
      absl::int128 total_cents = 0;
      for (const InvoiceLine& line : invoice.lines) {
        allocated_cents[{line.service_point_id, line.pool}] += line.amount_cents;
        total_cents += line.amount_cents;
        ASSERT_TRUE(line.amount_cents != 0 || line.basis_quantity != 0);
      }
      ASSERT_TRUE(total_cents == invoice.total_cents) << invoice.invoice_id;
      ASSERT_NE(invoice.issuer_agency_id, invoice.recipient_agency_id);
    }
    for (const PoolAmount& pool : result->pools) {
      const auto key = std::make_pair(pool.service_point_id, pool.pool);
      ASSERT_TRUE(allocated_cents[key] == pool.amount_cents)
          << pool.service_point_id << " " << pool.pool;
    }
    ASSERT_EQ(allocated_cents.size(), result->pools.size());
    // Deterministic: the same input gives the same result.
    ASSERT_EQ(*ComputeBilling(input), *result);
  }
}

// New costs and contacts for the same points, agreements and hosts: some pools change,
// appear or disappear, key values change.
BillingInput Changed(const BillingInput& before, Random& random) {
  BillingInput after = before;
  for (ServicePointInput& point : after.service_points) {
    for (const std::string pool : {"premises", "shared_staff", "rooms", "extra"}) {
      switch (random.Below(4)) {
        case 0: break;  // unchanged
        case 1: point.pool_amounts_cents.erase(pool); break;
        default:
          point.pool_amounts_cents[pool] +=
              static_cast<int64_t>(random.Below(2'000'000'000)) - 1'000'000'000;
      }
    }
    for (auto& [agency, keys] : point.key_values) {
      if (random.Below(3) == 0) keys.contacts = random.KeyValue();
      if (random.Below(3) == 0) keys.dedicated_area_centi_m2_days = random.KeyValue();
    }
  }
  return after;
}

std::map<std::pair<std::string, std::string>, absl::int128> Pools(const BillingResult& result) {
  std::map<std::pair<std::string, std::string>, absl::int128> pools;
  for (const PoolAmount& pool : result.pools) pools[{pool.service_point_id, pool.pool}] += pool.amount_cents;
  return pools;
}

// Issue #15.2: for every pool of an issued quarter, the agencies' adjustment lines plus
// the host's adjustment share equal the change of the pool, over two rounds of late
// events (the second compares with what was issued plus the first adjustments).
TEST(ComputeAdjustmentsProperty, AgencyAndHostAdjustmentsEqualTheChangeOfEveryPool) {
  constexpr uint64_t kSeeds = 300;
  constexpr Quarter kQ2{2026, 2}, kQ3{2026, 3};
  for (uint64_t seed = 1; seed <= kSeeds; ++seed) {
    SCOPED_TRACE(absl::StrCat("seed ", seed));
    Random random{std::mt19937_64(seed)};
    std::vector<BillingInput> inputs = {RandomInput(random)};
    inputs.push_back(Changed(inputs[0], random));
    inputs.push_back(Changed(inputs[1], random));
    const auto issued = ComputeBilling(inputs[0]);
    ASSERT_TRUE(issued.ok()) << issued.status();
    std::vector<Invoice> issued_invoices = issued->invoices;
    std::vector<IssuedHostShares> issued_host_shares = {{kQ1, issued->host_shares}};
    BillingResult previous = *issued;
    for (const Quarter billed : {kQ2, kQ3}) {
      const auto recomputed = ComputeBilling(inputs[billed == kQ2 ? 1 : 2]);
      ASSERT_TRUE(recomputed.ok()) << recomputed.status();
      const auto adjustments =
          ComputeAdjustments(billed, *recomputed, issued_invoices, {}, issued_host_shares);
      ASSERT_TRUE(adjustments.ok()) << adjustments.status();
      auto change = Pools(*recomputed);
      for (const auto& [key, amount] : Pools(previous)) change[key] -= amount;
      std::map<std::pair<std::string, std::string>, absl::int128> adjusted;
      for (const Invoice& invoice : adjustments->invoices) {
        for (const InvoiceLine& line : invoice.lines) {
          ASSERT_EQ(line.adjusts_quarter, kQ1);
          adjusted[{line.service_point_id, line.pool}] += line.amount_cents;
        }
      }
      for (const HostShare& share : adjustments->host_shares) {
        ASSERT_EQ(share.adjusts_quarter, kQ1);
        adjusted[{share.service_point_id, share.pool}] += share.amount_cents;
      }
      for (const auto& [key, cents] : change) {
        ASSERT_TRUE(adjusted[key] == cents) << billed.quarter_of_year << " " << key.first << " " << key.second;
      }
      for (const auto& [key, cents] : adjusted) {
        ASSERT_TRUE(change[key] == cents) << key.first << " " << key.second;
      }
      for (Invoice invoice : adjustments->invoices) {
        invoice.quarter = billed;
        issued_invoices.push_back(std::move(invoice));
      }
      issued_host_shares.push_back({billed, adjustments->host_shares});
      previous = *recomputed;
    }
  }
}

TEST(ComputeAdjustments, NoHostShareAdjustmentsForAQuarterIssuedWithoutHostShares) {
  Random random{std::mt19937_64(7)};
  const BillingInput input = RandomInput(random);
  const auto issued = ComputeBilling(input);
  ASSERT_TRUE(issued.ok());
  const auto recomputed = ComputeBilling(Changed(input, random));
  ASSERT_TRUE(recomputed.ok());
  const auto adjustments = ComputeAdjustments({2026, 2}, *recomputed, issued->invoices, {}, {});
  ASSERT_TRUE(adjustments.ok());
  EXPECT_TRUE(adjustments->host_shares.empty());
}

}  // namespace
}  // namespace tori::engine
