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

}  // namespace dockmaster::messages
