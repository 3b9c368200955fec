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

client_session::client_session(proxy_worker& worker, asio::ip::tcp::socket socket)
    : worker_(worker), settings_(worker.shared_settings()), client_(std::move(socket)) {
  beast::error_code ec;
  auto peer = client_.remote_endpoint(ec);
  client_address_ = ec ? "-" : peer.address().to_string();
  client_.set_option(asio::ip::tcp::no_delay(true), ec);
  worker_.session_started(this);
}

client_session::~client_session() {
  exchange_.reset();  // it lets go of its instance and buffers while the worker exists
  if (request_.counted) worker_.request_finished();
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
  client_.shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
  client_.close(ignored);
  if (exchange_) exchange_->close();
}

void client_session::check_deadlines(clock::time_point now) {
  if (exchange_) exchange_->check_deadline(now);
  if (now >= client_deadline_) close();
}

// -- reading, checking and routing -------------------------------------------------

void client_session::read_request_head() {
  settings_ = worker_.shared_settings();
  const auto& settings = *settings_;
  parser_.emplace();
  parser_->header_limit(static_cast<std::uint32_t>(settings.limits.max_header_bytes));
  parser_->body_limit(settings.limits.max_body_bytes);
  request_ = client_request{};
  // A connection between requests waits up to the idle timeout; one that has sent
  // part of a header gets the header timeout.
  idle_ = buffer_.size() == 0;
  arm(idle_ ? settings.timeouts.client_idle : settings.timeouts.client_header);
  if (!idle_) {
    parse_request_head();  // a pipelined request is already here
    return;
  }
  read_more();
}

void client_session::read_more() {
  client_.async_read_some(buffer_.prepare(beast::read_size(buffer_, 65536)),
                          [self = shared_from_this()](beast::error_code ec, std::size_t n) {
                            self->on_request_bytes(ec, n);
                          });
}

void client_session::on_request_bytes(beast::error_code ec, std::size_t bytes) {
  if (closed_) return;
  buffer_.commit(bytes);
  if (idle_ && buffer_.size() > 0) {
    idle_ = false;  // a request has begun: the header timeout, not the idle one
    arm(settings().timeouts.client_header);
  }
  if (ec) {
    if (!parser_->got_some() && buffer_.size() == 0) {
      close();  // the client closed between requests
      return;
    }
    request_.started = clock::now();
    request_.keep_alive = false;
    answer_error(http::status::bad_request, "malformed request: incomplete head");
    return;
  }
  parse_request_head();
}

void client_session::parse_request_head() {
  // RFC 9112 §2.2: empty lines before the request line are ignored (some clients send
  // one after a POST body).
  if (!parser_->got_some()) {
    auto bytes = [this] { return static_cast<const char*>(buffer_.data().data()); };
    while (buffer_.size() >= 2 && bytes()[0] == '\r' && bytes()[1] == '\n') buffer_.consume(2);
    bool maybe_crlf = buffer_.size() == 1 && bytes()[0] == '\r';
    if (buffer_.size() == 0 || maybe_crlf) {
      read_more();
      return;
    }
  }
  beast::error_code ec;
  buffer_.consume(parser_->put(buffer_.data(), ec));
  if (ec == http::error::need_more) {
    if (holds_complete_head(buffer_)) {
      // The whole head is here and the parser still wants more: it is waiting for
      // something that never comes (`GET / \r\n\r\n` lacks its version).
      request_.started = clock::now();
      refuse({http::status::bad_request, "malformed request line"});
      return;
    }
    read_more();
    return;
  }
  request_.started = clock::now();
  if (ec) {
    request_.keep_alive = false;
    if (ec == http::error::header_limit)
      answer_error(http::status::request_header_fields_too_large, "request header too large");
    else if (ec == http::error::body_limit)
      answer_error(http::status::payload_too_large, "request body too large");
    else
      answer_error(http::status::bad_request, "malformed request: " + ec.message());
    return;
  }
  worker_.request_started();
  request_.counted = true;
  auto& head = parser_->get();
  request_.method = std::string(head.method_string());
  request_.target = std::string(head.target());
  // The parser's flag, set while parsing: no lookup in the fields.
  request_.keep_alive = parser_->keep_alive() && !worker_.draining();
  request_.version = head.version();
  request_facts facts;
  if (auto refusal = check_request_head(head, parser_->chunked(), facts)) {
    refuse(*refusal);
    return;
  }
  route_request(facts);
}

