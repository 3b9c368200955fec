#include "docker/engine_http.hpp"

#include <array>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <utility>

#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/beast/core/basic_stream.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

namespace dockmaster::docker {

namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using unix_socket = net::local::stream_protocol;
using clock = std::chrono::steady_clock;
using error_code = beast::error_code;

constexpr std::uint64_t max_body_bytes = 64ull * 1024 * 1024;

std::string describe(std::string_view method, const std::string& target) {
  std::string s(method);
  s += ' ';
  s += target;
  return s;
}

// One connection to the engine, its operations run one at a time on a private
// io_context, each bounded by the stream's deadline.
class connection {
 public:
  explicit connection(const std::string& socket_path) : path_(socket_path), stream_(ioc_) {}

  ~connection() {
    error_code ignored;
    stream_.socket().close(ignored);
  }

  // Throws engine_error(0, "cannot reach ...") on failure.
  void connect(clock::time_point deadline) {
    unix_socket::endpoint endpoint;
    try {
      endpoint = unix_socket::endpoint(path_);
    } catch (const std::exception& e) {
      throw engine_error(0, "cannot reach the Docker engine at " + path_ + ": " + e.what());
    }
    stream_.expires_at(deadline);
    error_code result = net::error::operation_aborted;
    stream_.async_connect(endpoint, [&result](error_code ec) { result = ec; });
    drive();
    if (result == beast::error::timeout)
      throw engine_error(0, "cannot reach the Docker engine at " + path_ + ": connecting timed out");
    if (result) throw engine_error(0, "cannot reach the Docker engine at " + path_ + ": " + result.message());
  }

  template <typename Initiate>
  error_code run(clock::time_point deadline, Initiate&& initiate) {
    stream_.expires_at(deadline);
    error_code result = net::error::operation_aborted;
    transferred_ = 0;
    initiate([this, &result](error_code ec, std::size_t n) {
      result = ec;
      transferred_ = n;
    });
    drive();
    return result;
  }

  // Bytes that the last run() operation transferred.
  std::size_t transferred() const { return transferred_; }

  beast::basic_stream<unix_socket>& stream() { return stream_; }
  beast::flat_buffer& buffer() { return buffer_; }
  const std::string& path() const { return path_; }

 private:
  void drive() {
    ioc_.restart();
    ioc_.run();
  }

  std::string path_;
  net::io_context ioc_;
  beast::basic_stream<unix_socket> stream_;
  beast::flat_buffer buffer_;
  std::size_t transferred_ = 0;
};

http::request<http::string_body> make_request(std::string_view method, const std::string& target,
                                               const std::string& body) {
  const http::verb verb = http::string_to_verb(method);
  if (verb == http::verb::unknown) throw engine_error(0, "unknown HTTP method " + std::string(method));
  http::request<http::string_body> req{verb, target, 11};
  req.set(http::field::host, "docker");
  req.set(http::field::user_agent, "dockmaster/" DOCKMASTER_VERSION);
  if (!body.empty()) {
    req.set(http::field::content_type, "application/json");
    req.body() = body;
  }
  req.prepare_payload();
  return req;
}

[[noreturn]] void fail(const connection& c, std::string_view method, const std::string& target,
                       const char* phase, error_code ec, std::chrono::milliseconds timeout) {
  if (ec == beast::error::timeout) {
    throw engine_error(0, describe(method, target) + ": the Docker engine at " + c.path() +
                              " timed out after " + std::to_string(timeout.count()) + " ms (" +
                              phase + ")");
  }
  throw engine_error(0, describe(method, target) + ": " + phase + " failed on the Docker engine at " +
                            c.path() + ": " + ec.message());
}

std::chrono::milliseconds until(clock::time_point deadline) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now());
}

}  // namespace

std::string percent_encode(std::string_view text) {
  static const char hex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (const char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '.' || c == '_' || c == '~') {
      out += ch;
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 0x0f];
    }
  }
  return out;
}

