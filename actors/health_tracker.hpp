#pragma once

// The rise/fall state machine of one instance's health, without timers or I/O: the
// health_watcher feeds it probe results and the time, and acts on what it returns.

#include <chrono>
#include <string>

#include "messages/vocabulary.hpp"

namespace dockmaster::actors {

using messages::health_state;

class health_tracker {
 public:
  using clock = std::chrono::steady_clock;

  /// `unhealthy_after` failures in a row make the instance unhealthy, `healthy_after`
  /// passes in a row healthy; failures within `start_period` of `start` (boot) or of
  /// the latest restart() do not count, until the instance has turned healthy: as
  /// with Docker's HEALTHCHECK --start-period, the period only shields a service that
  /// is still coming up, not one that is up and then fails. A new instance starts `unknown`: it takes no
  /// traffic until it has passed `healthy_after` probes. A threshold of 0 counts as 1.
  health_tracker(unsigned unhealthy_after, unsigned healthy_after,
                 std::chrono::milliseconds start_period, clock::time_point start);

  /// What a probe result changed.
  struct transition {
    bool changed = false;
    health_state from = health_state::unknown;
    health_state to = health_state::unknown;
  };

  /// Records one probe result observed at `now`. A pass extends the run of passes and
  /// ends the run of failures; a failure does the reverse, except within the start
  /// period, where it is ignored altogether (it neither counts nor ends a run of
  /// passes). `unknown` and `unhealthy` turn healthy after `healthy_after` passes in a
  /// row; `unknown` and `healthy` turn unhealthy after `unhealthy_after` failures in a
  /// row, so an instance that never comes up is reported unhealthy (and healed) once
  /// its start period is over. `changed` is only set on a change of state: an instance
  /// that stays unhealthy after a restart shows as state() == unhealthy with
  /// consecutive_failures() reaching `unhealthy_after` again.
  transition record(bool passed, clock::time_point now);

  /// The service was restarted at `now`: the start period begins again and both
  /// counts start over (the state itself stays until probes say otherwise).
  void restarted(clock::time_point now);

  health_state state() const { return state_; }
  /// Between states: not known yet (after boot or a restart), failing but not yet
  /// unhealthy, or passing but not yet healthy. Such an instance is probed at the fast
  /// interval, so that its verdict comes sooner.
  bool settling() const;
  bool in_start_period(clock::time_point now) const;
  unsigned consecutive_failures() const { return failures_; }
  unsigned consecutive_passes() const { return passes_; }

 private:
  unsigned unhealthy_after_;
  unsigned healthy_after_;
  std::chrono::milliseconds start_period_;
  clock::time_point period_start_;
  health_state state_ = health_state::unknown;
  bool started_ = false;  // passed healthy_after probes since the period began
  unsigned failures_ = 0;
  unsigned passes_ = 0;
};

}  // namespace dockmaster::actors
