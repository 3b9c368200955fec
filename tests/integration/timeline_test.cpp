// The status JSON's timeline of an instance, from a real heal with the local executor:
// the health changes and the restart with its command, exit code, duration and output
// (and no container log: the local executor has no container).

#include <gtest/gtest.h>

#include <signal.h>

#include <nlohmann/json.hpp>

#include "support/harness.hpp"
#include "support/python_service.hpp"
#include "support/wait.hpp"

namespace dockmaster::test {
namespace {

using json = nlohmann::json;

json status_of(in_process_proxy& proxy) { return json::parse(proxy.runtime().status_json()); }

/// The first entry of `kind` in the instance's timeline at or after `from`, or null.
json entry_of(const json& timeline, const std::string& kind, std::size_t from = 0) {
  for (std::size_t i = from; i < timeline.size(); ++i)
    if (timeline[i]["event"] == kind) return timeline[i];
  return nullptr;
}

TEST(Timeline, ALocalRestartAppearsInTheInstancesTimelineWithItsExitCodeAndOutput) {
  python_service service;
  auto first = std::make_unique<child_process>(service.foreground_command());
  ASSERT_TRUE(wait_until([&] { return answers_ok(service.port(), "/health"); }, 10s));

  auto cfg = make_config();
  auto& backend = add_service(cfg, "backend", {service.host_port()});
  add_route(cfg, "/", "backend");
  probe_health_quickly(backend);
  backend.health.start_period = std::chrono::seconds(5);
  backend.restart.executor = config::restart_executor::local;
  backend.restart.command = {"sh", "-c", service.start_command()[2] + "; echo restarted by the test"};
  backend.restart.grace = std::chrono::milliseconds(300);
  in_process_proxy proxy(cfg);
  ASSERT_TRUE(wait_until([&] { return status_of(proxy)["services"]["backend"]["state"] == "healthy"; }, 10s))
      << proxy.runtime().status_json();

  first->kill(SIGKILL);
  first->wait_exit(5s);
  json timeline;
  auto back_and_recovered = [&] {
    timeline = status_of(proxy)["services"]["backend"]["instances"][0]["timeline"];
    return timeline.size() == 8 && !entry_of(timeline, "recovered").is_null() &&
           (timeline[6]["to"] == "healthy" || timeline[7]["to"] == "healthy");
  };
  ASSERT_TRUE(wait_until(back_and_recovered, 20s)) << proxy.runtime().status_json();

  // Oldest first: added, healthy, unhealthy, restart started, done, judged afresh, then
  // healthy and the supervisor's "recovered" (from two actors: in either order).
  std::vector<std::string> kinds;
  for (const auto& e : timeline) kinds.push_back(e["event"]);
  kinds.resize(6);
  EXPECT_EQ(kinds, (std::vector<std::string>{"instance_added", "health_changed", "health_changed",
                                             "restart_started", "restart_done", "health_changed"}))
      << timeline.dump(1);
  EXPECT_EQ(timeline[5]["to"], "unknown");
  EXPECT_EQ(timeline[5]["reason"], "restarted");
  EXPECT_EQ(timeline[2]["from"], "healthy");
  EXPECT_EQ(timeline[2]["to"], "unhealthy");
  EXPECT_FALSE(timeline[2]["reason"].get<std::string>().empty());
  auto result = entry_of(timeline, "restart_done")["result"];
  EXPECT_EQ(result["action"], "local");
  EXPECT_EQ(result["exit_code"], 0);
  EXPECT_EQ(result["outcome"], "ok");
  EXPECT_NE(result["command"].get<std::string>().find("http.server"), std::string::npos);
  EXPECT_EQ(result["output_tail"], "restarted by the test\n");
  EXPECT_TRUE(result["duration_ms"].is_number());
  EXPECT_EQ(result["log_tail"], "") << "the local executor has no container";
}

}  // namespace
}  // namespace dockmaster::test
