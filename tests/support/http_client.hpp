#pragma once

// A small HTTP/1.1 client for the integration tests: Beast over a plain TCP socket,
// every operation bounded by a timeout (async operations run on a private io_context
// for at most that long). One connection is kept and reused until it is closed.

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

namespace dockmaster::test {

namespace http = boost::beast::http;

using response = http::response<http::string_body>;
using request = http::request<http::string_body>;

/// A request with Host set and HTTP/1.1.
request make_request(http::verb method, std::string target, std::string host = "test.local");

class http_client {
 public:
  using error_code = boost::system::error_code;

  explicit http_client(std::uint16_t port, std::string address = "127.0.0.1",
                       std::chrono::milliseconds timeout = std::chrono::seconds(10));
  ~http_client();

  http_client(const http_client&) = delete;
  http_client& operator=(const http_client&) = delete;

  /// Opens a connection (closing the current one, if any).
  error_code connect();
  void close();
  bool is_open() const { return socket_.is_open(); }
  /// TCP connections this client has opened so far.
  int connections_opened() const { return connections_opened_; }

  /// Sends `req` on the current connection (opening one when there is none) and
  /// reads the response. The connection is closed afterwards when the response says
  /// so. Throws std::runtime_error on a network error or timeout.
  response send(request req);
  response get(std::string target, const std::map<std::string, std::string>& headers = {},
               std::string host = "test.local");
  response post(std::string target, std::string body,
                const std::map<std::string, std::string>& headers = {});

  /// Writes raw bytes on the current connection (opening one when there is none).
  error_code try_send_raw(std::string_view bytes);
  void send_raw(std::string_view bytes);  // throws
  /// Reads one response from the current connection.
  error_code try_read_response(response& out);
  response read_response();  // throws

  /// A response read piece by piece: `on_piece` sees the body as it arrives.
  struct streamed {
    http::response_header<> header;
    std::uint64_t body_bytes = 0;
  };
  streamed read_streamed_response(const std::function<void(const char*, std::size_t)>& on_piece);

  /// True when the server closes the connection (end of file or reset) within
  /// `timeout`; whatever it sends before is read and discarded.
  bool closed_by_server_within(std::chrono::milliseconds timeout);

  /// Runs one asynchronous operation started by `start(handler)` on this client's
  /// io_context for at most the client's timeout; on timeout the socket is closed
  /// and beast::error::timeout returned. For protocols layered on socket().
  template <typename Start>
  error_code run(Start&& start, std::optional<std::chrono::milliseconds> timeout = std::nullopt);

  boost::asio::ip::tcp::socket& socket() { return socket_; }
  boost::beast::flat_buffer& buffer() { return buffer_; }
  std::uint16_t port() const { return port_; }

 private:
  void ensure_connected();

  std::uint16_t port_;
  std::string address_;
  std::chrono::milliseconds timeout_;
  boost::asio::io_context io_;
  boost::asio::ip::tcp::socket socket_;
  boost::beast::flat_buffer buffer_;
  int connections_opened_ = 0;
};

template <typename Start>
http_client::error_code http_client::run(Start&& start, std::optional<std::chrono::milliseconds> timeout) {
  std::optional<error_code> result;
  start([&result](error_code ec, auto&&...) { result = ec; });
  io_.restart();
  io_.run_for(timeout.value_or(timeout_));
  if (!result) {
    error_code ignored;
    socket_.cancel(ignored);
    socket_.close(ignored);
    io_.restart();
    io_.run();  // lets the cancelled operation complete
    return boost::beast::error::timeout;
  }
  return *result;
}

/// True when a TCP connection to 127.0.0.1:port is refused right now.
bool connection_refused(std::uint16_t port, std::string address = "127.0.0.1");

}  // namespace dockmaster::test
