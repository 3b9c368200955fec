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

/// The only container of the service shows that it serves another instance (its
/// dockmaster.instance label names another, or its addresses do not include the
/// instance's): the restart is skipped rather than run on the wrong container.
class not_the_instance : public engine_error {
 public:
  explicit not_the_instance(const std::string& what) : engine_error(409, what) {}
};

/// Among `candidates` (running containers of the service), the one that serves
/// `instance`: the one whose dockmaster.instance label names the instance; else the
/// one with the instance's IP address; else the one whose hostname is the instance's
/// host. The only candidate is taken unless it shows it serves another instance (then
/// not_the_instance); with host networking (no addresses) it is taken as it is, and
/// the supervisor's record of the container that served the instance guards it.
/// Throws engine_error(404) when none matches and engine_error(409) when several do:
/// never more than one container is chosen.
const container_info& choose_container(const std::vector<container_info>& candidates,
                                       const instance_hint& instance);

/// Finds the container: `explicit_name` when given, else by the compose labels
/// (`project` may be empty: any project) and choose_container.
container_info find_container(engine_client& client, const std::string& explicit_name,
                              const std::string& project, const std::string& service,
                              const instance_hint& instance);

}  // namespace dockmaster::docker
