#include "support/http_client.hpp"

#include <limits>
#include <memory>
#include <stdexcept>

#include <boost/asio/connect.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>

namespace dockmaster::test {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;

request make_request(http::verb method, std::string target, std::string host) {
  request req{method, target, 11};
  req.set(http::field::host, host);
  req.set(http::field::user_agent, "dockmaster-tests");
  return req;
}

http_client::http_client(std::uint16_t port, std::string address, std::chrono::milliseconds timeout)
    : port_(port), address_(std::move(address)), timeout_(timeout), socket_(io_) {}

http_client::~http_client() { close(); }

http_client::error_code http_client::connect() {
  close();
  buffer_.consume(buffer_.size());
  tcp::endpoint endpoint(asio::ip::make_address(address_), port_);
  auto ec = run([&](auto handler) { socket_.async_connect(endpoint, std::move(handler)); });
  if (ec) {
    close();
    return ec;
  }
  ++connections_opened_;
  error_code ignored;
  socket_.set_option(tcp::no_delay(true), ignored);
  return {};
}

void http_client::close() {
  error_code ignored;
  if (socket_.is_open()) {
    socket_.shutdown(tcp::socket::shutdown_both, ignored);
    socket_.close(ignored);
  }
}

void http_client::ensure_connected() {
  if (socket_.is_open()) return;
  if (auto ec = connect()) throw std::runtime_error("connect to port " + std::to_string(port_) + ": " + ec.message());
}

response http_client::send(request req) {
  req.prepare_payload();
  ensure_connected();
  auto ec = run([&](auto handler) { http::async_write(socket_, req, std::move(handler)); });
  if (ec) {
    close();
    throw std::runtime_error("write request: " + ec.message());
  }
  return read_response();
}

response http_client::get(std::string target, const std::map<std::string, std::string>& headers,
                          std::string host) {
  auto req = make_request(http::verb::get, std::move(target), std::move(host));
  for (const auto& [name, value] : headers) req.set(name, value);
  return send(std::move(req));
}

response http_client::post(std::string target, std::string body,
                           const std::map<std::string, std::string>& headers) {
  auto req = make_request(http::verb::post, std::move(target));
  for (const auto& [name, value] : headers) req.set(name, value);
  req.body() = std::move(body);
  return send(std::move(req));
}

http_client::error_code http_client::try_send_raw(std::string_view bytes) {
  if (!socket_.is_open()) {
    if (auto ec = connect()) return ec;
  }
  return run([&](auto handler) {
    asio::async_write(socket_, asio::buffer(bytes.data(), bytes.size()), std::move(handler));
  });
}

void http_client::send_raw(std::string_view bytes) {
  if (auto ec = try_send_raw(bytes)) {
    close();
    throw std::runtime_error("write: " + ec.message());
  }
}

http_client::error_code http_client::try_read_response(response& out) {
  http::response_parser<http::string_body> parser;
  parser.body_limit(std::numeric_limits<std::uint64_t>::max());
  parser.header_limit(1024 * 1024);
  auto ec = run([&](auto handler) { http::async_read(socket_, buffer_, parser, std::move(handler)); });
  if (ec) return ec;
  out = parser.release();
  if (!out.keep_alive()) close();
  return {};
}

response http_client::read_response() {
  response out;
  if (auto ec = try_read_response(out)) {
    close();
    throw std::runtime_error("read response: " + ec.message());
  }
  return out;
}

http_client::streamed http_client::read_streamed_response(
    const std::function<void(const char*, std::size_t)>& on_piece) {
  constexpr std::size_t piece_size = 64 * 1024;
  std::unique_ptr<char[]> piece(new char[piece_size]);
  http::response_parser<http::buffer_body> parser;
  parser.body_limit(std::numeric_limits<std::uint64_t>::max());
  auto ec = run([&](auto handler) { http::async_read_header(socket_, buffer_, parser, std::move(handler)); });
  if (ec) {
    close();
    throw std::runtime_error("read response header: " + ec.message());
  }
  streamed result;
  while (!parser.is_done()) {
    auto& body = parser.get().body();
    body.data = piece.get();
    body.size = piece_size;
    ec = run([&](auto handler) { http::async_read(socket_, buffer_, parser, std::move(handler)); });
    if (ec == http::error::need_buffer) ec = {};
    if (ec) {
      close();
      throw std::runtime_error("read response body after " + std::to_string(result.body_bytes) +
                               " bytes: " + ec.message());
    }
    std::size_t n = piece_size - body.size;
    result.body_bytes += n;
    if (n > 0) on_piece(piece.get(), n);
  }
  result.header = parser.get().base();
  if (!parser.get().keep_alive()) close();
  return result;
}

bool http_client::closed_by_server_within(std::chrono::milliseconds timeout) {
  if (!socket_.is_open()) return true;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  buffer_.consume(buffer_.size());
  char scratch[4096];
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    std::size_t n = 0;
    auto ec = run(
        [&](auto handler) {
          socket_.async_read_some(asio::buffer(scratch), [&n, handler](error_code ec, std::size_t got) mutable {
            n = got;
            handler(ec);
          });
        },
        left);
    if (ec == beast::error::timeout) return false;
    if (ec) {
      close();
      return true;  // eof, reset, ...
    }
  }
}

bool connection_refused(std::uint16_t port, std::string address) {
  asio::io_context io;
  tcp::socket socket(io);
  boost::system::error_code ec;
  socket.connect(tcp::endpoint(asio::ip::make_address(address), port), ec);
  return ec == asio::error::connection_refused;
}

}  // namespace dockmaster::test
