// Signed notes, Ed25519 keys and checkpoints (C2SP signed-note, tlog-checkpoint).
#include "events/merkle/note.h"

#include <openssl/evp.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <memory>

#include "absl/strings/numbers.h"
#include "events/base/check.h"
#include "events/base/sha256.h"
#include "fmt/format.h"

namespace tori::note {
namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr unsigned char kAlgEd25519 = 0x01;
constexpr std::string_view kDash = "\xE2\x80\x94 ";  // U+2014 EM DASH, space
constexpr std::string_view kPrivatePrefix = "PRIVATE+KEY+";

// (Debian's Abseil has its own string_view: these take std's.)
std::vector<std::string_view> Split(std::string_view text, char separator) {
  std::vector<std::string_view> out;
  for (size_t start = 0;;) {
    const size_t end = text.find(separator, start);
    if (end == std::string_view::npos) {
      out.push_back(text.substr(start));
      return out;
    }
    out.push_back(text.substr(start, end - start));
    start = end + 1;
  }
}
std::string_view Strip(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) text.remove_prefix(1);
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.remove_suffix(1);
  return text;
}
bool ConsumePrefix(std::string_view* text, std::string_view prefix) {
  if (!text->starts_with(prefix)) return false;
  text->remove_prefix(prefix.size());
  return true;
}

struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct MdCtxFree {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;
using MdCtx = std::unique_ptr<EVP_MD_CTX, MdCtxFree>;

// "NAME+ID8HEX+BASE64" -> its parts, checking the name, the id's form and the key's.
struct KeyText {
  std::string name;
  uint32_t key_id;
  KeyBytes key;
};
absl::StatusOr<KeyText> ParseKeyText(std::string_view text, std::string_view what) {
  // Name and key id hold no '+'; base64 may.
  std::vector<std::string_view> parts;
  if (const size_t a = text.find('+'); a != std::string_view::npos) {
    if (const size_t b = text.find('+', a + 1); b != std::string_view::npos) {
      parts = {text.substr(0, a), text.substr(a + 1, b - a - 1), text.substr(b + 1)};
    }
  }
  auto bad = [&](std::string_view why) {
    return absl::InvalidArgumentError(fmt::format("{} is not NAME+KEYID+BASE64 ({}): {}", what, why, text.substr(0, 80)));
  };
  if (parts.size() != 3) return bad("three fields joined by '+'");
  if (!ValidKeyName(parts[0])) return bad("the name is 1..128 printable ASCII bytes without '+'");
  if (parts[1].size() != 8 || parts[1].find_first_not_of("0123456789abcdef") != std::string_view::npos) {
    return bad("the key id is 8 lower-case hex digits");
  }
  const auto key = FromBase64(parts[2]);
  if (!key || key->size() != 1 + kEd25519KeyBytes || static_cast<unsigned char>((*key)[0]) != kAlgEd25519) {
    return bad("the key is base64 of 0x01 and 32 bytes of an Ed25519 key");
  }
  KeyText out{std::string(parts[0]), static_cast<uint32_t>(std::stoul(std::string(parts[1]), nullptr, 16)), {}};
  std::memcpy(out.key.data(), key->data() + 1, kEd25519KeyBytes);
  return out;
}

std::string KeyTextOf(std::string_view name, uint32_t key_id, const KeyBytes& key) {
  std::string bytes(1, static_cast<char>(kAlgEd25519));
  bytes.append(reinterpret_cast<const char*>(key.data()), key.size());
  return fmt::format("{}+{:08x}+{}", name, key_id, Base64(bytes));
}

bool ValidNoteText(std::string_view text) {
  if (text.empty() || text.back() != '\n') return false;
  for (unsigned char c : text) {
    if ((c < 0x20 && c != '\n') || c == 0x7f) return false;
  }
  // UTF-8: lead bytes and continuations in order (no overlong or surrogate check
  // needed for a signature's sake: the bytes signed are the bytes read).
  for (size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    const size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : (c >> 3) == 0x1e ? 4 : 0;
    if (n == 0 || i + n > text.size()) return false;
    for (size_t j = 1; j < n; ++j) {
      if ((static_cast<unsigned char>(text[i + j]) >> 6) != 0x2) return false;
    }
    i += n;
  }
  return true;
}

}  // namespace

