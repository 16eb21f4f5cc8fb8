#include "services/state/state_store.h"

#include <algorithm>
#include <filesystem>
#include <future>

#include "events/base/check.h"
#include "fmt/format.h"
#include "rocksdb/db.h"
#include "rocksdb/filter_policy.h"
#include "rocksdb/sst_file_writer.h"
#include "rocksdb/table.h"
#include "rocksdb/write_batch.h"

namespace tori {
namespace {

constexpr char kAppliedPositionKey[] = "applied_position";
enum Family { kMeta = 0, kIndex = 1, kProjection = 2 };

// Whether RocksDB's error means the state's files are damaged or missing (a checksum
// mismatch; a .sst, MANIFEST or CURRENT file that is gone), not that the disk refused
// a write: such a state is made anew by `tori rebuild`.
bool MeansDamage(const rocksdb::Status& s) {
  if (s.IsCorruption() || s.IsPathNotFound()) return true;
  return s.IsIOError() && s.ToString().find("No such file or directory") != std::string::npos;
}

// `advice`: what to do when the error means damage (StateStore::rebuild_advice()).
absl::Status FromRocks(const rocksdb::Status& s, std::string_view what, std::string_view advice) {
  if (s.ok()) return absl::OkStatus();
  if (MeansDamage(s)) {
    return absl::DataLossError(
        fmt::format("the state is damaged: {}; {} (RocksDB: {})", what, advice, s.ToString()));
  }
  return absl::InternalError(fmt::format("state store: {}: {}", what, s.ToString()));
}

// A read-only open writes no info log.
class DiscardingLogger : public rocksdb::Logger {
 public:
  using rocksdb::Logger::Logv;
  void Logv(const char* /*format*/, va_list /*ap*/) override {}
};

absl::Status ReadOnlyError(const std::string& dir) {
  return absl::FailedPreconditionError(
      fmt::format("state store {} was opened read-only: nothing can be written", dir));
}

// See StateStore::rebuild_advice(). A state under DIR/state belongs to `--data DIR`;
// any other is a command's scratch state, replayed anew by each run.
std::string RebuildAdvice(const std::string& dir) {
  std::filesystem::path path = std::filesystem::path(dir).lexically_normal();
  if (path.filename().empty()) path = path.parent_path();
  if (path.filename() == "state") {
    std::string data_dir = path.parent_path().string();
    if (data_dir.empty()) data_dir = ".";
    return fmt::format(
        "the state is derived from the event log: run `tori rebuild --data {}` (with the same "
        "--kafka options when the log is in Kafka) to make it anew",
        data_dir);
  }
  return fmt::format(
      "{} is a scratch state, derived from the event log: run the command again to replay it "
      "anew",
      dir);
}

// A state directory that holds RocksDB's files but no CURRENT (which names the live
// MANIFEST) lost it: RocksDB would start an empty state over the files.
bool LostItsCurrentFile(const std::string& dir) {
  std::error_code ec;
  if (std::filesystem::exists(std::filesystem::path(dir) / "CURRENT", ec)) return false;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.starts_with("MANIFEST-") || name.ends_with(".sst")) return true;
  }
  return false;
}

rocksdb::Slice ToSlice(std::string_view s) { return rocksdb::Slice(s.data(), s.size()); }

// The writes as views in key order (as given when they already are): SST files take
// their keys in order, and the memtable's skip list reuses its insert position.
template <typename Write>
std::vector<KeyValueView> InKeyOrder(const std::vector<Write>& writes) {
  std::vector<KeyValueView> ordered(writes.begin(), writes.end());
  auto by_key = [](const KeyValueView& a, const KeyValueView& b) { return a.first < b.first; };
  if (!std::is_sorted(ordered.begin(), ordered.end(), by_key)) {
    std::sort(ordered.begin(), ordered.end(), by_key);
  }
  return ordered;
}

absl::Status AddSorted(rocksdb::WriteBatch& batch, rocksdb::ColumnFamilyHandle* family,
                       const std::vector<KeyValue>& writes) {
  for (const auto& [key, value] : InKeyOrder(writes)) {
    TORI_RETURN_IF_ERROR(FromRocks(batch.Put(family, ToSlice(key), ToSlice(value)), "batch", ""));
  }
  return absl::OkStatus();
}

