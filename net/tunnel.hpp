#pragma once

#include <chrono>
#include <memory>
#include <string>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>

#include "net/upstream_pool.hpp"

namespace dockmaster::net {

class proxy_worker;

/// A byte tunnel between a client and an upstream after a 101 (WebSocket): owns both
/// connections, copies each direction as it comes, passes a half close on, and closes
/// both when either fails, when no byte moved in `timeouts.tunnel_idle`, or when the
/// drain timeout ends. Runs on its worker's thread.
class tunnel : public std::enable_shared_from_this<tunnel> {
 public:
  using clock = std::chrono::steady_clock;

  /// `client_leftover` and the upstream's buffer hold bytes that arrived behind the
  /// heads: they belong to the tunnel.
  tunnel(proxy_worker& worker, tcp_socket client,
         boost::beast::flat_buffer client_leftover, std::unique_ptr<upstream_connection> upstream);
  ~tunnel();

  /// Writes `response_head` (the 101) to the client, then relays both ways.
  void start(std::string response_head);
  /// Called by the worker's sweep: closes an idle tunnel.
  void check_deadlines(clock::time_point now);
  void close();

 private:
  /// One direction: bytes read from `from` are written to `to`.
  struct direction {
    tcp_socket* from;
    tcp_socket* to;
    std::unique_ptr<char[]> buffer;
  };

  void forward_leftover(boost::beast::flat_buffer& leftover, direction& way);
  void pump(direction& way);

  proxy_worker& worker_;
  tcp_socket client_;
  boost::beast::flat_buffer client_leftover_;
  std::unique_ptr<upstream_connection> upstream_;
  std::string head_;
  direction to_upstream_;
  direction to_client_;
  int open_directions_ = 2;
  clock::time_point deadline_ = clock::time_point::max();
  bool closed_ = false;
};

}  // namespace dockmaster::net
