#include "actors/health_tracker.hpp"

#include <algorithm>
#include <limits>

namespace dockmaster::actors {

namespace {

/// A threshold of 0 would flip the state without any probe; the parser never gives
/// one, and a hand-built tracker gets the nearest meaningful value instead.
unsigned at_least_one(unsigned threshold) { return std::max(threshold, 1u); }

/// Counts that cannot wrap around to 0 on an instance probed for a very long time.
void increment(unsigned& count) {
  if (count < std::numeric_limits<unsigned>::max()) ++count;
}

}  // namespace

health_tracker::health_tracker(unsigned unhealthy_after, unsigned healthy_after,
                               std::chrono::milliseconds start_period, clock::time_point start)
    : unhealthy_after_(at_least_one(unhealthy_after)),
      healthy_after_(at_least_one(healthy_after)),
      start_period_(std::max(start_period, std::chrono::milliseconds::zero())),
      period_start_(start) {}

health_tracker::transition health_tracker::record(bool passed, clock::time_point now) {
  const health_state before = state_;
  if (passed) {
    increment(passes_);
    failures_ = 0;
    if (passes_ >= healthy_after_) {
      state_ = health_state::healthy;
      started_ = true;
    }
  } else {
    // A failure while the instance is still starting says nothing yet: it neither
    // counts nor breaks a run of passes.
    if (in_start_period(now)) return transition{false, before, before};
    increment(failures_);
    passes_ = 0;
    if (state_ != health_state::unhealthy && failures_ >= unhealthy_after_) {
      state_ = health_state::unhealthy;
    }
  }
  return transition{state_ != before, before, state_};
}

void health_tracker::restarted(clock::time_point now) {
  period_start_ = now;
  started_ = false;
  failures_ = 0;
  passes_ = 0;
}

bool health_tracker::settling() const {
  return state_ == health_state::unknown || (failures_ > 0 && state_ != health_state::unhealthy) ||
         (passes_ > 0 && state_ != health_state::healthy);
}

bool health_tracker::in_start_period(clock::time_point now) const {
  // Also true for a `now` before the period began (only possible with a caller's
  // clock that is not monotonic): the instance has not had its start period yet.
  return !started_ && start_period_.count() > 0 && now - period_start_ < start_period_;
}

}  // namespace dockmaster::actors
