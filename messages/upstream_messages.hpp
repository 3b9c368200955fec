#pragma once

// Messages about a service's upstream instances.

#include <cstdint>
#include <string>
#include <vector>

#include <caf/meta/type_name.hpp>

namespace dockmaster::messages {

/// One address of a service, as resolved by its upstream_proxy.
struct upstream_instance {
  /// The configured `host:port` this address came from (a DNS name may give several).
  std::string configured;
  /// A numeric IP address.
  std::string address;
  std::uint16_t port = 0;
  bool healthy = true;
  /// When it is not healthy, it is expected back: the service has health checks and a
  /// restart, and the supervisor has not given up on this instance. Requests to a
  /// service with no healthy instance wait (hold) only for such an instance.
  bool heal_expected = false;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, upstream_instance& x) {
  return f(caf::meta::type_name("upstream_instance"), x.configured, x.address, x.port, x.healthy,
           x.heal_expected);
}

/// The complete, current instance set of a service. Sent by the service's
/// upstream_proxy whenever it changes; receivers replace what they had.
struct instance_set {
  std::string service;
  std::vector<upstream_instance> instances;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, instance_set& x) {
  return f(caf::meta::type_name("instance_set"), x.service, x.instances);
}

/// The outcome of one DNS resolution of a configured `host:port`: the addresses found,
/// or an error text. Sent by the resolver to the upstream_proxy that asked.
struct resolution_result {
  std::string configured;
  std::vector<std::string> addresses;
  std::uint16_t port = 0;
  /// Empty on success.
  std::string error;
  /// The name does not exist (a stopped compose container): its addresses are gone.
  /// Other errors are failures of the lookup, after which the old addresses stay.
  bool not_found = false;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, resolution_result& x) {
  return f(caf::meta::type_name("resolution_result"), x.configured, x.addresses, x.port, x.error,
           x.not_found);
}

/// The state of the deployment as JSON, from the event_sink whenever it changes; the
/// I/O threads answer the status path with the latest one.
struct status_snapshot {
  std::string json;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, status_snapshot& x) {
  return f(caf::meta::type_name("status_snapshot"), x.json);
}

/// How a drain ended: the number of I/O threads that still had requests in flight
/// when the drain timeout stopped the wait (0: everything finished).
struct drain_result {
  std::uint64_t busy_threads = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, drain_result& x) {
  return f(caf::meta::type_name("drain_result"), x.busy_threads);
}

}  // namespace dockmaster::messages
