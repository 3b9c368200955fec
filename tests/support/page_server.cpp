#include "support/page_server.hpp"

#include <sys/socket.h>

#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "net/status_page.hpp"

namespace dockmaster::test {

namespace beast = boost::beast;
namespace http = beast::http;

page_server::page_server(std::function<std::string()> status, std::string token)
    : status_(std::move(status)), token_(std::move(token)), acceptor_(io_) {
  tcp::endpoint endpoint(boost::asio::ip::make_address("127.0.0.1"), 0);
  acceptor_.open(endpoint.protocol());
  acceptor_.bind(endpoint);
  acceptor_.listen();
  port_ = acceptor_.local_endpoint().port();
  accept_thread_ = std::thread([this] { accept_loop(); });
}

page_server::~page_server() {
  stopping_ = true;
  boost::system::error_code ignored;
  // shutdown wakes the blocked accept; closing each socket wakes its reader.
  ::shutdown(acceptor_.native_handle(), SHUT_RDWR);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (const auto& socket : open_) socket->shutdown(tcp::socket::shutdown_both, ignored);
  }
  accept_thread_.join();
  acceptor_.close(ignored);
  for (auto& t : connections_) t.join();
}

void page_server::accept_loop() {
  while (!stopping_) {
    auto socket = std::make_shared<tcp::socket>(io_);
    boost::system::error_code ec;
    acceptor_.accept(*socket, ec);
    if (ec || stopping_) return;
    std::lock_guard<std::mutex> lock(mutex_);
    open_.insert(socket);
    connections_.emplace_back([this, socket] { serve(socket); });
  }
}

void page_server::serve(std::shared_ptr<tcp::socket> socket) {
  beast::flat_buffer buffer;
  for (;;) {
    http::request<http::string_body> req;
    boost::system::error_code ec;
    http::read(*socket, buffer, req, ec);
    if (ec) break;
    http::response<http::string_body> res{http::status::ok, req.version()};
    std::string target(req.target());
    if (target == "/") {
      res.set(http::field::content_type, "text/html; charset=utf-8");
      res.body() = std::string(net::status_page_html());
    } else if (target == "/status" && !token_.empty() &&
               std::string(req[http::field::authorization]) != "Bearer " + token_) {
      res.result(http::status::unauthorized);
      res.set(http::field::www_authenticate, "Bearer");
    } else if (target == "/status") {
      res.set(http::field::content_type, "application/json");
      res.body() = status_();
    } else {
      res.result(http::status::not_found);
    }
    res.keep_alive(req.keep_alive());
    res.prepare_payload();
    http::write(*socket, res, ec);
    if (ec || !req.keep_alive()) break;
  }
  boost::system::error_code ignored;
  socket->shutdown(tcp::socket::shutdown_both, ignored);
  std::lock_guard<std::mutex> lock(mutex_);
  open_.erase(socket);
}

}  // namespace dockmaster::test
