#include "services/documents/internal/views.h"

#include <algorithm>
#include <set>

#include "events/base/check.h"

namespace tori::documents::internal {

using engine::Key;

std::vector<InvoiceMeta> BuildInvoiceMetas(const engine::BillingResult& result,
                                           const DocumentContext& context) {
  TORI_CHECK(result.invoices.size() <= kInvoicesPerRunMax);
  std::vector<InvoiceMeta> metas;
  metas.reserve(result.invoices.size());
  for (size_t i = 0; i < result.invoices.size(); ++i) {
    InvoiceMeta meta;
    if (context.draft) {
      // No number that a later run could give another agency, no reference to pay to.
      meta.number = DraftInvoiceNumber(result.invoices[i].invoice_id, context.language);
    } else {
      meta.number = InvoiceNumber(result.quarter, i);
      auto reference = FinnishReferenceNumber(meta.number);
      TORI_CHECK(reference.ok());  // the number is 10 digits
      meta.reference = *std::move(reference);
    }
    meta.due_date = context.issue_date + context.due_days;
    metas.push_back(std::move(meta));
  }
  return metas;
}

std::vector<RowGroup> GroupLines(const engine::Invoice& invoice) {
  std::vector<RowGroup> groups;
  int64_t sum_cents = 0;
  for (size_t i = 0; i < invoice.lines.size(); ++i) {
    const engine::InvoiceLine& line = invoice.lines[i];
    const bool same = !groups.empty() && [&] {
      const engine::InvoiceLine& first = invoice.lines[groups.back().first_line];
      return first.adjusts_quarter == line.adjusts_quarter &&
             first.service_point_id == line.service_point_id && first.pool == line.pool;
    }();
    if (!same) groups.push_back(RowGroup{i, 0, 0});
    groups.back().line_count += 1;
    groups.back().amount_cents += line.amount_cents;
    sum_cents += line.amount_cents;
  }
  TORI_CHECK(sum_cents == invoice.total_cents);  // the engine's invariant, restated
  return groups;
}

ShareMatrix BuildShareMatrix(const engine::BillingResult& result) {
  std::map<std::pair<std::string, std::string>, int64_t> pool_amounts;  // (point, pool)
  std::set<std::string> agencies;
  for (const auto& pool : result.pools) {
    pool_amounts[{pool.service_point_id, pool.pool}] += pool.amount_cents;
  }
  for (const auto& share : result.host_shares) {
    agencies.insert(share.agency_id);
    if (!share.adjusts_quarter) pool_amounts.try_emplace({share.service_point_id, share.pool}, 0);
  }
  for (const auto& invoice : result.invoices) {
    agencies.insert(invoice.issuer_agency_id);
    agencies.insert(invoice.recipient_agency_id);
    for (const auto& line : invoice.lines) {
      if (!line.adjusts_quarter) pool_amounts.try_emplace({line.service_point_id, line.pool}, 0);
    }
  }
  ShareMatrix matrix;
  matrix.agencies.assign(agencies.begin(), agencies.end());
  std::map<std::pair<std::string, std::string>, size_t> pool_index;
  for (const auto& [key, amount_cents] : pool_amounts) {
    pool_index[key] = matrix.pools.size();
    matrix.pools.push_back(engine::PoolAmount{key.first, key.second, amount_cents});
  }
  std::map<std::string, size_t> agency_index;
  for (size_t a = 0; a < matrix.agencies.size(); ++a) agency_index[matrix.agencies[a]] = a;
  matrix.share_cents.assign(matrix.agencies.size(), std::vector<int64_t>(matrix.pools.size(), 0));
  matrix.adjustment_cents.assign(matrix.agencies.size(), 0);
  for (const auto& share : result.host_shares) {
    if (share.adjusts_quarter) {  // the host's part of an earlier quarter's change
      matrix.adjustment_cents[agency_index.at(share.agency_id)] += share.amount_cents;
      continue;
    }
    matrix.share_cents[agency_index.at(share.agency_id)]
                      [pool_index.at({share.service_point_id, share.pool})] += share.amount_cents;
  }
  for (const auto& invoice : result.invoices) {
    const size_t a = agency_index.at(invoice.recipient_agency_id);
    for (const auto& line : invoice.lines) {
      if (line.adjusts_quarter) {
        matrix.adjustment_cents[a] += line.amount_cents;
      } else {
        matrix.share_cents[a][pool_index.at({line.service_point_id, line.pool})] +=
            line.amount_cents;
      }
    }
  }
  return matrix;
}

std::vector<KeyTable> BuildKeyTables(const engine::BillingResult& result) {
  std::map<std::string, KeyTable> tables;  // by point
  std::map<std::string, std::set<Key>> keys;
  for (const auto& invoice : result.invoices) {
    for (const auto& line : invoice.lines) {
      if (line.adjusts_quarter) continue;  // an earlier quarter's basis
      KeyTable& table = tables[line.service_point_id];
      table.service_point_id = line.service_point_id;
      table.host_agency_id = invoice.issuer_agency_id;
      keys[line.service_point_id].insert(line.key);
      table.quantity[{invoice.recipient_agency_id, line.key}] = line.basis_quantity;
      table.total[line.key] = line.basis_total;
    }
  }
  std::vector<KeyTable> out;
  for (auto& [point, table] : tables) {
    table.keys.assign(keys[point].begin(), keys[point].end());
    std::set<std::string> recipients;
    for (const auto& [agency_key, quantity] : table.quantity) recipients.insert(agency_key.first);
    recipients.erase(table.host_agency_id);
    table.agencies.push_back(table.host_agency_id);
    table.agencies.insert(table.agencies.end(), recipients.begin(), recipients.end());
    for (Key key : table.keys) {
      int64_t others = 0;
      for (const auto& agency : recipients) {
        const auto it = table.quantity.find({agency, key});
        if (it != table.quantity.end()) others += it->second;
      }
      table.quantity[{table.host_agency_id, key}] = table.total[key] - others;
    }
    out.push_back(std::move(table));
  }
  return out;
}

Totals ComputeTotals(const engine::BillingResult& result) {
  Totals totals;
  for (const auto& pool : result.pools) totals.pools_cents += pool.amount_cents;
  for (const auto& invoice : result.invoices) totals.invoiced_cents += invoice.total_cents;
  for (const auto& share : result.host_shares) totals.host_shares_cents += share.amount_cents;
  for (const auto& claim : result.subsidy_claims) totals.subsidy_claims_cents += claim.amount_cents;
  return totals;
}

std::string AgencyName(const DocumentContext& context, const std::string& agency_id) {
  const auto it = context.agencies.find(agency_id);
  return it == context.agencies.end() ? agency_id : it->second.name;
}

std::string PointName(const DocumentContext& context, const std::string& service_point_id) {
  const auto it = context.service_points.find(service_point_id);
  return it == context.service_points.end() ? service_point_id : it->second.name;
}

std::string PoolName(const DocumentContext& context, const std::string& service_point_id,
                     const std::string& pool) {
  const auto names = context.pool_names.find({service_point_id, pool});
  if (names == context.pool_names.end()) return pool;
  const auto name = names->second.find(context.language);
  return name == names->second.end() ? pool : name->second;
}

}  // namespace tori::documents::internal
