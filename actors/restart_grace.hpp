#pragma once

// The post-restart grace: after a restart ran, an instance's failed probes do not count
// for this long unless it turns healthy first, so that a process still binding its
// port is not declared unhealthy (and restarted again) mid-boot. Without restart.grace
// the supervisor derives it from how long the service's recent restarts took to turn
// healthy. No timers or I/O: the supervisor passes the durations in.

#include <chrono>
#include <cstddef>
#include <deque>

#include "config/config.hpp"

namespace dockmaster::actors {

/// Every constant of the derived grace, in one place.
namespace derived_grace {
/// Before the service's first restart turned healthy: long enough for a Gunicorn or
/// Node service to come up. One that needs longer (a JVM) learns its own time after its
/// first restart, or sets restart.grace.
constexpr std::chrono::milliseconds without_history{10000};
/// The grace is this many times the slowest recent boot: a boot somewhat slower than
/// the ones before (a colder cache, a busier host) is still not cut short.
constexpr int factor = 2;
/// Never less: a service that once came up in 50 ms is not shielded for only 100 ms,
/// less than a probe or two at the usual intervals.
constexpr std::chrono::milliseconds floor{1000};
/// Never more: an instance whose boot once took very long (or hung and recovered by
/// itself) does not keep a broken restart from being noticed for minutes.
constexpr std::chrono::milliseconds cap{60000};
/// Boots remembered per service (all its instances together): enough to cover a slow
/// one among them, few enough that one slow boot long ago is forgotten.
constexpr std::size_t remembered = 5;
}  // namespace derived_grace

/// How long one service's recent restarts took to turn healthy, measured from the
/// supervisor's judge_afresh after a restart that ran to the instance's health_changed
/// to healthy.
class boot_history {
 public:
  /// A restart of one of the service's instances turned healthy `took` after it ran.
  void record(std::chrono::milliseconds took);
  /// clamp(factor x the longest remembered boot, floor, cap); without_history before
  /// the first one.
  std::chrono::milliseconds grace() const;
  const std::deque<std::chrono::milliseconds>& recent() const { return recent_; }

 private:
  std::deque<std::chrono::milliseconds> recent_;  // oldest first
};

/// The grace after a restart of a service with `restart` and `history`: restart.grace
/// when set, else the derived one.
std::chrono::milliseconds restart_grace(const config::restart_config& restart,
                                        const boot_history& history);

}  // namespace dockmaster::actors
