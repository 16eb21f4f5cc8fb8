// The routes of `tori serve`, all in one table (SPEC section 7): method, path pattern,
// the roles that may call it, and what in the path or query may belong to another
// agency. The router authenticates, checks the role and matches the path before any
// handler runs, so a handler only decides what the caller's agency may see (404 for
// anything of another agency) and never whether the caller may call it at all.
//
// Answers decided here: 404 for a path no route has, 405 for a method the path has
// not, 401 without a valid (unrevoked) token, 403 for a role the route does not allow,
// 501 for a route of the table that has no handler yet, 400 for a path or query that is
// not valid percent-encoding.
//
// Thread safety: Handle may be called from many threads at once; the handlers must be.
#ifndef TORI_SERVICES_SERVER_ROUTER_H_
#define TORI_SERVICES_SERVER_ROUTER_H_

#include <functional>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "services/server/access.h"
#include "services/server/http_server.h"

namespace tori::server {

// What a route's path or query names that may belong to another agency; a caller of
// that other agency gets 404 (tests walk the table with these).
enum class Scope {
  kNone,          // nothing agency-specific (or the handler filters lists by agency)
  kInvoice,       // {id}: an invoice; visible to its issuer and recipient, and auditors
  kAgencyQuery,   // ?agency=A: host and agency callers only their own agency
  kToken,         // {token_id}: a grant; a host sees only the grants it may make
  kGrant,         // the body names an agency or point: a host grants only for its own
  kQuarterHost,   // {quarter}: billed only by the host of its service points (SPEC 8)
  kQuarterReport, // {quarter}'s report: every agency's figures; a host only when all are its own
};

struct RouteSpec {
  std::string_view method;
  std::string_view pattern;  // segments; "{name}" matches one segment
  bool public_route;         // no token needed (health, metrics, the portal's login)
  RoleSet roles;             // who may, when not public
  Scope scope;
};

// SPEC section 7, in its order.
inline constexpr RoleSet kAllRoles = Roles({Role::kHost, Role::kAgency, Role::kAuditor, Role::kIntake});
inline constexpr RoleSet kReaders = Roles({Role::kHost, Role::kAgency, Role::kAuditor});
inline constexpr RouteSpec kRouteTable[] = {
    {"GET", "/healthz", true, 0, Scope::kNone},
    {"GET", "/readyz", true, 0, Scope::kNone},
    {"GET", "/metrics", true, 0, Scope::kNone},
    {"POST", "/v1/events", false, Roles({Role::kHost, Role::kIntake}), Scope::kNone},
    {"POST", "/v1/quarters/{quarter}/bill", false, Roles({Role::kHost}), Scope::kQuarterHost},
    {"POST", "/v1/quarters/{quarter}/approve", false, Roles({Role::kHost}), Scope::kQuarterHost},
    {"GET", "/v1/quarters", false, kReaders, Scope::kNone},
    {"GET", "/v1/quarters/{quarter}/report.xlsx", false, Roles({Role::kHost, Role::kAuditor}), Scope::kQuarterReport},
    {"GET", "/v1/quarters/{quarter}/report.html", false, Roles({Role::kHost, Role::kAuditor}), Scope::kQuarterReport},
    {"GET", "/v1/invoices", false, kReaders, Scope::kNone},
    {"GET", "/v1/invoices/{id}", false, kReaders, Scope::kInvoice},
    {"GET", "/v1/invoices/{id}/finvoice", false, kReaders, Scope::kInvoice},
    {"GET", "/v1/invoices/{id}/peppol", false, kReaders, Scope::kInvoice},
    {"GET", "/v1/invoices/{id}/proof", false, kReaders, Scope::kInvoice},
    {"GET", "/v1/invoices/{id}/csv", false, kReaders, Scope::kInvoice},
    {"GET", "/v1/invoices/{id}/explain", false, kReaders, Scope::kInvoice},
    {"POST", "/v1/reconcile", false, kReaders, Scope::kAgencyQuery},
    {"GET", "/v1/verify", false, Roles({Role::kHost, Role::kAuditor}), Scope::kNone},
    {"POST", "/v1/access", false, Roles({Role::kHost}), Scope::kGrant},
    {"DELETE", "/v1/access/{token_id}", false, Roles({Role::kHost}), Scope::kToken},
    // SPEC section 10 through the service (checkpoint_route.h): serve is the writer.
    {"POST", "/v1/checkpoint", false, Roles({Role::kHost}), Scope::kNone},
};

// "GET /v1/invoices/{id}": the route's name in metrics and logs.
std::string RouteName(const RouteSpec& route);

struct RouteRequest {
  const HttpRequest& http;
  const RouteSpec& route;
  const AccessGrant* caller;  // null on public routes
  std::map<std::string, std::string, std::less<>> params;  // path, percent-decoded
  std::map<std::string, std::string, std::less<>> query;   // percent-decoded; last wins
  std::string Param(std::string_view name) const;
  std::optional<std::string> Query(std::string_view name) const;
};
using RouteHandler = std::function<HttpResponse(const RouteRequest&)>;

class Router {
 public:
  // `handlers[i]` serves table[i]; an empty one answers 501. The table is the API's,
  // or another with the same rules (the portal's pages, services/server/portal.h).
  Router(const AccessList* access, std::vector<RouteHandler> handlers,
         std::span<const RouteSpec> table = kRouteTable);

  struct Outcome {
    HttpResponse response;
    const RouteSpec* route = nullptr;  // null when no route matched
    std::optional<AccessGrant> grant;  // the caller, once authenticated
  };
  // `as`: the caller, already authenticated by other means (a portal session, whose
  // grant the portal has just found unrevoked): no bearer token is read, and the
  // role checks and handlers run as for that grant.
  Outcome Handle(const HttpRequest& request, const AccessGrant* as = nullptr) const;
  bool Implements(size_t route_index) const { return static_cast<bool>(handlers_.at(route_index)); }

 private:
  const AccessList* access_;
  std::vector<RouteHandler> handlers_;
  std::span<const RouteSpec> table_;
};

// Percent-decoding of one path segment or query component ('+' is a space in a query);
// nullopt for a bad escape, a NUL or a control character.
std::optional<std::string> PercentDecode(std::string_view text, bool query);

}  // namespace tori::server

#endif  // TORI_SERVICES_SERVER_ROUTER_H_
