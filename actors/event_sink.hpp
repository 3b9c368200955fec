#pragma once

#include <array>
#include <chrono>
#include <deque>
#include <map>
#include <string>

#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/instance_timeline.hpp"
#include "actors/rate_history.hpp"
#include "config/config.hpp"
#include "messages/actor_types.hpp"

namespace dockmaster::actors {

struct event_sink_state {
  struct instance_status {
    messages::instance_id id;
    messages::health_state health = messages::health_state::unknown;
    std::string since;  // time of the last health change (or of its addition)
    std::string reason;
    std::uint64_t restarts = 0;
    bool restarting = false;
    bool given_up = false;
    std::string last_restart;  // JSON object of the last restart_result, or empty
    std::array<std::uint64_t, messages::value_count<messages::probe_verdict>()> probes{};
    std::string last_probe;  // JSON object of the latest probe, or empty
    instance_timeline timeline;  // its events and probe latencies, for the status page
  };

  std::map<std::string, config::service_config> services;
  messages::http_acceptor_actor acceptor;  // gets each new status for the status path
  /// Whether admin.status_path is set: otherwise nobody reads the published status, and
  /// rendering it (all instances with their timelines) on every event is skipped.
  bool publish_status = true;
  /// The instances that are in their service's set now; a removed one leaves this
  /// map (its events stay in the history).
  std::map<messages::instance_id, instance_status> instances;
  /// The counters of each service, kept across instance changes.
  std::map<std::string, messages::service_stats> stats;
  /// The upstream connection gauges of each service, per I/O thread (as of its latest
  /// report): the service's stat is their sum.
  std::map<std::string, std::map<std::uint64_t, std::array<std::uint64_t, 2>>> connections_by_thread;
  /// When the config running now was loaded (Unix ms).
  std::int64_t config_loaded_unix_ms = 0;
  /// The latest events, oldest first, as JSON lines.
  std::deque<std::string> history;
  std::size_t history_limit = 500;
  /// The config in force and how its reloads went: "config" in the status.
  struct config_status {
    std::uint64_t generation = 0;  // 1 at start, +1 per applied reload
    std::string source;            // the file, or "embedded default"
    std::string digest;            // FNV-1a 64 of its bytes
    std::string loaded_at;
    std::uint64_t reloads_ok = 0;      // applied (dry runs not counted)
    std::uint64_t reloads_failed = 0;  // rejected (dry runs not counted)
    std::int64_t last_success_unix = 0;  // seconds; 0: no reload applied yet
    std::string last_reload_at;  // the latest reload, applied or rejected
    std::string last_error;      // why the latest reload was rejected; empty after a success
    std::string needs_restart_json = "[]";  // what the config in force left for a restart
  };
  config_status config_state;
  /// Counts arrived that the published status does not show yet (published at most
  /// once a second, so that a thousand probes a second do not render a thousand times).
  bool publish_due = false;
  /// Requests and 5xx per 10 s of each service, for the status page's chart.
  std::map<std::string, rate_history> rates;

  static inline const char* name = "event_sink";
};

/// Where every actor reports what happened: each instance that comes or goes, each
/// health change and supervisor event becomes a structured log line, updates the
/// current state of its instance and joins a bounded history; probes and the I/O
/// threads' traffic counts feed the stats of DOCKMASTER_SERVICE_STATS. `status`
/// answers with all of it as JSON (with the config in force and its reloads under
/// "config", from config_reloaded; a config_update brings the services of a reload), and every change is sent to the acceptor, whose I/O
/// threads serve it on the status path.
/// Whether a service has health checks (else its instances are "not_checked", always in
/// rotation).
bool is_checked(const event_sink_state& state, const std::string& service);

/// A service's stats with its gauges set from the instances as they are now.
messages::service_stats current_stats(const event_sink_state& state, const std::string& service);

messages::event_sink_impl::behavior_type event_sink(
    messages::event_sink_impl::stateful_pointer<event_sink_state> self,
    std::map<std::string, config::service_config> services,
    messages::http_acceptor_actor acceptor, bool publish_status);

}  // namespace dockmaster::actors
