#include "net/client_session.hpp"

#include <array>
#include <limits>

#include <boost/asio/write.hpp>
#include <boost/beast/core/bind_handler.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/websocket/rfc6455.hpp>

#include "net/cors.hpp"
#include "net/header_rewrite.hpp"
#include "net/http_text.hpp"
#include "net/http_wire.hpp"
#include "net/logging.hpp"

namespace dockmaster::net {

namespace beast = boost::beast;
namespace http = beast::http;
namespace asio = boost::asio;

namespace {

/// Size of one piece of a relayed body.
constexpr std::size_t body_piece_size = proxy_worker::body_buffer_size;

/// A response that has no body by definition, whatever its headers say.
bool bodiless(unsigned status, bool head_request) {
  return head_request || status / 100 == 1 || status == 204 || status == 304;
}

const char* failure_name(int what) {
  static const char* names[] = {"connect", "connect timeout", "send", "no response",
                                "response timeout"};
  return names[what];
}

std::string endpoint_text(const asio::ip::tcp::endpoint& endpoint) {
  return endpoint.address().to_string() + ":" + std::to_string(endpoint.port());
}

}  // namespace

client_session::client_session(proxy_worker& worker, asio::ip::tcp::socket socket)
    : worker_(worker), client_(std::move(socket)) {
  beast::error_code ec;
  auto peer = client_.remote_endpoint(ec);
  client_address_ = ec ? "-" : peer.address().to_string();
  client_.set_option(asio::ip::tcp::no_delay(true), ec);
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
  client_deadline_ = upstream_deadline_ = clock::time_point::max();
  beast::error_code ec;
  client_.shutdown(asio::ip::tcp::socket::shutdown_both, ec);
  client_.close(ec);
  if (upstream_) upstream_->socket.close(ec);
}

void client_session::arm_client(std::chrono::milliseconds timeout) {
  client_deadline_ = clock::now() + timeout;
  upstream_deadline_ = clock::time_point::max();
}

void client_session::arm_upstream(std::chrono::milliseconds timeout) {
  upstream_deadline_ = clock::now() + timeout;
  client_deadline_ = clock::time_point::max();
}

void client_session::check_deadlines(clock::time_point now) {
  if (now >= upstream_deadline_) {
    upstream_deadline_ = clock::time_point::max();
    upstream_timed_out_ = true;
    beast::error_code ignored;
    if (upstream_) upstream_->socket.close(ignored);  // its pending operation fails now
  }
  // A connection that has started a new request header gets the header timeout, not
  // what is left of the idle one.
  if (idle_ && buffer_.size() > 0) {
    idle_ = false;
    client_deadline_ = std::min(client_deadline_, now + worker_.settings().timeouts.client_header);
  }
  if (now >= client_deadline_) close();
}

char* client_session::body_buffer() {
  if (!body_buffer_) body_buffer_ = worker_.take_body_buffer();
  return body_buffer_.get();
}

// -- reading and routing ---------------------------------------------------------

void client_session::do_read_request() {
  const auto& settings = worker_.settings();
  request_.emplace();
  request_->header_limit(static_cast<std::uint32_t>(settings.limits.max_header_bytes));
  request_->body_limit(settings.limits.max_body_bytes);
  response_.reset();
  route_ = nullptr;
  status_ = 0;
  body_started_ = false;
  upgrade_ = false;
  request_sent_ = response_sent_ = false;
  tried_.clear();
  target_host_.reset();
  // A connection between requests waits up to the idle timeout; one that has sent
  // part of a header gets the header timeout.
  idle_ = buffer_.size() == 0;
  arm_client(idle_ ? settings.timeouts.client_idle : settings.timeouts.client_header);
  http::async_read_header(client_, buffer_, *request_,
                          beast::bind_front_handler(&client_session::on_read_request,
                                                    shared_from_this()));
}

void client_session::on_read_request(beast::error_code ec, std::size_t) {
  idle_ = false;
  if (closed_) return;
  if (ec) {
    if (ec == http::error::end_of_stream || ec == asio::error::eof ||
        ec == asio::error::connection_reset || ec == asio::error::operation_aborted ||
        (buffer_.size() == 0 && ec == http::error::partial_message)) {
      close();
      return;
    }
    started_ = clock::now();
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
  started_ = clock::now();
  worker_.request_started();
  counted_ = true;
  auto& request = request_->get();
  method_ = std::string(request.method_string());
  target_ = std::string(request.target());
  // The parser's flag, set while parsing: no lookup in the fields.
  client_keep_alive_ = request_->keep_alive() && !worker_.draining();
  client_version_ = request.version();
  route_request();
}

void client_session::route_request() {
  auto& request = request_->get();
  const auto& settings = worker_.settings();
  // Host, Origin and Expect in one walk over the fields rather than a lookup each.
  std::string_view host;
  std::string_view expect;
  origin_.clear();
  for (const auto& field : request) {
    switch (field.name()) {
      case http::field::host:
        host = field.value();
        break;
      case http::field::origin:
        origin_ = std::string(field.value());
        break;
      case http::field::expect:
        expect = field.value();
        break;
      default:
        break;
    }
  }
  route_ = settings.routes.match(host, request.target());
  traffic_ = nullptr;
  if (!settings.status_path.empty() && request.target() == settings.status_path &&
      request.method() == http::verb::get) {
    const auto& status = worker_.status_json();
    answer(http::status::ok, status ? *status : std::string("{}"));
    return;
  }
  if (settings.cors.enabled() && cors_responder::is_preflight(request)) {
    answer_preflight();
    return;
  }
  if (!route_) {
    answer_error(http::status::not_found, "no route for this path");
    return;
  }
  traffic_ = worker_.traffic_of(route_->service);
  // The parser flags Connection: upgrade plus an Upgrade field; only then is it worth
  // checking for a WebSocket handshake.
  upgrade_ = request_->upgrade() && beast::websocket::is_upgrade(request);
  forwarding_info info{client_address_, "http"};
  request_id_ = prepare_upstream_request(request, info, upgrade_);
  if (route_->strip_prefix) request.target(route_table::upstream_target(*route_, target_));
  if (!expect.empty() && iequals_ascii(expect, "100-continue")) {
    // The upstream gets the body right away, so the client gets its 100 from us now
    // instead of waiting (curl waits 1 s) before it sends a large body.
    request.erase(http::field::expect);
    if (!request_->is_done()) {
      static const std::string continue_line = "HTTP/1.1 100 Continue\r\n\r\n";
      beast::error_code ignored;
      asio::write(client_, asio::buffer(continue_line), ignored);
    }
  }
  try_next_upstream();
}

// -- answers made by the manager ---------------------------------------------------

void client_session::answer(http::status status, std::string body, std::string_view content_type) {
  status_ = static_cast<unsigned>(status);
  // An unread request body would be taken for the next request: close instead.
  if (!request_ || !request_->is_header_done() || !request_->is_done())
    client_keep_alive_ = false;
  auto response = std::make_shared<http::response<http::string_body>>(status, 11);
  response->set(http::field::server, "dockmaster");
  if (!body.empty()) response->set(http::field::content_type, content_type);
  if (!request_id_.empty()) response->set("X-Request-Id", request_id_);
  if (!origin_.empty()) worker_.settings().cors.decorate(origin_, response->base());
  response->body() = std::move(body);
  response->keep_alive(client_keep_alive_);
  response->prepare_payload();
  arm_client(worker_.settings().timeouts.client_idle);
  http::async_write(client_, *response,
                    [self = shared_from_this(), response](beast::error_code ec, std::size_t) {
                      if (self->closed_) return;
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
  if (!request_->is_done()) client_keep_alive_ = false;
  auto response = std::make_shared<http::response<http::empty_body>>();
  response->version(11);
  worker_.settings().cors.answer_preflight(request_->get(), response->base());
  response->set(http::field::server, "dockmaster");
  response->keep_alive(client_keep_alive_);
  status_ = response->result_int();
  arm_client(worker_.settings().timeouts.client_idle);
  http::async_write(client_, *response,
                    [self = shared_from_this(), response](beast::error_code ec, std::size_t) {
                      if (self->closed_) return;
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
  upstream_timed_out_ = false;
  auto target = worker_.pick(route_->service, tried_);
  if (!target) {
    if (tried_.empty()) {
      // Told apart only here, off the path of a request that finds an instance.
      answer_error(http::status::service_unavailable, worker_.has_targets(route_->service)
                                                          ? "no healthy instance"
                                                          : "service has no instance");
    } else if (last_failure_ == failure::connect_timeout ||
               last_failure_ == failure::response_timeout) {
      answer_error(http::status::gateway_timeout, "upstream timed out");
    } else {
      answer_error(http::status::bad_gateway, "upstream connection failed");
    }
    return;
  }
  if (!tried_.empty() && traffic_) ++traffic_->upstream_retries;
  tried_.push_back(target);
  target_host_ = target;
  ++target->active_requests;
  // A pooled connection first; an upgrade always gets a connection of its own. Before
  // a request that could not be sent again (a body, a non-idempotent method), make sure
  // the pooled one is still open.
  if (!upgrade_)
    upstream_ = worker_.pool().take(target->endpoint, !request_->is_done() || !idempotent());
  if (upstream_) {
    start_sending();
    return;
  }
  upstream_ = std::make_unique<upstream_connection>(worker_.io());
  upstream_->endpoint = target->endpoint;
  arm_upstream(worker_.settings().timeouts.connect);
  upstream_->socket.async_connect(
      target->endpoint,
      beast::bind_front_handler(&client_session::on_connect, shared_from_this()));
}

client_session::failure client_session::upstream_failure(failure otherwise) const {
  if (!upstream_timed_out_) return otherwise;
  return otherwise == failure::connect ? failure::connect_timeout : failure::response_timeout;
}

void client_session::on_connect(beast::error_code ec) {
  if (closed_) return;
  if (ec) {
    upstream_failed(upstream_failure(failure::connect), ec);
    return;
  }
  beast::error_code ignored;
  upstream_->socket.set_option(asio::ip::tcp::no_delay(true), ignored);
  start_sending();
}

template <class Handler>
void client_session::write_piece(asio::ip::tcp::socket& to, std::size_t size, bool last,
                                 bool chunked, Handler&& handler) {
  static constexpr char crlf[] = "\r\n";
  chunk_line_.clear();
  if (chunked && size > 0) append_chunk_size(size, chunk_line_);
  std::array<asio::const_buffer, 5> pieces{
      asio::buffer(head_),
      asio::buffer(chunk_line_),
      asio::buffer(body_buffer_.get(), body_buffer_ ? size : 0),
      asio::buffer(crlf, chunked && size > 0 ? 2 : 0),
      asio::buffer(last_chunk, chunked && last ? sizeof last_chunk - 1 : 0),
  };
  asio::async_write(to, pieces, std::forward<Handler>(handler));
}

void client_session::start_sending() {
  head_.clear();
  append_request_head(request_->get(), head_);
  if (request_->is_done())
    write_request_piece(0, true);
  else
    read_request_body();  // the head goes out together with the first piece
}

void client_session::read_request_body() {
  auto& body = request_->get().body();
  body.data = body_buffer();
  body.size = body_piece_size;
  body_started_ = true;
  arm_client(worker_.settings().timeouts.client_header);
  http::async_read(client_, buffer_, *request_,
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
  write_request_piece(body_piece_size - request_->get().body().size, request_->is_done());
}

void client_session::write_request_piece(std::size_t size, bool last) {
  arm_upstream(worker_.settings().timeouts.upstream_response);
  write_piece(upstream_->socket, size, last, request_->get().chunked(),
              beast::bind_front_handler(&client_session::on_request_piece_written,
                                        shared_from_this()));
}

void client_session::on_request_piece_written(beast::error_code ec, std::size_t) {
  if (closed_) return;
  if (ec) {
    upstream_failed(upstream_failure(failure::send), ec);
    return;
  }
  head_.clear();
  if (request_->is_done()) {
    request_sent_ = true;
    read_response_header();
  } else {
    read_request_body();
  }
}

void client_session::read_response_header() {
  response_.emplace();
  // Not boost::none: Beast 1.74 compares a Content-Length against an empty optional
  // and reports body_limit for every response.
  response_->body_limit(std::numeric_limits<std::uint64_t>::max());
  if (request_->get().method() == http::verb::head) response_->skip(true);
  arm_upstream(worker_.settings().timeouts.upstream_response);
  http::async_read_header(upstream_->socket, upstream_->buffer, *response_,
                          beast::bind_front_handler(&client_session::on_response_header,
                                                    shared_from_this()));
}

void client_session::on_response_header(beast::error_code ec, std::size_t) {
  if (closed_) return;
  if (ec) {
    upstream_failed(upstream_failure(failure::no_response), ec);
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
  // The parser's view: its flags, set while parsing, need no lookup in the fields.
  upstream_keep_alive_ = response_->keep_alive();
  const bool upstream_chunked = response_->chunked();
  const bool has_length = response_->content_length().has_value();
  prepare_client_response(response);
  if (!origin_.empty()) worker_.settings().cors.decorate(origin_, response);
  add_request_id_unless_present(response, request_id_);
  unsigned client_version = client_version_;
  response.version(client_version);
  response_has_body_ = !bodiless(status_, request_->get().method() == http::verb::head);
  client_chunked_ = false;
  if (response_has_body_) {
    bool delimited = upstream_chunked || has_length;
    if (client_version >= 11 && (upstream_chunked || !delimited)) {
      // A body that ends when the upstream closes reaches an HTTP/1.1 client chunked,
      // so the client connection stays reusable.
      if (!delimited) response.chunked(true);
      client_chunked_ = true;
    } else if (upstream_chunked || !delimited) {
      // HTTP/1.0 has no chunked encoding: send the body raw and end it by closing.
      response.chunked(false);
      client_keep_alive_ = false;
    }
  }
  if (upgrade_) client_keep_alive_ = false;  // refused upgrade: do not reuse either side
  if (worker_.draining()) client_keep_alive_ = false;  // tell the client this is the last one
  response.keep_alive(client_keep_alive_);
  head_.clear();
  append_response_head(response, head_);
  if (!response_has_body_ || response_->is_done())
    write_response_piece(0, true);
  else
    read_response_body();
}

void client_session::read_response_body() {
  auto& body = response_->get().body();
  body.data = body_buffer();
  body.size = body_piece_size;
  arm_upstream(worker_.settings().timeouts.upstream_response);
  http::async_read(upstream_->socket, upstream_->buffer, *response_,
                   beast::bind_front_handler(&client_session::on_response_body,
                                             shared_from_this()));
}

void client_session::on_response_body(beast::error_code ec, std::size_t) {
  if (closed_) return;
  if (ec == http::error::need_buffer) ec = {};
  if (ec) {
    bool timed_out = upstream_timed_out_;
    event_log().warn("upstream {} failed mid-response ({}){}", endpoint_text(upstream_->endpoint),
                     timed_out ? "timeout" : ec.message(),
                     head_.empty() ? ", closing client " + client_address_ : std::string());
    if (!tried_.empty()) report_failure(*tried_.back(), failure::no_response);
    upstream_.reset();
    if (!head_.empty()) {
      // Nothing has gone to the client yet (the head waits for the first piece of
      // body): it gets a clean 502 or 504 instead of a cut response.
      head_.clear();
      answer_error(timed_out ? http::status::gateway_timeout : http::status::bad_gateway,
                   timed_out ? "upstream timed out" : "upstream closed the connection mid-response");
      return;
    }
    // The status line has gone out: all that is left is to cut the connection, so
    // the client sees an incomplete response.
    finish_request(false);
    return;
  }
  write_response_piece(body_piece_size - response_->get().body().size, response_->is_done());
}

void client_session::write_response_piece(std::size_t size, bool last) {
  arm_client(worker_.settings().timeouts.client_idle);
  write_piece(client_, size, last && response_has_body_, client_chunked_,
              beast::bind_front_handler(&client_session::on_response_piece_written,
                                        shared_from_this()));
}

void client_session::on_response_piece_written(beast::error_code ec, std::size_t) {
  if (closed_) return;
  if (ec) {
    upstream_.reset();  // the rest of the response is unread: not reusable
    status_ = 499;
    finish_request(false);
    return;
  }
  head_.clear();
  if (!response_has_body_ || response_->is_done()) {
    response_sent_ = true;
    finish_request(client_keep_alive_);
  } else {
    read_response_body();
  }
}

void client_session::report_failure(upstream_target& target, failure what) {
  const auto& report = worker_.settings().on_upstream_failure;
  if (!report) return;
  // At most one report per instance and thread in this time: the watcher probes at
  // once on the first, and later ones would only queue behind that probe.
  constexpr auto min_gap = std::chrono::milliseconds(100);
  auto now = clock::now();
  if (now - target.last_failure_report < min_gap) return;
  target.last_failure_report = now;
  report(route_->service, target.endpoint, failure_name(static_cast<int>(what)));
}

void client_session::upstream_failed(failure what, beast::error_code ec) {
  last_failure_ = what;
  bool reused = upstream_ && upstream_->reused;
  event_log().warn("upstream {} of service {} failed ({}): {}",
                   upstream_ ? endpoint_text(upstream_->endpoint) : std::string("-"),
                   route_->service, failure_name(static_cast<int>(what)), ec.message());
  upstream_.reset();
  bool nothing_sent = what == failure::connect || what == failure::connect_timeout;
  if (nothing_sent && traffic_) ++traffic_->upstream_connect_failures;
  if (!(reused && !nothing_sent) && !tried_.empty()) report_failure(*tried_.back(), what);
  // Whether the upstream processed it is unknown: only an idempotent request whose
  // body was not consumed may go again (a stale pooled connection was checked before
  // any other request went out on it).
  bool replayable = !body_started_ && idempotent();
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
  head_.clear();
  append_response_head(response, head_);
  if (worker_.settings().access_log)
    log_access({client_address_, method_, target_, status_, endpoint_text(upstream_->endpoint),
                std::chrono::duration_cast<std::chrono::microseconds>(clock::now() - started_),
                request_id_});
  count_answered();
  if (counted_) {
    counted_ = false;  // a tunnel is not a request in flight: drain does not wait for it
    worker_.request_finished();
  }
  arm_client(worker_.settings().timeouts.client_idle);
  asio::async_write(client_, asio::buffer(head_), [self = shared_from_this()](beast::error_code ec,
                                                                             std::size_t) {
    if (self->closed_) return;
    if (ec) {
      self->close();
      return;
    }
    // A tunnel stays open as long as its two ends want it.
    self->client_deadline_ = self->upstream_deadline_ = clock::time_point::max();
    self->tunnel_open_directions_ = 2;
    // Bytes that arrived behind the heads belong to the tunnel.
    auto forward_leftover = [self](beast::flat_buffer& from, asio::ip::tcp::socket& to,
                                   bool to_upstream) {
      if (from.size() == 0) {
        self->pump(to_upstream);
        return;
      }
      asio::async_write(to, from.data(), [self, &from, to_upstream](beast::error_code ec,
                                                                    std::size_t n) {
        from.consume(n);
        if (ec) {
          self->close();
          return;
        }
        self->pump(to_upstream);
      });
    };
    forward_leftover(self->buffer_, self->upstream_->socket, true);
    forward_leftover(self->upstream_->buffer, self->client_, false);
  });
}

void client_session::pump(bool to_upstream) {
  auto& from = to_upstream ? client_ : upstream_->socket;
  auto& to = to_upstream ? upstream_->socket : client_;
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
          to.shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
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

void client_session::count_answered() {
  if (!traffic_ || status_ == 0) return;
  ++traffic_->requests[static_cast<std::size_t>(messages::class_of(status_))];
  traffic_ = nullptr;  // once per request
}

void client_session::finish_request(bool keep_client_alive) {
  count_answered();
  if (status_ != 0 && worker_.settings().access_log) {
    std::string upstream = target_host_ ? endpoint_text(target_host_->endpoint) : "-";
    log_access({client_address_, method_, target_, status_, upstream,
                std::chrono::duration_cast<std::chrono::microseconds>(clock::now() - started_),
                request_id_});
  }
  if (upstream_ && request_sent_ && response_sent_ && upstream_keep_alive_ && !upgrade_ &&
      worker_.serves(upstream_->endpoint))
    worker_.pool().give_back(std::move(upstream_));
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
  worker_.give_back_body_buffer(std::move(body_buffer_));
  if (buffer_.size() == 0) buffer_.shrink_to_fit();  // an idle connection holds no buffer
  if (keep_client_alive && !worker_.draining() && !closed_)
    do_read_request();
  else
    close();
}

}  // namespace dockmaster::net
