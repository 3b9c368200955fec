#pragma once

// Containers for the tests that run against a real Docker engine: create, start, stop
// and remove them through the Engine API (the client itself has no such calls), a
// free loopback port for a host-network service, and a one-shot HTTP probe.

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace dockmaster::test::docker_support {

/// The image built by `scripts/docker_engine.sh images` (or $DOCKMASTER_TEST_IMAGE).
std::string busybox_service_image();

struct container_spec {
  std::string name;
  std::string image;
  std::vector<std::string> env;              // "NAME=value"
  std::map<std::string, std::string> labels;
  std::vector<std::string> cmd;              // empty: the image's
  bool host_network = true;
  bool tty = false;  // Config.Tty: its log is then raw, not multiplexed
};

/// POST /containers/create; returns the id. Throws dockmaster::docker::engine_error.
std::string create_container(const std::string& socket, const container_spec& spec);
/// POST /containers/{id}/start. Throws dockmaster::docker::engine_error.
void start_container(const std::string& socket, const std::string& id);
/// POST /containers/{id}/stop?t=N. Throws dockmaster::docker::engine_error.
void stop_container(const std::string& socket, const std::string& id, int stop_seconds = 1);
/// DELETE /containers/{id}?force=true&v=true. Never throws: returns false when the
/// engine refused (a missing container counts as removed).
bool remove_container(const std::string& socket, const std::string& id_or_name);
/// Removes every container, running or not, that has the label `key=value`.
int remove_containers_labelled(const std::string& socket, const std::string& label);

/// A TCP port on 127.0.0.1 that was free a moment ago.
std::uint16_t free_loopback_port();

/// GET http://127.0.0.1:port/path: the status code, or -1 when nothing answered
/// (refused, reset, timeout, not HTTP).
int http_status(std::uint16_t port, const std::string& path,
                std::chrono::milliseconds timeout = std::chrono::seconds(2));

}  // namespace dockmaster::test::docker_support
