#pragma once

// Runs health probes (HTTP GET /health-style or TCP connect) on an I/O thread of its
// own. Each probe has its own deadline, so a hanging instance never delays another;
// thousands can be in flight at once. The result goes to a callback, which the
// health_watcher turns into a message to itself.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "config/config.hpp"

namespace dockmaster::net {

struct probe_target {
  std::string address;  // numeric IP
  std::uint16_t port = 0;
  std::string host_header;  // for HTTP probes: the Host to send
};

struct probe_outcome {
  bool passed = false;
  /// What was seen: "HTTP 200", "HTTP 503", "connection refused", "timeout after 1000 ms",
  /// "body does not contain \"ok\"", ...
  std::string detail;
  std::chrono::microseconds duration{0};
};

class health_prober {
 public:
  health_prober();
  ~health_prober();  // stops the thread; pending callbacks are dropped

  health_prober(const health_prober&) = delete;
  health_prober& operator=(const health_prober&) = delete;

  /// Starts one probe; thread-safe. `done` runs on the prober's thread, once.
  void probe(const probe_target& target, const config::health_config& health,
             std::function<void(probe_outcome)> done);

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace dockmaster::net
