// The event_sink under CAF's test coordinator: the status it publishes follows the
// instance lifecycle, names events from the one vocabulary and carries the stats.

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "actors/event_sink.hpp"
#include "support/simulated_actors.hpp"

namespace dockmaster::test {
namespace {

using namespace messages;
using namespace std::chrono_literals;
using json = nlohmann::json;

/// Keeps the latest status the sink published.
http_acceptor_actor::behavior_type recording_acceptor(http_acceptor_actor::pointer,
                                                      std::shared_ptr<std::string> latest) {
  return {
      [](instance_set&) {},
      [](register_atom, const std::string&, upstream_proxy_actor&) {},
      [](register_atom, event_sink_actor&) {},
      [latest](status_snapshot& snapshot) { *latest = snapshot.json; },
      [](config_update&) {},
      [](sync_atom) { return true; },
      [](listening_atom) { return std::vector<std::uint16_t>{}; },
      [](drain_atom) { return drain_result{}; },
  };
}

class EventSink : public ::testing::Test {
 protected:
  EventSink() {
    config::service_config web;
    web.name = "web";
    web.health.kind = config::probe_kind::http;
    auto acceptor = sim_.spawn(recording_acceptor, latest_);
    sink_ = sim_.spawn(actors::event_sink, std::map<std::string, config::service_config>{{"web", web}},
                       acceptor, true);
    sim_.run();
  }
  template <class T>
  void tell(T message) {
    caf::anon_send(sink_, std::move(message));
    sim_.run();
  }
  json status() const { return json::parse(*latest_); }
  json web() const { return status()["services"]["web"]; }
  std::vector<std::string> events() const {
    std::vector<std::string> kinds;
    auto history = status()["history"];
    for (const auto& e : history) kinds.push_back(e["event"]);
    return kinds;
  }

