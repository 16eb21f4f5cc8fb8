#include "services/state/hash_chain.h"

#include <algorithm>
#include <bit>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "events/base/check.h"
#include "events/base/sha256.h"
#include "fmt/format.h"

namespace tori {
namespace {
constexpr char kChainMetaKey[] = "hash_chain";
}

HashChain::HashChain(int32_t partitions)
    : heads_(static_cast<size_t>(partitions), std::string(kSha256Bytes, '\0')),
      trees_(static_cast<size_t>(partitions)) {
  covered_.next_offsets.assign(static_cast<size_t>(partitions), 0);
}

void HashChain::ExtendAt(int32_t partition, int64_t offset, std::string_view payload) {
  int64_t& covered = covered_.next_offsets[static_cast<size_t>(partition)];
  TORI_CHECK(offset >= covered);
  covered = offset;
  Extend(partition, payload);
}

void HashChain::PassTo(const LogPosition& at) {
  TORI_CHECK(at.next_offsets.size() == covered_.next_offsets.size() && at.Covers(covered_));
  covered_ = at;
}

void HashChain::Extend(int32_t partition, std::string_view payload) {
  std::string& head = heads_[static_cast<size_t>(partition)];
  // One hasher a thread, reused: this runs once per record of the log, and a hasher
  // made per digest costs about as much as the digest. A member would make HashChain
  // uncopyable.
  thread_local Sha256 hasher;
  hasher.Update(head).Update(payload).Finish(reinterpret_cast<unsigned char*>(head.data()));
  trees_[static_cast<size_t>(partition)].AppendRecord(payload);
  ++covered_.next_offsets[static_cast<size_t>(partition)];
}

std::string HashChain::HeadsText() const {
  std::string out;
  for (size_t p = 0; p < heads_.size(); ++p) {
    out += fmt::format("{}p{}:{}", p == 0 ? "" : ",", p, absl::BytesToHexString(heads_[p]));
  }
  return out;
}

std::vector<merkle::TreeHead> HashChain::TreeHeads() const {
  std::vector<merkle::TreeHead> out;
  for (const auto& tree : trees_) out.push_back(tree.Head());
  return out;
}

std::string HashChain::Serialize() const {
  std::string out;
  for (size_t p = 0; p < heads_.size(); ++p) {
    std::string peaks;
    for (const auto& peak : trees_[p].Peaks()) {
      peaks += absl::BytesToHexString(absl::string_view(reinterpret_cast<const char*>(peak.data()), peak.size()));
    }
    out += fmt::format("{}p{}:{}:{}:{}:{}", p == 0 ? "" : ",", p, covered_.next_offsets[p],
                       absl::BytesToHexString(heads_[p]), trees_[p].size(), peaks);
  }
  return out;
}

absl::StatusOr<HashChain> HashChain::Deserialize(std::string_view text) {
  std::vector<absl::string_view> parts =
      absl::StrSplit(absl::string_view(text.data(), text.size()), ',');
  HashChain chain(static_cast<int32_t>(parts.size()));
  auto is_hex = [](absl::string_view hex, size_t size) {
    return hex.size() == size && hex.find_first_not_of("0123456789abcdef") == absl::string_view::npos;
  };
  size_t before_tree = 0;  // parts of the form kept before the tree
  for (size_t p = 0; p < parts.size(); ++p) {
    std::vector<absl::string_view> fields = absl::StrSplit(parts[p], ':');
    int64_t covered;
    int64_t leaves = 0;
    const bool old_form = fields.size() == 3;
    if ((!old_form && fields.size() != 5) || fields[0] != fmt::format("p{}", p) ||
        !absl::SimpleAtoi(fields[1], &covered) || covered < 0 || !is_hex(fields[2], 64) ||
        (!old_form && (!absl::SimpleAtoi(fields[3], &leaves) || leaves < 0 ||
                       !is_hex(fields[4], 64 * static_cast<size_t>(std::popcount(static_cast<uint64_t>(leaves))))))) {
      return absl::DataLossError(
          "the hash chain's progress is \"p<partition>:<records covered>:<64 hex digits>:<tree "
          "leaves>:<64 hex digits per tree peak>\" per partition, comma-separated");
    }
    if (old_form) {
      ++before_tree;
      continue;
    }
    chain.covered_.next_offsets[p] = covered;
    chain.heads_[p] = absl::HexStringToBytes(fields[2]);
    const std::string peak_bytes = absl::HexStringToBytes(fields[4]);
    std::vector<merkle::Hash> peaks(peak_bytes.size() / kSha256Bytes);
    for (size_t i = 0; i < peaks.size(); ++i) {
      std::copy_n(peak_bytes.data() + i * kSha256Bytes, kSha256Bytes, reinterpret_cast<char*>(peaks[i].data()));
    }
    TORI_ASSIGN_OR_RETURN(chain.trees_[p], merkle::TreeEdge::FromPeaks(leaves, peaks));
  }
  if (before_tree == parts.size()) return HashChain(static_cast<int32_t>(parts.size()));
  if (before_tree != 0) return absl::DataLossError("the hash chain's progress mixes two forms");
  return chain;
}

absl::StatusOr<HashChain> LoadHashChain(StateStore& state, int32_t partitions) {
  TORI_ASSIGN_OR_RETURN(auto stored, state.GetMeta(kChainMetaKey));
  if (!stored) return HashChain(partitions);
  auto chain_or = HashChain::Deserialize(*stored);
  if (!chain_or.ok()) {
    return state.Damaged("meta", kChainMetaKey, std::string(chain_or.status().message()));
  }
  HashChain chain = *std::move(chain_or);
  if (chain.covered().next_offsets.size() != static_cast<size_t>(partitions)) {
    return absl::FailedPreconditionError(
        "the hash chain and the log disagree on partitions; run `tori rebuild`");
  }
  return chain;
}

absl::Status SaveHashChain(StateStore& state, const HashChain& chain) {
  return state.PutMeta(kChainMetaKey, chain.Serialize());
}

absl::Status ExtendHashChain(EventLog& log, const LogPosition& at, HashChain& chain) {
  if (chain.covered().next_offsets.size() != at.next_offsets.size()) {
    return absl::FailedPreconditionError(
        "the hash chain and the log disagree on partitions; run `tori rebuild`");
  }
  if (!at.Covers(chain.covered())) {
    return absl::InvalidArgumentError(fmt::format(
        "the hash chain has advanced past {}; heads of earlier positions come from `tori verify`",
        at.ToString()));
  }
  if (at == chain.covered()) return absl::OkStatus();
  TORI_ASSIGN_OR_RETURN(auto cursor, log.Read(chain.covered()));
  LogRecord record;
  while (true) {
    TORI_ASSIGN_OR_RETURN(bool more, cursor->Next(record));
    if (!more) break;
    if (!at.Contains(record.partition, record.offset)) continue;
    chain.ExtendAt(record.partition, record.offset, record.payload);
  }
  chain.PassTo(at);  // past offsets without records (Kafka transaction markers)
  return absl::OkStatus();
}

absl::StatusOr<LogHeads> LogHeadsAt(EventLog& log, StateStore& state, const LogPosition& at,
                                    bool save_progress) {
  TORI_ASSIGN_OR_RETURN(HashChain chain, LoadHashChain(state, log.partition_count()));
  const LogPosition before = chain.covered();
  TORI_RETURN_IF_ERROR(ExtendHashChain(log, at, chain));
  if (save_progress && chain.covered() != before) TORI_RETURN_IF_ERROR(SaveHashChain(state, chain));
  return LogHeads{chain.HeadsText(), chain.TreeHeads()};
}

}  // namespace tori
