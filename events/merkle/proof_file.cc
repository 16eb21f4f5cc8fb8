// Proof files: written by `tori proof`, checked by `tori verify-proof` (proof_file.h).
#include "events/merkle/proof_file.h"

#include <cstring>
#include <limits>

#include "events/base/check.h"
#include "events/base/json_text.h"
#include "events/base/sha256.h"
#include "events/codec/codec.h"
#include "fmt/format.h"
#include "simdjson.h"

namespace tori::merkle {
namespace {

constexpr size_t kPathHashesMax = 64;

std::string HashBase64(const Hash& h) {
  return note::Base64(std::string_view(reinterpret_cast<const char*>(h.data()), h.size()));
}

std::string PathJson(absl::Span<const Hash> path) {
  std::string out = "[";
  for (size_t i = 0; i < path.size(); ++i) out += (i > 0 ? ",\"" : "\"") + HashBase64(path[i]) + "\"";
  return out + "]";
}

void AddField(std::string& out, std::string_view key, std::string_view raw_json, bool last = false) {
  out += "  ";
  AppendJsonString(out, key);
  out += ": ";
  out += raw_json;
  out += last ? "\n" : ",\n";
}

std::string JsonString(std::string_view text) {
  std::string out;
  AppendJsonString(out, text);
  return out;
}

absl::Status FieldError(std::string_view field, std::string_view rule) {
  return absl::InvalidArgumentError(fmt::format("the proof's field '{}' {}", field, rule));
}

absl::StatusOr<std::string> StringField(simdjson::dom::element& object, std::string_view field) {
  std::string_view value;
  if (object[field].get_string().get(value) != simdjson::SUCCESS) return FieldError(field, "is missing or no string");
  return std::string(value);
}

absl::StatusOr<int64_t> IntField(simdjson::dom::element& object, std::string_view field, int64_t max) {
  int64_t value = 0;
  if (object[field].get_int64().get(value) != simdjson::SUCCESS || value < 0 || value > max) {
    return FieldError(field, fmt::format("is missing or no integer in 0..{}", max));
  }
  return value;
}

absl::StatusOr<std::vector<Hash>> PathField(simdjson::dom::element& object, std::string_view field) {
  simdjson::dom::array array;
  if (object[field].get_array().get(array) != simdjson::SUCCESS) return FieldError(field, "is missing or no array");
  std::vector<Hash> out;
  for (simdjson::dom::element e : array) {
    std::string_view text;
    if (e.get_string().get(text) != simdjson::SUCCESS) return FieldError(field, "holds something other than strings");
    const auto bytes = note::FromBase64(text);
    if (!bytes || bytes->size() != Hash().size()) {
      return FieldError(field, "holds something other than canonical base64 of 32-byte hashes");
    }
    Hash h;
    std::memcpy(h.data(), bytes->data(), h.size());
    out.push_back(h);
    if (out.size() > kPathHashesMax) return FieldError(field, fmt::format("has over {} hashes", kPathHashesMax));
  }
  return out;
}

// The as_of tree head against the checkpoint: a prefix of it that ends before the
// issuing event. A sentence for the OK message.
absl::StatusOr<std::string> VerifyAsOfHead(const InclusionProofFile& p, const note::Checkpoint& checkpoint) {
  TORI_ASSIGN_OR_RETURN(const std::optional<TreeHead> head, RecordedTreeHead(p.record, p.partition));
  if (!head) {
    if (p.as_of_consistency_path) {
      return absl::InvalidArgumentError(
          "the proof has an as_of_consistency_path, but its issuing event records no tree head at its as_of");
    }
    return std::string();
  }
  if (!p.as_of_consistency_path) {
    return absl::InvalidArgumentError(fmt::format(
        "the issuing event records the tree head of {} records at its as_of, but the proof has no "
        "as_of_consistency_path to the checkpoint",
        head->tree_size));
  }
  if (head->tree_size > p.leaf_index) {
    return absl::InvalidArgumentError(fmt::format(
        "the issuing event says its document was computed from the first {} records, but it is record {} itself",
        head->tree_size, p.leaf_index));
  }
  if (auto s = VerifyConsistency(head->tree_size, checkpoint.tree_size, head->root_hash, checkpoint.root,
                                 *p.as_of_consistency_path);
      !s.ok()) {
    return absl::InvalidArgumentError(fmt::format(
        "the tree head of {} records the issuing event recorded at its as_of is not a prefix of the checkpoint's "
        "tree: {}",
        head->tree_size, std::string(s.message())));
  }
  return fmt::format("; it was computed from the log's first {} records, a prefix of that tree (the tree head its "
                     "issuing event recorded at its as_of)",
                     head->tree_size);
}

absl::StatusOr<std::string> VerifyInclusionFile(const InclusionProofFile& p, absl::Span<const note::Verifier> keys) {
  TORI_ASSIGN_OR_RETURN(SignedCheckpoint c, ParseSignedCheckpoint(p.checkpoint, "the checkpoint"));
  if (auto s = note::Verify(c.note, keys); !s.ok()) {
    return absl::InvalidArgumentError(fmt::format("the checkpoint: {}", std::string(s.message())));
  }
  const auto partition = PartitionOfOrigin(c.checkpoint.origin);
  if (!partition || *partition != p.partition) {
    return absl::InvalidArgumentError(
        fmt::format("the checkpoint's origin '{}' is not of partition {}", c.checkpoint.origin, p.partition));
  }
  events::Event event;
  if (!DecodeEvent(p.record, event)) return absl::InvalidArgumentError("the record is no event (it does not decode)");
  std::string content_sha256, id;
  if (p.document_kind == "invoice" && event.has_invoice_issued()) {
    id = event.invoice_issued().invoice_id();
    content_sha256 = event.invoice_issued().content_sha256();
  } else if (p.document_kind == "subsidy_claim" && event.has_subsidy_claim_issued()) {
    id = event.subsidy_claim_issued().claim_id();
    content_sha256 = event.subsidy_claim_issued().content_sha256();
  } else {
    return absl::InvalidArgumentError(fmt::format("the record is a {} event, not the event that issued a {}",
                                                  EventTypeName(event), p.document_kind));
  }
  if (id != p.document_id) {
    return absl::InvalidArgumentError(fmt::format("the record issued '{}', the proof is of '{}'", id, p.document_id));
  }
  if (Sha256Hex(p.document) != content_sha256) {
    return absl::InvalidArgumentError(fmt::format(
        "the document does not hash to the content_sha256 its issuing event recorded ({}): the document was changed",
        content_sha256));
  }
  if (auto s = VerifyInclusion(LeafHash(p.record), p.leaf_index, c.checkpoint.tree_size, p.path, c.checkpoint.root);
      !s.ok()) {
    return absl::InvalidArgumentError(fmt::format("record {} in the tree of {} records of the checkpoint: {}",
                                                  p.leaf_index, c.checkpoint.tree_size, std::string(s.message())));
  }
  TORI_ASSIGN_OR_RETURN(const std::string as_of, VerifyAsOfHead(p, c.checkpoint));
  std::string signers;
  for (const auto& k : keys) signers += (signers.empty() ? "'" : ", '") + k.name + "'";
  return fmt::format(
      "OK: {} {} (SHA-256 {}) was issued by record {} of the log '{}', which the checkpoint of its first {} "
      "records signed by {} includes{}",
      p.document_kind, p.document_id, content_sha256, p.leaf_index, c.checkpoint.origin, c.checkpoint.tree_size,
      signers, as_of);
}

absl::StatusOr<std::string> VerifyConsistencyFile(const ConsistencyProofFile& p,
                                                  absl::Span<const note::Verifier> keys) {
  TORI_ASSIGN_OR_RETURN(SignedCheckpoint old_c, ParseSignedCheckpoint(p.old_checkpoint, "the old checkpoint"));
  TORI_ASSIGN_OR_RETURN(SignedCheckpoint new_c, ParseSignedCheckpoint(p.new_checkpoint, "the new checkpoint"));
  if (auto s = note::Verify(old_c.note, keys.subspan(0, 1)); !s.ok()) {
    return absl::InvalidArgumentError(fmt::format("the old checkpoint: {}", std::string(s.message())));
  }
  if (auto s = note::Verify(new_c.note, keys); !s.ok()) {
    return absl::InvalidArgumentError(fmt::format("the new checkpoint: {}", std::string(s.message())));
  }
  if (old_c.checkpoint.origin != new_c.checkpoint.origin) {
    return absl::InvalidArgumentError(fmt::format("the checkpoints are of two logs, '{}' and '{}'",
                                                  old_c.checkpoint.origin, new_c.checkpoint.origin));
  }
  TORI_RETURN_IF_ERROR(VerifyConsistency(old_c.checkpoint.tree_size, new_c.checkpoint.tree_size,
                                         old_c.checkpoint.root, new_c.checkpoint.root, p.path));
  return fmt::format("OK: the log '{}' of {} records is an extension of its first {}: nothing before was changed",
                     new_c.checkpoint.origin, new_c.checkpoint.tree_size, old_c.checkpoint.tree_size);
}

}  // namespace

std::string InclusionProofFile::ToJson() const {
  std::string json = "{\n";
  AddField(json, "format", JsonString(kInclusionProofFormat));
  AddField(json, "document_kind", JsonString(document_kind));
  AddField(json, "document_id", JsonString(document_id));
  AddField(json, "document", JsonString(document));
  AddField(json, "partition", fmt::format("{}", partition));
  AddField(json, "leaf_index", fmt::format("{}", leaf_index));
  AddField(json, "record", JsonString(note::Base64(record)));
  AddField(json, "inclusion_path", PathJson(path));
  if (as_of_consistency_path) AddField(json, "as_of_consistency_path", PathJson(*as_of_consistency_path));
  AddField(json, "checkpoint", JsonString(checkpoint), true);
  return json + "}\n";
}

std::string ConsistencyProofFile::ToJson() const {
  std::string json = "{\n";
  AddField(json, "format", JsonString(kConsistencyProofFormat));
  AddField(json, "old_checkpoint", JsonString(old_checkpoint));
  AddField(json, "new_checkpoint", JsonString(new_checkpoint));
  AddField(json, "consistency_path", PathJson(path), true);
  return json + "}\n";
}

absl::StatusOr<ProofFile> ParseProofFile(std::string_view json) {
  if (json.size() > kProofBytesMax) {
    return absl::InvalidArgumentError(fmt::format("the proof is over {} bytes", kProofBytesMax));
  }
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (parser.parse(simdjson::padded_string(json)).get(root) != simdjson::SUCCESS || !root.is_object()) {
    return absl::InvalidArgumentError("the proof is not a JSON object");
  }
  TORI_ASSIGN_OR_RETURN(std::string format, StringField(root, "format"));
  if (format == kInclusionProofFormat) {
    InclusionProofFile p;
    TORI_ASSIGN_OR_RETURN(p.document_kind, StringField(root, "document_kind"));
    TORI_ASSIGN_OR_RETURN(p.document_id, StringField(root, "document_id"));
    TORI_ASSIGN_OR_RETURN(p.document, StringField(root, "document"));
    TORI_ASSIGN_OR_RETURN(int64_t partition, IntField(root, "partition", 1'000'000));
    p.partition = static_cast<int32_t>(partition);
    TORI_ASSIGN_OR_RETURN(p.leaf_index, IntField(root, "leaf_index", std::numeric_limits<int64_t>::max()));
    TORI_ASSIGN_OR_RETURN(std::string record, StringField(root, "record"));
    auto bytes = note::FromBase64(record);
    if (!bytes) return FieldError("record", "is not canonical base64");
    p.record = *std::move(bytes);
    TORI_ASSIGN_OR_RETURN(p.path, PathField(root, "inclusion_path"));
    if (simdjson::dom::element unused; root["as_of_consistency_path"].get(unused) == simdjson::SUCCESS) {
      TORI_ASSIGN_OR_RETURN(p.as_of_consistency_path, PathField(root, "as_of_consistency_path"));
    }
    TORI_ASSIGN_OR_RETURN(p.checkpoint, StringField(root, "checkpoint"));
    return p;
  }
  if (format == kConsistencyProofFormat) {
    ConsistencyProofFile p;
    TORI_ASSIGN_OR_RETURN(p.old_checkpoint, StringField(root, "old_checkpoint"));
    TORI_ASSIGN_OR_RETURN(p.new_checkpoint, StringField(root, "new_checkpoint"));
    TORI_ASSIGN_OR_RETURN(p.path, PathField(root, "consistency_path"));
    return p;
  }
  return FieldError("format", fmt::format("is neither {} nor {}", kInclusionProofFormat, kConsistencyProofFormat));
}

absl::StatusOr<SignedCheckpoint> ParseSignedCheckpoint(std::string_view text, std::string_view what) {
  auto parsed = note::ParseNote(text);
  if (!parsed.ok()) {
    return absl::InvalidArgumentError(fmt::format("{}: {}", what, std::string(parsed.status().message())));
  }
  auto checkpoint = note::Checkpoint::Parse(parsed->text);
  if (!checkpoint.ok()) {
    return absl::InvalidArgumentError(fmt::format("{}: {}", what, std::string(checkpoint.status().message())));
  }
  return SignedCheckpoint{*std::move(parsed), *std::move(checkpoint)};
}

absl::StatusOr<std::optional<TreeHead>> RecordedTreeHead(std::string_view record, int32_t partition) {
  events::Event event;
  if (!DecodeEvent(record, event)) return absl::InvalidArgumentError("the record is no event (it does not decode)");
  const google::protobuf::RepeatedPtrField<events::MerkleTreeHead>* heads = nullptr;
  if (event.has_invoice_issued()) heads = &event.invoice_issued().tree_heads();
  if (event.has_subsidy_claim_issued()) heads = &event.subsidy_claim_issued().tree_heads();
  if (heads == nullptr || heads->empty()) return std::nullopt;
  if (partition < 0 || partition >= heads->size()) {
    return absl::InvalidArgumentError(fmt::format(
        "the issuing event records tree heads of {} partitions, none of partition {}", heads->size(), partition));
  }
  const events::MerkleTreeHead& h = heads->Get(partition);
  TreeHead head{h.tree_size(), {}};
  if (h.tree_size() < 0 || h.root_hash().size() != head.root_hash.size()) {
    return absl::InvalidArgumentError(fmt::format(
        "the issuing event's tree head of partition {} is no size and 32-byte root", partition));
  }
  std::memcpy(head.root_hash.data(), h.root_hash().data(), head.root_hash.size());
  return head;
}

std::optional<int32_t> PartitionOfOrigin(std::string_view origin) {
  const size_t slash = origin.rfind("/p");
  if (slash == std::string_view::npos) return std::nullopt;
  const std::string_view digits = origin.substr(slash + 2);
  if (digits.empty() || digits.size() > 6 || digits.find_first_not_of("0123456789") != std::string_view::npos ||
      (digits.size() > 1 && digits[0] == '0')) {
    return std::nullopt;
  }
  return static_cast<int32_t>(std::stol(std::string(digits)));
}

absl::StatusOr<std::string> VerifyProofFile(const ProofFile& proof, absl::Span<const note::Verifier> keys) {
  if (keys.empty()) return absl::InvalidArgumentError("no public key to check the proof's signatures with");
  if (const auto* p = std::get_if<InclusionProofFile>(&proof)) return VerifyInclusionFile(*p, keys);
  return VerifyConsistencyFile(std::get<ConsistencyProofFile>(proof), keys);
}

}  // namespace tori::merkle