// Answers `sorted_keys` by walking `it` beside them: one seek answers every key up to
// the next stored one, so a batch of new ids that follow the stored ones (ids from a
// sequence or a clock) costs a few seeks instead of a lookup per key and level. From a stored key the walk steps
// to the next few before it seeks again: stored keys often lie a step apart among the
// batch's (ids "12345" of earlier batches sort among "123450".."123459"). Keys that
// interleave with stored ones (random ids) cost a seek each, dearer than a lookup:
// the walk stops once its seeks answer fewer than kKeysPerSeekMin keys each. Returns
// how many keys it answered.
absl::StatusOr<size_t> WalkBeside(rocksdb::Iterator& it,
                                  const std::vector<std::string>& sorted_keys,
                                  std::vector<std::optional<std::string>>& out,
                                  std::string_view advice) {
  constexpr size_t kKeysPerSeekMin = 8;
  constexpr int kStepsBeforeSeek = 2;
  const size_t count = sorted_keys.size();
  if (count == 0) return 0;
  size_t next = 0;
  it.Seek(ToSlice(sorted_keys[0]));
  size_t seeks = 1;
  // `it` is at the first stored key >= sorted_keys[next], or invalid when none is.
  while (it.Valid()) {
    const rocksdb::Slice stored = it.key();
    while (next < count && ToSlice(sorted_keys[next]).compare(stored) < 0) ++next;  // absent
    if (next < count && ToSlice(sorted_keys[next]) == stored) out[next++] = it.value().ToString();
    if (next == count) break;
    const rocksdb::Slice key = ToSlice(sorted_keys[next]);
    int steps = 0;
    do {
      it.Next();
    } while (it.Valid() && it.key().compare(key) < 0 && ++steps < kStepsBeforeSeek);
    if (it.Valid() && it.key().compare(key) < 0) {
      if (seeks >= kKeysPerSeekMin && next < seeks * kKeysPerSeekMin) break;  // not paying
      it.Seek(key);
      ++seeks;
    }
  }
  TORI_RETURN_IF_ERROR(FromRocks(it.status(), "cannot read", advice));
  return it.Valid() ? next : count;
}

}  // namespace

absl::StatusOr<std::unique_ptr<StateStore>> StateStore::Open(const std::string& dir) {
  return OpenIn(dir, /*read_only=*/false);
}

absl::StatusOr<std::unique_ptr<StateStore>> StateStore::OpenReadOnly(const std::string& dir) {
  return OpenIn(dir, /*read_only=*/true);
}

