#include "config/diff.hpp"

#include <algorithm>
#include <set>

#include <nlohmann/json.hpp>

namespace dockmaster::config {

using json = nlohmann::json;

namespace {

// Each part of the config as a canonical JSON value: two parts are equal when these
// are, and a new field only needs adding here.

std::string text(const host_port& hp) { return hp.host + ":" + std::to_string(hp.port); }

json hold_json(const hold_config& h) {
  return {h.timeout.count(), h.max_requests, h.max_body_bytes};
}

json health_json(const health_config& h) {
  return {static_cast<int>(h.kind), h.http.method, h.http.path, h.http.status_min, h.http.status_max,
          h.http.body_contains, h.http.host, h.interval.count(), h.fast_interval.count(),
          h.timeout.count(), h.unhealthy_after, h.healthy_after, h.start_period.count(), h.fail_open,
          h.jitter_percent};
}

json restart_json(const restart_config& r) {
  return {static_cast<int>(r.executor), r.command, r.container_restart_only, r.user, r.env,
          r.working_dir, r.container, r.compose_project, r.compose_service, r.timeout.count(),
          r.grace ? json(r.grace->count()) : json(nullptr), r.backoff_initial.count(),
          r.backoff_max.count(), r.backoff_multiplier, r.max_restarts, r.window.count(),
          r.escalate_after_failed, r.escalate_stop_timeout.count()};
}

json cors_json(const cors_policy& c) {
  return {c.allow_origins, c.allow_methods, c.allow_headers, c.expose_headers, c.allow_credentials,
          c.max_age.count()};
}

json timeouts_json(const timeout_config& t) {
  return {t.connect.count(),      t.upstream_response.count(), t.client_header.count(),
          t.client_idle.count(),  t.upstream_idle.count(),     t.tunnel_idle.count(),
          t.drain.count()};
}

/// Without max_client_connections, which only a restart applies.
json limits_json(const limit_config& l) {
  return {l.max_header_bytes, l.max_body_bytes, l.max_idle_upstream_connections};
}

json log_json(const log_config& l) { return {l.level, l.format, l.access_log}; }

json route_json(const route_change& r) {
  json out{{"prefix", r.prefix}, {"host", r.host}, {"service", r.service}};
  if (!r.changed.empty()) out["changed"] = r.changed;
  return out;
}

std::string route_name(const route_change& r) {
  return r.prefix + (r.host.empty() ? "" : " (host " + r.host + ")");
}

std::string joined(const std::vector<std::string>& words) {
  std::string out;
  for (const auto& w : words) out += (out.empty() ? "" : ", ") + w;
  return out;
}

const route* find_route(const config& cfg, const route& wanted) {
  for (const auto& r : cfg.routes)
    if (r.prefix == wanted.prefix && r.host == wanted.host) return &r;
  return nullptr;
}

std::vector<std::string> instance_texts(const service_config& s) {
  std::vector<std::string> out;
  for (const auto& hp : s.instances) out.push_back(text(hp));
  return out;
}

service_change compare_services(const service_config& a, const service_config& b) {
  service_change change;
  change.name = b.name;
  auto before = instance_texts(a), after = instance_texts(b);
  for (const auto& i : after)
    if (std::find(before.begin(), before.end(), i) == before.end()) change.instances_added.push_back(i);
  for (const auto& i : before)
    if (std::find(after.begin(), after.end(), i) == after.end()) change.instances_removed.push_back(i);
  // Reordered instances only change the order of the set: also a change.
  if (before != after) change.changed.push_back("instances");
  if (a.balance != b.balance) change.changed.push_back("balance");
  if (a.resolve_interval != b.resolve_interval) change.changed.push_back("resolve_interval");
  if (health_json(a.health) != health_json(b.health)) change.changed.push_back("health");
  if (restart_json(a.restart) != restart_json(b.restart)) change.changed.push_back("restart");
  if (hold_json(a.hold) != hold_json(b.hold)) change.changed.push_back("hold");
  return change;
}

}  // namespace

config_diff diff_configs(const config& old, const config& neu) {
  config_diff d;
  for (const auto& r : neu.routes) {
    const auto* before = find_route(old, r);
    if (!before) {
      d.routes_added.push_back({r.prefix, r.host, {}, r.service});
      continue;
    }
    route_change change{r.prefix, r.host, {}, r.service};
    if (before->service != r.service) change.changed.push_back("service");
    if (before->strip_prefix != r.strip_prefix) change.changed.push_back("strip_prefix");
    if (!change.changed.empty()) d.routes_modified.push_back(std::move(change));
  }
  for (const auto& r : old.routes)
    if (!find_route(neu, r)) d.routes_removed.push_back({r.prefix, r.host, {}, r.service});

  for (const auto& [name, service] : neu.services) {
    auto before = old.services.find(name);
    if (before == old.services.end()) {
      d.services_added.push_back(name);
      continue;
    }
    auto change = compare_services(before->second, service);
    if (!change.changed.empty()) d.services_modified.push_back(std::move(change));
  }
  for (const auto& [name, service] : old.services)
    if (!neu.services.count(name)) d.services_removed.push_back(name);

  if (cors_json(old.cors) != cors_json(neu.cors)) d.settings_changed.push_back("cors");
  if (hold_json(old.hold) != hold_json(neu.hold)) d.settings_changed.push_back("hold");
  if (timeouts_json(old.timeouts) != timeouts_json(neu.timeouts)) d.settings_changed.push_back("timeouts");
  if (limits_json(old.limits) != limits_json(neu.limits)) d.settings_changed.push_back("limits");
  if (log_json(old.log) != log_json(neu.log)) d.settings_changed.push_back("log");
  if (old.admin.status_path != neu.admin.status_path) d.settings_changed.push_back("admin");

  auto addresses = [](const config& c) {
    std::vector<std::string> out;
    for (const auto& hp : c.listen) out.push_back(text(hp));
    return out;
  };
  if (addresses(old) != addresses(neu))
    d.needs_restart.push_back({"listen", "the listening sockets are bound at start (was " +
                                             joined(addresses(old)) + ", now " +
                                             joined(addresses(neu)) + ")"});
  if (old.actor_system.io_threads != neu.actor_system.io_threads)
    d.needs_restart.push_back({"actor_system.io_threads",
                               "the I/O threads are started at start (" +
                                   std::to_string(old.actor_system.io_threads) + " run, " +
                                   std::to_string(neu.actor_system.io_threads) + " configured)"});
  const auto& so = old.actor_system.scheduler;
  const auto& sn = neu.actor_system.scheduler;
  if (so.policy != sn.policy || so.max_threads != sn.max_threads || so.max_throughput != sn.max_throughput)
    d.needs_restart.push_back({"actor_system.scheduler", "the actor scheduler is set up at start"});
  auto admin_address = [](const config& c) { return c.admin.listen ? text(*c.admin.listen) : std::string("off"); };
  if (admin_address(old) != admin_address(neu))
    d.needs_restart.push_back({"admin.listen", "the admin listener is bound at start (was " + admin_address(old) +
                                                   ", now " + admin_address(neu) + ")"});
  if (old.admin.token != neu.admin.token)
    d.needs_restart.push_back({"admin.token", "the admin listener takes its token at start"});
  if (old.docker.socket != neu.docker.socket)
    d.needs_restart.push_back({"docker.socket", "the Docker engine client is opened at start"});
  if (old.limits.max_client_connections != neu.limits.max_client_connections)
    d.needs_restart.push_back({"limits.max_client_connections",
                               "the client connection limit is shared by the I/O threads from start"});
  return d;
}

bool same_restart(const restart_config& a, const restart_config& b) {
  return restart_json(a) == restart_json(b);
}

bool config_diff::empty() const {
  return routes_added.empty() && routes_removed.empty() && routes_modified.empty() &&
         services_added.empty() && services_removed.empty() && services_modified.empty() &&
         settings_changed.empty() && needs_restart.empty();
}

json config_diff::to_json() const {
  auto routes = [](const std::vector<route_change>& list) {
    json out = json::array();
    for (const auto& r : list) out.push_back(route_json(r));
    return out;
  };
  json modified = json::array();
  for (const auto& s : services_modified)
    modified.push_back({{"name", s.name},
                        {"changed", s.changed},
                        {"instances_added", s.instances_added},
                        {"instances_removed", s.instances_removed}});
  return {{"routes",
           {{"added", routes(routes_added)}, {"removed", routes(routes_removed)}, {"modified", routes(routes_modified)}}},
          {"services",
           {{"added", services_added}, {"removed", services_removed}, {"modified", std::move(modified)}}},
          {"settings", settings_changed}};
}

json config_diff::needs_restart_json() const {
  json out = json::array();
  for (const auto& item : needs_restart) out.push_back({{"key", item.key}, {"reason", item.reason}});
  return out;
}

std::string config_diff::to_text() const {
  if (empty()) return "no changes\n";
  std::string out;
  for (const auto& r : routes_added) out += "route added: " + route_name(r) + " -> " + r.service + "\n";
  for (const auto& r : routes_removed) out += "route removed: " + route_name(r) + " -> " + r.service + "\n";
  for (const auto& r : routes_modified)
    out += "route modified: " + route_name(r) + " -> " + r.service + " (" + joined(r.changed) + ")\n";
  for (const auto& s : services_added) out += "service added: " + s + "\n";
  for (const auto& s : services_removed) out += "service removed: " + s + "\n";
  for (const auto& s : services_modified) {
    out += "service modified: " + s.name + " (" + joined(s.changed) + ")\n";
    for (const auto& i : s.instances_added) out += "  instance added: " + i + "\n";
    for (const auto& i : s.instances_removed) out += "  instance removed: " + i + "\n";
  }
  for (const auto& part : settings_changed) out += "changed: " + part + "\n";
  for (const auto& item : needs_restart)
    out += "needs a restart: " + item.key + ": " + item.reason + "\n";
  return out;
}

}  // namespace dockmaster::config
