// WebSocket through the proxy: the upgrade is relayed, then bytes are tunnelled both
// ways until a clean close.

#include <gtest/gtest.h>

#include <thread>

#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/websocket.hpp>

#include "support/harness.hpp"
#include "support/proxied_upstream.hpp"
#include "support/http_client.hpp"
#include "support/test_upstream.hpp"
#include "support/wait.hpp"

namespace dockmaster::test {
namespace {

namespace beast = boost::beast;
namespace websocket = beast::websocket;

using WebSocket = proxied_upstream;

TEST_F(WebSocket, MessagesAreEchoedThroughTheProxyAndTheCloseIsClean) {
  http_client client(proxy->port());
  ASSERT_FALSE(client.connect());
  websocket::stream<boost::asio::ip::tcp::socket&> ws(client.socket());

  websocket::response_type handshake;
  auto ec = client.run([&](auto handler) { ws.async_handshake(handshake, "test.local", "/ws", std::move(handler)); });
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_EQ(handshake.result_int(), 101);
  EXPECT_FALSE(std::string(handshake["X-Request-Id"]).empty());

  // Text and binary, small and larger than the proxy's 32 KiB relay pieces.
  std::vector<std::pair<bool, std::string>> messages{
      {true, "hello"},
      {false, std::string("\x00\x01\x02\xff", 4)},
      {true, std::string(100000, 'w')},
      {true, "last"}};
  for (const auto& [text, payload] : messages) {
    ws.text(text);
    ec = client.run([&](auto handler) { ws.async_write(boost::asio::buffer(payload), std::move(handler)); });
    ASSERT_FALSE(ec) << ec.message();
    beast::flat_buffer received;
    ec = client.run([&](auto handler) { ws.async_read(received, std::move(handler)); });
    ASSERT_FALSE(ec) << ec.message();
    EXPECT_EQ(ws.got_text(), text);
    EXPECT_EQ(beast::buffers_to_string(received.data()), payload);
  }

  // Several messages in flight at once, then read back in order.
  for (int i = 0; i < 5; ++i) {
    std::string payload = "burst-" + std::to_string(i);
    ec = client.run([&](auto handler) { ws.async_write(boost::asio::buffer(payload), std::move(handler)); });
    ASSERT_FALSE(ec);
  }
  for (int i = 0; i < 5; ++i) {
    beast::flat_buffer received;
    ec = client.run([&](auto handler) { ws.async_read(received, std::move(handler)); });
    ASSERT_FALSE(ec);
    EXPECT_EQ(beast::buffers_to_string(received.data()), "burst-" + std::to_string(i));
  }

  ec = client.run([&](auto handler) { ws.async_close(websocket::close_code::normal, std::move(handler)); });
  EXPECT_FALSE(ec) << ec.message();
  // The close handshake went through the tunnel: the upstream's close frame came back.
  EXPECT_FALSE(ws.is_open());
  EXPECT_EQ(ws.reason().code, websocket::close_code::normal);
  // The upstream side of the tunnel is released too.
  ASSERT_EQ(upstream.count_requests("/ws"), 1u);
  const auto tunnel = upstream.requests().back().connection;
  EXPECT_TRUE(wait_until([&] { return !upstream.connection_open(tunnel); }));
}

TEST_F(WebSocket, TheProxyServesPlainRequestsWhileATunnelIsOpen) {
  http_client ws_client(proxy->port());
  ASSERT_FALSE(ws_client.connect());
  websocket::stream<boost::asio::ip::tcp::socket&> ws(ws_client.socket());
  auto ec = ws_client.run([&](auto handler) { ws.async_handshake("test.local", "/ws", std::move(handler)); });
  ASSERT_FALSE(ec) << ec.message();

  http_client plain(proxy->port());
  EXPECT_EQ(plain.get("/plain").result_int(), 200);

  std::string payload = "still here";
  ec = ws_client.run([&](auto handler) { ws.async_write(boost::asio::buffer(payload), std::move(handler)); });
  ASSERT_FALSE(ec);
  beast::flat_buffer received;
  ec = ws_client.run([&](auto handler) { ws.async_read(received, std::move(handler)); });
  ASSERT_FALSE(ec);
  EXPECT_EQ(beast::buffers_to_string(received.data()), payload);
  ec = ws_client.run([&](auto handler) { ws.async_close(websocket::close_code::normal, std::move(handler)); });
  EXPECT_FALSE(ec);
}

/// An in-process dockmaster whose tunnels close after `idle` without a byte.
class TunnelIdle : public ::testing::Test {
 protected:
  void SetUp() override {
    auto cfg = make_config();
    add_service(cfg, "app", {upstream.host_port()});
    add_route(cfg, "/", "app");
    cfg.timeouts.tunnel_idle = std::chrono::milliseconds(400);
    proxy = std::make_unique<in_process_proxy>(cfg);
  }
  test_upstream upstream{"app"};
  std::unique_ptr<in_process_proxy> proxy;
};

TEST_F(TunnelIdle, ATunnelWithTrafficStaysOpenAndAnIdleOneIsClosed) {
  http_client client(proxy->port());
  ASSERT_FALSE(client.connect());
  websocket::stream<boost::asio::ip::tcp::socket&> ws(client.socket());
  auto ec = client.run([&](auto handler) { ws.async_handshake("test.local", "/ws", std::move(handler)); });
  ASSERT_FALSE(ec) << ec.message();
  // Messages a fifth of the idle timeout apart, for more than twice that timeout: the
  // tunnel is never idle long enough to be closed.
  for (int i = 0; i < 10; ++i) {
    std::string payload = "ping " + std::to_string(i);
    ec = client.run([&](auto handler) { ws.async_write(boost::asio::buffer(payload), std::move(handler)); });
    ASSERT_FALSE(ec) << "write " << i << ": " << ec.message();
    beast::flat_buffer received;
    ec = client.run([&](auto handler) { ws.async_read(received, std::move(handler)); });
    ASSERT_FALSE(ec) << "read " << i << ": " << ec.message();
    EXPECT_EQ(beast::buffers_to_string(received.data()), payload);
    // Pacing, not waiting: the gaps are what shows the tunnel is not closed while
    // bytes keep moving.
    std::this_thread::sleep_for(std::chrono::milliseconds(80));
  }
  // Then silence: the proxy closes both ends.
  beast::flat_buffer received;
  ec = client.run([&](auto handler) { ws.async_read(received, std::move(handler)); },
                  std::chrono::seconds(10));
  EXPECT_TRUE(ec) << "the tunnel stayed open";
  EXPECT_NE(ec, beast::error::timeout) << "not closed within 10 s of an idle timeout of 400 ms";
}

}  // namespace
}  // namespace dockmaster::test
