// Signed notes and checkpoints (C2SP signed-note, tlog-checkpoint): how a log's tree
// head is signed by its host and cosigned by witnesses, in the formats Go's sumdb and
// the transparency-dev tools read.
//
// Keys (Ed25519 through OpenSSL's EVP): a key has a name (1..128 bytes of printable
// ASCII, no '+') and an id, the first 4 bytes (big-endian) of SHA-256(name || 0x0A ||
// 0x01 || public key). Texts:
//   verifier key  NAME+ID8HEX+base64(0x01 || public key)             (NAME.pub)
//   signer key    PRIVATE+KEY+NAME+ID8HEX+base64(0x01 || seed)       (NAME.key)
// Note: text (UTF-8 lines, each ending in '\n', no other control characters), an empty
// line, then one or more lines "— NAME base64(key id || signature)\n"; the signature
// is over the text. Checkpoint text: origin line, tree size (decimal), base64 root
// hash, then optional extension lines.
//
// Every parser is strict: base64 must be canonical (so a changed byte never decodes to
// the same bytes), key ids must match the key, sizes have no leading zeros. Any
// changed byte of a note, key or signature is refused.
//
// Thread safety: values; functions are thread-safe.
#ifndef TORI_EVENTS_MERKLE_NOTE_H_
#define TORI_EVENTS_MERKLE_NOTE_H_

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "events/merkle/merkle.h"

namespace tori::note {

inline constexpr size_t kEd25519KeyBytes = 32;
inline constexpr size_t kEd25519SignatureBytes = 64;
inline constexpr size_t kNoteBytesMax = 1 << 20;
inline constexpr size_t kSignaturesMax = 100;
using KeyBytes = std::array<unsigned char, kEd25519KeyBytes>;

std::string Base64(std::string_view bytes);
// Canonical (padded) base64 only; nullopt for anything else.
std::optional<std::string> FromBase64(std::string_view text);

// Whether `name` is a valid key name (see above).
bool ValidKeyName(std::string_view name);
uint32_t KeyId(std::string_view name, const KeyBytes& public_key);

struct Verifier {
  std::string name;
  uint32_t key_id = 0;
  KeyBytes public_key{};

  static absl::StatusOr<Verifier> Parse(std::string_view text);  // surrounding spaces ignored
  std::string Text() const;
  bool Verify(std::string_view message, std::string_view signature) const;
};

struct Signer {
  std::string name;
  uint32_t key_id = 0;
  KeyBytes seed{};
  KeyBytes public_key{};

  static absl::StatusOr<Signer> Generate(std::string_view name);
  static absl::StatusOr<Signer> Parse(std::string_view text);
  std::string Text() const;
  Verifier verifier() const { return Verifier{name, key_id, public_key}; }
  std::string Sign(std::string_view message) const;  // 64 bytes
};

struct Signature {
  std::string name;
  uint32_t key_id = 0;
  std::string bytes;  // the signature without the key id
};

struct Note {
  std::string text;  // ends in '\n'
  std::vector<Signature> signatures;

  std::string Format() const;
};

// The note's form only (no signature checked).
absl::StatusOr<Note> ParseNote(std::string_view message);
// `note` with the signer's signature of its text added (replacing one by the same key).
Note Sign(Note note, const Signer& signer);
// OK when each of `verifiers` signed the note's text with a valid signature; names the
// first key that did not. Signatures of other keys are ignored; a signature by one of
// the keys that does not verify, or two by one key, is an error.
absl::Status Verify(const Note& note, absl::Span<const Verifier> verifiers);

struct Checkpoint {
  std::string origin;
  int64_t tree_size = 0;
  merkle::Hash root{};
  std::vector<std::string> extensions;  // lines after the root, without '\n'

  std::string Text() const;
  static absl::StatusOr<Checkpoint> Parse(std::string_view text);
};

}  // namespace tori::note

#endif  // TORI_EVENTS_MERKLE_NOTE_H_
