#include "actors/health_watcher.hpp"

#include <algorithm>

#include <caf/send.hpp>

#include "net/health_prober.hpp"
#include "net/logging.hpp"

namespace dockmaster::actors {

using namespace messages;
using std::chrono::milliseconds;

caf::actor_clock::time_point on_probe_grid(caf::actor_clock::time_point due) {
  const auto step = std::chrono::duration_cast<caf::actor_clock::duration_type>(probe_grid);
  const auto past = due.time_since_epoch() % step;
  return past.count() == 0 ? due : due - past + step;
}

health_watcher_impl::behavior_type health_watcher(
    health_watcher_impl::stateful_pointer<health_watcher_state> self,
    config::service_config service, std::shared_ptr<net::probe_runner> prober,
    upstream_proxy_actor proxy, restart_supervisor_actor supervisor, event_sink_actor sink) {
  auto& state = self->state;
  state.service = std::move(service);
  state.prober = std::move(prober);
  state.proxy = std::move(proxy);
  state.supervisor = std::move(supervisor);
  state.sink = std::move(sink);
  if (state.supervisor) self->send(state.supervisor, register_atom::value, state.service.name,
                                   health_watcher_actor{self});
  state.jitter.seed(static_cast<std::minstd_rand::result_type>(std::hash<std::string>{}(state.service.name)));

  // When an instance's next scheduled probe is due: a fast interval from now while it is
  // between states, else the interval give or take its jitter, put off to the next
  // point of the probe grid.
  auto next_probe_time = [self](bool settling) {
    auto& state = self->state;
    const auto& h = state.service.health;
    const auto now = self->clock().now();
    if (settling && h.fast_interval.count() > 0) return now + h.fast_interval;
    if (h.jitter_percent == 0) return now + h.interval;
    const auto span = h.interval.count() * static_cast<long long>(h.jitter_percent) / 100;
    std::uniform_int_distribution<long long> offset(-span, span);
    return on_probe_grid(now + h.interval + milliseconds(offset(state.jitter)));
  };

  auto start_probe = [self](const std::string& key) {
    auto& state = self->state;
    auto found = state.instances.find(key);
    if (found == state.instances.end() || found->second.probe_pending) return;
    auto& instance = found->second;
    instance.probe_pending = true;
    instance.last_probe = self->clock().now();
    net::probe_target target{instance.id.address, instance.id.port,
                             state.service.health.http.host.empty() ? instance.id.configured
                                                                     : state.service.health.http.host};
    health_watcher_impl me{self};
    auto id = instance.id;
    state.prober->probe(target, state.service.health, [me, id](net::probe_outcome outcome) {
      caf::anon_send(me, probe_result{id, outcome.verdict, outcome.detail,
                                      static_cast<std::uint64_t>(outcome.duration.count())});
    });
  };

  auto tell_everyone = [self](const health_changed& event) {
    auto& state = self->state;
    self->send(state.proxy, event);
    if (state.supervisor) self->send(state.supervisor, event);
    if (state.sink) self->send(state.sink, event);
  };

  return {
      [self, start_probe](instance_added& added) {
        auto& state = self->state;
        auto key = added.instance.endpoint();
        if (state.instances.count(key)) return;
        const auto& h = state.service.health;
        state.instances.emplace(
            key, health_watcher_state::watched{
                     added.instance,
                     health_tracker(h.unhealthy_after, h.healthy_after, h.start_period, self->clock().now()),
                     false, ++state.next_schedule});
        // A new instance is probed at once: it takes no traffic before it passes.
        start_probe(key);
      },
      [self](instance_removed& removed) {
        // Its pending timer finds no instance and does nothing; a probe in flight
        // reports to nobody.
        self->state.instances.erase(removed.instance.endpoint());
      },
      [self, start_probe](probe_atom, instance_id& id, std::uint64_t schedule) {
        auto found = self->state.instances.find(id.endpoint());
        if (found != self->state.instances.end() && found->second.schedule == schedule)
          start_probe(id.endpoint());
      },
      [self, tell_everyone, next_probe_time](probe_result& result) {
        auto& state = self->state;
        auto found = state.instances.find(result.instance.endpoint());
        if (found == state.instances.end()) return;  // removed meanwhile
        auto& instance = found->second;
        instance.probe_pending = false;
        if (state.sink) self->send(state.sink, result);
        auto change = instance.tracker.record(result.passed(), self->clock().now());
        // Guarded: the arguments would be built for every probe even when not logged.
        if (net::event_log().should_log(spdlog::level::debug))
          net::event_log().debug("probe {} {}: {} ({})", state.service.name,
                                 result.instance.endpoint(), name(result.verdict), result.detail);
        if (change.changed)
          tell_everyone(health_changed{instance.id, change.from, change.to, result.detail,
                                       result.verdict,
                                       change.to == health_state::healthy
                                           ? instance.tracker.consecutive_passes()
                                           : instance.tracker.consecutive_failures()});
        instance.schedule = ++state.next_schedule;
        // A timed-out probe already waited its timeout: the next one follows at once, so
        // that a hung instance is found as fast as a dead one. Not once it is unhealthy:
        // a known-down instance is not probed back to back.
        if (result.verdict == probe_verdict::timeout &&
            instance.tracker.state() != health_state::unhealthy)
          self->send(self, probe_atom::value, instance.id, instance.schedule);
        else
          self->scheduled_send(self, next_probe_time(instance.tracker.settling()), probe_atom::value,
                               instance.id, instance.schedule);
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
        auto now = self->clock().now();
        auto earliest = instance.last_probe + state.service.health.next_interval(true);
        net::event_log().info("service {}: a request could not reach {} ({}), probing it now",
                              state.service.name, key, failure.reason);
        instance.schedule = ++state.next_schedule;
        if (earliest <= now)
          start_probe(key);
        else
          self->delayed_send(self, std::chrono::duration_cast<milliseconds>(earliest - now),
                             probe_atom::value, instance.id, instance.schedule);
      },
      [self](config_update& update) {
        // New probe settings (path, interval, timeout, thresholds) apply from each
        // instance's next probe. Its state and streak stay: a healthy instance is not
        // taken out of rotation by a reload; new thresholds judge from its next change
        // (a tracker is made anew only when an instance is added or judged afresh).
        auto found = update.config->services.find(self->state.service.name);
        if (found == update.config->services.end()) return;  // its proxy retires it
        self->state.service = found->second;
      },
      [self, start_probe, tell_everyone](judge_afresh& request) {
        auto& state = self->state;
        auto key = request.instance.endpoint();
        auto found = state.instances.find(key);
        if (found == state.instances.end()) return;
        auto& instance = found->second;
        // Judged afresh: unknown, in its start period (or the restart's grace, if
        // longer), until probes show it healthy or, past that, unhealthy again (only
        // that new evidence brings the supervisor back: slow starters are not looped).
        auto before = instance.tracker.state();
        const auto& h = state.service.health;
        const auto shielded = std::max(h.start_period, milliseconds(request.grace_ms));
        instance.tracker =
            health_tracker(h.unhealthy_after, h.healthy_after, shielded, self->clock().now());
        if (shielded.count() > 0)
          net::event_log().info(
              "service {}: judging {} afresh ({}), failures ignored for {} ms unless it turns "
              "healthy first",
              state.service.name, key, request.reason, shielded.count());
        else
          net::event_log().info("service {}: judging {} afresh ({}), failures count at once",
                                state.service.name, key, request.reason);
        if (before != health_state::unknown)
          tell_everyone(health_changed{instance.id, before, health_state::unknown, request.reason,
                                       probe_verdict::passed, 0});
        // Probe at once: a quick restart is seen healthy without waiting an interval.
        // The pending timer is void now; the result of this probe sets the next one.
        instance.schedule = ++state.next_schedule;
        start_probe(key);
      },
  };
}

}  // namespace dockmaster::actors
