#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/restart_grace.hpp"
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
  /// Told when the supervisor gives up on an instance and when it comes back, so that
  /// requests wait only for instances that are expected back.
  std::map<std::string, messages::upstream_proxy_actor> proxies;  // by service
  /// How long each service's recent restarts took to turn healthy, for its grace.
  std::map<std::string, boot_history> boot_times;  // by service

  /// One instance from instance_added to instance_removed. A record that is gone (or
  /// was replaced by a newer one of the same address) voids every timer and reply that
  /// still names it: `generation` tells them apart.
  struct instance_record {
    messages::instance_id id;
    std::uint64_t generation = 0;
    std::unique_ptr<restart_policy> policy;
    bool unhealthy = false;
    /// Number of the backoff timer in force (0: none); an older timer is void.
    std::uint64_t retry = 0;
    bool given_up_reported = false;
    /// The container that served the instance when it was last healthy (its id).
    std::string served_by;
    /// When it turned unhealthy, Unix ms: a container created later is not the one.
    std::int64_t failed_at_unix_ms = 0;
    /// When the supervisor sent judge_afresh after a restart that ran, until the
    /// instance turns healthy (that boot time goes into its service's boot_history) or
    /// unhealthy again (that restart did not bring it up: nothing to learn).
    std::optional<restart_policy::clock::time_point> judged_afresh_at;
    /// A reload changed the service's restart section while a restart ran: the new
    /// policy takes over once that restart has ended.
    bool policy_stale = false;
  };
  std::map<messages::instance_id, instance_record> instances;
  std::uint64_t next_number = 0;  // for generations and retry timers
  std::function<void(const messages::instance_id&)> consider;

  static inline const char* name = "restart_supervisor";
};

/// Turns "instance unhealthy" into the service's restart action and records it. The
/// action runs on an executor's thread: this actor never waits for it, and nothing
/// waits for this actor, so the proxies keep serving healthy instances meanwhile.
/// Per instance: exponential backoff, at most max_restarts per window (then given_up),
/// escalation to a container restart only when configured, never two at once. Only
/// instances that the proxies announced are acted on; a removed instance's backoff and
/// retries end with it. Each restart names the container that served the instance, so
/// that a replacement is never restarted in its place. After a restart that ran, the
/// instance's watcher judges it afresh with a grace (restart_grace.hpp) within which
/// failures do not count until it turns healthy. A reload (config_update) that changes
/// a service's restart section gives its instances a fresh policy (a running restart
/// ends under the old one first); instances of other services keep theirs, with their
/// backoff and count. Its time is the actor clock's.
messages::restart_supervisor_impl::behavior_type restart_supervisor(
    messages::restart_supervisor_impl::stateful_pointer<restart_supervisor_state> self,
    std::map<std::string, config::service_config> services,
    messages::restart_executor_actor docker, messages::restart_executor_actor local,
    messages::event_sink_actor sink);

}  // namespace dockmaster::actors
