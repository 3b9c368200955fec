#pragma once

// Runs health probes (HTTP GET /health-style or TCP connect) on an I/O thread of its
// own. Each probe has its own deadline, so a hanging instance never delays another;
// thousands can be in flight at once. The result goes to a callback, which the
// health_watcher turns into a message to itself.
//
// A probe's deadline is `health.timeout`, from the start of the connect to the verdict
// (connect + send + read together). TCP probes pass once connected (the connection is
// closed at once). HTTP probes send
//
//   METHOD path HTTP/1.1
//   Host: <see probe_target::host_header>
//   User-Agent: dockmaster-health
//   Connection: close
//
// and pass when the status is within [status_min, status_max] and, if body_contains is
// set, the body contains it (the body is then read, up to 64 KiB; without body_contains
// only the header is read). A body larger than 64 KiB fails the probe.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "config/config.hpp"
#include "messages/vocabulary.hpp"

namespace dockmaster::net {

using messages::probe_verdict;

struct probe_target {
  std::string address;  // numeric IP
  std::uint16_t port = 0;
  /// For HTTP probes: the Host to send. health.http.host, when set, takes precedence;
  /// when both are empty: `address:port` (`[address]:port` for IPv6).
  std::string host_header;
};

struct probe_outcome {
  bool passed = false;  // verdict == passed
  probe_verdict verdict = probe_verdict::error;
  /// What was seen: "HTTP 200", "HTTP 503 (expected 200-399)", "connected" (TCP),
  /// "connection refused", "timeout after 1000 ms", "body does not contain \"ok\"",
  /// "connection closed before a response", "malformed response: ...", ...
  std::string detail;
  /// From the start of the connect to the verdict.
  std::chrono::microseconds duration{0};
};

/// What the health_watcher needs of a prober: start one probe, hear of it once. The
/// watcher's tests replace it with one whose probes they answer by hand.
class probe_runner {
 public:
  virtual ~probe_runner() = default;
  /// Starts one probe; thread-safe. `done` runs exactly once (unless the runner is
  /// destroyed first), on a thread of the runner's choosing.
  virtual void probe(const probe_target& target, const config::health_config& health,
                     std::function<void(probe_outcome)> done) = 0;
};

class health_prober : public probe_runner {
 public:
  health_prober();
  /// Stops and joins the thread. Probes still in flight are abandoned: their sockets are
  /// closed and their callbacks destroyed (on the destroying thread) without being
  /// called. It may run inside a callback (dropping the last reference there): the
  /// thread then frees the prober's state itself once that callback has returned.
  ~health_prober() override;

  health_prober(const health_prober&) = delete;
  health_prober& operator=(const health_prober&) = delete;

  /// Starts one probe; thread-safe. `done` runs on the prober's thread, exactly once
  /// unless the prober is destroyed first. It should be quick (it shares the thread with
  /// every other probe); an exception it throws is logged and otherwise ignored.
  /// `address` must be a numeric IP; anything else fails the probe at once.
  void probe(const probe_target& target, const config::health_config& health,
             std::function<void(probe_outcome)> done) override;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace dockmaster::net
