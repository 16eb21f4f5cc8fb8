#include "services/server/router.h"
#include "services/server/internal/text.h"

#include "fmt/format.h"

namespace tori::server {
namespace {

using internal::Split;
using internal::Trim;

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Matches `path` against `pattern` segment by segment; the decoded parameters, or
// nullopt. `bad` is set when a segment is not valid percent-encoding.
std::optional<std::map<std::string, std::string, std::less<>>> Match(std::string_view pattern,
                                                                     std::string_view path, bool& bad) {
  std::vector<std::string_view> want = Split(pattern, '/');
  std::vector<std::string_view> got = Split(path, '/');
  if (want.size() != got.size()) return std::nullopt;
  std::map<std::string, std::string, std::less<>> params;
  for (size_t i = 0; i < want.size(); ++i) {
    if (want[i].starts_with('{')) {
      if (got[i].empty()) return std::nullopt;
      auto decoded = PercentDecode(got[i], /*query=*/false);
      if (!decoded) {
        bad = true;
        return std::nullopt;
      }
      params.emplace(std::string(want[i].substr(1, want[i].size() - 2)), std::move(*decoded));
    } else if (want[i] != got[i]) {
      return std::nullopt;
    }
  }
  return params;
}

}  // namespace

std::optional<std::string> PercentDecode(std::string_view text, bool query) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '%') {
      if (i + 2 >= text.size()) return std::nullopt;
      const int hi = HexValue(text[i + 1]), lo = HexValue(text[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      c = static_cast<char>(hi * 16 + lo);
      i += 2;
    } else if (c == '+' && query) {
      c = ' ';
    }
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return std::nullopt;
    out.push_back(c);
  }
  return out;
}

std::string RouteName(const RouteSpec& route) { return fmt::format("{} {}", route.method, route.pattern); }

std::string RouteRequest::Param(std::string_view name) const {
  auto it = params.find(name);
  return it == params.end() ? "" : it->second;
}

std::optional<std::string> RouteRequest::Query(std::string_view name) const {
  auto it = query.find(name);
  if (it == query.end()) return std::nullopt;
  return it->second;
}

Router::Router(const AccessList* access, std::vector<RouteHandler> handlers, std::span<const RouteSpec> table)
    : access_(access), handlers_(std::move(handlers)), table_(table) {
  handlers_.resize(table_.size());
}

Router::Outcome Router::Handle(const HttpRequest& request, const AccessGrant* as) const {
  Outcome outcome;
  const std::string_view target = request.target;
  const size_t question = target.find('?');
  const std::string_view path = target.substr(0, question);
  const std::string_view query_text = question == std::string_view::npos ? "" : target.substr(question + 1);

  const RouteSpec* route = nullptr;
  size_t index = 0;
  bool path_known = false, bad = false;
  std::map<std::string, std::string, std::less<>> params;
  for (size_t i = 0; i < table_.size(); ++i) {
    auto matched = Match(table_[i].pattern, path, bad);
    if (!matched) continue;
    path_known = true;
    if (table_[i].method == request.method) {
      route = &table_[i];
      index = i;
      params = std::move(*matched);
      break;
    }
  }
  if (route == nullptr) {
    if (bad) {
      outcome.response = ErrorResponse(400, "BAD_PATH", "the path is not valid percent-encoding");
    } else if (path_known) {
      outcome.response = ErrorResponse(405, "METHOD_NOT_ALLOWED",
                                       fmt::format("{} is not a method of this path", request.method));
    } else {
      outcome.response = ErrorResponse(404, "NOT_FOUND", "no such path; the API's paths start with /v1/");
    }
    return outcome;
  }
  outcome.route = route;
  if (!route->public_route) {
    constexpr std::string_view kBearer = "Bearer ";
    std::string_view authorization = request.authorization;
    // The scheme is case-insensitive (RFC 9110 section 11.1); the token is not.
    auto is_bearer = [&] {
      if (authorization.size() <= kBearer.size()) return false;
      for (size_t i = 0; i < kBearer.size(); ++i) {
        const char c = authorization[i];
        if ((c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c) != (i == 0 ? 'b' : kBearer[i])) return false;
      }
      return true;
    };
    if (as != nullptr) {
      outcome.grant = *as;
    } else if (access_ != nullptr && is_bearer()) {
      outcome.grant = access_->Authenticate(authorization.substr(kBearer.size()));
    }
    if (!outcome.grant) {
      outcome.response = ErrorResponse(401, "UNAUTHENTICATED",
                                       "send `Authorization: Bearer TOKEN` with a token from `tori access "
                                       "grant`; a revoked token is refused");
      outcome.response.headers.emplace_back("WWW-Authenticate", "Bearer");
      return outcome;
    }
    if (!Has(route->roles, outcome.grant->role)) {
      outcome.response = ErrorResponse(
          403, "FORBIDDEN", fmt::format("the role {} may not {}", RoleName(outcome.grant->role), RouteName(*route)));
      return outcome;
    }
  }
  RouteRequest route_request{request, *route, outcome.grant ? &*outcome.grant : nullptr, std::move(params), {}};
  if (!query_text.empty()) {
    for (std::string_view pair : Split(query_text, '&')) {
      if (pair.empty()) continue;
      const size_t eq = pair.find('=');
      auto key = PercentDecode(pair.substr(0, eq), true);
      auto value = PercentDecode(eq == std::string_view::npos ? "" : pair.substr(eq + 1), true);
      if (!key || !value) {
        outcome.response = ErrorResponse(400, "BAD_QUERY", "the query is not valid percent-encoding");
        return outcome;
      }
      route_request.query[*key] = std::move(*value);
    }
  }
  if (!handlers_[index]) {
    outcome.response = ErrorResponse(
        501, "NOT_IMPLEMENTED",
        fmt::format("{} is part of the API (SPEC section 7) but not served by this version yet; use "
                    "the command line meanwhile",
                    RouteName(*route)));
    return outcome;
  }
  outcome.response = handlers_[index](route_request);
  return outcome;
}

}  // namespace tori::server
