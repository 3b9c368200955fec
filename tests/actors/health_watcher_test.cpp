// The health_watcher under CAF's test coordinator: its probe timers run on simulated
// time, its probes are answered by hand, and recording stand-ins show what it reports.

#include <gtest/gtest.h>

#include <set>

#include "actors/health_watcher.hpp"
#include "support/simulated_actors.hpp"

namespace dockmaster::test {
namespace {

using namespace messages;
using namespace std::chrono_literals;

class HealthWatcher : public ::testing::Test {
 protected:
  HealthWatcher() {
    service_.name = "web";
    service_.health.kind = config::probe_kind::tcp;
    service_.health.interval = 30s;
    service_.health.fast_interval = 100ms;
    service_.health.unhealthy_after = 2;
    service_.health.healthy_after = 1;
    service_.health.jitter_percent = 0;  // exact intervals, but where jitter is tested
  }

  void start() {
    auto proxy = sim_.spawn(recording_proxy, seen_);
    auto supervisor = sim_.spawn(recording_supervisor, seen_);
    auto sink = sim_.spawn(recording_sink, seen_);
    watcher_ = sim_.spawn(actors::health_watcher, service_, prober_, proxy, supervisor, sink);
    sim_.run();
  }
  void add(const instance_id& id) {
    caf::anon_send(watcher_, instance_added{id});
    sim_.run();
  }
  void answer(probe_verdict verdict, std::uint16_t port = 0) {
    prober_->answer(verdict, port);
    sim_.run();
  }
  /// Adds the instance and lets it pass its first probe.
  void healthy(const instance_id& id) {
    add(id);
    answer(probe_verdict::passed, id.port);
    ASSERT_EQ(seen_->supervisor_changes.back().to, health_state::healthy);
  }
  /// Two refused probes at the fast interval, at the healthy instance's next probe.
  void make_unhealthy() {
    sim_.advance(service_.health.interval);
    answer(probe_verdict::refused);
    sim_.advance(100ms);
    answer(probe_verdict::refused);
    ASSERT_EQ(seen_->supervisor_changes.back().to, health_state::unhealthy);
  }

