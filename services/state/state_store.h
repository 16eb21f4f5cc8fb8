// StateStore: tori's derived state in RocksDB under --data DIR/state.
//
// Everything here can be rebuilt from the event log; the log stays the source of
// truth. Column families:
//   "default"     meta entries: the applied log position;
//   "index"       the validator's entries (event ids, entity ids, contact states;
//                 see events/validate);
//   "projection"  the projector's records and aggregates (see services/projector).
// The applied position is written in the same atomic WriteBatch (or, for CommitBulk,
// the same atomic ingestion of SST files, written as DIR/commit-F-P.sst first) as the
// entries it covers, so the state is always "the log up to position P".
//
// Durability policy: writes skip RocksDB's WAL and the column families flush
// atomically, so after a crash the state is an older consistent snapshot and the
// caller replays the log from its position (CatchUp in services/ingest). Flush()
// at the end of each command keeps that replay short.
//
// Damage: every record read from the state is checked by its reader (key parts,
// value size, decoding: see IndexEntryProblem and services/projector); one that
// fails, and RocksDB's own corruption or missing files (a missing .sst, MANIFEST or
// CURRENT), are DataLoss naming the family and the key (escaped) and saying how to
// make the state anew: `tori rebuild --data DIR` (the state is derived from the log).
//
// Thread safety: RocksDB is thread-safe, but tori uses a StateStore from one thread,
// except that one CommitBulk may run on another thread while this one reads, and
// Flush may run on any thread at any time (tori serve flushes beside its posts: the
// flush persists the state as of one commit, every family at once).
#ifndef TORI_SERVICES_STATE_STATE_STORE_H_
#define TORI_SERVICES_STATE_STATE_STORE_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "events/log/event_log.h"
#include "events/validate/index_keys.h"
#include "events/validate/index_overlay.h"

#include "rocksdb/options.h"

namespace rocksdb {
class DB;
class ColumnFamilyHandle;
}  // namespace rocksdb

namespace tori {

using KeyValue = std::pair<std::string, std::string>;
using KeyValueView = std::pair<std::string_view, std::string_view>;

class StateStore : public IndexLookup {
 public:
  // Opens or creates the state in `dir` (parents created).
  static absl::StatusOr<std::unique_ptr<StateStore>> Open(const std::string& dir);
  // Opens an existing state to read it only: writes nothing to `dir` (no lock file, no
  // info log); commits fail. For the commands that only read (verify, explain,
  // bill --dry-run) on a state that is caught up with the log.
  static absl::StatusOr<std::unique_ptr<StateStore>> OpenReadOnly(const std::string& dir);
  ~StateStore() override;

  // DataLoss for a record of `family` ("index", "projection" or "meta") under `key`
  // that breaks `rule`, saying how to make the state anew (see Damage above).
  absl::Status Damaged(std::string_view family, std::string_view key, std::string_view rule) const;
  absl::Status Damaged(std::string_view key, std::string_view rule) override {  // IndexLookup
    return Damaged("index", key, rule);
  }
  // What to do about a damaged state: "run `tori rebuild --data DIR` ...".
  const std::string& rebuild_advice() const { return rebuild_advice_; }

  // The index (IndexLookup). MultiGet walks an iterator beside keys that follow the
  // stored ones and looks up the rest.
  absl::StatusOr<std::optional<std::string>> Get(std::string_view key) override;
  absl::StatusOr<std::vector<std::optional<std::string>>> MultiGet(
      const std::vector<std::string>& sorted_keys) override;

