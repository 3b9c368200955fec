#pragma once

// The counters and gauges that dockmaster keeps per service, declared once in a list
// (Envoy's ALL_..._STATS(COUNTER, GAUGE) pattern): the struct's fields, the keys of the
// status JSON and (next) the metric names are all made from it, so they cannot drift.

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include <caf/meta/type_name.hpp>

#include "messages/vocabulary.hpp"

namespace dockmaster::messages {

/// The class of an answered request's status ("1xx" ... "5xx").
enum class status_class : std::uint8_t { c1xx, c2xx, c3xx, c4xx, c5xx };

namespace detail {
inline constexpr std::array<std::string_view, 5> status_class_names{"1xx", "2xx", "3xx", "4xx",
                                                                    "5xx"};
}  // namespace detail

template <>
constexpr std::size_t value_count<status_class>() { return detail::status_class_names.size(); }
constexpr std::string_view name(status_class x) { return detail::name_of(x, detail::status_class_names); }

/// The class of a status code; codes outside 100-599 count as 5xx.
constexpr status_class class_of(unsigned status) {
  return status >= 100 && status < 600 ? static_cast<status_class>(status / 100 - 1)
                                       : status_class::c5xx;
}

/// The buckets of the hold-time histogram, by upper bound (the last has none). Counts
/// per bucket, not cumulative: the metrics add them up.
enum class hold_wait_bucket : std::uint8_t {
  le_10ms, le_50ms, le_100ms, le_250ms, le_500ms, le_1s, le_2500ms, le_5s, le_10s, le_30s, longer
};

namespace detail {
inline constexpr std::array<std::string_view, 11> hold_wait_bucket_names{
    "le_10ms", "le_50ms", "le_100ms", "le_250ms", "le_500ms", "le_1s",
    "le_2500ms", "le_5s", "le_10s", "le_30s", "longer"};
/// The upper bounds in microseconds, of every bucket but the last.
inline constexpr std::array<std::uint64_t, 10> hold_wait_bucket_bounds_us{
    10'000, 50'000, 100'000, 250'000, 500'000, 1'000'000, 2'500'000, 5'000'000, 10'000'000, 30'000'000};
}  // namespace detail

template <>
constexpr std::size_t value_count<hold_wait_bucket>() { return detail::hold_wait_bucket_names.size(); }
constexpr std::string_view name(hold_wait_bucket x) { return detail::name_of(x, detail::hold_wait_bucket_names); }

/// The bucket of a wait of `us` microseconds.
constexpr hold_wait_bucket bucket_of(std::uint64_t us) {
  std::size_t i = 0;
  while (i < detail::hold_wait_bucket_bounds_us.size() && us > detail::hold_wait_bucket_bounds_us[i]) ++i;
  return static_cast<hold_wait_bucket>(i);
}

/// A request's method, as far as the metrics tell methods apart (a label per method
/// that clients make up would have no bound).
enum class request_method : std::uint8_t { GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS, other };

namespace detail {
inline constexpr std::array<std::string_view, 8> request_method_names{
    "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "other"};
}  // namespace detail

template <>
constexpr std::size_t value_count<request_method>() { return detail::request_method_names.size(); }
constexpr std::string_view name(request_method x) { return detail::name_of(x, detail::request_method_names); }

/// The method named `text` (case-sensitive, as RFC 9110 says), or `other`.
constexpr request_method method_of(std::string_view text) {
  for (std::size_t i = 0; i + 1 < detail::request_method_names.size(); ++i)
    if (detail::request_method_names[i] == text) return static_cast<request_method>(i);
  return request_method::other;
}

/// The buckets of the duration histograms (requests, probes, restarts), by upper bound;
/// the last has none. Counts per bucket, not cumulative: the metrics add them up.
enum class duration_bucket : std::uint8_t {
  le_1ms, le_5ms, le_10ms, le_25ms, le_50ms, le_100ms, le_250ms, le_500ms, le_1s, le_2500ms,
  le_5s, le_10s, le_30s, le_60s, longer
};

namespace detail {
inline constexpr std::array<std::string_view, 15> duration_bucket_names{
    "le_1ms", "le_5ms", "le_10ms", "le_25ms", "le_50ms", "le_100ms", "le_250ms", "le_500ms",
    "le_1s", "le_2500ms", "le_5s", "le_10s", "le_30s", "le_60s", "longer"};
inline constexpr std::array<std::uint64_t, 14> duration_bucket_bounds_us{
    1'000, 5'000, 10'000, 25'000, 50'000, 100'000, 250'000, 500'000, 1'000'000, 2'500'000,
    5'000'000, 10'000'000, 30'000'000, 60'000'000};
}  // namespace detail

template <>
constexpr std::size_t value_count<duration_bucket>() { return detail::duration_bucket_names.size(); }
constexpr std::string_view name(duration_bucket x) { return detail::name_of(x, detail::duration_bucket_names); }

/// The bucket of a duration of `us` microseconds.
constexpr duration_bucket duration_bucket_of(std::uint64_t us) {
  std::size_t i = 0;
  while (i < detail::duration_bucket_bounds_us.size() && us > detail::duration_bucket_bounds_us[i]) ++i;
  return static_cast<duration_bucket>(i);
}

/// The upper bound of every bucket but the last, in microseconds, for a bucket enum.
template <class Bucket>
constexpr const auto& bucket_bounds_us();
template <>
constexpr const auto& bucket_bounds_us<duration_bucket>() { return detail::duration_bucket_bounds_us; }
template <>
constexpr const auto& bucket_bounds_us<hold_wait_bucket>() { return detail::hold_wait_bucket_bounds_us; }

/// What an upstream connection of an I/O thread is doing.
enum class connection_state : std::uint8_t { active, idle };

namespace detail {
inline constexpr std::array<std::string_view, 2> connection_state_names{"active", "idle"};
}  // namespace detail

template <>
constexpr std::size_t value_count<connection_state>() { return detail::connection_state_names.size(); }
constexpr std::string_view name(connection_state x) { return detail::name_of(x, detail::connection_state_names); }

/// The dimension of a stat indexed by two enums: value (outer, inner) is at
/// outer * value_count<Inner>() + inner.
template <class Outer, class Inner>
struct grid {
  static constexpr std::size_t index(Outer outer, Inner inner) {
    return static_cast<std::size_t>(outer) * value_count<Inner>() + static_cast<std::size_t>(inner);
  }
};

template <class T>
struct is_grid : std::false_type {};
template <class Outer, class Inner>
struct is_grid<grid<Outer, Inner>> : std::true_type {};

template <class Outer, class Inner>
constexpr std::size_t grid_count(grid<Outer, Inner>*) { return value_count<Outer>() * value_count<Inner>(); }

/// The dimension of a stat that has a single value.
enum class single : std::uint8_t { value };
template <>
constexpr std::size_t value_count<single>() { return 1; }

/// COUNTER(name, dimension) and GAUGE(name, dimension): `dimension` is the enum whose
/// values index the stat (`single` for one value).
/// How many values a stat of `Dimension` has.
template <class Dimension>
constexpr std::size_t dimension_size() {
  if constexpr (is_grid<Dimension>::value) return grid_count(static_cast<Dimension*>(nullptr));
  else return value_count<Dimension>();
}

using method_and_class = grid<request_method, status_class>;
using action_and_outcome = grid<restart_action, restart_outcome>;

#define DOCKMASTER_SERVICE_STATS(COUNTER, GAUGE)                                          \
  COUNTER(requests, status_class)           /* answered, by status class */            \
  COUNTER(requests_by_method, method_and_class) /* the same by method and class */      \
  COUNTER(request_duration, duration_bucket) /* from head read to answer sent (histogram) */ \
  COUNTER(request_duration_us, single)      /* those durations added up, microseconds */ \
  COUNTER(upstream_connect_failures, single) /* connects to an instance that failed */ \
  COUNTER(upstream_retries, single)         /* requests tried on another instance */   \
  COUNTER(probes, probe_verdict)            /* health probes, by verdict */            \
  COUNTER(probe_duration, duration_bucket)  /* how long probes took (histogram) */      \
  COUNTER(probe_duration_us, single)        /* those durations added up, microseconds */ \
  COUNTER(restarts, restart_outcome)        /* restarts that ended, by outcome */      \
  COUNTER(restarts_by_action, action_and_outcome) /* the same by action and outcome */  \
  COUNTER(restart_duration, duration_bucket) /* how long restarts ran (histogram) */     \
  COUNTER(restart_duration_us, single)      /* those durations added up, microseconds */ \
  COUNTER(held, single)                     /* requests that waited for an instance */  \
  COUNTER(hold_outcomes, hold_outcome)      /* how those waits ended */                 \
  COUNTER(hold_wait, hold_wait_bucket)      /* how long they waited (histogram) */      \
  COUNTER(hold_wait_us, single)             /* their waits added up, microseconds */    \
  COUNTER(hold_refused, single)             /* 503 at once: hold full, body too large */ \
  GAUGE(instances, single)                  /* addresses in the instance set */        \
  GAUGE(instances_healthy, single)          /* of which healthy */                     \
  GAUGE(restarts_running, single)           /* restarts under way */                   \
  GAUGE(requests_held, single)              /* requests waiting now (as of the counts) */ \
  GAUGE(upstream_connections, connection_state) /* of every I/O thread, as of its counts */

/// One service's stats. Counters only grow; gauges are set.
struct service_stats {
#define DOCKMASTER_STAT_FIELD(stat, dimension) \
  std::array<std::uint64_t, dimension_size<dimension>()> stat{};
  DOCKMASTER_SERVICE_STATS(DOCKMASTER_STAT_FIELD, DOCKMASTER_STAT_FIELD)
#undef DOCKMASTER_STAT_FIELD

