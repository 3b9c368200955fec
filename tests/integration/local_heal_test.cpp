// Healing with the local executor: a real HTTP service (Python's http.server) is
// killed, dockmaster's probes notice, the supervisor runs the restart command on the
// host, and the service answers through the proxy again. Also: the cap, after which
// dockmaster gives up and says so, and failing instances leaving rotation.

#include <gtest/gtest.h>

#include <fstream>
#include <signal.h>

#include <boost/asio/ip/tcp.hpp>
#include <nlohmann/json.hpp>

#include "support/harness.hpp"
#include "support/http_client.hpp"
#include "support/python_service.hpp"
#include "support/test_upstream.hpp"
#include "support/wait.hpp"

namespace dockmaster::test {
namespace {

using json = nlohmann::json;

config::config healing_config(const std::string& instance, std::vector<std::string> command) {
  auto cfg = make_config();
  auto& service = add_service(cfg, "backend", {instance});
  add_route(cfg, "/", "backend");
  probe_health_quickly(service);
  service.health.healthy_after = 1;
  service.restart.executor = config::restart_executor::local;
  service.restart.command = std::move(command);
  service.restart.timeout = std::chrono::seconds(5);
  service.restart.backoff_initial = std::chrono::milliseconds(200);
  service.restart.backoff_max = std::chrono::milliseconds(400);
  // Requests do not wait for the heal here, so that the outage shows (hold_test.cpp
  // has the requests that wait).
  service.hold.timeout = std::chrono::milliseconds(0);
  // Most of these services never come up: a short post-restart grace keeps their
  // repeated restarts quick (the derived default, 10 s at first, is tested in simulated
  // time).
  service.restart.grace = std::chrono::milliseconds(300);
  return cfg;
}

json status_of(in_process_proxy& proxy) { return json::parse(proxy.runtime().status_json()); }

std::size_t count_events(const json& status, const std::string& kind) {
  std::size_t n = 0;
  for (const auto& event : status["history"]) n += event["event"] == kind;
  return n;
}

TEST(LocalHeal, AKilledServiceIsRestartedByItsCommandAndServesThroughTheProxyAgain) {
  python_service service;
  auto first = std::make_unique<child_process>(service.foreground_command());
  ASSERT_TRUE(wait_until([&] { return answers_ok(service.port(), "/health"); }, 10s));

  auto cfg = healing_config(service.host_port(), service.start_command());
  // Python needs a moment to start: its failed probes meanwhile do not count.
  cfg.services["backend"].health.start_period = std::chrono::seconds(5);
  in_process_proxy proxy(cfg);
  ASSERT_TRUE(wait_until([&] { return answers_ok(proxy.port(), "/health"); }, 10s))
      << proxy.runtime().status_json();
  EXPECT_EQ(status_of(proxy)["services"]["backend"]["state"], "healthy");

  first->kill(SIGKILL);
  first->wait_exit(5s);
  // The proxy stops answering 200 while it is down, then answers again by itself.
  ASSERT_TRUE(wait_until([&] { return !answers_ok(proxy.port(), "/health"); }, 5s));
  ASSERT_TRUE(wait_until([&] { return answers_ok(proxy.port(), "/health"); }, 15s))
      << proxy.runtime().status_json();

  auto status = status_of(proxy);
  ASSERT_TRUE(service.restarted_pid().has_value()) << "the restart command did not run";
  const auto& instance = status["services"]["backend"]["instances"][0];
  EXPECT_EQ(instance["restarts"].get<int>(), 1) << "one restart, not one per failed probe";
  EXPECT_EQ(instance["last_restart"]["exit_code"], 0);
  EXPECT_EQ(instance["last_restart"]["action"], "local");
  EXPECT_NE(instance["last_restart"]["command"].get<std::string>().find("http.server"),
            std::string::npos);
  EXPECT_GE(count_events(status, "restart_done"), 1u);
  EXPECT_TRUE(wait_until([&] {
    return status_of(proxy)["services"]["backend"]["state"] == "healthy";
  }));
}

TEST(LocalHeal, AServiceThatNeverRecoversIsRestartedUpToTheCapThenGivenUp) {
  refusing_port dead;
  auto cfg = healing_config(dead.host_port(), {"sh", "-c", "echo trying; exit 0"});
  cfg.services["backend"].restart.max_restarts = 2;
  cfg.services["backend"].restart.backoff_initial = std::chrono::milliseconds(50);
  cfg.services["backend"].restart.backoff_max = std::chrono::milliseconds(50);
  in_process_proxy proxy(cfg);

  ASSERT_TRUE(wait_until([&] { return status_of(proxy)["services"]["backend"]["state"] == "given_up"; },
                         15s))
      << proxy.runtime().status_json();
  auto status = status_of(proxy);
  EXPECT_EQ(count_events(status, "restart_started"), 2u);
  EXPECT_EQ(count_events(status, "restart_given_up"), 1u);
  EXPECT_EQ(status["services"]["backend"]["instances"][0]["last_restart"]["output_tail"], "trying\n");
  // That nothing more is tried later is shown in simulated time
  // (RestartSupervisor.AtTheCapItGivesUpOnceAndNeverRestartsAgain).
  // Requests get the manager's 503, not a hang or a crash.
  http_client client(proxy.port());
  EXPECT_EQ(client.get("/").result_int(), 503);
}

TEST(LocalHeal, AFailingRestartCommandIsRecordedWithItsExitCodeAndOutput) {
  refusing_port dead;
  auto cfg = healing_config(dead.host_port(), {"sh", "-c", "echo broken >&2; exit 3"});
  cfg.services["backend"].restart.max_restarts = 1;
  in_process_proxy proxy(cfg);
  ASSERT_TRUE(wait_until([&] { return count_events(status_of(proxy), "restart_failed") >= 1; }, 15s))
      << proxy.runtime().status_json();
  auto status = status_of(proxy);
  const auto& last = status["services"]["backend"]["instances"][0]["last_restart"];
  EXPECT_EQ(last["exit_code"], 3);
  EXPECT_EQ(last["output_tail"], "broken\n");
  EXPECT_EQ(last["error"], "exited with 3");
}

TEST(LocalHeal, TheRestartCommandIsToldWhichServiceAndInstanceFailed) {
  refusing_port dead;
  auto cfg = healing_config(
      dead.host_port(),
      {"sh", "-c", "echo \"$DOCKMASTER_SERVICE $DOCKMASTER_INSTANCE $DOCKMASTER_INSTANCE_CONFIGURED\""});
  cfg.services["backend"].restart.max_restarts = 1;
  in_process_proxy proxy(cfg);
  ASSERT_TRUE(wait_until([&] { return count_events(status_of(proxy), "restart_done") >= 1; }, 15s))
      << proxy.runtime().status_json();
  auto last = status_of(proxy)["services"]["backend"]["instances"][0]["last_restart"];
  EXPECT_EQ(last["output_tail"], "backend " + dead.host_port() + " " + dead.host_port() + "\n");
}

TEST(LocalHeal, ARestartCommandThatLeavesTheServiceRunningInTheBackgroundEndsWhenItExits) {
  // The background child keeps the command's output open; the restart is over when the
  // command exits, and what it started is left running.
  refusing_port dead;
  auto cfg = healing_config(dead.host_port(), {"sh", "-c", "sleep 30 & echo $!"});
  cfg.services["backend"].restart.max_restarts = 1;
  cfg.services["backend"].restart.timeout = std::chrono::seconds(20);
  in_process_proxy proxy(cfg);
  ASSERT_TRUE(wait_until([&] { return count_events(status_of(proxy), "restart_done") >= 1; }, 10s))
      << "the restart ran into its timeout: " << proxy.runtime().status_json();
  auto last = status_of(proxy)["services"]["backend"]["instances"][0]["last_restart"];
  EXPECT_EQ(last["outcome"], "ok");
  EXPECT_LT(last["duration_ms"].get<int>(), 10000);
  auto pid = std::stoi(last["output_tail"].get<std::string>());
  EXPECT_EQ(::kill(pid, 0), 0) << "the service the command started was killed";
  ::kill(pid, SIGKILL);
}

TEST(LocalHeal, RequestsAreCountedPerServiceByStatusClassWithConnectFailuresAndRetries) {
  test_upstream live("live");
  live.start();
  refusing_port dead;
  auto cfg = make_config();
  add_service(cfg, "backend", {live.host_port(), dead.host_port()});
  add_route(cfg, "/", "backend");
  in_process_proxy proxy(cfg);
  http_client client(proxy.port());
  for (int i = 0; i < 6; ++i) ASSERT_EQ(client.get("/").result_int(), 200);
  // Some go to the dead instance first (how many is the balancer's business): each of
  // those is a connect failure and a retry on the live one.
  ASSERT_TRUE(wait_until([&] {
    return status_of(proxy)["services"]["backend"]["stats"]["requests"]["2xx"] == 6;
  }, 10s)) << proxy.runtime().status_json();
  auto stats = status_of(proxy)["services"]["backend"]["stats"];
  EXPECT_GE(stats["upstream_connect_failures"], 1) << stats.dump();
  EXPECT_LE(stats["upstream_connect_failures"], 6) << stats.dump();
  EXPECT_EQ(stats["upstream_retries"], stats["upstream_connect_failures"]) << stats.dump();
  EXPECT_EQ(stats["requests"]["5xx"], 0);
  EXPECT_EQ(stats["instances"], 2);
  EXPECT_EQ(stats["instances_healthy"], 2) << "without health checks every instance is in rotation";
}

TEST(LocalHeal, AnUnhealthyInstanceLeavesRotationSoClientsSeeNoFailure) {
  test_upstream live("live");
  live.start();
  refusing_port dead;
  auto cfg = make_config();
  auto& service = add_service(cfg, "backend", {live.host_port(), dead.host_port()});
  add_route(cfg, "/", "backend");
  service.health.kind = config::probe_kind::tcp;
  service.health.interval = std::chrono::milliseconds(100);
  service.health.unhealthy_after = 1;
  in_process_proxy proxy(cfg);
  ASSERT_TRUE(wait_until([&] {
    auto s = status_of(proxy)["services"]["backend"];
    return s["state"] == "degraded";
  }, 10s)) << proxy.runtime().status_json();
  http_client client(proxy.port());
  auto before = live.request_count();
  for (int i = 0; i < 50; ++i) ASSERT_EQ(client.get("/").result_int(), 200);
  EXPECT_EQ(live.request_count() - before, 50u) << "every request went to the live instance";
}

TEST(LocalHeal, ANewInstanceTakesNoTrafficBeforeItPassesItsProbe) {
  refusing_port dead;
  auto cfg = make_config();
  auto& service = add_service(cfg, "backend", {dead.host_port()});
  add_route(cfg, "/", "backend");
  service.health.kind = config::probe_kind::http;
  service.health.interval = std::chrono::seconds(60);  // one probe only
  in_process_proxy proxy(cfg);
  // Never probed healthy: the manager answers 503 itself instead of trying it.
  http_client client(proxy.port());
  auto response = client.get("/");
  EXPECT_EQ(response.result_int(), 503);
  EXPECT_NE(response.body().find("no healthy instance"), std::string::npos);
}

}  // namespace
}  // namespace dockmaster::test

