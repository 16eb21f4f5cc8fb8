#include "services/server/access.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "fmt/format.h"
#include "simdjson.h"

namespace tori::server {
namespace {

std::string Hex(const unsigned char* bytes, size_t size) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(size * 2);
  for (size_t i = 0; i < size; ++i) {
    out.push_back(kDigits[bytes[i] >> 4]);
    out.push_back(kDigits[bytes[i] & 15]);
  }
  return out;
}

}  // namespace

bool SeesParties(const AccessGrant& grant, std::string_view issuer_agency_id, std::string_view recipient_agency_id) {
  switch (grant.role) {
    case Role::kAuditor: return true;
    case Role::kHost:
    case Role::kAgency: {
      const auto party = [&](std::string_view agency) {
        return issuer_agency_id == agency || recipient_agency_id == agency;
      };
      return party(grant.agency_id) && (grant.granted_by_agency_id.empty() || party(grant.granted_by_agency_id));
    }
    case Role::kIntake: return false;
  }
  return false;
}

std::optional<Sha256Digest> DigestOfHex(std::string_view hex) {
  if (hex.size() != 2 * kSha256Bytes) return std::nullopt;
  Sha256Digest digest{};
  for (size_t i = 0; i < kSha256Bytes; ++i) {
    int value = 0;
    for (char c : hex.substr(2 * i, 2)) {
      value <<= 4;
      if (c >= '0' && c <= '9') value |= c - '0';
      else if (c >= 'a' && c <= 'f') value |= c - 'a' + 10;
      else return std::nullopt;
    }
    digest[i] = static_cast<unsigned char>(value);
  }
  return digest;
}


std::string_view RoleName(Role role) {
  switch (role) {
    case Role::kHost: return "host";
    case Role::kAgency: return "agency";
    case Role::kAuditor: return "auditor";
    case Role::kIntake: return "intake";
  }
  return "?";
}

absl::StatusOr<Role> ParseRole(std::string_view name) {
  for (Role r : {Role::kHost, Role::kAgency, Role::kAuditor, Role::kIntake}) {
    if (RoleName(r) == name) return r;
  }
  return absl::InvalidArgumentError(
      fmt::format("role '{}' is not one of host, agency, auditor, intake", name));
}

absl::StatusOr<NewToken> MakeToken() {
  unsigned char token[32], id[8];
  if (RAND_bytes(token, sizeof token) != 1 || RAND_bytes(id, sizeof id) != 1) {
    return absl::InternalError("the operating system's random generator failed; no token was made");
  }
  NewToken t{Hex(id, sizeof id), Hex(token, sizeof token)};
  OPENSSL_cleanse(token, sizeof token);
  return t;
}

absl::Status InMemoryAccessList::Grant(const AccessGrant& grant) {
  if (grant.token_id.empty()) return absl::InvalidArgumentError("a grant needs a token_id");
  if ((grant.role == Role::kHost || grant.role == Role::kAgency) && grant.agency_id.empty()) {
    return absl::InvalidArgumentError(
        fmt::format("grant {}: role {} needs an agency", grant.token_id, RoleName(grant.role)));
  }
  if (grant.role == Role::kIntake && grant.service_point_id.empty()) {
    return absl::InvalidArgumentError(
        fmt::format("grant {}: role intake needs a service point", grant.token_id));
  }
  std::lock_guard lock(mutex_);
  if (grants_.size() >= kGrantsMax) {
    return absl::ResourceExhaustedError(fmt::format("more than {} grants", kGrantsMax));
  }
  for (const auto& g : grants_) {
    if (g.token_id == grant.token_id) {
      return absl::AlreadyExistsError(fmt::format("token_id {} is granted already", grant.token_id));
    }
  }
  grants_.push_back(grant);
  return absl::OkStatus();
}

absl::Status InMemoryAccessList::Revoke(std::string_view token_id) {
  std::lock_guard lock(mutex_);
  for (auto& g : grants_) {
    if (g.token_id == token_id) {
      g.revoked = true;
      return absl::OkStatus();
    }
  }
  return absl::NotFoundError(fmt::format("no grant with token_id {}", token_id));
}

std::optional<AccessGrant> InMemoryAccessList::Authenticate(std::string_view token) const {
  const Sha256Digest digest = Sha256Of(token);
  std::lock_guard lock(mutex_);
  // Every grant is compared, in constant time each: the time does not depend on which
  // one matches, or on how much of a hash does.
  const AccessGrant* found = nullptr;
  for (const auto& g : grants_) {
    const bool same = CRYPTO_memcmp(g.token_sha256.data(), digest.data(), kSha256Bytes) == 0;
    if (same) found = &g;
  }
  if (found == nullptr || found->revoked) return std::nullopt;
  return *found;
}

std::optional<AccessGrant> InMemoryAccessList::Find(std::string_view token_id) const {
  std::lock_guard lock(mutex_);
  for (const auto& g : grants_) {
    if (g.token_id == token_id) return g;
  }
  return std::nullopt;
}

std::vector<AccessGrant> InMemoryAccessList::List() const {
  std::lock_guard lock(mutex_);
  return grants_;
}

absl::StatusOr<std::vector<AccessGrant>> ParseGrantsJsonLines(std::string_view text) {
  std::vector<AccessGrant> grants;
  simdjson::dom::parser parser;
  int line_number = 0;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view line = text.substr(start, end - start);
    start = end + 1;
    ++line_number;
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    simdjson::dom::element doc;
    if (auto error = parser.parse(line.data(), line.size()).get(doc)) {
      return absl::InvalidArgumentError(
          fmt::format("grants line {}: not JSON ({})", line_number, simdjson::error_message(error)));
    }
    AccessGrant g;
    auto field = [&](const char* name, std::string& out, bool required) -> absl::Status {
      std::string_view value;
      if (doc[name].get(value) != simdjson::SUCCESS) {
        if (!required) return absl::OkStatus();
        return absl::InvalidArgumentError(
            fmt::format("grants line {}: field {} is missing or not a string", line_number, name));
      }
      out = std::string(value);
      return absl::OkStatus();
    };
    std::string hash, role;
    for (auto [name, out, required] : {std::tuple{"token_id", &g.token_id, true},
                                       std::tuple{"token_sha256", &hash, true},
                                       std::tuple{"role", &role, true},
                                       std::tuple{"name", &g.name, false},
                                       std::tuple{"agency_id", &g.agency_id, false},
                                       std::tuple{"service_point_id", &g.service_point_id, false}}) {
      if (absl::Status s = field(name, *out, required); !s.ok()) return s;
    }
    auto digest = DigestOfHex(hash);
    if (!digest) {
      return absl::InvalidArgumentError(fmt::format(
          "grants line {}: field token_sha256 must be 64 lower-case hex characters", line_number));
    }
    g.token_sha256 = *digest;
    auto parsed_role = ParseRole(role);
    if (!parsed_role.ok()) {
      return absl::InvalidArgumentError(
          fmt::format("grants line {}: field role: {}", line_number, std::string(parsed_role.status().message())));
    }
    g.role = *parsed_role;
    bool revoked = false;
    if (doc["revoked"].get(revoked) != simdjson::SUCCESS) revoked = false;
    g.revoked = revoked;
    grants.push_back(std::move(g));
  }
  return grants;
}

}  // namespace tori::server
