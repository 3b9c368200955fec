#pragma once

// Which container serves a given instance of a service.

#include <cstdint>
#include <string>
#include <vector>

#include "docker/engine_client.hpp"

namespace dockmaster::docker {

/// An instance as the lookup knows it.
struct instance_hint {
  std::string configured;  // the configured host:port (compose service name and port)
  std::string address;     // the resolved IP
  std::uint16_t port = 0;
};

/// The label a container may carry to name the instance it serves ("host:port"), for
/// deployments where addresses cannot tell replicas apart (host networking).
inline constexpr const char* instance_label = "dockmaster.instance";

/// Among `candidates` (running containers of the service), the one that serves
/// `instance`: the only candidate; else the one whose dockmaster.instance label names
/// the instance; else the one with the instance's IP address; else the one whose
/// hostname is the instance's host. Throws engine_error(404) when none matches and
/// engine_error(409) when several do: never more than one container is chosen.
const container_info& choose_container(const std::vector<container_info>& candidates,
                                       const instance_hint& instance);

/// Finds the container: `explicit_name` when given, else by the compose labels
/// (`project` may be empty: any project) and choose_container.
container_info find_container(engine_client& client, const std::string& explicit_name,
                              const std::string& project, const std::string& service,
                              const instance_hint& instance);

}  // namespace dockmaster::docker
