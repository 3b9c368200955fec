#include "support/python_service.hpp"

#include <signal.h>
#include <stdlib.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "support/http_client.hpp"

namespace dockmaster::test {

std::uint16_t free_port() {
  boost::asio::io_context io;
  boost::asio::ip::tcp::acceptor acceptor(io, {boost::asio::ip::make_address("127.0.0.1"), 0});
  return acceptor.local_endpoint().port();
}

python_service::python_service() : port_(free_port()) {
  char pattern[] = "/tmp/dockmaster-heal-XXXXXX";
  dir_ = ::mkdtemp(pattern);
  std::ofstream(dir_ + "/health") << "ok\n";
}

python_service::~python_service() {
  if (auto pid = restarted_pid()) ::kill(*pid, SIGKILL);
  std::system(("rm -rf " + dir_).c_str());
}

std::vector<std::string> python_service::start_command() const {
  return {"sh", "-c",
          "cd " + dir_ + " && python3 -m http.server " + std::to_string(port_) +
              " --bind 127.0.0.1 >/dev/null 2>&1 & echo $! > " + dir_ + "/pid"};
}

std::optional<pid_t> python_service::restarted_pid() const {
  std::ifstream in(dir_ + "/pid");
  pid_t pid = 0;
  if (in >> pid && pid > 0) return pid;
  return std::nullopt;
}

void python_service::forget_pid() const { std::remove((dir_ + "/pid").c_str()); }

std::vector<std::string> python_service::foreground_command() const {
  return {"/bin/sh", "-c",
          "cd " + dir_ + " && exec python3 -m http.server " + std::to_string(port_) +
              " --bind 127.0.0.1"};
}

bool answers_ok(std::uint16_t port, const std::string& target) {
  try {
    http_client client(port, "127.0.0.1", std::chrono::seconds(2));
    return client.get(target).result_int() == 200;
  } catch (const std::exception&) {
    return false;
  }
}

}  // namespace dockmaster::test
