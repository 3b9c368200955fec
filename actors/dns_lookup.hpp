#pragma once

#include <cstdint>
#include <string>

#include <caf/blocking_actor.hpp>

#include "messages/actor_types.hpp"

namespace dockmaster::actors {

/// A one-shot actor on its own thread (getaddrinfo blocks): resolves `host` and sends
/// the addresses, or the error, as a resolution_result to `reply_to`, then ends.
void dns_lookup(caf::blocking_actor* self, messages::upstream_proxy_impl reply_to,
                std::string configured, std::string host, std::uint16_t port);

}  // namespace dockmaster::actors