void client_session::refuse(const request_refusal& refusal) {
  // What follows this head on the connection cannot be told apart from a request of
  // its own: answer, then close.
  request_.keep_alive = false;
  event_log().debug("client {} refused ({}): {}", client_address_,
                    static_cast<unsigned>(refusal.status), refusal.reason);
  answer_error(refusal.status, refusal.reason);
}

void client_session::route_request(const request_facts& facts) {
  auto& head = parser_->get();
  // Taken again now that the head is here: a keep-alive connection that waited through
  // a reload routes by the new settings. Held until the next request.
  settings_ = worker_.shared_settings();
  const auto& settings = *settings_;
  request_.origin = std::string(facts.origin);
  request_.host_missing = facts.host_missing;
  if (facts.asterisk_form) {
    answer_options_asterisk();
    return;
  }
  request_.route = settings.routes.match(facts.host, facts.path);
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
  if (!request_.route) {
    answer_error(http::status::not_found, "no route for this path");
    return;
  }
  request_.traffic = worker_.traffic_of(request_.route->service);
  // The parser flags Connection: upgrade plus an Upgrade field; only then is it worth
  // checking for a WebSocket handshake.
  request_.upgrade = parser_->upgrade() && beast::websocket::is_upgrade(head);
  // The facts point into the head, which changes from here on.
  const bool wants_continue = iequals_ascii(facts.expect, "100-continue");
  std::string path;  // copied only where the target is rewritten
  if (facts.absolute_form || request_.route->strip_prefix) path = std::string(facts.path);
  if (facts.absolute_form) {
    // Upstream in origin form, its Host the authority that routed (RFC 9112 §3.2.2).
    std::string host(facts.host);
    head.target(path);
    head.set(http::field::host, host);
  }
  if (facts.content_length_repeated) head.content_length(*parser_->content_length());
  forwarding_info info{client_address_, "http"};
  request_.request_id = prepare_upstream_request(head, info, request_.upgrade);
  if (request_.route->strip_prefix) head.target(route_table::upstream_target(*request_.route, path));
  if (wants_continue) {
    head.erase(http::field::expect);
    // The upstream gets the body right away, so the client gets its 100 from us now
    // instead of waiting (curl waits 1 s) before it sends a large body. HTTP/1.0
    // clients get none (RFC 9110 §10.1.1).
    if (!parser_->is_done() && request_.version >= 11) {
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
                      self->request_.continue_sent = true;
                      self->forward();
                    });
}

void client_session::forward() {
  exchange_.emplace(worker_, *this);
  exchange_->start();
}

// -- answers made by the proxy -----------------------------------------------------

template <class Response>
void client_session::write_answer(std::shared_ptr<Response> response) {
  request_.status = response->result_int();
  response->set(http::field::server, "dockmaster");
  response->keep_alive(request_.keep_alive);
  response->prepare_payload();
  arm(settings().timeouts.client_idle);
  http::async_write(client_, *response,
                    [self = shared_from_this(), response](beast::error_code ec, std::size_t) {
                      if (self->closed_) return;
                      self->finish_request(!ec && self->request_.keep_alive);
                    });
}

