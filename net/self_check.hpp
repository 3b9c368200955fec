#pragma once

#include <chrono>
#include <string>

#include "config/config.hpp"

namespace dockmaster::net {

/// The outcome of `dockmaster --health-check`: whether a running dockmaster answered
/// its status path with 200, and a line that says what happened.
struct self_check_result {
  bool healthy = false;
  std::string message;
};

/// Connects to `listen` (a wildcard address is checked on loopback) and sends
/// `GET path`; healthy when the answer is 200 within `timeout`. Blocking: meant for a
/// container HEALTHCHECK, which runs the binary itself because a FROM-scratch image
/// has no curl.
self_check_result check_running_instance(const config::host_port& listen, const std::string& path,
                                         std::chrono::milliseconds timeout);

}  // namespace dockmaster::net
