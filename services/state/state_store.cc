#include "services/state/state_store.h"

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
  options.write_buffer_size = 64 << 20;
  rocksdb::BlockBasedTableOptions table;
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));  // most id lookups miss
  rocksdb::ColumnFamilyOptions cf_options(options);
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

absl::Status StateStore::Commit(const std::vector<IndexWrite>& index_writes,
                                const LogPosition& applied) {
  rocksdb::WriteBatch batch;
  for (const auto& [key, value] : index_writes) {
    TORI_RETURN_IF_ERROR(FromRocks(batch.Put(handles_[1], key, value), "batch"));
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
