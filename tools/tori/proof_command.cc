// SPEC section 10: proofs that need no trust in the host. `tori keygen`, `checkpoint`,
// `proof`, `verify-proof`, `cosign`. The tree lives in events/merkle (log_tree.h); the
// rules chosen where SPEC is silent (files, proof format, which checkpoint a proof
// uses) are in ARCHITECTURE.md, "Proofs".
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "CLI/CLI.hpp"
#include "absl/strings/match.h"
#include "events/base/check.h"
#include "events/base/files.h"
#include "events/merkle/inclusion.h"
#include "events/merkle/log_tree.h"
#include "events/merkle/note.h"
#include "events/merkle/proof_file.h"
#include "fmt/format.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/wire_format_lite.h"
#include "services/audit/audit.h"
#include "services/billing/billing.h"
#include "services/ingest/ingest.h"
#include "tools/tori/commands.h"

namespace tori {
namespace {

namespace fs = std::filesystem;
using merkle::Hash;

constexpr size_t kSmallFileBytesMax = 64 << 10;  // keys, checkpoints

absl::StatusOr<std::string> ReadFile(const std::string& path, size_t bytes_max) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(fmt::format("cannot read {}: {}", path, std::strerror(errno)));
  std::string text(bytes_max + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<size_t>(in.gcount()));
  if (text.size() > bytes_max) return absl::InvalidArgumentError(fmt::format("{} is over {} bytes", path, bytes_max));
  return text;
}

std::string HashBase64(const Hash& h) {
  return note::Base64(std::string_view(reinterpret_cast<const char*>(h.data()), h.size()));
}

absl::StatusOr<note::Signer> ReadSigner(const std::string& path) {
  TORI_ASSIGN_OR_RETURN(std::string text, ReadFile(path, kSmallFileBytesMax));
  auto signer = note::Signer::Parse(text);
  if (!signer.ok()) return absl::InvalidArgumentError(fmt::format("{}: {}", path, std::string(signer.status().message())));
  return signer;
}

absl::StatusOr<note::Verifier> ReadVerifier(const std::string& path) {
  TORI_ASSIGN_OR_RETURN(std::string text, ReadFile(path, kSmallFileBytesMax));
  auto verifier = note::Verifier::Parse(text);
  if (!verifier.ok()) return absl::InvalidArgumentError(fmt::format("{}: {}", path, std::string(verifier.status().message())));
  return verifier;
}

using merkle::CheckpointDir;
using merkle::CheckpointPath;
using merkle::ListCheckpoints;

// Whether an encoded event may be a checkpoint_signed: walks the envelope's top-level
// fields without decoding them (a log of contacts is skipped at the speed of reading it).
bool MayBeCheckpoint(std::string_view payload) {
  google::protobuf::io::CodedInputStream input(reinterpret_cast<const uint8_t*>(payload.data()),
                                               static_cast<int>(payload.size()));
  while (const uint32_t tag = input.ReadTag()) {
    if (google::protobuf::internal::WireFormatLite::GetTagFieldNumber(tag) ==
        events::Event::kCheckpointSignedFieldNumber) {
      return true;
    }
    if (!google::protobuf::internal::WireFormatLite::SkipField(&input, tag)) return true;
  }
  return !input.ConsumedEntireMessage();
}

// DIR/checkpoints is a cache of the log's checkpoint_signed events: when the directory
// is missing, its files are written again from them (without cosignatures, which only
// the files held). Each event's note must say what its fields say. Returns how many.
absl::StatusOr<int64_t> RestoreCheckpointsFromLog(EventLog& log, const std::string& data_dir) {
  LogPosition start;
  start.next_offsets.assign(log.partition_count(), 0);
  TORI_ASSIGN_OR_RETURN(auto cursor, log.Read(start));
  LogRecord record;
  events::Event event;
  int64_t restored = 0;
  while (true) {
    TORI_ASSIGN_OR_RETURN(bool more, cursor->Next(record));
    if (!more) break;
    if (!MayBeCheckpoint(record.payload)) continue;
    const std::string where = fmt::format("the log's record at partition {} offset {}", record.partition, record.offset);
    if (!event.ParseFromArray(record.payload.data(), static_cast<int>(record.payload.size()))) {
      return absl::DataLossError(fmt::format("{} is not a tori event", where));
    }
    if (!event.has_checkpoint_signed()) continue;
    const auto& e = event.checkpoint_signed();
    TORI_ASSIGN_OR_RETURN(merkle::SignedCheckpoint parsed, merkle::ParseSignedCheckpoint(e.signed_note(), where));
    const auto partition = merkle::PartitionOfOrigin(parsed.checkpoint.origin);
    if (parsed.checkpoint.origin != e.origin() || parsed.checkpoint.tree_size != e.tree_size() ||
        std::string_view(reinterpret_cast<const char*>(parsed.checkpoint.root.data()), parsed.checkpoint.root.size()) !=
            e.root_hash() ||
        !partition || *partition >= log.partition_count()) {
      return absl::DataLossError(fmt::format(
          "{}: the checkpoint_signed event's origin, tree_size or root_hash is not its note's, or names no partition "
          "of this log",
          where));
    }
    const std::string path = CheckpointPath(data_dir, *partition, e.tree_size());
    std::error_code ec;
    if (fs::exists(path, ec)) continue;
    fs::create_directories(CheckpointDir(data_dir, *partition), ec);
    TORI_RETURN_IF_ERROR(WriteFileDurably(path, e.signed_note()));
    ++restored;
  }
  return restored;
}

// For `tori proof` and `tori checkpoint`: rebuilds DIR/checkpoints from the log when it is missing.
absl::Status EnsureCheckpointCache(EventLog& log, const std::string& data_dir) {
  std::error_code ec;
  if (fs::exists(data_dir + "/checkpoints", ec)) return absl::OkStatus();
  TORI_ASSIGN_OR_RETURN(const int64_t restored, RestoreCheckpointsFromLog(log, data_dir));
  fmt::print("{}/checkpoints was missing: {} checkpoints restored from the log's checkpoint_signed events\n", data_dir,
             restored);
  return absl::OkStatus();
}

}  // namespace

