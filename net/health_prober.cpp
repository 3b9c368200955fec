#include "net/health_prober.hpp"

#include <pthread.h>

#include <limits>
#include <optional>
#include <string_view>
#include <thread>
#include <utility>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/bind_handler.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>

#include "net/logging.hpp"

namespace dockmaster::net {

namespace beast = boost::beast;
namespace http = beast::http;
namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

using clock = std::chrono::steady_clock;

/// A health endpoint answers with a few bytes; more than this is not read.
constexpr std::uint64_t max_body_bytes = 64 * 1024;
constexpr std::uint32_t max_header_bytes = 16 * 1024;

/// RFC 9110 tchar: what a method may be made of.
bool is_token(std::string_view text) {
  if (text.empty()) return false;
  for (unsigned char c : text) {
    bool alnum = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    if (!alnum && std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) == std::string_view::npos)
      return false;
  }
  return true;
}

/// No control character (CR and LF above all) and, unless allowed, no space: what may
/// go into the request line or a header value as it is.
bool is_plain(std::string_view text, bool spaces_allowed) {
  for (unsigned char c : text)
    if (c < 0x20 || c == 0x7f || (c == ' ' && !spaces_allowed)) return false;
  return true;
}

/// For details: control characters (a CR LF above all) shown as '?'.
std::string printable(std::string_view text) {
  std::string out(text);
  for (auto& c : out)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
  return out;
}

/// A parse error of Beast's HTTP parser (bad version, bad status, bad chunk, ...).
bool is_parse_error(const beast::error_code& ec) {
  return ec.category() == http::make_error_code(http::error::bad_version).category();
}

/// A probe's verdict with what was seen.
struct verdict {
  probe_verdict kind;
  std::string detail;
};

verdict connect_failure(const beast::error_code& ec) {
  if (ec == asio::error::connection_refused) return {probe_verdict::refused, "connection refused"};
  if (ec == asio::error::connection_reset) return {probe_verdict::closed, "connection reset"};
  if (ec == asio::error::network_unreachable) return {probe_verdict::error, "network unreachable"};
  if (ec == asio::error::host_unreachable) return {probe_verdict::error, "host unreachable"};
  if (ec == asio::error::timed_out) return {probe_verdict::timeout, "connect timed out"};
  return {probe_verdict::error, "connect failed: " + ec.message()};
}

verdict body_failure(const beast::error_code& ec) {
  if (ec == http::error::body_limit)
    return {probe_verdict::body_mismatch,
            "response body larger than " + std::to_string(max_body_bytes / 1024) + " KiB"};
  if (ec == http::error::partial_message || ec == http::error::end_of_stream || ec == asio::error::eof)
    return {probe_verdict::closed, "connection closed in the middle of the response body"};
  if (ec == asio::error::connection_reset)
    return {probe_verdict::closed, "connection reset in the middle of the response body"};
  if (is_parse_error(ec)) return {probe_verdict::malformed, "malformed response body: " + ec.message()};
  return {probe_verdict::error, "reading the response body failed: " + ec.message()};
}

verdict header_failure(const beast::error_code& ec) {
  if (ec == http::error::end_of_stream || ec == asio::error::eof)
    return {probe_verdict::closed, "connection closed before a response"};
  if (ec == http::error::partial_message)
    return {probe_verdict::closed, "connection closed in the middle of the response header"};
  if (ec == asio::error::connection_reset)
    return {probe_verdict::closed, "connection reset before a response"};
  if (ec == http::error::body_limit) return body_failure(ec);
  if (ec == http::error::header_limit)
    return {probe_verdict::malformed,
            "response header larger than " + std::to_string(max_header_bytes / 1024) + " KiB"};
  if (is_parse_error(ec)) return {probe_verdict::malformed, "malformed response: " + ec.message()};
  return {probe_verdict::error, "reading the response failed: " + ec.message()};
}

/// One probe, from connect to verdict. Owned by the handlers of its pending operations
/// (shared_ptr), so it lives exactly as long as it has work; the deadline closes the
/// socket, which makes whatever is pending complete at once.
class probe_run : public std::enable_shared_from_this<probe_run> {
 public:
  probe_run(asio::io_context& io, probe_target target, config::health_config health,
            std::function<void(probe_outcome)> done)
      : socket_(io),
        deadline_(io),
        target_(std::move(target)),
        health_(std::move(health)),
        done_(std::move(done)) {}

