// Per-request costs of the proxy's hot path: route matching, target rewriting and the
// upstream request header rewrite. Run a Release build for meaningful figures.

#include <string>
#include <utility>
#include <vector>

#include <benchmark/benchmark.h>
#include <boost/beast/http/field.hpp>
#include <boost/beast/http/verb.hpp>

#include "net/header_rewrite.hpp"
#include "net/route_table.hpp"

namespace {

using dockmaster::config::route;
using dockmaster::net::route_table;
namespace http = boost::beast::http;

route make_route(std::string prefix, std::string service, std::string host = {}, bool strip = false) {
  route r;
  r.prefix = std::move(prefix);
  r.service = std::move(service);
  r.host = std::move(host);
  r.strip_prefix = strip;
  return r;
}

/// A typical compose stack: a frontend, an API with a versioned part, static files and
/// a WebSocket endpoint. With hosts, an admin site and an API host come on top.
std::vector<route> small_table(bool with_hosts) {
  std::vector<route> routes{make_route("/", "frontend"), make_route("/api/", "api", {}, true),
                            make_route("/api/v2/", "api-v2", {}, true), make_route("/static/", "static"),
                            make_route("/ws/", "realtime")};
  if (with_hosts) {
    routes.push_back(make_route("/", "admin", "admin.example.com"));
    routes.push_back(make_route("/api/", "admin-api", "admin.example.com", true));
  }
  return routes;
}

/// A larger deployment: ~50 routes, one per resource of a versioned API plus a few
/// services. With hosts, every fourth route is pinned to one of three tenant hosts.
std::vector<route> large_table(bool with_hosts) {
  static const char* const resources[] = {"users",   "orders",  "items",    "carts",    "payments", "invoices",
                                          "reports", "search",  "auth",     "sessions", "files",    "images",
                                          "videos",  "comments", "ratings", "tags",     "teams",    "projects",
                                          "tasks",   "events"};
  static const char* const hosts[] = {"tenant-a.example.com", "tenant-b.example.com", "tenant-c.example.com"};
  std::vector<route> routes{make_route("/", "frontend"), make_route("/static/", "static"),
                            make_route("/ws/", "realtime"), make_route("/health", "health"),
                            make_route("/metrics", "metrics")};
  int n = 0;
  for (const char* resource : resources) {
    for (const char* version : {"/api/v1/", "/api/v2/"}) {
      std::string host;
      if (with_hosts && n % 4 == 0) host = hosts[(n / 4) % 3];
      routes.push_back(make_route(std::string{version} + resource + "/", std::string{resource} + "-svc", host, true));
      ++n;
    }
  }
  routes.push_back(make_route("/api/", "api-gateway", {}, true));
  return routes;
}

/// Requests as they arrive: ports in Host, query strings, deep paths, fallbacks to "/".
const std::vector<std::pair<std::string, std::string>>& requests() {
  static const std::vector<std::pair<std::string, std::string>> all{
      {"www.example.com", "/"},
      {"www.example.com:8080", "/static/js/app.3f2a1c.js"},
      {"www.example.com", "/api/v1/users/42?fields=name,email"},
      {"admin.example.com", "/api/v2/orders/2024/11/28?page=3"},
      {"tenant-b.example.com:443", "/api/v1/tasks/17/comments"},
      {"WWW.Example.COM", "/api/v2/search?q=docker+compose"},
      {"[::1]:8080", "/ws/notifications"},
      {"www.example.com", "/about/team"},
      {"tenant-a.example.com", "/api/v2/users/me"},
      {"www.example.com", "/api"},
  };
  return all;
}

void match_requests(benchmark::State& state, std::vector<route> routes) {
  const route_table table{std::move(routes)};
  const auto& reqs = requests();
  std::size_t i = 0;
  for (auto _ : state) {
    const auto& [host, path] = reqs[i];
    benchmark::DoNotOptimize(table.match(host, path));
    if (++i == reqs.size()) i = 0;
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_match_small_hostless(benchmark::State& state) { match_requests(state, small_table(false)); }
void BM_match_small_with_hosts(benchmark::State& state) { match_requests(state, small_table(true)); }
void BM_match_large_hostless(benchmark::State& state) { match_requests(state, large_table(false)); }
void BM_match_large_with_hosts(benchmark::State& state) { match_requests(state, large_table(true)); }
BENCHMARK(BM_match_small_hostless);
BENCHMARK(BM_match_small_with_hosts);
BENCHMARK(BM_match_large_hostless);
BENCHMARK(BM_match_large_with_hosts);

void BM_upstream_target_strip_prefix(benchmark::State& state) {
  const auto r = make_route("/api/", "api", {}, true);
  for (auto _ : state) benchmark::DoNotOptimize(route_table::upstream_target(r, "/api/v1/users/42?fields=name,email"));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_upstream_target_strip_prefix);

/// What a current Chrome sends for an XHR to an API behind the proxy.
dockmaster::net::request_head browser_request() {
  dockmaster::net::request_head request;
  request.method(http::verb::get);
  request.target("/api/v1/users/42?fields=name,email");
  request.version(11);
  request.set(http::field::host, "www.example.com");
  request.set(http::field::connection, "keep-alive");
  request.set(http::field::user_agent,
              "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36");
  request.set(http::field::accept, "application/json, text/plain, */*");
  request.set(http::field::accept_encoding, "gzip, deflate, br");
  request.set(http::field::accept_language, "en-US,en;q=0.9,de;q=0.8");
  request.set(http::field::referer, "https://www.example.com/app/users");
  request.set(http::field::origin, "https://www.example.com");
  request.set(http::field::cookie, "session=7c2d0f9a8b1e4c3d; theme=dark; _ga=GA1.1.123456789.1700000000");
  request.set(http::field::authorization, "Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiI0MiJ9.sig");
  request.set("sec-ch-ua", "\"Chromium\";v=\"120\", \"Google Chrome\";v=\"120\", \"Not?A_Brand\";v=\"99\"");
  request.set("sec-ch-ua-mobile", "?0");
  request.set("sec-ch-ua-platform", "\"Linux\"");
  request.set("Sec-Fetch-Site", "same-origin");
  request.set("Sec-Fetch-Mode", "cors");
  request.set("Sec-Fetch-Dest", "empty");
  return request;
}

/// Baseline for the next benchmark, which has to copy the header each iteration since
/// the rewrite works in place: subtract this to get the rewrite alone.
void BM_copy_browser_request_header(benchmark::State& state) {
  const auto original = browser_request();
  for (auto _ : state) {
    auto request = original;
    benchmark::DoNotOptimize(request);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_copy_browser_request_header);

void BM_prepare_upstream_request(benchmark::State& state) {
  const auto original = browser_request();
  const dockmaster::net::forwarding_info info{"203.0.113.7", "https"};
  for (auto _ : state) {
    auto request = original;
    benchmark::DoNotOptimize(dockmaster::net::prepare_upstream_request(request, info));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_prepare_upstream_request);

void BM_new_request_id(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(dockmaster::net::new_request_id());
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_new_request_id);

}  // namespace
