#include "net/client_session.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/read_size.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/websocket/rfc6455.hpp>

#include "net/cors.hpp"
#include "net/header_rewrite.hpp"
#include "net/http_text.hpp"
#include "net/logging.hpp"
#include "net/tunnel.hpp"
#include "net/upstream_exchange.hpp"

namespace dockmaster::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

namespace {

/// How long a refused client may go on sending before its connection is closed.
constexpr std::chrono::milliseconds linger_time{2000};

bool holds_complete_head(const beast::flat_buffer& buffer) {
  std::string_view bytes(static_cast<const char*>(buffer.data().data()), buffer.size());
  return bytes.find("\r\n\r\n") != std::string_view::npos;
}

}  // namespace

client_session::client_session(proxy_worker& worker, tcp_socket socket)
    : worker_(worker), settings_(worker.shared_settings()), client_(std::move(socket)) {
  beast::error_code ec;
  auto peer = client_.remote_endpoint(ec);
  client_address_ = ec ? "-" : peer.address().to_string();
  client_.set_option(asio::ip::tcp::no_delay(true), ec);
  // The first read after an idle wait is tried at once, and must not block.
  client_.non_blocking(true, ec);
  worker_.session_started(this);
}

client_session::~client_session() {
  if (state_) {
    state_->exchange.reset();  // it lets go of its instance and buffers while the worker exists
    if (state_->request.counted) worker_.request_finished();
    worker_.give_back_request_state(std::move(state_));
  }
  worker_.session_ended(this);
}

void client_session::start() { read_request_head(); }

void client_session::close_if_idle() {
  if (idle_) close();
}

void client_session::close() {
  if (closed_) return;
  closed_ = true;
  client_deadline_ = clock::time_point::max();
  beast::error_code ignored;
  client_.shutdown(tcp_socket::shutdown_both, ignored);
  client_.close(ignored);
  if (state_ && state_->exchange) state_->exchange->close();
}

void client_session::check_deadlines(clock::time_point now) {
  if (state_ && state_->exchange) state_->exchange->check_deadline(now);
  if (now >= client_deadline_) close();
}

// -- reading, checking and routing -------------------------------------------------

void client_session::read_request_head() {
  if (!state_ || state_->buffer.size() == 0) {
    wait_for_request();
    return;
  }
  // A pipelined request is already here: the header timeout, not the idle one.
  begin_request();
  idle_ = false;
  arm(settings_->timeouts.client_header);
  parse_request_head();
}

void client_session::wait_for_request() {
  idle_ = true;
  arm(worker_.settings().timeouts.client_idle);
  // Nothing of the last request is kept: the state goes back to the pool, and so do
  // the settings (a reload may free the old ones).
  if (state_) worker_.give_back_request_state(std::move(state_));
  settings_.reset();
  client_.async_wait(tcp_socket::wait_read,
                     [self = shared_from_this()](beast::error_code ec) { self->on_readable(ec); });
}

void client_session::on_readable(beast::error_code ec) {
  if (closed_) return;
  if (ec) {
    close();
    return;
  }
  begin_request();
  auto& buffer = state_->buffer;
  auto bytes = client_.read_some(buffer.prepare(beast::read_size(buffer, 65536)), ec);
  if (ec == asio::error::would_block) {
    wait_for_request();  // woken for nothing
    return;
  }
  on_request_bytes(ec, bytes);
}

void client_session::begin_request() {
  if (!state_) state_ = worker_.take_request_state();
  settings_ = worker_.shared_settings();
  const auto& settings = *settings_;
  state_->parser.emplace();
  state_->parser->header_limit(static_cast<std::uint32_t>(settings.limits.max_header_bytes));
  state_->parser->body_limit(settings.limits.max_body_bytes);
  state_->request = client_request{};
}

void client_session::read_more() {
  client_.async_read_some(state_->buffer.prepare(beast::read_size(state_->buffer, 65536)),
                          [self = shared_from_this()](beast::error_code ec, std::size_t n) {
                            self->on_request_bytes(ec, n);
                          });
}