// ---------------------------------------------------------------- keygen

int RunKeygen(const std::string& out, const std::string& name_flag) {
  const std::string name = name_flag.empty() ? fs::path(out).filename().string() : name_flag;
  auto signer = note::Signer::Generate(name);
  if (!signer.ok()) {
    return Fail(signer.status(), "give the key a name with --name (e.g. --name espoo.fi/tori)");
  }
  const std::string key_path = out + ".key", pub_path = out + ".pub";
  for (const auto& path : {key_path, pub_path}) {
    std::error_code ec;
    if (fs::exists(path, ec)) {
      return Fail(absl::AlreadyExistsError(fmt::format("{} exists", path)),
                  "tori never overwrites a key: choose another --out, or remove the old key yourself");
    }
  }
  // The private key is created 0600 and never exists with wider permissions.
  const int fd = ::open(key_path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return Fail(absl::InternalError(fmt::format("cannot create {}: {}", key_path, std::strerror(errno))));
  const std::string key_text = signer->Text() + "\n";
  const bool written = ::write(fd, key_text.data(), key_text.size()) == static_cast<ssize_t>(key_text.size()) &&
                       ::fsync(fd) == 0;
  ::close(fd);
  if (!written) return Fail(absl::InternalError(fmt::format("cannot write {}: {}", key_path, std::strerror(errno))));
  if (auto s = WriteFileDurably(pub_path, signer->verifier().Text() + "\n"); !s.ok()) return Fail(s);
  fmt::print("key '{}' (id {:08x})\n  private: {} (keep it secret; mode 0600)\n  public:  {} (give it to anyone who "
             "checks proofs)\n{}\n",
             signer->name, signer->key_id, key_path, pub_path, signer->verifier().Text());
  return 0;
}

// ---------------------------------------------------------------- checkpoint

absl::StatusOr<note::Signer> ReadCheckpointKey(const std::string& key_file, const std::string& origin_flag,
                                               std::string& origin) {
  TORI_ASSIGN_OR_RETURN(note::Signer signer, ReadSigner(key_file));
  origin = origin_flag.empty() ? signer.name : origin_flag;
  if (origin.empty() || origin.find_first_of(" \t\n+") != std::string::npos) {
    return absl::InvalidArgumentError(
        fmt::format("--origin '{}' must hold no spaces, newlines or '+'", origin));
  }
  return signer;
}

absl::StatusOr<server::CheckpointOutcome> SignCheckpoints(EventLog& log, StateStore& state,
                                                         const std::string& data_dir,
                                                         const note::Signer& signer,
                                                         const std::string& origin) {
  server::CheckpointOutcome outcome;
  const auto started = std::chrono::steady_clock::now();
  TORI_ASSIGN_OR_RETURN(auto trees, merkle::LogTrees::Open(data_dir + "/merkle", log.partition_count(), false));
  TORI_ASSIGN_OR_RETURN(outcome.leaves_added, trees->CatchUp(log));
  outcome.catch_up_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  // A size signed before is then found in its file and not appended again (its event
  // would have the same event_id and another occurred_at, which the log refuses).
  TORI_RETURN_IF_ERROR(EnsureCheckpointCache(log, data_dir));
  std::vector<events::Event> signed_events;
  const int64_t now_ns = absl::ToUnixNanos(absl::Now());
  for (int32_t p = 0; p < trees->partition_count(); ++p) {
    merkle::LogTree& tree = trees->partition(p);
    const note::Checkpoint checkpoint{fmt::format("{}/p{}", origin, p), tree.size(), tree.tree().Root(), {}};
    server::SignedCheckpoint& out = outcome.checkpoints.emplace_back();
    out.partition = p;
    out.origin = checkpoint.origin;
    out.tree_size = tree.size();
    out.root_base64 = HashBase64(checkpoint.root);
    out.path = CheckpointPath(data_dir, p, tree.size());
    // A checkpoint of this size that this key signed stays, with its cosignatures.
    if (auto existing = ReadFile(out.path, kSmallFileBytesMax); existing.ok()) {
      auto signed_checkpoint = merkle::ParseSignedCheckpoint(*existing, out.path);
      if (signed_checkpoint.ok() && signed_checkpoint->note.text == checkpoint.Text() &&
          note::Verify(signed_checkpoint->note, {signer.verifier()}).ok()) {
        out.unchanged = true;
        out.signed_note = *std::move(existing);
        continue;
      }
    }
    std::error_code ec;
    fs::create_directories(CheckpointDir(data_dir, p), ec);
    out.signed_note = note::Sign(note::Note{checkpoint.Text(), {}}, signer).Format();
    TORI_RETURN_IF_ERROR(WriteFileDurably(out.path, out.signed_note));
    events::Event& event = signed_events.emplace_back();
    event.set_event_id(fmt::format("tori-checkpoint-{}-{}", checkpoint.origin, tree.size()));
    event.set_occurred_at_unix_ns(now_ns);
    event.set_schema_version(kSchemaVersionCheckpointSigned);
    auto* e = event.mutable_checkpoint_signed();
    e->set_origin(checkpoint.origin);
    e->set_tree_size(tree.size());
    e->set_root_hash(std::string(reinterpret_cast<const char*>(checkpoint.root.data()), checkpoint.root.size()));
    e->set_signed_note(out.signed_note);
  }
  // The files first, then the log: a crash in between leaves a file the next
  // checkpoint keeps (same size, same text) and an event that is simply not there.
  if (!signed_events.empty()) {
    TORI_ASSIGN_OR_RETURN(const size_t appended, AppendEvents(log, state, signed_events));
    outcome.events_appended = static_cast<int64_t>(appended);
  }
  return outcome;
}

int RunCheckpoint(const LogOptions& options, const std::string& key_file, const std::string& origin_flag) {
  std::string origin;
  auto signer = ReadCheckpointKey(key_file, origin_flag, origin);
  if (absl::IsInvalidArgument(signer.status()) && absl::StartsWith(signer.status().message(), "--origin")) {
    fmt::print(stderr, "tori checkpoint: {}\n", std::string(signer.status().message()));
    return kExitUsage;
  }
  if (!signer.ok()) return Fail(signer.status());
  // It appends its checkpoint_signed events, so it opens DIR as bill does (beside a
  // running serve: POST /v1/checkpoint signs with serve's --checkpoint-key).
  LogOptions writer = options;
  writer.kafka_writer = true;
  auto data = OpenDataDir(writer, DataAccess::kWrite);
  if (!data.ok()) return Fail(data.status());
  auto outcome = SignCheckpoints(*data->log, *data->state, options.data_dir, *signer, origin);
  if (!outcome.ok()) return Fail(outcome.status());
  fmt::print("tree brought up to the log's end: {} new records hashed in {:.2f} s\n", outcome->leaves_added,
             outcome->catch_up_s);
  for (const server::SignedCheckpoint& c : outcome->checkpoints) {
    if (c.unchanged) {
      fmt::print("p{}: tree size {} unchanged since checkpoint {}\n", c.partition, c.tree_size, c.path);
    } else {
      fmt::print("p{}: checkpoint of tree size {}, root {}, signed by '{}' -> {}\n", c.partition, c.tree_size,
                 c.root_base64, signer->name, c.path);
    }
  }
  if (outcome->events_appended > 0) {
    fmt::print("{} checkpoint_signed events appended to the log (DIR/checkpoints can be rebuilt from them)\n",
               outcome->events_appended);
  }
  return 0;
}

// ---------------------------------------------------------------- proof

int RunProofOfInvoice(const LogOptions& options, const std::string& invoice, const std::string& out) {
  auto data = OpenDataDir(options, DataAccess::kRead);
  if (!data.ok()) return Fail(data.status());
  auto id = FindIssuedDocument(*data->state, invoice);
  if (!id.ok()) return Fail(id.status());
  if (auto s = EnsureCheckpointCache(*data->log, options.data_dir); !s.ok()) return Fail(s);
  auto built = merkle::BuildInclusionProof(*data->log, options.data_dir, id->id, IssuedDocumentJson);
  if (absl::IsNotFound(built.status())) {
    return Fail(built.status(), fmt::format("run `tori checkpoint --data {} --key HOST.key` first", options.data_dir));
  }
  if (!built.ok()) return Fail(built.status());
  const merkle::InclusionProofFile& proof = built->proof;
  const std::string json = proof.ToJson();
  if (auto s = WriteFileDurably(out, json); !s.ok()) return Fail(s);
  fmt::print("proof of {} {}: record {} (offset {}) of partition {} in the tree of {} records of checkpoint {} -> {} "
             "({} bytes)\n",
             proof.document_kind, proof.document_id, proof.leaf_index, built->offset, proof.partition,
             built->tree_size,
             built->checkpoint_path, out, json.size());
  return 0;
}

int RunProofOfConsistency(const LogOptions& options, const std::string& old_file, const std::string& out) {
  auto old_text = ReadFile(old_file, merkle::kProofBytesMax);
  if (!old_text.ok()) return Fail(old_text.status());
  // An agency may give the proof of an invoice it received: its checkpoint is the old one.
  if (old_text->starts_with("{")) {
    auto proof = merkle::ParseProofFile(*old_text);
    if (!proof.ok()) return Fail(proof.status());
    const auto* inclusion = std::get_if<merkle::InclusionProofFile>(&*proof);
    if (inclusion == nullptr) {
      return Fail(absl::InvalidArgumentError(fmt::format("{} is a consistency proof, not a checkpoint", old_file)));
    }
    *old_text = inclusion->checkpoint;
  }
  auto old_checkpoint = merkle::ParseSignedCheckpoint(*old_text, old_file);
  if (!old_checkpoint.ok()) return Fail(old_checkpoint.status());
  const auto partition = merkle::PartitionOfOrigin(old_checkpoint->checkpoint.origin);
  if (!partition) {
    return Fail(absl::InvalidArgumentError(
        fmt::format("{}: origin '{}' does not end in /pN (a partition): no checkpoint of tori's",
                    old_file, old_checkpoint->checkpoint.origin)));
  }
  auto data = OpenDataDir(options, DataAccess::kReadLog);
  if (!data.ok()) return Fail(data.status());
  if (*partition >= data->log->partition_count()) {
    return Fail(absl::InvalidArgumentError(fmt::format("{} is of partition {}, the log has {}", old_file, *partition,
                                                       data->log->partition_count())));
  }
  if (auto s = EnsureCheckpointCache(*data->log, options.data_dir); !s.ok()) return Fail(s);
  auto trees = merkle::LogTrees::Open(options.data_dir + "/merkle", data->log->partition_count(), true);
  if (!trees.ok()) return Fail(trees.status());
  merkle::LogTree& tree = (*trees)->partition(*partition);
  auto checkpoints = ListCheckpoints(options.data_dir, *partition);
  if (!checkpoints.ok()) return Fail(checkpoints.status());
  if (checkpoints->empty() || checkpoints->back().first < old_checkpoint->checkpoint.tree_size) {
    return Fail(absl::NotFoundError(fmt::format("no checkpoint of partition {} as large as {}'s tree ({} records)",
                                                *partition, old_file, old_checkpoint->checkpoint.tree_size)),
                fmt::format("run `tori checkpoint --data {} --key HOST.key` first", options.data_dir));
  }
  const auto& [new_size, new_path] = checkpoints->back();
  auto new_text = ReadFile(new_path, kSmallFileBytesMax);
  if (!new_text.ok()) return Fail(new_text.status());
  auto new_checkpoint = merkle::ParseSignedCheckpoint(*new_text, new_path);
  if (!new_checkpoint.ok()) return Fail(new_checkpoint.status());
  if (new_checkpoint->checkpoint.origin != old_checkpoint->checkpoint.origin) {
    return Fail(absl::InvalidArgumentError(fmt::format("{} is of log '{}', this log's latest checkpoint of '{}'",
                                                       old_file, old_checkpoint->checkpoint.origin,
                                                       new_checkpoint->checkpoint.origin)));
  }
  auto old_root = tree.tree().RootAt(old_checkpoint->checkpoint.tree_size);
  auto new_root = tree.tree().RootAt(new_size);
  if (!old_root.ok()) return Fail(old_root.status());
  if (!new_root.ok()) return Fail(new_root.status());
  if (*new_root != new_checkpoint->checkpoint.root) {
    return Fail(absl::DataLossError(fmt::format(
        "the Merkle tree's root at size {} differs from the signed checkpoint {}: the tree or the log's history was "
        "changed after it was signed",
        new_size, new_path)));
  }
  if (*old_root != old_checkpoint->checkpoint.root) {
    return Fail(absl::DataLossError(fmt::format(
        "the log is not an extension of {}: its first {} records hash to another root than that checkpoint's, so "
        "the history it signed was rewritten (or the checkpoint is of another log)",
        old_file, old_checkpoint->checkpoint.tree_size)));
  }
  auto path = tree.tree().ConsistencyProof(old_checkpoint->checkpoint.tree_size, new_size);
  if (!path.ok()) return Fail(path.status());
  const std::string json = merkle::ConsistencyProofFile{*old_text, *new_text, *path}.ToJson();
  if (auto s = WriteFileDurably(out, json); !s.ok()) return Fail(s);
  fmt::print("proof that the tree of {} records ({}) is a prefix of the tree of {} ({}) -> {} ({} bytes)\n",
             old_checkpoint->checkpoint.tree_size, old_file, new_size, new_path, out, json.size());
  return 0;
}

// ---------------------------------------------------------------- verify-proof

int RunVerifyProof(const std::string& file, const std::vector<std::string>& key_files) {
  std::vector<note::Verifier> keys;
  for (const auto& k : key_files) {
    auto key = ReadVerifier(k);
    if (!key.ok()) return Fail(key.status());
    keys.push_back(*key);
  }
  auto text = ReadFile(file, merkle::kProofBytesMax);
  if (!text.ok()) return Fail(text.status());
  auto proof = merkle::ParseProofFile(*text);
  absl::StatusOr<std::string> checked = proof.ok() ? merkle::VerifyProofFile(*proof, keys) : proof.status();
  if (!checked.ok()) {
    fmt::print(stderr, "tori verify-proof: {} does NOT hold: {}\n", file, std::string(checked.status().message()));
    return kExitFailed;
  }
  fmt::print("{}\n", *checked);
  return 0;
}

// ---------------------------------------------------------------- cosign

int RunCosign(const std::string& checkpoint_file, const std::string& key_file, const std::string& state_dir,
              const std::string& log_key_file, const std::string& proof_file, const std::string& out_flag) {
  auto witness = ReadSigner(key_file);
  if (!witness.ok()) return Fail(witness.status());
  auto text = ReadFile(checkpoint_file, kSmallFileBytesMax);
  if (!text.ok()) return Fail(text.status());
  auto incoming = merkle::ParseSignedCheckpoint(*text, checkpoint_file);
  if (!incoming.ok()) return Fail(incoming.status());
  const note::Checkpoint& now = incoming->checkpoint;
  std::error_code ec;
  fs::create_directories(state_dir, ec);
  if (ec) return Fail(absl::InternalError(fmt::format("cannot create {}: {}", state_dir, ec.message())));
  const std::string base = (fs::path(state_dir) / OutputFileName("", now.origin, "")).string();
  const std::string key_path = base + ".log-key", last_path = base + ".checkpoint";
  // The log's key: given once, kept; a different one later is refused.
  std::optional<note::Verifier> log_key;
  if (fs::exists(key_path, ec)) {
    auto stored = ReadVerifier(key_path);
    if (!stored.ok()) return Fail(stored.status());
    log_key = *stored;
  }
  if (!log_key_file.empty()) {
    auto given = ReadVerifier(log_key_file);
    if (!given.ok()) return Fail(given.status());
    if (log_key && log_key->Text() != given->Text()) {
      return Fail(absl::FailedPreconditionError(fmt::format(
          "--log-key {} is not the key this witness keeps for log '{}' ({}): a witness follows one key per log",
          log_key_file, now.origin, key_path)));
    }
    log_key = *given;
  }
  if (!log_key) {
    return Fail(absl::FailedPreconditionError(fmt::format("this witness has no key for log '{}' yet", now.origin)),
                "give the log's public key once with --log-key HOST.pub");
  }
  if (auto s = note::Verify(incoming->note, {*log_key}); !s.ok()) return Fail(s);
  std::string consistent_with = "the first checkpoint this witness cosigns for this log";
  if (fs::exists(last_path, ec)) {
    auto last_text = ReadFile(last_path, kSmallFileBytesMax);
    if (!last_text.ok()) return Fail(last_text.status());
    auto last = merkle::ParseSignedCheckpoint(*last_text, last_path);
    if (!last.ok()) return Fail(last.status());
    const note::Checkpoint& before = last->checkpoint;
    if (now.tree_size < before.tree_size) {
      return Fail(absl::FailedPreconditionError(fmt::format(
          "{} has {} records, the last checkpoint this witness cosigned has {}: a log never shrinks; not cosigned",
          checkpoint_file, now.tree_size, before.tree_size)));
    }
    if (now.tree_size == before.tree_size) {
      if (now.root != before.root) {
        return Fail(absl::FailedPreconditionError(fmt::format(
            "{} and the last checkpoint this witness cosigned ({}) have the same size {} and different roots: the "
            "log's history was rewritten; not cosigned",
            checkpoint_file, last_path, now.tree_size)));
      }
    } else {
      if (proof_file.empty()) {
        return Fail(absl::FailedPreconditionError(fmt::format(
                        "a consistency proof from the last cosigned checkpoint (size {}) to {} is needed",
                        before.tree_size, checkpoint_file)),
                    fmt::format("have the host run `tori proof --consistency {} --out PROOF.json` and give --proof "
                                "PROOF.json",
                                last_path));
      }
      auto proof_text = ReadFile(proof_file, merkle::kProofBytesMax);
      if (!proof_text.ok()) return Fail(proof_text.status());
      auto parsed_proof = merkle::ParseProofFile(*proof_text);
      if (!parsed_proof.ok()) return Fail(parsed_proof.status());
      const auto* proof = std::get_if<merkle::ConsistencyProofFile>(&*parsed_proof);
      if (proof == nullptr) {
        return Fail(absl::InvalidArgumentError(fmt::format("{} is no consistency proof", proof_file)));
      }
      auto proof_old = merkle::ParseSignedCheckpoint(proof->old_checkpoint, "the proof's old checkpoint");
      auto proof_new = merkle::ParseSignedCheckpoint(proof->new_checkpoint, "the proof's new checkpoint");
      if (!proof_old.ok()) return Fail(proof_old.status());
      if (!proof_new.ok()) return Fail(proof_new.status());
      if (proof_old->note.text != last->note.text || proof_new->note.text != incoming->note.text) {
        return Fail(absl::InvalidArgumentError(fmt::format(
            "{} proves another pair of checkpoints than the last cosigned ({}) and {}", proof_file, last_path,
            checkpoint_file)));
      }
      if (auto s = merkle::VerifyConsistency(before.tree_size, now.tree_size, before.root, now.root, proof->path);
          !s.ok()) {
        return Fail(absl::FailedPreconditionError(fmt::format("{}; not cosigned", std::string(s.message()))));
      }
    }
    consistent_with = fmt::format("consistent with the last it cosigned, of {} records", before.tree_size);
  }
  const std::string cosigned = note::Sign(incoming->note, *witness).Format();
  const std::string out = out_flag.empty() ? checkpoint_file : out_flag;
  if (auto s = WriteFileDurably(out, cosigned); !s.ok()) return Fail(s);
  if (!fs::exists(key_path, ec)) {
    if (auto s = WriteFileDurably(key_path, log_key->Text() + "\n"); !s.ok()) return Fail(s);
  }
  if (auto s = WriteFileDurably(last_path, cosigned); !s.ok()) return Fail(s);
  fmt::print("cosigned '{}' at {} records as '{}' ({}) -> {}\n", now.origin, now.tree_size, witness->name,
             consistent_with, out);
  return 0;
}

// ---------------------------------------------------------------- the command line

ProofCommands AddProofCommands(CLI::App& app, LogOptions& data,
                               const std::function<void(CLI::App&, LogOptions&)>& add_data_option) {
  auto state = std::make_shared<ProofCommandState>();
  ProofCommands commands;
  commands.state = state;
  commands.keygen = app.add_subcommand(
      "keygen",
      "Make an Ed25519 key pair for signing checkpoints (the host) or cosigning them (a witness): NAME.key, the "
      "private key (mode 0600; never overwritten), and NAME.pub, the public key to hand out, in the C2SP "
      "signed-note key formats (NAME+KEYID+BASE64).");
  commands.keygen->add_option("--out", state->out, "NAME: writes NAME.key and NAME.pub")->required();
  commands.keygen->add_option("--name", state->name,
                              "the key's name in signatures (default: NAME without its directory), e.g. "
                              "espoo.fi/tori");
  commands.checkpoint = app.add_subcommand(
      "checkpoint",
      "Bring the Merkle tree of the log (RFC 9162 hashing, one tree per partition, DIR/merkle) up to the log's end, "
      "hashing only the new records, and sign each partition's tree head as a C2SP checkpoint (origin ORIGIN/pN, "
      "tree size, root) into DIR/checkpoints/pN/<tree size, 20 digits>, the file a witness cosigns (tori cosign) "
      "and proofs carry. A size signed before keeps its file (and its cosignatures). Appends each new checkpoint to "
      "the log as a checkpoint_signed event, from which `tori proof` rebuilds DIR/checkpoints when it is missing. "
      "It writes to the log, so it is refused beside a running `tori serve`: there, start serve with "
      "--checkpoint-key and POST /v1/checkpoint (host).");
  add_data_option(*commands.checkpoint, data);
  commands.checkpoint->add_option("--key", state->key, "the host's private key (tori keygen)")->required();
  commands.checkpoint->add_option("--origin", state->origin,
                                  "the log's name in checkpoints (default: the key's name); /pN is added");
  commands.proof = app.add_subcommand(
      "proof",
      "Write a proof that anyone can check with `tori verify-proof` and the host's public key, without the data "
      "directory. --invoice: the document as issued, the record of its issuing event and the inclusion path from "
      "that record to the root of the latest checkpoint that covers it (make one with `tori checkpoint`). "
      "--consistency: the path that shows the tree of an older checkpoint is a prefix of the latest one's. Fails "
      "(exit 1) when the log no longer holds what the tree or a checkpoint signed.");
  add_data_option(*commands.proof, data);
  auto* invoice = commands.proof->add_option(
      "--invoice", state->invoice,
      "the invoice number or reference printed on the invoice, an invoice id or a subsidy claim id");
  auto* consistency = commands.proof->add_option("--consistency", state->old_checkpoint,
                                                 "OLD_CHECKPOINT: a checkpoint file of this log, e.g. one a witness "
                                                 "or an agency kept, or a proof of an invoice (its checkpoint)");
  invoice->excludes(consistency);
  commands.proof->add_option("--out", state->out, "the proof's JSON file")->required();
  commands.verify_proof = app.add_subcommand(
      "verify-proof",
      "Check a proof made by `tori proof`, with nothing but the proof and public keys (no data directory): the "
      "checkpoint's signatures by every key given, then for an invoice that its issuing event's record is in the "
      "signed tree (RFC 9162 inclusion path) and that the document hashes to the content_sha256 the event "
      "recorded; for a consistency proof, that the old checkpoint's tree (signed by the first key) is a prefix of "
      "the new one's (signed by every key). Exit 0 when everything holds, 1 with the first thing that does not.");
  commands.verify_proof->add_option("FILE", state->file, "the proof (JSON)")->required();
  commands.verify_proof
      ->add_option("--public-key", state->public_keys,
                   "a public key (NAME.pub) that must have signed the checkpoint: the host's first, then witnesses'; "
                   "repeatable")
      ->required();
  commands.cosign = app.add_subcommand(
      "cosign",
      "As a witness (an auditor, another agency): cosign a host's checkpoint only after checking that it extends "
      "the last checkpoint this witness cosigned for that log (same size: same root; larger: a consistency proof "
      "from `tori proof --consistency`). Keeps, per log, the log's public key and the last cosigned checkpoint in "
      "WITNESS_DIR. Writes the checkpoint with the witness's signature added (by default over CHECKPOINT itself).");
  commands.cosign->add_option("CHECKPOINT", state->file, "the host's checkpoint (a file of DIR/checkpoints)")
      ->required();
  commands.cosign->add_option("--key", state->key, "the witness's private key (tori keygen)")->required();
  commands.cosign->add_option("--state", state->state_dir, "WITNESS_DIR: what the witness keeps")->required();
  commands.cosign->add_option("--log-key", state->log_key,
                              "the host's public key; needed the first time a log is cosigned, then kept");
  commands.cosign->add_option("--proof", state->proof,
                              "a consistency proof (tori proof --consistency) from the last cosigned checkpoint");
  commands.cosign->add_option("--out", state->out, "where the cosigned checkpoint goes (default: over CHECKPOINT)");
  commands.run = [commands_copy = commands, &data, invoice, consistency]() -> std::optional<int> {
    const ProofCommandState& s = *commands_copy.state;
    if (commands_copy.keygen->parsed()) return RunKeygen(s.out, s.name);
    if (commands_copy.checkpoint->parsed()) return RunCheckpoint(data, s.key, s.origin);
    if (commands_copy.proof->parsed()) {
      if (invoice->count() > 0) return RunProofOfInvoice(data, s.invoice, s.out);
      if (consistency->count() > 0) return RunProofOfConsistency(data, s.old_checkpoint, s.out);
      fmt::print(stderr, "tori proof: give --invoice ID or --consistency OLD_CHECKPOINT\n");
      return kExitUsage;
    }
    if (commands_copy.verify_proof->parsed()) return RunVerifyProof(s.file, s.public_keys);
    if (commands_copy.cosign->parsed()) return RunCosign(s.file, s.key, s.state_dir, s.log_key, s.proof, s.out);
    return std::nullopt;
  };
  return commands;
}

}  // namespace tori
