#include "net/route_table.hpp"

#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace dockmaster::net {
namespace {

config::route make_route(std::string prefix, std::string service, std::string host = {},
                         bool strip_prefix = false) {
  config::route route;
  route.prefix = std::move(prefix);
  route.service = std::move(service);
  route.host = std::move(host);
  route.strip_prefix = strip_prefix;
  return route;
}

/// The service of the matched route, or "" when nothing matches: keeps the
/// expectations one line each.
std::string service_for(const route_table& table, std::string_view host, std::string_view path) {
  const auto* route = table.match(host, path);
  return route ? route->service : std::string{};
}

// --- match: prefixes -------------------------------------------------------------

TEST(RouteTableMatch, FindsNothingInAnEmptyTable) {
  route_table table;
  EXPECT_EQ(table.match("example.com", "/"), nullptr);
}

TEST(RouteTableMatch, FindsNothingWhenNoPrefixMatches) {
  route_table table{{make_route("/api/", "api")}};
  EXPECT_EQ(table.match("example.com", "/static/app.js"), nullptr);
  EXPECT_EQ(table.match("example.com", "/ap"), nullptr);
}

TEST(RouteTableMatch, SendsEveryPathToTheRootPrefix) {
  route_table table{{make_route("/", "web")}};
  EXPECT_EQ(service_for(table, "example.com", "/"), "web");
  EXPECT_EQ(service_for(table, "example.com", "/anything/at/all"), "web");
}

TEST(RouteTableMatch, PicksTheLongestMatchingPrefixWhateverTheConfigOrder) {
  route_table table{{make_route("/", "web"), make_route("/api/", "api"), make_route("/api/admin/", "admin")}};
  EXPECT_EQ(service_for(table, "h", "/api/admin/users"), "admin");
  EXPECT_EQ(service_for(table, "h", "/api/items"), "api");
  EXPECT_EQ(service_for(table, "h", "/index.html"), "web");

  route_table reversed{{make_route("/api/admin/", "admin"), make_route("/api/", "api"), make_route("/", "web")}};
  EXPECT_EQ(service_for(reversed, "h", "/api/admin/users"), "admin");
  EXPECT_EQ(service_for(reversed, "h", "/api/items"), "api");
  EXPECT_EQ(service_for(reversed, "h", "/index.html"), "web");
}

TEST(RouteTableMatch, TreatsAPrefixWithoutTrailingSlashAsAPlainStringPrefix) {
  route_table table{{make_route("/", "web"), make_route("/api", "api")}};
  EXPECT_EQ(service_for(table, "h", "/api"), "api");
  EXPECT_EQ(service_for(table, "h", "/api/items"), "api");
  EXPECT_EQ(service_for(table, "h", "/apix"), "api");  // as nginx `location /api`
}

TEST(RouteTableMatch, SendsThePathEqualToAPrefixWithoutItsTrailingSlashToThatRoute) {
  route_table table{{make_route("/", "web"), make_route("/api/", "api")}};
  EXPECT_EQ(service_for(table, "h", "/api"), "api");
  EXPECT_EQ(service_for(table, "h", "/api/"), "api");
}

TEST(RouteTableMatch, DoesNotExtendTheTrailingSlashRuleToLongerOrShorterPaths) {
  route_table table{{make_route("/", "web"), make_route("/api/", "api")}};
  EXPECT_EQ(service_for(table, "h", "/apix"), "web");
  EXPECT_EQ(service_for(table, "h", "/ap"), "web");
}

TEST(RouteTableMatch, DoesNotLetTheRootPrefixMatchTheEmptyPathThroughTheTrailingSlashRule) {
  route_table table{{make_route("/", "web")}};
  EXPECT_EQ(table.match("h", ""), nullptr);
}

TEST(RouteTableMatch, PrefersAnExactPrefixOverTheSlashlessFormOfALongerOne) {
  route_table table{{make_route("/api/", "api-slash"), make_route("/api", "api-exact")}};
  EXPECT_EQ(service_for(table, "h", "/api"), "api-exact");
  EXPECT_EQ(service_for(table, "h", "/api/items"), "api-slash");
}

TEST(RouteTableMatch, IgnoresTheQueryString) {
  route_table table{{make_route("/", "web"), make_route("/api/", "api")}};
  EXPECT_EQ(service_for(table, "h", "/?next=/api/items"), "web");
  EXPECT_EQ(service_for(table, "h", "/api?x=1"), "api");
  EXPECT_EQ(service_for(table, "h", "/api/items?x=1"), "api");
}

TEST(RouteTableMatch, IgnoresAFragment) {
  route_table table{{make_route("/", "web"), make_route("/api/", "api")}};
  EXPECT_EQ(service_for(table, "h", "/#/api/"), "web");
}

TEST(RouteTableMatch, LetsTheFirstConfiguredOfTwoIdenticalRoutesWin) {
  route_table table{{make_route("/api/", "first"), make_route("/api/", "second")}};
  EXPECT_EQ(service_for(table, "h", "/api/x"), "first");
}

TEST(RouteTableMatch, KeepsTheRoutesLongestPrefixFirst) {
  route_table table{{make_route("/", "web"), make_route("/api/admin/", "admin"), make_route("/api/", "api")}};
  ASSERT_EQ(table.routes().size(), 3u);
  EXPECT_EQ(table.routes()[0].prefix, "/api/admin/");
  EXPECT_EQ(table.routes()[1].prefix, "/api/");
  EXPECT_EQ(table.routes()[2].prefix, "/");
}

// --- match: hosts ----------------------------------------------------------------

TEST(RouteTableMatch, PrefersAHostRouteOverAHostlessOneOfEqualLength) {
  route_table table{{make_route("/", "default"), make_route("/", "admin-site", "admin.example.com")}};
  EXPECT_EQ(service_for(table, "admin.example.com", "/x"), "admin-site");
  EXPECT_EQ(service_for(table, "www.example.com", "/x"), "default");
}

TEST(RouteTableMatch, PrefersAHostRouteOverAHostlessOneWhateverTheConfigOrder) {
  route_table table{{make_route("/", "admin-site", "admin.example.com"), make_route("/", "default")}};
  EXPECT_EQ(service_for(table, "admin.example.com", "/x"), "admin-site");
}

TEST(RouteTableMatch, PrefersALongerHostlessPrefixOverAShorterHostRoute) {
  route_table table{{make_route("/", "admin-site", "admin.example.com"), make_route("/api/", "api")}};
  EXPECT_EQ(service_for(table, "admin.example.com", "/api/items"), "api");
}

TEST(RouteTableMatch, SkipsAHostRouteForAnotherHost) {
  route_table table{{make_route("/api/", "admin-api", "admin.example.com")}};
  EXPECT_EQ(table.match("www.example.com", "/api/x"), nullptr);
  EXPECT_EQ(table.match("admin.example.com.evil.net", "/api/x"), nullptr);
}

TEST(RouteTableMatch, ComparesHostsIgnoringCase) {
  route_table table{{make_route("/", "admin-site", "Admin.Example.com")}};
  EXPECT_EQ(service_for(table, "ADMIN.example.COM", "/"), "admin-site");
  EXPECT_EQ(service_for(table, "admin.example.com", "/"), "admin-site");
}

TEST(RouteTableMatch, IgnoresThePortOfTheHostHeader) {
  route_table table{{make_route("/", "admin-site", "admin.example.com")}};
  EXPECT_EQ(service_for(table, "admin.example.com:8080", "/"), "admin-site");
  EXPECT_EQ(service_for(table, "admin.example.com:", "/"), "admin-site");
}

TEST(RouteTableMatch, IgnoresAPortWrittenInTheConfiguredHost) {
  route_table table{{make_route("/", "admin-site", "admin.example.com:443")}};
  EXPECT_EQ(service_for(table, "admin.example.com", "/"), "admin-site");
  EXPECT_EQ(table.routes()[0].host, "admin.example.com");
}

TEST(RouteTableMatch, MatchesAnIPv6LiteralHostWithOrWithoutPort) {
  route_table table{{make_route("/", "local", "[::1]")}};
  EXPECT_EQ(service_for(table, "[::1]:8080", "/"), "local");
  EXPECT_EQ(service_for(table, "[::1]", "/"), "local");
  EXPECT_EQ(table.match("[::2]:8080", "/"), nullptr);
}

TEST(RouteTableMatch, AcceptsAnIPv6RouteHostWrittenWithoutBrackets) {
  route_table table{{make_route("/", "local", "::1")}};
  EXPECT_EQ(service_for(table, "[::1]:8080", "/"), "local");
}

TEST(RouteTableMatch, ComparesIPv6HexDigitsIgnoringCase) {
  route_table table{{make_route("/", "v6", "[2001:DB8::1]")}};
  EXPECT_EQ(service_for(table, "[2001:db8::1]:443", "/"), "v6");
}

TEST(RouteTableMatch, SendsARequestWithoutHostOnlyToHostlessRoutes) {
  route_table table{{make_route("/", "admin-site", "admin.example.com"), make_route("/", "default")}};
  EXPECT_EQ(service_for(table, "", "/"), "default");

  route_table host_only{{make_route("/", "admin-site", "admin.example.com")}};
  EXPECT_EQ(host_only.match("", "/"), nullptr);
}

// --- upstream_target ---------------------------------------------------------------

TEST(RouteTableUpstreamTarget, LeavesTheTargetAloneWithoutStripPrefix) {
  const auto route = make_route("/api/", "api");
  EXPECT_EQ(route_table::upstream_target(route, "/api/items?x=1"), "/api/items?x=1");
}

TEST(RouteTableUpstreamTarget, StripsAPrefixWithTrailingSlashAndKeepsTheQuery) {
  const auto route = make_route("/api/", "api", {}, true);
  EXPECT_EQ(route_table::upstream_target(route, "/api/items?x=1"), "/items?x=1");
  EXPECT_EQ(route_table::upstream_target(route, "/api/a/b/c"), "/a/b/c");
}

TEST(RouteTableUpstreamTarget, StripsAPrefixWithoutTrailingSlash) {
  const auto route = make_route("/api", "api", {}, true);
  EXPECT_EQ(route_table::upstream_target(route, "/api/items?x=1"), "/items?x=1");
}

TEST(RouteTableUpstreamTarget, TurnsThePathEqualToThePrefixIntoTheRoot) {
  const auto route = make_route("/api/", "api", {}, true);
  EXPECT_EQ(route_table::upstream_target(route, "/api/"), "/");
  EXPECT_EQ(route_table::upstream_target(route, "/api"), "/");
  EXPECT_EQ(route_table::upstream_target(route, "/api?x"), "/?x");
  EXPECT_EQ(route_table::upstream_target(route, "/api/?x=1"), "/?x=1");
}

TEST(RouteTableUpstreamTarget, AddsTheLeadingSlashThatStrippingRemoved) {
  const auto route = make_route("/api", "api", {}, true);
  EXPECT_EQ(route_table::upstream_target(route, "/apix"), "/x");
}

TEST(RouteTableUpstreamTarget, LeavesTheTargetAloneUnderTheRootPrefix) {
  const auto route = make_route("/", "web", {}, true);
  EXPECT_EQ(route_table::upstream_target(route, "/a/b?c=d"), "/a/b?c=d");
  EXPECT_EQ(route_table::upstream_target(route, "/"), "/");
}

TEST(RouteTableUpstreamTarget, NeverStripsFromTheQuery) {
  const auto route = make_route("/api/", "api", {}, true);
  EXPECT_EQ(route_table::upstream_target(route, "/api/?next=/api/x"), "/?next=/api/x");
}

TEST(RouteTableUpstreamTarget, LeavesATargetTheRouteDoesNotMatchUnchanged) {
  const auto route = make_route("/api/", "api", {}, true);
  EXPECT_EQ(route_table::upstream_target(route, "/static/app.js"), "/static/app.js");
}

}  // namespace
}  // namespace dockmaster::net