void client_session::on_request_bytes(beast::error_code ec, std::size_t bytes) {
  if (closed_) return;
  state_->buffer.commit(bytes);
  if (idle_ && state_->buffer.size() > 0) {
    idle_ = false;  // a request has begun: the header timeout, not the idle one
    arm(settings().timeouts.client_header);
  }
  if (ec) {
    if (!state_->parser->got_some() && state_->buffer.size() == 0) {
      close();  // the client closed between requests
      return;
    }
    state_->request.started = clock::now();
    state_->request.keep_alive = false;
    answer_error(http::status::bad_request, "malformed request: incomplete head");
    return;
  }
  parse_request_head();
}

void client_session::parse_request_head() {
  // RFC 9112 §2.2: empty lines before the request line are ignored (some clients send
  // one after a POST body).
  if (!state_->parser->got_some()) {
    auto bytes = [this] { return static_cast<const char*>(state_->buffer.data().data()); };
    while (state_->buffer.size() >= 2 && bytes()[0] == '\r' && bytes()[1] == '\n') state_->buffer.consume(2);
    bool maybe_crlf = state_->buffer.size() == 1 && bytes()[0] == '\r';
    if (state_->buffer.size() == 0 || maybe_crlf) {
      read_more();
      return;
    }
  }
  beast::error_code ec;
  state_->buffer.consume(state_->parser->put(state_->buffer.data(), ec));
  if (ec == http::error::need_more) {
    if (holds_complete_head(state_->buffer)) {
      // The whole head is here and the parser still wants more: it is waiting for
      // something that never comes (`GET / \r\n\r\n` lacks its version).
      state_->request.started = clock::now();
      refuse({http::status::bad_request, "malformed request line"});
      return;
    }
    read_more();
    return;
  }
  state_->request.started = clock::now();
  if (ec) {
    state_->request.keep_alive = false;
    if (ec == http::error::header_limit)
      answer_error(http::status::request_header_fields_too_large, "request header too large");
    else if (ec == http::error::body_limit)
      answer_error(http::status::payload_too_large, "request body too large");
    else
      answer_error(http::status::bad_request, "malformed request: " + ec.message());
    return;
  }
  worker_.request_started();
  state_->request.counted = true;
  auto& head = state_->parser->get();
  state_->request.method = std::string(head.method_string());
  state_->request.target = std::string(head.target());
  // The parser's flag, set while parsing: no lookup in the fields.
  state_->request.keep_alive = state_->parser->keep_alive() && !worker_.draining();
  state_->request.version = head.version();
  request_facts facts;
  if (auto refusal = check_request_head(head, state_->parser->chunked(), facts)) {
    refuse(*refusal);
    return;
  }
  route_request(facts);
}

void client_session::refuse(const request_refusal& refusal) {
  // What follows this head on the connection cannot be told apart from a request of
  // its own: answer, then close.
  state_->request.keep_alive = false;
  event_log().debug("client {} refused ({}): {}", client_address_,
                    static_cast<unsigned>(refusal.status), refusal.reason);
  answer_error(refusal.status, refusal.reason);
}

