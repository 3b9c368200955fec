#include "net/upstream_exchange.hpp"

#include <array>
#include <limits>

#include <poll.h>

#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/read.hpp>

#include "net/client_session.hpp"
#include "net/header_rewrite.hpp"
#include "net/http_wire.hpp"
#include "net/logging.hpp"

namespace dockmaster::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

namespace {

/// Size of one piece of a relayed body.
constexpr std::size_t body_piece_size = proxy_worker::body_buffer_size;

/// What each kind of failure is called in logs and passive-health reports, and what
/// the client is answered when it is the last failure of its request.
struct failure_info {
  const char* name;
  http::status answer;
  const char* message;
};

constexpr failure_info failures[] = {
    {"connect", http::status::bad_gateway, "upstream connection failed"},
    {"connect timeout", http::status::gateway_timeout, "upstream timed out"},
    {"send", http::status::bad_gateway, "upstream connection failed"},
    {"no response", http::status::bad_gateway, "upstream connection failed"},
    {"response timeout", http::status::gateway_timeout, "upstream timed out"},
    {"cut", http::status::bad_gateway, "upstream closed the connection mid-response"},
    {"no response within the probe timeout", http::status::gateway_timeout, "upstream timed out"},
};

template <class Failure>
const failure_info& info(Failure what) {
  return failures[static_cast<int>(what)];
}

/// A response that has no body by definition, whatever its headers say.
bool bodiless(unsigned status, bool head_request) {
  return head_request || status / 100 == 1 || status == 204 || status == 304;
}

std::string endpoint_text(const asio::ip::tcp::endpoint& endpoint) {
  return endpoint.address().to_string() + ":" + std::to_string(endpoint.port());
}

}  // namespace

upstream_exchange::upstream_exchange(proxy_worker& worker, client_session& session)
    : worker_(worker), session_(session) {}

upstream_exchange::~upstream_exchange() {
  if (held_) worker_.unhold(session_.request().route->service, this);
  release(false);
  worker_.give_back_body_buffer(std::move(body_buffer_));
}

void upstream_exchange::close() {
  leave_queue();
  close_wait(messages::hold_outcome::client_gone);
  upstream_deadline_ = clock::time_point::max();
  beast::error_code ignored;
  if (upstream_) upstream_->socket.close(ignored);
}

void upstream_exchange::arm_upstream(std::chrono::milliseconds timeout) {
  upstream_deadline_ = clock::now() + timeout;
  session_.disarm();
}

void upstream_exchange::check_deadline(clock::time_point now) {
  if (held_ && !reading_held_body_) {
    // Acted on from the loop: the sweep that calls this walks the sessions, which an
    // ending request may close.
    std::optional<messages::hold_outcome> ended;
    if (now >= hold_deadline_)
      ended = messages::hold_outcome::timed_out;
    else if (client_closed())
      ended = messages::hold_outcome::client_gone;
    else if (now >= recheck_at_)
      ended = messages::hold_outcome::released;  // tries its instance again
    if (ended) {
      recheck_at_ = clock::time_point::max();
      asio::post(session_.socket().get_executor(),
                 [self = session_.shared_from_this(), this, outcome = *ended] {
                   if (!session_.closed()) hold_ended(outcome);
                 });
    }
    return;
  }
  if (head_wait_since_ != clock::time_point::max() && !slow_response_reported_ && target_host_)
    report_if_slow(now);
  if (now < upstream_deadline_) return;
  upstream_deadline_ = clock::time_point::max();
  upstream_timed_out_ = true;
  beast::error_code ignored;
  if (upstream_) upstream_->socket.close(ignored);  // its pending operation fails now
}

char* upstream_exchange::body_buffer() {
  if (!body_buffer_) body_buffer_ = worker_.take_body_buffer();
  return body_buffer_.get();
}

bool upstream_exchange::idempotent() const {
  switch (session_.parser().get().method()) {
    case http::verb::get:
    case http::verb::head:
    case http::verb::options:
    case http::verb::put:
    case http::verb::delete_:
    case http::verb::trace:
      return true;
    default:
      return false;
  }
}

void upstream_exchange::start() { try_next_upstream(); }

