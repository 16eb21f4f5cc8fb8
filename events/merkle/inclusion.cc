#include "events/merkle/inclusion.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "events/base/check.h"
#include "events/merkle/log_tree.h"
#include "fmt/format.h"

namespace tori::merkle {
namespace {

namespace fs = std::filesystem;

constexpr size_t kCheckpointBytesMax = 64 << 10;

absl::StatusOr<std::string> ReadSmallFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(fmt::format("cannot read {}: {}", path, std::strerror(errno)));
  std::string text(kCheckpointBytesMax + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<size_t>(in.gcount()));
  if (text.size() > kCheckpointBytesMax) {
    return absl::InvalidArgumentError(fmt::format("{} is over {} bytes", path, kCheckpointBytesMax));
  }
  return text;
}

}  // namespace

std::string CheckpointDir(const std::string& data_dir, int32_t partition) {
  return fmt::format("{}/checkpoints/p{}", data_dir, partition);
}
std::string CheckpointPath(const std::string& data_dir, int32_t partition, int64_t tree_size) {
  return fmt::format("{}/{:020}", CheckpointDir(data_dir, partition), tree_size);
}

absl::StatusOr<std::vector<std::pair<int64_t, std::string>>> ListCheckpoints(const std::string& data_dir,
                                                                            int32_t partition) {
  std::vector<std::pair<int64_t, std::string>> out;
  std::error_code ec;
  const std::string dir = CheckpointDir(data_dir, partition);
  if (!fs::is_directory(dir, ec)) return out;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.size() != 20 || name.find_first_not_of("0123456789") != std::string::npos) continue;
    out.emplace_back(std::stoll(name), entry.path().string());
  }
  if (ec) return absl::InternalError(fmt::format("cannot list {}: {}", dir, ec.message()));
  std::sort(out.begin(), out.end());
  return out;
}

absl::StatusOr<std::string> ReadLogRecord(EventLog& log, int32_t partition, int64_t offset) {
  LogPosition from = log.End();
  if (partition < 0 || partition >= static_cast<int32_t>(from.next_offsets.size()) ||
      offset >= from.next_offsets[partition]) {
    return absl::DataLossError(fmt::format("the log's partition {} ends before offset {}", partition, offset));
  }
  from.next_offsets[partition] = offset;
  TORI_ASSIGN_OR_RETURN(auto cursor, log.Read(from));
  LogRecord record;
  while (true) {
    TORI_ASSIGN_OR_RETURN(bool more, cursor->Next(record));
    if (!more) break;
    if (record.partition == partition && record.offset == offset) return std::string(record.payload);
    if (record.partition == partition) break;
  }
  return absl::DataLossError(fmt::format("the log's partition {} has no record at offset {}", partition, offset));
}

absl::StatusOr<BuiltInclusionProof> BuildInclusionProof(EventLog& log, const std::string& data_dir,
                                                        std::string_view document_id,
                                                        const DocumentJsonFn& document_json) {
  TORI_ASSIGN_OR_RETURN(auto trees, LogTrees::Open(data_dir + "/merkle", log.partition_count(), true));
  const auto found = trees->FindDocument(document_id);
  if (!found) {
    return absl::NotFoundError(fmt::format("the Merkle tree does not reach the event that issued {} yet", document_id));
  }
  const auto& [partition, leaf] = *found;
  LogTree& tree = trees->partition(partition);
  // The latest checkpoint that covers the leaf: the newest root the host signed.
  TORI_ASSIGN_OR_RETURN(auto checkpoints, ListCheckpoints(data_dir, partition));
  if (checkpoints.empty() || checkpoints.back().first <= leaf.leaf_index) {
    return absl::NotFoundError(fmt::format("no checkpoint of partition {} covers record {} (the event that issued {})",
                                           partition, leaf.offset, document_id));
  }
  const auto& [tree_size, checkpoint_path] = checkpoints.back();
  TORI_ASSIGN_OR_RETURN(std::string checkpoint_text, ReadSmallFile(checkpoint_path));
  TORI_ASSIGN_OR_RETURN(auto signed_checkpoint, ParseSignedCheckpoint(checkpoint_text, checkpoint_path));
  // The host checks its own proof before handing it out: the tree must still give the
  // signed root, and the log must still hold the record the tree hashed.
  TORI_ASSIGN_OR_RETURN(const Hash root, tree.tree().RootAt(tree_size));
  if (root != signed_checkpoint.checkpoint.root || signed_checkpoint.checkpoint.tree_size != tree_size) {
    return absl::DataLossError(fmt::format(
        "the Merkle tree's root at size {} differs from the signed checkpoint {}: the tree or the log's history "
        "was changed after it was signed",
        tree_size, checkpoint_path));
  }
  TORI_ASSIGN_OR_RETURN(std::string record, ReadLogRecord(log, partition, leaf.offset));
  TORI_ASSIGN_OR_RETURN(const Hash leaf_hash, tree.tree().LeafHashAt(leaf.leaf_index));
  if (LeafHash(record) != leaf_hash) {
    return absl::DataLossError(fmt::format(
        "the log's record at offset {} of partition {} is not the one the Merkle tree hashed: the log was changed",
        leaf.offset, partition));
  }
  TORI_ASSIGN_OR_RETURN(std::string document, document_json(record));
  TORI_ASSIGN_OR_RETURN(std::vector<Hash> path, tree.tree().InclusionProof(leaf.leaf_index, tree_size));
  if (auto s = VerifyInclusion(leaf_hash, leaf.leaf_index, tree_size, path, root); !s.ok()) {
    return absl::DataLossError(fmt::format("the proof the tree gives does not verify: {}", std::string(s.message())));
  }
  // The tree head the event recorded at its as_of: the host's tree must give it too.
  std::optional<std::vector<Hash>> as_of_path;
  TORI_ASSIGN_OR_RETURN(const std::optional<TreeHead> as_of_head, RecordedTreeHead(record, partition));
  if (as_of_head) {
    if (as_of_head->tree_size > leaf.leaf_index) {
      return absl::DataLossError(fmt::format("the event that issued {} records a tree of {} records at its as_of, "
                                             "but it is record {} itself: the event was changed",
                                             document_id, as_of_head->tree_size, leaf.leaf_index));
    }
    TORI_ASSIGN_OR_RETURN(const Hash as_of_root, tree.tree().RootAt(as_of_head->tree_size));
    if (as_of_root != as_of_head->root_hash) {
      return absl::DataLossError(fmt::format(
          "the Merkle tree's root at size {} differs from the tree head the event that issued {} recorded at its "
          "as_of: the event or the log's history was changed",
          as_of_head->tree_size, document_id));
    }
    TORI_ASSIGN_OR_RETURN(as_of_path, tree.tree().ConsistencyProof(as_of_head->tree_size, tree_size));
  }
  BuiltInclusionProof built;
  built.proof = InclusionProofFile{std::string(DocumentKindName(leaf.kind)), leaf.document_id, std::move(document),
                                   partition, leaf.leaf_index, std::move(record), std::move(path),
                                   std::move(as_of_path), std::move(checkpoint_text)};
  built.offset = leaf.offset;
  built.checkpoint_path = checkpoint_path;
  built.tree_size = tree_size;
  return built;
}

}  // namespace tori::merkle