void client_session::route_request(const request_facts& facts) {
  auto& head = state_->parser->get();
  // Taken again now that the head is here: a keep-alive connection that waited through
  // a reload routes by the new settings. Held until the next request.
  settings_ = worker_.shared_settings();
  const auto& settings = *settings_;
  state_->request.origin = std::string(facts.origin);
  state_->request.host_missing = facts.host_missing;
  if (facts.asterisk_form) {
    answer_options_asterisk();
    return;
  }
  state_->request.route = settings.routes.match(facts.host, facts.path);
  if (!settings.status_path.empty() && facts.path == settings.status_path &&
      head.method() == http::verb::get) {
    const auto& status = worker_.status_json();
    answer(http::status::ok, status ? *status : std::string("{}"));
    return;
  }
  if (settings.cors.enabled() && cors_responder::is_preflight(head)) {
    answer_preflight();
    return;
  }
  if (!state_->request.route) {
    answer_error(http::status::not_found, "no route for this path");
    return;
  }
  state_->request.traffic = worker_.traffic_of(state_->request.route->service);
  // The parser flags Connection: upgrade plus an Upgrade field; only then is it worth
  // checking for a WebSocket handshake.
  state_->request.upgrade = state_->parser->upgrade() && beast::websocket::is_upgrade(head);
  // The facts point into the head, which changes from here on.
  const bool wants_continue = iequals_ascii(facts.expect, "100-continue");
  std::string path;  // copied only where the target is rewritten
  if (facts.absolute_form || state_->request.route->strip_prefix) path = std::string(facts.path);
  if (facts.absolute_form) {
    // Upstream in origin form, its Host the authority that routed (RFC 9112 §3.2.2).
    std::string host(facts.host);
    head.target(path);
    head.set(http::field::host, host);
  }
  if (facts.content_length_repeated) head.content_length(*state_->parser->content_length());
  forwarding_info info{client_address_, "http"};
  state_->request.request_id = prepare_upstream_request(head, info, state_->request.upgrade);
  if (state_->request.route->strip_prefix) head.target(route_table::upstream_target(*state_->request.route, path));
  if (wants_continue) {
    head.erase(http::field::expect);
    // The upstream gets the body right away, so the client gets its 100 from us now
    // instead of waiting (curl waits 1 s) before it sends a large body. HTTP/1.0
    // clients get none (RFC 9110 §10.1.1).
    if (!state_->parser->is_done() && state_->request.version >= 11) {
      send_continue_then_forward();
      return;
    }
  }
  forward();
}

void client_session::send_continue_then_forward() {
  static const std::string continue_line = "HTTP/1.1 100 Continue\r\n\r\n";
  // Under the client's deadline: a client that never reads cannot hold the thread.
  arm(settings().timeouts.client_header);
  asio::async_write(client_, asio::buffer(continue_line),
                    [self = shared_from_this()](beast::error_code ec, std::size_t) {
                      if (self->closed_) return;
                      if (ec) {
                        self->close();
                        return;
                      }
                      self->state_->request.continue_sent = true;
                      self->forward();
                    });
}

void client_session::forward() {
  state_->exchange.emplace(worker_, *this);
  state_->exchange->start();
}

// -- answers made by the proxy -----------------------------------------------------

template <class Response>
void client_session::write_answer(std::shared_ptr<Response> response) {
  state_->request.status = response->result_int();
  response->set(http::field::server, "dockmaster");
  response->keep_alive(state_->request.keep_alive);
  response->prepare_payload();
  arm(settings().timeouts.client_idle);
  http::async_write(client_, *response,
                    [self = shared_from_this(), response](beast::error_code ec, std::size_t) {
                      if (self->closed_) return;
                      self->finish_request(!ec && self->state_->request.keep_alive);
                    });
}

void client_session::answer(http::status status, std::string body, std::string_view content_type) {
  // An unread request body would be taken for the next request: close instead.
  if (!state_->parser || !state_->parser->is_header_done() || !state_->parser->is_done()) state_->request.keep_alive = false;
  auto response = std::make_shared<http::response<http::string_body, head_fields>>(status, 11);
  if (!body.empty()) response->set(http::field::content_type, content_type);
  if (!state_->request.request_id.empty()) response->set("X-Request-Id", state_->request.request_id);
  if (state_->request.retry_after_s != 0)
    response->set(http::field::retry_after, std::to_string(state_->request.retry_after_s));
  if (!state_->request.origin.empty()) settings().cors.decorate(state_->request.origin, response->base());
  response->body() = std::move(body);
  write_answer(std::move(response));
}

