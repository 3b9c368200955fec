#pragma once

#include <algorithm>
#include <chrono>
#include <functional>
#include <map>
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

/// What every I/O thread needs to serve requests: built from the config and handed to
/// each worker as a pointer to const. A reload builds new settings and each worker
/// swaps them in between requests; a request keeps the settings it started with
/// (client_session holds them) until it ends.
struct proxy_settings {
  explicit proxy_settings(const config::config& cfg)
      : routes(cfg.routes), cors(cfg.cors), timeouts(cfg.timeouts), limits(cfg.limits),
        access_log(cfg.log.access_log), status_path(cfg.admin.status_path),
        accepting(std::make_shared<accept_control>(
            effective_max_client_connections(cfg.limits.max_client_connections))) {
    const std::size_t threads = std::max<std::size_t>(cfg.actor_system.io_threads, 1);
    for (const auto& [name, service] : cfg.services) {
      balance_by_service.emplace(name, service.balance);
      if (service.health.fail_open) fail_open_services.insert(name);
      if (service.health.kind != config::probe_kind::none)
        probe_timeout_by_service.emplace(name, service.health.timeout);
      if (service.hold.timeout.count() > 0 && service.hold.max_requests > 0 &&
          service.health.kind != config::probe_kind::none &&
          service.restart.executor != config::restart_executor::none)
        hold_by_service.emplace(
            name, service_hold{service.hold.timeout,
                               (service.hold.max_requests + threads - 1) / threads,
                               service.hold.max_body_bytes,
                               service.health.next_interval(true)});
    }
  }

  /// The settings of a reloaded config. What the threads share for the life of the
  /// process carries over from `previous`: the connection count (and so the limit,
  /// which only a restart changes) and the callbacks.
  proxy_settings(const config::config& cfg, const proxy_settings& previous) : proxy_settings(cfg) {
    accepting = previous.accepting;
    on_upstream_failure = previous.on_upstream_failure;
    on_traffic = previous.on_traffic;
  }

  /// How requests to one service wait for an instance that is coming back.
  struct service_hold {
    std::chrono::milliseconds timeout;
    /// hold.max_requests shared out over the I/O threads (rounded up).
    std::size_t max_requests_per_thread;
    std::uint64_t max_body_bytes;
    /// A request held because its instance refused the connection while still listed
    /// healthy tries again after this (the probe cadence while a failure streak runs),
    /// in case the refusal was a blip and no change of health ever comes.
    std::chrono::milliseconds recheck;
  };

  /// The hold of `service`, or nullptr: its requests never wait.
  const service_hold* hold_of(const std::string& service) const {
    auto found = hold_by_service.find(service);
    return found == hold_by_service.end() ? nullptr : &found->second;
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
  /// The probe timeout of every service with health checks: a request that waits longer
  /// for its response head tells the watcher, which probes the instance at once (a hung
  /// service is found as soon as a refused one).
  std::map<std::string, std::chrono::milliseconds> probe_timeout_by_service;
  /// Services whose requests may wait for an instance (with a restart and a hold).
  std::map<std::string, service_hold> hold_by_service;
  /// The one thing here that changes, and is shared across reloads: the open client
  /// connections of every I/O thread together (limits.max_client_connections, resolved) and the listeners' log
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