void client_session::answer(http::status status, std::string body, std::string_view content_type) {
  // An unread request body would be taken for the next request: close instead.
  if (!parser_ || !parser_->is_header_done() || !parser_->is_done()) request_.keep_alive = false;
  auto response = std::make_shared<http::response<http::string_body>>(status, 11);
  if (!body.empty()) response->set(http::field::content_type, content_type);
  if (!request_.request_id.empty()) response->set("X-Request-Id", request_.request_id);
  if (request_.retry_after_s != 0)
    response->set(http::field::retry_after, std::to_string(request_.retry_after_s));
  if (!request_.origin.empty()) settings().cors.decorate(request_.origin, response->base());
  response->body() = std::move(body);
  write_answer(std::move(response));
}

void client_session::answer_error(http::status status, std::string_view message) {
  std::string body = "{\"error\":\"" + json_escape(message) + "\",\"status\":" +
                     std::to_string(static_cast<unsigned>(status));
  if (request_.route) body += ",\"service\":\"" + json_escape(request_.route->service) + "\"";
  if (!request_.request_id.empty()) body += ",\"request_id\":\"" + request_.request_id + "\"";
  body += "}\n";
  answer(status, std::move(body));
}

void client_session::answer_preflight() {
  if (!parser_->is_done()) request_.keep_alive = false;
  auto response = std::make_shared<http::response<http::empty_body>>();
  response->version(11);
  settings().cors.answer_preflight(parser_->get(), response->base());
  write_answer(std::move(response));
}

void client_session::answer_options_asterisk() {
  // `OPTIONS *` asks what the server supports: every route's methods pass through.
  if (!parser_->is_done()) request_.keep_alive = false;
  auto response = std::make_shared<http::response<http::empty_body>>(http::status::ok, 11);
  response->set(http::field::allow, "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS");
  write_answer(std::move(response));
}

// -- the end of a request ----------------------------------------------------------

void client_session::end_request() {
  const auto took = std::chrono::duration_cast<std::chrono::microseconds>(clock::now() - request_.started);
  if (request_.traffic && request_.status != 0) {
    auto& traffic = *request_.traffic;
    ++traffic.requests[messages::method_and_class::index(messages::method_of(request_.method),
                                                         messages::class_of(request_.status))];
    const auto us = static_cast<std::uint64_t>(took.count());
    ++traffic.request_duration[static_cast<std::size_t>(messages::duration_bucket_of(us))];
    traffic.request_duration_us += us;
    request_.traffic = nullptr;  // once per request
  }
  if (request_.status != 0 && settings().access_log) {
    log_access({client_address_, request_.method, request_.target, request_.status,
                request_.upstream ? request_.upstream->address().to_string() + ":" +
                                        std::to_string(request_.upstream->port())
                                  : std::string("-"),
                took, request_.request_id, request_.held});
  }
  if (request_.counted) {
    request_.counted = false;
    worker_.request_finished();
  }
}

void client_session::finish_request(bool keep_client_alive) {
  end_request();
  if (buffer_.size() == 0) buffer_.shrink_to_fit();  // an idle connection holds no buffer
  if (closed_) return;
  if (keep_client_alive && !worker_.draining()) {
    // Called from the exchange, which must not be replaced under its own feet: a
    // pipelined request (already buffered) starts from the loop.
    if (buffer_.size() > 0)
      asio::post(client_.get_executor(), [self = shared_from_this()] {
        if (!self->closed_) self->read_request_head();
      });
    else
      read_request_head();
    return;
  }
  bool unread = !parser_ || !parser_->is_done() || buffer_.size() > 0;
  if (unread)
    close_gracefully();
  else
    close();
}

void client_session::close_gracefully() {
  if (lingering_) return;
  lingering_ = true;
  beast::error_code ignored;
  client_.shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
  buffer_.clear();
  arm(std::min(linger_time, settings().timeouts.client_header));
  discard_until_closed();
}

void client_session::discard_until_closed() {
  client_.async_read_some(buffer_.prepare(4096),
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
  auto relay = std::make_shared<tunnel>(worker_, std::move(client_), std::move(buffer_),
                                        std::move(upstream));
  relay->start(std::move(response_head));
}

}  // namespace dockmaster::net