namespace dockmaster::test {
namespace {

TEST(DockerUnreachable, TheSupervisorReportsTheMissingEngineKeepsGoingAndTrafficIsUnaffected) {
  test_upstream live("live");
  live.start();
  refusing_port dead;
  auto cfg = make_config();
  cfg.docker.socket = "/nonexistent/dockmaster-test/docker.sock";
  auto& service = add_service(cfg, "backend", {live.host_port(), dead.host_port()});
  add_route(cfg, "/", "backend");
  service.health.kind = config::probe_kind::tcp;
  service.health.interval = std::chrono::milliseconds(100);
  service.health.unhealthy_after = 1;
  service.restart.executor = config::restart_executor::docker;
  service.restart.command = {"/restart.sh"};
  service.restart.backoff_initial = std::chrono::milliseconds(100);
  service.restart.backoff_max = std::chrono::milliseconds(100);
  in_process_proxy proxy(cfg);

  // Two attempts, each failing with the reason, and the supervisor still working.
  ASSERT_TRUE(wait_until([&] { return count_events(status_of(proxy), "restart_failed") >= 2; }, 15s))
      << proxy.runtime().status_json();
  auto status = status_of(proxy);
  for (const auto& instance : status["services"]["backend"]["instances"]) {
    if (instance["instance"] != dead.host_port()) continue;
    EXPECT_EQ(instance["last_restart"]["ran"], false);
    EXPECT_NE(instance["last_restart"]["error"].get<std::string>().find("cannot reach the Docker engine"),
              std::string::npos)
        << instance.dump();
  }
  http_client client(proxy.port());
  for (int i = 0; i < 20; ++i) ASSERT_EQ(client.get("/").result_int(), 200);
}

}  // namespace
}  // namespace dockmaster::test
