#include "actors/restart_policy.hpp"

#include <algorithm>
#include <cmath>

namespace dockmaster::actors {

namespace {

using std::chrono::milliseconds;

/// The first delay: `backoff_initial`, but never above `backoff_max` (the parser
/// rejects such a config; a hand-built one gets the cap).
milliseconds initial_backoff(const config::restart_config& config) {
  return std::min(config.backoff_initial, config.backoff_max);
}

/// `current * multiplier`, capped at `max`. Computed in double so that a large
/// multiplier cannot overflow; a multiplier below 1 (or NaN) counts as 1, so the
/// delay never shrinks between recoveries.
milliseconds grown_backoff(milliseconds current, double multiplier, milliseconds max) {
  if (!(multiplier >= 1.0)) multiplier = 1.0;
  double next = static_cast<double>(current.count()) * multiplier;
  if (next >= static_cast<double>(max.count())) return max;
  return milliseconds(static_cast<milliseconds::rep>(std::llround(next)));
}

}  // namespace

restart_policy::restart_policy(const config::restart_config& config)
    : config_(config),
      // The first restart may run at once, whatever time the caller's clock starts at.
      next_allowed_(clock::time_point::min()),
      backoff_(initial_backoff(config)) {}

restart_policy::verdict restart_policy::on_unhealthy(clock::time_point now) {
  if (given_up_) return verdict::given_up;
  if (in_progress_) return verdict::busy;
  if (now < next_allowed_) return verdict::wait;
  prune(now);
  if (started_.size() >= config_.max_restarts) {
    // Sticky until recovered(): a window that slides on must not let an instance that
    // never comes back be restarted forever.
    given_up_ = true;
    return verdict::given_up;
  }
  const bool escalate =
      config_.escalate_after_failed > 0 && failed_in_a_row_ >= config_.escalate_after_failed;
  started_.push_back(now);
  in_progress_ = true;
  return escalate ? verdict::run_container_restart : verdict::run_exec;
}

void restart_policy::finished(bool succeeded, clock::time_point now) {
  // A stray call (no restart running) must not push the backoff on.
  if (!in_progress_) return;
  in_progress_ = false;
  next_allowed_ = now + backoff_;
  backoff_ = grown_backoff(backoff_, config_.backoff_multiplier, config_.backoff_max);
  failed_in_a_row_ = succeeded ? 0 : failed_in_a_row_ + 1;
}

void restart_policy::skipped(clock::time_point now) {
  if (!in_progress_) return;
  in_progress_ = false;
  // Nothing ran: it does not count against the cap nor grow the backoff, but the next
  // attempt still waits a backoff, so that a skip cannot repeat in a tight loop.
  if (!started_.empty()) started_.pop_back();
  next_allowed_ = now + backoff_;
}

void restart_policy::recovered() {
  backoff_ = initial_backoff(config_);
  failed_in_a_row_ = 0;
  given_up_ = false;
  // next_allowed_ stays: an instance that flaps (healthy for a moment, then unhealthy
  // again) still waits out the delay set by its latest restart. started_ stays too, so
  // the cap per window keeps counting the restarts before the recovery.
}

unsigned restart_policy::restarts_in_window(clock::time_point now) {
  prune(now);
  return static_cast<unsigned>(started_.size());
}

void restart_policy::prune(clock::time_point now) {
  // A restart started at t is within the window ending at `now` while now - t < window.
  while (!started_.empty() && now - started_.front() >= config_.window) started_.pop_front();
}

}  // namespace dockmaster::actors
