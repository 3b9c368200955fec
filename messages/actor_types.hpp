#pragma once

// The typed interfaces of dockmaster's actors: what each accepts and answers.

#include <cstdint>
#include <string>
#include <vector>

#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "messages/atoms.hpp"
#include "messages/health_messages.hpp"
#include "messages/upstream_messages.hpp"

namespace dockmaster::messages {

/// One per service: knows the service's configured instances, resolves their DNS names
/// periodically, keeps their health bits and publishes the resulting instance set to
/// the acceptor (and the addresses to its health_watcher).
using upstream_proxy_actor = caf::typed_actor<
    caf::reacts_to<resolve_atom>,
    caf::reacts_to<resolution_result>,
    caf::reacts_to<health_changed>,
    caf::reacts_to<upstream_failure>,  // passed on to its health_watcher
    caf::replies_to<get_atom>::with<instance_set>>;

/// Owns the listening sockets and the I/O threads that serve the connections.
/// Receives every service's instance set and hands it to each I/O thread.
using http_acceptor_actor = caf::typed_actor<
    caf::reacts_to<instance_set>,
    caf::reacts_to<register_atom, std::string, upstream_proxy_actor>,  // service, its proxy
    caf::reacts_to<upstream_failure>,  // from an I/O thread, for the service's proxy
    caf::reacts_to<status_snapshot>,
    caf::reacts_to<drained_atom, std::uint64_t>,  // I/O thread index
    caf::replies_to<sync_atom>::with<bool>,
    caf::reacts_to<synced_atom, std::uint64_t>,  // sync number
    caf::reacts_to<timeout_atom>,
    caf::replies_to<listening_atom>::with<std::vector<std::uint16_t>>,
    caf::replies_to<drain_atom>::with<drain_result>>;


/// One per service with health checks: probes every instance on its own schedule and
/// reports each change of state.
using health_watcher_actor = caf::typed_actor<
    caf::reacts_to<instance_set>,
    caf::reacts_to<probe_atom, instance_id, std::uint64_t>,  // timer, with its schedule number
    caf::reacts_to<probe_result>,
    caf::reacts_to<upstream_failure>,  // probe that instance now
    caf::reacts_to<instance_restarted>>;

/// Runs restart actions: the docker_engine actor (inside containers, through the
/// Docker Engine API) and the local_executor actor (commands on the host). Each job
/// runs on a thread of its own; the reply comes when it has ended.
using restart_executor_actor = caf::typed_actor<
    caf::replies_to<restart_request>::with<restart_result>,
    caf::reacts_to<job_done_atom, std::uint64_t, restart_result>>;

/// Turns unhealthy instances into restarts, with backoff and caps.
using restart_supervisor_actor = caf::typed_actor<
    caf::reacts_to<register_atom, std::string, health_watcher_actor>,
    caf::reacts_to<health_changed>,
    caf::reacts_to<retry_atom, instance_id>>;

/// Records every health change and supervisor event: structured logs, the current
/// state of every instance and a bounded history, answered as JSON.
using event_sink_actor = caf::typed_actor<
    caf::reacts_to<health_changed>,
    caf::reacts_to<supervisor_event>,
    caf::replies_to<status_atom>::with<std::string>>;

}  // namespace dockmaster::messages
