#include "docker/container_lookup.hpp"

#include <algorithm>

namespace dockmaster::docker {

namespace {

/// A published port on the host's loopback reaches a container without its address.
bool is_loopback(const std::string& address) {
  return address.rfind("127.", 0) == 0 || address == "::1";
}

std::string host_of(const std::string& configured) {
  auto colon = configured.rfind(':');
  return colon == std::string::npos ? configured : configured.substr(0, colon);
}

}  // namespace

const container_info& choose_container(const std::vector<container_info>& candidates,
                                       const instance_hint& instance) {
  if (candidates.empty()) throw engine_error(404, "no running container found for the service");
  auto endpoint = instance.address + ":" + std::to_string(instance.port);
  if (candidates.size() == 1) {
    const auto& only = candidates.front();
    auto label = only.labels.find(instance_label);
    if (label != only.labels.end() && label->second != instance.configured &&
        label->second != endpoint)
      throw not_the_instance("the only container of the service, " + only.name + ", is labelled " +
                             instance_label + "=" + label->second + ", not instance " + endpoint);
    bool has_address = std::find(only.addresses.begin(), only.addresses.end(), instance.address) !=
                       only.addresses.end();
    if (!only.host_network && !only.addresses.empty() && !has_address && !is_loopback(instance.address))
      throw not_the_instance("the only container of the service, " + only.name +
                             ", does not have the instance's address " + instance.address);
    return only;
  }
  using predicate = bool (*)(const container_info&, const instance_hint&, const std::string&);
  const predicate rules[] = {
      [](const container_info& c, const instance_hint& i, const std::string& e) {
        auto label = c.labels.find(instance_label);
        return label != c.labels.end() && (label->second == i.configured || label->second == e);
      },
      [](const container_info& c, const instance_hint& i, const std::string&) {
        return std::find(c.addresses.begin(), c.addresses.end(), i.address) != c.addresses.end();
      },
      [](const container_info& c, const instance_hint& i, const std::string&) {
        return !c.hostname.empty() && c.hostname == host_of(i.configured);
      },
  };
  for (auto rule : rules) {
    const container_info* match = nullptr;
    std::size_t matches = 0;
    for (const auto& c : candidates) {
      if (rule(c, instance, endpoint)) {
        match = &c;
        ++matches;
      }
    }
    if (matches == 1) return *match;
    if (matches > 1)
      throw engine_error(409, std::to_string(matches) + " containers match instance " + endpoint +
                                  "; label each with " + instance_label + "=" + endpoint);
  }
  throw engine_error(409, std::to_string(candidates.size()) +
                              " containers run the service and none is identified as instance " +
                              endpoint + "; label each with " + instance_label + "=host:port");
}

container_info find_container(engine_client& client, const std::string& explicit_name,
                              const std::string& project, const std::string& service,
                              const instance_hint& instance) {
  if (!explicit_name.empty()) {
    auto info = client.inspect_container(explicit_name);
    if (info.state != "running")
      throw engine_error(409, "container " + explicit_name + " is " + info.state);
    return info;
  }
  std::vector<std::string> filters{"com.docker.compose.service=" + service};
  if (!project.empty()) filters.push_back("com.docker.compose.project=" + project);
  auto candidates = client.list_containers(filters);
  if (candidates.empty())
    throw engine_error(404, "no running container with label com.docker.compose.service=" +
                                service + (project.empty() ? "" : " in project " + project));
  return choose_container(candidates, instance);
}

}  // namespace dockmaster::docker
