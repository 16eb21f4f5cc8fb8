#include "services/server/portal.h"
#include "services/server/internal/text.h"

#include <openssl/crypto.h>

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "events/base/check.h"
#include "events/base/sha256.h"
#include "fmt/format.h"
#include "simdjson.h"

namespace tori::server {

// An HttpRequest with what the portal found out about it; the portal's router passes it
// on as RouteRequest::http, so its handlers cast back (they only ever receive these).
struct Portal::Request : HttpRequest {
  Lang lang = Lang::kFi;
  std::string session_id;          // the cookie's value, "" when none
  std::optional<Session> session;  // when the cookie names a live session of an unrevoked grant
};

namespace {

using internal::Split;
using internal::Trim;

constexpr std::string_view kSessionCookie = "tori_session";
constexpr std::string_view kLoginCookie = "tori_login";
constexpr std::string_view kLangCookie = "tori_lang";
constexpr size_t kFormFieldsMax = 64;
constexpr size_t kDifferencesShownMax = 500;
constexpr std::string_view kContentSecurityPolicy =
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; "
    "base-uri 'none'";

// Percent-encoding of one path segment or query value (RFC 3986 unreserved kept).
std::string UrlEncode(std::string_view text) {
  std::string out;
  for (unsigned char c : text) {
    if (absl::ascii_isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out += fmt::format("%{:02X}", c);
    }
  }
  return out;
}

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// application/x-www-form-urlencoded: the fields (first of a name wins), or nullopt for a
// bad escape, a control character other than tab and line breaks (a textarea's CSV has
// those), or more than kFormFieldsMax fields.
std::optional<std::map<std::string, std::string, std::less<>>> ParseForm(std::string_view body) {
  std::map<std::string, std::string, std::less<>> fields;
  size_t count = 0;
  for (std::string_view pair : Split(body, '&')) {
    if (pair.empty()) continue;
    if (++count > kFormFieldsMax) return std::nullopt;
    auto decode = [](std::string_view text) -> std::optional<std::string> {
      std::string out;
      out.reserve(text.size());
      for (size_t i = 0; i < text.size(); ++i) {
        char c = text[i];
        if (c == '+') {
          c = ' ';
        } else if (c == '%') {
          if (i + 2 >= text.size()) return std::nullopt;
          const int hi = HexDigit(text[i + 1]), lo = HexDigit(text[i + 2]);
          if (hi < 0 || lo < 0) return std::nullopt;
          c = static_cast<char>(hi * 16 + lo);
          i += 2;
        }
        const auto u = static_cast<unsigned char>(c);
        if ((u < 0x20 && c != '\t' && c != '\n' && c != '\r') || u == 0x7f) return std::nullopt;
        out.push_back(c);
      }
      return out;
    };
    const size_t eq = pair.find('=');
    auto key = decode(pair.substr(0, eq));
    auto value = decode(eq == std::string_view::npos ? "" : pair.substr(eq + 1));
    if (!key || !value) return std::nullopt;
    fields.emplace(std::move(*key), std::move(*value));
  }
  return fields;
}

// multipart/form-data (RFC 7578) with `boundary`: each part's name and content (a file
// part's content is the file); nullopt when the body is not framed by the boundary, a
// part has no name, or there are more than kFormFieldsMax parts. The first of a name wins.
std::optional<std::map<std::string, std::string, std::less<>>> ParseMultipart(std::string_view body,
                                                                              std::string_view boundary) {
  if (boundary.empty() || boundary.size() > 70) return std::nullopt;  // RFC 2046's bound
  const std::string delimiter = "--" + std::string(boundary);
  std::map<std::string, std::string, std::less<>> fields;
  size_t at = body.find(delimiter);
  if (at == std::string_view::npos) return std::nullopt;
  for (size_t parts = 0;; ++parts) {
    at += delimiter.size();
    if (body.substr(at, 2) == "--") return fields;  // the closing delimiter
    if (parts >= kFormFieldsMax || body.substr(at, 2) != "\r\n") return std::nullopt;
    at += 2;
    const size_t head_end = body.find("\r\n\r\n", at);
    if (head_end == std::string_view::npos) return std::nullopt;
    const std::string_view head = body.substr(at, head_end - at);
    const size_t next = body.find("\r\n" + delimiter, head_end + 4);
    if (next == std::string_view::npos) return std::nullopt;
    std::string name;
    for (std::string_view line : Split(head, '\n')) {
      line = Trim(line);
      if (!absl::StartsWithIgnoreCase(std::string(line), "content-disposition:")) continue;
      constexpr std::string_view kName = " name=\"";
      size_t name_at = line.find(kName);
      if (name_at == std::string_view::npos) name_at = line.find(";name=\"");
      if (name_at == std::string_view::npos) continue;
      name_at += kName.size();
      const size_t name_end = line.find('"', name_at);
      if (name_end == std::string_view::npos) return std::nullopt;
      name = std::string(line.substr(name_at, name_end - name_at));
    }
    if (name.empty()) return std::nullopt;
    fields.emplace(std::move(name), std::string(body.substr(head_end + 4, next - head_end - 4)));
    at = next + 2;
  }
}

std::string Field(const std::map<std::string, std::string, std::less<>>& form, std::string_view name) {
  auto it = form.find(name);
  return it == form.end() ? "" : it->second;
}

// The value of cookie `name` in a Cookie header ("a=1; b=2"), "" when absent.
std::string CookieValue(std::string_view header, std::string_view name) {
  for (std::string_view part : Split(header, ';')) {
    part = Trim(part);
    if (part.size() > name.size() && part.starts_with(name) && part[name.size()] == '=') {
      return std::string(part.substr(name.size() + 1));
    }
  }
  return "";
}

// The value of query parameter `name` of a target, undecoded ("" when absent).
std::string QueryValue(std::string_view target, std::string_view name) {
  const size_t question = target.find('?');
  if (question == std::string_view::npos) return "";
  for (std::string_view pair : Split(target.substr(question + 1), '&')) {
    if (pair.size() > name.size() && pair.starts_with(name) && pair[name.size()] == '=') {
      return std::string(pair.substr(name.size() + 1));
    }
  }
  return "";
}

bool SameSecret(std::string_view a, std::string_view b) {
  return !a.empty() && a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string Cookie(std::string_view name, std::string_view value, std::string_view path, int64_t max_age_s,
                   bool http_only, bool secure) {
  return fmt::format("{}={}; Path={}; Max-Age={}; SameSite=Strict{}{}", name, value, path, max_age_s,
                     http_only ? "; HttpOnly" : "", secure ? "; Secure" : "");
}

// 16403075 cents -> "164 030,75 €" (fi, sv; no-break spaces) or "€164,030.75" (en).
std::string Euros(int64_t cents, Lang lang) {
  const bool negative = cents < 0;
  // The magnitude as unsigned: INT64_MIN has no positive int64.
  const uint64_t magnitude = negative ? 0 - static_cast<uint64_t>(cents) : static_cast<uint64_t>(cents);
  std::string whole = std::to_string(magnitude / 100);
  const std::string separator = lang == Lang::kEn ? "," : "\u00a0";
  std::string grouped;
  for (size_t i = 0; i < whole.size(); ++i) {
    if (i > 0 && (whole.size() - i) % 3 == 0) grouped += separator;
    grouped.push_back(whole[i]);
  }
  const std::string fraction = fmt::format("{:02}", magnitude % 100);
  if (lang == Lang::kEn) return fmt::format("{}€{}.{}", negative ? "-" : "", grouped, fraction);
  return fmt::format("{}{},{}\u00a0€", negative ? "−" : "", grouped, fraction);
}

// Fields of a parsed API answer, with defaults for what is absent.
std::string Str(simdjson::dom::element e, std::string_view key) {
  std::string_view value;
  if (e[key].get(value) == simdjson::SUCCESS) return std::string(value);
  int64_t number = 0;
  if (e[key].get(number) == simdjson::SUCCESS) return std::to_string(number);
  bool flag = false;
  if (e[key].get(flag) == simdjson::SUCCESS) return flag ? "true" : "false";
  return "";
}
int64_t Int(simdjson::dom::element e, std::string_view key) {
  int64_t value = 0;
  if (e[key].get(value) != simdjson::SUCCESS) return 0;
  return value;
}
bool Bool(simdjson::dom::element e, std::string_view key) {
  bool value = false;
  if (e[key].get(value) != simdjson::SUCCESS) return false;
  return value;
}
simdjson::dom::array Array(simdjson::dom::element e, std::string_view key) {
  simdjson::dom::array value;
  if (e[key].get(value) != simdjson::SUCCESS) return {};
  return value;
}

HttpResponse Html(std::string body, int status = 200) {
  HttpResponse r;
  r.status = status;
  r.content_type = "text/html; charset=utf-8";
  r.body = std::move(body);
  return r;
}

HttpResponse Redirect(std::string_view location) {
  HttpResponse r = Html(fmt::format("<!doctype html><a href=\"{0}\">{0}</a>\n", HtmlEscape(location)), 303);
  r.headers.emplace_back("Location", std::string(location));
  return r;
}

// A role in the reader's words: "agency kela", "auditor".
std::string WhoIs(const AccessGrant& grant) {
  std::string who = fmt::format("{} ({}", HtmlEscape(grant.name), RoleName(grant.role));
  if (!grant.agency_id.empty()) who += " " + HtmlEscape(grant.agency_id);
  if (!grant.service_point_id.empty()) who += " " + HtmlEscape(grant.service_point_id);
  return who + ")";
}

constexpr std::string_view kStyle = R"css(
body { font-family: "DejaVu Sans", system-ui, sans-serif; margin: 0; color: #1d2530; background: #f6f7f9; }
header { display: flex; flex-wrap: wrap; gap: 1em; align-items: center; padding: .6em 1.2em;
         background: #123c69; color: #fff; }
header a { color: #fff; }
header .brand { font-weight: bold; font-size: 1.2em; text-decoration: none; }
header nav a { margin-right: 1em; }
header .who { margin-left: auto; font-size: .9em; }
header form { display: inline; margin: 0; }
header .langs a, header .langs strong { margin-left: .4em; }
main { padding: 1em 1.2em; max-width: 72em; }
table { border-collapse: collapse; background: #fff; margin: .5em 0 1.2em; }
th, td { border: 1px solid #cfd6de; padding: .3em .6em; text-align: left; vertical-align: top; }
td.money, th.money { text-align: right; white-space: nowrap; }
pre { font-size: .8em; background: #fff; padding: .6em; overflow-x: auto; border: 1px solid #cfd6de; }
.ok { color: #16632b; font-weight: bold; }
.bad { color: #a4161a; font-weight: bold; }
.error { background: #fde8e8; border: 1px solid #a4161a; padding: .6em; }
dl { display: grid; grid-template-columns: max-content auto; gap: .2em 1em; }
dt { font-weight: bold; }
textarea { width: 100%; max-width: 60em; font-family: monospace; }
label { display: block; margin: .5em 0 .2em; }
button { margin-top: .6em; padding: .3em 1em; }
)css";

}  // namespace

std::string HtmlEscape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out.push_back(c);
    }
  }
  return out;
}

Portal::Portal(PortalOptions options)
    : options_(std::move(options)), router_(options_.access, Handlers(), kPortalRouteTable) {
  TORI_CHECK(options_.api != nullptr && options_.access != nullptr);
}

bool Portal::Owns(std::string_view target) {
  const std::string_view path = target.substr(0, target.find('?'));
  return path == "/" || path == "/portal" || path.starts_with("/portal/");
}

size_t Portal::sessions() const {
  std::lock_guard lock(mutex_);
  return sessions_.size();
}

std::optional<Portal::Session> Portal::FindSession(std::string_view session_id) {
  if (session_id.empty() || session_id.size() > 128) return std::nullopt;
  const std::string key = Sha256Hex(session_id);
  std::lock_guard lock(mutex_);
  auto it = sessions_.find(key);
  if (it == sessions_.end()) return std::nullopt;
  if (it->second.expires <= absl::Now()) {
    sessions_.erase(it);
    return std::nullopt;
  }
  return it->second;
}

absl::StatusOr<std::string> Portal::StartSession(const AccessGrant& grant) {
  TORI_ASSIGN_OR_RETURN(NewToken id, MakeToken());
  TORI_ASSIGN_OR_RETURN(NewToken csrf, MakeToken());
  const absl::Time now = absl::Now();
  std::lock_guard lock(mutex_);
  if (sessions_.size() >= options_.sessions_max) {
    std::erase_if(sessions_, [&](const auto& entry) { return entry.second.expires <= now; });
  }
  if (sessions_.size() >= options_.sessions_max && !sessions_.empty()) {
    auto oldest = std::min_element(sessions_.begin(), sessions_.end(), [](const auto& a, const auto& b) {
      return a.second.created < b.second.created;
    });
    sessions_.erase(oldest);
  }
  sessions_[Sha256Hex(id.token)] = Session{grant.token_id, csrf.token, now + options_.session_lifetime, now};
  return id.token;
}

void Portal::EndSession(std::string_view session_id) {
  const std::string key = Sha256Hex(session_id);
  std::lock_guard lock(mutex_);
  sessions_.erase(key);
}

namespace {

// Whether the page `pattern` (GET) lists the caller's role: links to pages it may not
// open are not shown.
bool MayOpen(const AccessGrant& caller, std::string_view pattern) {
  for (const RouteSpec& route : kPortalRouteTable) {
    if (route.method == "GET" && route.pattern == pattern) return Has(route.roles, caller.role);
  }
  return false;
}

// The frame of every page: the header (who, the pages this role has, the language
// switch, log out) and `content`.
std::string Page(const Portal::Request& r, const AccessGrant* caller, std::string_view title,
                 std::string_view content) {
  const Lang lang = r.lang;
  std::string html = fmt::format(
      "<!doctype html>\n<html lang=\"{}\"><head><meta charset=\"utf-8\">"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
      "<title>{} – tori</title><link rel=\"stylesheet\" href=\"/portal/style.css\"></head><body>\n<header>"
      "<a class=\"brand\" href=\"/\">tori</a>",
      LangCode(lang), HtmlEscape(title));
  if (caller != nullptr && r.session) {
    html += "<nav>";
    // The links this role's pages allow, from the page table itself.
    auto may = [&](std::string_view pattern) { return MayOpen(*caller, pattern); };
    if (caller->role != Role::kIntake) html += fmt::format("<a href=\"/\">{}</a>", T(Text::kQuarters, lang));
    if (may("/portal/reconcile")) html += fmt::format("<a href=\"/portal/reconcile\">{}</a>", T(Text::kReconcile, lang));
    if (may("/portal/verify")) html += fmt::format("<a href=\"/portal/verify\">{}</a>", T(Text::kVerify, lang));
    html += fmt::format(
        "</nav><span class=\"who\">{} {}</span><form method=\"post\" action=\"/portal/logout\">"
        "<input type=\"hidden\" name=\"csrf\" value=\"{}\"><button type=\"submit\">{}</button></form>",
        T(Text::kSignedInAs, lang), WhoIs(*caller), HtmlEscape(r.session->csrf), T(Text::kLogOut, lang));
  }
  html += "<span class=\"langs\">";
  for (Lang other : {Lang::kFi, Lang::kSv, Lang::kEn}) {
    if (other == lang) {
      html += fmt::format("<strong>{}</strong>", T(Text::kLanguageName, other));
    } else {
      html += fmt::format("<a href=\"?lang={}\" hreflang=\"{}\" lang=\"{}\">{}</a>", LangCode(other), LangCode(other),
                          LangCode(other), T(Text::kLanguageName, other));
    }
  }
  html += fmt::format("</span></header>\n<main><h1>{}</h1>\n", HtmlEscape(title));
  html += content;
  html += "</main></body></html>\n";
  return html;
}

}  // namespace

std::vector<RouteHandler> Portal::Handlers() {
  std::vector<RouteHandler> handlers(std::size(kPortalRouteTable));
  auto set = [&](std::string_view method, std::string_view pattern, RouteHandler handler) {
    for (size_t i = 0; i < std::size(kPortalRouteTable); ++i) {
      if (kPortalRouteTable[i].method == method && kPortalRouteTable[i].pattern == pattern) {
        handlers[i] = std::move(handler);
        return;
      }
    }
    TORI_CHECK(false && "a handler for a page that is not in kPortalRouteTable");
  };
  auto portal_request = [](const RouteRequest& rr) -> const Request& {
    return static_cast<const Request&>(rr.http);
  };
  // A read of the API as the caller: the API's route, roles and agency checks decide.
  auto api = [this](const RouteRequest& rr, std::string method, std::string target, std::string body = "") {
    HttpRequest inner;
    inner.method = std::move(method);
    inner.target = std::move(target);
    inner.body = std::move(body);
    inner.content_type = "text/csv";
    inner.remote = rr.http.remote;
    return options_.api->Handle(inner, rr.caller).response;
  };
  auto page = [portal_request](const RouteRequest& rr, std::string_view title, std::string_view content,
                               int status = 200) {
    return Html(Page(portal_request(rr), rr.caller, title, content), status);
  };
  auto csrf_refused = [page, portal_request](const RouteRequest& rr) {
    return page(rr, T(Text::kForbidden, portal_request(rr).lang),
                fmt::format("<p class=\"error\">{}</p>", T(Text::kCsrfFailed, portal_request(rr).lang)), 403);
  };
  // The form of a POST, or nullopt when it is not a well-formed urlencoded form.
  auto form_of = [](const RouteRequest& rr) -> std::optional<std::map<std::string, std::string, std::less<>>> {
    const std::string& type = rr.http.content_type;
    if (absl::StartsWithIgnoreCase(type, "application/x-www-form-urlencoded")) return ParseForm(rr.http.body);
    if (absl::StartsWithIgnoreCase(type, "multipart/form-data")) {
      const size_t at = type.find("boundary=");
      if (at == std::string::npos) return std::nullopt;
      std::string_view boundary = std::string_view(type).substr(at + 9);
      boundary = boundary.substr(0, boundary.find(';'));
      if (boundary.size() >= 2 && boundary.front() == '"' && boundary.back() == '"') {
        boundary = boundary.substr(1, boundary.size() - 2);
      }
      return ParseMultipart(rr.http.body, boundary);
    }
    return std::nullopt;
  };
  auto bad_form = [page, portal_request](const RouteRequest& rr) {
    const Lang lang = portal_request(rr).lang;
    return page(rr, T(Text::kBadRequest, lang),
                "<p class=\"error\">a form (application/x-www-form-urlencoded or multipart/form-data) expected</p>", 400);
  };

  set("GET", "/portal/style.css", [](const RouteRequest&) {
    HttpResponse r;
    r.content_type = "text/css; charset=utf-8";
    r.body = std::string(kStyle);
    return r;
  });

  set("GET", "/portal/login", [this, page, portal_request](const RouteRequest& rr) {
    const Request& r = portal_request(rr);
    if (r.session) return Redirect("/");
    auto nonce = MakeToken();
    if (!nonce.ok()) return ErrorResponse(500, "INTERNAL", std::string(nonce.status().message()));
    const Lang lang = r.lang;
    HttpResponse response = page(
        rr, T(Text::kLogIn, lang),
        fmt::format("<p>{}</p><form method=\"post\" action=\"/portal/login\">"
                    "<input type=\"hidden\" name=\"login_csrf\" value=\"{}\">"
                    "<label for=\"token\">{}</label><input id=\"token\" name=\"token\" type=\"password\" "
                    "autocomplete=\"off\" size=\"70\" required>"
                    "<div><button type=\"submit\">{}</button></div></form>",
                    T(Text::kLoginHint, lang), nonce->token, T(Text::kToken, lang), T(Text::kLogIn, lang)));
    response.headers.emplace_back(
        "Set-Cookie", Cookie(kLoginCookie, nonce->token, "/portal/login", 900, true, options_.secure_cookies));
    return response;
  });

  set("POST", "/portal/login", [this, page, portal_request, form_of, bad_form, csrf_refused](const RouteRequest& rr) {
    const Request& r = portal_request(rr);
    auto form = form_of(rr);
    if (!form) return bad_form(rr);
    if (!SameSecret(Field(*form, "login_csrf"), CookieValue(r.cookie, kLoginCookie))) return csrf_refused(rr);
    const std::string token(Trim(Field(*form, "token")));
    const std::optional<AccessGrant> grant = options_.access->Authenticate(token);
    if (!grant) {
      return page(rr, T(Text::kLogIn, r.lang),
                  fmt::format("<p class=\"error\">{}</p><p><a href=\"/portal/login\">{}</a></p>",
                              T(Text::kLoginFailed, r.lang), T(Text::kLogIn, r.lang)),
                  401);
    }
    auto session_id = StartSession(*grant);
    if (!session_id.ok()) return ErrorResponse(500, "INTERNAL", std::string(session_id.status().message()));
    HttpResponse response = Redirect("/");
    const auto lifetime_s = static_cast<int64_t>(absl::ToInt64Seconds(options_.session_lifetime));
    response.headers.emplace_back("Set-Cookie",
                                  Cookie(kSessionCookie, *session_id, "/", lifetime_s, true, options_.secure_cookies));
    response.headers.emplace_back("Set-Cookie",
                                  Cookie(kLoginCookie, "", "/portal/login", 0, true, options_.secure_cookies));
    return response;
  });

  set("POST", "/portal/logout", [this, portal_request, form_of, bad_form, csrf_refused](const RouteRequest& rr) {
    const Request& r = portal_request(rr);
    auto form = form_of(rr);
    if (!form) return bad_form(rr);
    if (!SameSecret(Field(*form, "csrf"), r.session->csrf)) return csrf_refused(rr);
    EndSession(r.session_id);
    HttpResponse response = Redirect("/portal/login");
    response.headers.emplace_back("Set-Cookie", Cookie(kSessionCookie, "", "/", 0, true, options_.secure_cookies));
    return response;
  });

  set("GET", "/", [api, page, portal_request](const RouteRequest& rr) {
    const Lang lang = portal_request(rr).lang;
    if (rr.caller->role == Role::kIntake) {
      return page(rr, T(Text::kAppTitle, lang), fmt::format("<p>{}</p>", T(Text::kIntakeNothing, lang)));
    }
    HttpResponse answer = api(rr, "GET", "/v1/quarters");
    if (answer.status != 200) return answer;
    simdjson::dom::parser parser;
    simdjson::dom::element doc;
    if (parser.parse(answer.body).get(doc) != simdjson::SUCCESS) return ErrorResponse(500, "INTERNAL", "bad answer");
    std::string rows;
    for (simdjson::dom::element q : Array(doc, "quarters")) {
      const std::string quarter = Str(q, "quarter"), state = Str(q, "state");
      // A prepared quarter names who prepared it: the other person approves it (SPEC 8).
      const std::string state_text =
          state == "issued"     ? std::string(T(Text::kStateIssued, lang))
          : state == "prepared" ? fmt::format("{} ({})", T(Text::kStatePrepared, lang), HtmlEscape(Str(q, "prepared_by")))
                                : HtmlEscape(state);
      rows += fmt::format("<tr><td><a href=\"/portal/quarters/{}\">{}</a></td><td>{}</td><td class=\"money\">{}</td></tr>",
                          UrlEncode(quarter), HtmlEscape(quarter), state_text, Int(q, "invoices"));
    }
    std::string content =
        rows.empty() ? fmt::format("<p>{}</p>", T(Text::kNoQuarters, lang))
                     : fmt::format("<table><tr><th>{}</th><th>{}</th><th class=\"money\">{}</th></tr>{}</table>",
                                   T(Text::kQuarter, lang), T(Text::kState, lang), T(Text::kInvoices, lang), rows);
    return page(rr, T(Text::kQuarters, lang), content);
  });

  set("GET", "/portal/quarters/{quarter}", [api, page, portal_request](const RouteRequest& rr) {
    const Lang lang = portal_request(rr).lang;
    const std::string quarter = rr.Param("quarter");
    HttpResponse answer = api(rr, "GET", "/v1/invoices?quarter=" + UrlEncode(quarter));
    if (answer.status != 200) return answer;
    simdjson::dom::parser parser;
    simdjson::dom::element doc;
    if (parser.parse(answer.body).get(doc) != simdjson::SUCCESS) return ErrorResponse(500, "INTERNAL", "bad answer");
    std::string rows;
    for (simdjson::dom::element e : Array(doc, "invoices")) {
      const std::string id = Str(e, "invoice_id");
      rows += fmt::format(
          "<tr><td><a href=\"/portal/invoices/{}\">{}</a></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>"
          "<td class=\"money\">{}</td></tr>",
          UrlEncode(id), HtmlEscape(id), HtmlEscape(Str(e, "invoice_number")), HtmlEscape(Str(e, "reference_number")),
          HtmlEscape(Str(e, "issuer_agency_id")), HtmlEscape(Str(e, "recipient_agency_id")),
          Euros(Int(e, "total_cents"), lang));
    }
    std::string content = fmt::format(
        "<table><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th class=\"money\">{}</th></tr>{}</table>",
        T(Text::kInvoice, lang), T(Text::kInvoiceNumber, lang), T(Text::kReferenceNumber, lang),
        T(Text::kIssuer, lang), T(Text::kRecipient, lang), T(Text::kTotal, lang), rows);
    if (MayOpen(*rr.caller, "/portal/quarters/{quarter}/report.xlsx")) {
      const std::string base = "/portal/quarters/" + UrlEncode(quarter);
      content += fmt::format(
          "<h2>{}</h2><ul class=\"downloads\"><li><a href=\"{}/report.xlsx?lang={}\">{} (XLSX)</a></li>"
          "<li><a href=\"{}/report.html?lang={}\">{} (HTML)</a></li></ul>",
          T(Text::kDownloads, lang), base, LangCode(lang), T(Text::kReport, lang), base, LangCode(lang),
          T(Text::kReport, lang));
    }
    return page(rr, fmt::format("{} {}", T(Text::kInvoices, lang), quarter), content);
  });

  set("GET", "/portal/invoices/{id}", [api, page, portal_request](const RouteRequest& rr) {
    const Lang lang = portal_request(rr).lang;
    const std::string id = rr.Param("id");
    HttpResponse answer = api(rr, "GET", fmt::format("/v1/invoices/{}/explain", UrlEncode(id)));
    if (answer.status != 200) return answer;
    simdjson::dom::parser parser;
    simdjson::dom::element doc;
    if (parser.parse(answer.body).get(doc) != simdjson::SUCCESS) return ErrorResponse(500, "INTERNAL", "bad answer");
    const std::string quarter = Str(doc, "quarter");
    std::string content = fmt::format(
        "<dl><dt>{}</dt><dd><a href=\"/portal/quarters/{}\">{}</a></dd><dt>{}</dt><dd>{}</dd><dt>{}</dt><dd>{}</dd>"
        "<dt>{}</dt><dd>{}</dd><dt>{}</dt><dd>{}</dd><dt>{}</dt><dd class=\"total\">{}</dd><dt>{}</dt><dd>{}</dd>"
        "<dt>SHA-256</dt><dd><code>{}</code></dd></dl>",
        T(Text::kQuarter, lang), UrlEncode(quarter), HtmlEscape(quarter), T(Text::kInvoiceNumber, lang),
        HtmlEscape(Str(doc, "invoice_number")), T(Text::kReferenceNumber, lang),
        HtmlEscape(Str(doc, "reference_number")), T(Text::kIssuer, lang), HtmlEscape(Str(doc, "issuer_agency_id")),
        T(Text::kRecipient, lang), HtmlEscape(Str(doc, "recipient_agency_id")), T(Text::kTotal, lang),
        Euros(Int(doc, "amount_cents"), lang), T(Text::kAsOf, lang), HtmlEscape(Str(doc, "as_of")),
        HtmlEscape(Str(doc, "content_sha256")));
    const std::string base = "/portal/invoices/" + UrlEncode(id);
    content += fmt::format(
        "<h2>{}</h2><ul class=\"downloads\"><li><a href=\"{}/finvoice\">Finvoice 3.0 (XML)</a></li>"
        "<li><a href=\"{}/peppol\">Peppol BIS 3.0 (UBL XML)</a></li><li><a href=\"{}/csv\">CSV</a></li>"
        "<li><a href=\"{}/proof\">{} (JSON)</a></li></ul>",
        T(Text::kDownloads, lang), base, base, base, base, T(Text::kProof, lang));
    content += fmt::format(
        "<h2>{}</h2><table><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th class=\"money\">{}</th>"
        "<th class=\"money\">{}</th><th class=\"money\">{}</th></tr>",
        T(Text::kLines, lang), T(Text::kLine, lang), T(Text::kServicePoint, lang), T(Text::kPool, lang),
        T(Text::kKey, lang), T(Text::kWeight, lang), T(Text::kBasis, lang), T(Text::kAmount, lang));
    std::string explanations;
    for (simdjson::dom::element line : Array(doc, "lines")) {
      const std::string number = Str(line, "line");
      content += fmt::format(
          "<tr><td><a href=\"#line-{}\">{}</a></td><td>{}</td><td>{}</td><td>{}</td><td class=\"money\">{} %</td>"
          "<td class=\"money\">{} / {}</td><td class=\"money\">{}</td></tr>",
          HtmlEscape(number), HtmlEscape(number), HtmlEscape(Str(line, "service_point_id")),
          HtmlEscape(Str(line, "pool")), HtmlEscape(Str(line, "key")), HtmlEscape(Str(line, "weight_pct")),
          HtmlEscape(Str(line, "basis_quantity")), HtmlEscape(Str(line, "basis_total")),
          Euros(Int(line, "amount_cents"), lang));
      std::string text;
      for (simdjson::dom::element row : Array(line, "explanation")) {
        std::string_view s;
        if (row.get(s) == simdjson::SUCCESS) text += HtmlEscape(s) + "\n";
      }
      explanations += fmt::format("<details id=\"line-{}\"><summary>{} {}: {} {} {}</summary><pre>{}</pre></details>",
                                  HtmlEscape(number), T(Text::kLine, lang), HtmlEscape(number),
                                  HtmlEscape(Str(line, "service_point_id")), HtmlEscape(Str(line, "pool")),
                                  HtmlEscape(Str(line, "key")), text);
    }
    content += fmt::format("</table><h2>{}</h2>{}", T(Text::kExplanation, lang), explanations);
    return page(rr, fmt::format("{} {}", T(Text::kInvoice, lang), id), content);
  });

  // Downloads: the API's answer as an attachment (file names as `tori bill` writes them).
  auto download = [api](std::string suffix, std::string prefix, std::string extension) {
    return [api, suffix, prefix, extension](const RouteRequest& rr) {
      const std::string id = rr.Param("id");
      HttpResponse answer = api(rr, "GET", fmt::format("/v1/invoices/{}/{}", UrlEncode(id), suffix));
      if (answer.status != 200) return answer;
      std::string file_id;  // only characters safe in a header's quoted string
      for (char c : id) file_id.push_back(absl::ascii_isalnum(c) || c == '-' || c == '_' || c == '.' ? c : '_');
      answer.headers.emplace_back("Content-Disposition",
                                  fmt::format("attachment; filename=\"{}-{}.{}\"", prefix, file_id, extension));
      return answer;
    };
  };
  // The quarter's reports (the API decides who: hosts of every invoice in it, auditors).
  // The language is the one the quarter was billed in; the page's by default.
  auto report = [api, portal_request](std::string file, std::string prefix) {
    return [api, portal_request, file, prefix](const RouteRequest& rr) {
      const std::string quarter = rr.Param("quarter");
      const std::string lang(LangCode(portal_request(rr).lang));
      HttpResponse answer =
          api(rr, "GET", fmt::format("/v1/quarters/{}/{}?lang={}", UrlEncode(quarter), file, lang));
      if (answer.status != 200) return answer;
      std::string file_quarter;
      for (char c : quarter) file_quarter.push_back(absl::ascii_isalnum(c) ? c : '_');
      const std::string extension = file.substr(file.rfind('.') + 1);
      answer.headers.emplace_back("Content-Disposition",
                                  fmt::format("attachment; filename=\"{}-{}.{}\"", prefix, file_quarter, extension));
      return answer;
    };
  };
  set("GET", "/portal/quarters/{quarter}/report.xlsx", report("report.xlsx", "invoices"));
  set("GET", "/portal/quarters/{quarter}/report.html", report("report.html", "report"));
  set("GET", "/portal/invoices/{id}/finvoice", download("finvoice", "finvoice", "xml"));
  set("GET", "/portal/invoices/{id}/peppol", download("peppol", "peppol", "xml"));
  set("GET", "/portal/invoices/{id}/csv", download("csv", "invoice", "csv"));
  set("GET", "/portal/invoices/{id}/proof", download("proof", "proof", "json"));

  // The reconcile form: an agency's own agency is fixed; an auditor names one.
  auto reconcile_form = [](const Request& r, const AccessGrant& caller, std::string_view agency,
                           std::string_view quarter, std::string_view csv) {
    const Lang lang = r.lang;
    std::string agency_field =
        caller.role == Role::kAuditor
            ? fmt::format("<input id=\"agency\" name=\"agency\" value=\"{}\" required>", HtmlEscape(agency))
            : fmt::format("<input id=\"agency\" name=\"agency\" value=\"{0}\" readonly>", HtmlEscape(caller.agency_id));
    return fmt::format(
        "<p>{}</p><form method=\"post\" action=\"/portal/reconcile\" enctype=\"multipart/form-data\">"
        "<input type=\"hidden\" name=\"csrf\" value=\"{}\">"
        "<label for=\"agency\">{}</label>{}"
        "<label for=\"quarter\">{}</label><input id=\"quarter\" name=\"quarter\" value=\"{}\" placeholder=\"2026Q1\" "
        "required>"
        "<label for=\"file\">{}</label><input id=\"file\" name=\"file\" type=\"file\" accept=\".csv,text/csv\">"
        "<label for=\"csv\">{}</label><textarea id=\"csv\" name=\"csv\" rows=\"12\">{}</textarea>"
        "<div><button type=\"submit\">{}</button></div></form>",
        T(Text::kReconcileHint, lang), HtmlEscape(r.session->csrf), T(Text::kAgency, lang), agency_field,
        T(Text::kQuarter, lang), HtmlEscape(quarter), T(Text::kContactsFile, lang), T(Text::kContactsCsv, lang),
        HtmlEscape(csv),
        T(Text::kRun, lang));
  };
  set("GET", "/portal/reconcile", [page, portal_request, reconcile_form](const RouteRequest& rr) {
    const Request& r = portal_request(rr);
    return page(rr, T(Text::kReconcile, r.lang), reconcile_form(r, *rr.caller, "", "", "contact_id\n"));
  });
  set("POST", "/portal/reconcile", [api, page, portal_request, reconcile_form, form_of, bad_form,
                                    csrf_refused](const RouteRequest& rr) {
    const Request& r = portal_request(rr);
    const Lang lang = r.lang;
    auto form = form_of(rr);
    if (!form) return bad_form(rr);
    if (!SameSecret(Field(*form, "csrf"), r.session->csrf)) return csrf_refused(rr);
    const std::string agency = Field(*form, "agency"), quarter = Field(*form, "quarter");
    // The file when one was chosen, else the pasted text. Browsers send a textarea's
    // line breaks as CRLF; the CSV reader takes either.
    std::string csv = Field(*form, "file");
    if (csv.empty()) csv = Field(*form, "csv");
    HttpResponse answer = api(rr, "POST",
                              fmt::format("/v1/reconcile?agency={}&quarter={}", UrlEncode(agency), UrlEncode(quarter)),
                              csv);
    if (answer.status == 400) {
      // Bad input: the form again, with the API's message (which names the line).
      simdjson::dom::parser parser;
      simdjson::dom::element doc;
      std::string message = parser.parse(answer.body).get(doc) == simdjson::SUCCESS ? Str(doc, "message") : "";
      return page(rr, T(Text::kReconcile, lang),
                  fmt::format("<p class=\"error\">{}</p>{}", HtmlEscape(message),
                              reconcile_form(r, *rr.caller, agency, quarter, csv)),
                  400);
    }
    if (answer.status != 200) return answer;
    simdjson::dom::parser parser;
    simdjson::dom::element doc;
    if (parser.parse(answer.body).get(doc) != simdjson::SUCCESS) return ErrorResponse(500, "INTERNAL", "bad answer");
    const bool ok = Bool(doc, "ok");
    std::string content = fmt::format(
        "<dl><dt>{}</dt><dd>{}</dd><dt>{}</dt><dd>{}</dd><dt>{}</dt><dd class=\"{}\">{}</dd><dt>{}</dt><dd>{}</dd>",
        T(Text::kAgency, lang), HtmlEscape(Str(doc, "agency_id")), T(Text::kQuarter, lang),
        HtmlEscape(Str(doc, "quarter")), T(Text::kStatus, lang), ok ? "ok" : "bad",
        ok ? T(Text::kAllMatch, lang) : T(Text::kDiffers, lang), T(Text::kMatched, lang), Int(doc, "matched"));
    simdjson::dom::object by_status;
    if (doc["differences_by_status"].get(by_status) == simdjson::SUCCESS) {
      for (auto [status, count] : by_status) {
        int64_t n = 0;
        if (count.get(n) != simdjson::SUCCESS) n = 0;
        content += fmt::format("<dt>{}</dt><dd>{}</dd>", HtmlEscape(status), n);
      }
    }
    content += "</dl>";
    simdjson::dom::array differences = Array(doc, "differences");
    if (differences.size() > 0) {
      content += fmt::format("<h2>{}</h2>", T(Text::kDifferences, lang));
      if (differences.size() > kDifferencesShownMax) {
        content += fmt::format("<p>{} {} / {}.</p>", T(Text::kShownFirst, lang), kDifferencesShownMax,
                               differences.size());
      }
      content += fmt::format("<table><tr><th>{}</th><th>{}</th><th>{}</th></tr>", T(Text::kContact, lang),
                             T(Text::kStatus, lang), T(Text::kDetail, lang));
      size_t shown = 0;
      for (simdjson::dom::element d : differences) {
        if (++shown > kDifferencesShownMax) break;
        content += fmt::format("<tr><td>{}</td><td>{}</td><td>{}</td></tr>", HtmlEscape(Str(d, "contact_id")),
                               HtmlEscape(Str(d, "status")), HtmlEscape(Str(d, "detail")));
      }
      content += "</table>";
    }
    content += fmt::format("<p><a href=\"/portal/reconcile\">{}</a></p>", T(Text::kBack, lang));
    return page(rr, T(Text::kReconcile, lang), content);
  });

  set("GET", "/portal/verify", [api, page, portal_request](const RouteRequest& rr) {
    const Lang lang = portal_request(rr).lang;
    HttpResponse answer = api(rr, "GET", "/v1/verify");
    if (answer.status != 200) return answer;
    simdjson::dom::parser parser;
    simdjson::dom::element doc;
    if (parser.parse(answer.body).get(doc) != simdjson::SUCCESS) return ErrorResponse(500, "INTERNAL", "bad answer");
    const bool ok = Bool(doc, "ok");
    const bool live_ok = Bool(doc, "live_state_ok");
    std::string content = fmt::format(
        "<p>{}</p><dl><dt>{}</dt><dd class=\"{}\">{}</dd><dt>{}</dt><dd>{}</dd><dt>{}</dt><dd class=\"{}\">{} {}</dd></dl>",
        T(Text::kVerifyHint, lang), T(Text::kStatus, lang), ok ? "ok" : "bad",
        ok ? T(Text::kOk, lang) : T(Text::kDiffers, lang), T(Text::kEventsReplayed, lang), Int(doc, "events_replayed"),
        T(Text::kLiveState, lang), live_ok ? "ok" : "bad", live_ok ? T(Text::kOk, lang) : T(Text::kDiffers, lang),
        HtmlEscape(Str(doc, "live_state_problem")));
    content += fmt::format("<table><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr>", T(Text::kDocument, lang),
                           T(Text::kQuarter, lang), T(Text::kAsOf, lang), T(Text::kStatus, lang));
    for (simdjson::dom::element d : Array(doc, "documents")) {
      const std::string status = Str(d, "status");
      content += fmt::format("<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"{}\">{}</td></tr>",
                             HtmlEscape(Str(d, "document_id")), HtmlEscape(Str(d, "quarter")),
                             HtmlEscape(Str(d, "as_of")), status == "OK" ? "ok" : "bad",
                             status == "OK" ? std::string(T(Text::kOk, lang))
                                            : HtmlEscape(status + " " + Str(d, "difference")));
    }
    content += "</table>";
    return page(rr, T(Text::kVerify, lang), content);
  });
  return handlers;
}

Router::Outcome Portal::Handle(const HttpRequest& http) {
  Request r;
  static_cast<HttpRequest&>(r) = http;
  r.authorization.clear();  // the portal is cookie-only: a bearer token is the API's
  const std::string lang_query = QueryValue(http.target, "lang");
  const std::optional<Lang> chosen = ParseLang(lang_query);
  if (chosen) {
    r.lang = *chosen;
  } else if (auto remembered = ParseLang(CookieValue(http.cookie, kLangCookie))) {
    r.lang = *remembered;
  } else {
    r.lang = LangOfAcceptLanguage(http.accept_language.substr(0, 512));
  }
  std::optional<AccessGrant> grant;
  r.session_id = CookieValue(http.cookie, kSessionCookie);
  if (!r.session_id.empty()) {
    r.session = FindSession(r.session_id);
    if (r.session) {
      grant = options_.access->Find(r.session->token_id);
      if (!grant || grant->revoked) {
        EndSession(r.session_id);  // a revoked token ends its sessions at once
        grant.reset();
        r.session.reset();
      }
    }
  }

  Router::Outcome outcome = router_.Handle(r, grant ? &*grant : nullptr);
  HttpResponse& response = outcome.response;
  // The router's and the API's errors are JSON: as pages here (401: to the login).
  if (response.status >= 400 && response.content_type == "application/json") {
    if (response.status == 401) {
      response = Redirect("/portal/login");
    } else {
      simdjson::dom::parser parser;
      simdjson::dom::element doc;
      std::string message;
      if (parser.parse(response.body).get(doc) == simdjson::SUCCESS) message = Str(doc, "message");
      const int status = response.status;
      std::string_view title = status == 404   ? T(Text::kNotFound, r.lang)
                               : status == 403 ? T(Text::kForbidden, r.lang)
                                               : T(Text::kBadRequest, r.lang);
      // 404 and 403 say no more than the API's status (nothing of what exists); others
      // pass the API's message, which names the input and what to do.
      std::string content = fmt::format("<p class=\"error\">{}</p>", HtmlEscape(status == 404 || status == 403 ? title : message));
      content += fmt::format("<p><a href=\"/\">{}</a></p>", T(Text::kBack, r.lang));
      response = Html(Page(r, outcome.grant ? &*outcome.grant : nullptr, fmt::format("{} {}", status, title), content),
                      status);
    }
  }
  response.headers.emplace_back("Content-Security-Policy", std::string(kContentSecurityPolicy));
  response.headers.emplace_back("X-Frame-Options", "DENY");
  response.headers.emplace_back("Referrer-Policy", "no-referrer");
  if (chosen) {
    response.headers.emplace_back("Set-Cookie",
                                  Cookie(kLangCookie, LangCode(*chosen), "/", 365 * 86400, true, options_.secure_cookies));
  }
  return outcome;
}

}  // namespace tori::server