std::string Base64(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  for (size_t i = 0; i < bytes.size(); i += 3) {
    uint32_t v = static_cast<unsigned char>(bytes[i]) << 16;
    if (i + 1 < bytes.size()) v |= static_cast<unsigned char>(bytes[i + 1]) << 8;
    if (i + 2 < bytes.size()) v |= static_cast<unsigned char>(bytes[i + 2]);
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    out.push_back(i + 1 < bytes.size() ? kAlphabet[(v >> 6) & 63] : '=');
    out.push_back(i + 2 < bytes.size() ? kAlphabet[v & 63] : '=');
  }
  return out;
}

std::optional<std::string> FromBase64(std::string_view text) {
  if (text.size() % 4 != 0) return std::nullopt;
  std::string out;
  uint32_t v = 0;
  int bits = 0;
  size_t padding = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '=') {
      if (i + 2 < text.size()) return std::nullopt;
      ++padding;
      continue;
    }
    if (padding > 0) return std::nullopt;
    const char* p = std::strchr(kAlphabet, c);
    if (p == nullptr || c == '\0') return std::nullopt;
    v = (v << 6) | static_cast<uint32_t>(p - kAlphabet);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((v >> bits) & 0xff));
    }
  }
  // Canonical: the unused low bits of the last character are zero, so exactly one text
  // decodes to these bytes.
  if (Base64(out) != text) return std::nullopt;
  return out;
}

bool ValidKeyName(std::string_view name) {
  if (name.empty() || name.size() > 128) return false;
  return std::all_of(name.begin(), name.end(), [](char c) { return c > 0x20 && c < 0x7f && c != '+'; });
}

uint32_t KeyId(std::string_view name, const KeyBytes& public_key) {
  Sha256 sha;
  const unsigned char sep[2] = {'\n', kAlgEd25519};
  const Sha256Digest d = sha.Update(name).Update(sep, 2).Update(public_key.data(), public_key.size()).Finish();
  return uint32_t{d[0]} << 24 | uint32_t{d[1]} << 16 | uint32_t{d[2]} << 8 | uint32_t{d[3]};
}

// ---------------------------------------------------------------- keys

absl::StatusOr<Verifier> Verifier::Parse(std::string_view text) {
  text = Strip(text);
  TORI_ASSIGN_OR_RETURN(KeyText k, ParseKeyText(text, "the public key"));
  if (KeyId(k.name, k.key) != k.key_id) {
    return absl::InvalidArgumentError(
        fmt::format("the public key of '{}' does not match its key id {:08x}: the key was changed", k.name, k.key_id));
  }
  return Verifier{k.name, k.key_id, k.key};
}

std::string Verifier::Text() const { return KeyTextOf(name, key_id, public_key); }

bool Verifier::Verify(std::string_view message, std::string_view signature) const {
  if (signature.size() != kEd25519SignatureBytes) return false;
  Pkey key(EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, public_key.data(), public_key.size()));
  MdCtx ctx(EVP_MD_CTX_new());
  if (!key || !ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, key.get()) != 1) return false;
  return EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()), signature.size(),
                          reinterpret_cast<const unsigned char*>(message.data()), message.size()) == 1;
}

namespace {
absl::StatusOr<Signer> SignerFromSeed(std::string name, const KeyBytes& seed) {
  Pkey key(EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, seed.data(), seed.size()));
  if (!key) return absl::InternalError("OpenSSL cannot make an Ed25519 key");
  Signer s{std::move(name), 0, seed, {}};
  size_t size = s.public_key.size();
  if (EVP_PKEY_get_raw_public_key(key.get(), s.public_key.data(), &size) != 1 || size != s.public_key.size()) {
    return absl::InternalError("OpenSSL cannot give the Ed25519 public key");
  }
  s.key_id = KeyId(s.name, s.public_key);
  return s;
}
}  // namespace