void upstream_exchange::release(bool reusable) {
  if (upstream_ && reusable && worker_.serves(upstream_->endpoint))
    worker_.pool().give_back(std::move(upstream_));
  upstream_.reset();
  if (target_host_) {
    if (target_host_->active_requests > 0) --target_host_->active_requests;
    target_host_.reset();
  }
}

void upstream_exchange::finish(bool keep_client_alive) {
  // Reusable only when both messages went through whole and nothing was upgraded.
  release(request_sent_ && response_sent_ && upstream_keep_alive_ && !session_.request().upgrade);
  response_.reset();
  worker_.give_back_body_buffer(std::move(body_buffer_));
  session_.finish_request(keep_client_alive);
}

void upstream_exchange::fail_request(failure what) {
  release(false);
  session_.answer_error(info(what).answer, info(what).message);
}

// -- choosing and reaching an instance ---------------------------------------------

void upstream_exchange::try_next_upstream() {
  auto& request = session_.request();
  release(false);
  upstream_timed_out_ = false;
  auto target = worker_.pick(request.route->service, tried_);
  if (!target) {
    if (try_hold()) return;
    close_wait(messages::hold_outcome::abandoned);  // waited, and nothing is coming back now
    if (tried_.empty()) {
      // Told apart only here, off the path of a request that finds an instance.
      session_.answer_error(http::status::service_unavailable,
                            worker_.has_targets(request.route->service) ? "no healthy instance"
                                                                        : "service has no instance");
    } else {
      fail_request(last_failure_);
    }
    return;
  }
  if (!tried_.empty() && request.traffic) ++request.traffic->upstream_retries;
  tried_.push_back(target);
  target_host_ = target;
  request.upstream = target->endpoint;
  ++target->active_requests;
  // A pooled connection first; an upgrade always gets a connection of its own. Before
  // a request that could not be sent again (a body, a non-idempotent method), make sure
  // the pooled one is still open.
  if (!request.upgrade)
    upstream_ = worker_.pool().take(target->endpoint, !session_.parser().is_done() || !idempotent());
  if (upstream_) {
    start_sending();
    return;
  }
  upstream_ = std::make_unique<upstream_connection>(worker_.io());
  upstream_->endpoint = target->endpoint;
  arm_upstream(session_.settings().timeouts.connect);
  upstream_->socket.async_connect(target->endpoint,
                                  [self = session_.shared_from_this(), this](error_code ec) {
                                    if (!session_.closed()) on_connect(ec);
                                  });
}

// -- waiting for an instance that is coming back -----------------------------------

bool upstream_exchange::try_hold() {
  // Only reached when nothing of the request went out, or it may go out again.
  auto& request = session_.request();
  const auto& service = request.route->service;
  const auto* hold = session_.settings().hold_of(service);
  if (!hold) return false;
  auto outlook = worker_.outlook_for_hold(service, tried_);
  if (outlook == proxy_worker::hold_outlook::none) return false;
  auto now = clock::now();
  const bool first_wait = hold_deadline_ == clock::time_point{};
  if (first_wait) {
    auto& parser = session_.parser();
    auto declared = parser.content_length();
    if (!parser.is_done() && declared && *declared > hold->max_body_bytes) {
      refuse_hold("no healthy instance, and the request body is too large to wait for one");
      return true;
    }
    hold_deadline_ = now + hold->timeout;
    event_log().debug("service {}: no healthy instance, {} {} waits for one", service,
                      request.method, request.target);
  }
  if (!worker_.hold(service, session_.shared_from_this(), this)) {
    refuse_hold("no healthy instance, and too many requests are waiting for one");
    return true;
  }
  held_ = true;
  queued_at_ = now;
  if (!wait_open_) {
    wait_open_ = true;
    wait_began_ = now;
    if (request.traffic) ++request.traffic->held;
  }
  recheck_at_ = outlook == proxy_worker::hold_outlook::refusing_but_listed ? now + hold->recheck
                                                                          : clock::time_point::max();
  upstream_deadline_ = clock::time_point::max();
  session_.disarm();  // the hold's deadline stands for the client's
  if (!session_.parser().is_done() && !body_kept_ && !reading_held_body_) read_held_body();
  return true;
}

