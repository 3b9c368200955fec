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
                       acceptor);
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
  delta.requests[static_cast<std::size_t>(class_of(200))] = 7;
  delta.requests[static_cast<std::size_t>(class_of(503))] = 2;
  delta.upstream_connect_failures = 3;
  delta.upstream_retries = 1;
  tell(traffic_report{{delta, delta}});
  restart_result ok;
  ok.outcome = restart_outcome::ok;
  tell(supervisor_event{a_, event_kind::restart_started, "", {}});
  tell(supervisor_event{a_, event_kind::restart_done, "", ok});
  auto stats = web()["stats"];
  EXPECT_EQ(stats["probes"]["passed"], 1);
  EXPECT_EQ(stats["probes"]["timeout"], 2);
  EXPECT_EQ(stats["requests"]["2xx"], 14);
  EXPECT_EQ(stats["requests"]["5xx"], 4);
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

}  // namespace
}  // namespace dockmaster::test
