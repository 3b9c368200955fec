// The restart_supervisor under CAF's test coordinator: its backoff, cap and timeouts
// run on simulated time, its executor and watcher are recording stand-ins, and the
// test decides when each restart ends.

#include <gtest/gtest.h>

#include "actors/restart_supervisor.hpp"
#include "support/simulated_actors.hpp"

namespace dockmaster::test {
namespace {

using namespace messages;
using namespace std::chrono_literals;

class RestartSupervisor : public ::testing::Test {
 protected:
  RestartSupervisor() {
    service_.name = "web";
    service_.health.kind = config::probe_kind::http;
    service_.restart.executor = config::restart_executor::docker;
    service_.restart.command = {"/restart.sh"};
    service_.restart.backoff_initial = 1s;
    service_.restart.backoff_multiplier = 2;
    service_.restart.backoff_max = 4s;
    service_.restart.max_restarts = 10;
  }

  void start() {
    auto executor = sim_.spawn(manual_executor, jobs_);
    auto sink = sim_.spawn(recording_sink, seen_);
    supervisor_ = sim_.spawn(actors::restart_supervisor,
                                    std::map<std::string, config::service_config>{{"web", service_}},
                                    executor, restart_executor_actor{}, sink);
    auto watcher = sim_.spawn(recording_watcher, seen_);
    caf::anon_send(supervisor_, register_atom::value, std::string("web"), watcher);
    auto proxy = sim_.spawn(recording_proxy, seen_);
    caf::anon_send(supervisor_, register_atom::value, std::string("web"), proxy);
    caf::anon_send(supervisor_, instance_added{instance_});
    sim_.run();
  }

  void turn(health_state from, health_state to, const instance_id& id) {
    caf::anon_send(supervisor_, health_changed{id, from, to, "test", probe_verdict::refused, 2});
    sim_.run();
  }
  /// The oldest running restart ends, and the supervisor hears of it.
  void ends(restart_outcome outcome, std::string error = {}) {
    jobs_->finish(outcome, std::move(error));
    sim_.run();
  }
  void fails() { turn(health_state::healthy, health_state::unhealthy, instance_); }
  /// As the watcher reports a restarted instance that then fails again.
  void restarted_and_fails_again() {
    turn(health_state::unhealthy, health_state::unknown, instance_);
    turn(health_state::unknown, health_state::unhealthy, instance_);
  }

  /// A restart of `id` that ran and turned healthy `boot` after it (as its watcher
  /// reports it); then time for the backoff to pass. Returns the grace it was given.
  std::uint64_t restart_taking(caf::timespan boot, const instance_id& id) {
    auto judged = seen_->judged.size();
    turn(health_state::healthy, health_state::unhealthy, id);
    ends(restart_outcome::ok);
    EXPECT_EQ(seen_->judged.size(), judged + 1) << "not judged afresh";
    if (seen_->judged.size() != judged + 1) return 0;
    turn(health_state::unhealthy, health_state::unknown, id);
    sim_.advance(boot);
    turn(health_state::unknown, health_state::healthy, id);
    sim_.advance(5s);
    return seen_->judged.back().grace_ms;
  }
  std::uint64_t restart_taking(caf::timespan boot) { return restart_taking(boot, instance_); }

