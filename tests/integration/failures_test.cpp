// Upstream failures: what the client gets (502, 503, 504 with a JSON body), which
// failures are retried on another instance, and that the proxy keeps serving.

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "support/harness.hpp"
#include "support/http_client.hpp"
#include "support/test_upstream.hpp"

namespace dockmaster::test {
namespace {

using nlohmann::json;

/// A JSON error answer of the manager with this status, naming the service.
void expect_json_error(const response& r, unsigned status, const std::string& service) {
  EXPECT_EQ(r.result_int(), status);
  EXPECT_EQ(r[http::field::content_type], "application/json");
  auto body = json::parse(r.body(), nullptr, false);
  ASSERT_FALSE(body.is_discarded()) << r.body();
  EXPECT_EQ(body["status"], status);
  EXPECT_TRUE(body["error"].is_string());
  EXPECT_EQ(body["service"], service);
  EXPECT_FALSE(std::string(r["X-Request-Id"]).empty());
}

class Failures : public ::testing::Test {
 protected:
  // A healthy service next to the failing one, to show the proxy still serves.
  test_upstream healthy{"healthy"};

  config::config with_failing(const std::vector<std::string>& instances) {
    auto cfg = make_config();
    add_service(cfg, "healthy", {healthy.host_port()});
    add_service(cfg, "failing", instances);
    add_route(cfg, "/ok/", "healthy");
    add_route(cfg, "/", "failing");
    return cfg;
  }

  void expect_still_serving(http_client& client, in_process_proxy& proxy) {
    if (client.is_open()) EXPECT_EQ(client.get("/ok/after").result_int(), 200);
    http_client fresh(proxy.port());
    EXPECT_EQ(fresh.get("/ok/fresh").result_int(), 200);
  }
};

TEST_F(Failures, AnInstanceThatRefusesConnectionsGives502WithAJsonBody) {
  refusing_port refusing;
  in_process_proxy proxy(with_failing({refusing.host_port()}));
  http_client client(proxy.port());

  expect_json_error(client.get("/anything"), 502, "failing");
  expect_still_serving(client, proxy);
}

TEST_F(Failures, AnUpstreamSlowerThanUpstreamResponseGives504) {
  test_upstream slow{"slow"};
  auto cfg = with_failing({slow.host_port()});
  cfg.timeouts.upstream_response = std::chrono::milliseconds(300);
  in_process_proxy proxy(cfg);
  http_client client(proxy.port());

  expect_json_error(client.get("/slow?ms=4000"), 504, "failing");
  // A timed-out request is not retried: that could run it twice.
  EXPECT_EQ(slow.count_requests("/slow"), 1u);
  expect_still_serving(client, proxy);
  // The same upstream still answers quick requests.
  EXPECT_EQ(client.get("/quick").result_int(), 200);
}

TEST_F(Failures, AServiceWhoseNameDoesNotResolveGives503WithAJsonBody) {
  in_process_proxy proxy(with_failing({"nonexistent.invalid:80"}));
  http_client client(proxy.port());

  expect_json_error(client.get("/anything"), 503, "failing");
  expect_still_serving(client, proxy);
}

TEST_F(Failures, GetsAreServedByTheRemainingInstanceWhenOneIsStopped) {
  test_upstream first{"first"};
  test_upstream second{"second"};
  in_process_proxy proxy(with_failing({first.host_port(), second.host_port()}));
  second.stop();
  http_client client(proxy.port());

  for (int i = 0; i < 10; ++i) {
    auto r = client.get("/item/" + std::to_string(i));
    ASSERT_EQ(r.result_int(), 200) << "request " << i << ": " << r.body();
    EXPECT_EQ(r["X-Upstream"], "first");
  }
  EXPECT_EQ(first.count_requests("/item/"), 10u);
}

TEST_F(Failures, PostsAreServedByTheRemainingInstanceBecauseARefusedConnectSentNothing) {
  test_upstream first{"first"};
  test_upstream second{"second"};
  in_process_proxy proxy(with_failing({first.host_port(), second.host_port()}));
  second.stop();
  http_client client(proxy.port());

  for (int i = 0; i < 10; ++i) {
    auto r = client.post("/orders", std::string(2000, 'o'));
    ASSERT_EQ(r.result_int(), 200) << "request " << i << ": " << r.body();
    EXPECT_EQ(json::parse(r.body())["body_bytes"], 2000);
  }
  EXPECT_EQ(first.count_requests("/orders"), 10u);
}

TEST_F(Failures, AGetWhoseConnectionIsDroppedIsRetriedOnAnotherInstance) {
  test_upstream first{"first"};
  test_upstream second{"second"};
  in_process_proxy proxy(with_failing({first.host_port(), second.host_port()}));
  http_client client(proxy.port());

  // Both instances drop /close: the GET is tried on each, then 502.
  expect_json_error(client.get("/close"), 502, "failing");
  EXPECT_EQ(first.count_requests("/close"), 1u);
  EXPECT_EQ(second.count_requests("/close"), 1u);
  expect_still_serving(client, proxy);
}

TEST_F(Failures, APostWithABodyWhoseConnectionIsDroppedIsNotResent) {
  test_upstream first{"first"};
  test_upstream second{"second"};
  in_process_proxy proxy(with_failing({first.host_port(), second.host_port()}));
  http_client client(proxy.port());

  expect_json_error(client.post("/close", "{\"pay\":100}"), 502, "failing");
  EXPECT_EQ(first.count_requests("/close") + second.count_requests("/close"), 1u);
  expect_still_serving(client, proxy);
}

TEST_F(Failures, APostWithoutABodyWhoseConnectionIsDroppedIsNotResent) {
  test_upstream first{"first"};
  test_upstream second{"second"};
  in_process_proxy proxy(with_failing({first.host_port(), second.host_port()}));
  http_client client(proxy.port());

  expect_json_error(client.post("/close", ""), 502, "failing");
  EXPECT_EQ(first.count_requests("/close") + second.count_requests("/close"), 1u);
  expect_still_serving(client, proxy);
}

TEST_F(Failures, APostThatReachedTheUpstreamOnAReusedConnectionIsNotResent) {
  test_upstream only{"only"};
  in_process_proxy proxy(with_failing({only.host_port()}));
  http_client client(proxy.port());

  // Warm the pool: the next request of this client connection (same I/O thread)
  // goes out on the pooled upstream connection.
  ASSERT_EQ(client.get("/warm-up").result_int(), 200);
  ASSERT_EQ(only.connections_accepted(), 1u);

  // The upstream reads the whole POST and then drops the connection: the request
  // did reach it, so sending it again could, say, place an order twice.
  auto r = client.post("/close", "");
  EXPECT_EQ(r.result_int(), 502);
  EXPECT_EQ(only.count_requests("/close"), 1u)
      << "the non-idempotent POST was delivered " << only.count_requests("/close") << " times";
  expect_still_serving(client, proxy);
}

}  // namespace
}  // namespace dockmaster::test
