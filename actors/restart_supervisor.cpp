#include "actors/restart_supervisor.hpp"

#include <caf/actor_system.hpp>

#include "config/diff.hpp"
#include "net/logging.hpp"

namespace dockmaster::actors {

using namespace messages;
using std::chrono::milliseconds;

namespace {

/// How much longer than the action's own timeout the supervisor waits for the
/// executor's answer (the engine calls around an exec have deadlines of their own).
constexpr milliseconds executor_grace{15000};


restart_request make_request(const config::service_config& service,
                             const restart_supervisor_state::instance_record& record,
                             bool restart_container) {
  const auto& r = service.restart;
  restart_request request;
  request.instance = record.id;
  request.action = r.executor == config::restart_executor::local ? restart_action::local
                   : restart_container                          ? restart_action::restart_container
                                                                : restart_action::exec;
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
  request.served_by = record.served_by;
  request.failed_at_unix_ms = record.failed_at_unix_ms;
  return request;
}

event_kind event_of(restart_outcome outcome) {
  switch (outcome) {
    case restart_outcome::ok:
      return event_kind::restart_done;
    case restart_outcome::skipped:
      return event_kind::restart_skipped;
    default:
      return event_kind::restart_failed;
  }
}

}  // namespace

restart_supervisor_impl::behavior_type restart_supervisor(
    restart_supervisor_impl::stateful_pointer<restart_supervisor_state> self,
    std::map<std::string, config::service_config> services, restart_executor_actor docker,
    restart_executor_actor local, event_sink_actor sink) {
  auto& state = self->state;
  state.services = std::move(services);
  state.docker = std::move(docker);
  state.local = std::move(local);
  state.sink = std::move(sink);

  auto report = [self](const instance_id& id, event_kind kind, std::string message,
                       restart_result result = {}) {
    if (self->state.sink)
      self->send(self->state.sink, supervisor_event{id, kind, std::move(message), std::move(result)});
  };

  // Whether requests may wait for an instance is its service's proxy's to publish.
  auto tell_proxy = [self](heal_outlook outlook) {
    auto proxy = self->state.proxies.find(outlook.instance.service);
    if (proxy != self->state.proxies.end()) self->send(proxy->second, std::move(outlook));
  };

  // The record of `id` if it is still generation `generation`.
  auto current = [self](const instance_id& id, std::uint64_t generation)
      -> restart_supervisor_state::instance_record* {
    auto found = self->state.instances.find(id);
    if (found == self->state.instances.end() || found->second.generation != generation)
      return nullptr;
    return &found->second;
  };

  auto restart_ended = [self, report, current](const instance_id& id, std::uint64_t generation,
                                               restart_result& result) {
    auto& state = self->state;
    auto* record = current(id, generation);
    const auto kind = event_of(result.outcome);
    auto watcher = state.watchers.find(id.service);
    // Only a restart that ran may leave a process still booting: a skipped one (nothing
    // ran) or one that could not run is judged without a grace.
    const bool judged_with_grace = record && result.ran &&
                                   result.outcome != restart_outcome::skipped &&
                                   watcher != state.watchers.end();
    const milliseconds grace =
        judged_with_grace ? restart_grace(state.services.at(id.service).restart,
                                          state.boot_times[id.service])
                          : milliseconds::zero();
    auto level = kind == event_kind::restart_done ? spdlog::level::info
                 : kind == event_kind::restart_skipped ? spdlog::level::warn
                                                       : spdlog::level::err;
    net::log_event(level, name(kind),
                   {net::field("service", id.service), net::field("instance", id.endpoint()),
                    net::field("container", result.container),
                    net::field("action", std::string(name(result.action))),
                    net::field("command", result.command),
                    net::number_field("exit_code", result.exit_code),
                    net::field("outcome", std::string(name(result.outcome))),
                    net::number_field("duration_ms", static_cast<long long>(result.duration_ms)),
                    net::number_field("grace_ms", grace.count()),
                    net::field("output", result.output_tail), net::field("error", result.error),
                    net::field("instance_present", record ? "yes" : "no (removed meanwhile)")});
    report(id, kind,
           kind == event_kind::restart_done ? "restart succeeded"
           : record                         ? result.error
                                            : result.error + " (the instance was removed meanwhile)",
           result);
    if (!record) return;  // removed while it ran: nothing more to do for it
    auto now = self->clock().now();
    if (result.outcome == restart_outcome::skipped) {
      // Not the container that failed: nothing ran. The instance is judged afresh, and
      // only new evidence against it brings the supervisor back. No grace (only
      // health.start_period): nothing was restarted, so nothing is booting because of
      // us, and a grace would only hide for longer an instance that was failing.
      record->policy->skipped(now);
      if (watcher != state.watchers.end())
        self->send(watcher->second, judge_afresh{id, "restart skipped: " + result.error, 0});
      return;
    }
    record->policy->finished(result.outcome == restart_outcome::ok, now);
    if (judged_with_grace) {
      // The watcher judges the instance afresh, ignoring failures within the grace
      // unless it turns healthy first; only if it turns unhealthy again does the
      // policy come back into play. Its time to turn healthy teaches the next grace.
      record->judged_afresh_at = now;
      self->send(watcher->second,
                 judge_afresh{id, "restarted", static_cast<std::uint64_t>(grace.count())});
    } else if (record->unhealthy) {
      state.consider(id);  // nothing ran: try again after the backoff
    }
  };

  // Applies the policy to an unhealthy instance; runs, defers or gives up. Kept in the
  // state (not captured by itself) so that it can call itself without a cycle.
  state.consider = [self, report, restart_ended, tell_proxy](const instance_id& id) {
    auto& state = self->state;
    auto found = state.instances.find(id);
    if (found == state.instances.end()) return;
    auto& record = found->second;
    auto service = state.services.find(id.service);
    if (record.policy_stale && service != state.services.end() && record.policy &&
        !record.policy->in_progress()) {
      record.policy = std::make_unique<restart_policy>(service->second.restart);
      record.policy_stale = false;
    }
    if (service == state.services.end() ||
        service->second.restart.executor == config::restart_executor::none || !record.policy ||
        !record.unhealthy)
      return;
    const auto& restart = service->second.restart;
    auto now = self->clock().now();
    auto verdict = record.policy->on_unhealthy(now);
    switch (verdict) {
      case restart_policy::verdict::busy:
        return;
      case restart_policy::verdict::given_up: {
        if (record.given_up_reported) return;
        record.given_up_reported = true;  // said once; silent until it recovers
        auto message = "gave up restarting " + id.endpoint() + " of service " + id.service +
                       " after " + std::to_string(restart.max_restarts) + " restarts within " +
                       std::to_string(restart.window.count() / 1000) +
                       " s; it stays out of rotation until it recovers by itself";
        net::log_event(spdlog::level::err, name(event_kind::restart_given_up),
                       {net::field("service", id.service), net::field("instance", id.endpoint()),
                        net::number_field("max_restarts", restart.max_restarts),
                        net::field("message", message)});
        report(id, event_kind::restart_given_up, message);
        tell_proxy(heal_outlook{id, false});
        return;
      }
      case restart_policy::verdict::wait: {
        if (record.retry != 0) return;
        record.retry = ++state.next_number;
        auto delay = std::chrono::duration_cast<milliseconds>(record.policy->next_allowed() - now);
        net::log_event(spdlog::level::info, name(event_kind::restart_backoff),
                       {net::field("service", id.service), net::field("instance", id.endpoint()),
                        net::number_field("wait_ms", delay.count())});
        report(id, event_kind::restart_backoff,
               "next restart in " + std::to_string(delay.count()) + " ms");
        self->delayed_send(self, delay, retry_atom::value, id, record.retry);
        return;
      }
      case restart_policy::verdict::run_exec:
      case restart_policy::verdict::run_container_restart:
        break;
    }
    bool escalate = verdict == restart_policy::verdict::run_container_restart ||
                    restart.container_restart_only;
    auto request = make_request(service->second, record, escalate);
    auto executor = request.action == restart_action::local ? state.local : state.docker;
    auto command = escalate ? std::string("restart container") : net::join_words(request.command);
    net::log_event(spdlog::level::warn, name(event_kind::restart_started),
                   {net::field("service", id.service), net::field("instance", id.endpoint()),
                    net::field("action", std::string(name(request.action))),
                    net::field("command", command),
                    net::number_field("attempt", record.policy->restarts_in_window(now))});
    report(id, event_kind::restart_started, std::string(name(request.action)) + ": " + command);
    auto generation = record.generation;
    restart_result abandoned;
    abandoned.instance = id;
    abandoned.action = request.action;
    abandoned.command = command;
    abandoned.outcome = restart_outcome::abandoned;
    // Never waits for ever: an executor that does not answer in time counts as a failed
    // restart, so that the instance is not stuck as "restarting".
    auto wait = milliseconds(request.timeout_ms) + executor_grace;
    self->request(executor, wait, std::move(request))
        .then(
            [restart_ended, id, generation](restart_result& result) {
              restart_ended(id, generation, result);
            },
            [self, restart_ended, id, generation, abandoned](caf::error& err) mutable {
              abandoned.error = "no answer from the executor: " + self->system().render(err);
              restart_ended(id, generation, abandoned);
            });
  };

  // Which container serves the instance now that it is healthy: a later restart must
  // find the same one. Best effort: without an answer, the restart falls back to the
  // failure time (a container created after it is not touched).
  auto identify = [self, current](restart_supervisor_state::instance_record& record) {
    auto& state = self->state;
    auto service = state.services.find(record.id.service);
    if (!state.docker || service == state.services.end() ||
        service->second.restart.executor != config::restart_executor::docker)
      return;
    const auto& r = service->second.restart;
    identify_request request{record.id, r.container, r.compose_project,
                             r.compose_service.empty() ? service->second.name : r.compose_service};
    auto id = record.id;
    auto generation = record.generation;
    self->request(state.docker, std::chrono::seconds(30), std::move(request))
        .then(
            [self, current, id, generation](container_identity& identity) {
              auto* record = current(id, generation);
              if (!record || identity.id.empty()) {
                if (!identity.error.empty())
                  net::event_log().info("service {}: no container identified for {} ({})",
                                        id.service, id.endpoint(), identity.error);
                return;
              }
              // Only while it is healthy: a lookup that raced a failure proves nothing.
              if (record->unhealthy) return;
              record->served_by = identity.id;
            },
            [id](caf::error&) {
              net::event_log().info("service {}: no container identified for {}", id.service,
                                    id.endpoint());
            });
  };

  return {
      [self](register_atom, std::string& service, health_watcher_actor& watcher) {
        self->state.watchers[service] = watcher;
      },
      [self](register_atom, std::string& service, upstream_proxy_actor& proxy) {
        self->state.proxies[service] = proxy;
      },
      [self](instance_added& added) {
        auto& state = self->state;
        auto service = state.services.find(added.instance.service);
        if (service == state.services.end()) return;
        auto& record = state.instances[added.instance];
        record = restart_supervisor_state::instance_record{};
        record.id = added.instance;
        record.generation = ++state.next_number;
        record.policy = std::make_unique<restart_policy>(service->second.restart);
      },
      [self](instance_removed& removed) {
        auto& state = self->state;
        auto found = state.instances.find(removed.instance);
        if (found == state.instances.end()) return;
        const auto& record = found->second;
        if (record.policy->in_progress())
          net::event_log().info("service {}: instance {} removed while its restart runs: the result "
                                "will be recorded, nothing more is done for it",
                                removed.instance.service, removed.instance.endpoint());
        else if (record.retry != 0)
          net::event_log().info("service {}: instance {} removed: its pending restart is cancelled",
                                removed.instance.service, removed.instance.endpoint());
        state.instances.erase(found);  // voids its retry timer and any reply still due
      },
      [self, report, identify, tell_proxy](health_changed& change) {
        auto& state = self->state;
        auto found = state.instances.find(change.instance);
        // Not announced, or removed meanwhile (the watcher had not heard yet).
        if (found == state.instances.end()) return;
        auto& record = found->second;
        if (change.to == health_state::unhealthy) {
          record.judged_afresh_at.reset();  // that restart did not bring it up
          record.unhealthy = true;
          record.failed_at_unix_ms = net::unix_ms_now();
          state.consider(change.instance);
        } else if (change.to == health_state::unknown) {
          record.unhealthy = false;  // restarted: judged afresh by the watcher
        } else if (change.to == health_state::healthy) {
          bool was_handled = record.failed_at_unix_ms != 0;
          record.unhealthy = false;
          record.retry = 0;
          if (record.given_up_reported) tell_proxy(heal_outlook{change.instance, true});
          record.given_up_reported = false;
          record.policy->recovered();
          if (record.judged_afresh_at) {
            auto took = std::chrono::duration_cast<milliseconds>(self->clock().now() -
                                                                 *record.judged_afresh_at);
            record.judged_afresh_at.reset();
            auto& history = state.boot_times[change.instance.service];
            history.record(took);
            net::event_log().info(
                "service {}: {} turned healthy {} ms after its restart (the next grace: {} ms)",
                change.instance.service, change.instance.endpoint(), took.count(),
                restart_grace(state.services.at(change.instance.service).restart, history).count());
          }
          identify(record);
          if (was_handled) report(change.instance, event_kind::recovered, "healthy again");
        }
      },
      [self, tell_proxy](config_update& update) {
        auto& state = self->state;
        auto before = std::move(state.services);
        state.services = update.config->services;
        for (auto it = state.watchers.begin(); it != state.watchers.end();)
          it = state.services.count(it->first) ? std::next(it) : state.watchers.erase(it);
        for (auto it = state.proxies.begin(); it != state.proxies.end();)
          it = state.services.count(it->first) ? std::next(it) : state.proxies.erase(it);
        // The instances of a removed service are removed by its proxy, which retires.
        for (auto& [id, record] : state.instances) {
          auto now = state.services.find(id.service);
          auto then = before.find(id.service);
          if (now == state.services.end() || then == before.end() ||
              config::same_restart(now->second.restart, then->second.restart))
            continue;
          record.policy_stale = true;
          if (record.policy && record.policy->in_progress()) continue;  // after that restart
          record.retry = 0;  // a backoff of the old policy is void
          // A new policy has not given up: the instance is expected back again.
          if (record.given_up_reported) tell_proxy(heal_outlook{id, true});
          record.given_up_reported = false;
          if (record.unhealthy) state.consider(id);  // under the new policy, now
          else {
            record.policy = std::make_unique<restart_policy>(now->second.restart);
            record.policy_stale = false;
          }
        }
      },
      [self](retry_atom, instance_id& id, std::uint64_t number) {
        auto found = self->state.instances.find(id);
        if (found == self->state.instances.end() || found->second.retry != number) return;
        found->second.retry = 0;
        self->state.consider(id);
      },
  };
}

}  // namespace dockmaster::actors
