#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/status.hpp>

#include "net/head_fields.hpp"
#include "net/proxy_worker.hpp"
#include "net/request_checks.hpp"
#include "net/upstream_exchange.hpp"
#include "net/upstream_pool.hpp"

namespace dockmaster::net {

/// What the proxy knows of the request it is serving on a client connection. Reset
/// by assignment when the next request starts, so nothing leaks from one to the next.
struct client_request {
  using clock = std::chrono::steady_clock;

  std::string method = "-";  // as the client sent them, for the log
  std::string target = "-";
  std::string request_id;
  std::string origin;
  const config::route* route = nullptr;
  /// The routed service's counters on this thread (null before routing).
  messages::traffic_delta* traffic = nullptr;
  clock::time_point started;
  unsigned status = 0;
  unsigned version = 11;       // the client's (the upstream always gets 1.1)
  bool keep_alive = true;      // the client connection may serve another request
  bool upgrade = false;        // a WebSocket handshake
  bool counted = false;        // counted in the worker's requests in flight
  bool body_started = false;   // some body bytes were read from the client
  bool continue_sent = false;  // the client got its 100 Continue
  bool host_missing = false;   // HTTP/1.0 without Host: the upstream gets the instance's
  /// Sent as Retry-After (seconds) with an error answer, when not 0.
  unsigned retry_after_s = 0;
  /// How long it waited for an instance that was coming back, in all.
  std::chrono::microseconds held{0};
  /// The instance that served it, rendered only for the access log.
  std::optional<boost::asio::ip::tcp::endpoint> upstream;
};

using request_parser =
    boost::beast::http::request_parser<boost::beast::http::buffer_body, head_allocator<char>>;

/// What a connection holds only while it serves a request: the read buffer, the
/// parser, the request and its upstream exchange. Lent by the worker's pool when the
/// first bytes of a request arrive and given back when the connection goes idle, so
/// that an idle keep-alive connection holds none of it (as nginx does), and a busy one
/// reuses a buffer that has already grown.
struct request_state {
  boost::beast::flat_buffer buffer;
  std::optional<request_parser> parser;
  client_request request;
  /// In place rather than on the heap: one allocation less per request.
  std::optional<upstream_exchange> exchange;
};

/// The client side of one connection: reads requests one after another (keep-alive),
/// checks each head (request_checks.hpp) and routes it, answers what the proxy answers
/// itself (the status path, CORS preflights, errors) and hands the rest to an
/// upstream_exchange. After a 101 it hands both sockets to a tunnel and is done.
/// Runs entirely on its worker's thread.
///
/// Timeouts are deadlines that the worker's sweep checks a few times a second, rather
/// than a timer per socket operation: arming one is a clock read, not a timer-queue
/// insertion and a cancelled completion per read and write.
class client_session : public std::enable_shared_from_this<client_session> {
 public:
  using clock = std::chrono::steady_clock;
  using error_code = boost::beast::error_code;
  using request_parser = net::request_parser;

  client_session(proxy_worker& worker, tcp_socket socket);
  ~client_session();

  void start();
  /// Closes the connection when it is between requests (used by drain).
  void close_if_idle();
  /// Called by the worker's sweep: cuts whatever waits past its deadline.
  void check_deadlines(clock::time_point now);

  // -- what the upstream exchange of the current request uses ----------------------

  tcp_socket& socket() { return client_; }
  boost::beast::flat_buffer& buffer() { return state_->buffer; }
  request_parser& parser() { return *state_->parser; }
  client_request& request() { return state_->request; }
  bool closed() const { return closed_; }
  /// The settings of the request being served: taken from the worker when its head
  /// has been read (before routing) and held until the next one, so that a reload never changes them (nor frees
  /// the route the request points to) under a request in flight.
  const proxy_settings& settings() const { return *settings_; }
  /// The client has `timeout` for its next read or write.
  void arm(std::chrono::milliseconds timeout) { client_deadline_ = clock::now() + timeout; }
  /// The wait is on the upstream: no client deadline.
  void disarm() { client_deadline_ = clock::time_point::max(); }
  /// Answers the request with a JSON error and ends it.
  void answer_error(boost::beast::http::status status, std::string_view message);
  /// Ends the request (logs and counts it), then reads the next one or closes.
  void finish_request(bool keep_client_alive);
  /// The upstream accepted an upgrade: a tunnel takes both connections from here on,
  /// after writing `response_head` (the 101) to the client.
  void start_tunnel(std::unique_ptr<upstream_connection> upstream, std::string response_head);
  void close();

 private:
  // -- reading, checking and routing a request -------------------------------------
  void read_request_head();
  /// Idle: gives the request state back and waits for the client's next bytes.
  void wait_for_request();
  void on_readable(error_code ec);
  /// A fresh parser and request on the state (taken from the pool when there is none).
  void begin_request();
  /// Reads whatever the client sends next into the buffer.
  void read_more();
  void on_request_bytes(error_code ec, std::size_t bytes);
  /// Feeds what the buffer holds to the parser; reads more, refuses, or routes.
  void parse_request_head();
  void refuse(const request_refusal& refusal);
  void route_request(const request_facts& facts);
  void send_continue_then_forward();
  void forward();

  // -- answers made by the proxy ----------------------------------------------------
  void answer(boost::beast::http::status status, std::string body,
              std::string_view content_type = "application/json");
  void answer_preflight();
  void answer_options_asterisk();
  /// Writes a prepared response and ends the request.
  template <class Response>
  void write_answer(std::shared_ptr<Response> response);
  /// Closes after an answer that refused the request: the send side first, then what
  /// the client still sends is read and dropped for a moment, so that a close with
  /// unread bytes (a reset) cannot destroy the answer before the client reads it.
  void close_gracefully();
  void discard_until_closed();

  /// Counts and logs the answered request, and takes it off the requests in flight.
  void end_request();

  proxy_worker& worker_;
  std::shared_ptr<const proxy_settings> settings_;
  tcp_socket client_;
  clock::time_point client_deadline_ = clock::time_point::max();
  std::string client_address_;
  bool idle_ = false;  // waiting for the next request
  bool closed_ = false;
  bool lingering_ = false;  // in close_gracefully

  /// Null while the connection is idle between requests.
  std::unique_ptr<request_state> state_;
};

}  // namespace dockmaster::net
