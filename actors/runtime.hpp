#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "config/config.hpp"

namespace dockmaster {

/// The running dockmaster: the actor system, one upstream_proxy actor per service and
/// the http_acceptor actor with its I/O threads. Used by main() and by the integration
/// tests, which run it in-process on loopback.
class runtime {
 public:
  explicit runtime(config::config cfg);
  ~runtime();  // stop()

  runtime(const runtime&) = delete;
  runtime& operator=(const runtime&) = delete;

  /// Binds the listen addresses and starts serving. Throws std::runtime_error naming
  /// the address when one cannot be bound. Returns once every service's first DNS
  /// resolution has been published, so that the first request finds its instances.
  void start();

  /// The ports bound, one per listen address, in config order (useful with port 0).
  std::vector<std::uint16_t> ports() const;

  /// The admin listener's port (admin.listen), 0 when it is off.
  std::uint16_t admin_port() const;

  /// Stops accepting, closes idle connections and waits up to `timeouts.drain` for
  /// in-flight requests. Returns how many requests were still in flight at the end.
  std::uint64_t drain();

  /// Drains if not done yet, then stops every thread. Idempotent.
  void stop();

  /// The state of every service and instance and the recent history of health changes
  /// and restarts, as JSON (the event_sink's answer).
  std::string status_json();

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace dockmaster
