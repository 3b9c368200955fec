#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <vector>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>

#include "net/socket_types.hpp"

namespace dockmaster::net {

/// A connection to one upstream instance, with the bytes read past the last response.
struct upstream_connection {
  explicit upstream_connection(boost::asio::io_context& io) : socket(io) {}

  tcp_socket socket;
  boost::beast::flat_buffer buffer;
  boost::asio::ip::tcp::endpoint endpoint;
  /// True once the connection has served a request (a failure on it may be a stale
  /// keep-alive connection closed by the upstream, which is worth one more try).
  bool reused = false;
  std::chrono::steady_clock::time_point idle_since;
};

/// Idle keep-alive connections to upstream instances, owned by one I/O thread (no
/// locking: only that thread's sessions use it).
class upstream_pool {
 public:
  upstream_pool(std::size_t max_idle_per_endpoint, std::chrono::milliseconds idle_timeout)
      : max_idle_per_endpoint_(max_idle_per_endpoint), idle_timeout_(idle_timeout) {}

  /// An idle connection to `endpoint`, or nullptr. Connections idle for longer than
  /// the idle timeout are dropped on the way. With `verify`, each candidate is also
  /// checked (one non-blocking peek) for having been closed by the upstream: worth
  /// it before sending a body that could not be sent again.
  std::unique_ptr<upstream_connection> take(const boost::asio::ip::tcp::endpoint& endpoint,
                                            bool verify);

  /// Keeps a connection for reuse (the most recently used one is taken first);
  /// closes it instead when the endpoint already has the maximum idle count.
  void give_back(std::unique_ptr<upstream_connection> connection);

  /// Closes every idle connection to endpoints not in `keep`.
  void retain_only(const std::vector<boost::asio::ip::tcp::endpoint>& keep);

  void clear() { idle_.clear(); }
  /// New limits (a reload): they apply from the next connection given back or swept.
  void set_limits(std::size_t max_idle_per_endpoint, std::chrono::milliseconds idle_timeout) {
    max_idle_per_endpoint_ = max_idle_per_endpoint;
    idle_timeout_ = idle_timeout;
  }

  /// Closes the connections idle for longer than the idle timeout at `now`.
  void close_expired(std::chrono::steady_clock::time_point now);

  std::size_t idle_count() const;
  /// Idle connections to one endpoint.
  std::size_t idle_count(const boost::asio::ip::tcp::endpoint& endpoint) const {
    auto found = idle_.find(endpoint);
    return found == idle_.end() ? 0 : found->second.size();
  }

 private:
  std::size_t max_idle_per_endpoint_;
  std::chrono::milliseconds idle_timeout_;
  std::map<boost::asio::ip::tcp::endpoint, std::vector<std::unique_ptr<upstream_connection>>> idle_;
};

}  // namespace dockmaster::net
