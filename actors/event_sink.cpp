#include "actors/event_sink.hpp"

#include <nlohmann/json.hpp>

#include "net/logging.hpp"

namespace dockmaster::actors {

using namespace messages;
using json = nlohmann::json;

namespace {

json result_json(const restart_result& r) {
  return {{"action", r.action},        {"container", r.container}, {"command", r.command},
          {"ran", r.ran},              {"finished", r.finished},   {"exit_code", r.exit_code},
          {"output_tail", r.output_tail}, {"duration_ms", r.duration_ms}, {"error", r.error}};
}

void remember(event_sink_state& state, json event) {
  state.history.push_back(event.dump());
  while (state.history.size() > state.history_limit) state.history.pop_front();
}

/// "healthy" when every instance is, "degraded" when some are, "down" when none is,
/// "given_up" when the supervisor stopped restarting one of them.
std::string service_state(const event_sink_state& state, const std::string& service) {
  std::size_t total = 0, healthy = 0;
  bool given_up = false;
  for (const auto& [id, status] : state.instances) {
    if (id.service != service) continue;
    ++total;
    healthy += status.health == "healthy";
    given_up |= status.given_up;
  }
  if (given_up) return "given_up";
  if (total == 0) return "unknown";
  if (healthy == total) return "healthy";
  return healthy == 0 ? "down" : "degraded";
}

/// Every configured service with its instances, and the history, as JSON.
std::string render_status(const event_sink_state& state) {
  json services = json::object();
  for (const auto& [name, config] : state.services) {
    json instances = json::array();
    for (const auto& [id, status] : state.instances) {
      if (id.service != name) continue;
      json item{{"instance", id.endpoint()},  {"configured", id.configured},
                {"health", status.health},     {"since", status.since},
                {"reason", status.reason},     {"restarts", status.restarts},
                {"restarting", status.restarting}, {"given_up", status.given_up}};
      if (!status.last_restart.empty()) item["last_restart"] = json::parse(status.last_restart);
      instances.push_back(std::move(item));
    }
    services[name] = {{"state", config.health.kind == config::probe_kind::none
                                    ? std::string("not_checked")
                                    : service_state(state, name)},
                      {"instances", std::move(instances)}};
  }
  json history = json::array();
  for (const auto& line : state.history) history.push_back(json::parse(line));
  return json{{"services", services}, {"history", history}}.dump();
}

}  // namespace

event_sink_actor::behavior_type event_sink(event_sink_actor::stateful_pointer<event_sink_state> self,
                                           std::map<std::string, config::service_config> services,
                                           http_acceptor_actor acceptor) {
  self->state.services = std::move(services);
  self->state.acceptor = std::move(acceptor);
  auto publish = [self] {
    if (self->state.acceptor) self->send(self->state.acceptor, status_snapshot{render_status(self->state)});
  };
  publish();
  return {
      [self, publish](health_changed& change) {
        auto& state = self->state;
        auto now = net::utc_timestamp();
        auto& status = state.instances[change.instance];
        status.id = change.instance;
        status.health = change.to;
        status.since = now;
        status.reason = change.reason;
        auto level = change.to == "unhealthy" ? spdlog::level::warn : spdlog::level::info;
        net::log_event(level, "health_changed",
                       {net::field("service", change.instance.service),
                        net::field("instance", change.instance.endpoint()),
                        net::field("configured", change.instance.configured),
                        net::field("from", change.from), net::field("to", change.to),
                        net::field("reason", change.reason),
                        net::number_field("consecutive", change.consecutive)});
        remember(state, {{"time", now},
                         {"event", "health_changed"},
                         {"service", change.instance.service},
                         {"instance", change.instance.endpoint()},
                         {"from", change.from},
                         {"to", change.to},
                         {"reason", change.reason}});
        publish();
      },
      [self, publish](supervisor_event& event) {
        auto& state = self->state;
        auto& status = state.instances[event.instance];
        status.id = event.instance;
        json record{{"time", net::utc_timestamp()},
                    {"event", event.kind},
                    {"service", event.instance.service},
                    {"instance", event.instance.endpoint()},
                    {"message", event.message}};
        if (event.kind == "restart_started") {
          status.restarting = true;
          ++status.restarts;
        } else if (event.kind == "restart_done" || event.kind == "restart_failed") {
          status.restarting = false;
          record["result"] = result_json(event.result);
          status.last_restart = record["result"].dump();
        } else if (event.kind == "given_up") {
          status.given_up = true;
        } else if (event.kind == "recovered") {
          status.given_up = false;
        }
        remember(state, std::move(record));
        publish();
      },
      [self](status_atom) -> std::string { return render_status(self->state); },
  };
}

}  // namespace dockmaster::actors