  simulated_actors sim_;
  std::shared_ptr<std::string> latest_ = std::make_shared<std::string>("{}");
  event_sink_actor sink_;
  instance_id a_ = make_instance("web", 8001);
  instance_id b_ = make_instance("web", 8002);
};

TEST_F(EventSink, TheStatusListsTheInstancesThatAreInTheSetAndTheHistoryKeepsTheRest) {
  tell(instance_added{a_});
  tell(instance_added{b_});
  tell(health_changed{a_, health_state::unknown, health_state::healthy, "HTTP 200", probe_verdict::passed, 1});
  EXPECT_EQ(web()["instances"].size(), 2u);
  EXPECT_EQ(web()["state"], "degraded") << "b is not known to be healthy yet";
  tell(instance_removed{b_});
  ASSERT_EQ(web()["instances"].size(), 1u);
  EXPECT_EQ(web()["instances"][0]["instance"], "127.0.0.1:8001");
  EXPECT_EQ(web()["state"], "healthy") << "a removed instance no longer holds the service down";
  EXPECT_EQ(events(), (std::vector<std::string>{"instance_added", "instance_added", "health_changed",
                                                "instance_removed"}));
  // A late report about the removed instance does not bring it back.
  tell(health_changed{b_, health_state::unknown, health_state::unhealthy, "refused", probe_verdict::refused, 2});
  EXPECT_EQ(web()["instances"].size(), 1u);
}

TEST_F(EventSink, AGivenUpInstanceThatIsRemovedNoLongerMarksItsServiceGivenUp) {
  tell(instance_added{a_});
  tell(supervisor_event{a_, event_kind::restart_given_up, "gave up", {}});
  EXPECT_EQ(web()["state"], "given_up");
  tell(instance_removed{a_});
  tell(instance_added{b_});
  tell(health_changed{b_, health_state::unknown, health_state::healthy, "HTTP 200", probe_verdict::passed, 1});
  EXPECT_EQ(web()["state"], "healthy");
}

TEST_F(EventSink, EventsAreNamedByTheVocabularyInTheHistory) {
  tell(instance_added{a_});
  restart_result result;
  result.action = restart_action::exec;
  result.outcome = restart_outcome::skipped;
  result.error = "not the container that failed";
  tell(supervisor_event{a_, event_kind::restart_backoff, "next restart in 1000 ms", {}});
  tell(supervisor_event{a_, event_kind::restart_started, "exec: /restart.sh", {}});
  tell(supervisor_event{a_, event_kind::restart_skipped, result.error, result});
  auto history = status()["history"];
  EXPECT_EQ(history[1]["event"], "restart_backoff");
  EXPECT_EQ(history[3]["event"], "restart_skipped");
  EXPECT_EQ(history[3]["result"]["outcome"], "skipped");
  EXPECT_EQ(history[3]["result"]["action"], "exec");
  EXPECT_EQ(web()["instances"][0]["restarts"], 0) << "a skipped restart ran nothing";
  EXPECT_EQ(web()["instances"][0]["restarting"], false);
}

TEST_F(EventSink, ProbesTrafficAndRestartsAreCountedInTheServiceStats) {
  tell(instance_added{a_});
  tell(probe_result{a_, probe_verdict::passed, "HTTP 200", 250});
  tell(probe_result{a_, probe_verdict::timeout, "timeout after 1000 ms", 1000000});
  tell(probe_result{a_, probe_verdict::timeout, "timeout after 1000 ms", 1000000});
  traffic_delta delta;
  delta.service = "web";
  delta.requests[method_and_class::index(request_method::GET, class_of(200))] = 5;
  delta.requests[method_and_class::index(request_method::POST, class_of(200))] = 2;
  delta.requests[method_and_class::index(request_method::GET, class_of(503))] = 2;
  delta.request_duration[static_cast<std::size_t>(duration_bucket::le_5ms)] = 9;
  delta.request_duration_us = 18'000;
  delta.upstream_connect_failures = 3;
  delta.upstream_retries = 1;
  delta.upstream_connections = {2, 5};
  // Two threads; the second reports twice, its latest gauges replace its first.
  tell(traffic_report{1, {delta}});
  tell(traffic_report{2, {delta}});
  traffic_delta later;
  later.service = "web";
  later.upstream_connections = {0, 3};
  tell(traffic_report{2, {later}});
  restart_result ok;
  ok.outcome = restart_outcome::ok;
  ok.ran = true;
  ok.duration_ms = 300;
  tell(supervisor_event{a_, event_kind::restart_started, "", {}});
  tell(supervisor_event{a_, event_kind::restart_done, "", ok});
  auto stats = web()["stats"];
  EXPECT_EQ(stats["probes"]["passed"], 1);
  EXPECT_EQ(stats["probes"]["timeout"], 2);
  EXPECT_EQ(stats["requests"]["2xx"], 14);
  EXPECT_EQ(stats["requests"]["5xx"], 4);
  EXPECT_EQ(stats["requests_by_method"]["GET"]["2xx"], 10);
  EXPECT_EQ(stats["requests_by_method"]["POST"]["2xx"], 4);
  EXPECT_EQ(stats["requests_by_method"]["GET"]["5xx"], 4);
  EXPECT_FALSE(stats["requests_by_method"].contains("PUT")) << "methods never seen are left out";
  EXPECT_EQ(stats["request_duration"]["le_5ms"], 18);
  EXPECT_EQ(stats["request_duration_us"], 36'000);
  EXPECT_EQ(stats["upstream_connections"]["active"], 2) << "thread 1's 2, thread 2's latest 0";
  EXPECT_EQ(stats["upstream_connections"]["idle"], 8);
  EXPECT_EQ(stats["probe_duration"]["le_1ms"], 1);
  EXPECT_EQ(stats["probe_duration"]["le_1s"], 2);
  EXPECT_EQ(stats["probe_duration_us"], 2'000'250);
  EXPECT_EQ(stats["restarts_by_action"]["exec"]["ok"], 1);
  EXPECT_EQ(stats["restart_duration"]["le_500ms"], 1);
  EXPECT_EQ(stats["restart_duration_us"], 300'000);
  EXPECT_EQ(stats["upstream_connect_failures"], 6);
  EXPECT_EQ(stats["upstream_retries"], 2);
  EXPECT_EQ(stats["restarts"]["ok"], 1);
  EXPECT_EQ(stats["instances"], 1);
  EXPECT_EQ(stats["restarts_running"], 0);
  auto instance = web()["instances"][0];
  EXPECT_EQ(instance["probes"]["timeout"], 2);
  EXPECT_EQ(instance["last_probe"]["verdict"], "timeout");
}

TEST_F(EventSink, CountsAloneArePublishedWithinASecond) {
  tell(instance_added{a_});
  tell(probe_result{a_, probe_verdict::passed, "HTTP 200", 250});
  EXPECT_EQ(web()["stats"]["probes"]["passed"], 0) << "rendered for every probe";
  sim_.advance(1s);
  EXPECT_EQ(web()["stats"]["probes"]["passed"], 1);
}

TEST_F(EventSink, EachInstanceHasATimelineOfItsOwnEventsWithTheRestartsOutputAndLogTail) {
  tell(instance_added{a_});
  tell(instance_added{b_});
  tell(health_changed{a_, health_state::unknown, health_state::unhealthy, "connection refused",
                      probe_verdict::refused, 2});
  tell(supervisor_event{a_, event_kind::restart_started, "exec: service-restart", {}});
  restart_result done;
  done.action = restart_action::exec;
  done.outcome = restart_outcome::ok;
  done.ran = done.finished = true;
  done.exit_code = 0;
  done.command = "service-restart";
  done.container = "0123456789ab (web-1)";
  done.output_tail = "restarted\n";
  done.duration_ms = 42;
  done.log_tail = "2026-12-02T08:00:00.000000000Z worker died\n";
  tell(supervisor_event{a_, event_kind::restart_done, "restart succeeded", done});
  tell(supervisor_event{a_, event_kind::recovered, "healthy again", {}});

  auto instances = web()["instances"];
  ASSERT_EQ(instances.size(), 2u);
  auto timeline = instances[0]["timeline"];
  ASSERT_EQ(timeline.size(), 5u) << timeline.dump();
  EXPECT_EQ(timeline[0]["event"], "instance_added");
  EXPECT_EQ(timeline[1]["event"], "health_changed");
  EXPECT_EQ(timeline[1]["from"], "unknown");
  EXPECT_EQ(timeline[1]["to"], "unhealthy");
  EXPECT_EQ(timeline[1]["reason"], "connection refused");
  EXPECT_FALSE(timeline[1]["time"].get<std::string>().empty());
  EXPECT_EQ(timeline[2]["event"], "restart_started");
  EXPECT_EQ(timeline[3]["event"], "restart_done");
  EXPECT_EQ(timeline[3]["result"]["exit_code"], 0);
  EXPECT_EQ(timeline[3]["result"]["command"], "service-restart");
  EXPECT_EQ(timeline[3]["result"]["output_tail"], "restarted\n");
  EXPECT_EQ(timeline[3]["result"]["duration_ms"], 42);
  EXPECT_EQ(timeline[3]["result"]["container"], "0123456789ab (web-1)");
  EXPECT_EQ(timeline[3]["result"]["log_tail"], "2026-12-02T08:00:00.000000000Z worker died\n");
  EXPECT_EQ(timeline[4]["event"], "recovered");
  EXPECT_EQ(instances[0]["last_restart"]["log_tail"], done.log_tail) << "the status record keeps it too";
  // Only b's own event is in b's timeline.
  ASSERT_EQ(instances[1]["timeline"].size(), 1u);
  EXPECT_EQ(instances[1]["timeline"][0]["event"], "instance_added");
}

TEST_F(EventSink, AnInstanceAddedAgainStartsAFreshTimeline) {
  tell(instance_added{a_});
  tell(health_changed{a_, health_state::unknown, health_state::healthy, "HTTP 200", probe_verdict::passed, 1});
  tell(instance_removed{a_});
  tell(instance_added{a_});
  auto timeline = web()["instances"][0]["timeline"];
  ASSERT_EQ(timeline.size(), 1u) << timeline.dump();
  EXPECT_EQ(timeline[0]["event"], "instance_added");
}

TEST_F(EventSink, OutputThatIsNotUtf8IsShownWithReplacementCharacters) {
  // The JSON serializer refuses invalid UTF-8: a command printing Latin-1, or a tail cut
  // inside a character, must not take the sink down.
  tell(instance_added{a_});
  restart_result failed;
  failed.action = restart_action::exec;
  failed.outcome = restart_outcome::failed;
  failed.ran = failed.finished = true;
  failed.exit_code = 1;
  failed.output_tail = "caf\xe9\n";
  failed.log_tail = "\xa9 tail\n";
  tell(supervisor_event{a_, event_kind::restart_failed, "exited with 1", failed});
  auto result = web()["instances"][0]["timeline"][1]["result"];
  EXPECT_EQ(result["output_tail"], "caf\xef\xbf\xbd\n");
  EXPECT_EQ(result["log_tail"], "\xef\xbf\xbd tail\n");
}

TEST_F(EventSink, RecentProbeLatenciesAreKeptPerInstance) {
  tell(instance_added{a_});
  for (std::uint64_t us = 1; us <= 40; ++us) tell(probe_result{a_, probe_verdict::passed, "HTTP 200", us});
  sim_.advance(1s);
  auto latencies = web()["instances"][0]["recent_probe_us"];
  ASSERT_EQ(latencies.size(), actors::instance_timeline::default_latency_limit);
  EXPECT_EQ(latencies.front(), 11) << "the oldest go first";
  EXPECT_EQ(latencies.back(), 40);
}

TEST_F(EventSink, RequestsAnd5xxAreChartedPerTenSecondSlot) {
  traffic_delta delta;
  delta.service = "web";
  delta.requests[static_cast<std::size_t>(class_of(200))] = 7;
  delta.requests[static_cast<std::size_t>(class_of(502))] = 2;
  traffic_report report;
  report.services = {delta};
  tell(report);
  tell(report);
  sim_.advance(1s);
  auto rates = web()["rates"];
  EXPECT_EQ(rates["slot_seconds"], 10);
  ASSERT_EQ(rates["requests"].size(), actors::rate_history::slot_count);
  // The reports landed in the current slot, or (at a slot's edge) the one before.
  std::uint64_t requests = 0, errors = 0;
  for (const auto& n : rates["requests"]) requests += n.get<std::uint64_t>();
  for (const auto& n : rates["errors_5xx"]) errors += n.get<std::uint64_t>();
  EXPECT_EQ(requests, 18u);
  EXPECT_EQ(errors, 4u);
  EXPECT_GT(rates["requests"].back().get<std::uint64_t>() + rates["requests"][58].get<std::uint64_t>(), 0u);
}

// Without admin.status_path nobody reads the published status: it is not rendered on each
// event (with a thousand instances that cost a core). A reload that sets the path turns
// publishing on, with the state as it is by then.
TEST(EventSinkPublishing, TheStatusIsPublishedOnlyWhileAStatusPathIsSet) {
  simulated_actors sim;
  auto latest = std::make_shared<std::string>("none");
  config::service_config web;
  web.name = "web";
  web.health.kind = config::probe_kind::http;
  auto acceptor = sim.spawn(recording_acceptor, latest);
  auto sink = sim.spawn(actors::event_sink, std::map<std::string, config::service_config>{{"web", web}},
                        acceptor, false);
  sim.run();
  auto a = make_instance("web", 8001);
  caf::anon_send(sink, instance_added{a});
  caf::anon_send(sink, health_changed{a, health_state::unknown, health_state::healthy, "HTTP 200",
                                      probe_verdict::passed, 1});
  sim.run();
  sim.advance(2s);
  EXPECT_EQ(*latest, "none");

  auto reloaded = std::make_shared<config::config>();
  reloaded->services = {{"web", web}};
  reloaded->admin.status_path = "/_status";
  caf::anon_send(sink, config_update{reloaded});
  sim.run();
  ASSERT_NE(*latest, "none");
  EXPECT_EQ(json::parse(*latest)["services"]["web"]["instances"][0]["health"], "healthy");
}

}  // namespace
}  // namespace dockmaster::test
