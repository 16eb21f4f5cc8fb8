// The web portal of `tori serve` (SPEC section 7, `GET /`): server-rendered HTML pages
// over the API, for people with a browser. No JavaScript: plain links and forms.
//
// Authorisation is the API's, not a copy of it. A page is a route of kPortalRouteTable,
// served by a Router exactly as the API's routes are (authentication, then the route's
// roles, 401/403/404/405 decided there); its handler reads only through the API's own
// Router as the session's grant (Router::Handle with `as`), so every role check and every
// "404 for another agency's things" is the API's code, and a page shows what the
// caller's API answers hold and nothing else.
//
// Sessions. POST /portal/login with a token (a form field, never in a URL) finds its
// unrevoked grant and starts a session: a cookie `tori_session` of 256 random bits
// (HttpOnly, SameSite=Strict, Path=/, Max-Age; Secure under TLS), kept here only as its
// SHA-256 with the grant's token_id, a CSRF token and an expiry (8 hours). Every request
// looks the grant up again, so a revoked token ends its sessions at once. Logout forgets
// the session. At most sessions_max sessions: the expired, then the oldest, go first.
//
// CSRF. Every form carries a hidden `csrf` field: a session's own random token, checked
// in constant time on every POST (403 without it). The login form has none yet, so it
// is a double submit: a random `tori_login` cookie (SameSite=Strict) equal to the form's
// field. SameSite=Strict alone already keeps other sites' posts from carrying a session.
//
// Output. Everything written into a page is HTML-escaped (agency names, ids, messages,
// explanations). Every answer carries a Content-Security-Policy that allows no script at
// all and styles only from /portal/style.css, and forbids framing.
//
// Language: ?lang=fi|sv|en (remembered in a `tori_lang` cookie), else the cookie, else
// Accept-Language, else Finnish; the words are in portal_strings.cc.
//
// Thread safety: Handle may be called from many threads at once.
#ifndef TORI_SERVICES_SERVER_PORTAL_H_
#define TORI_SERVICES_SERVER_PORTAL_H_

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "absl/time/time.h"
#include "services/server/access.h"
#include "services/server/http_server.h"
#include "services/server/portal_strings.h"
#include "services/server/router.h"

namespace tori::server {

// The portal's pages. `roles` and `scope` are what the API routes a page reads allow
// (api_test checks the pages answer exactly so, for every role); "/" is every role's
// (an intake token is told the portal has nothing for it).
inline constexpr RouteSpec kPortalRouteTable[] = {
    {"GET", "/", false, kAllRoles, Scope::kNone},
    {"GET", "/portal/style.css", true, 0, Scope::kNone},
    {"GET", "/portal/login", true, 0, Scope::kNone},
    {"POST", "/portal/login", true, 0, Scope::kNone},
    {"POST", "/portal/logout", false, kAllRoles, Scope::kNone},
    {"GET", "/portal/quarters/{quarter}", false, kReaders, Scope::kNone},
    {"GET", "/portal/quarters/{quarter}/report.xlsx", false, Roles({Role::kHost, Role::kAuditor}),
     Scope::kQuarterReport},
    {"GET", "/portal/quarters/{quarter}/report.html", false, Roles({Role::kHost, Role::kAuditor}),
     Scope::kQuarterReport},
    {"GET", "/portal/invoices/{id}", false, kReaders, Scope::kInvoice},
    {"GET", "/portal/invoices/{id}/finvoice", false, kReaders, Scope::kInvoice},
    {"GET", "/portal/invoices/{id}/peppol", false, kReaders, Scope::kInvoice},
    {"GET", "/portal/invoices/{id}/csv", false, kReaders, Scope::kInvoice},
    {"GET", "/portal/invoices/{id}/proof", false, kReaders, Scope::kInvoice},
    {"GET", "/portal/reconcile", false, kReaders, Scope::kNone},
    {"POST", "/portal/reconcile", false, kReaders, Scope::kAgencyQuery},
    {"GET", "/portal/verify", false, Roles({Role::kHost, Role::kAuditor}), Scope::kNone},
};

struct PortalOptions {
  const Router* api = nullptr;         // the API's router: every page reads through it
  const AccessList* access = nullptr;  // sessions' grants, looked up on every request
  bool secure_cookies = false;         // under TLS: cookies are Secure
  absl::Duration session_lifetime = absl::Hours(8);
  size_t sessions_max = 10000;
};

class Portal {
 public:
  explicit Portal(PortalOptions options);
  // Whether `target` is the portal's ("/", "/portal" and below); the rest is the API's.
  static bool Owns(std::string_view target);
  // The page (HTML, or a download), with the route and the session's grant for the
  // access log and metrics.
  Router::Outcome Handle(const HttpRequest& request);
  size_t sessions() const;

  // A login: the grant's token_id (looked up again on every request), the form token.
  struct Session {
    std::string token_id;
    std::string csrf;
    absl::Time expires;
    absl::Time created;
  };
  struct Request;  // an HttpRequest with its session and language (portal.cc)

 private:
  std::vector<RouteHandler> Handlers();
  std::optional<Session> FindSession(std::string_view session_id);
  // A new session's cookie value.
  absl::StatusOr<std::string> StartSession(const AccessGrant& grant);
  void EndSession(std::string_view session_id);

  PortalOptions options_;
  mutable std::mutex mutex_;
  std::map<std::string, Session, std::less<>> sessions_;  // by SHA-256 (hex) of the cookie
  Router router_;
};

// HTML-escapes & < > " ' (text and attribute values alike).
std::string HtmlEscape(std::string_view text);

}  // namespace tori::server

#endif  // TORI_SERVICES_SERVER_PORTAL_H_
