#pragma once

#include <functional>
#include <memory>
#include <set>
#include <string>

#include <boost/asio/ip/tcp.hpp>

#include "config/config.hpp"
#include "messages/stats.hpp"
#include "net/accept_control.hpp"
#include "net/cors.hpp"
#include "net/route_table.hpp"

namespace dockmaster::net {

/// What every I/O thread needs to serve requests and never changes after start:
/// built once and handed to each worker as a pointer to const.
struct proxy_settings {
  explicit proxy_settings(const config::config& cfg)
      : routes(cfg.routes), cors(cfg.cors), timeouts(cfg.timeouts), limits(cfg.limits),
        access_log(cfg.log.access_log), status_path(cfg.admin.status_path),
        accepting(std::make_shared<accept_control>(
            effective_max_client_connections(cfg.limits.max_client_connections))) {
    for (const auto& [name, service] : cfg.services) {
      balance_by_service.emplace(name, service.balance);
      if (service.health.fail_open) fail_open_services.insert(name);
    }
  }

  route_table routes;
  cors_responder cors;
  config::timeout_config timeouts;
  config::limit_config limits;
  bool access_log;
  std::string status_path;
  std::map<std::string, config::balance_policy> balance_by_service;
  /// Services that send to all instances when none is healthy, instead of a 503.
  std::set<std::string> fail_open_services;
  /// The one thing here that changes: the open client connections of every I/O thread
  /// together (limits.max_client_connections, resolved) and the listeners' log
  /// throttles, all thread-safe.
  std::shared_ptr<accept_control> accepting;
  /// Called on an I/O thread when a request could not reach an instance (passive
  /// health: the instance is probed at once). May be empty.
  std::function<void(const std::string& service, const boost::asio::ip::tcp::endpoint& endpoint,
                     const char* reason)>
      on_upstream_failure;
  /// Called on an I/O thread about once a second with what it counted since its last
  /// report, when it counted anything. May be empty.
  std::function<void(messages::traffic_report)> on_traffic;
};

}  // namespace dockmaster::net
