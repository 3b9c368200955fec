#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>

#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/restart_policy.hpp"
#include "config/config.hpp"
#include "messages/actor_types.hpp"

namespace dockmaster::actors {

struct restart_supervisor_state {
  std::map<std::string, config::service_config> services;
  messages::restart_executor_actor docker;  // may be null when no service uses it
  messages::restart_executor_actor local;
  messages::event_sink_actor sink;
  std::map<std::string, messages::health_watcher_actor> watchers;  // by service

  struct instance_record {
    messages::instance_id id;
    std::unique_ptr<restart_policy> policy;
    bool unhealthy = false;
    bool retry_scheduled = false;
    bool given_up_reported = false;
  };
  std::map<messages::instance_id, instance_record> instances;
  std::function<void(const messages::instance_id&)> consider;

  static inline const char* name = "restart_supervisor";
};

/// Turns "instance unhealthy" into the service's restart action and records it. The
/// action runs on an executor's thread: this actor never waits for it, and nothing
/// waits for this actor, so the proxies keep serving healthy instances meanwhile.
/// Per instance: exponential backoff, at most max_restarts per window (then given_up),
/// escalation to a container restart only when configured, never two at once.
messages::restart_supervisor_actor::behavior_type restart_supervisor(
    messages::restart_supervisor_actor::stateful_pointer<restart_supervisor_state> self,
    std::map<std::string, config::service_config> services,
    messages::restart_executor_actor docker, messages::restart_executor_actor local,
    messages::event_sink_actor sink);

}  // namespace dockmaster::actors
