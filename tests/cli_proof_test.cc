// SPEC section 10 end to end: an agency checks its invoice with nothing but the proof
// and the host's public key, any changed byte of the proof (document, record, path,
// checkpoint) is refused, and a rewritten history is caught by the consistency proof
// and by a witness.
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "events/base/crc32c.h"
#include "fmt/format.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/run_command.h"

namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

tori::testing::CommandResult Tori(const std::string& args) {
  return tori::testing::RunCommand(fmt::format("{} {}", TORI_BINARY, args));
}

std::string ReadAll(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void WriteAll(const fs::path& path, const std::string& text) { std::ofstream(path, std::ios::binary) << text; }

// Rewrites one byte of the payload of the embedded log's record at `offset`, with the
// record's checksums made to match: a forger's edit that the log's own checks miss.
void RewriteRecord(const fs::path& log_dir, int64_t offset) {
  for (const auto& entry : fs::directory_iterator(log_dir)) {
    if (entry.path().extension() != ".log") continue;
    std::string bytes = ReadAll(entry.path());
    auto u32 = [&](size_t at) {
      uint32_t v = 0;
      for (int i = 0; i < 4; ++i) v |= uint32_t{static_cast<unsigned char>(bytes[at + i])} << (8 * i);
      return v;
    };
    auto put32 = [&](size_t at, uint32_t v) {
      for (int i = 0; i < 4; ++i) bytes[at + i] = static_cast<char>(v >> (8 * i));
    };
    for (size_t at = 8; at + 20 <= bytes.size();) {
      const uint32_t size = u32(at);
      int64_t record_offset = 0;
      for (int i = 0; i < 8; ++i) record_offset |= int64_t{static_cast<unsigned char>(bytes[at + 4 + i])} << (8 * i);
      if (record_offset == offset) {
        bytes[at + 20 + size / 2] ^= 0x01;
        put32(at + 12, tori::Crc32c(0, bytes.data() + at + 20, size));
        put32(at + 16, tori::Crc32c(0, bytes.data() + at, 16));
        WriteAll(entry.path(), bytes);
        return;
      }
      at += 20 + size;
    }
  }
  FAIL() << "no record at offset " << offset << " in " << log_dir;
}

class CliProofTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / fmt::format("tori-cli-proof-test-{}-{}", ::getpid(),
                                                   ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "empty");
    data_ = (dir_ / "data").string();
    auto ingest = Tori(fmt::format("ingest --data {} {}/examples/sample.jsonl", data_, TORI_SOURCE_DIR));
    ASSERT_EQ(ingest.exit_code, 0) << ingest.out;
    auto bill = Tori(fmt::format("bill --data {} --quarter 2026Q1 --out {}", data_, (dir_ / "q1").string()));
    ASSERT_EQ(bill.exit_code, 0) << bill.out;
    for (const char* name : {"host", "auditor"}) {
      auto keygen = Tori(fmt::format("keygen --out {} --name {}", (dir_ / name).string(),
                                     std::string(name) == "host" ? "espoo.fi/tori" : "tarkastus.espoo.fi"));
      ASSERT_EQ(keygen.exit_code, 0) << keygen.out;
    }
  }
  void TearDown() override { fs::remove_all(dir_); }

  tori::testing::CommandResult Checkpoint(const std::string& data) {
    return Tori(fmt::format("checkpoint --data {} --key {}", data, (dir_ / "host.key").string()));
  }
  // `tori verify-proof` run in an empty directory, with no data directory anywhere.
  tori::testing::CommandResult VerifyProof(const fs::path& proof, const std::string& keys = "host") {
    std::string flags;
    for (const auto& k : {std::string("host"), std::string("auditor")}) {
      if (keys.find(k) != std::string::npos) flags += " --public-key " + (dir_ / (k + ".pub")).string();
    }
    return tori::testing::RunCommand(
        fmt::format("cd {} && {} verify-proof {}{}", (dir_ / "empty").string(), TORI_BINARY, proof.string(), flags));
  }
  // The one checkpoint file of size `size` of partition 0.
  fs::path CheckpointFile(const std::string& data, int64_t size) {
    return fs::path(data) / "checkpoints/p0" / fmt::format("{:020}", size);
  }
  int64_t LogRecords(const std::string& data) {
    auto status = Tori("status --json --data " + data);
    const size_t at = status.out.find("\"log_records\":");
    return std::stoll(status.out.substr(at + 14));
  }

  fs::path dir_;
  std::string data_;
};

