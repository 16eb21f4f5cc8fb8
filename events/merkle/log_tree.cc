// The trees of a log's partitions, kept under DIR/merkle (log_tree.h).
#include "events/merkle/log_tree.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/numbers.h"
#include "events/base/check.h"
#include "events/base/files.h"
#include "events/codec/codec.h"
#include "fmt/format.h"

namespace tori::merkle {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kIssuedEventIdPrefix = "tori-issued:";  // services/billing's
constexpr int64_t kFlushLeaves = 262'144;  // bounds the hashes waiting in memory (8 MiB)

absl::StatusOr<std::optional<std::string>> ReadWholeFile(const std::string& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) return std::optional<std::string>();
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  if (!in && !in.eof()) return absl::InternalError(fmt::format("cannot read {}", path));
  return std::optional<std::string>(text.str());
}

absl::Status Damaged(const std::string& path, std::string_view why, const std::string& tree_dir) {
  return absl::DataLossError(fmt::format("{} is damaged ({}): remove {} and the next `tori checkpoint` rebuilds "
                                         "the tree from the log",
                                         path, why, tree_dir));
}

bool ParseInt(std::string_view text, int64_t& value) {
  return !text.empty() && text.find_first_not_of("0123456789") == std::string_view::npos &&
         absl::SimpleAtoi(absl::string_view(text.data(), text.size()), &value);
}

