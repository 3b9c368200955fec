#include "net/self_check.hpp"

#include <array>
#include <functional>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>

namespace dockmaster::net {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

std::string loopback_for(const std::string& host) {
  if (host.empty() || host == "0.0.0.0" || host == "*") return "127.0.0.1";
  if (host == "::" || host == "[::]") return "::1";
  return host;
}

}  // namespace

self_check_result check_running_instance(const config::host_port& listen, const std::string& path,
                                         std::chrono::milliseconds timeout) {
  auto host = loopback_for(listen.host);
  auto target = host + ":" + std::to_string(listen.port);
  asio::io_context io;
  tcp::socket socket(io);
  std::string response;
  boost::system::error_code failure;
  auto fail = [&](const boost::system::error_code& ec) {
    if (ec && !failure) failure = ec;
  };

  // One async chain with a deadline on the io_context: connect, write, read to EOF.
  tcp::resolver resolver(io);
  std::string request = "GET " + path + " HTTP/1.1\r\nHost: " + target +
                        "\r\nUser-Agent: dockmaster-health-check\r\nConnection: close\r\n\r\n";
  std::array<char, 4096> buffer{};
  std::function<void()> read_more = [&] {
    socket.async_read_some(asio::buffer(buffer), [&](boost::system::error_code ec, std::size_t n) {
      response.append(buffer.data(), n);
      // The status line is all that is needed.
      if (!ec && response.find("\r\n") == std::string::npos) return read_more();
      if (ec && ec != asio::error::eof) fail(ec);
      socket.close(ec);
    });
  };
  resolver.async_resolve(host, std::to_string(listen.port), [&](auto ec, auto results) {
    if (ec) return fail(ec);
    asio::async_connect(socket, results, [&](auto ec, const auto&) {
      if (ec) return fail(ec);
      asio::async_write(socket, asio::buffer(request), [&](auto ec, std::size_t) {
        if (ec) return fail(ec);
        read_more();
      });
    });
  });
  io.run_for(timeout);
  if (!io.stopped()) {
    return {false, "no answer from " + target + path + " within " +
                       std::to_string(timeout.count()) + " ms"};
  }
  if (failure && response.empty()) return {false, target + ": " + failure.message()};

  auto line_end = response.find("\r\n");
  auto status_line = response.substr(0, line_end);
  bool ok = status_line.rfind("HTTP/1.", 0) == 0 && status_line.size() >= 12 &&
            status_line.compare(9, 3, "200") == 0;
  return {ok, target + path + ": " + (status_line.empty() ? "empty answer" : status_line)};
}

}  // namespace dockmaster::net