TEST_F(CliProofTest, AnInvoicesProofVerifiesInAnEmptyDirectoryAndAnyChangedByteIsRefused) {
  auto checkpoint = Checkpoint(data_);
  ASSERT_EQ(checkpoint.exit_code, 0) << checkpoint.out;
  const fs::path proof = dir_ / "kela.json";
  auto made = Tori(fmt::format("proof --data {} --invoice 2026Q1-espoo-kela --out {}", data_, proof.string()));
  ASSERT_EQ(made.exit_code, 0) << made.out;
  auto ok = VerifyProof(proof);
  ASSERT_EQ(ok.exit_code, 0) << ok.out;
  EXPECT_THAT(ok.out, HasSubstr("OK: invoice 2026Q1-espoo-kela"));
  // The tree head its event recorded at as_of (the one invoices.json shows; `tori proof`
  // made the proof only because the host's tree in DIR/merkle gives the same root) is
  // a prefix of the signed tree.
  EXPECT_THAT(ok.out, HasSubstr("; it was computed from the log's first "));
  EXPECT_THAT(ReadAll(dir_ / "q1/invoices.json"), HasSubstr("\"tree_heads\":{\"p0\":{\"tree_size\":"));
  EXPECT_THAT(ReadAll(proof), HasSubstr("\"as_of_consistency_path\": ["));
  // The document in the proof is the one in invoices.json, byte for byte.
  const std::string issued = ReadAll(dir_ / "q1/invoices.json");
  const std::string text = ReadAll(proof);
  EXPECT_THAT(text, HasSubstr("\"document_id\": \"2026Q1-espoo-kela\""));
  const size_t document_at = text.find("\"document\": \"") + 13;
  std::string document;
  for (size_t i = document_at; text[i] != '"'; ++i) {
    if (text[i] == '\\') ++i;
    document += text[i];
  }
  EXPECT_THAT(issued, HasSubstr(document));
  EXPECT_THAT(document, HasSubstr("\"invoice_id\":\"2026Q1-espoo-kela\""));
  // By the number printed on the invoice too: the same proof.
  auto by_number = Tori(fmt::format("proof --data {} --invoice 2026100001 --out {}", data_, (dir_ / "n.json").string()));
  ASSERT_EQ(by_number.exit_code, 0) << by_number.out;
  // Bytes of the proof changed in turn, every 41st (every byte is changed in process by
  // events/merkle/proof_file_test.cc): one run of verify-proof each, in one shell.
  const fs::path changed_dir = dir_ / "changed";
  fs::create_directories(changed_dir);
  for (size_t i = 0; i < text.size(); i += 41) {
    std::string changed = text;
    changed[i] = static_cast<char>(changed[i] ^ 0x01);
    WriteAll(changed_dir / fmt::format("{:05}", i), changed);
  }
  auto accepted = tori::testing::RunCommand(fmt::format(
      "cd {} && for f in {}/*; do {} verify-proof $f --public-key {} >/dev/null 2>&1 && echo ACCEPTED $f; done; "
      "echo done",
      (dir_ / "empty").string(), changed_dir.string(), TORI_BINARY, (dir_ / "host.pub").string()));
  EXPECT_EQ(accepted.out, "done\n") << "changed proofs that verified:\n" << accepted.out.substr(0, 2000);
  // Another key, a wrong witness, or a changed public key.
  EXPECT_EQ(VerifyProof(proof, "auditor").exit_code, 1);
  auto no_witness = VerifyProof(proof, "host auditor");
  EXPECT_EQ(no_witness.exit_code, 1);
  EXPECT_THAT(no_witness.out, HasSubstr("not signed by key 'tarkastus.espoo.fi'"));
  std::string pub = ReadAll(dir_ / "host.pub");
  pub[pub.size() / 2] ^= 0x01;
  WriteAll(dir_ / "changed.pub", pub);
  EXPECT_EQ(Tori(fmt::format("verify-proof {} --public-key {}", proof.string(), (dir_ / "changed.pub").string()))
                .exit_code,
            1);
}

