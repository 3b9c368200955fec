#pragma once

// A stand-in for the admin listener in the page tests: serves the embedded status page
// at / and a status JSON (from a callback) at /status on 127.0.0.1, wanting a bearer
// token for the JSON when one is given, as the admin listener does.

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

namespace dockmaster::test {

class page_server {
 public:
  page_server(std::function<std::string()> status, std::string token = "");
  ~page_server();
  page_server(const page_server&) = delete;
  page_server& operator=(const page_server&) = delete;

  std::uint16_t port() const { return port_; }

 private:
  using tcp = boost::asio::ip::tcp;
  void accept_loop();
  void serve(std::shared_ptr<tcp::socket> socket);

  std::function<std::string()> status_;
  std::string token_;
  boost::asio::io_context io_;
  tcp::acceptor acceptor_;
  std::uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  std::thread accept_thread_;
  std::mutex mutex_;
  std::set<std::shared_ptr<tcp::socket>> open_;
  std::vector<std::thread> connections_;
};

}  // namespace dockmaster::test