absl::StatusOr<Signer> Signer::Generate(std::string_view name) {
  if (!ValidKeyName(name)) {
    return absl::InvalidArgumentError(
        fmt::format("key name '{}' must be 1..128 printable ASCII bytes without spaces or '+'", name));
  }
  std::unique_ptr<EVP_PKEY_CTX, decltype(&EVP_PKEY_CTX_free)> ctx(EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, nullptr),
                                                                  EVP_PKEY_CTX_free);
  EVP_PKEY* raw = nullptr;
  if (!ctx || EVP_PKEY_keygen_init(ctx.get()) != 1 || EVP_PKEY_keygen(ctx.get(), &raw) != 1) {
    return absl::InternalError("OpenSSL cannot generate an Ed25519 key");
  }
  Pkey key(raw);
  KeyBytes seed;
  size_t size = seed.size();
  if (EVP_PKEY_get_raw_private_key(key.get(), seed.data(), &size) != 1 || size != seed.size()) {
    return absl::InternalError("OpenSSL cannot give the Ed25519 private key");
  }
  return SignerFromSeed(std::string(name), seed);
}

absl::StatusOr<Signer> Signer::Parse(std::string_view text) {
  text = Strip(text);
  if (!ConsumePrefix(&text, kPrivatePrefix)) {
    return absl::InvalidArgumentError("the private key does not start with PRIVATE+KEY+ (is it a .pub file?)");
  }
  TORI_ASSIGN_OR_RETURN(KeyText k, ParseKeyText(text, "the private key"));
  TORI_ASSIGN_OR_RETURN(Signer s, SignerFromSeed(k.name, k.key));
  if (s.key_id != k.key_id) {
    return absl::InvalidArgumentError(
        fmt::format("the private key of '{}' does not match its key id {:08x}: the key was changed", k.name, k.key_id));
  }
  return s;
}

std::string Signer::Text() const { return std::string(kPrivatePrefix) + KeyTextOf(name, key_id, seed); }

std::string Signer::Sign(std::string_view message) const {
  Pkey key(EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, seed.data(), seed.size()));
  MdCtx ctx(EVP_MD_CTX_new());
  std::string sig(kEd25519SignatureBytes, '\0');
  size_t size = sig.size();
  TORI_CHECK(key && ctx && EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, key.get()) == 1);
  TORI_CHECK(EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &size,
                            reinterpret_cast<const unsigned char*>(message.data()), message.size()) == 1);
  TORI_CHECK(size == kEd25519SignatureBytes);
  return sig;
}

// ---------------------------------------------------------------- notes

std::string Note::Format() const {
  std::string out = text + "\n";
  for (const auto& s : signatures) {
    std::string bytes(4, '\0');
    for (int i = 0; i < 4; ++i) bytes[i] = static_cast<char>(s.key_id >> (24 - 8 * i));
    out += fmt::format("{}{} {}\n", kDash, s.name, Base64(bytes + s.bytes));
  }
  return out;
}

absl::StatusOr<Note> ParseNote(std::string_view message) {
  if (message.size() > kNoteBytesMax) {
    return absl::InvalidArgumentError(fmt::format("the note is over {} bytes", kNoteBytesMax));
  }
  const size_t split = message.rfind("\n\n");
  if (split == std::string_view::npos) {
    return absl::InvalidArgumentError("the note has no empty line between its text and its signatures");
  }
  Note note;
  note.text = std::string(message.substr(0, split + 1));
  if (!ValidNoteText(note.text)) {
    return absl::InvalidArgumentError("the note's text is not UTF-8 lines without control characters");
  }
  std::string_view rest = message.substr(split + 2);
  if (rest.empty()) return absl::InvalidArgumentError("the note has no signature");
  int line_number = 0;
  while (!rest.empty()) {
    ++line_number;
    const size_t end = rest.find('\n');
    if (end == std::string_view::npos) {
      return absl::InvalidArgumentError(fmt::format("signature line {} does not end in a newline", line_number));
    }
    std::string_view line = rest.substr(0, end);
    rest.remove_prefix(end + 1);
    auto bad = [&](std::string_view why) {
      return absl::InvalidArgumentError(
          fmt::format("signature line {} is not '— NAME BASE64' ({}): {}", line_number, why, line.substr(0, 120)));
    };
    if (!ConsumePrefix(&line, kDash)) return bad("it starts with an em dash and a space");
    const size_t space = line.find(' ');
    if (space == std::string_view::npos) return bad("a space between name and signature");
    Signature s{std::string(line.substr(0, space)), 0, ""};
    if (!ValidKeyName(s.name)) return bad("the name is printable ASCII without '+'");
    const auto bytes = FromBase64(line.substr(space + 1));
    if (!bytes || bytes->size() < 5) return bad("the signature is canonical base64 of a key id and a signature");
    for (int i = 0; i < 4; ++i) s.key_id = s.key_id << 8 | static_cast<unsigned char>((*bytes)[i]);
    s.bytes = bytes->substr(4);
    note.signatures.push_back(std::move(s));
    if (note.signatures.size() > kSignaturesMax) {
      return absl::InvalidArgumentError(fmt::format("the note has over {} signatures", kSignaturesMax));
    }
  }
  return note;
}

