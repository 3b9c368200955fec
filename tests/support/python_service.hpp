#pragma once

// A real HTTP service for the healing tests: Python's http.server on a loopback port,
// serving a folder with a `health` file, with the commands that start it.

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace dockmaster::test {

/// A free port on 127.0.0.1 (bound once and released).
std::uint16_t free_port();

/// A folder with a `health` file, served by `python3 -m http.server` on a port.
class python_service {
 public:
  python_service();
  ~python_service();

  /// The command that (re)starts the service in the background and records its pid.
  std::vector<std::string> start_command() const;
  std::optional<pid_t> restarted_pid() const;
  void forget_pid() const;
  /// The command that runs the service in the foreground (the first start).
  std::vector<std::string> foreground_command() const;

  std::uint16_t port() const { return port_; }
  std::string host_port() const { return "127.0.0.1:" + std::to_string(port_); }

 private:
  std::uint16_t port_;
  std::string dir_;
};

/// True when GET `target` on 127.0.0.1:`port` answers 200 within 2 s.
bool answers_ok(std::uint16_t port, const std::string& target);

}  // namespace dockmaster::test
