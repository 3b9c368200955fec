#pragma once

// An upstream for the front-door tests that shows exactly what the proxy forwarded:
// it reads the raw bytes of each connection, splits them into requests with a strict
// reading of RFC 9112 (and notes everything that would let another server read them
// differently), answers each complete request with a small 200, and records it all.

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace dockmaster::test {

struct forwarded_request {
  std::string method;
  std::string target;
  std::string version;
  std::vector<std::pair<std::string, std::string>> fields;  // as sent, in order
  std::string body;  // decoded
  bool chunked = false;
  bool complete = false;  // the whole message arrived before the connection ended
  /// Why another HTTP server could frame or route it differently; empty when none.
  std::string ambiguity;

  /// Fields of `name` (case-insensitive), in order.
  std::vector<std::string> values(const std::string& name) const;
};

class recording_upstream {
 public:
  recording_upstream();
  ~recording_upstream();

  std::uint16_t port() const { return port_; }
  std::string host_port() const { return "127.0.0.1:" + std::to_string(port_); }

  /// Every request seen so far, complete or cut, over all connections.
  std::vector<forwarded_request> requests() const;
  void clear();

 private:
  void accept_loop();
  void serve(int fd);

  int listener_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  std::thread acceptor_;
  mutable std::mutex mutex_;
  std::vector<forwarded_request> requests_;
  std::vector<std::thread> connections_;
  std::vector<int> open_fds_;
};

/// Splits `bytes` (what arrived on one connection) into requests, strictly. Requests
/// whose framing is ambiguous end the parse (nothing after them can be trusted).
std::vector<forwarded_request> parse_forwarded(const std::string& bytes, bool connection_ended);

}  // namespace dockmaster::test
