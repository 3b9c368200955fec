#include "net/client_session.hpp"

#include <limits>

#include <boost/asio/connect.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/bind_handler.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/websocket/rfc6455.hpp>

#include "net/cors.hpp"
#include "net/header_rewrite.hpp"
#include "net/logging.hpp"

namespace dockmaster::net {

namespace beast = boost::beast;
namespace http = beast::http;
namespace asio = boost::asio;

namespace {

/// Size of one piece of a relayed body.
constexpr std::size_t body_piece_size = 32 * 1024;

bool is_timeout(const beast::error_code& ec) { return ec == beast::error::timeout; }

/// A response that has no body by definition, whatever its headers say.
bool bodiless(unsigned status, bool head_request) {
  return head_request || status / 100 == 1 || status == 204 || status == 304;
}

}  // namespace

client_session::client_session(proxy_worker& worker, asio::ip::tcp::socket socket)
    : worker_(worker), stream_(std::move(socket)) {
  beast::error_code ec;
  auto peer = stream_.socket().remote_endpoint(ec);
  client_address_ = ec ? "-" : peer.address().to_string();
  stream_.socket().set_option(asio::ip::tcp::no_delay(true), ec);
  worker_.session_started(this);
}

client_session::~client_session() {
  if (counted_) worker_.request_finished();
  if (target_host_ && target_host_->active_requests > 0) --target_host_->active_requests;
  worker_.session_ended(this);
}

void client_session::start() { do_read_request(); }

void client_session::close_if_idle() {
  if (idle_) close();
}

void client_session::close() {
  if (closed_) return;
  closed_ = true;
  beast::error_code ec;
  stream_.socket().shutdown(asio::ip::tcp::socket::shutdown_both, ec);
  stream_.socket().close(ec);
  if (upstream_) upstream_->stream.socket().close(ec);
}

char* client_session::body_buffer() {
  if (!body_buffer_) body_buffer_.reset(new char[body_piece_size]);
  return body_buffer_.get();
}

// -- reading and routing ---------------------------------------------------------

void client_session::do_read_request() {
  const auto& settings = worker_.settings();
  request_.emplace();
  request_->header_limit(static_cast<std::uint32_t>(settings.limits.max_header_bytes));
  request_->body_limit(settings.limits.max_body_bytes);
  response_.reset();
  request_writer_.reset();
  response_writer_.reset();
  route_ = nullptr;
  status_ = 0;
  body_started_ = false;
  upgrade_ = false;
  tried_.clear();
  target_host_.reset();
  // A connection between requests waits up to the idle timeout; one that has sent
  // part of a header gets the header timeout.
  idle_ = buffer_.size() == 0;
  stream_.expires_after(idle_ ? settings.timeouts.client_idle : settings.timeouts.client_header);
  http::async_read_header(stream_, buffer_, *request_,
                          beast::bind_front_handler(&client_session::on_read_request,
                                                    shared_from_this()));
}

void client_session::on_read_request(beast::error_code ec, std::size_t) {
  idle_ = false;
  if (closed_) return;
  if (ec) {
    if (ec == http::error::end_of_stream || ec == asio::error::eof ||
        ec == asio::error::connection_reset || ec == asio::error::operation_aborted ||
        is_timeout(ec) || (buffer_.size() == 0 && ec == http::error::partial_message)) {
      close();
      return;
    }
    started_ = std::chrono::steady_clock::now();
    client_keep_alive_ = false;
    method_ = "-";
    target_ = "-";
    if (ec == http::error::header_limit)
      answer_error(http::status::request_header_fields_too_large, "request header too large");
    else if (ec == http::error::body_limit)
      answer_error(http::status::payload_too_large, "request body too large");
    else
      answer_error(http::status::bad_request, "malformed request: " + ec.message());
    return;
  }
  started_ = std::chrono::steady_clock::now();
  worker_.request_started();
  counted_ = true;
  auto& request = request_->get();
  method_ = std::string(request.method_string());
  target_ = std::string(request.target());
  client_keep_alive_ = request.keep_alive() && !worker_.draining();
  auto origin = request.find(http::field::origin);
  origin_ = origin == request.end() ? std::string() : std::string(origin->value());
  route_request();
}

void client_session::route_request() {
  auto& request = request_->get();
  const auto& settings = worker_.settings();
  auto host = request.find(http::field::host);
  route_ = settings.routes.match(host == request.end() ? std::string_view() : host->value(),
                                 request.target());
  if (settings.cors.enabled() && cors_responder::is_preflight(request)) {
    answer_preflight();
    return;
  }
  if (!route_) {
    answer_error(http::status::not_found, "no route for this path");
    return;
  }
  upgrade_ = beast::websocket::is_upgrade(request);
  forwarding_info info{client_address_, "http"};
  request_id_ = prepare_upstream_request(request, info, upgrade_);
  request.target(route_table::upstream_target(*route_, target_));
  if (request[http::field::expect] == "100-continue") {
    // The upstream sees the body right away, so the client gets its 100 from us now
    // instead of waiting (curl waits 1 s) before sending a large body.
    request.erase(http::field::expect);
    if (!request_->is_done()) {
      static const std::string continue_line = "HTTP/1.1 100 Continue\r\n\r\n";
      beast::error_code ignored;
      asio::write(stream_.socket(), asio::buffer(continue_line), ignored);
    }
  }
  if (!worker_.has_targets(route_->service)) {
    answer_error(http::status::service_unavailable, "service has no instance");
    return;
  }
  try_next_upstream();
}

// -- answers made by the manager ---------------------------------------------------

void client_session::answer(http::status status, std::string body, std::string_view content_type) {
  status_ = static_cast<unsigned>(status);
  // An unread request body would be taken for the next request: close instead.
  if (request_ && !request_->is_header_done()) client_keep_alive_ = false;
  if (request_ && request_->is_header_done() && !request_->is_done() && !body_started_)
    client_keep_alive_ = false;
  if (body_started_ && request_ && !request_->is_done()) client_keep_alive_ = false;
  auto response = std::make_shared<http::response<http::string_body>>(status, 11);
  response->set(http::field::server, "dockmaster");
  if (!body.empty()) response->set(http::field::content_type, content_type);
  if (!request_id_.empty()) response->set("X-Request-Id", request_id_);
  if (!origin_.empty() && status != http::status::no_content &&
      status != http::status::forbidden)
    worker_.settings().cors.decorate(origin_, response->base());
  response->body() = std::move(body);
  response->keep_alive(client_keep_alive_);
  response->prepare_payload();
  stream_.expires_after(worker_.settings().timeouts.client_idle);
  http::async_write(stream_, *response,
                    [self = shared_from_this(), response](beast::error_code ec, std::size_t) {
                      self->finish_request(!ec && self->client_keep_alive_);
                    });
}

void client_session::answer_error(http::status status, std::string_view message) {
  std::string body = "{\"error\":\"" + json_escape(message) + "\",\"status\":" +
                     std::to_string(static_cast<unsigned>(status));
  if (route_) body += ",\"service\":\"" + json_escape(route_->service) + "\"";
  if (!request_id_.empty()) body += ",\"request_id\":\"" + request_id_ + "\"";
  body += "}\n";
  answer(status, std::move(body));
}

void client_session::answer_preflight() {
  status_ = 0;
  if (!request_->is_done()) client_keep_alive_ = false;
  auto response = std::make_shared<http::response<http::empty_body>>();
  response->version(11);
  worker_.settings().cors.answer_preflight(request_->get(), response->base());
  response->set(http::field::server, "dockmaster");
  response->keep_alive(client_keep_alive_);
  status_ = response->result_int();
  stream_.expires_after(worker_.settings().timeouts.client_idle);
  http::async_write(stream_, *response,
                    [self = shared_from_this(), response](beast::error_code ec, std::size_t) {
                      self->finish_request(!ec && self->client_keep_alive_);
                    });
}

// -- the upstream exchange ---------------------------------------------------------

bool client_session::idempotent() const {
  switch (request_->get().method()) {
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

void client_session::try_next_upstream() {
  if (target_host_) {
    if (target_host_->active_requests > 0) --target_host_->active_requests;
    target_host_.reset();
  }
  upstream_.reset();
  auto target = worker_.pick(route_->service, tried_);
  if (!target) {
    if (tried_.empty()) {
      answer_error(http::status::service_unavailable, "no healthy instance");
    } else if (last_failure_ == failure::connect_timeout ||
               last_failure_ == failure::response_timeout) {
      answer_error(http::status::gateway_timeout, "upstream timed out");
    } else {
      answer_error(http::status::bad_gateway, "upstream connection failed");
    }
    return;
  }
  tried_.push_back(target);
  target_host_ = target;
  ++target->active_requests;
  // A pooled connection first; an upgrade always gets a connection of its own.
  if (!upgrade_) upstream_ = worker_.pool().take(target->endpoint);
  if (upstream_) {
    start_sending();
    return;
  }
  upstream_ = std::make_unique<upstream_connection>(worker_.io());
  upstream_->endpoint = target->endpoint;
  ++worker_.pool().opened;
  upstream_->stream.expires_after(worker_.settings().timeouts.connect);
  upstream_->stream.async_connect(
      target->endpoint,
      beast::bind_front_handler(&client_session::on_connect, shared_from_this()));
}

void client_session::on_connect(beast::error_code ec) {
  if (closed_) return;
  if (ec) {
    upstream_failed(is_timeout(ec) ? failure::connect_timeout : failure::connect, ec);
    return;
  }
  beast::error_code ignored;
  upstream_->stream.socket().set_option(asio::ip::tcp::no_delay(true), ignored);
  start_sending();
}

void client_session::start_sending() {
  request_writer_.emplace(request_->get());
  if (request_->is_done()) {
    auto& body = request_->get().body();
    body.data = nullptr;
    body.size = 0;
    body.more = false;
    write_request_piece();
  } else {
    read_request_body();  // the header goes out together with the first piece
  }
}

void client_session::read_request_body() {
  auto& body = request_->get().body();
  body.data = body_buffer();
  body.size = body_piece_size;
  body_started_ = true;
  stream_.expires_after(worker_.settings().timeouts.client_header);
  http::async_read(stream_, buffer_, *request_,
                   beast::bind_front_handler(&client_session::on_request_body, shared_from_this()));
}

void client_session::on_request_body(beast::error_code ec, std::size_t) {
  if (closed_) return;
  if (ec == http::error::need_buffer) ec = {};
  if (ec) {
    client_keep_alive_ = false;
    if (ec == http::error::body_limit) {
      answer_error(http::status::payload_too_large, "request body too large");
    } else {
      // The client went away or sent a broken body: nothing to answer to.
      event_log().debug("client {} request body failed: {}", client_address_, ec.message());
      status_ = 499;
      finish_request(false);
    }
    return;
  }
  auto& body = request_->get().body();
  body.size = body_piece_size - body.size;
  body.data = body_buffer();
  body.more = !request_->is_done();
  write_request_piece();
}

void client_session::write_request_piece() {
  upstream_->stream.expires_after(worker_.settings().timeouts.upstream_response);
  http::async_write(upstream_->stream, *request_writer_,
                    beast::bind_front_handler(&client_session::on_request_piece_written,
                                              shared_from_this()));
}

void client_session::on_request_piece_written(beast::error_code ec, std::size_t) {
  if (closed_) return;
  if (ec == http::error::need_buffer) ec = {};
  if (ec) {
    upstream_failed(is_timeout(ec) ? failure::response_timeout : failure::send, ec);
    return;
  }
  if (request_writer_->is_done())
    read_response_header();
  else
    read_request_body();
}

void client_session::read_response_header() {
  response_.emplace();
  // Not boost::none: Beast 1.74 compares a Content-Length against an empty optional
  // and reports body_limit for every response.
  response_->body_limit(std::numeric_limits<std::uint64_t>::max());
  if (request_->get().method() == http::verb::head) response_->skip(true);
  upstream_->stream.expires_after(worker_.settings().timeouts.upstream_response);
  http::async_read_header(upstream_->stream, upstream_->buffer, *response_,
                          beast::bind_front_handler(&client_session::on_response_header,
                                                    shared_from_this()));
}

void client_session::on_response_header(beast::error_code ec, std::size_t) {
  if (closed_) return;
  if (ec) {
    upstream_failed(is_timeout(ec) ? failure::response_timeout : failure::no_response, ec);
    return;
  }
  auto& response = response_->get();
  status_ = response.result_int();
  if (status_ / 100 == 1 && status_ != 101) {
    read_response_header();  // an interim answer (103 Early Hints): wait for the real one
    return;
  }
  if (upgrade_ && status_ == 101) {
    start_tunnel();
    return;
  }
  prepare_client_response(response);
  if (!origin_.empty()) worker_.settings().cors.decorate(origin_, response);
  if (response.find("X-Request-Id") == response.end()) response.set("X-Request-Id", request_id_);
  unsigned client_version = request_->get().version();
  response.version(client_version);
  bool no_body = bodiless(status_, request_->get().method() == http::verb::head);
  if (client_version < 11 && response.chunked() && !no_body) {
    // HTTP/1.0 has no chunked encoding: send the body raw and end it by closing.
    response.chunked(false);
    client_keep_alive_ = false;
  }
  if (upgrade_) client_keep_alive_ = false;  // refused upgrade: do not reuse either side
  response.keep_alive(client_keep_alive_);
  response_writer_.emplace(response);
  if (no_body) {
    stream_.expires_after(worker_.settings().timeouts.client_idle);
    http::async_write_header(stream_, *response_writer_,
                             [self = shared_from_this()](beast::error_code ec, std::size_t) {
                               if (self->closed_) return;
                               if (ec) {
                                 self->finish_request(false);
                                 return;
                               }
                               self->finish_request(self->client_keep_alive_);
                             });
    return;
  }
  if (response_->is_done()) {
    auto& body = response.body();
    body.data = nullptr;
    body.size = 0;
    body.more = false;
    write_response_piece();
  } else {
    read_response_body();
  }
}

void client_session::read_response_body() {
  auto& body = response_->get().body();
  body.data = body_buffer();
  body.size = body_piece_size;
  upstream_->stream.expires_after(worker_.settings().timeouts.upstream_response);
  http::async_read(upstream_->stream, upstream_->buffer, *response_,
                   beast::bind_front_handler(&client_session::on_response_body,
                                             shared_from_this()));
}

void client_session::on_response_body(beast::error_code ec, std::size_t) {
  if (closed_) return;
  if (ec == http::error::need_buffer) ec = {};
  if (ec) {
    // The status line is already on its way to the client: all we can do is cut the
    // connection so that the client sees an incomplete response.
    event_log().warn("upstream {} failed mid-response ({}), closing client {}",
                     upstream_->endpoint.address().to_string(), ec.message(), client_address_);
    upstream_.reset();
    finish_request(false);
    return;
  }
  auto& body = response_->get().body();
  body.size = body_piece_size - body.size;
  body.data = body_buffer();
  body.more = !response_->is_done();
  write_response_piece();
}

void client_session::write_response_piece() {
  stream_.expires_after(worker_.settings().timeouts.client_idle);
  http::async_write(stream_, *response_writer_,
                    beast::bind_front_handler(&client_session::on_response_piece_written,
                                              shared_from_this()));
}

void client_session::on_response_piece_written(beast::error_code ec, std::size_t) {
  if (closed_) return;
  if (ec == http::error::need_buffer) ec = {};
  if (ec) {
    upstream_.reset();  // the rest of the response is unread: not reusable
    status_ = 499;
    finish_request(false);
    return;
  }
  if (response_writer_->is_done())
    finish_request(client_keep_alive_);
  else
    read_response_body();
}

void client_session::upstream_failed(failure what, beast::error_code ec) {
  last_failure_ = what;
  bool reused = upstream_ && upstream_->reused;
  event_log().warn("upstream {} of service {} failed ({}): {}",
                   upstream_ ? upstream_->endpoint.address().to_string() + ":" +
                                   std::to_string(upstream_->endpoint.port())
                             : std::string("-"),
                   route_->service, what == failure::connect ? "connect" :
                   what == failure::connect_timeout ? "connect timeout" :
                   what == failure::send ? "send" :
                   what == failure::no_response ? "no response" : "response timeout",
                   ec.message());
  upstream_.reset();
  bool nothing_sent = what == failure::connect || what == failure::connect_timeout;
  // A reused keep-alive connection that the upstream closed under us never reached
  // it: resending is safe for any method as long as the body can still be replayed.
  bool replayable = !body_started_ && (idempotent() || reused);
  if (what != failure::response_timeout && (nothing_sent || replayable)) {
    if (reused && !nothing_sent) {
      tried_.pop_back();  // a stale connection says nothing about the instance
      last_failure_ = failure::connect;
    }
    try_next_upstream();
    return;
  }
  if (what == failure::response_timeout)
    answer_error(http::status::gateway_timeout, "upstream timed out");
  else
    answer_error(http::status::bad_gateway, "upstream connection failed");
}

// -- upgrades ----------------------------------------------------------------------

void client_session::start_tunnel() {
  auto& response = response_->get();
  prepare_client_response(response, true);
  response.set("X-Request-Id", request_id_);
  response_writer_.emplace(response);
  log_access({client_address_, method_, target_, status_,
              upstream_->endpoint.address().to_string(),
              std::chrono::duration_cast<std::chrono::microseconds>(
                  std::chrono::steady_clock::now() - started_),
              request_id_});
  if (counted_) {
    counted_ = false;  // a tunnel is not a request in flight: drain does not wait for it
    worker_.request_finished();
  }
  stream_.expires_after(worker_.settings().timeouts.client_idle);
  http::async_write_header(
      stream_, *response_writer_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
        if (self->closed_) return;
        if (ec) {
          self->close();
          return;
        }
        self->stream_.expires_never();
        self->upstream_->stream.expires_never();
        self->tunnel_open_directions_ = 2;
        // Bytes that arrived behind the headers belong to the tunnel.
        auto forward_leftover = [self](beast::flat_buffer& from, beast::tcp_stream& to,
                                       bool to_upstream) {
          if (from.size() == 0) {
            self->pump(to_upstream);
            return;
          }
          asio::async_write(to, from.data(),
                            [self, &from, to_upstream](beast::error_code ec, std::size_t n) {
                              from.consume(n);
                              if (ec) {
                                self->close();
                                return;
                              }
                              self->pump(to_upstream);
                            });
        };
        forward_leftover(self->buffer_, self->upstream_->stream, true);
        forward_leftover(self->upstream_->buffer, self->stream_, false);
      });
}

void client_session::pump(bool to_upstream) {
  auto& from = to_upstream ? stream_ : upstream_->stream;
  auto& to = to_upstream ? upstream_->stream : stream_;
  auto& buffer = tunnel_buffers_[to_upstream ? 0 : 1];
  if (!buffer) buffer.reset(new char[body_piece_size]);
  from.async_read_some(
      asio::buffer(buffer.get(), body_piece_size),
      [self = shared_from_this(), &from, &to, &buffer, to_upstream](beast::error_code ec,
                                                                    std::size_t n) {
        if (self->closed_) return;
        if (ec) {
          // One side finished: pass the end on and let the other direction drain.
          beast::error_code ignored;
          to.socket().shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
          if (--self->tunnel_open_directions_ == 0 || ec != asio::error::eof) self->close();
          return;
        }
        asio::async_write(to, asio::buffer(buffer.get(), n),
                          [self, to_upstream](beast::error_code ec, std::size_t) {
                            if (self->closed_) return;
                            if (ec) {
                              self->close();
                              return;
                            }
                            self->pump(to_upstream);
                          });
      });
}

// -- end of a request --------------------------------------------------------------

void client_session::finish_request(bool keep_client_alive) {
  if (status_ != 0 && worker_.settings().access_log) {
    std::string upstream = "-";
    if (target_host_)
      upstream = target_host_->endpoint.address().to_string() + ":" +
                 std::to_string(target_host_->endpoint.port());
    log_access({client_address_, method_, target_, status_, upstream,
                std::chrono::duration_cast<std::chrono::microseconds>(
                    std::chrono::steady_clock::now() - started_),
                request_id_});
  }
  if (upstream_ && response_ && response_->is_done() && response_->get().keep_alive() &&
      request_writer_ && request_writer_->is_done() && !upgrade_) {
    worker_.pool().give_back(std::move(upstream_));
  }
  upstream_.reset();
  if (target_host_) {
    if (target_host_->active_requests > 0) --target_host_->active_requests;
    target_host_.reset();
  }
  if (counted_) {
    counted_ = false;
    worker_.request_finished();
  }
  request_id_.clear();
  origin_.clear();
  if (keep_client_alive && !worker_.draining() && !closed_) {
    do_read_request();
  } else {
    close();
  }
}

}  // namespace dockmaster::net
