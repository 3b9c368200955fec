#pragma once

// The HTTP side of the admin listener: one thread with its own event loop, a listening
// socket and keep-alive connections. It answers what needs no state itself (the page,
// /health, errors, the bearer token) and hands every other request to its owner, the
// admin_server actor, which answers it later through respond(). Operators' traffic is
// small, so it is kept apart from the proxy's I/O threads and never slows them.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

namespace dockmaster::net {

/// A request for the owner to answer, by `id`.
struct admin_request {
  std::uint64_t id = 0;
  std::string method;
  std::string path;   // without the query
  std::string query;  // after '?', or empty
};

struct admin_response {
  unsigned status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
};

class admin_session;

class admin_listener {
 public:
  /// `page`: the HTML answered on GET /. `on_request` is called on the listener's
  /// thread for every authorized request it does not answer itself.
  admin_listener(std::string token, std::string page, std::function<void(admin_request)> on_request);
  ~admin_listener();

  /// Opens the socket (port 0: any) and returns the port. Throws
  /// boost::system::system_error.
  std::uint16_t listen(const boost::asio::ip::tcp::endpoint& endpoint);
  /// Starts the thread.
  void start();
  /// Thread-safe: answers request `id` (nothing happens if its connection is gone).
  void respond(std::uint64_t id, admin_response response);
  void stop();

  // -- used by sessions, on the listener's thread --
  bool authorized(const std::string& authorization) const;
  const std::string& page() const { return page_; }
  std::uint64_t hand_over(std::string method, std::string path, std::string query,
                          std::weak_ptr<admin_session> session);

 private:
  void do_accept();

  std::string token_;
  std::string page_;
  std::function<void(admin_request)> on_request_;
  boost::asio::io_context io_;
  boost::asio::ip::tcp::acceptor acceptor_;
  boost::asio::steady_timer retry_timer_;
  std::thread thread_;
  std::map<std::uint64_t, std::weak_ptr<admin_session>> pending_;
  std::uint64_t next_id_ = 1;
  bool stopped_ = false;
};

}  // namespace dockmaster::net
