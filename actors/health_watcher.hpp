#pragma once

#include <map>
#include <memory>
#include <random>

#include <caf/actor_clock.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/health_tracker.hpp"
#include "config/config.hpp"
#include "messages/actor_types.hpp"

namespace dockmaster::net {
class probe_runner;
}

namespace dockmaster::actors {

/// Jittered probes fall due on a grid of this step of the actor clock: the probes of
/// many instances that are due close together then share one wake-up of the clock
/// thread, the scheduler and the prober instead of taking one each. With 1,000
/// instances probed every second that halved dockmaster's CPU (benchmarks/probe_scale.sh).
constexpr std::chrono::milliseconds probe_grid{10};

/// `due`, or the next point of the probe grid after it.
caf::actor_clock::time_point on_probe_grid(caf::actor_clock::time_point due);

struct health_watcher_state {
  config::service_config service;
  std::shared_ptr<net::probe_runner> prober;
  messages::upstream_proxy_actor proxy;
  messages::restart_supervisor_actor supervisor;
  messages::event_sink_actor sink;

  struct watched {
    messages::instance_id id;
    health_tracker tracker;
    bool probe_pending = false;
    /// Number of the probe timer in force; an older timer that fires is ignored, so
    /// that an extra probe (after a restart) never starts a second schedule.
    std::uint64_t schedule = 0;
    /// When the latest probe began: a report of failed requests brings the next probe
    /// forward, but not to less than the fast interval after this one.
    health_tracker::clock::time_point last_probe{};
  };
  /// Instances by endpoint ("address:port").
  std::map<std::string, watched> instances;
  /// Schedule numbers are unique across instances, so that the timer of a removed
  /// instance never passes for the schedule of the same address added again.
  std::uint64_t next_schedule = 0;
  /// Draws the jitter of each regular interval; seeded by the service's name, so that
  /// a run (and a test in simulated time) is repeatable.
  std::minstd_rand jitter;

  static inline const char* name = "health_watcher";
};

/// Probes every instance of one service on its own timer (the first probe of a new
/// instance at once, the next ones every health.interval, or health.fast_interval
/// while an instance is between states; after a probe that timed out, at once unless
/// the instance is unhealthy, since the timeout already waited), through the prober's
/// I/O thread, and turns the results into health changes for the service's proxy, the
/// restart supervisor and the event sink. A hanging probe delays no other instance.
/// When proxied requests fail to reach an instance (upstream_failure), it is probed at
/// once. An instance judged afresh after a restart ignores failures for
/// max(start_period, the judge_afresh's grace) unless it turns healthy first. Its time
/// is the actor clock's, so that it runs under CAF's test coordinator.
messages::health_watcher_impl::behavior_type health_watcher(
    messages::health_watcher_impl::stateful_pointer<health_watcher_state> self,
    config::service_config service, std::shared_ptr<net::probe_runner> prober,
    messages::upstream_proxy_actor proxy, messages::restart_supervisor_actor supervisor,
    messages::event_sink_actor sink);

}  // namespace dockmaster::actors
