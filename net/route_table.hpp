#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"

namespace dockmaster::net {

/// Maps a request (Host, path) to a route. Immutable once built, so each I/O thread
/// can hold its own copy and match without locks.
///
/// Prefixes are plain string prefixes, as in nginx `location /api` and Traefik
/// `PathPrefix`: "/api" also matches "/apix". A prefix ending in '/' also matches the
/// path equal to it without that slash ("/api/" takes "/api"), so that "/api" reaches
/// the api service instead of falling through to "/": nginx sends a proxied
/// `location /api/` the same place with a 301 to "/api/"; routing it directly gives
/// that destination without the redirect round trip.
class route_table {
 public:
  route_table() = default;
  /// Route hosts are stored normalised (lowercase, any port and IPv6 brackets removed),
  /// so routes() and match() return them in that form.
  explicit route_table(std::vector<config::route> routes);

  /// The route whose prefix is the longest one matching `path` among the routes
  /// whose host is empty or equals `host` (case-insensitive, any `:port` removed,
  /// "[::1]:8080" is the host "::1"). Only the path counts: a query string in `path`
  /// is ignored. At equal length a host route beats a hostless one, and a full prefix
  /// beats the slash-less form of a longer one ("/api" beats "/api/" for "/api").
  /// nullptr: no route. Does not allocate: it runs on every request.
  const config::route* match(std::string_view host, std::string_view path) const;

  /// The request target to send upstream: `target` itself, or with the route's
  /// prefix removed from its path when `strip_prefix` is set; the query is kept.
  /// ("/api/items?x=1" with prefix "/api" or "/api/" gives "/items?x=1"; "/api" and
  /// "/api?x" under "/api/" give "/" and "/?x"; a result that would not start with '/'
  /// gets one). A target the route does not match is returned unchanged.
  static std::string upstream_target(const config::route& route, std::string_view target);

  const std::vector<config::route>& routes() const { return routes_; }

 private:
  std::vector<config::route> routes_;  // longest prefix first
};

}  // namespace dockmaster::net
