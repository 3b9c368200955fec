#pragma once

#include <map>
#include <set>
#include <memory>
#include <string>
#include <vector>

#include <caf/typed_event_based_actor.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_response_promise.hpp>

#include "config/config.hpp"
#include "messages/actor_types.hpp"

namespace dockmaster::net {
class probe_runner;
}

namespace dockmaster::actors {

struct upstream_proxy_state {
  config::service_config service;
  messages::http_acceptor_actor acceptor;
  /// Probes the instances; null when the service has no health checks.
  messages::health_watcher_actor watcher;
  /// Told of every instance that comes or goes (may be null).
  messages::restart_supervisor_actor supervisor;
  messages::event_sink_actor sink;
  /// Kept for a watcher started by a reload that adds health checks.
  std::shared_ptr<net::probe_runner> prober;
  /// Health per address ("address:port") from the watcher; absent: not probed yet.
  std::map<std::string, bool> healthy;
  /// Addresses ("address:port") the supervisor has given up on: not expected back.
  std::set<std::string> given_up;
  /// Addresses per configured host:port, from the latest answers.
  std::map<std::string, std::vector<std::string>> addresses;
  /// Configured names with a lookup under way (never two at once per name).
  std::map<std::string, bool> lookup_pending;
  bool first_round_done = false;
  bool ever_published = false;
  messages::instance_set published;
  std::vector<caf::typed_response_promise<messages::instance_set>> waiting_for_first_round;

  static inline const char* name = "upstream_proxy";
};

/// The control side of one service: resolves its configured instances (a DNS name
/// stands for all its addresses, as with compose --scale) every resolve_interval,
/// keeps their health bits from its health_watcher (which it starts when the service
/// has health checks), and sends the acceptor a new instance_set whenever the set or
/// a bit changes. Each address that joins or leaves the set is announced as
/// instance_added / instance_removed to the supervisor, the event sink and the
/// watcher (in that order: the watcher's reports must not overtake the news). With health checks, a new address takes no traffic until it has
/// passed its probes. A reload (config_update) gives it its service's new config: the
/// addresses that stay keep their health, those added or removed are announced as
/// above; without its service, it announces every instance removed, leaves the
/// acceptor an empty set and ends. The requests themselves are served on the I/O threads from that
/// set, so that this actor is never on a request's path.
messages::upstream_proxy_impl::behavior_type upstream_proxy(
    messages::upstream_proxy_impl::stateful_pointer<upstream_proxy_state> self,
    config::service_config service, messages::http_acceptor_actor acceptor,
    messages::restart_supervisor_actor supervisor, messages::event_sink_actor sink,
    std::shared_ptr<net::probe_runner> prober);

}  // namespace dockmaster::actors
