// Connection reuse: pooled keep-alive connections to the upstreams, keep-alive client
// connections, and the idle/header timeouts that end them.

#include <gtest/gtest.h>

#include <memory>
#include <vector>

#include "support/harness.hpp"
#include "support/http_client.hpp"
#include "support/test_upstream.hpp"
#include "support/wait.hpp"

namespace dockmaster::test {
namespace {

config::config single_service(const test_upstream& upstream) {
  auto cfg = make_config();
  add_service(cfg, "app", {upstream.host_port()});
  add_route(cfg, "/", "app");
  return cfg;
}

TEST(KeepAlive, FiftyRequestsOnOneClientConnectionReuseOneUpstreamConnection) {
  test_upstream upstream;
  in_process_proxy proxy(single_service(upstream));
  http_client client(proxy.port());

  for (int i = 0; i < 50; ++i) {
    auto response = client.get("/item/" + std::to_string(i));
    ASSERT_EQ(response.result_int(), 200) << "request " << i;
    EXPECT_TRUE(response.keep_alive());
  }
  EXPECT_EQ(upstream.request_count(), 50u);
  // The client connection served every request...
  EXPECT_EQ(client.connections_opened(), 1);
  // ...and one I/O thread's pool kept one upstream connection going.
  EXPECT_LE(upstream.connections_accepted(), 2u);
}

TEST(KeepAlive, FiftyRequestsOverFiveClientConnectionsUseFewUpstreamConnections) {
  test_upstream upstream;
  in_process_proxy proxy(single_service(upstream));
  std::vector<std::unique_ptr<http_client>> clients;
  for (int i = 0; i < 5; ++i) clients.push_back(std::make_unique<http_client>(proxy.port()));

  for (int round = 0; round < 10; ++round)
    for (auto& client : clients) ASSERT_EQ(client->get("/round/" + std::to_string(round)).result_int(), 200);

  EXPECT_EQ(upstream.request_count(), 50u);
  for (auto& client : clients) EXPECT_EQ(client->connections_opened(), 1);
  // One pooled connection per I/O thread suffices for sequential requests (2 threads).
  EXPECT_LE(upstream.connections_accepted(), 4u);
}

TEST(KeepAlive, ClientsThatCloseAfterEachRequestStillReuseUpstreamConnections) {
  test_upstream upstream;
  in_process_proxy proxy(single_service(upstream));

  for (int i = 0; i < 20; ++i) {
    http_client client(proxy.port());
    auto response = client.get("/once", {{"Connection", "close"}});
    ASSERT_EQ(response.result_int(), 200);
    EXPECT_FALSE(response.keep_alive());
  }
  EXPECT_EQ(upstream.request_count(), 20u);
  // The client's "Connection: close" is about the client's hop only: the upstream
  // connection, which the upstream keeps alive, goes back to the pool.
  EXPECT_LE(upstream.connections_accepted(), 4u);
}

TEST(KeepAlive, AnUpstreamConnectionThatAnnouncedCloseIsNeverReused) {
  test_upstream::options options;
  options.keep_alive = false;
  // The upstream's FIN is "still on its way" for a while after its response.
  options.linger_after_close = std::chrono::milliseconds(3000);
  test_upstream upstream(options);
  in_process_proxy proxy(single_service(upstream));
  http_client client(proxy.port());

  auto first = client.get("/first");
  ASSERT_EQ(first.result_int(), 200);
  EXPECT_TRUE(first.keep_alive());  // the client's hop stays alive
  auto second = client.post("/second", std::string(1000, 'b'));
  EXPECT_EQ(second.result_int(), 200) << second.body();
  auto third = client.get("/third");
  EXPECT_EQ(third.result_int(), 200);

  // After "Connection: close" a client must not send another request on that
  // connection (RFC 9112 9.6).
  EXPECT_EQ(upstream.requests_after_close(), 0u);
  EXPECT_EQ(upstream.connections_accepted(), 3u);
}

TEST(KeepAlive, AnUpstreamThatClosesEveryConnectionStillServesEveryRequest) {
  test_upstream::options options;
  options.keep_alive = false;
  test_upstream upstream(options);
  in_process_proxy proxy(single_service(upstream));
  http_client client(proxy.port());

  for (int i = 0; i < 20; ++i) ASSERT_EQ(client.get("/n/" + std::to_string(i)).result_int(), 200) << i;
  EXPECT_EQ(upstream.request_count(), 20u);
  EXPECT_EQ(client.connections_opened(), 1);
}

TEST(KeepAlive, AnIdleClientConnectionIsClosedAfterClientIdle) {
  test_upstream upstream;
  auto cfg = single_service(upstream);
  cfg.timeouts.client_idle = std::chrono::milliseconds(300);
  in_process_proxy proxy(cfg);
  http_client client(proxy.port());

  ASSERT_EQ(client.get("/").result_int(), 200);
  ASSERT_TRUE(client.is_open());
  EXPECT_TRUE(client.closed_by_server_within(std::chrono::seconds(5)));
}

TEST(KeepAlive, AClientThatStopsInTheMiddleOfAHeaderIsClosedAfterClientHeader) {
  test_upstream upstream;
  auto cfg = single_service(upstream);
  cfg.timeouts.client_idle = std::chrono::seconds(30);
  cfg.timeouts.client_header = std::chrono::milliseconds(300);
  in_process_proxy proxy(cfg);
  http_client client(proxy.port());

  // Part of a header, then nothing (a slowloris): the header timeout applies, not
  // the much longer idle timeout of a connection between requests.
  client.send_raw("GET /slowloris HTTP/1.1\r\nHost: test.local\r\n");
  EXPECT_TRUE(client.closed_by_server_within(std::chrono::seconds(5)));
  EXPECT_EQ(upstream.request_count(), 0u);
}

TEST(KeepAlive, AnIdlePooledUpstreamConnectionIsClosedAfterUpstreamIdle) {
  test_upstream upstream;
  auto cfg = single_service(upstream);
  cfg.timeouts.upstream_idle = std::chrono::milliseconds(200);
  in_process_proxy proxy(cfg);
  http_client client(proxy.port());

  ASSERT_EQ(client.get("/").result_int(), 200);
  // timeouts.upstream_idle: "An idle pooled upstream connection is closed after this."
  EXPECT_TRUE(wait_until([&] { return upstream.open_connections() == 0; }, std::chrono::seconds(5)))
      << upstream.open_connections() << " upstream connection(s) still open";
}

}  // namespace
}  // namespace dockmaster::test