absl::StatusOr<std::unique_ptr<StateStore>> StateStore::OpenIn(const std::string& dir,
                                                               bool read_only) {
  std::error_code ec;
  if (!read_only) std::filesystem::create_directories(dir, ec);
  if (ec) return absl::InternalError(fmt::format("cannot create {}: {}", dir, ec.message()));

  rocksdb::Options options;
  options.create_if_missing = true;
  options.create_missing_column_families = true;
  options.atomic_flush = true;  // the position and its entries reach disk together
  options.max_background_jobs = 2;
  // Measured best of 8/16/32/64/128 MiB for the ingest benchmark (BENCHMARKS.md).
  options.write_buffer_size = 32 << 20;
  rocksdb::BlockBasedTableOptions table;
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));  // most id lookups miss
  rocksdb::ColumnFamilyOptions cf_options(options);
  cf_options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  // Most index lookups are for new ids: a memtable bloom filter answers those misses
  // without walking the skip list.
  cf_options.memtable_prefix_bloom_size_ratio = 0.1;
  cf_options.memtable_whole_key_filtering = true;
  // Ids and counters compress poorly, and on two cores the flush thread's compression
  // competes with ingest (measured: BENCHMARKS.md); LZ4 only where data settles.
  cf_options.compression_per_level = {rocksdb::kNoCompression, rocksdb::kNoCompression,
                                      rocksdb::kLZ4Compression};

  std::vector<rocksdb::ColumnFamilyDescriptor> families = {
      {rocksdb::kDefaultColumnFamilyName, cf_options},
      {"index", cf_options},
      {"projection", cf_options}};
  std::unique_ptr<StateStore> store(new StateStore());
  store->rebuild_advice_ = RebuildAdvice(dir);
  if (LostItsCurrentFile(dir)) {
    return absl::DataLossError(fmt::format(
        "the state is damaged: {} holds RocksDB's files but no CURRENT file; {}", dir,
        store->rebuild_advice_));
  }
  if (read_only && !std::filesystem::exists(std::filesystem::path(dir) / "CURRENT", ec)) {
    // Checked before RocksDB, which would create the directory.
    return absl::NotFoundError(fmt::format("there is no state in {}", dir));
  }
  rocksdb::DB* db = nullptr;
  if (read_only) {
    // RocksDB would otherwise write its info log (DIR/LOG) even when only reading.
    options.info_log = std::make_shared<DiscardingLogger>();
    TORI_RETURN_IF_ERROR(
        FromRocks(rocksdb::DB::OpenForReadOnly(options, dir, families, &store->handles_, &db),
                  fmt::format("cannot open {} to read it", dir), store->rebuild_advice_));
  } else {
    TORI_RETURN_IF_ERROR(FromRocks(rocksdb::DB::Open(options, dir, families, &store->handles_, &db),
                                   fmt::format("cannot open {}", dir), store->rebuild_advice_));
  }
  store->db_.reset(db);
  store->dir_ = dir;
  store->read_only_ = read_only;
  // Commit files are written like memtable flushes: same tables, no compression.
  store->options_ = rocksdb::Options(options, cf_options);
  store->options_.compression = rocksdb::kNoCompression;
  store->options_.compression_per_level.clear();  // SstFileWriter would take its last level

  std::string position;
  const auto s =
      db->Get(rocksdb::ReadOptions(), store->handles_[kMeta], kAppliedPositionKey, &position);
  if (s.ok()) {
    auto applied = LogPosition::Parse(position);
    if (!applied.ok()) {
      return store->Damaged("meta", kAppliedPositionKey,
                            fmt::format("the applied log position: {}",
                                        std::string(applied.status().message())));
    }
    store->applied_ = *std::move(applied);
  } else if (!s.IsNotFound()) {
    return FromRocks(s, "cannot read the applied position", store->rebuild_advice_);
  }
  return store;
}

absl::Status StateStore::Damaged(std::string_view family, std::string_view key,
                                 std::string_view rule) const {
  return absl::DataLossError(
      fmt::format("the state is damaged: its {} record '{}' breaks the rule: {}; {}", family,
                  EscapedKey(key), rule,
                  rebuild_advice_));
}

StateStore::~StateStore() {
  if (db_) {
    for (auto* handle : handles_) (void)db_->DestroyColumnFamilyHandle(handle);
    (void)db_->Close();
  }
}

absl::StatusOr<std::optional<std::string>> StateStore::GetIn(rocksdb::ColumnFamilyHandle* family,
                                                          std::string_view key,
                                                          std::string_view what) {
  std::string value;
  const auto s = db_->Get(rocksdb::ReadOptions(), family, ToSlice(key), &value);
  if (s.IsNotFound()) return std::nullopt;
  TORI_RETURN_IF_ERROR(FromRocks(s, fmt::format("cannot read the {}", what), rebuild_advice_));
  return value;
}

absl::StatusOr<std::optional<std::string>> StateStore::Get(std::string_view key) {
  return GetIn(handles_[kIndex], key, "index");
}

absl::StatusOr<std::optional<std::string>> StateStore::GetProjection(std::string_view key) {
  return GetIn(handles_[kProjection], key, "projection");
}

absl::StatusOr<std::vector<std::optional<std::string>>> StateStore::MultiGet(
    const std::vector<std::string>& sorted_keys) {
  return MultiGetIn(handles_[kIndex], sorted_keys);
}

absl::StatusOr<std::vector<std::optional<std::string>>> StateStore::MultiGetProjection(
    const std::vector<std::string>& sorted_keys) {
  return MultiGetIn(handles_[kProjection], sorted_keys);
}

