#pragma once

// The closed sets of names that travel between actors: health states, probe failure
// kinds, restart actions and outcomes, and the kinds of recorded events. Each enum has
// one name table, used alike by the logs, the status JSON and the metrics, so that the
// same event can never be spelled two ways.

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace dockmaster::messages {

/// An instance's health as its watcher judges it.
enum class health_state : std::uint8_t { unknown, healthy, unhealthy };

/// A probe's verdict: passed, or the kind of failure.
enum class probe_verdict : std::uint8_t {
  passed,
  refused,        // connection refused
  timeout,        // no verdict within health.timeout
  http_status,    // answered with a status outside the expected range
  body_mismatch,  // the body lacks health.http.body_contains, or is too large
  closed,         // closed or reset before a complete response
  malformed,      // not a readable HTTP response
  error,          // any other error (unreachable network, bad address, ...)
};

/// What a restart does.
enum class restart_action : std::uint8_t {
  exec,               // the service's command inside its container (Docker Engine API)
  restart_container,  // the container itself (escalation, or when configured so)
  local,              // the service's command on dockmaster's host
};

/// How a restart ended.
enum class restart_outcome : std::uint8_t {
  ok,         // ran and exited 0 (or the container restart was accepted)
  failed,     // ran and exited non-zero, or the engine refused it
  timed_out,  // ran past its timeout
  not_run,    // could not be run at all (no engine, no container)
  skipped,    // not run on purpose: the container found is not the one that failed
  abandoned,  // dockmaster shut down, or the executor did not answer in time
};

/// How a request that waited for an instance (a hold) ended.
enum class hold_outcome : std::uint8_t {
  released,     // an instance turned healthy: it went out
  timed_out,    // hold.timeout passed: 503 with Retry-After
  client_gone,  // the client closed its connection while it waited
  abandoned,    // nothing is coming back any more (the supervisor gave up, the instances
                // left), or dockmaster is stopping: 503
};

/// What the event sink records: every health change and supervisor decision.
enum class event_kind : std::uint8_t {
  instance_added,
  instance_removed,
  health_changed,
  restart_started,
  restart_done,
  restart_failed,
  restart_skipped,
  restart_backoff,
  restart_given_up,
  recovered,
};

namespace detail {

inline constexpr std::array<std::string_view, 3> health_state_names{"unknown", "healthy",
                                                                    "unhealthy"};
inline constexpr std::array<std::string_view, 8> probe_verdict_names{
    "passed", "refused", "timeout", "http_status", "body_mismatch", "closed", "malformed", "error"};
inline constexpr std::array<std::string_view, 3> restart_action_names{"exec", "restart_container",
                                                                      "local"};
inline constexpr std::array<std::string_view, 6> restart_outcome_names{
    "ok", "failed", "timed_out", "not_run", "skipped", "abandoned"};
inline constexpr std::array<std::string_view, 4> hold_outcome_names{"released", "timed_out",
                                                                   "client_gone", "abandoned"};
inline constexpr std::array<std::string_view, 10> event_kind_names{
    "instance_added",  "instance_removed", "health_changed",  "restart_started",
    "restart_done",    "restart_failed",   "restart_skipped", "restart_backoff",
    "restart_given_up", "recovered"};

template <class Enum, std::size_t N>
constexpr std::string_view name_of(Enum value, const std::array<std::string_view, N>& names) {
  auto index = static_cast<std::size_t>(value);
  return index < N ? names[index] : std::string_view("invalid");
}

}  // namespace detail

/// The number of values of each enum, for tables indexed by them.
template <class Enum>
constexpr std::size_t value_count();
template <>
constexpr std::size_t value_count<health_state>() { return detail::health_state_names.size(); }
template <>
constexpr std::size_t value_count<probe_verdict>() { return detail::probe_verdict_names.size(); }
template <>
constexpr std::size_t value_count<restart_action>() { return detail::restart_action_names.size(); }
template <>
constexpr std::size_t value_count<restart_outcome>() { return detail::restart_outcome_names.size(); }
template <>
constexpr std::size_t value_count<hold_outcome>() { return detail::hold_outcome_names.size(); }
template <>
constexpr std::size_t value_count<event_kind>() { return detail::event_kind_names.size(); }

constexpr std::string_view name(health_state x) { return detail::name_of(x, detail::health_state_names); }
constexpr std::string_view name(probe_verdict x) { return detail::name_of(x, detail::probe_verdict_names); }
constexpr std::string_view name(restart_action x) { return detail::name_of(x, detail::restart_action_names); }
constexpr std::string_view name(restart_outcome x) { return detail::name_of(x, detail::restart_outcome_names); }
constexpr std::string_view name(hold_outcome x) { return detail::name_of(x, detail::hold_outcome_names); }
constexpr std::string_view name(event_kind x) { return detail::name_of(x, detail::event_kind_names); }

/// For CAF's message printing and for gtest, found by argument-dependent lookup.
template <class Enum, class = decltype(name(Enum{}))>
std::string to_string(Enum x) {
  return std::string(name(x));
}

}  // namespace dockmaster::messages
