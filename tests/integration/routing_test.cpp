// Routing through the running proxy: by path prefix (the longest wins), by Host,
// and with the prefix stripped.

#include <gtest/gtest.h>

#include <thread>
#include <nlohmann/json.hpp>

#include "support/harness.hpp"
#include "support/http_client.hpp"
#include "support/test_upstream.hpp"
#include "support/wait.hpp"

namespace dockmaster::test {
namespace {

using nlohmann::json;

class Routing : public ::testing::Test {
 protected:
  test_upstream api{"api"};
  test_upstream api_v2{"api-v2"};
  test_upstream web{"web"};
  test_upstream admin{"admin"};

  config::config routed_config() {
    auto cfg = make_config();
    add_service(cfg, "api", {api.host_port()});
    add_service(cfg, "api-v2", {api_v2.host_port()});
    add_service(cfg, "web", {web.host_port()});
    add_service(cfg, "admin", {admin.host_port()});
    add_route(cfg, "/", "web");
    add_route(cfg, "/api/", "api");
    add_route(cfg, "/api/v2/", "api-v2", "", /*strip_prefix=*/true);
    add_route(cfg, "/", "admin", "admin.example");
    return cfg;
  }
};

TEST_F(Routing, TheLongestMatchingPrefixWins) {
  in_process_proxy proxy(routed_config());
  http_client client(proxy.port());

  EXPECT_EQ(client.get("/api/users")["X-Upstream"], "api");
  EXPECT_EQ(client.get("/api/v2/users")["X-Upstream"], "api-v2");
  EXPECT_EQ(client.get("/index.html")["X-Upstream"], "web");
  EXPECT_EQ(client.get("/apix")["X-Upstream"], "web");
  // "/api/" also covers "/api" itself.
  EXPECT_EQ(client.get("/api")["X-Upstream"], "api");

  EXPECT_EQ(api.request_count(), 2u);
  EXPECT_EQ(api_v2.request_count(), 1u);
  EXPECT_EQ(web.request_count(), 2u);
  EXPECT_EQ(admin.request_count(), 0u);
}

TEST_F(Routing, AHostRouteTakesTheRequestsForItsHostOnly) {
  in_process_proxy proxy(routed_config());
  http_client client(proxy.port());

  auto for_admin = client.get("/dashboard", {}, "admin.example");
  EXPECT_EQ(for_admin.result_int(), 200);
  EXPECT_EQ(for_admin["X-Upstream"], "admin");
  // Host compares without its port and case-insensitively.
  EXPECT_EQ(client.get("/dashboard", {}, "Admin.Example:8443")["X-Upstream"], "admin");
  EXPECT_EQ(client.get("/dashboard", {}, "other.example")["X-Upstream"], "web");
  // A longer prefix without a host still beats the host route's "/".
  EXPECT_EQ(client.get("/api/x", {}, "admin.example")["X-Upstream"], "api");

  EXPECT_EQ(admin.request_count(), 2u);
  EXPECT_EQ(web.request_count(), 1u);
}

TEST_F(Routing, StripPrefixRemovesThePrefixAndKeepsTheQuery) {
  in_process_proxy proxy(routed_config());
  http_client client(proxy.port());

  auto stripped = json::parse(client.get("/api/v2/users/7?full=1").body());
  EXPECT_EQ(stripped["upstream"], "api-v2");
  EXPECT_EQ(stripped["target"], "/users/7?full=1");

  auto bare = json::parse(client.get("/api/v2/").body());
  EXPECT_EQ(bare["target"], "/");

  // Without strip_prefix the path goes through whole.
  auto whole = json::parse(client.get("/api/users?x=1").body());
  EXPECT_EQ(whole["upstream"], "api");
  EXPECT_EQ(whole["target"], "/api/users?x=1");
}

TEST_F(Routing, TheUpstreamSeesForwardingHeadersAndARequestId) {
  in_process_proxy proxy(routed_config());
  http_client client(proxy.port());

  auto response = client.get("/api/who", {{"X-Forwarded-For", "203.0.113.9"}}, "shop.example");
  ASSERT_EQ(response.result_int(), 200);
  auto seen = api.last_request();
  ASSERT_TRUE(seen);
  EXPECT_EQ(seen->header("X-Forwarded-For"), "203.0.113.9, 127.0.0.1");
  EXPECT_EQ(seen->header("X-Forwarded-Proto"), "http");
  EXPECT_EQ(seen->header("X-Forwarded-Host"), "shop.example");
  EXPECT_EQ(seen->header("Host"), "shop.example");
  ASSERT_FALSE(seen->header("X-Request-Id").empty());
  EXPECT_EQ(std::string(response["X-Request-Id"]), seen->header("X-Request-Id"));
}

TEST_F(Routing, APathWithoutARouteGets404FromTheManager) {
  auto cfg = make_config();
  add_service(cfg, "api", {api.host_port()});
  add_route(cfg, "/api/", "api");
  in_process_proxy proxy(cfg);
  http_client client(proxy.port());

  auto response = client.get("/elsewhere");
  EXPECT_EQ(response.result_int(), 404);
  EXPECT_EQ(response[http::field::content_type], "application/json");
  EXPECT_EQ(json::parse(response.body())["status"], 404);
  EXPECT_EQ(api.request_count(), 0u);
  // The connection stays usable.
  EXPECT_EQ(client.get("/api/ok").result_int(), 200);
  EXPECT_EQ(client.connections_opened(), 1);
}

TEST(Balancing, LeastConnSendsNewRequestsAwayFromTheInstanceBusyWithASlowOne) {
  test_upstream a{"a"};
  test_upstream b{"b"};
  auto cfg = make_config();
  cfg.actor_system.io_threads = 1;  // in-flight counts are kept per I/O thread
  auto& service = add_service(cfg, "api", {a.host_port(), b.host_port()});
  service.balance = config::balance_policy::least_conn;
  add_route(cfg, "/", "api");
  in_process_proxy proxy(cfg);

  std::thread slow([&] {
    http_client client(proxy.port());
    EXPECT_EQ(client.get("/slow?ms=1500").result_int(), 200);
  });
  ASSERT_TRUE(wait_until([&] { return a.in_flight() + b.in_flight() == 1; }, 5s));
  test_upstream& busy = a.in_flight() == 1 ? a : b;
  test_upstream& idle = a.in_flight() == 1 ? b : a;

  // Round robin would send every other one to the busy instance.
  http_client client(proxy.port());
  for (int i = 0; i < 6; ++i) {
    auto r = client.get("/quick");
    ASSERT_EQ(r.result_int(), 200);
    EXPECT_EQ(json::parse(r.body())["upstream"], idle.name()) << "request " << i;
  }
  slow.join();
  EXPECT_EQ(busy.count_requests("/quick"), 0u);
  EXPECT_EQ(idle.count_requests("/quick"), 6u);
}

}  // namespace
}  // namespace dockmaster::test