absl::StatusOr<std::vector<std::optional<std::string>>> StateStore::MultiGetIn(
    rocksdb::ColumnFamilyHandle* family, const std::vector<std::string>& sorted_keys) {
  std::vector<std::optional<std::string>> out(sorted_keys.size());
  // A few keys (a one-contact post of tori serve): point reads. An iterator and a
  // chunk of lookup state cost more than such reads (BENCHMARKS.md, tenth session).
  constexpr size_t kPointReadsMax = 8;
  if (sorted_keys.size() <= kPointReadsMax) {
    std::string value;
    for (size_t i = 0; i < sorted_keys.size(); ++i) {
      const auto s = db_->Get(rocksdb::ReadOptions(), family, ToSlice(sorted_keys[i]), &value);
      if (s.IsNotFound()) continue;
      TORI_RETURN_IF_ERROR(FromRocks(s, "cannot read", rebuild_advice_));
      out[i] = value;
    }
    return out;
  }
  size_t next;
  {
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), family));
    TORI_ASSIGN_OR_RETURN(next, WalkBeside(*it, sorted_keys, out, rebuild_advice_));
  }
  // The rest by lookups, in chunks: RocksDB allocates its per-key state for each
  // call, and for a whole batch's keys that is megabytes of fresh pages each time.
  constexpr size_t kChunkKeys = 1024;
  const size_t chunk_keys = std::min(kChunkKeys, sorted_keys.size() - next);
  std::vector<rocksdb::Slice> slices(chunk_keys);
  std::vector<rocksdb::PinnableSlice> values(chunk_keys);
  std::vector<rocksdb::Status> statuses(chunk_keys);
  for (size_t from = next; from < sorted_keys.size(); from += kChunkKeys) {
    const size_t count = std::min(chunk_keys, sorted_keys.size() - from);
    for (size_t i = 0; i < count; ++i) {
      slices[i] = ToSlice(sorted_keys[from + i]);
      values[i].Reset();
    }
    db_->MultiGet(rocksdb::ReadOptions(), family, count, slices.data(), values.data(),
                  statuses.data(), /*sorted_input=*/true);
    for (size_t i = 0; i < count; ++i) {
      if (statuses[i].IsNotFound()) continue;
      TORI_RETURN_IF_ERROR(FromRocks(statuses[i], "cannot read", rebuild_advice_));
      out[from + i] = values[i].ToString();
    }
  }
  return out;
}

absl::Status StateStore::ScanProjection(
    std::string_view prefix, const std::function<bool(std::string_view, std::string_view)>& visit) {
  return ScanIn(handles_[kProjection], prefix, visit);
}

absl::Status StateStore::ScanIndex(
    std::string_view prefix, const std::function<bool(std::string_view, std::string_view)>& visit) {
  return ScanIn(handles_[kIndex], prefix, visit);
}

absl::Status StateStore::ForEachInProjection(std::string_view prefix, const CheckedVisit& visit) {
  return ForEachIn(handles_[kProjection], prefix, visit);
}

absl::Status StateStore::ForEachInIndex(std::string_view prefix, const CheckedVisit& visit) {
  return ForEachIn(handles_[kIndex], prefix, visit);
}

absl::Status StateStore::ForEachIn(rocksdb::ColumnFamilyHandle* family, std::string_view prefix,
                                   const CheckedVisit& visit) {
  absl::Status status;
  TORI_RETURN_IF_ERROR(ScanIn(family, prefix, [&](std::string_view key, std::string_view value) {
    status = visit(key, value);
    return status.ok();
  }));
  return status;
}

absl::Status StateStore::ScanIn(
    rocksdb::ColumnFamilyHandle* family, std::string_view prefix,
    const std::function<bool(std::string_view, std::string_view)>& visit) {
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), family));
  for (it->Seek(ToSlice(prefix)); it->Valid() && it->key().starts_with(ToSlice(prefix)); it->Next()) {
    if (!visit(std::string_view(it->key().data(), it->key().size()),
               std::string_view(it->value().data(), it->value().size()))) {
      break;
    }
  }
  return FromRocks(it->status(), "cannot scan the state", rebuild_advice_);
}

absl::Status StateStore::Commit(const std::vector<KeyValue>& index_writes,
                                const std::vector<KeyValue>& projection_writes,
                                const LogPosition& applied) {
  if (read_only_) return ReadOnlyError(dir_);
  memtables_hold_commits_ = true;
  rocksdb::WriteBatch batch;
  TORI_RETURN_IF_ERROR(AddSorted(batch, handles_[kIndex], index_writes));
  TORI_RETURN_IF_ERROR(AddSorted(batch, handles_[kProjection], projection_writes));
  TORI_RETURN_IF_ERROR(
      FromRocks(batch.Put(handles_[kMeta], kAppliedPositionKey, applied.ToString()), "batch",
                rebuild_advice_));
  rocksdb::WriteOptions write_options;
  write_options.disableWAL = true;  // see the durability policy in the header
  TORI_RETURN_IF_ERROR(
      FromRocks(db_->Write(write_options, &batch), "cannot commit", rebuild_advice_));
  applied_ = applied;
  return absl::OkStatus();
}