  /// Calls `f(name, is_counter, values, dimension{})` for every stat, in list order.
  template <class F>
  void for_each(F&& f) const {
#define DOCKMASTER_STAT_COUNTER(stat, dimension) f(std::string_view(#stat), true, stat, dimension{});
#define DOCKMASTER_STAT_GAUGE(stat, dimension) f(std::string_view(#stat), false, stat, dimension{});
    DOCKMASTER_SERVICE_STATS(DOCKMASTER_STAT_COUNTER, DOCKMASTER_STAT_GAUGE)
#undef DOCKMASTER_STAT_COUNTER
#undef DOCKMASTER_STAT_GAUGE
  }
};

/// What one I/O thread counted for one service since its previous report.
struct traffic_delta {
  std::string service;
  std::array<std::uint64_t, dimension_size<method_and_class>()> requests{};
  std::array<std::uint64_t, value_count<duration_bucket>()> request_duration{};
  std::uint64_t request_duration_us = 0;
  std::uint64_t upstream_connect_failures = 0;
  std::uint64_t upstream_retries = 0;
  std::uint64_t held = 0;  // holds begun
  std::array<std::uint64_t, value_count<hold_outcome>()> hold_outcomes{};  // holds ended
  std::array<std::uint64_t, value_count<hold_wait_bucket>()> hold_wait{};
  std::uint64_t hold_wait_us = 0;
  std::uint64_t hold_refused = 0;
  /// Gauges: this thread's upstream connections now, by connection_state.
  std::array<std::uint64_t, value_count<connection_state>()> upstream_connections{};

  /// Nothing counted (the gauges aside).
  bool empty() const {
    bool any = upstream_connect_failures != 0 || upstream_retries != 0 || held != 0 ||
               hold_refused != 0;
    for (auto n : requests) any |= n != 0;
    for (auto n : hold_outcomes) any |= n != 0;
    return !any;
  }
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, traffic_delta& x) {
  return f(caf::meta::type_name("traffic_delta"), x.service, x.requests,
           x.upstream_connect_failures, x.upstream_retries, x.held, x.hold_outcomes, x.hold_wait,
           x.hold_wait_us, x.hold_refused, x.request_duration, x.request_duration_us,
           x.upstream_connections);
}

/// An I/O thread's counts since its previous report (about once a second, only when
/// something was counted), sent to the event_sink: the hot path counts in plain fields
/// of its own thread and shares nothing.
struct traffic_report {
  /// Which I/O thread: the gauges of each are kept apart and added up.
  std::uint64_t thread = 0;
  std::vector<traffic_delta> services;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, traffic_report& x) {
  return f(caf::meta::type_name("traffic_report"), x.thread, x.services);
}

}  // namespace dockmaster::messages
