#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/parser.hpp>

#include "messages/vocabulary.hpp"
#include "net/head_fields.hpp"
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
  /// The worker ends the request's wait for an instance: `released` (an instance turned
  /// healthy: it is tried now) or `abandoned` (nothing is expected back: 503).
  void hold_ended(messages::hold_outcome outcome);

 private:
  using response_parser =
      boost::beast::http::response_parser<boost::beast::http::buffer_body, head_allocator<char>>;

  /// Ways an exchange with an instance fails; `failures` in the .cpp gives each its
  /// name and the answer the client gets when it is the last one.
  enum class failure {
    connect,
    connect_timeout,
    send,
    no_response,
    response_timeout,
    cut,
    slow_response,  // only reported (passive health): no head within the probe timeout
  };

  void try_next_upstream();
  /// No instance to try: waits for one that is coming back, if the service holds and
  /// one is; then true (also when the hold refused it with a 503 of its own).
  bool try_hold();
  /// The request may not wait after all: 503 at once (hold full, body too large).
  void refuse_hold(std::string_view why);
  /// Reads the body of a waiting request into held_body_ (up to hold.max_body_bytes).
  void read_held_body();
  void on_held_body(error_code ec);
  /// What ends a wait, once no body read is under way.
  void act_on_hold_end(messages::hold_outcome outcome);
  /// Takes the request out of the worker's queue (if it is there).
  void leave_queue();
  /// The request's wait is over: counted once, however often it was queued (a request
  /// released to an instance that refused it again waits on in the same wait).
  void close_wait(messages::hold_outcome outcome);
  /// The client closed its side while its request waited (no read is pending then to
  /// notice it).
  bool client_closed();
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

  /// Writes the pending head (if any), a body piece (`body`) in the chosen framing and, with
  /// `last`, the end of a chunked body, in one gathered write.
  template <class Handler>
  void write_piece(tcp_socket& to, boost::asio::const_buffer body, bool last,
                   bool chunked, Handler&& handler);

  void upstream_failed(failure what, error_code ec);
  /// Passive health for a hung instance: reports one that has not sent its response
  /// head within the service's probe timeout.
  void report_if_slow(clock::time_point now);
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
  /// Since when the request waits for the response head (max: it does not).
  clock::time_point head_wait_since_ = clock::time_point::max();
  bool slow_response_reported_ = false;
  std::string head_;             // the head waiting to go out with the first body piece
  std::string chunk_line_;       // the size line of the chunk being written
  std::unique_ptr<char[]> body_buffer_;
  bool request_sent_ = false;    // the whole request reached the upstream
  bool response_sent_ = false;   // the whole response reached the client
  bool client_chunked_ = false;  // the response goes to the client chunked
  bool response_has_body_ = true;
  bool upstream_keep_alive_ = false;  // the upstream's own word, before we rewrite it

  // -- waiting for an instance that is coming back (hold) -------------------------
  bool held_ = false;               // in the worker's queue
  bool wait_open_ = false;          // waiting, as counted (held, until close_wait)
  bool reading_held_body_ = false;  // the body read of a waiting request is under way
  bool body_kept_ = false;          // the whole request body is in held_body_
  /// A wait that ended while the body was still being read: acted on once it is in.
  std::optional<messages::hold_outcome> ended_during_body_;
  clock::time_point queued_at_{};       // put in the queue last
  clock::time_point wait_began_{};      // of the counted wait
  clock::time_point hold_deadline_{};   // the first wait plus hold.timeout; {}: never waited
  clock::time_point recheck_at_ = clock::time_point::max();
  std::string held_body_;
};

}  // namespace dockmaster::net