  void start() {
    started_ = clock::now();
    if (health_.kind == config::probe_kind::none) {
      finish({probe_verdict::passed, "no probe configured"});
      return;
    }
    std::string_view text = target_.address;
    if (text.size() >= 2 && text.front() == '[' && text.back() == ']') text = text.substr(1, text.size() - 2);
    beast::error_code ec;
    auto address = asio::ip::make_address(std::string(text), ec);
    if (ec) {
      finish({probe_verdict::error, "invalid address \"" + printable(target_.address) + "\""});
      return;
    }
    if (health_.kind == config::probe_kind::http && !build_request(address)) return;

    deadline_.expires_after(health_.timeout);
    deadline_.async_wait([self = shared_from_this()](beast::error_code ec) {
      if (!ec) self->on_deadline();
    });
    socket_.async_connect(tcp::endpoint(address, target_.port),
                          beast::bind_front_handler(&probe_run::on_connect, shared_from_this()));
  }

 private:
  /// Fills request_; on a method, path or Host that cannot be sent, finishes the probe
  /// and returns false.
  bool build_request(const asio::ip::address& address) {
    const auto& http_config = health_.http;
    std::string host;
    if (!http_config.host.empty())
      host = http_config.host;
    else if (!target_.host_header.empty())
      host = target_.host_header;
    else
      host = (address.is_v6() ? "[" + address.to_string() + "]" : address.to_string()) + ":" +
             std::to_string(target_.port);
    if (!is_token(http_config.method)) {
      finish({probe_verdict::error, "invalid probe method \"" + printable(http_config.method) + "\""});
      return false;
    }
    if (http_config.path.empty() || !is_plain(http_config.path, false)) {
      finish({probe_verdict::error, "invalid probe path \"" + printable(http_config.path) + "\""});
      return false;
    }
    if (!is_plain(host, true)) {
      finish({probe_verdict::error, "invalid probe Host \"" + printable(host) + "\""});
      return false;
    }
    head_request_ = http_config.method == "HEAD";
    request_.reserve(96 + http_config.method.size() + http_config.path.size() + host.size());
    request_.append(http_config.method).append(" ").append(http_config.path).append(" HTTP/1.1\r\n");
    request_.append("Host: ").append(host).append("\r\n");
    request_.append("User-Agent: dockmaster-health\r\nConnection: close\r\n\r\n");
    return true;
  }

  void on_connect(beast::error_code ec) {
    if (finished_) return;
    if (ec) {
      finish(connect_failure(ec));
      return;
    }
    if (health_.kind == config::probe_kind::tcp) {
      finish({probe_verdict::passed, "connected"});
      return;
    }
    asio::async_write(socket_, asio::buffer(request_),
                      beast::bind_front_handler(&probe_run::on_written, shared_from_this()));
  }

  void on_written(beast::error_code ec, std::size_t) {
    if (finished_) return;
    if (ec) {
      if (ec == asio::error::connection_reset || ec == asio::error::broken_pipe)
        finish({probe_verdict::closed, "connection closed before the request was sent"});
      else
        finish({probe_verdict::error, "sending the request failed: " + ec.message()});
      return;
    }
    parser_.emplace();
    parser_->header_limit(max_header_bytes);
    // No body limit for the header: a Content-Length over it would fail the header read
    // before the status is known, even when the body is not wanted. The limit is set
    // once the body is read. A number, never boost::none: Beast 1.74 compares a
    // Content-Length against an empty optional and reports body_limit for every response.
    parser_->body_limit(std::numeric_limits<std::uint64_t>::max());
    if (head_request_) parser_->skip(true);
    http::async_read_header(socket_, buffer_, *parser_,
                            beast::bind_front_handler(&probe_run::on_header, shared_from_this()));
  }

  void on_header(beast::error_code ec, std::size_t) {
    if (finished_) return;
    if (ec) {
      finish(header_failure(ec));
      return;
    }
    const auto& http_config = health_.http;
    unsigned status = parser_->get().result_int();
    if (status < http_config.status_min || status > http_config.status_max) {
      finish({probe_verdict::http_status, "HTTP " + std::to_string(status) + " (expected " +
                                              std::to_string(http_config.status_min) + "-" +
                                              std::to_string(http_config.status_max) + ")"});
      return;
    }
    if (http_config.body_contains.empty()) {
      finish({probe_verdict::passed, "HTTP " + std::to_string(status)});  // the body is not needed
      return;
    }
    if (parser_->is_done()) {
      judge_body();
      return;
    }
    // Checked here, as string_body would reserve the announced length at once.
    auto length = parser_->content_length();
    if (length && *length > max_body_bytes) {
      finish(body_failure(http::error::body_limit));
      return;
    }
    parser_->body_limit(max_body_bytes);  // for chunked and close-delimited bodies
    http::async_read(socket_, buffer_, *parser_,
                     beast::bind_front_handler(&probe_run::on_body, shared_from_this()));
  }

