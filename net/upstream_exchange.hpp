#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/parser.hpp>

#include "net/proxy_worker.hpp"
#include "net/upstream_pool.hpp"

namespace dockmaster::net {

class client_session;

/// The upstream side of one proxied request: picks an instance of the routed service,
/// connects (or takes a pooled connection), sends the head and relays the request body
/// from the client, reads the response and relays it back piece by piece, retrying on
/// another instance where that is safe. Owned by its client_session, whose socket,
/// buffer and parser it uses; keeps the session alive across its operations.
class upstream_exchange {
 public:
  using clock = std::chrono::steady_clock;
  using error_code = boost::beast::error_code;

  upstream_exchange(proxy_worker& worker, client_session& session);
  ~upstream_exchange();

  /// Sends the session's current request (its head parsed and rewritten) upstream.
  void start();
  /// Called by the session on each sweep: cuts the upstream operation past its deadline.
  void check_deadline(clock::time_point now);
  /// Closes the upstream connection (the session is closing).
  void close();

 private:
  using response_parser = boost::beast::http::response_parser<boost::beast::http::buffer_body>;

  /// Ways an exchange with an instance fails; `failures` in the .cpp gives each its
  /// name and the answer the client gets when it is the last one.
  enum class failure { connect, connect_timeout, send, no_response, response_timeout, cut };

  void try_next_upstream();
  void on_connect(error_code ec);
  void start_sending();
  void read_request_body();
  void on_request_body(error_code ec);
  void write_request_piece(std::size_t size, bool last);
  void on_request_piece_written(error_code ec);
  void read_response_header();
  void on_response_header(error_code ec);
  void read_response_body();
  void on_response_body(error_code ec);
  void write_response_piece(std::size_t size, bool last);
  void on_response_piece_written(error_code ec);

  /// Writes the pending head (if any), a body piece in the chosen framing and, with
  /// `last`, the end of a chunked body, in one gathered write.
  template <class Handler>
  void write_piece(boost::asio::ip::tcp::socket& to, std::size_t size, bool last, bool chunked,
                   Handler&& handler);

  void upstream_failed(failure what, error_code ec);
  /// A failed upstream operation: a timeout when the sweep cut it.
  failure upstream_failure(failure otherwise) const;
  /// Passive health: tells the instance's watcher (through the settings' hook) that a
  /// request could not reach it.
  void report_failure(upstream_target& target, failure what);
  /// The client gets the answer for `what` (the exchange gives up).
  void fail_request(failure what);
  /// Gives the connection back to the pool when reusable and lets go of the instance.
  void release(bool reusable);
  /// The request is over: release, then the session logs it and goes on.
  void finish(bool keep_client_alive);
  bool idempotent() const;
  char* body_buffer();
  void arm_upstream(std::chrono::milliseconds timeout);

  proxy_worker& worker_;
  client_session& session_;
  std::optional<response_parser> response_;
  std::unique_ptr<upstream_connection> upstream_;
  std::shared_ptr<upstream_target> target_host_;
  std::vector<std::shared_ptr<upstream_target>> tried_;
  failure last_failure_ = failure::connect;
  clock::time_point upstream_deadline_ = clock::time_point::max();
  bool upstream_timed_out_ = false;
  std::string head_;             // the head waiting to go out with the first body piece
  std::string chunk_line_;       // the size line of the chunk being written
  std::unique_ptr<char[]> body_buffer_;
  bool request_sent_ = false;    // the whole request reached the upstream
  bool response_sent_ = false;   // the whole response reached the client
  bool client_chunked_ = false;  // the response goes to the client chunked
  bool response_has_body_ = true;
  bool upstream_keep_alive_ = false;  // the upstream's own word, before we rewrite it
};

}  // namespace dockmaster::net
