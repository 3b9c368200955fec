#pragma once

// Messages about the health of instances and about restarts.

#include <cstdint>
#include <string>
#include <vector>

#include <caf/meta/type_name.hpp>

#include "messages/vocabulary.hpp"

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
  probe_verdict verdict = probe_verdict::error;
  std::string detail;
  std::uint64_t duration_us = 0;

  bool passed() const { return verdict == probe_verdict::passed; }
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, probe_result& x) {
  return f(caf::meta::type_name("probe_result"), x.instance, x.verdict, x.detail, x.duration_us);
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

/// An address joined a service's instance set (at boot, a scale-up, a changed DNS
/// answer). Sent by the service's upstream_proxy to the restart_supervisor and the
/// event_sink, then to its health_watcher, so that whatever the watcher reports about
/// the instance arrives after the news that it exists.
struct instance_added {
  instance_id instance;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, instance_added& x) {
  return f(caf::meta::type_name("instance_added"), x.instance);
}

/// An address left the instance set (a recreated container with a new address, a
/// scale-down). Its probes, retries and backoffs end; the status no longer lists it,
/// the history keeps what happened to it. Sent like instance_added. A report about the
/// instance that arrives afterwards (from a watcher that had not heard yet) is ignored.
struct instance_removed {
  instance_id instance;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, instance_removed& x) {
  return f(caf::meta::type_name("instance_removed"), x.instance);
}

/// An instance changed state. Sent by its health_watcher to the service's
/// upstream_proxy, to the restart_supervisor and to the event_sink.
struct health_changed {
  instance_id instance;
  health_state from = health_state::unknown;
  health_state to = health_state::unknown;
  /// The last probe's detail, e.g. "HTTP 503" or "connection refused".
  std::string reason;
  probe_verdict verdict = probe_verdict::passed;  // of the last probe
  std::uint32_t consecutive = 0;  // probes in a row that led to the change
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, health_changed& x) {
  return f(caf::meta::type_name("health_changed"), x.instance, x.from, x.to, x.reason,
           x.verdict, x.consecutive);
}

/// Whether the supervisor still means to heal an instance: `expected` false once it has
/// given up on it, true again when it recovers by itself. Sent by the restart_supervisor
/// to the service's upstream_proxy, whose instance set tells the I/O threads whether
/// requests should wait for the instance.
struct heal_outlook {
  instance_id instance;
  bool expected = true;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, heal_outlook& x) {
  return f(caf::meta::type_name("heal_outlook"), x.instance, x.expected);
}

/// What to run for a restart: the configured command in the instance's container
/// (executor "docker"), the container restart itself (escalation), or the command on
/// the host (executor "local").
struct restart_request {
  instance_id instance;
  restart_action action = restart_action::exec;
  std::vector<std::string> command;
  std::string user;
  std::vector<std::string> env;
  std::string working_dir;
  std::string container;        // explicit container name, or empty
  std::string compose_project;  // label filters when `container` is empty
  std::string compose_service;
  std::uint64_t timeout_ms = 15000;
  /// The container that served the instance when it was last healthy (its id), if
  /// known: a different container found now is a replacement and is not touched.
  std::string served_by;
  /// When the instance turned unhealthy (Unix ms): a container created after that
  /// cannot be the one that failed, and is not touched either.
  std::int64_t failed_at_unix_ms = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, restart_request& x) {
  return f(caf::meta::type_name("restart_request"), x.instance, x.action, x.command, x.user,
           x.env, x.working_dir, x.container, x.compose_project, x.compose_service,
           x.timeout_ms, x.served_by, x.failed_at_unix_ms);
}

/// How a restart went. `ran` is false when it could not be run at all (no Docker
/// engine, no matching container, the engine refused, or on purpose: `skipped`);
/// then `error` says why. `log_tail`: the container's last log lines, taken just
/// before the action ran on it (docker executor only; `log_error` says why not).
struct restart_result {
  instance_id instance;
  restart_action action = restart_action::exec;
  restart_outcome outcome = restart_outcome::not_run;
  std::string container;  // the container id (docker executors)
  std::string command;    // the argv joined, for logs
  bool ran = false;
  bool finished = false;  // false: timed out
  std::int32_t exit_code = -1;
  std::string output_tail;
  std::uint64_t duration_ms = 0;
  std::string error;
  std::string log_tail;   // timestamped lines, stdout and stderr interleaved
  std::string log_error;  // the logs could not be read (the action ran all the same)
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, restart_result& x) {
  return f(caf::meta::type_name("restart_result"), x.instance, x.action, x.outcome, x.container,
           x.command, x.ran, x.finished, x.exit_code, x.output_tail, x.duration_ms, x.error,
           x.log_tail, x.log_error);
}

/// The supervisor asks a watcher to judge an instance afresh (unknown, start period
/// again): after a restart ran, or after one was skipped because the container found
/// was not the one that failed. `reason` goes into the health change it causes.
/// `grace_ms`: the post-restart grace; failures do not count for max(start_period,
/// grace) unless the instance turns healthy first.
struct judge_afresh {
  instance_id instance;
  std::string reason;
  std::uint64_t grace_ms = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, judge_afresh& x) {
  return f(caf::meta::type_name("judge_afresh"), x.instance, x.reason, x.grace_ms);
}

/// Which container serves an instance now, asked of the docker executor when the
/// instance turns healthy, so that a later restart can tell the container that served
/// it from one that replaced it.
struct identify_request {
  instance_id instance;
  std::string container;  // explicit container name, or empty
  std::string compose_project;
  std::string compose_service;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, identify_request& x) {
  return f(caf::meta::type_name("identify_request"), x.instance, x.container, x.compose_project,
           x.compose_service);
}

/// The answer: the container's id and name, or `error` (then `id` is empty).
struct container_identity {
  instance_id instance;
  std::string id;
  std::string name;
  std::string error;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, container_identity& x) {
  return f(caf::meta::type_name("container_identity"), x.instance, x.id, x.name, x.error);
}

/// A supervisor decision worth recording (restart_started, restart_done,
/// restart_failed, restart_skipped, restart_backoff, restart_given_up, recovered).
/// Sent to the event_sink.
struct supervisor_event {
  instance_id instance;
  event_kind kind = event_kind::restart_started;
  std::string message;
  restart_result result;  // for restart_done / restart_failed / restart_skipped
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, supervisor_event& x) {
  return f(caf::meta::type_name("supervisor_event"), x.instance, x.kind, x.message, x.result);
}

}  // namespace dockmaster::messages