  void on_body(beast::error_code ec, std::size_t) {
    if (finished_) return;
    if (ec) {
      finish(body_failure(ec));
      return;
    }
    judge_body();
  }

  void judge_body() {
    const auto& wanted = health_.http.body_contains;
    if (parser_->get().body().find(wanted) == std::string::npos)
      finish({probe_verdict::body_mismatch, "body does not contain \"" + wanted + "\""});
    else
      finish({probe_verdict::passed, "HTTP " + std::to_string(parser_->get().result_int())});
  }

  void on_deadline() {
    finish({probe_verdict::timeout, "timeout after " + std::to_string(health_.timeout.count()) + " ms"});
  }

  void finish(verdict result) {
    if (finished_) return;
    finished_ = true;
    deadline_.cancel();
    beast::error_code ignored;
    // Closed with a reset (linger 0), as HAProxy closes its checks: no FIN exchange and
    // no TIME_WAIT socket left behind per probe, which at 1,000 probes a second is most
    // of the prober's cost. The probe has its answer by now; the server loses nothing.
    if (socket_.is_open()) socket_.set_option(asio::socket_base::linger(true, 0), ignored);
    socket_.close(ignored);  // a pending connect, write or read completes with an error
    probe_outcome outcome;
    outcome.verdict = result.kind;
    outcome.passed = result.kind == probe_verdict::passed;
    outcome.detail = std::move(result.detail);
    outcome.duration = std::chrono::duration_cast<std::chrono::microseconds>(clock::now() - started_);
    auto done = std::move(done_);
    done_ = nullptr;
    if (done) done(std::move(outcome));
  }

  tcp::socket socket_;
  asio::steady_timer deadline_;
  probe_target target_;
  config::health_config health_;
  std::function<void(probe_outcome)> done_;
  std::string request_;
  beast::flat_buffer buffer_;
  std::optional<http::response_parser<http::string_body>> parser_;
  clock::time_point started_;
  bool head_request_ = false;
  bool finished_ = false;
};

}  // namespace

struct health_prober::impl {
  asio::io_context io{1};
  asio::executor_work_guard<asio::io_context::executor_type> work{io.get_executor()};
  std::thread thread;
  /// Set when the prober was destroyed from one of its callbacks: the thread then owns
  /// this state and deletes it once the callback has returned. Prober thread only.
  bool orphaned = false;
};

health_prober::health_prober() : impl_(std::make_unique<impl>()) {
  impl_->thread = std::thread([state = impl_.get()] {
    for (;;) {
      // A callback that throws must not end the probing of every other instance; run()
      // may be called again after a handler threw.
      try {
        state->io.run();
        break;
      } catch (const std::exception& e) {
        event_log().error("health probe callback threw: {}", e.what());
      } catch (...) {
        event_log().error("health probe callback threw");
      }
    }
    if (state->orphaned) delete state;
  });
  // Named here rather than by the thread itself, so the name is there on return (top,
  // /proc/PID/task/*/comm).
  pthread_setname_np(impl_->thread.native_handle(), "dm-prober");
}

health_prober::~health_prober() {
  impl_->work.reset();
  impl_->io.stop();
  if (std::this_thread::get_id() == impl_->thread.get_id()) {
    // Inside a callback: joining would deadlock, and freeing the io_context would pull
    // it from under the running handler. The thread frees it once run() has returned.
    impl_->orphaned = true;
    impl_->thread.detach();
    static_cast<void>(impl_.release());
    return;
  }
  impl_->thread.join();
  // impl_ goes now: ~io_context destroys the handlers that never ran, and with them
  // the probes they own (sockets closed, callbacks dropped without being called).
}

void health_prober::probe(const probe_target& target, const config::health_config& health,
                          std::function<void(probe_outcome)> done) {
  asio::post(impl_->io, [io = &impl_->io, target, health, done = std::move(done)]() mutable {
    std::make_shared<probe_run>(*io, std::move(target), std::move(health), std::move(done))->start();
  });
}

}  // namespace dockmaster::net
