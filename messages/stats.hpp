#pragma once

// The counters and gauges that dockmaster keeps per service, declared once in a list
// (Envoy's ALL_..._STATS(COUNTER, GAUGE) pattern): the struct's fields, the keys of the
// status JSON and (next) the metric names are all made from it, so they cannot drift.

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
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

/// The dimension of a stat that has a single value.
enum class single : std::uint8_t { value };
template <>
constexpr std::size_t value_count<single>() { return 1; }

/// COUNTER(name, dimension) and GAUGE(name, dimension): `dimension` is the enum whose
/// values index the stat (`single` for one value).
#define DOCKMASTER_SERVICE_STATS(COUNTER, GAUGE)                                          \
  COUNTER(requests, status_class)           /* answered, by status class */            \
  COUNTER(upstream_connect_failures, single) /* connects to an instance that failed */ \
  COUNTER(upstream_retries, single)         /* requests tried on another instance */   \
  COUNTER(probes, probe_verdict)            /* health probes, by verdict */            \
  COUNTER(restarts, restart_outcome)        /* restarts that ended, by outcome */      \
  COUNTER(held, single)                     /* requests that waited for an instance */  \
  COUNTER(hold_outcomes, hold_outcome)      /* how those waits ended */                 \
  COUNTER(hold_wait, hold_wait_bucket)      /* how long they waited (histogram) */      \
  COUNTER(hold_wait_us, single)             /* their waits added up, microseconds */    \
  COUNTER(hold_refused, single)             /* 503 at once: hold full, body too large */ \
  GAUGE(instances, single)                  /* addresses in the instance set */        \
  GAUGE(instances_healthy, single)          /* of which healthy */                     \
  GAUGE(restarts_running, single)           /* restarts under way */                   \
  GAUGE(requests_held, single)              /* requests waiting now (as of the counts) */

/// One service's stats. Counters only grow; gauges are set.
struct service_stats {
#define DOCKMASTER_STAT_FIELD(stat, dimension) \
  std::array<std::uint64_t, value_count<dimension>()> stat{};
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
  std::array<std::uint64_t, value_count<status_class>()> requests{};
  std::uint64_t upstream_connect_failures = 0;
  std::uint64_t upstream_retries = 0;
  std::uint64_t held = 0;  // holds begun
  std::array<std::uint64_t, value_count<hold_outcome>()> hold_outcomes{};  // holds ended
  std::array<std::uint64_t, value_count<hold_wait_bucket>()> hold_wait{};
  std::uint64_t hold_wait_us = 0;
  std::uint64_t hold_refused = 0;

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
           x.hold_wait_us, x.hold_refused);
}

/// An I/O thread's counts since its previous report (about once a second, only when
/// something was counted), sent to the event_sink: the hot path counts in plain fields
/// of its own thread and shares nothing.
struct traffic_report {
  std::vector<traffic_delta> services;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, traffic_report& x) {
  return f(caf::meta::type_name("traffic_report"), x.services);
}

}  // namespace dockmaster::messages
