#include "actors/event_sink.hpp"

#include <nlohmann/json.hpp>

#include "actors/metrics_exposition.hpp"
#include "net/logging.hpp"
#include "net/utf8.hpp"

namespace dockmaster::actors {

using namespace messages;
using json = nlohmann::json;

namespace {

/// The status is published again at most this often for counts alone.
constexpr std::chrono::seconds count_publish_interval{1};

json result_json(const restart_result& r) {
  return {{"action", name(r.action)},   {"outcome", name(r.outcome)},
          {"container", r.container},   {"command", r.command},
          {"ran", r.ran},               {"finished", r.finished},
          {"exit_code", r.exit_code},   {"output_tail", net::valid_utf8(r.output_tail)},
          {"duration_ms", r.duration_ms}, {"error", net::valid_utf8(r.error)},
          {"log_tail", net::valid_utf8(r.log_tail)}, {"log_error", net::valid_utf8(r.log_error)}};
}

/// Into the history, and into the instance's timeline while it is in its set.
void remember(event_sink_state& state, const instance_id& id, json event) {
  if (auto found = state.instances.find(id); found != state.instances.end())
    found->second.timeline.add(event);
  state.history.push_back(event.dump());
  while (state.history.size() > state.history_limit) state.history.pop_front();
}

json event_json(event_kind kind, const instance_id& id) {
  return {{"time", net::utc_timestamp()},
          {"event", name(kind)},
          {"service", id.service},
          {"instance", id.endpoint()}};
}

/// "healthy" when every instance is, "degraded" when some are, "down" when none is,
/// "given_up" when the supervisor stopped restarting one of them.
std::string service_state(const event_sink_state& state, const std::string& service) {
  std::size_t total = 0, healthy = 0;
  bool given_up = false;
  for (const auto& [id, status] : state.instances) {
    if (id.service != service) continue;
    ++total;
    healthy += status.health == health_state::healthy;
    given_up |= status.given_up;
  }
  if (given_up) return "given_up";
  if (total == 0) return "unknown";
  if (healthy == total) return "healthy";
  return healthy == 0 ? "down" : "degraded";
}

/// The gauges, from the instances as they are now.
void set_gauges(const event_sink_state& state, const std::string& service, bool checked,
                service_stats& stats) {
  stats.instances = {};
  stats.instances_healthy = {};
  stats.restarts_running = {};
  for (const auto& [id, status] : state.instances) {
    if (id.service != service) continue;
    ++stats.instances[0];
    // Without health checks every instance is in rotation.
    stats.instances_healthy[0] += !checked || status.health == health_state::healthy;
    stats.restarts_running[0] += status.restarting;
  }
}

/// A grid stat as {outer: {inner: n}}, leaving out what is all zero.
template <class Outer, class Inner, std::size_t N>
json grid_json(const std::array<std::uint64_t, N>& values, grid<Outer, Inner>*) {
  json object = json::object();
  for (std::size_t o = 0; o < value_count<Outer>(); ++o) {
    json row = json::object();
    bool any = false;
    for (std::size_t i = 0; i < value_count<Inner>(); ++i) {
      auto n = values[grid<Outer, Inner>::index(static_cast<Outer>(o), static_cast<Inner>(i))];
      row[std::string(name(static_cast<Inner>(i)))] = n;
      any |= n != 0;
    }
    if (any) object[std::string(name(static_cast<Outer>(o)))] = std::move(row);
  }
  return object;
}

template <class Dimension, std::size_t N>
json values_json(const std::array<std::uint64_t, N>& values, Dimension) {
  if constexpr (std::is_same_v<Dimension, single>) {
    return values[0];
  } else if constexpr (is_grid<Dimension>::value) {
    return grid_json(values, static_cast<Dimension*>(nullptr));
  } else {
    json object = json::object();
    for (std::size_t i = 0; i < N; ++i) object[std::string(name(static_cast<Dimension>(i)))] = values[i];
    return object;
  }
}

json stats_json(const service_stats& stats) {
  json out = json::object();
  stats.for_each([&](std::string_view stat, bool, const auto& values, auto dimension) {
    out[std::string(stat)] = values_json(values, dimension);
  });
  return out;
}

void record_rates(event_sink_state& state, const std::string& service, const service_stats& stats) {
  std::uint64_t total = 0;
  for (auto n : stats.requests) total += n;
  state.rates[service].record(rate_history::clock::now(), total,
                              stats.requests[static_cast<std::size_t>(status_class::c5xx)]);
}

json rates_json(const event_sink_state& state, const std::string& service) {
  auto found = state.rates.find(service);
  return (found != state.rates.end() ? found->second : rate_history{}).to_json(rate_history::clock::now());
}

json config_json(const event_sink_state::config_status& c) {
  return {{"generation", c.generation},
          {"source", c.source},
          {"digest", c.digest},
          {"loaded_at", c.loaded_at},
          {"reloads", {{"ok", c.reloads_ok}, {"failed", c.reloads_failed}}},
          {"last_success_unix", c.last_success_unix},
          {"last_reload_at", c.last_reload_at},
          {"last_error", c.last_error},
          {"needs_restart", json::parse(c.needs_restart_json, nullptr, false)}};
}

/// Every configured service with its instances and stats, and the history, as JSON.
std::string render_status(const event_sink_state& state) {
  json services = json::object();
  for (const auto& [service_name, config] : state.services) {
    bool checked = config.health.kind != config::probe_kind::none;
    json instances = json::array();
    for (const auto& [id, status] : state.instances) {
      if (id.service != service_name) continue;
      json item{{"instance", id.endpoint()},
                {"configured", id.configured},
                {"health", checked ? std::string(name(status.health)) : std::string("not_checked")},
                {"since", status.since},
                {"reason", status.reason},
                {"restarts", status.restarts},
                {"restarting", status.restarting},
                {"given_up", status.given_up}};
      if (checked) item["probes"] = values_json(status.probes, probe_verdict{});
      if (!status.last_probe.empty()) item["last_probe"] = json::parse(status.last_probe);
      if (!status.last_restart.empty()) item["last_restart"] = json::parse(status.last_restart);
      item["timeline"] = status.timeline.entries_json();
      item["recent_probe_us"] = status.timeline.latencies_json();
      instances.push_back(std::move(item));
    }
    auto stats = current_stats(state, service_name);
    services[service_name] = {{"state", checked ? service_state(state, service_name)
                                                : std::string("not_checked")},
                              {"instances", std::move(instances)},
                              {"stats", stats_json(stats)}};
    services[service_name]["rates"] = rates_json(state, service_name);
  }
  json history = json::array();
  for (const auto& line : state.history) history.push_back(json::parse(line));
  return json{{"config", config_json(state.config_state)}, {"services", services}, {"history", history}}
      .dump();
}

}  // namespace

bool is_checked(const event_sink_state& state, const std::string& service) {
  auto found = state.services.find(service);
  return found != state.services.end() && found->second.health.kind != config::probe_kind::none;
}

service_stats current_stats(const event_sink_state& state, const std::string& service) {
  service_stats stats;
  if (auto found = state.stats.find(service); found != state.stats.end()) stats = found->second;
  set_gauges(state, service, is_checked(state, service), stats);
  return stats;
}

event_sink_impl::behavior_type event_sink(event_sink_impl::stateful_pointer<event_sink_state> self,
                                          std::map<std::string, config::service_config> services,
                                          http_acceptor_actor acceptor, bool publish_status) {
  self->state.services = std::move(services);
  self->state.acceptor = std::move(acceptor);
  self->state.publish_status = publish_status;
  self->state.config_loaded_unix_ms = net::unix_ms_now();
  // So that the I/O threads' traffic counts come here.
  if (self->state.acceptor)
    self->send(self->state.acceptor, register_atom::value, event_sink_actor{self});
  auto publish = [self] {
    self->state.publish_due = false;
    if (self->state.acceptor && self->state.publish_status)
      self->send(self->state.acceptor, status_snapshot{render_status(self->state)});
  };
  // Counts alone are published with the next event, or within a second.
  auto publish_soon = [self] {
    if (self->state.publish_due) return;
    self->state.publish_due = true;
    self->delayed_send(self, count_publish_interval, publish_atom::value);
  };
  publish();
  return {
      [self, publish](instance_added& added) {
        auto& state = self->state;
        if (!state.services.count(added.instance.service)) return;
        auto& status = state.instances[added.instance];
        status = event_sink_state::instance_status{};
        status.id = added.instance;
        status.since = net::utc_timestamp();
        net::log_event(spdlog::level::info, name(event_kind::instance_added),
                       {net::field("service", added.instance.service),
                        net::field("instance", added.instance.endpoint()),
                        net::field("configured", added.instance.configured)});
        auto record = event_json(event_kind::instance_added, added.instance);
        record["configured"] = added.instance.configured;
        remember(state, added.instance, std::move(record));
        publish();
      },
      [self, publish](instance_removed& removed) {
        auto& state = self->state;
        if (!state.instances.erase(removed.instance)) return;
        net::log_event(spdlog::level::info, name(event_kind::instance_removed),
                       {net::field("service", removed.instance.service),
                        net::field("instance", removed.instance.endpoint())});
        remember(state, removed.instance, event_json(event_kind::instance_removed, removed.instance));
        publish();
      },
      [self, publish](health_changed& change) {
        auto& state = self->state;
        auto level = change.to == health_state::unhealthy ? spdlog::level::warn : spdlog::level::info;
        net::log_event(level, name(event_kind::health_changed),
                       {net::field("service", change.instance.service),
                        net::field("instance", change.instance.endpoint()),
                        net::field("configured", change.instance.configured),
                        net::field("from", std::string(name(change.from))),
                        net::field("to", std::string(name(change.to))),
                        net::field("reason", change.reason),
                        net::field("verdict", std::string(name(change.verdict))),
                        net::number_field("consecutive", change.consecutive)});
        auto record = event_json(event_kind::health_changed, change.instance);
        record["from"] = name(change.from);
        record["to"] = name(change.to);
        record["reason"] = change.reason;
        auto found = state.instances.find(change.instance);
        if (found != state.instances.end()) {
          auto& status = found->second;
          status.health = change.to;
          status.since = record["time"];
          status.reason = change.reason;
        }
        remember(state, change.instance, std::move(record));
        publish();
      },
      [self, publish_soon](probe_result& result) {
        auto& state = self->state;
        auto found = state.instances.find(result.instance);
        if (found == state.instances.end()) return;
        auto verdict = static_cast<std::size_t>(result.verdict);
        if (verdict >= found->second.probes.size()) return;
        ++found->second.probes[verdict];
        auto& stats = state.stats[result.instance.service];
        ++stats.probes[verdict];
        ++stats.probe_duration[static_cast<std::size_t>(duration_bucket_of(result.duration_us))];
        stats.probe_duration_us[0] += result.duration_us;
        found->second.last_probe = json{{"time", net::utc_timestamp()},
                                        {"verdict", name(result.verdict)},
                                        {"detail", result.detail},
                                        {"duration_us", result.duration_us}}
                                       .dump();
        found->second.timeline.add_probe_latency(result.duration_us);
        publish_soon();
      },
      [self, publish_soon](traffic_report& report) {
        auto& state = self->state;
        for (const auto& delta : report.services) {
          if (!state.services.count(delta.service)) continue;
          auto& stats = state.stats[delta.service];
          for (std::size_t i = 0; i < delta.requests.size(); ++i) {
            stats.requests_by_method[i] += delta.requests[i];
            stats.requests[i % value_count<status_class>()] += delta.requests[i];
          }
          for (std::size_t i = 0; i < delta.request_duration.size(); ++i)
            stats.request_duration[i] += delta.request_duration[i];
          stats.request_duration_us[0] += delta.request_duration_us;
          // Each thread's gauges replace its previous ones; the stat is their sum.
          state.connections_by_thread[delta.service][report.thread] = delta.upstream_connections;
          stats.upstream_connections = {};
          for (const auto& [thread, counts] : state.connections_by_thread[delta.service])
            for (std::size_t i = 0; i < counts.size(); ++i) stats.upstream_connections[i] += counts[i];
          stats.upstream_connect_failures[0] += delta.upstream_connect_failures;
          stats.upstream_retries[0] += delta.upstream_retries;
          stats.held[0] += delta.held;
          for (std::size_t i = 0; i < delta.hold_outcomes.size(); ++i)
            stats.hold_outcomes[i] += delta.hold_outcomes[i];
          for (std::size_t i = 0; i < delta.hold_wait.size(); ++i) stats.hold_wait[i] += delta.hold_wait[i];
          stats.hold_wait_us[0] += delta.hold_wait_us;
          stats.hold_refused[0] += delta.hold_refused;
          // Every hold is counted once when it begins and once when it ends: the
          // difference is what waits now.
          std::uint64_t ended = 0;
          for (auto n : stats.hold_outcomes) ended += n;
          stats.requests_held[0] = stats.held[0] >= ended ? stats.held[0] - ended : 0;
          record_rates(state, delta.service, stats);
        }
        publish_soon();
      },
      [self, publish](publish_atom) {
        if (self->state.publish_due) publish();
      },
      [self, publish](supervisor_event& event) {
        auto& state = self->state;
        auto record = event_json(event.kind, event.instance);
        record["message"] = net::valid_utf8(event.message);
        auto found = state.instances.find(event.instance);
        auto* status = found != state.instances.end() ? &found->second : nullptr;
        switch (event.kind) {
          case event_kind::restart_started:
            if (status) {
              status->restarting = true;
              ++status->restarts;
            }
            break;
          case event_kind::restart_done:
          case event_kind::restart_failed:
          case event_kind::restart_skipped: {
            record["result"] = result_json(event.result);
            auto outcome = static_cast<std::size_t>(event.result.outcome);
            if (outcome < value_count<restart_outcome>()) {
              auto& stats = state.stats[event.instance.service];
              ++stats.restarts[outcome];
              ++stats.restarts_by_action[action_and_outcome::index(event.result.action, event.result.outcome)];
              // A skipped restart ran nothing and took no time worth a sample.
              if (event.result.ran) {
                auto us = event.result.duration_ms * 1000;
                ++stats.restart_duration[static_cast<std::size_t>(duration_bucket_of(us))];
                stats.restart_duration_us[0] += us;
              }
            }
            if (status) {
              status->restarting = false;
              // A skipped restart ran nothing: it is not counted as one.
              if (event.kind == event_kind::restart_skipped && status->restarts > 0) --status->restarts;
              status->last_restart = record["result"].dump();
            }
            break;
          }
          case event_kind::restart_given_up:
            if (status) status->given_up = true;
            break;
          case event_kind::recovered:
            if (status) status->given_up = false;
            break;
          default:
            break;
        }
        remember(state, event.instance, std::move(record));
        publish();
      },
      [self, publish](config_update& update) {
        // A service that is gone leaves the status; its instances were removed by its
        // proxy, and its counters go with it.
        auto& state = self->state;
        state.services = update.config->services;
        state.publish_status = !update.config->admin.status_path.empty();
        auto drop_gone = [&state](auto& by_service) {
          for (auto it = by_service.begin(); it != by_service.end();)
            it = state.services.count(it->first) ? std::next(it) : by_service.erase(it);
        };
        drop_gone(state.stats);
        drop_gone(state.rates);
        drop_gone(state.connections_by_thread);
        publish();
      },
      [self, publish](config_reloaded& event) {
        auto& c = self->state.config_state;
        if (event.at_start || (event.ok && !event.dry_run)) {
          c.generation = event.generation;
          c.source = event.source;
          c.digest = event.digest;
          c.loaded_at = event.loaded_at;
          c.needs_restart_json = event.needs_restart_json.empty() ? "[]" : event.needs_restart_json;
        }
        if (!event.at_start && !event.dry_run) {
          c.last_reload_at = net::utc_timestamp();
          if (event.ok) {
            ++c.reloads_ok;
            c.last_success_unix = std::chrono::duration_cast<std::chrono::seconds>(
                                      std::chrono::system_clock::now().time_since_epoch())
                                      .count();
            c.last_error.clear();
          } else {
            ++c.reloads_failed;
            c.last_error = event.error;
          }
        }
        publish();
      },
      [self](status_atom) -> std::string { return render_status(self->state); },
      [self](metrics_atom) -> std::string { return render_metrics(self->state); },
  };
}

}  // namespace dockmaster::actors