std::vector<std::string_view> Fields(std::string_view line) {
  std::vector<std::string_view> out;
  for (size_t start = 0; start <= line.size();) {
    size_t end = line.find(' ', start);
    if (end == std::string_view::npos) end = line.size();
    out.push_back(line.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

std::string DocumentsText(const std::vector<IssuedLeaf>& documents) {
  std::string out;
  for (const auto& d : documents) {
    out += fmt::format("{} {} {} {}\n", d.leaf_index, d.offset, DocumentKindName(d.kind), d.document_id);
  }
  return out;
}

}  // namespace

std::string_view DocumentKindName(DocumentKind kind) {
  return kind == DocumentKind::kInvoice ? "invoice" : "subsidy_claim";
}

LogTrees::~LogTrees() {
  if (lock_fd_ >= 0) ::close(lock_fd_);
}

absl::StatusOr<std::unique_ptr<LogTrees>> LogTrees::Open(const std::string& dir, int32_t partition_count,
                                                         bool read_only) {
  std::unique_ptr<LogTrees> trees(new LogTrees());
  trees->dir_ = dir;
  trees->read_only_ = read_only;
  if (!read_only) {
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) return absl::InternalError(fmt::format("cannot create {}: {}", dir, ec.message()));
    const std::string lock = dir + "/LOCK";
    trees->lock_fd_ = ::open(lock.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (trees->lock_fd_ < 0) return absl::InternalError(fmt::format("cannot open {}: {}", lock, std::strerror(errno)));
    if (::flock(trees->lock_fd_, LOCK_EX | LOCK_NB) != 0) {
      return absl::FailedPreconditionError(
          fmt::format("the Merkle tree in {} is in use by another tori checkpoint: wait for it to finish", dir));
    }
  }
  for (int32_t p = 0; p < partition_count; ++p) {
    auto tree = std::make_unique<LogTree>();
    tree->partition_ = p;
    tree->dir_ = fmt::format("{}/p{}", dir, p);
    TORI_ASSIGN_OR_RETURN(tree->store_, FileHashStore::Open(tree->dir_, read_only));
    const std::string head_path = tree->dir_ + "/HEAD";
    TORI_ASSIGN_OR_RETURN(auto head, ReadWholeFile(head_path));
    int64_t leaves = 0;
    if (head) {
      std::vector<std::string_view> lines;
      for (std::string_view rest = *head; !rest.empty();) {
        const size_t end = rest.find('\n');
        if (end == std::string_view::npos) return Damaged(head_path, "a line without its newline", tree->dir_);
        lines.push_back(rest.substr(0, end));
        rest.remove_prefix(end + 1);
      }
      if (lines.size() != 3 || lines[0] != "tori-merkle-head 1" || !lines[1].starts_with("leaves ") ||
          !lines[2].starts_with("next_offset ") || !ParseInt(lines[1].substr(7), leaves) ||
          !ParseInt(lines[2].substr(12), tree->next_offset_) || tree->next_offset_ < leaves) {
        return Damaged(head_path, "not 'tori-merkle-head 1', 'leaves N', 'next_offset M'", tree->dir_);
      }
    }
    if (WholeTreeSize(*tree->store_) < leaves) {
      return Damaged(tree->dir_, fmt::format("its files hold {} leaves, HEAD says {}", WholeTreeSize(*tree->store_), leaves),
                     tree->dir_);
    }
    // What a crash after the tree's flush and before HEAD left goes; the next catch-up
    // reads those records again.
    TORI_RETURN_IF_ERROR(tree->store_->Truncate(leaves));
    TORI_ASSIGN_OR_RETURN(tree->tree_, MerkleTree::Open(tree->store_.get()));
    const std::string documents_path = tree->dir_ + "/DOCUMENTS";
    TORI_ASSIGN_OR_RETURN(auto documents, ReadWholeFile(documents_path));
    if (documents) {
      for (std::string_view rest = *documents; !rest.empty();) {
        const size_t end = rest.find('\n');
        if (end == std::string_view::npos) return Damaged(documents_path, "a line without its newline", tree->dir_);
        const auto fields = Fields(rest.substr(0, end));
        rest.remove_prefix(end + 1);
        IssuedLeaf d;
        if (fields.size() != 4 || !ParseInt(fields[0], d.leaf_index) || !ParseInt(fields[1], d.offset) ||
            (fields[2] != "invoice" && fields[2] != "subsidy_claim") || fields[3].empty()) {
          return Damaged(documents_path, "a line is not 'LEAF OFFSET KIND DOCUMENT_ID'", tree->dir_);
        }
        d.kind = fields[2] == "invoice" ? DocumentKind::kInvoice : DocumentKind::kSubsidyClaim;
        d.document_id = std::string(fields[3]);
        if (d.leaf_index < leaves) tree->documents_.push_back(std::move(d));
      }
    }
    trees->trees_.push_back(std::move(tree));
  }
  return trees;
}

absl::Status LogTrees::WriteHead(LogTree& tree) {
  TORI_RETURN_IF_ERROR(tree.tree_->Flush());
  TORI_RETURN_IF_ERROR(WriteFileDurably(tree.dir_ + "/DOCUMENTS", DocumentsText(tree.documents_)));
  return WriteFileDurably(tree.dir_ + "/HEAD", fmt::format("tori-merkle-head 1\nleaves {}\nnext_offset {}\n",
                                                              tree.tree_->size(), tree.next_offset_));
}

absl::StatusOr<int64_t> LogTrees::CatchUp(EventLog& log) {
  if (read_only_) return absl::FailedPreconditionError(fmt::format("the Merkle tree in {} is open read-only", dir_));
  if (log.partition_count() != partition_count()) {
    return absl::FailedPreconditionError(fmt::format("the log has {} partitions, the trees in {} were opened for {}",
                                                     log.partition_count(), dir_, partition_count()));
  }
  LogPosition from;
  for (const auto& tree : trees_) from.next_offsets.push_back(tree->next_offset_);
  const LogPosition end = log.End();
  for (int32_t p = 0; p < partition_count(); ++p) {
    if (from.next_offsets[p] > end.next_offsets[p]) {
      return absl::DataLossError(fmt::format(
          "the Merkle tree of partition {} covers offsets up to {}, but the log ends at {}: records it hashed are "
          "gone from the log (restore the log from a backup; the signed checkpoints prove what it held)",
          p, from.next_offsets[p], end.next_offsets[p]));
    }
  }
  TORI_ASSIGN_OR_RETURN(auto cursor, log.Read(from));
  LogRecord record;
  int64_t added = 0;
  std::vector<int64_t> since_flush(trees_.size(), 0);
  events::Event event;
  while (true) {
    TORI_ASSIGN_OR_RETURN(bool more, cursor->Next(record));
    if (!more) break;
    TORI_CHECK(record.partition >= 0 && record.partition < partition_count());
    LogTree& tree = *trees_[record.partition];
    TORI_CHECK(record.offset >= tree.next_offset_);
    const int64_t leaf = tree.tree_->size();
    tree.tree_->AppendRecord(record.payload);
    // Issued documents carry event ids with tori's prefix; only those records are decoded.
    if (record.payload.find(kIssuedEventIdPrefix) != std::string_view::npos && DecodeEvent(record.payload, event)) {
      if (event.has_invoice_issued()) {
        tree.documents_.push_back({leaf, record.offset, DocumentKind::kInvoice, event.invoice_issued().invoice_id()});
      } else if (event.has_subsidy_claim_issued()) {
        tree.documents_.push_back(
            {leaf, record.offset, DocumentKind::kSubsidyClaim, event.subsidy_claim_issued().claim_id()});
      }
    }
    tree.next_offset_ = record.offset + 1;
    ++added;
    if (++since_flush[record.partition] == kFlushLeaves) {
      TORI_RETURN_IF_ERROR(WriteHead(tree));
      since_flush[record.partition] = 0;
    }
  }
  for (size_t p = 0; p < trees_.size(); ++p) {
    if (since_flush[p] > 0) TORI_RETURN_IF_ERROR(WriteHead(*trees_[p]));
  }
  return added;
}

std::optional<std::pair<int32_t, IssuedLeaf>> LogTrees::FindDocument(std::string_view document_id) const {
  // The first issue of an id: the one replays count (a copy later in the log is skipped).
  for (const auto& tree : trees_) {
    for (auto it = tree->documents_.begin(); it != tree->documents_.end(); ++it) {
      if (it->document_id == document_id) return std::make_pair(tree->partition_, *it);
    }
  }
  return std::nullopt;
}

}  // namespace tori::merkle