  simulated_actors sim_;
  config::service_config service_;
  instance_id instance_ = make_instance("web", 8001);
  std::shared_ptr<manual_jobs> jobs_ = std::make_shared<manual_jobs>();
  std::shared_ptr<recorded> seen_ = std::make_shared<recorded>();
  restart_supervisor_actor supervisor_;
};

TEST_F(RestartSupervisor, AFailedRestartIsRetriedAfterABackoffThatDoublesUpToItsCap) {
  start();
  fails();
  ASSERT_EQ(jobs_->requests.size(), 1u) << "the first restart runs at once";
  for (auto expected : {1000ms, 2000ms, 4000ms, 4000ms}) {
    ends(restart_outcome::failed, "exited with 1");
    restarted_and_fails_again();
    auto before = jobs_->requests.size();
    sim_.advance(expected - 1ms);
    EXPECT_EQ(jobs_->requests.size(), before) << "retried before its backoff of " << expected.count() << " ms";
    sim_.advance(1ms);
    ASSERT_EQ(jobs_->requests.size(), before + 1) << "not retried after " << expected.count() << " ms";
  }
  EXPECT_EQ(seen_->count(event_kind::restart_backoff), 4u);
  EXPECT_EQ(seen_->count(event_kind::restart_failed), 4u);
}

TEST_F(RestartSupervisor, AtTheCapItGivesUpOnceAndNeverRestartsAgain) {
  service_.restart.max_restarts = 2;
  start();
  fails();
  ends(restart_outcome::ok);
  sim_.advance(1s);
  restarted_and_fails_again();
  ASSERT_EQ(jobs_->requests.size(), 2u);
  ends(restart_outcome::ok);
  sim_.advance(2s);
  restarted_and_fails_again();
  EXPECT_EQ(seen_->count(event_kind::restart_given_up), 1u);
  // Hours of failures later: still two restarts, and given up said once.
  for (int i = 0; i < 10; ++i) {
    sim_.advance(30min);
    restarted_and_fails_again();
  }
  EXPECT_EQ(jobs_->requests.size(), 2u);
  EXPECT_EQ(seen_->count(event_kind::restart_given_up), 1u);
}

TEST_F(RestartSupervisor, GivingUpTellsTheProxyNotToWaitForTheInstanceUntilItRecovers) {
  service_.restart.max_restarts = 1;
  start();
  fails();
  ends(restart_outcome::ok);
  restarted_and_fails_again();
  EXPECT_TRUE(seen_->outlooks.empty()) << "a restart is still due after the backoff";
  sim_.advance(1s);  // the backoff ends at the cap
  ASSERT_EQ(seen_->outlooks.size(), 1u);
  EXPECT_FALSE(seen_->outlooks[0].expected);
  EXPECT_EQ(seen_->outlooks[0].instance, instance_);
  // Said once, however often it fails on.
  restarted_and_fails_again();
  EXPECT_EQ(seen_->outlooks.size(), 1u);
  // It recovers by itself: requests may wait for it again.
  turn(health_state::unhealthy, health_state::healthy, instance_);
  ASSERT_EQ(seen_->outlooks.size(), 2u);
  EXPECT_TRUE(seen_->outlooks[1].expected);
}

TEST_F(RestartSupervisor, ARestartThatRanHasItsInstanceJudgedAfreshByItsWatcher) {
  start();
  fails();
  ASSERT_TRUE(seen_->judged.empty());
  ends(restart_outcome::ok);
  ASSERT_EQ(seen_->judged.size(), 1u);
  EXPECT_EQ(seen_->judged[0].instance, instance_);
  EXPECT_EQ(seen_->judged[0].reason, "restarted");
  EXPECT_EQ(seen_->count(event_kind::restart_done), 1u);
}

TEST_F(RestartSupervisor, TwoFailuresOfOneInstanceNeverRunTwoRestartsAtOnce) {
  start();
  fails();
  restarted_and_fails_again();
  turn(health_state::unhealthy, health_state::unhealthy, instance_);
  sim_.advance(1h);
  EXPECT_EQ(jobs_->requests.size(), 1u) << "a second restart started while the first ran";
}

TEST_F(RestartSupervisor, AnInstanceRemovedWhileItsRestartRunsIsNeitherRetriedNorJudged) {
  start();
  fails();
  caf::anon_send(supervisor_, instance_removed{instance_});
  sim_.run();
  ends(restart_outcome::failed, "exited with 1");
  sim_.advance(1h);
  EXPECT_EQ(jobs_->requests.size(), 1u);
  EXPECT_TRUE(seen_->judged.empty());
  ASSERT_EQ(seen_->count(event_kind::restart_failed), 1u) << "the history still records how it ended";
  EXPECT_EQ(seen_->count(event_kind::restart_backoff), 0u);
}

TEST_F(RestartSupervisor, ARemovedInstanceLosesItsPendingRetryAndComesBackWithAFreshRecord) {
  start();
  fails();
  ends(restart_outcome::failed, "exited with 1");
  restarted_and_fails_again();
  ASSERT_EQ(seen_->count(event_kind::restart_backoff), 1u);
  caf::anon_send(supervisor_, instance_removed{instance_});
  sim_.run();
  sim_.advance(1h);
  EXPECT_EQ(jobs_->requests.size(), 1u) << "the retry of a removed instance fired";
  // A report from a watcher that had not heard of the removal yet changes nothing.
  fails();
  EXPECT_EQ(jobs_->requests.size(), 1u);
  // The same address again is a new instance: no backoff left over from the old one.
  caf::anon_send(supervisor_, instance_added{instance_});
  sim_.run();
  fails();
  EXPECT_EQ(jobs_->requests.size(), 2u);
}

TEST_F(RestartSupervisor, EachRestartNamesTheContainerThatServedTheInstanceAndWhenItFailed) {
  start();
  turn(health_state::unknown, health_state::healthy, instance_);
  ASSERT_EQ(jobs_->lookups.size(), 1u) << "a healthy instance's container is looked up";
  fails();
  ASSERT_EQ(jobs_->requests.size(), 1u);
  EXPECT_EQ(jobs_->requests[0].served_by, jobs_->container_id);
  EXPECT_GT(jobs_->requests[0].failed_at_unix_ms, 0);
  EXPECT_EQ(jobs_->requests[0].action, restart_action::exec);
}

TEST_F(RestartSupervisor, ASkippedRestartCountsForNothingAndHasTheInstanceJudgedAfresh) {
  service_.restart.max_restarts = 1;
  start();
  fails();
  ends(restart_outcome::skipped, "container x is not y");
  ASSERT_EQ(seen_->judged.size(), 1u);
  EXPECT_NE(seen_->judged[0].reason.find("skipped"), std::string::npos);
  EXPECT_EQ(seen_->judged[0].grace_ms, 0u) << "nothing ran, so nothing is booting";
  EXPECT_EQ(seen_->count(event_kind::restart_skipped), 1u);
  // It failed again once judged afresh: with a cap of one, the skipped attempt has not
  // used it up, and the real restart waits a backoff.
  restarted_and_fails_again();
  EXPECT_EQ(jobs_->requests.size(), 1u);
  sim_.advance(1s);
  EXPECT_EQ(jobs_->requests.size(), 2u);
  EXPECT_EQ(seen_->count(event_kind::restart_given_up), 0u);
}

// --- the post-restart grace --------------------------------------------------------

TEST_F(RestartSupervisor, WithoutHistoryTheGraceAfterARestartIsTenSeconds) {
  start();
  EXPECT_EQ(restart_taking(3s), 10000u);
}

TEST_F(RestartSupervisor, TheDerivedGraceIsTwiceTheBootTimeOfTheLatestRestarts) {
  start();
  restart_taking(3s);
  EXPECT_EQ(restart_taking(2s), 6000u) << "after a boot of 3 s";
  EXPECT_EQ(restart_taking(1s), 6000u) << "the longest of the recent boots counts";
}

TEST_F(RestartSupervisor, TheDerivedGraceIsAtLeastOneSecondAndAtMostOneMinute) {
  start();
  restart_taking(100ms);
  EXPECT_EQ(restart_taking(40s), 1000u) << "after a boot of 100 ms";
  EXPECT_EQ(restart_taking(1s), 60000u) << "after a boot of 40 s";
}

TEST_F(RestartSupervisor, TheDerivedGraceForgetsAllButTheLastFiveBoots) {
  start();
  restart_taking(20s);
  // Each of these is given its grace before its own boot counts: the fifth still
  // remembers the boot of 20 s among the last five.
  for (int i = 0; i < 5; ++i) EXPECT_EQ(restart_taking(1s), 40000u) << "boot " << i;
  // Five boots of 1 s since the one of 20 s.
  EXPECT_EQ(restart_taking(1s), 2000u);
}

TEST_F(RestartSupervisor, TheBootsOfEveryInstanceOfTheServiceTeachTheGraceOfEachOther) {
  auto other = make_instance("web", 8002);
  start();
  caf::anon_send(supervisor_, instance_added{other});
  sim_.run();
  restart_taking(3s, instance_);
  EXPECT_EQ(restart_taking(1s, other), 6000u);
}

TEST_F(RestartSupervisor, ARestartThatNeverTurnedHealthyTeachesNothingAndTheNextIsTimedFromItsOwnStart) {
  start();
  fails();
  ends(restart_outcome::ok);
  sim_.advance(20s);
  restarted_and_fails_again();  // this restart never came up; its backoff is over
  ASSERT_EQ(jobs_->requests.size(), 2u);
  ends(restart_outcome::ok);
  ASSERT_EQ(seen_->judged.size(), 2u);
  EXPECT_EQ(seen_->judged[1].grace_ms, 10000u) << "learned from a restart that failed";
  turn(health_state::unhealthy, health_state::unknown, instance_);
  sim_.advance(2s);
  turn(health_state::unknown, health_state::healthy, instance_);
  sim_.advance(5s);
  EXPECT_EQ(restart_taking(1s), 4000u) << "not timed from the first restart";
}

TEST_F(RestartSupervisor, AConfiguredGraceOverridesTheDerivedOne) {
  service_.restart.grace = 2500ms;
  start();
  EXPECT_EQ(restart_taking(3s), 2500u);
  EXPECT_EQ(restart_taking(3s), 2500u) << "derived from the boot of 3 s instead";
}

TEST_F(RestartSupervisor, ARestartCommandThatRanButFailedIsJudgedWithTheGraceToo) {
  start();
  fails();
  ends(restart_outcome::failed, "exited with 1");
  ASSERT_EQ(seen_->judged.size(), 1u);
  EXPECT_EQ(seen_->judged[0].grace_ms, 10000u);
}

TEST_F(RestartSupervisor, AnExecutorThatNeverAnswersCountsAsAFailedRestartAfterTheTimeout) {
  service_.restart.timeout = 2s;
  start();
  fails();
  sim_.advance(10s);
  EXPECT_EQ(seen_->count(event_kind::restart_failed), 0u) << "gave up before the timeout";
  sim_.advance(10s);  // the timeout plus the grace for the engine's calls
  ASSERT_EQ(seen_->count(event_kind::restart_failed), 1u);
  for (const auto& e : seen_->supervisor_events)
    if (e.kind == event_kind::restart_failed) {
      EXPECT_EQ(e.result.outcome, restart_outcome::abandoned);
    }
  sim_.advance(1s);
  EXPECT_EQ(jobs_->requests.size(), 2u) << "retried after the backoff";
}

TEST_F(RestartSupervisor, AServiceWithoutARestartActionIsNeverRestarted) {
  service_.restart.executor = config::restart_executor::none;
  start();
  fails();
  sim_.advance(1h);
  EXPECT_TRUE(jobs_->requests.empty());
}

TEST_F(RestartSupervisor, AnInstanceThatWasNeverAnnouncedIsNotRestarted) {
  start();
  turn(health_state::healthy, health_state::unhealthy, make_instance("web", 9999));
  EXPECT_TRUE(jobs_->requests.empty());
}

}  // namespace
}  // namespace dockmaster::test
