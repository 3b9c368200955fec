// The post-restart grace, end to end in CAF's simulated time: a real health_watcher and
// restart_supervisor, probes answered by hand and restarts ended by hand, as in the
// soak where a restarted process still binding its port was restarted again mid-boot.
// Also the derived grace's arithmetic on its own (boot_history).

#include <gtest/gtest.h>

#include "actors/health_watcher.hpp"
#include "actors/restart_grace.hpp"
#include "actors/restart_supervisor.hpp"
#include "support/simulated_actors.hpp"

namespace dockmaster::test {
namespace {

using namespace messages;
using namespace std::chrono_literals;

class PostRestartGrace : public ::testing::Test {
 protected:
  PostRestartGrace() {
    // The soak's settings: start_period 0, so only the grace shields a restart.
    service_.name = "web";
    service_.health.kind = config::probe_kind::tcp;
    service_.health.interval = 500ms;
    service_.health.fast_interval = 100ms;
    service_.health.jitter_percent = 0;  // the test steps through exact intervals
    service_.health.unhealthy_after = 2;
    service_.health.healthy_after = 1;
    service_.restart.executor = config::restart_executor::local;
    service_.restart.command = {"restart-web"};
    service_.restart.backoff_initial = 1s;
    service_.restart.backoff_max = 60s;
    service_.restart.max_restarts = 10;
  }

  void start() {
    auto local = sim_.spawn(manual_executor, jobs_);
    auto sink = sim_.spawn(recording_sink, seen_);
    auto proxy = sim_.spawn(recording_proxy, seen_);
    auto supervisor =
        sim_.spawn(actors::restart_supervisor,
                   std::map<std::string, config::service_config>{{"web", service_}},
                   restart_executor_actor{}, local, sink);
    auto watcher = sim_.spawn(actors::health_watcher, service_, prober_, proxy, supervisor, sink);
    sim_.run();  // the watcher registers with the supervisor
    caf::anon_send(supervisor, instance_added{instance_});
    sim_.run();
    caf::anon_send(watcher, instance_added{instance_});
    sim_.run();
  }
  void answer(probe_verdict verdict) {
    prober_->answer(verdict);
    sim_.run();
  }
  std::size_t turned(health_state to) const {
    std::size_t n = 0;
    for (const auto& c : seen_->health_changes) n += c.to == to;
    return n / 2;  // the proxy and the sink both record each change
  }
  /// Healthy, then killed: two refused probes make it unhealthy, the supervisor runs
  /// the restart, and it ends well at once (the process is started, not yet up).
  void healthy_then_killed_and_restarted() {
    answer(probe_verdict::passed);
    ASSERT_EQ(turned(health_state::healthy), 1u);
    sim_.advance(500ms);
    answer(probe_verdict::refused);
    sim_.advance(100ms);
    answer(probe_verdict::refused);
    ASSERT_EQ(turned(health_state::unhealthy), 1u);
    ASSERT_EQ(jobs_->requests.size(), 1u);
    jobs_->finish(restart_outcome::ok);
    sim_.run();
    ASSERT_EQ(prober_->pending_count(), 1u) << "the restarted instance is probed at once";
  }

