#pragma once

// What changes between two configs: what a reload applies, and what only a restart
// can (`dockmaster --check-config NEW --against OLD`, `POST /reload?dry_run=1`).

#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "config/config.hpp"

namespace dockmaster::config {

/// A route is named by its prefix and host (parse_config refuses two with both equal).
struct route_change {
  std::string prefix;
  std::string host;
  /// The fields that differ ("service", "strip_prefix"); empty for an added or removed
  /// route.
  std::vector<std::string> changed;
  /// The service it sends to (the new one for a modified route).
  std::string service;
};

struct service_change {
  std::string name;
  /// The parts that differ, in config order: "instances", "balance",
  /// "resolve_interval", "health", "restart", "hold".
  std::vector<std::string> changed;
  /// Configured host:port entries that were added or removed.
  std::vector<std::string> instances_added;
  std::vector<std::string> instances_removed;
};

/// A difference that a running dockmaster cannot apply: its key and why.
struct restart_item {
  std::string key;
  std::string reason;
};

struct config_diff {
  std::vector<route_change> routes_added, routes_removed, routes_modified;
  std::vector<std::string> services_added, services_removed;
  std::vector<service_change> services_modified;
  /// Top-level sections applied by a reload that differ: "cors", "hold", "timeouts",
  /// "limits", "log", "admin" (its public status_path), in that order.
  std::vector<std::string> settings_changed;
  /// What only a restart applies: "listen", "actor_system.io_threads",
  /// "actor_system.scheduler", "admin.listen", "admin.token", "docker.socket",
  /// "limits.max_client_connections".
  std::vector<restart_item> needs_restart;

  bool empty() const;
  /// {"routes":{"added":[...],"removed":[...],"modified":[...]},
  ///  "services":{"added":[...],"removed":[...],"modified":[...]},"settings":[...]};
  /// needs_restart is apart (needs_restart_json), as the reload answer lists it.
  nlohmann::json to_json() const;
  /// [{"key":..., "reason":...}, ...]
  nlohmann::json needs_restart_json() const;
  /// One line per difference ("route added: /b/ -> b"), or "no changes".
  std::string to_text() const;
};

config_diff diff_configs(const config& old, const config& neu);

/// Whether two restart sections are the same in every field.
bool same_restart(const restart_config& a, const restart_config& b);

}  // namespace dockmaster::config