Note Sign(Note note, const Signer& signer) {
  std::erase_if(note.signatures,
                [&](const Signature& s) { return s.name == signer.name && s.key_id == signer.key_id; });
  note.signatures.push_back(Signature{signer.name, signer.key_id, signer.Sign(note.text)});
  return note;
}

absl::Status Verify(const Note& note, absl::Span<const Verifier> verifiers) {
  for (const Verifier& v : verifiers) {
    int found = 0;
    for (const Signature& s : note.signatures) {
      if (s.name != v.name || s.key_id != v.key_id) continue;
      if (++found > 1) {
        return absl::InvalidArgumentError(fmt::format("the note carries two signatures by key '{}'", v.name));
      }
      if (!v.Verify(note.text, s.bytes)) {
        return absl::InvalidArgumentError(fmt::format(
            "the signature by key '{}' ({:08x}) does not verify: the note's text or the signature was changed",
            v.name, v.key_id));
      }
    }
    if (found == 0) {
      return absl::InvalidArgumentError(
          fmt::format("the note is not signed by key '{}' ({:08x})", v.name, v.key_id));
    }
  }
  return absl::OkStatus();
}

// ---------------------------------------------------------------- checkpoints

std::string Checkpoint::Text() const {
  std::string out = fmt::format("{}\n{}\n{}\n", origin, tree_size,
                                Base64(std::string_view(reinterpret_cast<const char*>(root.data()), root.size())));
  for (const auto& e : extensions) out += e + "\n";
  return out;
}

absl::StatusOr<Checkpoint> Checkpoint::Parse(std::string_view text) {
  if (text.empty() || text.back() != '\n') return absl::InvalidArgumentError("the checkpoint does not end in a newline");
  std::vector<std::string_view> lines = Split(text.substr(0, text.size() - 1), '\n');
  if (lines.size() < 3) {
    return absl::InvalidArgumentError("a checkpoint has at least three lines: origin, tree size, root hash");
  }
  Checkpoint c;
  c.origin = std::string(lines[0]);
  if (c.origin.empty()) return absl::InvalidArgumentError("the checkpoint's origin line is empty");
  const std::string_view size = lines[1];
  if (size.empty() || size.size() > 19 || size.find_first_not_of("0123456789") != std::string_view::npos ||
      (size.size() > 1 && size[0] == '0') || !absl::SimpleAtoi(absl::string_view(size.data(), size.size()), &c.tree_size)) {
    return absl::InvalidArgumentError(fmt::format("the checkpoint's tree size '{}' is not a decimal number", size));
  }
  const auto root = FromBase64(lines[2]);
  if (!root || root->size() != merkle::Hash().size()) {
    return absl::InvalidArgumentError("the checkpoint's root hash is not canonical base64 of 32 bytes");
  }
  std::memcpy(c.root.data(), root->data(), c.root.size());
  for (size_t i = 3; i < lines.size(); ++i) {
    if (lines[i].empty()) return absl::InvalidArgumentError("the checkpoint has an empty extension line");
    c.extensions.emplace_back(lines[i]);
  }
  return c;
}

}  // namespace tori::note
