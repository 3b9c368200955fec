#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "config/config.hpp"
#include "messages/actor_types.hpp"

namespace dockmaster::net {
class admin_listener;
}

namespace dockmaster::actors {

struct admin_server_state {
  admin_server_state() = default;
  ~admin_server_state();  // stops the listener's thread and joins it

  std::shared_ptr<net::admin_listener> listener;
  messages::event_sink_actor sink;
  messages::config_manager_actor manager;
  std::uint16_t port = 0;
  /// Why admin.listen could not be bound.
  std::string bind_error;

  static inline const char* name = "admin_server";
};

/// The operators' listener (admin.listen, loopback by default), apart from the public
/// one: GET /metrics (Prometheus text), GET /status (the JSON of every service and
/// instance), GET / (the status page), GET /health (200 while dockmaster runs; the
/// image's HEALTHCHECK), POST /reload (and ?dry_run=1: what would change), asked of the
/// config_manager. Its own thread serves the connections; what needs the
/// deployment's state comes here as an admin_query and is asked of the event sink, so
/// that nothing is shared and a slow scrape never touches the proxy's I/O threads.
messages::admin_server_impl::behavior_type admin_server(
    messages::admin_server_impl::stateful_pointer<admin_server_state> self,
    config::admin_config admin, messages::event_sink_actor sink,
    messages::config_manager_actor manager);

}  // namespace dockmaster::actors
