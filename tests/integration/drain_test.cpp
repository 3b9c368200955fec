// Graceful drain of the real binary on SIGTERM: no new connections, idle connections
// closed, the request in flight finished, exit status 0.

#include <gtest/gtest.h>

#include <boost/beast/websocket.hpp>
#include <signal.h>

#include <nlohmann/json.hpp>

#include "support/harness.hpp"
#include "support/http_client.hpp"
#include "support/test_upstream.hpp"
#include "support/wait.hpp"

namespace dockmaster::test {
namespace {

using nlohmann::json;

std::string child_config(const test_upstream& upstream, const std::string& drain = "10s") {
  json cfg = {
      {"listen", "127.0.0.1:0"},
      {"services", {{"app", {{"instances", {upstream.host_port()}}}}}},
      {"routes", {{{"prefix", "/"}, {"service", "app"}}}},
      {"timeouts", {{"drain", drain}}},
      {"actor_system", {{"io_threads", 2}}},
      {"log", {{"level", "info"}, {"access_log", false}}},
  };
  return cfg.dump();
}

TEST(Drain, OnSigtermTheBinaryRefusesNewConnectionsFinishesTheRequestInFlightAndExits0) {
  test_upstream upstream{"app"};
  dockmaster_process dockmaster(child_config(upstream));
  auto& process = dockmaster.process();

  // An idle keep-alive connection, and a request in flight.
  http_client idle(dockmaster.port());
  ASSERT_EQ(idle.get("/before").result_int(), 200);
  http_client slow(dockmaster.port());
  slow.send_raw("GET /slow?ms=3000 HTTP/1.1\r\nHost: test.local\r\n\r\n");
  ASSERT_TRUE(wait_until([&] { return upstream.count_requests("/slow") == 1 && upstream.in_flight() == 1; }));

  process.kill(SIGTERM);
  EXPECT_TRUE(wait_until([&] { return connection_refused(dockmaster.port()); }, std::chrono::seconds(5)))
      << "new connections are still accepted after SIGTERM";
  EXPECT_TRUE(idle.closed_by_server_within(std::chrono::seconds(5)));
  // Still draining: the slow request has not been answered yet.
  EXPECT_TRUE(process.running());
  EXPECT_EQ(upstream.in_flight(), 1u);

  auto r = slow.read_response();
  EXPECT_EQ(r.result_int(), 200);
  EXPECT_EQ(json::parse(r.body())["target"], "/slow?ms=3000");
  EXPECT_FALSE(r.keep_alive()) << "the last response of a draining proxy must say Connection: close";

  ASSERT_TRUE(process.wait_exit(std::chrono::seconds(10))) << "still running after the drain";
  EXPECT_EQ(process.exit_code(), 0) << process.stderr_text();
}

TEST(Drain, ARequestLongerThanTheDrainTimeoutDoesNotKeepTheBinaryAlive) {
  test_upstream upstream{"app"};
  dockmaster_process dockmaster(child_config(upstream, "300ms"));
  auto& process = dockmaster.process();
  ASSERT_EQ(http_client(dockmaster.port()).get("/warm-up").result_int(), 200);

  http_client slow(dockmaster.port());
  slow.send_raw("GET /slow?ms=20000 HTTP/1.1\r\nHost: test.local\r\n\r\n");
  ASSERT_TRUE(wait_until([&] { return upstream.count_requests("/slow") == 1 && upstream.in_flight() == 1; }));

  process.kill(SIGTERM);
  ASSERT_TRUE(process.wait_exit(std::chrono::seconds(10))) << "the drain timeout was not applied";
  EXPECT_EQ(process.exit_code(), 0) << process.stderr_text();
  EXPECT_NE(process.stderr_text().find("drain timed out"), std::string::npos) << process.stderr_text();
  // The cut request's client sees its connection end.
  EXPECT_TRUE(slow.closed_by_server_within(std::chrono::seconds(5)));
}

/// A WebSocket through `port`, its handshake done.
struct open_tunnel {
  explicit open_tunnel(std::uint16_t port) : client(port), ws(client.socket()) {
    if (client.connect()) throw std::runtime_error("cannot connect");
    auto ec = client.run([&](auto handler) { ws.async_handshake("test.local", "/ws", std::move(handler)); });
    if (ec) throw std::runtime_error("handshake: " + ec.message());
  }
  /// Sends a message and reads its echo; the error, if any.
  boost::system::error_code echo(const std::string& payload) {
    auto ec = client.run([&](auto handler) { ws.async_write(boost::asio::buffer(payload), std::move(handler)); });
    if (ec) return ec;
    boost::beast::flat_buffer received;
    return client.run([&](auto handler) { ws.async_read(received, std::move(handler)); });
  }
  http_client client;
  boost::beast::websocket::stream<boost::asio::ip::tcp::socket&> ws;
};

TEST(Drain, AnOpenTunnelKeepsServingUntilTheDrainTimeoutThenIsClosed) {
  test_upstream upstream{"app"};
  dockmaster_process dockmaster(child_config(upstream, "1500ms"));
  auto& process = dockmaster.process();
  open_tunnel tunnel(dockmaster.port());
  ASSERT_FALSE(tunnel.echo("before"));

  process.kill(SIGTERM);
  ASSERT_TRUE(process.wait_for_stderr(std::regex("draining")));
  // Drain waits for the tunnel: it still carries messages.
  EXPECT_FALSE(tunnel.echo("during the drain"));
  ASSERT_TRUE(process.wait_exit(std::chrono::seconds(10))) << "the drain timeout was not applied";
  EXPECT_EQ(process.exit_code(), 0) << process.stderr_text();
  EXPECT_NE(process.stderr_text().find("tunnels still open"), std::string::npos) << process.stderr_text();
  EXPECT_TRUE(tunnel.client.closed_by_server_within(std::chrono::seconds(5)));
}

TEST(Drain, ATunnelThatEndsDuringTheDrainLetsTheBinaryExitAtOnce) {
  test_upstream upstream{"app"};
  dockmaster_process dockmaster(child_config(upstream, "60s"));
  auto& process = dockmaster.process();
  open_tunnel tunnel(dockmaster.port());
  ASSERT_FALSE(tunnel.echo("before"));

  process.kill(SIGTERM);
  ASSERT_TRUE(process.wait_for_stderr(std::regex("draining")));
  EXPECT_TRUE(process.running()) << "exited with a tunnel open";
  auto ec = tunnel.client.run([&](auto handler) {
    tunnel.ws.async_close(boost::beast::websocket::close_code::normal, std::move(handler));
  });
  EXPECT_FALSE(ec) << ec.message();
  // Far below the 60 s drain timeout.
  ASSERT_TRUE(process.wait_exit(std::chrono::seconds(15))) << process.stderr_text();
  EXPECT_EQ(process.exit_code(), 0);
  EXPECT_EQ(process.stderr_text().find("drain timeout"), std::string::npos) << process.stderr_text();
}

TEST(Drain, ARestartStillRunningDoesNotKeepTheBinaryAlivePastTheDrain) {
  // The only instance is dead; its restart command runs for half a minute. SIGTERM
  // must end the process within the drain timeout plus a second all the same: the
  // restart is abandoned with a log line, not waited for.
  refusing_port dead;
  json cfg = {
      {"listen", "127.0.0.1:0"},
      {"services",
       {{"app",
         {{"instances", {dead.host_port()}},
          {"health", {{"tcp", true}, {"interval", "100ms"}, {"unhealthy_after", 1}}},
          {"restart", {{"executor", "local"}, {"exec", {"sleep", "30"}}, {"timeout", "60s"}}}}}}},
      {"routes", {{{"prefix", "/"}, {"service", "app"}}}},
      {"timeouts", {{"drain", "1s"}}},
      {"log", {{"level", "info"}, {"access_log", false}}},
  };
  dockmaster_process dockmaster(cfg.dump());
  auto& process = dockmaster.process();
  ASSERT_TRUE(wait_until([&] { return process.stderr_text().find("restart_started") != std::string::npos; }))
      << process.stderr_text();

  process.kill(SIGTERM);
  ASSERT_TRUE(process.wait_exit(std::chrono::seconds(2)))
      << "still running more than a second past the drain timeout: " << process.stderr_text();
  EXPECT_EQ(process.exit_code(), 0) << process.stderr_text();
  EXPECT_NE(process.stderr_text().find("abandoning local for app"), std::string::npos)
      << process.stderr_text();
}

TEST(Drain, SigintDrainsLikeSigterm) {
  test_upstream upstream{"app"};
  dockmaster_process dockmaster(child_config(upstream));
  auto& process = dockmaster.process();
  http_client client(dockmaster.port());
  ASSERT_EQ(client.get("/").result_int(), 200);

  process.kill(SIGINT);
  ASSERT_TRUE(process.wait_exit(std::chrono::seconds(10)));
  EXPECT_EQ(process.exit_code(), 0) << process.stderr_text();
}

}  // namespace
}  // namespace dockmaster::test