void upstream_exchange::refuse_hold(std::string_view why) {
  auto& request = session_.request();
  if (wait_open_)
    close_wait(messages::hold_outcome::abandoned);
  else if (request.traffic)
    ++request.traffic->hold_refused;
  request.retry_after_s = 1;
  release(false);
  session_.answer_error(http::status::service_unavailable, why);
}

void upstream_exchange::read_held_body() {
  auto& parser = session_.parser();
  auto& body = parser.get().body();
  body.data = body_buffer();
  body.size = body_piece_size;
  reading_held_body_ = true;
  session_.arm(session_.settings().timeouts.client_header);  // the client sends it in time
  http::async_read(session_.socket(), session_.buffer(), parser,
                   [self = session_.shared_from_this(), this](error_code ec, std::size_t) {
                     if (!session_.closed()) on_held_body(ec);
                   });
}

void upstream_exchange::on_held_body(error_code ec) {
  if (ec == http::error::need_buffer) ec = {};
  reading_held_body_ = false;
  auto& parser = session_.parser();
  auto& request = session_.request();
  if (ec) {
    leave_queue();
    close_wait(messages::hold_outcome::client_gone);
    ended_during_body_.reset();
    request.keep_alive = false;
    if (ec == http::error::body_limit) {
      session_.answer_error(http::status::payload_too_large, "request body too large");
    } else if (ec == http::error::partial_message || ec == asio::error::eof ||
               ec == asio::error::connection_reset || ec == asio::error::operation_aborted) {
      request.status = 499;  // the client went away while its request waited
      finish(false);
    } else {
      session_.answer_error(http::status::bad_request, "malformed request body: " + ec.message());
    }
    return;
  }
  held_body_.append(body_buffer_.get(), body_piece_size - parser.get().body().size);
  const auto* hold = session_.settings().hold_of(request.route->service);
  if (hold && held_body_.size() > hold->max_body_bytes) {
    // A chunked body that turned out larger than a waiting request may keep.
    leave_queue();
    ended_during_body_.reset();
    refuse_hold("no healthy instance, and the request body is too large to wait for one");
    return;
  }
  if (!parser.is_done()) {
    read_held_body();
    return;
  }
  body_kept_ = true;
  worker_.give_back_body_buffer(std::move(body_buffer_));
  session_.disarm();
  if (ended_during_body_) {
    auto outcome = *ended_during_body_;
    ended_during_body_.reset();
    act_on_hold_end(outcome);
  }
}

void upstream_exchange::leave_queue() {
  if (!held_) return;
  held_ = false;
  recheck_at_ = clock::time_point::max();
  auto& request = session_.request();
  worker_.unhold(request.route->service, this);
  request.held += std::chrono::duration_cast<std::chrono::microseconds>(clock::now() - queued_at_);
}

void upstream_exchange::close_wait(messages::hold_outcome outcome) {
  if (!wait_open_) return;
  wait_open_ = false;
  auto waited = std::chrono::duration_cast<std::chrono::microseconds>(clock::now() - wait_began_);
  if (auto* traffic = session_.request().traffic) {
    ++traffic->hold_outcomes[static_cast<std::size_t>(outcome)];
    ++traffic->hold_wait[static_cast<std::size_t>(messages::bucket_of(waited.count()))];
    traffic->hold_wait_us += waited.count();
  }
}

void upstream_exchange::hold_ended(messages::hold_outcome outcome) {
  if (!held_) return;
  leave_queue();
  if (reading_held_body_) {
    ended_during_body_ = outcome;  // the body comes in first
    return;
  }
  act_on_hold_end(outcome);
}

void upstream_exchange::act_on_hold_end(messages::hold_outcome outcome) {
  auto& request = session_.request();
  if (outcome == messages::hold_outcome::released) {
    // Judged afresh: an instance that refused before may be back. The wait counts as
    // released once connected (an instance that refuses again means waiting on).
    tried_.clear();
    try_next_upstream();
    return;
  }
  close_wait(outcome);
  switch (outcome) {
    case messages::hold_outcome::timed_out:
      request.retry_after_s = 1;
      session_.answer_error(http::status::service_unavailable,
                            "no instance became healthy within hold.timeout");
      return;
    case messages::hold_outcome::client_gone:
      request.status = 499;
      finish(false);
      return;
    default:
      session_.answer_error(http::status::service_unavailable, "no healthy instance");
      return;
  }
}

