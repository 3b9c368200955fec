#include "actors/restart_supervisor.hpp"

#include <caf/actor_system.hpp>

#include "net/logging.hpp"

namespace dockmaster::actors {

using namespace messages;
using clock = restart_policy::clock;

namespace {

restart_request make_request(const config::service_config& service, const instance_id& id,
                             bool restart_container) {
  const auto& r = service.restart;
  restart_request request;
  request.instance = id;
  request.action = r.executor == config::restart_executor::local ? "local"
                   : restart_container                          ? "restart_container"
                                                                : "exec";
  request.command = r.command;
  request.user = r.user;
  request.env = r.env;
  request.working_dir = r.working_dir;
  request.container = r.container;
  request.compose_project = r.compose_project;
  request.compose_service = r.compose_service.empty() ? service.name : r.compose_service;
  // For a container restart, the time the engine gives the container to stop.
  request.timeout_ms = static_cast<std::uint64_t>(
      (restart_container ? r.escalate_stop_timeout : r.timeout).count());
  return request;
}

}  // namespace

restart_supervisor_actor::behavior_type restart_supervisor(
    restart_supervisor_actor::stateful_pointer<restart_supervisor_state> self,
    std::map<std::string, config::service_config> services, restart_executor_actor docker,
    restart_executor_actor local, event_sink_actor sink) {
  auto& state = self->state;
  state.services = std::move(services);
  state.docker = std::move(docker);
  state.local = std::move(local);
  state.sink = std::move(sink);

  auto report = [self](const instance_id& id, std::string kind, std::string message,
                       restart_result result = {}) {
    if (self->state.sink)
      self->send(self->state.sink, supervisor_event{id, std::move(kind), std::move(message),
                                                    std::move(result)});
  };

  // Applies the policy to an unhealthy instance; runs, defers or gives up. Kept in the
  // state (not captured by itself) so that it can call itself without a cycle.
  state.consider = [self, report](const instance_id& id) {
    auto& state = self->state;
    auto service = state.services.find(id.service);
    if (service == state.services.end() ||
        service->second.restart.executor == config::restart_executor::none)
      return;
    auto& record = state.instances[id];
    if (!record.policy) {
      record.id = id;
      record.policy = std::make_unique<restart_policy>(service->second.restart);
    }
    if (!record.unhealthy) return;
    auto now = clock::now();
    auto verdict = record.policy->on_unhealthy(now);
    switch (verdict) {
      case restart_policy::verdict::busy:
        return;
      case restart_policy::verdict::given_up: {
        if (record.given_up_reported) return;
        record.given_up_reported = true;  // said once; silent until it recovers
        auto message = "gave up restarting " + id.endpoint() + " of service " + id.service +
                       " after " + std::to_string(service->second.restart.max_restarts) +
                       " restarts within " +
                       std::to_string(service->second.restart.window.count() / 1000) +
                       " s; it stays out of rotation until it recovers by itself";
        net::log_event(spdlog::level::err, "restart_given_up",
                       {net::field("service", id.service), net::field("instance", id.endpoint()),
                        net::number_field("max_restarts", service->second.restart.max_restarts),
                        net::field("message", message)});
        report(id, "given_up", message);
        return;
      }
      case restart_policy::verdict::wait: {
        if (record.retry_scheduled) return;
        record.retry_scheduled = true;
        auto delay = std::chrono::duration_cast<std::chrono::milliseconds>(
            record.policy->next_allowed() - now);
        net::log_event(spdlog::level::info, "restart_backoff",
                       {net::field("service", id.service), net::field("instance", id.endpoint()),
                        net::number_field("wait_ms", delay.count())});
        report(id, "backoff", "next restart in " + std::to_string(delay.count()) + " ms");
        self->delayed_send(self, delay, retry_atom::value, id);
        return;
      }
      case restart_policy::verdict::run_exec:
      case restart_policy::verdict::run_container_restart:
        break;
    }
    bool escalate = verdict == restart_policy::verdict::run_container_restart ||
                    service->second.restart.container_restart_only;
    auto request = make_request(service->second, id, escalate);
    auto executor = request.action == "local" ? state.local : state.docker;
    net::log_event(spdlog::level::warn, "restart_started",
                   {net::field("service", id.service), net::field("instance", id.endpoint()),
                    net::field("action", request.action),
                    net::field("command", escalate ? "restart container" : net::join_words(request.command)),
                    net::number_field("attempt", record.policy->restarts_in_window(now))});
    report(id, "restart_started", request.action + ": " + net::join_words(request.command));
    self->request(executor, caf::infinite, request)
        .then(
            [self, report, id](restart_result& result) {
              auto& state = self->state;
              auto& record = state.instances[id];
              bool succeeded = result.ran && result.finished && result.exit_code == 0;
              record.policy->finished(succeeded, clock::now());
              auto level = succeeded ? spdlog::level::info : spdlog::level::err;
              net::log_event(level, succeeded ? "restart_done" : "restart_failed",
                             {net::field("service", id.service),
                              net::field("instance", id.endpoint()),
                              net::field("container", result.container),
                              net::field("action", result.action),
                              net::field("command", result.command),
                              net::number_field("exit_code", result.exit_code),
                              net::field("outcome", !result.ran        ? "not run"
                                                    : !result.finished ? "timed out"
                                                    : succeeded        ? "ok"
                                                                       : "failed"),
                              net::number_field("duration_ms", static_cast<long long>(result.duration_ms)),
                              net::field("output", result.output_tail),
                              net::field("error", result.error)});
              report(id, succeeded ? "restart_done" : "restart_failed",
                     succeeded ? "restart succeeded" : result.error, result);
              auto watcher = state.watchers.find(id.service);
              if (result.ran && watcher != state.watchers.end()) {
                // The watcher judges the instance afresh; only if it turns unhealthy
                // again does the policy come back into play.
                self->send(watcher->second, instance_restarted{id});
              } else if (record.unhealthy) {
                state.consider(id);  // nothing ran: try again after the backoff
              }
            },
            [self, id](caf::error& err) {
              net::event_log().error("restart of {} failed: {}", id.endpoint(),
                                     self->system().render(err));
              auto& record = self->state.instances[id];
              record.policy->finished(false, clock::now());
              if (record.unhealthy) self->state.consider(id);
            });
  };

  return {
      [self](register_atom, std::string& service, health_watcher_actor& watcher) {
        self->state.watchers[service] = watcher;
      },
      [self, report](health_changed& change) {
        auto& record = self->state.instances[change.instance];
        record.id = change.instance;
        if (change.to == "unhealthy") {
          record.unhealthy = true;
          self->state.consider(change.instance);
        } else if (change.to == "unknown") {
          record.unhealthy = false;  // restarted: judged afresh by the watcher
        } else if (change.to == "healthy") {
          bool was_handled = record.policy != nullptr;
          record.unhealthy = false;
          record.retry_scheduled = false;
          record.given_up_reported = false;
          if (record.policy) record.policy->recovered();
          if (was_handled) report(change.instance, "recovered", "healthy again");
        }
      },
      [self](retry_atom, instance_id& id) {
        auto& record = self->state.instances[id];
        record.retry_scheduled = false;
        self->state.consider(id);
      },
  };
}

}  // namespace dockmaster::actors
