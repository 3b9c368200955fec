#include "net/route_table.hpp"

#include <algorithm>
#include <cstddef>
#include <utility>

#include "net/http_text.hpp"

namespace dockmaster::net {

namespace {

/// The part of a Host value that names the host: "example.com:8080" -> "example.com",
/// "[::1]:8080" -> "::1", "[::1]" -> "::1". IPv6 literals lose their brackets so that a
/// configured "::1" and "[::1]" both match. A value with several colons and no brackets
/// (not valid in a Host header, but how one writes a bare IPv6 address in a config) is
/// kept whole rather than cut at its last colon. Returns a view into `host`.
std::string_view host_without_port(std::string_view host) {
  if (!host.empty() && host.front() == '[') {
    const auto close = host.find(']');
    if (close == std::string_view::npos) return host;  // malformed: compare as is
    return host.substr(1, close - 1);
  }
  const auto colon = host.find(':');
  if (colon != std::string_view::npos && host.find(':', colon + 1) == std::string_view::npos)
    return host.substr(0, colon);
  return host;
}

/// The path of a request target: everything before the query (or a fragment, which a
/// client should not send but which is not part of the path either).
std::string_view path_of(std::string_view target) {
  const auto end = target.find_first_of("?#");
  return end == std::string_view::npos ? target : target.substr(0, end);
}

bool starts_with(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && s.compare(0, prefix.size(), prefix) == 0;
}

/// How well a route's prefix matches `path`: the number of path characters it covers,
/// or -1 when it does not match. A prefix ending in '/' also matches the path equal to
/// the prefix without that slash ("/api/" matches "/api"), covering one character fewer,
/// so that a route written exactly as "/api" still beats "/api/" for the path "/api".
std::ptrdiff_t match_length(std::string_view prefix, std::string_view path) {
  if (starts_with(path, prefix)) return static_cast<std::ptrdiff_t>(prefix.size());
  if (prefix.size() > 1 && prefix.back() == '/' && path.size() == prefix.size() - 1 &&
      starts_with(prefix, path))
    return static_cast<std::ptrdiff_t>(path.size());
  return -1;
}

}  // namespace

route_table::route_table(std::vector<config::route> routes) : routes_(std::move(routes)) {
  // Normalised once here so that match() compares without copying or allocating.
  for (auto& route : routes_) {
    std::string host{host_without_port(route.host)};
    std::transform(host.begin(), host.end(), host.begin(), to_lower_ascii);
    route.host = std::move(host);
  }
  // Longest prefix first, and at equal length host routes first: then the first route
  // that matches with its full prefix is the answer (see match()). Stable, so that of
  // two identical routes the one configured first wins.
  std::stable_sort(routes_.begin(), routes_.end(), [](const config::route& a, const config::route& b) {
    if (a.prefix.size() != b.prefix.size()) return a.prefix.size() > b.prefix.size();
    return !a.host.empty() && b.host.empty();
  });
}

const config::route* route_table::match(std::string_view host, std::string_view path) const {
  const std::string_view request_host = host_without_port(host);
  const std::string_view request_path = path_of(path);

  const config::route* best = nullptr;
  std::ptrdiff_t best_length = -1;
  bool best_full = false;  // best matched with its whole prefix, not the slash-less form
  for (const auto& route : routes_) {
    // Routes are sorted by prefix length, and a route covers at most its prefix length:
    // once prefixes are shorter than the best cover, nothing later can win.
    if (static_cast<std::ptrdiff_t>(route.prefix.size()) < best_length) break;
    if (!route.host.empty() && !iequals_ascii(route.host, request_host)) continue;
    const std::ptrdiff_t length = match_length(route.prefix, request_path);
    if (length < 0) continue;
    const bool full = length == static_cast<std::ptrdiff_t>(route.prefix.size());
    // Ranking: longer cover, then host route over hostless, then a full prefix match
    // over a slash-less one ("/api" beats "/api/" for the path "/api"). On a complete
    // tie the earlier route, i.e. the one configured first, keeps its place.
    bool better = length > best_length;
    if (!better && length == best_length) {
      const bool has_host = !route.host.empty();
      const bool best_has_host = !best->host.empty();
      better = (has_host && !best_has_host) || (has_host == best_has_host && full && !best_full);
    }
    if (better) {
      best = &route;
      best_length = length;
      best_full = full;
    }
  }
  return best;
}

std::string route_table::upstream_target(const config::route& route, std::string_view target) {
  if (!route.strip_prefix) return std::string{target};

  const std::string_view path = path_of(target);
  const std::string_view rest_of_target = target.substr(path.size());  // "?x=1", or empty
  std::string_view remaining_path = path;
  if (starts_with(path, route.prefix))
    remaining_path = path.substr(route.prefix.size());
  else if (match_length(route.prefix, path) >= 0)
    remaining_path = {};  // "/api" under "/api/": nothing left of the path
  // Any other path was not matched by this route; it is forwarded unchanged.

  std::string result;
  result.reserve(remaining_path.size() + rest_of_target.size() + 1);
  if (remaining_path.empty() || remaining_path.front() != '/') result += '/';
  result += remaining_path;
  result += rest_of_target;
  return result;
}

}  // namespace dockmaster::net
