#pragma once

// A small HTTP/1.1 upstream server for the integration tests: Beast, synchronous, one
// thread per connection, bound to a loopback address. It counts the TCP connections
// it accepts and the requests it serves, and records every request.
//
// Paths it answers (anything else is the echo):
//   /            and any other path: JSON echo {upstream, method, target, headers,
//                body_bytes, body_checksum, chunked}
//   /status/NNN  answers status NNN
//   /slow?ms=N   waits N ms (interrupted by stop()), then echoes
//   /big?bytes=N streams N bytes of the test payload (support/payload.hpp) chunked
//   /chunked     a chunked response made of chunked_body()'s pieces
//   /upload      reads a body of any size piece by piece; answers {bytes, checksum}
//   /ws          WebSocket echo
//   /close       reads the request, then closes the connection without an answer
//   /truncated?bytes=N[&chunked=1]  starts a 200 whose body should be 2N bytes
//                (Content-Length, or chunked), sends N of them, then closes: an
//                upstream that dies in the middle of a response
// Every request body is read piece by piece and only counted and checksummed.

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

namespace dockmaster::test {

struct recorded_request {
  std::string method;
  std::string target;
  /// Header names as sent; several fields of one name are joined with ", ".
  std::map<std::string, std::string> headers;
  std::uint64_t body_bytes = 0;
  std::string body_checksum;
  bool chunked = false;
  /// Which accepted connection (1, 2, ...) carried the request.
  std::uint64_t connection = 0;

  /// A header's value ("" when absent), the name compared case-insensitively.
  std::string header(std::string_view name) const;
};

class test_upstream {
 public:
  struct options {
    std::string name = "upstream";
    std::string address = "127.0.0.1";
    /// 0: any free port.
    std::uint16_t port = 0;
    /// false: every response says Connection: close and the connection is closed.
    bool keep_alive = true;
    /// With keep_alive false: after a response with Connection: close, wait this long
    /// for a (forbidden) further request before closing, the way a real server's FIN
    /// may still be on its way. Such a request is counted in requests_after_close()
    /// and the connection is closed without answering it.
    std::chrono::milliseconds linger_after_close{0};
  };

  explicit test_upstream(std::string name = "upstream", std::string address = "127.0.0.1");
  explicit test_upstream(options opts);
  ~test_upstream();

  test_upstream(const test_upstream&) = delete;
  test_upstream& operator=(const test_upstream&) = delete;

  /// Binds (the same port again after a stop) and starts serving. Throws on failure.
  void start();
  /// Closes the listener and every connection, and joins the threads. Idempotent.
  void stop();
  bool running() const { return running_; }

  const std::string& name() const { return options_.name; }
  const std::string& address() const { return options_.address; }
  std::uint16_t port() const { return port_; }
  /// "address:port", as a service instance is configured.
  std::string host_port() const;

  void set_keep_alive(bool keep_alive) { keep_alive_ = keep_alive; }

  std::uint64_t connections_accepted() const { return connections_accepted_; }
  std::size_t open_connections() const;
  /// Whether accepted connection number `id` (recorded_request::connection) is open.
  bool connection_open(std::uint64_t id) const;
  std::uint64_t request_count() const { return request_count_; }
  /// Requests whose path starts with `prefix`.
  std::uint64_t count_requests(std::string_view prefix) const;
  std::uint64_t requests_after_close() const { return requests_after_close_; }
  /// Requests read whose answer has not started yet (a /slow request while it waits).
  /// Zero again before a client can have read the answer.
  std::uint64_t in_flight() const { return in_flight_; }
  std::optional<recorded_request> last_request() const;
  std::vector<recorded_request> requests() const;

  /// The pieces /chunked answers with, and their concatenation.
  static const std::vector<std::string>& chunked_pieces();
  static std::string chunked_body();

 private:
  using tcp = boost::asio::ip::tcp;

  void accept_loop();
  void serve(std::shared_ptr<tcp::socket> socket, std::uint64_t connection);
  void close_connection(const std::shared_ptr<tcp::socket>& socket, std::uint64_t id);
  bool sleep_unless_stopped(std::chrono::milliseconds duration);

  options options_;
  std::uint16_t port_ = 0;
  std::atomic<bool> keep_alive_;
  std::atomic<bool> running_{false};
  std::atomic<bool> stopping_{false};

  boost::asio::io_context io_;
  std::unique_ptr<tcp::acceptor> acceptor_;
  int wake_fd_ = -1;  // eventfd that interrupts the accept loop
  std::thread accept_thread_;

  mutable std::mutex mutex_;
  std::condition_variable stop_signal_;
  std::set<std::shared_ptr<tcp::socket>> open_;
  std::set<std::uint64_t> open_ids_;
  std::vector<std::thread> connection_threads_;
  std::vector<recorded_request> requests_;

  std::atomic<std::uint64_t> connections_accepted_{0};
  std::atomic<std::uint64_t> request_count_{0};
  std::atomic<std::uint64_t> requests_after_close_{0};
  std::atomic<std::uint64_t> in_flight_{0};
};

}  // namespace dockmaster::test