  simulated_actors sim_;
  config::service_config service_;
  instance_id instance_ = make_instance("web", 8001);
  std::shared_ptr<manual_prober> prober_ = std::make_shared<manual_prober>();
  std::shared_ptr<manual_jobs> jobs_ = std::make_shared<manual_jobs>();
  std::shared_ptr<recorded> seen_ = std::make_shared<recorded>();
};

TEST_F(PostRestartGrace, RefusedProbesWhileTheRestartedProcessBootsNeitherMakeItUnhealthyNorRestartItAgain) {
  start();
  healthy_then_killed_and_restarted();
  // Without history the grace is 10 s: refused every fast interval for 9.9 s.
  for (int i = 0; i < 100; ++i) {
    answer(probe_verdict::refused);
    sim_.advance(100ms);
  }
  EXPECT_EQ(turned(health_state::unhealthy), 1u) << "judged unhealthy while it booted";
  EXPECT_EQ(jobs_->requests.size(), 1u) << "restarted again mid-boot";
  answer(probe_verdict::passed);
  EXPECT_EQ(turned(health_state::healthy), 2u);
  EXPECT_EQ(seen_->count(event_kind::recovered), 1u);
}

TEST_F(PostRestartGrace, PastTheGraceFailuresCountAgainAndTheNextRestartWaitsForItsBackoff) {
  service_.restart.backoff_initial = 15s;  // longer than the grace
  start();
  healthy_then_killed_and_restarted();
  // Refused at 0, 100, ..., 9900 ms after the restart: within the grace of 10 s.
  for (int i = 0; i < 100; ++i) {
    answer(probe_verdict::refused);
    sim_.advance(100ms);
  }
  ASSERT_EQ(turned(health_state::unhealthy), 1u);
  // At 10 s and 10.1 s: two failures that count.
  answer(probe_verdict::refused);
  EXPECT_EQ(turned(health_state::unhealthy), 1u) << "one failure is not enough";
  sim_.advance(100ms);
  answer(probe_verdict::refused);
  EXPECT_EQ(turned(health_state::unhealthy), 2u);
  EXPECT_EQ(seen_->count(event_kind::restart_backoff), 1u);
  // The backoff of 15 s runs from the end of the first restart.
  sim_.advance(4900ms - 1ms);
  EXPECT_EQ(jobs_->requests.size(), 1u) << "restarted before its backoff";
  sim_.advance(1ms);
  EXPECT_EQ(jobs_->requests.size(), 2u);
}

TEST_F(PostRestartGrace, AConfiguredGraceIsWhatTheWatcherApplies) {
  service_.restart.grace = 2s;
  start();
  healthy_then_killed_and_restarted();
  for (int i = 0; i < 20; ++i) {  // 0 .. 1900 ms
    answer(probe_verdict::refused);
    sim_.advance(100ms);
  }
  ASSERT_EQ(turned(health_state::unhealthy), 1u);
  answer(probe_verdict::refused);  // 2000 ms
  sim_.advance(100ms);
  answer(probe_verdict::refused);
  EXPECT_EQ(turned(health_state::unhealthy), 2u) << "still shielded past the configured 2 s";
}

// --- boot_history --------------------------------------------------------------------

TEST(BootHistory, WithoutBootsTheGraceIsTenSeconds) {
  EXPECT_EQ(actors::boot_history{}.grace(), 10000ms);
}

TEST(BootHistory, TheGraceIsTwiceTheLongestOfTheLastFiveBootsBetweenOneSecondAndOneMinute) {
  actors::boot_history history;
  history.record(3s);
  EXPECT_EQ(history.grace(), 6s);
  history.record(200ms);
  EXPECT_EQ(history.grace(), 6s);
  for (int i = 0; i < 4; ++i) history.record(200ms);
  EXPECT_EQ(history.recent().size(), 5u);
  EXPECT_EQ(history.grace(), 1s) << "the boot of 3 s is forgotten; 400 ms is below the floor";
  history.record(45s);
  EXPECT_EQ(history.grace(), 60s);
  history.record(std::chrono::hours(24 * 365 * 100));
  EXPECT_EQ(history.grace(), 60s) << "a huge boot time must not overflow";
}

TEST(BootHistory, AConfiguredGraceWinsOverTheHistory) {
  actors::boot_history history;
  history.record(3s);
  config::restart_config restart;
  EXPECT_EQ(actors::restart_grace(restart, history), 6s);
  restart.grace = 0ms;
  EXPECT_EQ(actors::restart_grace(restart, history), 0ms);
}

}  // namespace
}  // namespace dockmaster::test
