#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "config/config.hpp"
#include "messages/actor_types.hpp"

namespace dockmaster::net {
class probe_runner;
}

namespace dockmaster::actors {

struct config_manager_state {
  /// The config in force. The parts that only a restart applies (listen, actor_system,
  /// admin.listen and admin.token, docker, limits.max_client_connections) keep their
  /// running values here, so that every later diff still shows them until a restart.
  std::shared_ptr<const config::config> current;
  /// The file read again on reload; empty: the embedded default (nothing to re-read).
  std::string file;
  /// The command line's addresses, put over every config read, as main() does at start.
  config::config_overrides overrides;
  std::uint64_t generation = 1;
  std::string digest;     // of the file's bytes, FNV-1a 64 in hex
  std::string loaded_at;  // ISO 8601 UTC
  messages::http_acceptor_actor acceptor;
  messages::restart_supervisor_actor supervisor;
  messages::event_sink_actor sink;
  std::shared_ptr<net::probe_runner> prober;
  /// Each service's proxy, by service.
  std::map<std::string, messages::upstream_proxy_actor> proxies;

  static inline const char* name = "config_manager";
};

/// FNV-1a 64 of `bytes`, as 16 lowercase hex digits.
std::string fnv1a64_hex(const std::string& bytes);

/// Owns the config in force and the upstream_proxy of every service (it spawns them at
/// start). On `reload` it reads the file again, validates it, puts the command line's
/// overrides back over it and compares it with the config in force; unless it is a dry run, it
/// applies it: the proxies of new services first (so that a new route finds their
/// instances), then the new config to the sink, the supervisor, the acceptor (routes,
/// CORS, timeouts, limits, hold, balance: every I/O thread swaps its settings between
/// requests) and the proxies of changed services, while the proxies of removed ones
/// announce their instances removed and end. It answers once every I/O thread has the
/// new settings. What needs a restart is not applied and is listed in the answer. A
/// config that does not validate changes nothing. Reloads run one at a time.
messages::config_manager_actor::behavior_type config_manager(
    messages::config_manager_actor::stateful_pointer<config_manager_state> self,
    config::config cfg, std::string file, config::config_overrides overrides,
    messages::http_acceptor_actor acceptor, messages::restart_supervisor_actor supervisor,
    messages::event_sink_actor sink, std::shared_ptr<net::probe_runner> prober);

}  // namespace dockmaster::actors
