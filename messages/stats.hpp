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
  GAUGE(instances, single)                  /* addresses in the instance set */        \
  GAUGE(instances_healthy, single)          /* of which healthy */                     \
  GAUGE(restarts_running, single)           /* restarts under way */

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
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, traffic_delta& x) {
  return f(caf::meta::type_name("traffic_delta"), x.service, x.requests,
           x.upstream_connect_failures, x.upstream_retries);
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