void client_session::answer_error(http::status status, std::string_view message) {
  std::string body = "{\"error\":\"" + json_escape(message) + "\",\"status\":" +
                     std::to_string(static_cast<unsigned>(status));
  if (state_->request.route) body += ",\"service\":\"" + json_escape(state_->request.route->service) + "\"";
  if (!state_->request.request_id.empty()) body += ",\"request_id\":\"" + state_->request.request_id + "\"";
  body += "}\n";
  answer(status, std::move(body));
}

void client_session::answer_preflight() {
  if (!state_->parser->is_done()) state_->request.keep_alive = false;
  auto response = std::make_shared<http::response<http::empty_body, head_fields>>();
  response->version(11);
  settings().cors.answer_preflight(state_->parser->get(), response->base());
  write_answer(std::move(response));
}

void client_session::answer_options_asterisk() {
  // `OPTIONS *` asks what the server supports: every route's methods pass through.
  if (!state_->parser->is_done()) state_->request.keep_alive = false;
  auto response = std::make_shared<http::response<http::empty_body, head_fields>>(http::status::ok, 11);
  response->set(http::field::allow, "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS");
  write_answer(std::move(response));
}

// -- the end of a request ----------------------------------------------------------

void client_session::end_request() {
  const auto took = std::chrono::duration_cast<std::chrono::microseconds>(clock::now() - state_->request.started);
  if (state_->request.traffic && state_->request.status != 0) {
    auto& traffic = *state_->request.traffic;
    ++traffic.requests[messages::method_and_class::index(messages::method_of(state_->request.method),
                                                         messages::class_of(state_->request.status))];
    const auto us = static_cast<std::uint64_t>(took.count());
    ++traffic.request_duration[static_cast<std::size_t>(messages::duration_bucket_of(us))];
    traffic.request_duration_us += us;
    state_->request.traffic = nullptr;  // once per request
  }
  if (state_->request.status != 0 && settings().access_log) {
    log_access({client_address_, state_->request.method, state_->request.target, state_->request.status,
                state_->request.upstream ? state_->request.upstream->address().to_string() + ":" +
                                        std::to_string(state_->request.upstream->port())
                                  : std::string("-"),
                took, state_->request.request_id, state_->request.held});
  }
  if (state_->request.counted) {
    state_->request.counted = false;
    worker_.request_finished();
  }
}

void client_session::finish_request(bool keep_client_alive) {
  end_request();
  if (closed_) return;
  if (keep_client_alive && !worker_.draining()) {
    // Called from the exchange, which must not be replaced under its own feet: a
    // pipelined request (already buffered) starts from the loop.
    if (state_->buffer.size() > 0)
      asio::post(client_.get_executor(), [self = shared_from_this()] {
        if (!self->closed_) self->read_request_head();
      });
    else
      read_request_head();
    return;
  }
  bool unread = !state_->parser || !state_->parser->is_done() || state_->buffer.size() > 0;
  if (unread)
    close_gracefully();
  else
    close();
}

void client_session::close_gracefully() {
  if (lingering_) return;
  lingering_ = true;
  beast::error_code ignored;
  client_.shutdown(tcp_socket::shutdown_send, ignored);
  state_->buffer.clear();
  arm(std::min(linger_time, settings().timeouts.client_header));
  discard_until_closed();
}

void client_session::discard_until_closed() {
  client_.async_read_some(state_->buffer.prepare(4096),
                          [self = shared_from_this()](beast::error_code ec, std::size_t) {
                            if (self->closed_) return;
                            if (ec) {
                              self->close();
                              return;
                            }
                            self->discard_until_closed();
                          });
}

void client_session::start_tunnel(std::unique_ptr<upstream_connection> upstream,
                                  std::string response_head) {
  end_request();  // the 101 is logged and counted; a tunnel is no request in flight
  // The session is done: the tunnel owns the connection from here on.
  closed_ = true;
  client_deadline_ = clock::time_point::max();
  auto relay = std::make_shared<tunnel>(worker_, std::move(client_), std::move(state_->buffer),
                                        std::move(upstream));
  relay->start(std::move(response_head));
}

}  // namespace dockmaster::net
