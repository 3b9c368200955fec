#include "actors/health_tracker.hpp"

#include <chrono>
#include <string>

#include <gtest/gtest.h>

namespace dockmaster::actors {
namespace {

using namespace std::chrono_literals;
using clock_type = health_tracker::clock;

/// An arbitrary fixed origin: the tracker never reads the real clock, and neither does
/// the test.
const clock_type::time_point t0 = clock_type::time_point{} + 1000h;

constexpr bool pass = true;
constexpr bool fail = false;

/// Feeds `count` equal results one probe interval (1 s) apart, starting at `from`;
/// returns the transition of the last one and moves `from` past them.
health_tracker::transition feed(health_tracker& tracker, bool passed, int count,
                                clock_type::time_point& from) {
  health_tracker::transition last;
  for (int i = 0; i < count; ++i) {
    last = tracker.record(passed, from);
    from += 1s;
  }
  return last;
}

// --- starting -----------------------------------------------------------------------

TEST(HealthTracker, StartsUnknownWithNoCounts) {
  health_tracker tracker(3, 2, 0ms, t0);
  EXPECT_EQ(tracker.state(), health_state::unknown);
  EXPECT_EQ(tracker.consecutive_failures(), 0u);
  EXPECT_EQ(tracker.consecutive_passes(), 0u);
}

TEST(HealthTracker, UnknownTurnsHealthyAtTheFirstPassWhenHealthyAfterIsOne) {
  health_tracker tracker(3, 1, 0ms, t0);
  auto change = tracker.record(pass, t0);
  EXPECT_TRUE(change.changed);
  EXPECT_EQ(change.from, health_state::unknown);
  EXPECT_EQ(change.to, health_state::healthy);
  EXPECT_EQ(tracker.state(), health_state::healthy);
}

TEST(HealthTracker, UnknownNeedsHealthyAfterPassesInARowWhenItIsAboveOne) {
  health_tracker tracker(3, 3, 0ms, t0);
  auto now = t0;
  EXPECT_FALSE(feed(tracker, pass, 2, now).changed);
  EXPECT_EQ(tracker.state(), health_state::unknown);
  EXPECT_EQ(tracker.consecutive_passes(), 2u);
  auto change = tracker.record(pass, now);
  EXPECT_TRUE(change.changed);
  EXPECT_EQ(change.from, health_state::unknown);
  EXPECT_EQ(change.to, health_state::healthy);
}

TEST(HealthTracker, UnknownTurnsUnhealthyAfterUnhealthyAfterFailuresSoANeverStartingInstanceIsHealed) {
  health_tracker tracker(3, 1, 0ms, t0);
  auto now = t0;
  EXPECT_FALSE(feed(tracker, fail, 2, now).changed);
  EXPECT_EQ(tracker.state(), health_state::unknown);
  auto change = tracker.record(fail, now);
  EXPECT_TRUE(change.changed);
  EXPECT_EQ(change.from, health_state::unknown);
  EXPECT_EQ(change.to, health_state::unhealthy);
}

TEST(HealthTracker, APassWhileUnknownResetsTheFailureCount) {
  health_tracker tracker(3, 2, 0ms, t0);
  auto now = t0;
  feed(tracker, fail, 2, now);
  tracker.record(pass, now);
  now += 1s;
  EXPECT_EQ(tracker.consecutive_failures(), 0u);
  feed(tracker, fail, 2, now);
  EXPECT_EQ(tracker.state(), health_state::unknown);
}

TEST(HealthTracker, AFailureWhileUnknownResetsThePassCount) {
  health_tracker tracker(3, 2, 0ms, t0);
  auto now = t0;
  tracker.record(pass, now);
  now += 1s;
  tracker.record(fail, now);
  now += 1s;
  EXPECT_EQ(tracker.consecutive_passes(), 0u);
  tracker.record(pass, now);
  EXPECT_EQ(tracker.state(), health_state::unknown);
}

// --- healthy <-> unhealthy ----------------------------------------------------------

TEST(HealthTracker, HealthyTurnsUnhealthyAfterUnhealthyAfterFailuresInARow) {
  health_tracker tracker(3, 1, 0ms, t0);
  auto now = t0;
  feed(tracker, pass, 1, now);
  EXPECT_FALSE(feed(tracker, fail, 2, now).changed);
  EXPECT_EQ(tracker.state(), health_state::healthy);
  EXPECT_EQ(tracker.consecutive_failures(), 2u);
  auto change = tracker.record(fail, now);
  EXPECT_TRUE(change.changed);
  EXPECT_EQ(change.from, health_state::healthy);
  EXPECT_EQ(change.to, health_state::unhealthy);
}

TEST(HealthTracker, APassWhileHealthyResetsTheFailureCount) {
  health_tracker tracker(3, 1, 0ms, t0);
  auto now = t0;
  feed(tracker, pass, 1, now);
  feed(tracker, fail, 2, now);
  feed(tracker, pass, 1, now);
  EXPECT_EQ(tracker.consecutive_failures(), 0u);
  feed(tracker, fail, 2, now);
  EXPECT_EQ(tracker.state(), health_state::healthy);
  EXPECT_TRUE(feed(tracker, fail, 1, now).changed);
  EXPECT_EQ(tracker.state(), health_state::unhealthy);
}

TEST(HealthTracker, UnhealthyTurnsHealthyAfterHealthyAfterPassesInARow) {
  health_tracker tracker(1, 2, 0ms, t0);
  auto now = t0;
  feed(tracker, fail, 1, now);
  ASSERT_EQ(tracker.state(), health_state::unhealthy);
  EXPECT_FALSE(feed(tracker, pass, 1, now).changed);
  EXPECT_EQ(tracker.state(), health_state::unhealthy);
  auto change = tracker.record(pass, now);
  EXPECT_TRUE(change.changed);
  EXPECT_EQ(change.from, health_state::unhealthy);
  EXPECT_EQ(change.to, health_state::healthy);
}

TEST(HealthTracker, AFailureWhileUnhealthyResetsThePassCount) {
  health_tracker tracker(1, 3, 0ms, t0);
  auto now = t0;
  feed(tracker, fail, 1, now);
  feed(tracker, pass, 2, now);
  feed(tracker, fail, 1, now);
  EXPECT_EQ(tracker.consecutive_passes(), 0u);
  feed(tracker, pass, 2, now);
  EXPECT_EQ(tracker.state(), health_state::unhealthy);
  EXPECT_TRUE(feed(tracker, pass, 1, now).changed);
  EXPECT_EQ(tracker.state(), health_state::healthy);
}

TEST(HealthTracker, FurtherResultsInTheSameStateReportNoChange) {
  health_tracker tracker(2, 1, 0ms, t0);
  auto now = t0;
  feed(tracker, pass, 1, now);
  auto change = feed(tracker, pass, 5, now);
  EXPECT_FALSE(change.changed);
  EXPECT_EQ(change.from, health_state::healthy);
  EXPECT_EQ(change.to, health_state::healthy);
  feed(tracker, fail, 2, now);
  ASSERT_EQ(tracker.state(), health_state::unhealthy);
  EXPECT_FALSE(feed(tracker, fail, 5, now).changed);
  EXPECT_EQ(tracker.consecutive_failures(), 7u);
}

TEST(HealthTracker, AFlappingInstanceBelowBothThresholdsKeepsItsState) {
  health_tracker tracker(3, 3, 0ms, t0);
  auto now = t0;
  feed(tracker, pass, 3, now);
  ASSERT_EQ(tracker.state(), health_state::healthy);
  for (int i = 0; i < 20; ++i) {
    EXPECT_FALSE(feed(tracker, fail, 2, now).changed);
    EXPECT_FALSE(feed(tracker, pass, 1, now).changed);
  }
  EXPECT_EQ(tracker.state(), health_state::healthy);
}

TEST(HealthTracker, AFlappingInstanceThatReachesBothThresholdsChangesEachTime) {
  health_tracker tracker(2, 2, 0ms, t0);
  auto now = t0;
  for (int i = 0; i < 3; ++i) {
    auto up = feed(tracker, pass, 2, now);
    EXPECT_TRUE(up.changed);
    EXPECT_EQ(up.to, health_state::healthy);
    auto down = feed(tracker, fail, 2, now);
    EXPECT_TRUE(down.changed);
    EXPECT_EQ(down.to, health_state::unhealthy);
  }
}

TEST(HealthTracker, AThresholdOfZeroCountsAsOne) {
  health_tracker tracker(0, 0, 0ms, t0);
  auto now = t0;
  EXPECT_TRUE(tracker.record(pass, now).changed);
  EXPECT_EQ(tracker.state(), health_state::healthy);
  EXPECT_TRUE(tracker.record(fail, now + 1s).changed);
  EXPECT_EQ(tracker.state(), health_state::unhealthy);
}

// --- start period -------------------------------------------------------------------

TEST(HealthTracker, IsInTheStartPeriodFromStartUntilItEnds) {
  health_tracker tracker(3, 1, 10s, t0);
  EXPECT_TRUE(tracker.in_start_period(t0));
  EXPECT_TRUE(tracker.in_start_period(t0 + 9999ms));
  EXPECT_FALSE(tracker.in_start_period(t0 + 10s));
}

TEST(HealthTracker, HasNoStartPeriodWhenItIsZero) {
  health_tracker tracker(3, 1, 0ms, t0);
  EXPECT_FALSE(tracker.in_start_period(t0));
}

TEST(HealthTracker, IgnoresFailuresWithinTheStartPeriodAfterBoot) {
  health_tracker tracker(2, 1, 10s, t0);
  auto now = t0;
  EXPECT_FALSE(feed(tracker, fail, 10, now).changed);
  EXPECT_EQ(tracker.state(), health_state::unknown);
  EXPECT_EQ(tracker.consecutive_failures(), 0u);
}

TEST(HealthTracker, CountsFailuresOnceTheStartPeriodIsOverSoANeverStartingInstanceTurnsUnhealthy) {
  health_tracker tracker(2, 1, 10s, t0);
  auto now = t0;
  feed(tracker, fail, 10, now);  // t0 .. t0+9s: ignored
  ASSERT_EQ(now, t0 + 10s);
  EXPECT_FALSE(feed(tracker, fail, 1, now).changed);
  auto change = feed(tracker, fail, 1, now);
  EXPECT_TRUE(change.changed);
  EXPECT_EQ(change.from, health_state::unknown);
  EXPECT_EQ(change.to, health_state::unhealthy);
}

TEST(HealthTracker, CountsPassesWithinTheStartPeriod) {
  health_tracker tracker(3, 2, 10s, t0);
  auto now = t0;
  auto change = feed(tracker, pass, 2, now);
  EXPECT_TRUE(change.changed);
  EXPECT_EQ(change.to, health_state::healthy);
}

TEST(HealthTracker, AFailureWithinTheStartPeriodDoesNotBreakARunOfPasses) {
  health_tracker tracker(3, 3, 10s, t0);
  auto now = t0;
  feed(tracker, pass, 2, now);
  auto ignored = feed(tracker, fail, 1, now);
  EXPECT_FALSE(ignored.changed);
  EXPECT_EQ(tracker.consecutive_passes(), 2u);
  EXPECT_TRUE(feed(tracker, pass, 1, now).changed);
  EXPECT_EQ(tracker.state(), health_state::healthy);
}

TEST(HealthTracker, IsSettlingUntilKnownAndWhileARunHasNotReachedItsThreshold) {
  health_tracker tracker(3, 2, 0ms, t0);
  auto now = t0;
  EXPECT_TRUE(tracker.settling()) << "not known yet";
  feed(tracker, pass, 1, now);
  EXPECT_TRUE(tracker.settling()) << "one pass of two";
  feed(tracker, pass, 1, now);
  EXPECT_FALSE(tracker.settling()) << "healthy";
  feed(tracker, fail, 2, now);
  EXPECT_TRUE(tracker.settling()) << "two failures of three";
  feed(tracker, fail, 1, now);
  EXPECT_FALSE(tracker.settling()) << "unhealthy";
  feed(tracker, pass, 1, now);
  EXPECT_TRUE(tracker.settling()) << "one pass of two after being unhealthy";
}

TEST(HealthTracker, TheStartPeriodEndsOnceTheInstanceHasTurnedHealthy) {
  // Docker's --start-period: a service that is up is judged at once when it fails.
  health_tracker tracker(2, 2, 60s, t0);
  auto now = t0;
  feed(tracker, pass, 1, now);
  EXPECT_TRUE(tracker.in_start_period(now));
  ASSERT_TRUE(feed(tracker, pass, 1, now).changed);
  EXPECT_FALSE(tracker.in_start_period(now));
  ASSERT_LT(now, t0 + 60s);
  EXPECT_FALSE(feed(tracker, fail, 1, now).changed);
  auto change = feed(tracker, fail, 1, now);
  EXPECT_TRUE(change.changed);
  EXPECT_EQ(change.to, health_state::unhealthy);
}

TEST(HealthTracker, AfterARestartTheStartPeriodShieldsAgainUntilTheInstanceIsHealthy) {
  health_tracker tracker(1, 1, 30s, t0);
  auto now = t0;
  feed(tracker, pass, 1, now);
  feed(tracker, fail, 1, now);
  ASSERT_EQ(tracker.state(), health_state::unhealthy);
  tracker.restarted(now);
  EXPECT_TRUE(tracker.in_start_period(now));
  EXPECT_FALSE(feed(tracker, fail, 3, now).changed);
  EXPECT_TRUE(feed(tracker, pass, 1, now).changed);
  EXPECT_FALSE(tracker.in_start_period(now));
  auto change = feed(tracker, fail, 1, now);
  EXPECT_TRUE(change.changed);
  EXPECT_EQ(change.to, health_state::unhealthy);
}

TEST(HealthTracker, RestartedBeginsTheStartPeriodAgain) {
  health_tracker tracker(1, 1, 10s, t0);
  const auto restart = t0 + 1h;
  EXPECT_FALSE(tracker.in_start_period(restart));
  tracker.restarted(restart);
  EXPECT_TRUE(tracker.in_start_period(restart));
  EXPECT_TRUE(tracker.in_start_period(restart + 9s));
  EXPECT_FALSE(tracker.in_start_period(restart + 10s));
}

TEST(HealthTracker, IgnoresFailuresWithinTheStartPeriodAfterARestart) {
  health_tracker tracker(2, 1, 10s, t0);
  auto now = t0 + 1h;
  feed(tracker, pass, 1, now);
  feed(tracker, fail, 2, now);
  ASSERT_EQ(tracker.state(), health_state::unhealthy);
  tracker.restarted(now);
  EXPECT_FALSE(feed(tracker, fail, 10, now).changed);
  EXPECT_EQ(tracker.consecutive_failures(), 0u);
  EXPECT_EQ(tracker.state(), health_state::unhealthy);
  auto change = feed(tracker, pass, 1, now);
  EXPECT_TRUE(change.changed);
  EXPECT_EQ(change.from, health_state::unhealthy);
  EXPECT_EQ(change.to, health_state::healthy);
}

TEST(HealthTracker, AnInstanceStillFailingAfterARestartPeriodCountsFailuresAgainWithoutAChange) {
  health_tracker tracker(2, 1, 5s, t0);
  auto now = t0 + 1h;
  feed(tracker, fail, 2, now);
  ASSERT_EQ(tracker.state(), health_state::unhealthy);
  tracker.restarted(now);
  feed(tracker, fail, 5, now);  // within the start period
  EXPECT_EQ(tracker.consecutive_failures(), 0u);
  EXPECT_FALSE(feed(tracker, fail, 2, now).changed);
  EXPECT_EQ(tracker.state(), health_state::unhealthy);
  EXPECT_EQ(tracker.consecutive_failures(), 2u);
}

TEST(HealthTracker, RestartedResetsBothCountsButKeepsTheState) {
  health_tracker tracker(3, 3, 0ms, t0);
  auto now = t0;
  feed(tracker, pass, 3, now);
  feed(tracker, fail, 2, now);
  ASSERT_EQ(tracker.consecutive_failures(), 2u);
  tracker.restarted(now);
  EXPECT_EQ(tracker.consecutive_failures(), 0u);
  EXPECT_EQ(tracker.consecutive_passes(), 0u);
  EXPECT_EQ(tracker.state(), health_state::healthy);
  // The two failures before the restart no longer count towards the threshold.
  feed(tracker, fail, 2, now);
  EXPECT_EQ(tracker.state(), health_state::healthy);

  health_tracker rising(3, 3, 0ms, t0);
  auto later = t0;
  feed(rising, fail, 3, later);
  feed(rising, pass, 2, later);
  rising.restarted(later);
  feed(rising, pass, 2, later);
  EXPECT_EQ(rising.state(), health_state::unhealthy);
}

TEST(HealthTracker, NamesEachState) {
  EXPECT_EQ(std::string(to_string(health_state::unknown)), "unknown");
  EXPECT_EQ(std::string(to_string(health_state::healthy)), "healthy");
  EXPECT_EQ(std::string(to_string(health_state::unhealthy)), "unhealthy");
}

}  // namespace
}  // namespace dockmaster::actors