TEST_F(CliProofTest, ADocumentChangedInTheProofIsNamedAsChanged) {
  ASSERT_EQ(Checkpoint(data_).exit_code, 0);
  const fs::path proof = dir_ / "kela.json";
  ASSERT_EQ(Tori(fmt::format("proof --data {} --invoice 2026Q1-espoo-kela --out {}", data_, proof.string())).exit_code, 0);
  std::string text = ReadAll(proof);
  const size_t total = text.find("\\\"total_cents\\\":");
  ASSERT_NE(total, std::string::npos);
  text[total + 17] = text[total + 17] == '9' ? '8' : '9';
  WriteAll(proof, text);
  auto run = VerifyProof(proof);
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_THAT(run.out, HasSubstr("the document does not hash to the content_sha256 its issuing event recorded"));
}

TEST_F(CliProofTest, AProofNeedsACheckpointThatCoversTheInvoice) {
  auto run = Tori(fmt::format("proof --data {} --invoice 2026Q1-espoo-kela --out {}", data_, (dir_ / "p.json").string()));
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_THAT(run.out, HasSubstr("tori checkpoint"));
}

TEST_F(CliProofTest, TheCheckpointIsInTheLogAndTheCheckpointsDirectoryIsACache) {
  auto checkpoint = Checkpoint(data_);
  ASSERT_EQ(checkpoint.exit_code, 0) << checkpoint.out;
  // The signed checkpoint is the log's last event; the tree it signs is the one before it.
  const int64_t size = LogRecords(data_) - 1;
  const std::string note = ReadAll(CheckpointFile(data_, size));
  ASSERT_FALSE(note.empty());
  auto log = Tori(fmt::format("log --data {} --type checkpoint_signed", data_));
  ASSERT_EQ(log.exit_code, 0) << log.out;
  EXPECT_THAT(log.out, HasSubstr("\"type\":\"checkpoint_signed\""));
  EXPECT_THAT(log.out, HasSubstr(fmt::format("\"origin\":\"espoo.fi/tori/p0\",\"tree_size\":{}", size)));
  // A second checkpoint signs the tree that holds the first one's event, and appends its own.
  ASSERT_EQ(Checkpoint(data_).exit_code, 0);
  EXPECT_TRUE(fs::exists(CheckpointFile(data_, size + 1)));
  EXPECT_EQ(LogRecords(data_), size + 2);
  const std::string second = ReadAll(CheckpointFile(data_, size + 1));
  // Without DIR/checkpoints, `tori proof` restores it from the log, byte for byte.
  fs::remove_all(fs::path(data_) / "checkpoints");
  const fs::path proof = dir_ / "kela.json";
  auto made = Tori(fmt::format("proof --data {} --invoice 2026Q1-espoo-kela --out {}", data_, proof.string()));
  ASSERT_EQ(made.exit_code, 0) << made.out;
  EXPECT_THAT(made.out, HasSubstr("2 checkpoints restored from the log"));
  EXPECT_EQ(ReadAll(CheckpointFile(data_, size)), note);
  EXPECT_EQ(ReadAll(CheckpointFile(data_, size + 1)), second);
  auto ok = VerifyProof(proof);
  ASSERT_EQ(ok.exit_code, 0) << ok.out;
  EXPECT_THAT(ok.out, HasSubstr("OK: invoice 2026Q1-espoo-kela"));
  // `tori checkpoint` restores the cache too, and signs only the new tree of partition 0.
  fs::remove_all(fs::path(data_) / "checkpoints");
  auto again = Checkpoint(data_);
  ASSERT_EQ(again.exit_code, 0) << again.out;
  EXPECT_THAT(again.out, HasSubstr("2 checkpoints restored from the log"));
  EXPECT_EQ(ReadAll(CheckpointFile(data_, size + 1)), second);
  EXPECT_TRUE(fs::exists(CheckpointFile(data_, size + 2)));
  EXPECT_EQ(LogRecords(data_), size + 3);
  // The issued documents still recompute from a log that holds checkpoint events.
  auto verify = Tori("verify --data " + data_);
  EXPECT_EQ(verify.exit_code, 0) << verify.out;
}

