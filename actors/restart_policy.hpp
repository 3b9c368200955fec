#pragma once

// When the restart supervisor may run a restart for one instance: exponential backoff,
// a cap per time window, escalation after failed execs, and never two at once. No
// timers or I/O: the supervisor passes the time in and acts on the decisions.

#include <chrono>
#include <deque>
#include <string>

#include "config/config.hpp"

namespace dockmaster::actors {

class restart_policy {
 public:
  using clock = std::chrono::steady_clock;

  explicit restart_policy(const config::restart_config& config);

  enum class verdict {
    run_exec,               // run the configured command now
    run_container_restart,  // escalate: restart the container now
    wait,                   // backoff: ask again at next_allowed()
    busy,                   // a restart of this instance is still running
    given_up,               // the cap is reached: do nothing more, say so
  };

  /// The instance is unhealthy at `now`: what to do. Checked in this order: given up
  /// (sticky until recovered(), even once the window has slid on), busy, wait (before
  /// next_allowed()), then the cap: `max_restarts` restarts started within `window`
  /// make it give up. Otherwise a container restart after `escalate_after_failed`
  /// failed runs in a row (when configured), else the exec. A `run_*` verdict counts as
  /// a started restart (in progress until finished() is called). The first restart may
  /// run at once.
  verdict on_unhealthy(clock::time_point now);

  /// The running restart ended; `succeeded`: the command exited 0 (or the container
  /// restart was accepted). The next restart is allowed at `now` + the current backoff,
  /// which then grows by the multiplier up to `backoff_max`. A success resets the
  /// failure streak, a failure extends it; failed runs in a row lead to escalation when
  /// configured. Ignored when no restart is in progress.
  void finished(bool succeeded, clock::time_point now);

  /// The running restart was not run after all, on purpose (the container found was
  /// not the one that failed): it leaves no trace in the window or the failure streak,
  /// and the next one may start after the current backoff (not grown). Ignored when no
  /// restart is in progress.
  void skipped(clock::time_point now);

  /// The instance is healthy again: the failure streak and the backoff start over, and
  /// a given-up instance is watched again. Kept: the window's history (so a flapping
  /// instance still hits the cap), next_allowed() (so it still waits out the delay set
  /// by its latest restart) and a restart in progress (its finished() still counts).
  void recovered();

  /// When the next restart may start; clock::time_point::min() before the first one.
  clock::time_point next_allowed() const { return next_allowed_; }
  bool in_progress() const { return in_progress_; }
  bool gave_up() const { return given_up_; }
  /// Restarts started within the window ending at `now`.
  unsigned restarts_in_window(clock::time_point now);
  /// The delay before the restart after the next one, for logs.
  std::chrono::milliseconds current_backoff() const { return backoff_; }
  unsigned failed_in_a_row() const { return failed_in_a_row_; }

 private:
  /// Drops the restarts that started `window` or longer before `now`.
  void prune(clock::time_point now);

  config::restart_config config_;
  std::deque<clock::time_point> started_;  // restarts within the window
  clock::time_point next_allowed_{};
  std::chrono::milliseconds backoff_;
  unsigned failed_in_a_row_ = 0;
  bool in_progress_ = false;
  bool given_up_ = false;
};

}  // namespace dockmaster::actors
