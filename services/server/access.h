// Who may do what in `tori serve` (SPEC section 7): bearer tokens, their grants and
// roles.
//
// A token is 256 random bits from the OS CSPRNG (OpenSSL's RAND_bytes), shown once;
// tori keeps only its SHA-256. Authenticate hashes the presented token and compares it
// with every grant's hash in constant time (CRYPTO_memcmp), so neither the comparison
// nor which grant matched shows in the timing. A revoked grant never authenticates, from
// the moment Revoke returns.
//
// The grants will be events in the log (SPEC 7: "grants and revocations are events");
// the projection of those events only calls Grant and Revoke here, so this list is the
// one place the server asks. Until those events exist, `tori serve --grants FILE` loads
// them from a file (ParseGrantsJsonLines).
//
// Thread safety: all methods may be called from any thread at once.
#ifndef TORI_SERVICES_SERVER_ACCESS_H_
#define TORI_SERVICES_SERVER_ACCESS_H_

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "events/base/sha256.h"

namespace tori::server {

// The roles of SPEC section 7; values are bits of a RoleSet.
enum class Role : uint8_t { kHost = 1, kAgency = 2, kAuditor = 4, kIntake = 8 };
using RoleSet = uint8_t;
constexpr RoleSet Roles(std::initializer_list<Role> roles) {
  RoleSet set = 0;
  for (Role r : roles) set |= static_cast<RoleSet>(r);
  return set;
}
constexpr bool Has(RoleSet set, Role role) { return (set & static_cast<RoleSet>(role)) != 0; }
std::string_view RoleName(Role role);  // "host", "agency", "auditor", "intake"
absl::StatusOr<Role> ParseRole(std::string_view name);

struct AccessGrant {
  std::string token_id;  // public: names the grant in lists, logs and revocations
  Sha256Digest token_sha256{};
  Role role = Role::kAuditor;
  std::string name;              // who holds it, for people ("Kela controllers")
  std::string agency_id;         // host and agency roles
  std::string service_point_id;  // intake
  bool revoked = false;
  // The host agency that granted it through `POST /v1/access`; empty for a grant made
  // on the machine (`tori access grant`, `--grants`). See SeesParties. (Last, so that
  // the aggregate initializers of the fields above stay as they were.)
  std::string granted_by_agency_id;
};

// Whether `grant` sees a document its issuer sends its recipient (an invoice): an
// auditor every one; a host or agency one its agency issues or receives, and, when a
// host granted the token through the API, only one that host also issues or receives
// (so a host granting an agency a token never widens the agency's view to another
// host's invoices in the same data directory); an intake token none. The one rule every
// route that names or lists invoices asks (services/server/api.cc, SeesInvoice).
bool SeesParties(const AccessGrant& grant, std::string_view issuer_agency_id, std::string_view recipient_agency_id);

// A new token and its id (both lower-case hex, from RAND_bytes): the token is 64 hex
// characters (256 bits), the id 16 (64 bits).
struct NewToken {
  std::string token_id;
  std::string token;
};
absl::StatusOr<NewToken> MakeToken();

// The digest of 64 lower-case hex digits; nullopt for anything else.
std::optional<Sha256Digest> DigestOfHex(std::string_view hex);

class AccessList {
 public:
  virtual ~AccessList() = default;
  // The grant of `token`, when it has one that is not revoked.
  virtual std::optional<AccessGrant> Authenticate(std::string_view token) const = 0;
  virtual std::optional<AccessGrant> Find(std::string_view token_id) const = 0;
  virtual std::vector<AccessGrant> List() const = 0;
};

// Grants held in memory; filled by tests, by --grants, and (next) by the grant and
// revoke events of the log.
class InMemoryAccessList final : public AccessList {
 public:
  // AlreadyExists for a token_id that is granted (revoked or not); InvalidArgument for
  // a grant its role cannot have (host and agency need agency_id, intake a point).
  absl::Status Grant(const AccessGrant& grant);
  // NotFound for an unknown token_id; revoking twice is fine.
  absl::Status Revoke(std::string_view token_id);

  std::optional<AccessGrant> Authenticate(std::string_view token) const override;
  std::optional<AccessGrant> Find(std::string_view token_id) const override;
  std::vector<AccessGrant> List() const override;

 private:
  mutable std::mutex mutex_;
  std::vector<AccessGrant> grants_;  // bounded by kGrantsMax
};

inline constexpr size_t kGrantsMax = 100000;

// Grants as JSON Lines: {"token_id", "token_sha256" (64 hex), "role", "name",
// "agency_id", "service_point_id", "revoked"}; errors name the line and field.
absl::StatusOr<std::vector<AccessGrant>> ParseGrantsJsonLines(std::string_view text);

}  // namespace tori::server

#endif  // TORI_SERVICES_SERVER_ACCESS_H_
