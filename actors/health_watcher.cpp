#include "actors/health_watcher.hpp"

#include <caf/send.hpp>

#include "net/health_prober.hpp"
#include "net/logging.hpp"

namespace dockmaster::actors {

using namespace messages;

health_watcher_actor::behavior_type health_watcher(
    health_watcher_actor::stateful_pointer<health_watcher_state> self,
    config::service_config service, std::shared_ptr<net::health_prober> prober,
    upstream_proxy_actor proxy, restart_supervisor_actor supervisor, event_sink_actor sink) {
  auto& state = self->state;
  state.service = std::move(service);
  state.prober = std::move(prober);
  state.proxy = std::move(proxy);
  state.supervisor = std::move(supervisor);
  state.sink = std::move(sink);
  if (state.supervisor) self->send(state.supervisor, register_atom::value, state.service.name,
                                   health_watcher_actor{self});

  auto start_probe = [self](const std::string& key) {
    auto& state = self->state;
    auto found = state.instances.find(key);
    if (found == state.instances.end() || found->second.probe_pending) return;
    auto& instance = found->second;
    instance.probe_pending = true;
    instance.last_probe = health_tracker::clock::now();
    net::probe_target target{instance.id.address, instance.id.port,
                             state.service.health.http.host.empty() ? instance.id.configured
                                                                     : state.service.health.http.host};
    health_watcher_actor me{self};
    auto id = instance.id;
    state.prober->probe(target, state.service.health, [me, id](net::probe_outcome outcome) {
      caf::anon_send(me, probe_result{id, outcome.passed, outcome.detail,
                                      static_cast<std::uint64_t>(outcome.duration.count())});
    });
  };

  return {
      [self, start_probe](instance_set& set) {
        auto& state = self->state;
        std::map<std::string, health_watcher_state::watched> next;
        auto now = health_tracker::clock::now();
        for (const auto& i : set.instances) {
          instance_id id{state.service.name, i.configured, i.address, i.port};
          auto key = id.endpoint();
          auto known = state.instances.find(key);
          if (known != state.instances.end()) {
            next.emplace(key, std::move(known->second));
          } else {
            const auto& h = state.service.health;
            next.emplace(key, health_watcher_state::watched{
                                  id, health_tracker(h.unhealthy_after, h.healthy_after,
                                                     h.start_period, now),
                                  false, 0});
          }
        }
        std::vector<std::string> added;
        for (const auto& [key, w] : next)
          if (!state.instances.count(key)) added.push_back(key);
        state.instances = std::move(next);
        // A new instance is probed at once: it takes no traffic before it passes.
        for (const auto& key : added) start_probe(key);
      },
      [self, start_probe](probe_atom, instance_id& id, std::uint64_t schedule) {
        auto found = self->state.instances.find(id.endpoint());
        if (found != self->state.instances.end() && found->second.schedule == schedule)
          start_probe(id.endpoint());
      },
      [self](probe_result& result) {
        auto& state = self->state;
        auto found = state.instances.find(result.instance.endpoint());
        if (found == state.instances.end()) return;  // removed meanwhile
        auto& instance = found->second;
        instance.probe_pending = false;
        auto now = health_tracker::clock::now();
        auto change = instance.tracker.record(result.passed, now);
        // Guarded: the arguments would be built for every probe even when not logged.
        if (net::event_log().should_log(spdlog::level::debug))
          net::event_log().debug("probe {} {}: {} ({})", state.service.name,
                                 result.instance.endpoint(), result.passed ? "pass" : "fail",
                                 result.detail);
        if (change.changed) {
          health_changed event{instance.id, to_string(change.from), to_string(change.to),
                               result.detail,
                               change.to == health_state::healthy
                                   ? instance.tracker.consecutive_passes()
                                   : instance.tracker.consecutive_failures()};
          self->send(state.proxy, event);
          if (state.supervisor) self->send(state.supervisor, event);
          if (state.sink) self->send(state.sink, event);
        }
        self->delayed_send(self, state.service.health.next_interval(instance.tracker.settling()),
                           probe_atom::value, instance.id, ++instance.schedule);
      },
      [self, start_probe](upstream_failure& failure) {
        auto& state = self->state;
        auto key = failure.address + ":" + std::to_string(failure.port);
        auto found = state.instances.find(key);
        if (found == state.instances.end()) return;
        auto& instance = found->second;
        // Already being probed, or already known to be down: nothing new to learn.
        if (instance.probe_pending || instance.tracker.state() == health_state::unhealthy) return;
        // The next probe comes now, or a fast interval after the previous one if that
        // is later; the pending timer is void, and this probe's result sets the next.
        auto now = health_tracker::clock::now();
        auto earliest = instance.last_probe + state.service.health.next_interval(true);
        net::event_log().info("service {}: a request could not reach {} ({}), probing it now",
                              state.service.name, key, failure.reason);
        ++instance.schedule;
        if (earliest <= now) {
          start_probe(key);
        } else {
          self->delayed_send(self, std::chrono::duration_cast<std::chrono::milliseconds>(earliest - now),
                             probe_atom::value, instance.id, instance.schedule);
        }
      },
      [self, start_probe](instance_restarted& restarted) {
        auto& state = self->state;
        auto key = restarted.instance.endpoint();
        auto found = state.instances.find(key);
        if (found == state.instances.end()) return;
        auto& instance = found->second;
        // After a restart the instance is judged afresh: unknown, in its start period,
        // until probes show it healthy or, past the start period, unhealthy again (only
        // that new evidence brings the supervisor back: slow starters are not looped).
        auto before = instance.tracker.state();
        const auto& h = state.service.health;
        instance.tracker = health_tracker(h.unhealthy_after, h.healthy_after, h.start_period,
                                          health_tracker::clock::now());
        if (before != health_state::unknown) {
          health_changed event{instance.id, to_string(before), to_string(health_state::unknown),
                               "restarted", 0};
          self->send(state.proxy, event);
          if (state.supervisor) self->send(state.supervisor, event);
          if (state.sink) self->send(state.sink, event);
        }
        // Probe at once: a quick restart is seen healthy without waiting an interval.
        // The pending timer is void now; the result of this probe sets the next one.
        ++instance.schedule;
        start_probe(key);
      },
  };
}

}  // namespace dockmaster::actors