TEST_F(CliProofTest, AConsistencyProofAndAWitnessCatchARewrittenHistory) {
  // A copy of the data as it stood before any checkpoint, for the forger.
  const std::string forged = (dir_ / "forged").string();
  fs::copy(data_, forged, fs::copy_options::recursive);
  ASSERT_EQ(Checkpoint(data_).exit_code, 0);
  // The checkpoint's own event is the record after the tree it signed.
  const int64_t old_size = LogRecords(data_) - 1;
  const fs::path old_checkpoint = dir_ / "agency-kept.checkpoint";
  fs::copy_file(CheckpointFile(data_, old_size), old_checkpoint);
  const fs::path kela_old = dir_ / "kela-old.json";
  ASSERT_EQ(Tori(fmt::format("proof --data {} --invoice 2026Q1-espoo-kela --out {}", data_, kela_old.string())).exit_code,
            0);
  // The witness cosigns the first checkpoint (trusting the host's key once).
  const std::string witness = fmt::format("--key {} --state {}", (dir_ / "auditor.key").string(), (dir_ / "witness").string());
  auto first = Tori(fmt::format("cosign {} {} --log-key {}", CheckpointFile(data_, old_size).string(), witness,
                                (dir_ / "host.pub").string()));
  ASSERT_EQ(first.exit_code, 0) << first.out;
  // The honest log grows; its new checkpoint extends the old one.
  const std::string more = (dir_ / "more.jsonl").string();
  WriteAll(more,
           R"({"event_id":"more-1","type":"contact_recorded","occurred_at":"2026-04-02T10:00:00Z","contact_id":"more-c1","service_point_id":"iso-omena","agency_id":"kela","service_code":"KELA-ETUUS","channel":"phone","handled_by":"shared_advisor","duration_s":300})"
           "\n");
  auto ingest = Tori(fmt::format("ingest --data {} {}", data_, more));
  ASSERT_EQ(ingest.exit_code, 0) << ingest.out;
  ASSERT_EQ(Checkpoint(data_).exit_code, 0);
  const int64_t new_size = LogRecords(data_) - 1;
  const fs::path consistency = dir_ / "consistency.json";
  auto made = Tori(fmt::format("proof --data {} --consistency {} --out {}", data_, old_checkpoint.string(),
                               consistency.string()));
  ASSERT_EQ(made.exit_code, 0) << made.out;
  auto ok = VerifyProof(consistency);
  ASSERT_EQ(ok.exit_code, 0) << ok.out;
  EXPECT_THAT(ok.out, HasSubstr("is an extension of its first"));
  // An agency that kept the proof of its invoice gives it instead: the same old checkpoint.
  auto from_proof = Tori(fmt::format("proof --data {} --consistency {} --out {}", data_, kela_old.string(),
                                     (dir_ / "from-proof.json").string()));
  ASSERT_EQ(from_proof.exit_code, 0) << from_proof.out;
  EXPECT_EQ(ReadAll(dir_ / "from-proof.json"), ReadAll(consistency));
  auto cosigned = Tori(fmt::format("cosign {} {} --proof {}", CheckpointFile(data_, new_size).string(), witness,
                                   consistency.string()));
  ASSERT_EQ(cosigned.exit_code, 0) << cosigned.out;
  // Proofs now carry the witness's signature too.
  ASSERT_EQ(Tori(fmt::format("proof --data {} --invoice 2026Q1-espoo-kela --out {}", data_,
                             (dir_ / "kela.json").string()))
                .exit_code,
            0);
  EXPECT_EQ(VerifyProof(dir_ / "kela.json", "host auditor").exit_code, 0);

  // The forger rewrites an early record of the copy and rebuilds the tree from it.
  RewriteRecord(fs::path(forged) / "log", 5);
  fs::remove_all(fs::path(forged) / "merkle");
  fs::remove_all(fs::path(forged) / "checkpoints");
  ASSERT_EQ(Checkpoint(forged).exit_code, 0);
  const fs::path forged_old = dir_ / "forged-old.checkpoint";
  fs::copy_file(CheckpointFile(forged, old_size), forged_old);
  // The host's own tool refuses to prove the agency's checkpoint from the rewritten log.
  auto refused = Tori(fmt::format("proof --data {} --consistency {} --out {}", forged, old_checkpoint.string(),
                                  (dir_ / "never.json").string()));
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_THAT(refused.out, HasSubstr("history it signed was rewritten"));
  EXPECT_FALSE(fs::exists(dir_ / "never.json"));
  // A proof from the forger's own old checkpoint verifies against that one only: with
  // the checkpoint the agency kept, the old tree is not a prefix of the new one.
  ASSERT_EQ(Tori(fmt::format("ingest --data {} {}", forged, more)).exit_code, 0);
  ASSERT_EQ(Checkpoint(forged).exit_code, 0);
  const fs::path forged_proof = dir_ / "forged-consistency.json";
  ASSERT_EQ(Tori(fmt::format("proof --data {} --consistency {} --out {}", forged, forged_old.string(),
                             forged_proof.string()))
                .exit_code,
            0);
  ASSERT_EQ(VerifyProof(forged_proof).exit_code, 0);
  std::string text = ReadAll(forged_proof);
  const std::string forged_old_json = [&] {
    std::string out;
    for (char c : ReadAll(forged_old)) out += c == '\n' ? std::string("\\n") : std::string(1, c);
    return out;
  }();
  const std::string kept_json = [&] {
    std::string out;
    for (char c : ReadAll(old_checkpoint)) out += c == '\n' ? std::string("\\n") : std::string(1, c);
    return out;
  }();
  const size_t at = text.find(forged_old_json);
  ASSERT_NE(at, std::string::npos);
  text.replace(at, forged_old_json.size(), kept_json);
  WriteAll(forged_proof, text);
  auto caught = VerifyProof(forged_proof);
  EXPECT_EQ(caught.exit_code, 1);
  EXPECT_THAT(caught.out, HasSubstr("is not a prefix of the new one"));
  // The witness, holding the honest old checkpoint, refuses the forged new one.
  auto witness_refuses = Tori(fmt::format("cosign {} {} --out {} --proof {}",
                                          CheckpointFile(forged, new_size).string(), witness,
                                          (dir_ / "w.checkpoint").string(), forged_proof.string()));
  EXPECT_EQ(witness_refuses.exit_code, 1);
  EXPECT_FALSE(fs::exists(dir_ / "w.checkpoint"));
  // Without any proof: the forger's checkpoint of the size the witness cosigned last
  // has another root, a fork the witness refuses on sight.
  auto fork = Tori(fmt::format("cosign {} {} --out {}", CheckpointFile(forged, new_size).string(), witness,
                               (dir_ / "w2.checkpoint").string()));
  EXPECT_EQ(fork.exit_code, 1);
  EXPECT_THAT(fork.out, HasSubstr("different roots"));
  EXPECT_FALSE(fs::exists(dir_ / "w2.checkpoint"));
}

}  // namespace
