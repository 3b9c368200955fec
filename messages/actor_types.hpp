#pragma once

// The typed interfaces of dockmaster's actors. Each actor has a public interface,
// which is all that other actors may send it, and an implementation type that extends
// it with what only the actor itself (its timers, its I/O callbacks, the helpers it
// spawns) sends it. Other actors hold only public handles.

#include <cstdint>
#include <string>
#include <vector>

#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "messages/admin_messages.hpp"
#include "messages/atoms.hpp"
#include "messages/config_messages.hpp"
#include "messages/health_messages.hpp"
#include "messages/stats.hpp"
#include "messages/upstream_messages.hpp"

namespace dockmaster::messages {

/// Records every instance change, health change and supervisor event: structured
/// logs, the current state and stats of every instance and a bounded history,
/// answered as JSON.
using event_sink_actor = caf::typed_actor<
    caf::reacts_to<instance_added>,
    caf::reacts_to<instance_removed>,
    caf::reacts_to<health_changed>,
    caf::reacts_to<probe_result>,  // every probe, for the counters and latest latency
    caf::reacts_to<supervisor_event>,
    caf::reacts_to<traffic_report>,  // an I/O thread's counts, through the acceptor
    caf::reacts_to<config_update>,    // the services of a reloaded config
    caf::reacts_to<config_reloaded>,  // from the config_manager
    caf::replies_to<status_atom>::with<std::string>,
    caf::replies_to<metrics_atom>::with<std::string>>;  // Prometheus text

using event_sink_impl = event_sink_actor::extend<caf::reacts_to<publish_atom>>;  // its timer

/// One per service: knows the service's configured instances, resolves their DNS names
/// periodically, keeps their health bits and publishes the resulting instance set to
/// the acceptor, and each address that comes or goes to its health_watcher, the
/// restart_supervisor and the event_sink.
using upstream_proxy_actor = caf::typed_actor<
    caf::reacts_to<health_changed>,    // from its health_watcher
    caf::reacts_to<upstream_failure>,  // from the acceptor; passed on to its health_watcher
    caf::reacts_to<heal_outlook>,      // from the restart_supervisor
    caf::reacts_to<config_update>,     // a reload; without its service, the proxy retires
    caf::replies_to<get_atom>::with<instance_set>>;

using upstream_proxy_impl = upstream_proxy_actor::extend<
    caf::reacts_to<resolve_atom>,        // its resolve timer
    caf::reacts_to<resolution_result>>;  // from the DNS lookups it spawned

/// Owns the listening sockets and the I/O threads that serve the connections.
/// Receives every service's instance set and hands it to each I/O thread.
using http_acceptor_actor = caf::typed_actor<
    caf::reacts_to<instance_set>,
    caf::reacts_to<register_atom, std::string, upstream_proxy_actor>,  // service, its proxy
    caf::reacts_to<register_atom, event_sink_actor>,  // where the traffic counts go
    caf::reacts_to<status_snapshot>,
    caf::reacts_to<config_update>,  // new settings for every I/O thread
    caf::replies_to<sync_atom>::with<bool>,
    caf::replies_to<listening_atom>::with<std::vector<std::uint16_t>>,
    caf::replies_to<drain_atom>::with<drain_result>>;

using http_acceptor_impl = http_acceptor_actor::extend<
    caf::reacts_to<upstream_failure>,              // from an I/O thread
    caf::reacts_to<traffic_report>,                // from an I/O thread
    caf::reacts_to<drained_atom, std::uint64_t>,   // I/O thread index
    caf::reacts_to<synced_atom, std::uint64_t>,    // sync number
    caf::reacts_to<timeout_atom>>;                 // the drain timeout

/// One per service with health checks: probes every instance on its own schedule and
/// reports each change of state.
using health_watcher_actor = caf::typed_actor<
    caf::reacts_to<instance_added>,
    caf::reacts_to<instance_removed>,
    caf::reacts_to<upstream_failure>,  // probe that instance now
    caf::reacts_to<judge_afresh>,      // from the supervisor
    caf::reacts_to<config_update>>;    // from its proxy: new probe settings

using health_watcher_impl = health_watcher_actor::extend<
    caf::reacts_to<probe_atom, instance_id, std::uint64_t>,  // timer, with its schedule number
    caf::reacts_to<probe_result>>;                           // from the prober's thread

/// Runs restart actions: the docker_engine actor (inside containers, through the
/// Docker Engine API) and the local_executor actor (commands on the host). Each job
/// runs on a thread of its own; the reply comes when it has ended.
using restart_executor_actor = caf::typed_actor<
    caf::replies_to<restart_request>::with<restart_result>,
    caf::replies_to<identify_request>::with<container_identity>>;

using restart_executor_impl = restart_executor_actor::extend<
    caf::reacts_to<job_done_atom, std::uint64_t, restart_result>,       // from a job's thread
    caf::reacts_to<job_done_atom, std::uint64_t, container_identity>>;  // from a job's thread

/// Turns unhealthy instances into restarts, with backoff and caps.
using restart_supervisor_actor = caf::typed_actor<
    caf::reacts_to<register_atom, std::string, health_watcher_actor>,  // service, its watcher
    caf::reacts_to<register_atom, std::string, upstream_proxy_actor>,  // service, its proxy
    caf::reacts_to<instance_added>,
    caf::reacts_to<instance_removed>,
    caf::reacts_to<health_changed>,
    caf::reacts_to<config_update>>;  // new restart policies

using restart_supervisor_impl = restart_supervisor_actor::extend<
    caf::reacts_to<retry_atom, instance_id, std::uint64_t>>;  // backoff timer, with its number

/// Owns the config in force and the file it came from, and the upstream_proxy of each
/// service. `reload` reads the file again, validates it, says what changes and, unless
/// it is a dry run, applies it; the answer is JSON: {"ok","dry_run","changes",
/// "needs_restart","error"}. `sync` answers once every service has its first
/// instance set and every I/O thread has it (after start, and after a reload).
using config_manager_actor = caf::typed_actor<
    caf::replies_to<reload_atom, bool>::with<std::string>,  // dry_run
    caf::replies_to<sync_atom>::with<bool>>;

/// The operators' listener: /metrics, /status, the status page, /reload.
using admin_server_actor = caf::typed_actor<
    caf::replies_to<listening_atom>::with<std::uint16_t>>;  // its port

using admin_server_impl = admin_server_actor::extend<
    caf::reacts_to<admin_query>>;  // from its listener's thread

}  // namespace dockmaster::messages
