#include "services/state/state_store.h"

#include <algorithm>
#include <filesystem>

#include "events/base/check.h"
#include "fmt/format.h"
#include "rocksdb/db.h"
#include "rocksdb/filter_policy.h"
#include "rocksdb/table.h"
#include "rocksdb/write_batch.h"

namespace tori {
namespace {

constexpr char kAppliedPositionKey[] = "applied_position";

absl::Status FromRocks(const rocksdb::Status& s, std::string_view what) {
  if (s.ok()) return absl::OkStatus();
  return absl::InternalError(fmt::format("state store: {}: {}", what, s.ToString()));
}

rocksdb::Slice ToSlice(std::string_view s) { return rocksdb::Slice(s.data(), s.size()); }

}  // namespace

absl::StatusOr<std::unique_ptr<StateStore>> StateStore::Open(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return absl::InternalError(fmt::format("cannot create {}: {}", dir, ec.message()));

  rocksdb::Options options;
  options.create_if_missing = true;
  options.create_missing_column_families = true;
  options.atomic_flush = true;  // the position and its entries reach disk together
  options.max_background_jobs = 2;
  options.write_buffer_size = 32 << 20;
  rocksdb::BlockBasedTableOptions table;
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));  // most id lookups miss
  rocksdb::ColumnFamilyOptions cf_options(options);
  // Most index lookups are for new ids: a memtable bloom filter answers those misses
  // without walking the skip list.
  cf_options.memtable_prefix_bloom_size_ratio = 0.1;
  cf_options.memtable_whole_key_filtering = true;
  cf_options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));

  std::vector<rocksdb::ColumnFamilyDescriptor> families = {
      {rocksdb::kDefaultColumnFamilyName, cf_options}, {"index", cf_options}};
  std::unique_ptr<StateStore> store(new StateStore());
  rocksdb::DB* db = nullptr;
  TORI_RETURN_IF_ERROR(FromRocks(rocksdb::DB::Open(options, dir, families, &store->handles_, &db),
                                 fmt::format("cannot open {}", dir)));
  store->db_.reset(db);

  std::string position;
  const auto s = db->Get(rocksdb::ReadOptions(), store->handles_[0], kAppliedPositionKey, &position);
  if (s.ok()) {
    TORI_ASSIGN_OR_RETURN(store->applied_, LogPosition::Parse(position));
  } else if (!s.IsNotFound()) {
    return FromRocks(s, "cannot read the applied position");
  }
  return store;
}

StateStore::~StateStore() {
  if (db_) {
    for (auto* handle : handles_) (void)db_->DestroyColumnFamilyHandle(handle);
    (void)db_->Close();
  }
}

absl::StatusOr<std::optional<std::string>> StateStore::Get(std::string_view key) {
  std::string value;
  const auto s = db_->Get(rocksdb::ReadOptions(), handles_[1], ToSlice(key), &value);
  if (s.IsNotFound()) return std::nullopt;
  TORI_RETURN_IF_ERROR(FromRocks(s, "cannot read the index"));
  return value;
}

absl::StatusOr<std::vector<std::optional<std::string>>> StateStore::MultiGet(
    const std::vector<std::string>& sorted_keys) {
  std::vector<rocksdb::Slice> slices;
  slices.reserve(sorted_keys.size());
  for (const auto& key : sorted_keys) slices.emplace_back(key);
  std::vector<rocksdb::PinnableSlice> values(sorted_keys.size());
  std::vector<rocksdb::Status> statuses(sorted_keys.size());
  db_->MultiGet(rocksdb::ReadOptions(), handles_[1], slices.size(), slices.data(), values.data(),
                statuses.data(), /*sorted_input=*/true);
  std::vector<std::optional<std::string>> out(sorted_keys.size());
  for (size_t i = 0; i < sorted_keys.size(); ++i) {
    if (statuses[i].IsNotFound()) continue;
    TORI_RETURN_IF_ERROR(FromRocks(statuses[i], "cannot read the index"));
    out[i] = values[i].ToString();
  }
  return out;
}

absl::Status StateStore::Commit(const std::vector<IndexWrite>& index_writes,
                                const LogPosition& applied) {
  // Keys in order make the memtable inserts cheap (the skip list reuses its splice).
  std::vector<const IndexWrite*> ordered;
  ordered.reserve(index_writes.size());
  for (const auto& write : index_writes) ordered.push_back(&write);
  auto by_key = [](const IndexWrite* a, const IndexWrite* b) { return a->first < b->first; };
  if (!std::is_sorted(ordered.begin(), ordered.end(), by_key)) {
    std::sort(ordered.begin(), ordered.end(), by_key);
  }
  rocksdb::WriteBatch batch;
  for (size_t i = 0; i < ordered.size(); ++i) {
    TORI_DCHECK(i == 0 || ordered[i - 1]->first != ordered[i]->first);  // distinct keys
    TORI_RETURN_IF_ERROR(FromRocks(batch.Put(handles_[1], ordered[i]->first, ordered[i]->second), "batch"));
  }
  TORI_RETURN_IF_ERROR(
      FromRocks(batch.Put(handles_[0], kAppliedPositionKey, applied.ToString()), "batch"));
  rocksdb::WriteOptions write_options;
  write_options.disableWAL = true;  // see the durability policy in the header
  TORI_RETURN_IF_ERROR(FromRocks(db_->Write(write_options, &batch), "cannot commit"));
  applied_ = applied;
  return absl::OkStatus();
}

absl::Status StateStore::Flush() {
  rocksdb::FlushOptions options;
  options.wait = true;
  return FromRocks(db_->Flush(options, handles_), "cannot flush");
}

}  // namespace tori