bool upstream_exchange::client_closed() {
  pollfd events{session_.socket().native_handle(), POLLRDHUP, 0};
  return ::poll(&events, 1, 0) > 0 && (events.revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0;
}

void upstream_exchange::report_if_slow(clock::time_point now) {
  const auto& timeouts = session_.settings().probe_timeout_by_service;
  auto found = timeouts.find(session_.request().route->service);
  if (found == timeouts.end() || now - head_wait_since_ < found->second) return;
  // Longer than a probe may take: the instance may hang (SIGSTOP, a deadlock). Its
  // watcher probes it now rather than at its next interval; the request waits on.
  slow_response_reported_ = true;
  report_failure(*target_host_, failure::slow_response);
}

upstream_exchange::failure upstream_exchange::upstream_failure(failure otherwise) const {
  if (!upstream_timed_out_) return otherwise;
  return otherwise == failure::connect ? failure::connect_timeout : failure::response_timeout;
}

void upstream_exchange::on_connect(error_code ec) {
  if (ec) {
    upstream_failed(upstream_failure(failure::connect), ec);
    return;
  }
  beast::error_code ignored;
  upstream_->socket.set_option(asio::ip::tcp::no_delay(true), ignored);
  start_sending();
}

void upstream_exchange::report_failure(upstream_target& target, failure what) {
  const auto& report = session_.settings().on_upstream_failure;
  if (!report) return;
  // At most one report per instance and thread in this time: the watcher probes at
  // once on the first, and later ones would only queue behind that probe.
  constexpr auto min_gap = std::chrono::milliseconds(100);
  auto now = clock::now();
  if (now - target.last_failure_report < min_gap) return;
  target.last_failure_report = now;
  report(session_.request().route->service, target.endpoint, info(what).name);
}

void upstream_exchange::upstream_failed(failure what, error_code ec) {
  auto& request = session_.request();
  last_failure_ = what;
  bool reused = upstream_ && upstream_->reused;
  event_log().warn("upstream {} of service {} failed ({}): {}",
                   upstream_ ? endpoint_text(upstream_->endpoint) : std::string("-"),
                   request.route->service, info(what).name, ec.message());
  upstream_.reset();
  bool nothing_sent = what == failure::connect || what == failure::connect_timeout;
  if (nothing_sent && request.traffic) ++request.traffic->upstream_connect_failures;
  if (!(reused && !nothing_sent) && !tried_.empty()) report_failure(*tried_.back(), what);
  // Whether the upstream processed it is unknown: only an idempotent request whose
  // body was not consumed may go again (a stale pooled connection was checked before
  // any other request went out on it).
  bool replayable = !request.body_started && idempotent();
  if (what != failure::response_timeout && (nothing_sent || replayable)) {
    if (reused && !nothing_sent) {
      tried_.pop_back();  // a stale connection says nothing about the instance
      last_failure_ = failure::connect;
    }
    try_next_upstream();
    return;
  }
  fail_request(what);
}

// -- the request -------------------------------------------------------------------

template <class Handler>
void upstream_exchange::write_piece(tcp_socket& to, asio::const_buffer body, bool last,
                                    bool chunked, Handler&& handler) {
  static constexpr char crlf[] = "\r\n";
  const std::size_t size = body.size();
  chunk_line_.clear();
  if (chunked && size > 0) append_chunk_size(size, chunk_line_);
  std::array<asio::const_buffer, 5> pieces{
      asio::buffer(head_),
      asio::buffer(chunk_line_),
      body,
      asio::buffer(crlf, chunked && size > 0 ? 2 : 0),
      asio::buffer(last_chunk, chunked && last ? sizeof last_chunk - 1 : 0),
  };
  asio::async_write(to, pieces, std::forward<Handler>(handler));
}

void upstream_exchange::start_sending() {
  // Connected: a request that waited has its instance now.
  close_wait(messages::hold_outcome::released);
  // HTTP/1.1 requires a Host: an HTTP/1.0 request without one gets the instance's
  // configured address, as nginx gives it $proxy_host.
  if (session_.request().host_missing)
    session_.parser().get().set(http::field::host, target_host_->configured);
  head_.clear();
  append_request_head(session_.parser().get(), head_);
  if (body_kept_) {
    // Read while the request waited: it goes out whole with the head.
    arm_upstream(session_.settings().timeouts.upstream_response);
    write_piece(upstream_->socket, asio::buffer(held_body_), true, session_.parser().chunked(),
                [self = session_.shared_from_this(), this](error_code ec, std::size_t) {
                  if (!session_.closed()) on_request_piece_written(ec);
                });
  } else if (session_.parser().is_done()) {
    write_request_piece(0, true);
  } else {
    read_request_body();  // the head goes out together with the first piece
  }
}

void upstream_exchange::read_request_body() {
  auto& parser = session_.parser();
  auto& body = parser.get().body();
  body.data = body_buffer();
  body.size = body_piece_size;
  session_.request().body_started = true;
  session_.arm(session_.settings().timeouts.client_header);
  upstream_deadline_ = clock::time_point::max();
  http::async_read(session_.socket(), session_.buffer(), parser,
                   [self = session_.shared_from_this(), this](error_code ec, std::size_t) {
                     if (!session_.closed()) on_request_body(ec);
                   });
}

void upstream_exchange::on_request_body(error_code ec) {
  if (ec == http::error::need_buffer) ec = {};
  auto& parser = session_.parser();
  if (ec) {
    session_.request().keep_alive = false;
    release(false);
    bool client_gone = ec == http::error::partial_message || ec == asio::error::eof ||
                       ec == asio::error::connection_reset || ec == asio::error::operation_aborted;
    if (ec == http::error::body_limit) {
      session_.answer_error(http::status::payload_too_large, "request body too large");
    } else if (!client_gone) {
      // A broken chunk: the upstream loses its half-sent request with its connection,
      // the client hears why.
      session_.answer_error(http::status::bad_request, "malformed request body: " + ec.message());
    } else {
      // The client went away: nothing to answer to.
      event_log().debug("request body failed: {}", ec.message());
      session_.request().status = 499;
      finish(false);
    }
    return;
  }
  write_request_piece(body_piece_size - parser.get().body().size, parser.is_done());
}

void upstream_exchange::write_request_piece(std::size_t size, bool last) {
  arm_upstream(session_.settings().timeouts.upstream_response);
  write_piece(upstream_->socket, asio::buffer(body_buffer_.get(), body_buffer_ ? size : 0), last,
              session_.parser().chunked(),
              [self = session_.shared_from_this(), this](error_code ec, std::size_t) {
                if (!session_.closed()) on_request_piece_written(ec);
              });
}

void upstream_exchange::on_request_piece_written(error_code ec) {
  if (ec) {
    upstream_failed(upstream_failure(failure::send), ec);
    return;
  }
  head_.clear();
  if (session_.parser().is_done()) {
    request_sent_ = true;
    read_response_header();
  } else {
    read_request_body();
  }
}

// -- the response ------------------------------------------------------------------

void upstream_exchange::read_response_header() {
  response_.emplace();
  // Not boost::none: Beast 1.74 compares a Content-Length against an empty optional
  // and reports body_limit for every response.
  response_->body_limit(std::numeric_limits<std::uint64_t>::max());
  if (session_.parser().get().method() == http::verb::head) response_->skip(true);
  arm_upstream(session_.settings().timeouts.upstream_response);
  // The clock was just read for the deadline: no second read per request.
  if (head_wait_since_ == clock::time_point::max())
    head_wait_since_ = upstream_deadline_ - session_.settings().timeouts.upstream_response;
  http::async_read_header(upstream_->socket, upstream_->buffer, *response_,
                          [self = session_.shared_from_this(), this](error_code ec, std::size_t) {
                            if (!session_.closed()) on_response_header(ec);
                          });
}

void upstream_exchange::on_response_header(error_code ec) {
  head_wait_since_ = clock::time_point::max();
  if (ec) {
    upstream_failed(upstream_failure(failure::no_response), ec);
    return;
  }
  auto& request = session_.request();
  auto& response = response_->get();
  request.status = response.result_int();
  if (request.status / 100 == 1 && request.status != 101) {
    read_response_header();  // an interim answer (103 Early Hints): wait for the real one
    return;
  }
  if (request.upgrade && request.status == 101) {
    prepare_client_response(response, true);
    response.set("X-Request-Id", request.request_id);
    std::string head;
    append_response_head(response, head);
    upstream_deadline_ = clock::time_point::max();
    auto upstream = std::move(upstream_);
    release(false);
    session_.start_tunnel(std::move(upstream), std::move(head));
    return;
  }
  // The parser's view: its flags, set while parsing, need no lookup in the fields.
  upstream_keep_alive_ = response_->keep_alive();
  const bool upstream_chunked = response_->chunked();
  const bool has_length = response_->content_length().has_value();
  prepare_client_response(response);
  if (!request.origin.empty()) session_.settings().cors.decorate(request.origin, response);
  add_request_id_unless_present(response, request.request_id);
  response.version(request.version);
  response_has_body_ =
      !bodiless(request.status, session_.parser().get().method() == http::verb::head);
  client_chunked_ = false;
  if (response_has_body_) {
    bool delimited = upstream_chunked || has_length;
    if (request.version >= 11 && (upstream_chunked || !delimited)) {
      // A body that ends when the upstream closes reaches an HTTP/1.1 client chunked,
      // so the client connection stays reusable.
      if (!delimited) response.chunked(true);
      client_chunked_ = true;
    } else if (upstream_chunked || !delimited) {
      // HTTP/1.0 has no chunked encoding: send the body raw and end it by closing.
      response.chunked(false);
      request.keep_alive = false;
    }
  }
  if (request.upgrade) request.keep_alive = false;  // refused upgrade: reuse neither side
  if (worker_.draining()) request.keep_alive = false;  // tell the client this is the last one
  response.keep_alive(request.keep_alive);
  head_.clear();
  append_response_head(response, head_);
  if (!response_has_body_ || response_->is_done())
    write_response_piece(0, true);
  else
    read_response_body();
}

void upstream_exchange::read_response_body() {
  auto& body = response_->get().body();
  body.data = body_buffer();
  body.size = body_piece_size;
  arm_upstream(session_.settings().timeouts.upstream_response);
  http::async_read(upstream_->socket, upstream_->buffer, *response_,
                   [self = session_.shared_from_this(), this](error_code ec, std::size_t) {
                     if (!session_.closed()) on_response_body(ec);
                   });
}

void upstream_exchange::on_response_body(error_code ec) {
  if (ec == http::error::need_buffer) ec = {};
  if (ec) {
    auto what = upstream_timed_out_ ? failure::response_timeout : failure::cut;
    event_log().warn("upstream {} failed mid-response ({}){}", endpoint_text(upstream_->endpoint),
                     upstream_timed_out_ ? "timeout" : ec.message(),
                     head_.empty() ? ", closing the client connection" : std::string());
    if (!tried_.empty()) report_failure(*tried_.back(), failure::no_response);
    if (!head_.empty()) {
      // Nothing has gone to the client yet (the head waits for the first piece of
      // body): it gets a clean 502 or 504 instead of a cut response.
      head_.clear();
      fail_request(what);
      return;
    }
    // The status line has gone out: all that is left is to cut the connection, so
    // the client sees an incomplete response.
    finish(false);
    return;
  }
  write_response_piece(body_piece_size - response_->get().body().size, response_->is_done());
}

void upstream_exchange::write_response_piece(std::size_t size, bool last) {
  session_.arm(session_.settings().timeouts.client_idle);
  upstream_deadline_ = clock::time_point::max();
  write_piece(session_.socket(), asio::buffer(body_buffer_.get(), body_buffer_ ? size : 0),
              last && response_has_body_, client_chunked_,
              [self = session_.shared_from_this(), this](error_code ec, std::size_t) {
                if (!session_.closed()) on_response_piece_written(ec);
              });
}

void upstream_exchange::on_response_piece_written(error_code ec) {
  if (ec) {
    session_.request().status = 499;  // the client went away; the rest of the response is unread
    finish(false);
    return;
  }
  head_.clear();
  if (!response_has_body_ || response_->is_done()) {
    response_sent_ = true;
    finish(session_.request().keep_alive);
  } else {
    read_response_body();
  }
}

}  // namespace dockmaster::net
