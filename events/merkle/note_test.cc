// Signed notes, keys and checkpoints: Go's sumdb/note example as a known answer, and
// every changed byte of a note, a key or a signature refused.
#include "events/merkle/note.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace tori::note {
namespace {

// golang.org/x/mod/sumdb/note's package example (Ed25519 is deterministic, so signing
// must give the published note byte for byte).
constexpr std::string_view kGoSigner = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
constexpr std::string_view kGoVerifier = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
constexpr std::string_view kGoText =
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n";
constexpr std::string_view kGoNote =
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
    "\n"
    "\xE2\x80\x94 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";

bool Accepted(std::string_view note_text, std::string_view verifier_text) {
  auto note = ParseNote(note_text);
  auto verifier = Verifier::Parse(verifier_text);
  return note.ok() && verifier.ok() && Verify(*note, {*verifier}).ok();
}

TEST(Note, GoSumdbExampleSignsAndVerifiesByteForByte) {
  auto signer = Signer::Parse(kGoSigner);
  ASSERT_TRUE(signer.ok()) << signer.status();
  EXPECT_EQ(signer->Text(), kGoSigner);
  EXPECT_EQ(signer->verifier().Text(), kGoVerifier);
  EXPECT_EQ(Sign(Note{std::string(kGoText), {}}, *signer).Format(), kGoNote);
  EXPECT_TRUE(Accepted(kGoNote, kGoVerifier));
}

TEST(Note, AnyChangedByteOfTheNoteIsRefused) {
  for (size_t i = 0; i < kGoNote.size(); ++i) {
    for (unsigned char flip : {0x01, 0x20, 0x80}) {
      std::string changed(kGoNote);
      changed[i] = static_cast<char>(changed[i] ^ flip);
      EXPECT_FALSE(Accepted(changed, kGoVerifier)) << "byte " << i << " ^ " << int{flip};
    }
  }
  // Cut short or lengthened.
  EXPECT_FALSE(Accepted(kGoNote.substr(0, kGoNote.size() - 1), kGoVerifier));
  EXPECT_FALSE(Accepted(std::string(kGoNote) + "x", kGoVerifier));
  EXPECT_FALSE(Accepted(std::string("x") + std::string(kGoNote), kGoVerifier));
}

TEST(Note, AnyChangedByteOfAKeyIsRefused) {
  for (size_t i = 0; i < kGoVerifier.size(); ++i) {
    std::string changed(kGoVerifier);
    changed[i] = static_cast<char>(changed[i] ^ 0x01);
    EXPECT_FALSE(Accepted(kGoNote, changed)) << "byte " << i;
  }
  for (size_t i = 0; i < kGoSigner.size(); ++i) {
    std::string changed(kGoSigner);
    changed[i] = static_cast<char>(changed[i] ^ 0x01);
    auto signer = Signer::Parse(changed);
    if (!signer.ok()) continue;
    // A changed key that still parses signs as another key: not the note's signer.
    EXPECT_NE(signer->verifier().Text(), kGoVerifier) << "byte " << i;
  }
}

TEST(Note, GeneratedKeysSignAndEveryKeyGivenMustHaveSigned) {
  auto host = Signer::Generate("espoo.fi/tori").value();
  auto witness = Signer::Generate("tarkastuslautakunta.espoo.fi").value();
  EXPECT_EQ(Signer::Parse(host.Text()).value().Text(), host.Text());
  EXPECT_EQ(Verifier::Parse(host.verifier().Text() + "\n").value().Text(), host.verifier().Text());
  Checkpoint c{"espoo.fi/tori/p0", 1234, merkle::LeafHash("x"), {}};
  Note note = Sign(Note{c.Text(), {}}, host);
  EXPECT_TRUE(Verify(note, {host.verifier()}).ok());
  auto unsigned_by_witness = Verify(note, {host.verifier(), witness.verifier()});
  EXPECT_THAT(unsigned_by_witness.message(), ::testing::HasSubstr("not signed by key 'tarkastuslautakunta.espoo.fi'"));
  note = Sign(note, witness);
  const std::string text = note.Format();
  auto parsed = ParseNote(text).value();
  EXPECT_TRUE(Verify(parsed, {host.verifier(), witness.verifier()}).ok());
  EXPECT_EQ(Checkpoint::Parse(parsed.text).value().Text(), c.Text());
  // Signing again by one key replaces its signature rather than adding a second.
  EXPECT_EQ(Sign(note, witness).signatures.size(), 2u);
  // A duplicated signature line is refused.
  auto doubled = parsed;
  doubled.signatures.push_back(doubled.signatures[0]);
  EXPECT_FALSE(Verify(doubled, {host.verifier()}).ok());
  EXPECT_FALSE(Signer::Generate("has space").ok());
  EXPECT_FALSE(Signer::Generate("has+plus").ok());
}

TEST(Checkpoint, ParsesTheC2spFormAndRefusesOthers) {
  const std::string root = Base64(std::string(32, 'r'));
  auto c = Checkpoint::Parse("example.com/log\n42\n" + root + "\next one\n").value();
  EXPECT_EQ(c.origin, "example.com/log");
  EXPECT_EQ(c.tree_size, 42);
  EXPECT_THAT(c.extensions, ::testing::ElementsAre("ext one"));
  EXPECT_EQ(c.Text(), "example.com/log\n42\n" + root + "\next one\n");
  for (const std::string& bad : std::vector<std::string>{"example.com/log\n42\n" + root, "\n42\n" + root + "\n",
                                "example.com/log\n042\n" + root + "\n", "example.com/log\n-1\n" + root + "\n",
                                "example.com/log\n4 2\n" + root + "\n", "example.com/log\n42\n\n",
                                "example.com/log\n42\n" + Base64(std::string(31, 'r')) + "\n",
                                "example.com/log\n42\n" + root + "\n\n", "example.com/log\n42\n"}) {
    EXPECT_FALSE(Checkpoint::Parse(bad).ok()) << bad;
  }
}

TEST(Base64, OnlyTheCanonicalTextDecodes) {
  EXPECT_EQ(FromBase64("AAE=").value(), std::string("\0\1", 2));
  EXPECT_FALSE(FromBase64("AAF=").has_value());  // unused bits set
  EXPECT_FALSE(FromBase64("AAE").has_value());
  EXPECT_FALSE(FromBase64("A=E=").has_value());
  EXPECT_FALSE(FromBase64("AA\nE").has_value());
  EXPECT_EQ(FromBase64("").value(), "");
}

}  // namespace
}  // namespace tori::note