  // The projection: point reads, batched reads and prefix scans in key order.
  absl::StatusOr<std::optional<std::string>> GetProjection(std::string_view key);
  absl::StatusOr<std::vector<std::optional<std::string>>> MultiGetProjection(
      const std::vector<std::string>& sorted_keys);
  // Calls `visit(key, value)` for every projection entry whose key starts with
  // `prefix`, in key order; stops early when `visit` returns false.
  absl::Status ScanProjection(std::string_view prefix,
                              const std::function<bool(std::string_view, std::string_view)>& visit);
  // The same over the index (e.g. every contact's state, for reconcile and explain).
  absl::Status ScanIndex(std::string_view prefix,
                         const std::function<bool(std::string_view, std::string_view)>& visit);
  // Scans whose visitor checks each record it reads: the first error it returns (e.g.
  // Damaged) ends the scan and is returned.
  using CheckedVisit = std::function<absl::Status(std::string_view key, std::string_view value)>;
  absl::Status ForEachInProjection(std::string_view prefix, const CheckedVisit& visit);
  absl::Status ForEachInIndex(std::string_view prefix, const CheckedVisit& visit);

  // The log position up to which events are applied; empty offsets when new.
  const LogPosition& applied() const { return applied_; }

  // Atomically writes the entries (distinct keys within each list) and the new
  // applied position.
  absl::Status Commit(const std::vector<KeyValue>& index_writes,
                      const std::vector<KeyValue>& projection_writes, const LogPosition& applied);

  // The same for large commits (100 k+ entries: ingest and replays), from views: the
  // entries become sorted SST files that RocksDB ingests atomically, all families at
  // once, instead of memtable inserts (faster: BENCHMARKS.md). A family becomes one file per key kind (first byte), so that ids
  // which follow the stored ones make files that overlap none and skip level 0.
  // `index_writes` must be sorted by key, distinct. May run on another thread than
  // the reads.
  absl::Status CommitBulk(const std::vector<KeyValueView>& index_writes,
                          const std::vector<KeyValueView>& projection_writes,
                          const LogPosition& applied);

  // Meta entries other than the applied position (e.g. the hash chain's progress),
  // for state that is kept beside the projection.
  absl::StatusOr<std::optional<std::string>> GetMeta(std::string_view key);
  absl::Status PutMeta(std::string_view key, std::string_view value);

  // Reads every file of the state and checks RocksDB's block checksums
  // (DB::VerifyChecksum): DataLoss with the rebuild advice when one fails.
  absl::Status VerifyChecksums();
  // The first record, in key order, at which this state and `other` differ: the
  // projection family, then the index family without its event_id entries (which
  // scratch states skip), compared key by key and value by value. Describes the key
  // (escaped) and how it differs; nullopt when they hold the same records.
  absl::StatusOr<std::optional<std::string>> FirstDifference(StateStore& other);

  // Persists everything committed so far (memtables to SST files).
  absl::Status Flush();

  // How many files the index holds in level 0, where every file must be searched:
  // a diagnostic (CommitBulk keeps files of ids that follow the stored ones out of it).
  uint64_t IndexFilesAtLevelZero() const;

 private:
  StateStore() = default;
  static absl::StatusOr<std::unique_ptr<StateStore>> OpenIn(const std::string& dir, bool read_only);
  absl::Status ForEachIn(rocksdb::ColumnFamilyHandle* family, std::string_view prefix,
                         const CheckedVisit& visit);
  absl::Status ScanIn(rocksdb::ColumnFamilyHandle* family, std::string_view prefix,
                      const std::function<bool(std::string_view, std::string_view)>& visit);
  absl::StatusOr<std::optional<std::string>> GetIn(rocksdb::ColumnFamilyHandle* family,
                                                  std::string_view key, std::string_view what);
  absl::StatusOr<std::vector<std::optional<std::string>>> MultiGetIn(
      rocksdb::ColumnFamilyHandle* family, const std::vector<std::string>& sorted_keys);

  std::unique_ptr<rocksdb::DB> db_;
  std::string dir_;
  bool read_only_ = false;  // OpenReadOnly: every write fails
  std::string rebuild_advice_;
  rocksdb::Options options_;
  bool memtables_hold_commits_ = false;  // written without the WAL, not yet flushed
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;  // default, index, projection
  LogPosition applied_;
};

}  // namespace tori

#endif  // TORI_SERVICES_STATE_STATE_STORE_H_
