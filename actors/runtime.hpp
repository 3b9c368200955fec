#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <caf/typed_actor.hpp>

#include "config/config.hpp"
#include "messages/actor_types.hpp"

namespace dockmaster {

/// The running dockmaster: the actor system, the http_acceptor actor with its I/O
/// threads, the config_manager with one upstream_proxy actor per service, the
/// supervisor and the event sink. Used by main() and by the integration tests, which
/// run it in-process on loopback.
class runtime {
 public:
  /// `config_file`: where `cfg` came from, read again by reload() (empty: the embedded
  /// default). `overrides`: the command line's addresses that replaced the file's, put
  /// over every config a reload reads too.
  explicit runtime(config::config cfg, std::string config_file = {},
                   config::config_overrides overrides = {});
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

  /// Reads the config file again and, unless `dry_run`, applies it (see
  /// actors/config_manager.hpp); returns once it has taken effect, with the answer:
  /// {"ok","dry_run","changes","needs_restart","error"} as JSON.
  std::string reload(bool dry_run);

  /// The actor that reloads (for an admin endpoint); null before start().
  messages::config_manager_actor config_manager() const;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace dockmaster