// Below this, a commit file is not split (see FileRanges).
constexpr size_t kEntriesPerFileMin = 32768;

// The ranges of `sorted` that CommitBulk writes as files of disjoint key ranges: one
// per key kind (the first byte), so that a file of ids that follow earlier ones
// overlaps nothing and RocksDB places it below the files before it instead of in
// level 0; a kind over kEntriesPerFileMin entries in two halves, written side by side.
std::vector<std::pair<size_t, size_t>> FileRanges(const std::vector<KeyValueView>& sorted) {
  auto kind = [&sorted](size_t i) { return sorted[i].first.empty() ? '\0' : sorted[i].first[0]; };
  std::vector<std::pair<size_t, size_t>> ranges;
  for (size_t from = 0; from < sorted.size();) {
    size_t to = from + 1;
    while (to < sorted.size() && kind(to) == kind(from)) ++to;
    if (to - from > kEntriesPerFileMin) {
      const size_t half = from + (to - from) / 2;
      ranges.emplace_back(from, half);
      ranges.emplace_back(half, to);
    } else {
      ranges.emplace_back(from, to);
    }
    from = to;
  }
  return ranges;
}

absl::Status StateStore::CommitBulk(const std::vector<KeyValueView>& index_writes,
                                    const std::vector<KeyValueView>& projection_writes,
                                    const LogPosition& applied) {
  if (read_only_) return ReadOnlyError(dir_);
  // The memtables skip the WAL: persist them first, so that after a crash no file
  // ingested here stands without the commits before it.
  if (memtables_hold_commits_) {
    TORI_RETURN_IF_ERROR(Flush());
    memtables_hold_commits_ = false;
  }
  const std::string applied_text = applied.ToString();
  const std::vector<KeyValueView> meta_writes = {{kAppliedPositionKey, applied_text}};
  // The index writes come sorted (millions of them: not copied, not checked again;
  // SstFileWriter refuses keys out of order); the projection's are sorted here.
  const std::vector<KeyValueView> projection_sorted = InKeyOrder(projection_writes);
  const std::vector<std::pair<Family, const std::vector<KeyValueView>*>> families = {
      {kMeta, &meta_writes}, {kIndex, &index_writes}, {kProjection, &projection_sorted}};
  std::vector<rocksdb::IngestExternalFileArg> args;
  for (const auto& [family, writes] : families) {
    if (writes->empty()) continue;
    const std::vector<KeyValueView>& sorted = *writes;
    const std::vector<std::pair<size_t, size_t>> ranges = FileRanges(sorted);
    auto write_file = [&](size_t part) -> absl::StatusOr<std::string> {
      const std::string path =
          fmt::format("{}/commit-{}-{}.sst", dir_, static_cast<int>(family), part);
      rocksdb::SstFileWriter writer(rocksdb::EnvOptions(), options_, handles_[family]);
      TORI_RETURN_IF_ERROR(
          FromRocks(writer.Open(path), "cannot write a commit file", rebuild_advice_));
      for (size_t i = ranges[part].first; i < ranges[part].second; ++i) {
        const auto& [key, value] = sorted[i];
        TORI_RETURN_IF_ERROR(
            FromRocks(writer.Put(ToSlice(key), ToSlice(value)), "commit file", rebuild_advice_));
      }
      TORI_RETURN_IF_ERROR(
          FromRocks(writer.Finish(), "cannot finish a commit file", rebuild_advice_));
      return path;
    };
    // Odd parts on a second thread.
    std::vector<std::string> paths(ranges.size());
    auto write_parts = [&](size_t first) -> absl::Status {
      for (size_t part = first; part < ranges.size(); part += 2) {
        TORI_ASSIGN_OR_RETURN(paths[part], write_file(part));
      }
      return absl::OkStatus();
    };
    std::future<absl::Status> second;
    if (ranges.size() > 1) second = std::async(std::launch::async, write_parts, 1);
    const absl::Status even = write_parts(0);
    const absl::Status odd = second.valid() ? second.get() : absl::OkStatus();
    TORI_RETURN_IF_ERROR(even);
    TORI_RETURN_IF_ERROR(odd);
    rocksdb::IngestExternalFileArg& arg = args.emplace_back();
    arg.external_files = std::move(paths);
    arg.column_family = handles_[family];
    arg.options.move_files = true;
    arg.options.write_global_seqno = false;  // the seqno lives in the MANIFEST
  }
  TORI_RETURN_IF_ERROR(FromRocks(db_->IngestExternalFiles(args), "cannot commit", rebuild_advice_));
  applied_ = applied;
  return absl::OkStatus();
}

