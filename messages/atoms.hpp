#pragma once

// The atoms that name the requests and events exchanged between actors.
// CAF 0.17 atoms: at most 10 characters.

#include <caf/atom.hpp>

namespace dockmaster::messages {

/// Timer tick of an upstream_proxy: resolve the service's DNS names again.
using resolve_atom = caf::atom_constant<caf::atom("resolve")>;
/// Ask an actor for its current view (for example a service's instance set).
using get_atom = caf::atom_constant<caf::atom("get")>;
/// Stop accepting, let in-flight requests finish, then reply.
using drain_atom = caf::atom_constant<caf::atom("drain")>;
/// One I/O thread of the acceptor has no request in flight any more.
using drained_atom = caf::atom_constant<caf::atom("drained")>;
/// The drain timeout has passed.
using timeout_atom = caf::atom_constant<caf::atom("timeout")>;
/// Ask the acceptor for the addresses it listens on.
using listening_atom = caf::atom_constant<caf::atom("listening")>;
/// Ask the acceptor to answer once every I/O thread has applied what it was sent.
using sync_atom = caf::atom_constant<caf::atom("sync")>;
/// One I/O thread has caught up with a sync (sent from that thread).
using synced_atom = caf::atom_constant<caf::atom("synced")>;
/// Timer of a health_watcher: probe this instance now.
using probe_atom = caf::atom_constant<caf::atom("probe")>;
/// An actor introduces itself: a health_watcher and an upstream_proxy to the
/// restart_supervisor, an upstream_proxy and the event_sink to the http_acceptor.
using register_atom = caf::atom_constant<caf::atom("register")>;
/// Timer of the restart_supervisor: the backoff of an instance has passed.
using retry_atom = caf::atom_constant<caf::atom("retry")>;
/// A job of an executor actor has ended (sent by its worker thread).
using job_done_atom = caf::atom_constant<caf::atom("job_done")>;
/// Timer of the event_sink: publish the status with the counts gathered since.
using publish_atom = caf::atom_constant<caf::atom("publish")>;
/// Ask the event_sink for the state of the deployment (JSON).
using status_atom = caf::atom_constant<caf::atom("status")>;
/// Ask the event_sink for the Prometheus text exposition of its stats.
using metrics_atom = caf::atom_constant<caf::atom("metrics")>;
/// Ask the config_manager to read its config file again and apply it (or, dry run,
/// only say what would change).
using reload_atom = caf::atom_constant<caf::atom("reload")>;

}  // namespace dockmaster::messages
