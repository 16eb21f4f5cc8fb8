// The Merkle tree against RFC 9162's own definitions: known answers (the certificate
// transparency test vectors), every leaf and every pair of sizes up to a few hundred
// against a plain recursive model of MTH / PATH / PROOF (RFC 9162 section 2.1), the
// O(log n) reads, and the file store's crash and damage rules.
#include <fcntl.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <random>

#include "events/merkle/merkle.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace tori::merkle {
namespace {

Hash FromHex(std::string_view hex) {
  Hash h{};
  for (size_t i = 0; i < h.size(); ++i) h[i] = static_cast<unsigned char>(std::stoi(std::string(hex.substr(2 * i, 2)), nullptr, 16));
  return h;
}

std::string Bytes(std::string_view hex) {
  std::string out;
  for (size_t i = 0; i < hex.size(); i += 2) out.push_back(static_cast<char>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  return out;
}

// RFC 9162 section 2.1 as written: MTH, PATH and PROOF/SUBPROOF, recursive, over
// leaves [begin, end) (memoised, so that every pair of sizes stays quick).
class Model {
 public:
  explicit Model(std::vector<std::string> records) : records_(std::move(records)) {}

  Hash Mth(int64_t begin, int64_t end) {
    const int64_t n = end - begin;
    if (n == 0) return Sha256Of("");
    if (n == 1) return LeafHash(records_[begin]);
    auto key = std::make_pair(begin, end);
    if (auto it = memo_.find(key); it != memo_.end()) return it->second;
    const int64_t k = Split(n);
    const Hash h = NodeHash(Mth(begin, begin + k), Mth(begin + k, end));
    memo_[key] = h;
    return h;
  }
  std::vector<Hash> Path(int64_t m, int64_t begin, int64_t end) {
    const int64_t n = end - begin;
    if (n == 1) return {};
    const int64_t k = Split(n);
    std::vector<Hash> out;
    if (m < k) {
      out = Path(m, begin, begin + k);
      out.push_back(Mth(begin + k, end));
    } else {
      out = Path(m - k, begin + k, end);
      out.push_back(Mth(begin, begin + k));
    }
    return out;
  }
  std::vector<Hash> Proof(int64_t m, int64_t n) { return SubProof(m, 0, n, true); }

 private:
  static int64_t Split(int64_t n) {
    int64_t k = 1;
    while (k * 2 < n) k *= 2;
    return k;
  }
  std::vector<Hash> SubProof(int64_t m, int64_t begin, int64_t end, bool b) {
    const int64_t n = end - begin;
    if (m == n) return b ? std::vector<Hash>{} : std::vector<Hash>{Mth(begin, end)};
    const int64_t k = Split(n);
    std::vector<Hash> out;
    if (m <= k) {
      out = SubProof(m, begin, begin + k, b);
      out.push_back(Mth(begin + k, end));
    } else {
      out = SubProof(m - k, begin + k, end, false);
      out.push_back(Mth(begin, begin + k));
    }
    return out;
  }
  std::vector<std::string> records_;
  std::map<std::pair<int64_t, int64_t>, Hash> memo_;
};

std::vector<std::string> Records(int n) {
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i) out.push_back("record " + std::to_string(i));
  return out;
}

const char* const kVectorLeaves[] = {"", "00", "10", "2021", "3031", "40414243", "5051525354555657",
                                     "606162636465666768696a6b6c6d6e6f"};
const char* const kVectorRoots[] = {
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"};

TEST(Merkle, TheCertificateTransparencyTestVectorsHaveTheirKnownRootsAndProofs) {
  MemoryHashStore store;
  auto tree = MerkleTree::Open(&store).value();
  EXPECT_EQ(HexOf(tree->Root()), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  for (int i = 0; i < 8; ++i) {
    tree->AppendRecord(Bytes(kVectorLeaves[i]));
    EXPECT_EQ(HexOf(tree->Root()), kVectorRoots[i]) << "size " << i + 1;
  }
  ASSERT_TRUE(tree->Flush().ok());
  // (Each proof in a variable: a range-for over value() of a temporary would dangle.)
  const auto inclusion = tree->InclusionProof(5, 8).value();
  std::vector<std::string> path;
  for (const Hash& h : inclusion) path.push_back(HexOf(h));
  EXPECT_THAT(path, ::testing::ElementsAre("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                                           "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                                           "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"));
  const auto consistency = tree->ConsistencyProof(3, 8).value();
  std::vector<std::string> proof;
  for (const Hash& h : consistency) proof.push_back(HexOf(h));
  EXPECT_THAT(proof, ::testing::ElementsAre("0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7",
                                            "07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7",
                                            "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
                                            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"));
  EXPECT_TRUE(VerifyConsistency(3, 8, FromHex(kVectorRoots[2]), FromHex(kVectorRoots[7]),
                                tree->ConsistencyProof(3, 8).value())
                  .ok());
}

// Every leaf of every size and every pair of sizes up to kSizes, in a tree that crosses
// the first stored level above the leaves (256).
TEST(Merkle, EveryProofUpToAFewHundredLeavesIsTheModelsAndVerifies) {
  constexpr int kSizes = 300;
  const auto records = Records(kSizes);
  Model model(records);
  MemoryHashStore store;
  auto tree = MerkleTree::Open(&store).value();
  for (int n = 1; n <= kSizes; ++n) {
    tree->AppendRecord(records[n - 1]);
    ASSERT_EQ(tree->Root(), model.Mth(0, n)) << "size " << n;
  }
  ASSERT_TRUE(tree->Flush().ok());
  for (int n = 1; n <= kSizes; ++n) {
    const Hash root = model.Mth(0, n);
    ASSERT_EQ(tree->RootAt(n).value(), root) << "size " << n;
    for (int m = 0; m < n; ++m) {
      const auto path = tree->InclusionProof(m, n).value();
      ASSERT_EQ(path, model.Path(m, 0, n)) << "leaf " << m << " of " << n;
      ASSERT_TRUE(VerifyInclusion(LeafHash(records[m]), m, n, path, root).ok()) << m << " of " << n;
    }
    for (int m = 0; m <= n; ++m) {
      const auto proof = tree->ConsistencyProof(m, n).value();
      if (m > 0 && m < n) {
        ASSERT_EQ(proof, model.Proof(m, n)) << m << " to " << n;
      }
      ASSERT_TRUE(VerifyConsistency(m, n, model.Mth(0, m), root, proof).ok()) << m << " to " << n;
    }
  }
}

TEST(Merkle, TheTreeEdgeHasTheModelsRootAtEverySizeAndSurvivesItsPeaks) {
  constexpr int kSizes = 300;
  const auto records = Records(kSizes);
  Model model(records);
  TreeEdge edge;
  EXPECT_EQ(edge.Root(), Sha256Of(""));
  for (int n = 1; n <= kSizes; ++n) {
    edge.AppendRecord(records[n - 1]);
    ASSERT_EQ(edge.Head(), (TreeHead{n, model.Mth(0, n)})) << "size " << n;
    // Kept as its peaks and read back, it goes on as if never stored.
    const auto peaks = edge.Peaks();
    auto copy = TreeEdge::FromPeaks(n, peaks);
    ASSERT_TRUE(copy.ok()) << copy.status();
    ASSERT_EQ(copy->Root(), edge.Root()) << "size " << n;
    edge = *copy;
  }
  EXPECT_FALSE(TreeEdge::FromPeaks(5, std::vector<Hash>(1)).ok());  // 5 = 101b: two peaks
  EXPECT_FALSE(TreeEdge::FromPeaks(-1, {}).ok());
}

TEST(Merkle, AnyChangedHashOfAProofOrAWrongIndexOrSizeIsRefused) {
  const auto records = Records(77);
  MemoryHashStore store;
  auto tree = MerkleTree::Open(&store).value();
  for (const auto& r : records) tree->AppendRecord(r);
  ASSERT_TRUE(tree->Flush().ok());
  const Hash root = tree->Root();
  const Hash old_root = tree->RootAt(45).value();
  const auto path = tree->InclusionProof(44, 77).value();
  const auto proof = tree->ConsistencyProof(45, 77).value();
  ASSERT_TRUE(VerifyInclusion(LeafHash(records[44]), 44, 77, path, root).ok());
  ASSERT_TRUE(VerifyConsistency(45, 77, old_root, root, proof).ok());
  EXPECT_FALSE(VerifyInclusion(LeafHash(records[43]), 44, 77, path, root).ok());
  EXPECT_FALSE(VerifyInclusion(LeafHash(records[44]), 43, 77, path, root).ok());
  // (A size whose tree has the same shape along the path, 76 or 78 here, passes: the
  // size is bound to the root by the checkpoint's signature, not by the path.)
  EXPECT_FALSE(VerifyInclusion(LeafHash(records[44]), 44, 33, path, root).ok());
  EXPECT_FALSE(VerifyInclusion(LeafHash(records[44]), 44, 200, path, root).ok());
  EXPECT_FALSE(VerifyInclusion(LeafHash(records[44]), 77, 77, path, root).ok());
  EXPECT_FALSE(VerifyConsistency(46, 77, old_root, root, proof).ok());
  EXPECT_FALSE(VerifyConsistency(45, 130, old_root, root, proof).ok());
  EXPECT_FALSE(VerifyConsistency(77, 45, root, old_root, proof).ok());
  EXPECT_FALSE(VerifyConsistency(45, 45, old_root, root, {}).ok());
  for (size_t i = 0; i < path.size(); ++i) {
    for (int bit : {0, 7 * 8 + 3, 255}) {
      auto changed = path;
      changed[i][bit / 8] ^= static_cast<unsigned char>(1 << (bit % 8));
      EXPECT_FALSE(VerifyInclusion(LeafHash(records[44]), 44, 77, changed, root).ok()) << i << " " << bit;
    }
  }
  for (size_t i = 0; i < proof.size(); ++i) {
    auto changed = proof;
    changed[i][31] ^= 1;
    EXPECT_FALSE(VerifyConsistency(45, 77, old_root, root, changed).ok()) << i;
    auto shorter = proof;
    shorter.erase(shorter.begin() + static_cast<ptrdiff_t>(i));
    EXPECT_FALSE(VerifyConsistency(45, 77, old_root, root, shorter).ok()) << i;
  }
  auto longer = path;
  longer.push_back(root);
  EXPECT_FALSE(VerifyInclusion(LeafHash(records[44]), 44, 77, longer, root).ok());
}

// Beyond the second stored level (65,536 leaves): random leaves and sizes against the
// model, and the reads a proof costs stay logarithmic.
TEST(Merkle, LargeTreesProveRandomLeavesWithLogarithmicReads) {
  constexpr int kLeaves = 70'000;
  const auto records = Records(kLeaves);
  Model model(records);
  MemoryHashStore store;
  auto tree = MerkleTree::Open(&store).value();
  for (const auto& r : records) tree->AppendRecord(r);
  ASSERT_TRUE(tree->Flush().ok());
  const uint64_t seed = std::random_device{}();
  std::mt19937_64 rng(seed);
  for (int round = 0; round < 200; ++round) {
    const int64_t n = std::uniform_int_distribution<int64_t>(1, kLeaves)(rng);
    const int64_t m = std::uniform_int_distribution<int64_t>(0, n - 1)(rng);
    const int64_t reads_before = store.reads();
    const auto path = tree->InclusionProof(m, n).value();
    EXPECT_LE(store.reads() - reads_before, 2 * 17 + 2) << "seed " << seed;
    ASSERT_EQ(path, model.Path(m, 0, n)) << "seed " << seed << " leaf " << m << " of " << n;
    const auto proof = tree->ConsistencyProof(m + 1, n).value();
    if (m + 1 < n) {
      ASSERT_EQ(proof, model.Proof(m + 1, n)) << "seed " << seed;
    }
    ASSERT_TRUE(VerifyConsistency(m + 1, n, model.Mth(0, m + 1), model.Mth(0, n), proof).ok()) << "seed " << seed;
  }
  // Reopening finds the same right edge, and appends continue from it.
  auto reopened = MerkleTree::Open(&store).value();
  EXPECT_EQ(reopened->size(), kLeaves);
  EXPECT_EQ(reopened->Root(), model.Mth(0, kLeaves));
}

class FileStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ::testing::TempDir() + "/merkle-" + std::to_string(::getpid()) + "-" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::filesystem::remove_all(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string dir_;
};

TEST_F(FileStoreTest, AReopenedTreeContinuesWhereItWasFlushed) {
  const auto records = Records(1000);
  Model model(records);
  {
    auto store = FileHashStore::Open(dir_, false).value();
    auto tree = MerkleTree::Open(store.get()).value();
    for (int i = 0; i < 600; ++i) tree->AppendRecord(records[i]);
    ASSERT_TRUE(tree->Flush().ok());
  }
  auto store = FileHashStore::Open(dir_, false).value();
  auto tree = MerkleTree::Open(store.get()).value();
  ASSERT_EQ(tree->size(), 600);
  EXPECT_EQ(tree->Root(), model.Mth(0, 600));
  for (int i = 600; i < 1000; ++i) tree->AppendRecord(records[i]);
  ASSERT_TRUE(tree->Flush().ok());
  EXPECT_EQ(tree->Root(), model.Mth(0, 1000));
  EXPECT_EQ(tree->InclusionProof(517, 999).value(), model.Path(517, 0, 999));
  auto read_only = FileHashStore::Open(dir_, true).value();
  auto reader = MerkleTree::Open(read_only.get()).value();
  EXPECT_EQ(reader->RootAt(700).value(), model.Mth(0, 700));
}

TEST_F(FileStoreTest, WhatACrashLeftBeyondTheWholeTreeIsCut) {
  const auto records = Records(700);
  Model model(records);
  {
    auto store = FileHashStore::Open(dir_, false).value();
    auto tree = MerkleTree::Open(store.get()).value();
    for (int i = 0; i < 700; ++i) tree->AppendRecord(records[i]);
    ASSERT_TRUE(tree->Flush().ok());
  }
  // Level 8 holds 2 entries (512 leaves); a crash before its append reached the disk
  // leaves one, and a torn leaf entry at the end.
  std::filesystem::resize_file(dir_ + "/level-08", 36);
  {
    std::FILE* f = std::fopen((dir_ + "/level-00").c_str(), "ab");
    std::fwrite("torn", 1, 4, f);
    std::fclose(f);
  }
  auto store = FileHashStore::Open(dir_, false).value();
  auto tree = MerkleTree::Open(store.get()).value();
  EXPECT_EQ(tree->size(), 511);
  EXPECT_EQ(tree->Root(), model.Mth(0, 511));
  EXPECT_EQ(std::filesystem::file_size(dir_ + "/level-00"), 511u * 36);
}

TEST_F(FileStoreTest, AnyChangedByteOfAStoredHashIsDataLossNeverAWrongProof) {
  const auto records = Records(300);
  {
    auto store = FileHashStore::Open(dir_, false).value();
    auto tree = MerkleTree::Open(store.get()).value();
    for (const auto& r : records) tree->AppendRecord(r);
    ASSERT_TRUE(tree->Flush().ok());
  }
  const std::string file = dir_ + "/level-00";
  for (int64_t offset : {int64_t{0}, int64_t{31}, int64_t{33}, int64_t{36 * 200 + 5}}) {
    const int fd = ::open(file.c_str(), O_RDWR);
    char byte;
    ASSERT_EQ(::pread(fd, &byte, 1, offset), 1);
    const char changed = static_cast<char>(byte ^ 0x40);
    ASSERT_EQ(::pwrite(fd, &changed, 1, offset), 1);
    auto store = FileHashStore::Open(dir_, true).value();
    auto tree = MerkleTree::Open(store.get()).value();
    bool caught = false;
    for (int64_t leaf = 0; leaf < 300 && !caught; ++leaf) {
      auto path = tree->InclusionProof(leaf, 300);
      if (!path.ok()) {
        EXPECT_EQ(path.status().code(), absl::StatusCode::kDataLoss);
        EXPECT_THAT(path.status().message(), ::testing::HasSubstr("level-00 entry"));
        caught = true;
      }
    }
    EXPECT_TRUE(caught) << "offset " << offset;
    ASSERT_EQ(::pwrite(fd, &byte, 1, offset), 1);
    ::close(fd);
  }
}

}  // namespace
}  // namespace tori::merkle
