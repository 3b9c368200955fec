#pragma once

// Messages about the health of instances and about restarts.

#include <cstdint>
#include <string>
#include <vector>

#include <caf/meta/type_name.hpp>

namespace dockmaster::messages {

/// One instance of a service, as the health and restart actors name it.
struct instance_id {
  std::string service;
  std::string configured;  // the configured host:port it came from
  std::string address;     // numeric IP
  std::uint16_t port = 0;

  std::string endpoint() const { return address + ":" + std::to_string(port); }
};

inline bool operator==(const instance_id& a, const instance_id& b) {
  return a.service == b.service && a.address == b.address && a.port == b.port;
}

inline bool operator<(const instance_id& a, const instance_id& b) {
  if (a.service != b.service) return a.service < b.service;
  if (a.address != b.address) return a.address < b.address;
  return a.port < b.port;
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, instance_id& x) {
  return f(caf::meta::type_name("instance_id"), x.service, x.configured, x.address, x.port);
}

/// One probe's outcome, sent by the prober's callback to the watcher that asked.
struct probe_result {
  instance_id instance;
  bool passed = false;
  std::string detail;
  std::uint64_t duration_us = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, probe_result& x) {
  return f(caf::meta::type_name("probe_result"), x.instance, x.passed, x.detail, x.duration_us);
}

/// Passive health: a proxied request could not reach an instance (connection refused
/// or timed out, reset before a response). From an I/O thread through the acceptor and
/// the service's upstream_proxy to its health_watcher, which probes the instance at
/// once instead of at its next interval. Not a failure by itself: only probes judge.
struct upstream_failure {
  std::string service;
  std::string address;  // numeric IP
  std::uint16_t port = 0;
  std::string reason;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, upstream_failure& x) {
  return f(caf::meta::type_name("upstream_failure"), x.service, x.address, x.port, x.reason);
}

/// An instance changed state ("unknown", "healthy", "unhealthy"). Sent by its
/// health_watcher to the service's upstream_proxy, to the restart_supervisor and to
/// the event_sink.
struct health_changed {
  instance_id instance;
  std::string from;
  std::string to;
  /// The last probe's detail, e.g. "HTTP 503" or "connection refused".
  std::string reason;
  std::uint32_t consecutive = 0;  // probes in a row that led to the change
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, health_changed& x) {
  return f(caf::meta::type_name("health_changed"), x.instance, x.from, x.to, x.reason,
           x.consecutive);
}

/// What to run for a restart: the configured command in the instance's container
/// (executor "docker"), the container restart itself (escalation), or the command on
/// the host (executor "local").
struct restart_request {
  instance_id instance;
  std::string action;  // "exec", "restart_container" or "local"
  std::vector<std::string> command;
  std::string user;
  std::vector<std::string> env;
  std::string working_dir;
  std::string container;        // explicit container name, or empty
  std::string compose_project;  // label filters when `container` is empty
  std::string compose_service;
  std::uint64_t timeout_ms = 15000;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, restart_request& x) {
  return f(caf::meta::type_name("restart_request"), x.instance, x.action, x.command, x.user,
           x.env, x.working_dir, x.container, x.compose_project, x.compose_service,
           x.timeout_ms);
}

/// How a restart went. `ran` is false when it could not be run at all (no Docker
/// engine, no matching container, the engine refused); then `error` says why.
struct restart_result {
  instance_id instance;
  std::string action;
  std::string container;  // the container id (docker executors)
  std::string command;    // the argv joined, for logs
  bool ran = false;
  bool finished = false;  // false: timed out
  std::int32_t exit_code = -1;
  std::string output_tail;
  std::uint64_t duration_ms = 0;
  std::string error;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, restart_result& x) {
  return f(caf::meta::type_name("restart_result"), x.instance, x.action, x.container, x.command,
           x.ran, x.finished, x.exit_code, x.output_tail, x.duration_ms, x.error);
}

/// A restart finished for an instance: its watcher starts the start period again.
struct instance_restarted {
  instance_id instance;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, instance_restarted& x) {
  return f(caf::meta::type_name("instance_restarted"), x.instance);
}

/// A supervisor decision worth recording: "restart_started", "restart_done",
/// "restart_failed", "backoff", "given_up", "recovered". Sent to the event_sink.
struct supervisor_event {
  instance_id instance;
  std::string kind;
  std::string message;
  restart_result result;  // for restart_done / restart_failed
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, supervisor_event& x) {
  return f(caf::meta::type_name("supervisor_event"), x.instance, x.kind, x.message, x.result);
}

}  // namespace dockmaster::messages