engine_response engine_request(const std::string& socket_path, std::string_view method,
                               const std::string& target, const std::string& body,
                               std::chrono::milliseconds timeout) {
  const auto deadline = clock::now() + timeout;
  auto req = make_request(method, target, body);
  connection c(socket_path);
  c.connect(deadline);

  error_code ec = c.run(deadline, [&](auto handler) { http::async_write(c.stream(), req, handler); });
  if (ec) fail(c, method, target, "sending the request", ec, timeout);

  http::response_parser<http::string_body> parser;
  parser.body_limit(max_body_bytes);
  ec = c.run(deadline, [&](auto handler) { http::async_read(c.stream(), c.buffer(), parser, handler); });
  if (ec) fail(c, method, target, "reading the answer", ec, timeout);

  auto& res = parser.get();
  engine_response out;
  out.status = static_cast<int>(res.result_int());
  out.reason = std::string(res.reason());
  out.content_type = std::string(res[http::field::content_type]);
  out.body = std::move(res.body());
  return out;
}

engine_stream_result engine_stream(const std::string& socket_path, std::string_view method,
                                   const std::string& target, const std::string& body,
                                   clock::time_point header_deadline, clock::time_point body_deadline,
                                   const std::function<void(std::string_view)>& on_data) {
  const auto header_timeout = until(header_deadline);
  auto req = make_request(method, target, body);
  connection c(socket_path);
  c.connect(header_deadline);

  engine_stream_result out;
  error_code ec = c.run(header_deadline, [&](auto handler) { http::async_write(c.stream(), req, handler); });
  if (ec == beast::error::timeout) {
    out.header_timed_out = true;
    return out;
  }
  if (ec) fail(c, method, target, "sending the request", ec, header_timeout);

  http::response_parser<http::buffer_body> parser;
  // An exec's output has no size limit: only its tail is kept. (Not boost::none: Boost
  // 1.74 compares a Content-Length against it and always finds it exceeded.)
  parser.body_limit(std::numeric_limits<std::uint64_t>::max());
  ec = c.run(header_deadline,
             [&](auto handler) { http::async_read_header(c.stream(), c.buffer(), parser, handler); });
  if (ec == beast::error::timeout) {
    out.header_timed_out = true;
    return out;
  }
  if (ec) fail(c, method, target, "reading the answer", ec, header_timeout);

  const auto& header = parser.get();
  out.status = static_cast<int>(header.result_int());
  out.reason = std::string(header.reason());

  if (out.status == 101) {
    // Upgraded: the raw stream follows the header, starting with what is buffered.
    auto& buf = c.buffer();
    if (buf.size() > 0) {
      on_data(std::string_view(static_cast<const char*>(buf.data().data()), buf.size()));
      buf.consume(buf.size());
    }
    std::array<char, 16384> chunk;
    for (;;) {
      ec = c.run(body_deadline, [&](auto handler) { c.stream().async_read_some(net::buffer(chunk), handler); });
      const std::size_t got = c.transferred();
      if (got > 0) on_data(std::string_view(chunk.data(), got));
      if (ec == beast::error::timeout) out.body_timed_out = true;
      if (ec) break;
    }
    return out;
  }

  if (out.status < 200 || out.status > 299) {
    http::response_parser<http::string_body> error_parser(std::move(parser));
    error_parser.body_limit(max_body_bytes);
    ec = c.run(header_deadline,
               [&](auto handler) { http::async_read(c.stream(), c.buffer(), error_parser, handler); });
    out.error_body = std::move(error_parser.get().body());
    return out;
  }

  std::array<char, 16384> chunk;
  while (!parser.is_done()) {
    parser.get().body().data = chunk.data();
    parser.get().body().size = chunk.size();
    ec = c.run(body_deadline,
               [&](auto handler) { http::async_read_some(c.stream(), c.buffer(), parser, handler); });
    const std::size_t got = chunk.size() - parser.get().body().size;
    if (got > 0) on_data(std::string_view(chunk.data(), got));
    if (ec == http::error::need_buffer) continue;
    if (ec == beast::error::timeout) out.body_timed_out = true;
    if (ec) break;
  }
  return out;
}

}  // namespace dockmaster::docker