  simulated_actors sim_;
  config::service_config service_;
  std::shared_ptr<manual_prober> prober_ = std::make_shared<manual_prober>();
  std::shared_ptr<recorded> seen_ = std::make_shared<recorded>();
  health_watcher_actor watcher_;
  instance_id instance_ = make_instance("web", 8001);
};

TEST_F(HealthWatcher, ANewInstanceIsProbedAtOnceThenEveryInterval) {
  start();
  add(instance_);
  EXPECT_EQ(prober_->started_count(), 1u);
  answer(probe_verdict::passed);
  ASSERT_EQ(seen_->health_changes.size(), 2u) << "to the proxy and the sink";
  EXPECT_EQ(seen_->health_changes[0].to, health_state::healthy);
  sim_.advance(30s - 1ms);
  EXPECT_EQ(prober_->started_count(), 1u);
  sim_.advance(1ms);
  EXPECT_EQ(prober_->started_count(), 2u);
  EXPECT_EQ(seen_->probes.size(), 1u) << "every probe is counted by the sink";
}

TEST_F(HealthWatcher, InstancesAddedTogetherDriftApartWithinTheJitterButTheFastIntervalIsExact) {
  service_.health.jitter_percent = 20;
  start();
  std::vector<instance_id> instances;
  for (std::uint16_t port = 8001; port <= 8004; ++port) {
    instances.push_back(make_instance("web", port));
    healthy(instances.back());
  }
  ASSERT_EQ(prober_->started_count(), 4u);
  // Every next probe comes within 30 s +/- 20 %, and not all at the same moment.
  sim_.advance(24s - 1ms);
  EXPECT_EQ(prober_->started_count(), 4u) << "none before 24 s";
  std::vector<std::chrono::milliseconds> second_probe_at(4);
  auto elapsed = 24s - 1ms;
  for (std::chrono::milliseconds step = 250ms; elapsed < 36s; elapsed += step) {
    auto before = prober_->started_count();
    sim_.advance(step);
    for (auto n = before; n < prober_->started_count(); ++n) {
      // Answered at once, so that each schedules its next from here.
      auto port = prober_->pending_port();
      second_probe_at[port - 8001] = std::chrono::duration_cast<std::chrono::milliseconds>(elapsed + step);
      answer(probe_verdict::passed, port);
    }
  }
  EXPECT_EQ(prober_->started_count(), 8u) << "each one probe within 36 s";
  std::set<long long> distinct;
  for (auto at : second_probe_at) {
    EXPECT_GE(at, 24s);
    EXPECT_LE(at, 36s);
    distinct.insert(at.count() / 250);
  }
  EXPECT_GT(distinct.size(), 1u) << "all four probed in the same quarter second";
}

TEST_F(HealthWatcher, JitteredProbesFallDueOnTheProbeGridSoThatCloseOnesShareAWakeUp) {
  service_.health.jitter_percent = 20;
  prober_->clock = &sim_.system.clock();
  start();
  for (std::uint16_t port = 8001; port <= 8008; ++port) healthy(make_instance("web", port));
  ASSERT_EQ(prober_->started_count(), 8u);
  // Timer by timer, so that the clock reads each one's due time when it fires.
  auto& clock = sim_.coordinator.clock();
  while (prober_->started_count() < 16u && clock.trigger_timeout()) {
    sim_.run();
    while (prober_->pending_count() > 0) answer(probe_verdict::passed, prober_->pending_port());
  }
  ASSERT_EQ(prober_->started_count(), 16u);
  // The first probes came when the instances were added; each next one on the grid.
  for (std::size_t i = 8; i < prober_->started_at.size(); ++i)
    EXPECT_EQ(prober_->started_at[i].time_since_epoch() % actors::probe_grid, caf::timespan{0})
        << "probe " << i;
  EXPECT_EQ(actors::on_probe_grid(caf::actor_clock::time_point{30ms}), caf::actor_clock::time_point{30ms});
  EXPECT_EQ(actors::on_probe_grid(caf::actor_clock::time_point{30ms + 1ns}),
            caf::actor_clock::time_point{40ms});
}

TEST_F(HealthWatcher, AFailingInstanceIsRetriedAtExactlyTheFastIntervalWhateverTheJitter) {
  service_.health.jitter_percent = 50;
  start();
  healthy(instance_);
  while (prober_->started_count() == 1u) sim_.advance(100ms);
  answer(probe_verdict::refused);
  sim_.advance(100ms - 1ms);
  EXPECT_EQ(prober_->started_count(), 2u);
  sim_.advance(1ms);
  EXPECT_EQ(prober_->started_count(), 3u);
}

TEST_F(HealthWatcher, FailuresInARowTurnItUnhealthyAtTheFastInterval) {
  start();
  healthy(instance_);
  sim_.advance(30s);
  answer(probe_verdict::refused);
  EXPECT_EQ(seen_->supervisor_changes.back().to, health_state::healthy) << "one failure is not enough";
  sim_.advance(100ms);  // failing but not yet unhealthy: the fast interval
  ASSERT_EQ(prober_->started_count(), 3u);
  answer(probe_verdict::refused);
  auto change = seen_->supervisor_changes.back();
  EXPECT_EQ(change.to, health_state::unhealthy);
  EXPECT_EQ(change.verdict, probe_verdict::refused);
  EXPECT_EQ(change.consecutive, 2u);
}

TEST_F(HealthWatcher, WithoutFailedRequestsAHealthyInstanceIsProbedOnlyOnSchedule) {
  start();
  healthy(instance_);
  sim_.advance(29s);
  EXPECT_EQ(prober_->started_count(), 1u);
}

TEST_F(HealthWatcher, AFailedRequestBringsTheNextProbeForwardButNotBelowTheFastInterval) {
  start();
  healthy(instance_);
  sim_.advance(40ms);
  caf::anon_send(watcher_, upstream_failure{"web", "127.0.0.1", 8001, "connect"});
  sim_.run();
  EXPECT_EQ(prober_->started_count(), 1u) << "probed again within the fast interval";
  sim_.advance(60ms);
  EXPECT_EQ(prober_->started_count(), 2u);
  // A report while that probe runs, or about an address it does not watch, adds none.
  caf::anon_send(watcher_, upstream_failure{"web", "127.0.0.1", 8001, "connect"});
  caf::anon_send(watcher_, upstream_failure{"web", "127.0.0.9", 8001, "connect"});
  sim_.run();
  EXPECT_EQ(prober_->started_count(), 2u);
}

TEST_F(HealthWatcher, ARemovedInstanceIsNeverProbedOrReportedAgain) {
  start();
  healthy(instance_);
  auto changes = seen_->supervisor_changes.size();
  sim_.advance(30s);  // a probe in flight when it goes
  caf::anon_send(watcher_, instance_removed{instance_});
  sim_.run();
  answer(probe_verdict::refused);
  sim_.advance(10min);
  EXPECT_EQ(prober_->started_count(), 2u);
  EXPECT_EQ(seen_->supervisor_changes.size(), changes);
  // Added again, it is a new instance: probed at once, and its old timer stays void.
  add(instance_);
  EXPECT_EQ(prober_->started_count(), 3u);
  answer(probe_verdict::passed);
  sim_.advance(29s);
  EXPECT_EQ(prober_->started_count(), 3u);
}

TEST_F(HealthWatcher, AnInstanceJudgedAfreshIsUnknownAndProbedAtOnce) {
  start();
  healthy(instance_);
  sim_.advance(30s);
  answer(probe_verdict::refused);
  sim_.advance(100ms);
  answer(probe_verdict::refused);
  ASSERT_EQ(seen_->supervisor_changes.back().to, health_state::unhealthy);
  auto probes = prober_->started_count();
  caf::anon_send(watcher_, judge_afresh{instance_, "restarted"});
  sim_.run();
  EXPECT_EQ(seen_->supervisor_changes.back().to, health_state::unknown);
  EXPECT_EQ(seen_->supervisor_changes.back().reason, "restarted");
  EXPECT_EQ(prober_->started_count(), probes + 1);
  answer(probe_verdict::passed);
  EXPECT_EQ(seen_->supervisor_changes.back().to, health_state::healthy);
}

TEST_F(HealthWatcher, FailuresWithinTheStartPeriodDoNotCount) {
  service_.health.start_period = 1s;
  start();
  add(instance_);
  for (int i = 0; i < 5; ++i) {
    answer(probe_verdict::refused);
    sim_.advance(100ms);
  }
  EXPECT_TRUE(seen_->supervisor_changes.empty()) << "judged unhealthy within its start period";
  sim_.advance(1s);
  answer(probe_verdict::refused);
  sim_.advance(100ms);
  answer(probe_verdict::refused);
  ASSERT_FALSE(seen_->supervisor_changes.empty());
  EXPECT_EQ(seen_->supervisor_changes.back().to, health_state::unhealthy);
}

std::size_t count_to(const std::vector<health_changed>& changes, health_state to) {
  std::size_t n = 0;
  for (const auto& c : changes) n += c.to == to;
  return n;
}

TEST_F(HealthWatcher, FailuresWithinTheGraceOfAJudgeAfreshDoNotCountUntilItIsOver) {
  start();
  healthy(instance_);
  make_unhealthy();
  caf::anon_send(watcher_, judge_afresh{instance_, "restarted", 1000});
  sim_.run();
  ASSERT_EQ(seen_->supervisor_changes.back().to, health_state::unknown);
  // Refused at 0, 100, ..., 900 ms after it: all within the grace.
  for (int i = 0; i < 10; ++i) {
    answer(probe_verdict::refused);
    sim_.advance(100ms);
  }
  EXPECT_EQ(count_to(seen_->supervisor_changes, health_state::unhealthy), 1u)
      << "judged unhealthy within the grace";
  // From 1000 ms on, failures count again.
  answer(probe_verdict::refused);
  sim_.advance(100ms);
  answer(probe_verdict::refused);
  EXPECT_EQ(seen_->supervisor_changes.back().to, health_state::unhealthy);
  EXPECT_EQ(count_to(seen_->supervisor_changes, health_state::unhealthy), 2u);
}

TEST_F(HealthWatcher, AnInstanceThatTurnsHealthyWithinTheGraceIsNoLongerShieldedByIt) {
  service_.health.interval = 200ms;
  start();
  healthy(instance_);
  make_unhealthy();
  caf::anon_send(watcher_, judge_afresh{instance_, "restarted", 10000});
  sim_.run();
  answer(probe_verdict::passed);
  ASSERT_EQ(seen_->supervisor_changes.back().to, health_state::healthy);
  // Well within the 10 s grace, but it is up: its failures count.
  sim_.advance(200ms);
  answer(probe_verdict::refused);
  sim_.advance(100ms);
  answer(probe_verdict::refused);
  EXPECT_EQ(seen_->supervisor_changes.back().to, health_state::unhealthy);
}

TEST_F(HealthWatcher, AStartPeriodLongerThanTheGraceShieldsARestartedInstanceForItsLength) {
  service_.health.start_period = 2s;
  start();
  healthy(instance_);
  make_unhealthy();
  caf::anon_send(watcher_, judge_afresh{instance_, "restarted", 500});
  sim_.run();
  // Refused at 0, 100, ..., 1900 ms after it: past the grace, within the start period.
  for (int i = 0; i < 20; ++i) {
    answer(probe_verdict::refused);
    sim_.advance(100ms);
  }
  EXPECT_EQ(count_to(seen_->supervisor_changes, health_state::unhealthy), 1u)
      << "the grace replaced the longer start period";
  answer(probe_verdict::refused);
  sim_.advance(100ms);
  answer(probe_verdict::refused);
  EXPECT_EQ(count_to(seen_->supervisor_changes, health_state::unhealthy), 2u);
}

TEST_F(HealthWatcher, AProbeThatTimedOutIsFollowedAtOnceSoAHungInstanceIsFoundAfterTwoTimeouts) {
  service_.health.interval = 500ms;
  service_.health.fast_interval = 0ms;
  service_.health.timeout = 200ms;
  start();
  healthy(instance_);
  sim_.advance(500ms);
  ASSERT_EQ(prober_->started_count(), 2u);
  // The prober cuts each probe at its timeout; the next one starts right away.
  sim_.advance(200ms);
  answer(probe_verdict::timeout);
  EXPECT_EQ(prober_->started_count(), 3u) << "the next probe waited an interval after a timeout";
  EXPECT_EQ(seen_->supervisor_changes.back().to, health_state::healthy);
  sim_.advance(200ms);
  answer(probe_verdict::timeout);
  // Unhealthy 400 ms after the first hung probe began, not 400 ms plus an interval.
  auto change = seen_->supervisor_changes.back();
  EXPECT_EQ(change.to, health_state::unhealthy);
  EXPECT_EQ(change.verdict, probe_verdict::timeout);
  // Known to be down: no back-to-back probing, the next one after the interval.
  EXPECT_EQ(prober_->started_count(), 3u);
  sim_.advance(499ms);
  EXPECT_EQ(prober_->started_count(), 3u);
  sim_.advance(1ms);
  EXPECT_EQ(prober_->started_count(), 4u);
  sim_.advance(200ms);
  answer(probe_verdict::timeout);
  EXPECT_EQ(prober_->started_count(), 4u) << "an unhealthy instance was probed back to back";
}

}  // namespace
}  // namespace dockmaster::test
