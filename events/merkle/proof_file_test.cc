// Proof files in process: a real tree over a log with an issued invoice, its proof
// verifies, and every changed byte of it is refused.
#include "events/merkle/proof_file.h"

#include <unistd.h>

#include <filesystem>

#include "events/base/sha256.h"
#include "events/codec/codec.h"
#include "events/log/embedded_log.h"
#include "events/merkle/log_tree.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace tori::merkle {
namespace {

class ProofFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ::testing::TempDir() + "/proof-file-" + std::to_string(::getpid()) + "-" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::filesystem::remove_all(dir_);
    host_ = note::Signer::Generate("espoo.fi/tori").value();
    Build("right", 280, -1);
  }

  // A log of 341 records whose record 300 issues the invoice, computed at as_of = the
  // first 280 records; its event records the head of `head_size` records with byte
  // `flip_root_byte` of the root changed (-1: none). proof_ and consistency_ are its.
  void Build(const std::string& name, int64_t head_size, int flip_root_byte) {
    dir_ = ::testing::TempDir() + "/proof-file-" + std::to_string(::getpid()) + "-" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name();
    dir_ += "/" + name;
    auto log = EmbeddedLog::Open(dir_ + "/log").value();
    std::vector<std::string> payloads;
    for (int i = 0; i < 300; ++i) payloads.push_back("record " + std::to_string(i));
    events::Event event;
    event.set_event_id("tori-issued:2026Q1-espoo-kela");
    event.mutable_invoice_issued()->set_invoice_id("2026Q1-espoo-kela");
    event.mutable_invoice_issued()->set_content_sha256(Sha256Hex(kDocument));
    TreeEdge as_of;
    for (int i = 0; i < 280; ++i) as_of.AppendRecord(payloads[i]);
    auto* head = event.mutable_invoice_issued()->add_tree_heads();
    head->set_tree_size(head_size);
    head->set_root_hash(std::string(reinterpret_cast<const char*>(as_of.Root().data()), 32));
    if (flip_root_byte >= 0) (*head->mutable_root_hash())[flip_root_byte] ^= 1;
    payloads.push_back(event.SerializeAsString());
    for (int i = 0; i < 40; ++i) payloads.push_back("later " + std::to_string(i));
    std::vector<AppendRecord> batch;
    for (const auto& p : payloads) batch.push_back({"", p});
    ASSERT_TRUE(log->Append(batch).ok());
    auto trees = LogTrees::Open(dir_ + "/merkle", 1, false).value();
    ASSERT_TRUE(trees->CatchUp(*log).ok());
    MerkleTree& tree = trees->partition(0).tree();
    const note::Checkpoint c{"espoo.fi/tori/p0", tree.size(), tree.Root(), {}};
    const std::string checkpoint = note::Sign(note::Note{c.Text(), {}}, host_).Format();
    proof_ = InclusionProofFile{"invoice", "2026Q1-espoo-kela", std::string(kDocument), 0, 300, payloads[300],
                                tree.InclusionProof(300, tree.size()).value(),
                                tree.ConsistencyProof(head_size, tree.size()).value(), checkpoint};
    const note::Checkpoint old{"espoo.fi/tori/p0", 123, tree.RootAt(123).value(), {}};
    consistency_ = ConsistencyProofFile{note::Sign(note::Note{old.Text(), {}}, host_).Format(), checkpoint,
                                        tree.ConsistencyProof(123, tree.size()).value()};
  }
  void TearDown() override { std::filesystem::remove_all(std::filesystem::path(dir_).parent_path()); }

  absl::StatusOr<std::string> Check(std::string_view json) {
    auto proof = ParseProofFile(json);
    if (!proof.ok()) return proof.status();
    return VerifyProofFile(*proof, {host_.verifier()});
  }

  static constexpr std::string_view kDocument = R"({"invoice_id":"2026Q1-espoo-kela","total_cents":1200,"note":"ä\n"})";
  std::string dir_;
  note::Signer host_;
  InclusionProofFile proof_;
  ConsistencyProofFile consistency_;
};

TEST_F(ProofFileTest, AProofVerifiesAndAnyChangedByteIsRefused) {
  for (const std::string& json : {proof_.ToJson(), consistency_.ToJson()}) {
    auto ok = Check(json);
    ASSERT_TRUE(ok.ok()) << ok.status();
    for (size_t i = 0; i < json.size(); ++i) {
      for (unsigned char flip : {0x01, 0x02, 0x20}) {
        std::string changed = json;
        changed[i] = static_cast<char>(changed[i] ^ flip);
        EXPECT_FALSE(Check(changed).ok()) << "byte " << i << " ^ " << int{flip} << ": " << changed;
      }
    }
  }
}

TEST_F(ProofFileTest, EachCheckNamesWhatDoesNotHold) {
  auto with = [&](auto change) {
    InclusionProofFile p = proof_;
    change(p);
    auto r = Check(p.ToJson());
    return r.ok() ? std::string("OK") : std::string(r.status().message());
  };
  EXPECT_THAT(with([](auto& p) { p.document += " "; }), ::testing::HasSubstr("the document was changed"));
  EXPECT_THAT(with([](auto& p) { p.document_id = "2026Q1-espoo-vero"; }), ::testing::HasSubstr("the record issued"));
  EXPECT_THAT(with([](auto& p) { p.document_kind = "subsidy_claim"; }), ::testing::HasSubstr("not the event that issued"));
  EXPECT_THAT(with([](auto& p) { p.partition = 1; }), ::testing::HasSubstr("is not of partition 1"));
  EXPECT_THAT(with([](auto& p) { p.leaf_index = 301; }), ::testing::HasSubstr("record 301 in the tree"));
  EXPECT_THAT(with([](auto& p) { p.path.pop_back(); }), ::testing::HasSubstr("shorter than the tree is high"));
  EXPECT_THAT(with([](auto& p) { p.as_of_consistency_path.reset(); }),
              ::testing::HasSubstr("has no as_of_consistency_path"));
  EXPECT_THAT(with([](auto& p) { p.as_of_consistency_path->pop_back(); }),
              ::testing::HasSubstr("is not a prefix of the checkpoint's tree"));
  auto other = note::Signer::Generate("espoo.fi/tori").value();
  auto proof = ParseProofFile(proof_.ToJson()).value();
  EXPECT_THAT(std::string(VerifyProofFile(proof, {other.verifier()}).status().message()),
              ::testing::HasSubstr("not signed by key 'espoo.fi/tori'"));
}

// The head the event recorded is signed into the record, so a wrong one (a host that
// recorded another history than the one it published) fails however the proof is made.
TEST_F(ProofFileTest, AWrongTreeHeadRecordedAtAsOfIsRefused) {
  auto with_head = [&](const std::string& name, int64_t size, int flip_root_byte) {
    Build(name, size, flip_root_byte);
    auto r = Check(proof_.ToJson());
    return r.ok() ? std::string("OK") : std::string(r.status().message());
  };
  EXPECT_EQ(with_head("again", 280, -1), "OK");
  EXPECT_THAT(with_head("smaller", 279, -1), ::testing::HasSubstr("not a prefix of the checkpoint's tree"));
  EXPECT_THAT(with_head("root", 280, 7), ::testing::HasSubstr("not a prefix of the checkpoint's tree"));
  EXPECT_THAT(with_head("after", 301, -1), ::testing::HasSubstr("but it is record 300 itself"));
  EXPECT_THAT(std::string(RecordedTreeHead(proof_.record, 1).status().message()),
              ::testing::HasSubstr("none of partition 1"));
}

}  // namespace
}  // namespace tori::merkle
