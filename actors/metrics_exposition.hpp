#pragma once

// The event sink's stats in the Prometheus text exposition format (version 0.0.4):
// base units (seconds, bytes), `_total` counters, histograms with cumulative buckets,
// and labels of bounded cardinality only (service, instance, status class, method,
// result), never a path or a request id.

#include <string>

namespace dockmaster::actors {

struct event_sink_state;

/// Every metric of every service and instance, then dockmaster's own
/// (build, config reloads, process).
std::string render_metrics(const event_sink_state& state);

/// Escapes a label value: backslash, double quote and line feed.
std::string escape_label_value(const std::string& value);

}  // namespace dockmaster::actors
