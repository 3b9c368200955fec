#pragma once

// The typed interfaces of dockmaster's actors: what each accepts and answers.

#include <cstdint>
#include <vector>

#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "messages/atoms.hpp"
#include "messages/upstream_messages.hpp"

namespace dockmaster::messages {

/// Owns the listening sockets and the I/O threads that serve the connections.
/// Receives every service's instance set and hands it to each I/O thread.
using http_acceptor_actor = caf::typed_actor<
    caf::reacts_to<instance_set>,
    caf::reacts_to<drained_atom, std::uint64_t>,  // I/O thread index
    caf::reacts_to<timeout_atom>,
    caf::replies_to<listening_atom>::with<std::vector<std::uint16_t>>,
    caf::replies_to<drain_atom>::with<drain_result>>;

/// One per service: knows the service's configured instances, resolves their DNS names
/// periodically and publishes the resulting instance set to the acceptor.
using upstream_proxy_actor = caf::typed_actor<
    caf::reacts_to<resolve_atom>,
    caf::reacts_to<resolution_result>,
    caf::replies_to<get_atom>::with<instance_set>>;

}  // namespace dockmaster::messages
