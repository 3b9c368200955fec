#include "actors/restart_policy.hpp"

#include <chrono>
#include <vector>

#include <gtest/gtest.h>

namespace dockmaster::actors {
namespace {

using namespace std::chrono_literals;
using std::chrono::milliseconds;
using clock_type = restart_policy::clock;
using verdict = restart_policy::verdict;

/// An arbitrary fixed origin: neither the policy nor the test reads the real clock.
const clock_type::time_point t0 = clock_type::time_point{} + 1000h;

config::restart_config make_config() {
  config::restart_config config;
  config.executor = config::restart_executor::docker;
  config.command = {"pm2", "restart", "app"};
  config.backoff_initial = 1s;
  config.backoff_max = 8s;
  config.backoff_multiplier = 2.0;
  config.max_restarts = 100;
  config.window = 1h;
  config.escalate_after_failed = 0;
  return config;
}

/// Asks for a restart at `now`, expects it to run an exec, and finishes it `took`
/// later; returns the time it finished.
clock_type::time_point run_exec(restart_policy& policy, clock_type::time_point now,
                                bool succeeded, milliseconds took = 100ms) {
  EXPECT_EQ(policy.on_unhealthy(now), verdict::run_exec);
  policy.finished(succeeded, now + took);
  return now + took;
}

// --- the first restart --------------------------------------------------------------

TEST(RestartPolicy, RunsTheExecAtOnceTheFirstTime) {
  restart_policy policy(make_config());
  EXPECT_EQ(policy.on_unhealthy(t0), verdict::run_exec);
  EXPECT_TRUE(policy.in_progress());
  EXPECT_EQ(policy.restarts_in_window(t0), 1u);
}

TEST(RestartPolicy, RunsTheFirstRestartAtOnceWhateverTheClockSays) {
  restart_policy policy(make_config());
  EXPECT_EQ(policy.on_unhealthy(clock_type::time_point{}), verdict::run_exec);
}

TEST(RestartPolicy, StartsWithTheInitialBackoffAndNoFailures) {
  restart_policy policy(make_config());
  EXPECT_EQ(policy.current_backoff(), 1s);
  EXPECT_EQ(policy.failed_in_a_row(), 0u);
  EXPECT_FALSE(policy.in_progress());
  EXPECT_FALSE(policy.gave_up());
}

// --- busy ---------------------------------------------------------------------------

TEST(RestartPolicy, IsBusyWhileARestartIsInProgress) {
  restart_policy policy(make_config());
  ASSERT_EQ(policy.on_unhealthy(t0), verdict::run_exec);
  EXPECT_EQ(policy.on_unhealthy(t0 + 1s), verdict::busy);
  EXPECT_EQ(policy.on_unhealthy(t0 + 1h), verdict::busy);
  EXPECT_EQ(policy.restarts_in_window(t0 + 1s), 1u);
}

TEST(RestartPolicy, IsNoLongerInProgressOnceFinished) {
  restart_policy policy(make_config());
  ASSERT_EQ(policy.on_unhealthy(t0), verdict::run_exec);
  policy.finished(true, t0 + 1s);
  EXPECT_FALSE(policy.in_progress());
}

TEST(RestartPolicy, IgnoresAFinishedWithoutARestartInProgress) {
  restart_policy policy(make_config());
  policy.finished(false, t0);
  EXPECT_EQ(policy.current_backoff(), 1s);
  EXPECT_EQ(policy.failed_in_a_row(), 0u);
  EXPECT_EQ(policy.on_unhealthy(t0), verdict::run_exec);
}

// --- backoff ------------------------------------------------------------------------

TEST(RestartPolicy, WaitsUntilTheBackoffAfterTheLastRestartHasPassed) {
  restart_policy policy(make_config());
  auto done = run_exec(policy, t0, true);
  EXPECT_EQ(policy.next_allowed(), done + 1s);
  EXPECT_EQ(policy.on_unhealthy(done), verdict::wait);
  EXPECT_EQ(policy.on_unhealthy(done + 999ms), verdict::wait);
  EXPECT_EQ(policy.on_unhealthy(done + 1s), verdict::run_exec);
}

TEST(RestartPolicy, AWaitVerdictStartsNoRestart) {
  restart_policy policy(make_config());
  auto done = run_exec(policy, t0, true);
  ASSERT_EQ(policy.on_unhealthy(done), verdict::wait);
  EXPECT_FALSE(policy.in_progress());
  EXPECT_EQ(policy.restarts_in_window(done), 1u);
}

TEST(RestartPolicy, DoublesTheBackoffAfterEachRestartAndCapsItAtTheMaximum) {
  restart_policy policy(make_config());
  std::vector<milliseconds> delays;
  auto now = t0;
  for (int i = 0; i < 7; ++i) {
    auto done = run_exec(policy, now, false);
    delays.push_back(std::chrono::duration_cast<milliseconds>(policy.next_allowed() - done));
    now = policy.next_allowed();
  }
  EXPECT_EQ(delays, (std::vector<milliseconds>{1s, 2s, 4s, 8s, 8s, 8s, 8s}));
  EXPECT_EQ(policy.current_backoff(), 8s);
}

TEST(RestartPolicy, GrowsTheBackoffAlsoAfterASuccessfulExec) {
  restart_policy policy(make_config());
  run_exec(policy, t0, true);
  EXPECT_EQ(policy.current_backoff(), 2s);
}

TEST(RestartPolicy, GrowsTheBackoffByAFractionalMultiplier) {
  auto config = make_config();
  config.backoff_multiplier = 1.5;
  config.backoff_max = 60s;
  restart_policy policy(config);
  auto now = t0;
  std::vector<milliseconds> backoffs;
  for (int i = 0; i < 3; ++i) {
    now = run_exec(policy, now, false);
    backoffs.push_back(policy.current_backoff());
    now = policy.next_allowed();
  }
  EXPECT_EQ(backoffs, (std::vector<milliseconds>{1500ms, 2250ms, 3375ms}));
}

TEST(RestartPolicy, KeepsTheBackoffConstantWithAMultiplierOfOne) {
  auto config = make_config();
  config.backoff_multiplier = 1.0;
  restart_policy policy(config);
  auto now = t0;
  for (int i = 0; i < 3; ++i) {
    auto done = run_exec(policy, now, false);
    EXPECT_EQ(policy.next_allowed(), done + 1s);
    now = policy.next_allowed();
  }
  EXPECT_EQ(policy.current_backoff(), 1s);
}

TEST(RestartPolicy, CapsAHugeMultiplierWithoutOverflow) {
  auto config = make_config();
  config.backoff_multiplier = 1e300;
  restart_policy policy(config);
  run_exec(policy, t0, false);
  EXPECT_EQ(policy.current_backoff(), 8s);
}

// --- the cap per window -------------------------------------------------------------

TEST(RestartPolicy, GivesUpWhenMaxRestartsHaveStartedWithinTheWindow) {
  auto config = make_config();
  config.max_restarts = 3;
  restart_policy policy(config);
  auto now = t0;
  for (int i = 0; i < 3; ++i) {
    run_exec(policy, now, false);
    now = policy.next_allowed();
  }
  EXPECT_EQ(policy.restarts_in_window(now), 3u);
  EXPECT_EQ(policy.on_unhealthy(now), verdict::given_up);
  EXPECT_TRUE(policy.gave_up());
  EXPECT_FALSE(policy.in_progress());
}

TEST(RestartPolicy, StaysGivenUpEvenOnceTheWindowHasSlidPastTheRestarts) {
  auto config = make_config();
  config.max_restarts = 2;
  config.window = 1min;
  restart_policy policy(config);
  run_exec(policy, t0, false);
  run_exec(policy, policy.next_allowed(), false);
  ASSERT_EQ(policy.on_unhealthy(policy.next_allowed()), verdict::given_up);
  const auto much_later = t0 + 24h;
  EXPECT_EQ(policy.restarts_in_window(much_later), 0u);
  EXPECT_EQ(policy.on_unhealthy(much_later), verdict::given_up);
  EXPECT_TRUE(policy.gave_up());
}

TEST(RestartPolicy, LetsRestartsResumeAfterRecoveryOnceTheWindowHasSlid) {
  auto config = make_config();
  config.max_restarts = 2;
  config.window = 1min;
  restart_policy policy(config);
  run_exec(policy, t0, false);
  run_exec(policy, policy.next_allowed(), false);
  ASSERT_EQ(policy.on_unhealthy(policy.next_allowed()), verdict::given_up);
  policy.recovered();
  EXPECT_FALSE(policy.gave_up());
  EXPECT_EQ(policy.on_unhealthy(t0 + 24h), verdict::run_exec);
}

TEST(RestartPolicy, GivesUpAgainAtOnceWhenAFlappingInstanceRecoversWithinTheWindow) {
  auto config = make_config();
  config.max_restarts = 2;
  restart_policy policy(config);
  run_exec(policy, t0, false);
  run_exec(policy, policy.next_allowed(), false);
  const auto after_backoff = policy.next_allowed();
  ASSERT_EQ(policy.on_unhealthy(after_backoff), verdict::given_up);
  policy.recovered();
  // The two restarts are still within the hour: no third one.
  EXPECT_EQ(policy.on_unhealthy(after_backoff + 1s), verdict::given_up);
}

TEST(RestartPolicy, RestartsThatLeftTheWindowNoLongerCount) {
  auto config = make_config();
  config.max_restarts = 2;
  config.window = 1min;
  restart_policy policy(config);
  run_exec(policy, t0, true);
  run_exec(policy, t0 + 30s, true);
  EXPECT_EQ(policy.restarts_in_window(t0 + 59s), 2u);
  EXPECT_EQ(policy.restarts_in_window(t0 + 60s), 1u);
  // The first restart started a full window ago: a third may run.
  EXPECT_EQ(policy.on_unhealthy(t0 + 60s), verdict::run_exec);
}

TEST(RestartPolicy, ReportsWaitRatherThanGivenUpWhileTheBackoffRuns) {
  auto config = make_config();
  config.max_restarts = 1;
  restart_policy policy(config);
  auto done = run_exec(policy, t0, false);
  EXPECT_EQ(policy.on_unhealthy(done), verdict::wait);
  EXPECT_FALSE(policy.gave_up());
  EXPECT_EQ(policy.on_unhealthy(policy.next_allowed()), verdict::given_up);
}

// --- escalation ---------------------------------------------------------------------

TEST(RestartPolicy, NeverEscalatesWhenEscalationIsOff) {
  restart_policy policy(make_config());
  auto now = t0;
  for (int i = 0; i < 10; ++i) {
    run_exec(policy, now, false);
    now = policy.next_allowed();
  }
  EXPECT_EQ(policy.failed_in_a_row(), 10u);
  EXPECT_EQ(policy.on_unhealthy(now), verdict::run_exec);
}

TEST(RestartPolicy, RestartsTheContainerAfterTheConfiguredNumberOfFailedExecsInARow) {
  auto config = make_config();
  config.escalate_after_failed = 2;
  restart_policy policy(config);
  run_exec(policy, t0, false);
  EXPECT_EQ(policy.failed_in_a_row(), 1u);
  run_exec(policy, policy.next_allowed(), false);
  EXPECT_EQ(policy.failed_in_a_row(), 2u);
  EXPECT_EQ(policy.on_unhealthy(policy.next_allowed()), verdict::run_container_restart);
  EXPECT_TRUE(policy.in_progress());
}

TEST(RestartPolicy, ASuccessfulExecResetsTheFailureStreakBeforeEscalation) {
  auto config = make_config();
  config.escalate_after_failed = 2;
  restart_policy policy(config);
  run_exec(policy, t0, false);
  run_exec(policy, policy.next_allowed(), true);
  EXPECT_EQ(policy.failed_in_a_row(), 0u);
  run_exec(policy, policy.next_allowed(), false);
  EXPECT_EQ(policy.on_unhealthy(policy.next_allowed()), verdict::run_exec);
}

TEST(RestartPolicy, GoesBackToTheExecAfterASuccessfulContainerRestart) {
  auto config = make_config();
  config.escalate_after_failed = 1;
  restart_policy policy(config);
  run_exec(policy, t0, false);
  auto now = policy.next_allowed();
  ASSERT_EQ(policy.on_unhealthy(now), verdict::run_container_restart);
  policy.finished(true, now + 5s);
  EXPECT_EQ(policy.failed_in_a_row(), 0u);
  EXPECT_EQ(policy.on_unhealthy(policy.next_allowed()), verdict::run_exec);
}

TEST(RestartPolicy, RestartsTheContainerAgainAfterAFailedContainerRestart) {
  auto config = make_config();
  config.escalate_after_failed = 1;
  restart_policy policy(config);
  run_exec(policy, t0, false);
  auto now = policy.next_allowed();
  ASSERT_EQ(policy.on_unhealthy(now), verdict::run_container_restart);
  policy.finished(false, now + 5s);
  EXPECT_EQ(policy.failed_in_a_row(), 2u);
  EXPECT_EQ(policy.on_unhealthy(policy.next_allowed()), verdict::run_container_restart);
}

TEST(RestartPolicy, CountsContainerRestartsTowardsTheCap) {
  auto config = make_config();
  config.escalate_after_failed = 1;
  config.max_restarts = 3;
  restart_policy policy(config);
  run_exec(policy, t0, false);
  for (int i = 0; i < 2; ++i) {
    auto now = policy.next_allowed();
    ASSERT_EQ(policy.on_unhealthy(now), verdict::run_container_restart);
    policy.finished(false, now + 1s);
  }
  EXPECT_EQ(policy.on_unhealthy(policy.next_allowed()), verdict::given_up);
}

// --- recovery -----------------------------------------------------------------------

TEST(RestartPolicy, RecoveredResetsTheBackoffToTheInitialDelay) {
  restart_policy policy(make_config());
  auto now = t0;
  for (int i = 0; i < 3; ++i) {
    run_exec(policy, now, false);
    now = policy.next_allowed();
  }
  ASSERT_EQ(policy.current_backoff(), 8s);
  policy.recovered();
  EXPECT_EQ(policy.current_backoff(), 1s);
  auto done = run_exec(policy, now + 1h, false);
  EXPECT_EQ(policy.next_allowed(), done + 1s);
}

TEST(RestartPolicy, RecoveredResetsTheFailureStreakSoEscalationStartsOver) {
  auto config = make_config();
  config.escalate_after_failed = 2;
  restart_policy policy(config);
  run_exec(policy, t0, false);
  run_exec(policy, policy.next_allowed(), false);
  policy.recovered();
  EXPECT_EQ(policy.failed_in_a_row(), 0u);
  EXPECT_EQ(policy.on_unhealthy(policy.next_allowed()), verdict::run_exec);
}

TEST(RestartPolicy, RecoveredKeepsTheDelaySetByTheLatestRestartSoAFlappingInstanceStillWaits) {
  restart_policy policy(make_config());
  auto done = run_exec(policy, t0, false);
  const auto allowed = policy.next_allowed();
  policy.recovered();
  EXPECT_EQ(policy.next_allowed(), allowed);
  EXPECT_EQ(policy.on_unhealthy(done + 500ms), verdict::wait);
  EXPECT_EQ(policy.on_unhealthy(allowed), verdict::run_exec);
}

TEST(RestartPolicy, RecoveredKeepsARestartInProgress) {
  restart_policy policy(make_config());
  ASSERT_EQ(policy.on_unhealthy(t0), verdict::run_exec);
  policy.recovered();
  EXPECT_TRUE(policy.in_progress());
  EXPECT_EQ(policy.on_unhealthy(t0 + 1s), verdict::busy);
  policy.finished(true, t0 + 2s);
  EXPECT_EQ(policy.next_allowed(), t0 + 3s);
}

}  // namespace
}  // namespace dockmaster::actors
