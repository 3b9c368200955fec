#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/status.hpp>

#include "net/proxy_worker.hpp"
#include "net/upstream_pool.hpp"

namespace dockmaster::net {

/// One client connection: reads requests one after another (keep-alive), answers
/// what the manager answers itself (404, CORS preflight, errors) and relays the rest
/// to an upstream instance, streaming bodies in both directions piece by piece.
/// Runs entirely on its worker's thread.
///
/// Timeouts are deadlines that the worker's sweep checks a few times a second, rather
/// than a timer per socket operation: arming one is a clock read, not a timer-queue
/// insertion and a cancelled completion per read and write.
class client_session : public std::enable_shared_from_this<client_session> {
 public:
  using clock = std::chrono::steady_clock;

  client_session(proxy_worker& worker, boost::asio::ip::tcp::socket socket);
  ~client_session();

  void start();
  /// Closes the connection when it is between requests (used by drain).
  void close_if_idle();
  /// Called by the worker's sweep: cuts whatever waits past its deadline.
  void check_deadlines(clock::time_point now);

 private:
  using error_code = boost::beast::error_code;
  using request_parser = boost::beast::http::request_parser<boost::beast::http::buffer_body>;
  using response_parser = boost::beast::http::response_parser<boost::beast::http::buffer_body>;

  enum class failure { connect, connect_timeout, send, no_response, response_timeout };

  // -- reading and routing a client request -----------------------------------------
  void do_read_request();
  void on_read_request(error_code ec, std::size_t bytes);
  void route_request();

  // -- answers made by the manager --------------------------------------------------
  void answer(boost::beast::http::status status, std::string body,
              std::string_view content_type = "application/json");
  void answer_error(boost::beast::http::status status, std::string_view message);
  void answer_preflight();

  // -- the upstream exchange --------------------------------------------------------
  void try_next_upstream();
  void on_connect(error_code ec);
  void start_sending();
  void read_request_body();
  void on_request_body(error_code ec, std::size_t bytes);
  void write_request_piece(std::size_t size, bool last);
  void on_request_piece_written(error_code ec, std::size_t bytes);
  void read_response_header();
  void on_response_header(error_code ec, std::size_t bytes);
  void read_response_body();
  void on_response_body(error_code ec, std::size_t bytes);
  void write_response_piece(std::size_t size, bool last);
  void on_response_piece_written(error_code ec, std::size_t bytes);
  /// Passive health: tells the instance's watcher (through the settings' hook) that a
  /// request could not reach it.
  void report_failure(upstream_target& target, failure what);
  void upstream_failed(failure what, error_code ec);
  /// A failed upstream operation: a timeout when the sweep cut it.
  failure upstream_failure(failure otherwise) const;

  /// Writes the pending head (if any), a body piece in the chosen framing and, with
  /// `last`, the end of a chunked body, in one gathered write.
  template <class Handler>
  void write_piece(boost::asio::ip::tcp::socket& to, std::size_t size, bool last, bool chunked,
                   Handler&& handler);

  void arm_client(std::chrono::milliseconds timeout);
  void arm_upstream(std::chrono::milliseconds timeout);

  // -- WebSocket and other upgrades: a byte tunnel after the 101 --------------------
  void start_tunnel();
  void pump(bool to_upstream);

  /// Ends the current request: logs it, returns the upstream connection to the pool
  /// when reusable, then reads the next request or closes.
  void finish_request(bool keep_client_alive);
  /// Counts the answered request for its service, once.
  void count_answered();
  void close();
  bool idempotent() const;
  char* body_buffer();

  proxy_worker& worker_;
  boost::asio::ip::tcp::socket client_;
  boost::beast::flat_buffer buffer_;
  clock::time_point client_deadline_ = clock::time_point::max();
  clock::time_point upstream_deadline_ = clock::time_point::max();
  bool upstream_timed_out_ = false;
  std::string client_address_;
  bool idle_ = false;    // waiting for the next request
  bool closed_ = false;

  // The current request.
  std::optional<request_parser> request_;
  std::optional<response_parser> response_;
  std::string head_;             // the head waiting to go out with the first body piece
  std::string chunk_line_;       // the size line of the chunk being written
  bool request_sent_ = false;    // the whole request reached the upstream
  bool response_sent_ = false;   // the whole response reached the client
  bool client_chunked_ = false;  // the response goes to the client chunked
  bool response_has_body_ = true;
  bool upstream_keep_alive_ = false;  // the upstream's own word, before we rewrite it
  const config::route* route_ = nullptr;
  /// The routed service's counters on this thread (null before routing).
  messages::traffic_delta* traffic_ = nullptr;
  std::string method_;
  std::string target_;  // as the client sent it, for the log
  std::string request_id_;
  std::string origin_;
  std::chrono::steady_clock::time_point started_;
  unsigned status_ = 0;
  bool counted_ = false;         // counted in the worker's requests in flight
  bool body_started_ = false;    // some request body bytes were read from the client
  bool client_keep_alive_ = true;
  unsigned client_version_ = 11;  // as the client sent it (the upstream always gets 1.1)
  bool upgrade_ = false;
  std::unique_ptr<upstream_connection> upstream_;
  std::shared_ptr<upstream_target> target_host_;
  std::vector<std::shared_ptr<upstream_target>> tried_;
  failure last_failure_ = failure::connect;
  std::unique_ptr<char[]> body_buffer_;

  // Tunnel state.
  std::unique_ptr<char[]> tunnel_buffers_[2];
  int tunnel_open_directions_ = 0;
};

}  // namespace dockmaster::net
