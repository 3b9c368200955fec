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

TEST_F(Failures, AnInstanceThatNeverAnswersTheConnectGives504AfterTheConnectTimeout) {
  blackhole_port blackhole;
  if (!blackhole.hangs()) GTEST_SKIP() << "this kernel completes loopback connects to a full accept queue";
  auto cfg = with_failing({blackhole.host_port()});
  cfg.timeouts.connect = std::chrono::milliseconds(300);
  in_process_proxy proxy(cfg);
  http_client client(proxy.port());

  auto started = std::chrono::steady_clock::now();
  expect_json_error(client.get("/anything"), 504, "failing");
  auto took = std::chrono::steady_clock::now() - started;
  EXPECT_GE(took, std::chrono::milliseconds(300));
  EXPECT_LT(took, std::chrono::seconds(3)) << "the connect timeout did not cut the connect";
  expect_still_serving(client, proxy);
}

TEST_F(Failures, APostGoesToTheNextInstanceWhenTheFirstNeverAnswersTheConnect) {
  blackhole_port blackhole;
  if (!blackhole.hangs()) GTEST_SKIP() << "this kernel completes loopback connects to a full accept queue";
  test_upstream second{"second"};
  auto cfg = with_failing({blackhole.host_port(), second.host_port()});
  cfg.timeouts.connect = std::chrono::milliseconds(200);
  in_process_proxy proxy(cfg);
  http_client client(proxy.port());

  // Round robin sends one of the two to the black hole first: nothing was sent there,
  // so even a POST with a body goes on to the next instance.
  for (int i = 0; i < 2; ++i) {
    auto r = client.post("/orders", std::string(1000, 'o'));
    ASSERT_EQ(r.result_int(), 200) << "request " << i << ": " << r.body();
    EXPECT_EQ(json::parse(r.body())["body_bytes"], 1000);
  }
  EXPECT_EQ(second.count_requests("/orders"), 2u);
}

/// Sends `request` on a fresh connection and reads until the proxy closes it.
std::string exchange_until_closed(std::uint16_t port, const std::string& request) {
  http_client client(port, "127.0.0.1", std::chrono::seconds(5));
  client.send_raw(request);
  std::string received;
  boost::system::error_code ec;
  char piece[4096];
  while (!ec) {
    auto n = client.socket().read_some(boost::asio::buffer(piece), ec);
    received.append(piece, n);
  }
  return received;
}

TEST_F(Failures, AnUpstreamThatDiesBeforeAnyOfItsResponseWentOutGives502) {
  test_upstream dying{"dying"};
  in_process_proxy proxy(with_failing({dying.host_port()}));
  http_client client(proxy.port());
  // Head and 1,000 of 2,000 bytes, then the close: all of it arrives before dockmaster
  // has sent the client anything, so the client gets a clean error instead.
  expect_json_error(client.get("/truncated?bytes=1000"), 502, "failing");
  expect_still_serving(client, proxy);
}

TEST_F(Failures, AnUpstreamThatDiesMidResponseIsNotPassedOnAsAComplete200) {
  test_upstream dying{"dying"};
  in_process_proxy proxy(with_failing({dying.host_port()}));

  // Content-Length 200,000, 100,000 bytes sent (more than one relayed piece, so the
  // head is out before the failure): the client sees the body cut short and the
  // connection closed, not a response it could take for complete.
  auto sized = exchange_until_closed(proxy.port(), "GET /truncated?bytes=100000 HTTP/1.1\r\nHost: t\r\n\r\n");
  auto head_end = sized.find("\r\n\r\n");
  ASSERT_NE(head_end, std::string::npos) << sized.substr(0, 200);
  EXPECT_EQ(sized.rfind("HTTP/1.1 200", 0), 0u) << sized.substr(0, head_end);
  EXPECT_NE(sized.find("Content-Length: 200000"), std::string::npos) << sized.substr(0, head_end);
  EXPECT_GT(sized.size() - head_end - 4, 0u);
  EXPECT_LT(sized.size() - head_end - 4, 200000u);

  // Chunked: the proxy must not end the body with a last chunk of its own.
  auto chunked = exchange_until_closed(
      proxy.port(), "GET /truncated?bytes=100000&chunked=1 HTTP/1.1\r\nHost: t\r\n\r\n");
  ASSERT_NE(chunked.find("\r\n\r\n"), std::string::npos) << chunked.substr(0, 200);
  EXPECT_NE(chunked.find("Transfer-Encoding: chunked"), std::string::npos);
  EXPECT_EQ(chunked.find("\r\n0\r\n\r\n"), std::string::npos)
      << "a last chunk made the cut body look complete";

  http_client fresh(proxy.port());
  EXPECT_EQ(fresh.get("/ok/after").result_int(), 200);
  EXPECT_EQ(fresh.get("/still-proxied").result_int(), 200);
}

TEST_F(Failures, AnUpgradeTheUpstreamRefusesPassesItsAnswerOnAndTheProxyKeepsServing) {
  test_upstream plain{"plain"};
  in_process_proxy proxy(with_failing({plain.host_port()}));
  http_client client(proxy.port());

  auto refused = client.get("/status/426", {{"Connection", "Upgrade"},
                                           {"Upgrade", "websocket"},
                                           {"Sec-WebSocket-Version", "13"},
                                           {"Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="}});
  EXPECT_EQ(refused.result_int(), 426);
  EXPECT_EQ(refused.body(), "{\"status\":426}");
  EXPECT_EQ(plain.last_request()->header("Upgrade"), "websocket") << "the upgrade was not forwarded";
  expect_still_serving(client, proxy);
}

TEST(FailuresIpv6, AnIpv6InstanceIsProxied) {
  test_upstream v6{"v6", "::1"};
  auto cfg = make_config();
  add_service(cfg, "api", {"[::1]:" + std::to_string(v6.port())});
  add_route(cfg, "/", "api");
  in_process_proxy proxy(cfg);
  http_client client(proxy.port());
  auto r = client.get("/six");
  ASSERT_EQ(r.result_int(), 200) << r.body();
  EXPECT_EQ(json::parse(r.body())["upstream"], "v6");
  EXPECT_EQ(v6.count_requests("/six"), 1u);
}

}  // namespace
}  // namespace dockmaster::test