absl::StatusOr<std::optional<std::string>> StateStore::GetMeta(std::string_view key) {
  TORI_CHECK(key != kAppliedPositionKey);
  return GetIn(handles_[kMeta], key, "meta data");
}

absl::Status StateStore::PutMeta(std::string_view key, std::string_view value) {
  TORI_CHECK(key != kAppliedPositionKey);  // only Commit moves the position
  if (read_only_) return ReadOnlyError(dir_);
  memtables_hold_commits_ = true;
  rocksdb::WriteOptions write_options;
  write_options.disableWAL = true;
  return FromRocks(db_->Put(write_options, handles_[kMeta], ToSlice(key), ToSlice(value)),
                   "cannot write meta", rebuild_advice_);
}

absl::Status StateStore::VerifyChecksums() {
  return FromRocks(db_->VerifyChecksum(), "a checksum of its files fails", rebuild_advice_);
}

absl::StatusOr<std::optional<std::string>> StateStore::FirstDifference(StateStore& other) {
  auto escaped = [](const rocksdb::Slice& key) {
    return EscapedKey(std::string_view(key.data(), key.size()));
  };
  for (const Family family : {kProjection, kIndex}) {
    const std::string_view name = family == kProjection ? "projection" : "index";
    std::unique_ptr<rocksdb::Iterator> mine(
        db_->NewIterator(rocksdb::ReadOptions(), handles_[family]));
    std::unique_ptr<rocksdb::Iterator> theirs(
        other.db_->NewIterator(rocksdb::ReadOptions(), other.handles_[family]));
    // Event_id entries are skipped on both sides (a scratch replay has none).
    auto next_compared = [family](rocksdb::Iterator& it) {
      while (family == kIndex && it.Valid() && it.key().size() > 0 &&
             it.key()[0] == kEventIdIndexKind) {
        it.Seek(std::string(1, kEventIdIndexKind + 1));
      }
    };
    mine->SeekToFirst();
    theirs->SeekToFirst();
    while (true) {
      next_compared(*mine);
      next_compared(*theirs);
      if (!mine->Valid() || !theirs->Valid()) break;
      const int order = mine->key().compare(theirs->key());
      if (order < 0) {
        return fmt::format("{} record '{}' is only in {}", name, escaped(mine->key()), dir_);
      }
      if (order > 0) {
        return fmt::format("{} record '{}' is missing from {}", name, escaped(theirs->key()), dir_);
      }
      if (mine->value() != theirs->value()) {
        return fmt::format("{} record '{}' holds another value in {}", name, escaped(mine->key()),
                           dir_);
      }
      mine->Next();
      theirs->Next();
    }
    TORI_RETURN_IF_ERROR(FromRocks(mine->status(), "cannot read the state", rebuild_advice_));
    TORI_RETURN_IF_ERROR(
        FromRocks(theirs->status(), "cannot read the state", other.rebuild_advice_));
    if (mine->Valid()) {
      return fmt::format("{} record '{}' is only in {}", name, escaped(mine->key()), dir_);
    }
    if (theirs->Valid()) {
      return fmt::format("{} record '{}' is missing from {}", name, escaped(theirs->key()), dir_);
    }
  }
  return std::nullopt;
}

uint64_t StateStore::IndexFilesAtLevelZero() const {
  std::string files;
  TORI_CHECK(db_->GetProperty(handles_[kIndex], "rocksdb.num-files-at-level0", &files));
  return std::stoull(files);
}

absl::Status StateStore::Flush() {
  if (read_only_) return absl::OkStatus();  // nothing was written
  rocksdb::FlushOptions options;
  options.wait = true;
  return FromRocks(db_->Flush(options, handles_), "cannot flush", rebuild_advice_);
}

}  // namespace tori
