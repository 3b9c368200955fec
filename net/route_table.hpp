#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"

namespace dockmaster::net {

/// Maps a request (Host, path) to a route. Immutable once built, so each I/O thread
/// can hold its own copy and match without locks.
class route_table {
 public:
  route_table() = default;
  explicit route_table(std::vector<config::route> routes);

  /// The route whose prefix is the longest one matching `path` among the routes
  /// whose host is empty or equals `host` (case-insensitive, any `:port` removed).
  /// At equal prefix length a host route beats a hostless one. nullptr: no route.
  const config::route* match(std::string_view host, std::string_view path) const;

  /// The request target to send upstream: `target` itself, or with the route's
  /// prefix removed when `strip_prefix` is set ("/api/items?x=1" with prefix "/api"
  /// gives "/items?x=1"; a result that would not start with '/' gets one).
  static std::string upstream_target(const config::route& route, std::string_view target);

  const std::vector<config::route>& routes() const { return routes_; }

 private:
  std::vector<config::route> routes_;  // longest prefix first
};

}  // namespace dockmaster::net
