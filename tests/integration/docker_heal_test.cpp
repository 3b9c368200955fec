// Healing against a REAL Docker engine (scripts/docker_engine.sh starts a private one):
// the service process inside a container dies, dockmaster's probes notice, the
// supervisor runs the restart command in that container through the Engine API, and
// the service answers through the proxy again, while the container itself is never
// restarted. Containers use host networking: all traffic stays on 127.0.0.1.

#include <gtest/gtest.h>

#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <thread>

#include <boost/asio/ip/tcp.hpp>
#include <nlohmann/json.hpp>

#include "docker/engine_client.hpp"
#include "support/client_loop.hpp"
#include "support/docker_containers.hpp"
#include "support/fake_dns.hpp"
#include "support/harness.hpp"
#include "support/http_client.hpp"
#include "support/wait.hpp"

namespace dockmaster::test {
namespace {

using json = nlohmann::json;
namespace ds = docker_support;

class DockerHeal : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* enabled = std::getenv("DOCKMASTER_REAL_DOCKER");
    if (enabled == nullptr || std::string(enabled) != "1")
      GTEST_SKIP() << "needs a real Docker engine: run `eval \"$(scripts/docker_engine.sh start)\" && "
                      "scripts/docker_engine.sh images` and set DOCKMASTER_REAL_DOCKER=1";
    socket_ = docker::engine_client::socket_path_from("");
    client_ = std::make_unique<docker::engine_client>(socket_, 20s);
    ASSERT_TRUE(client_->ping()) << "no Docker engine answers at " << socket_;
    project_ = "dmheal" + std::to_string(::getpid()) + "-" +
               ::testing::UnitTest::GetInstance()->current_test_info()->name();
  }

  void TearDown() override {
    if (!project_.empty()) ds::remove_containers_labelled(socket_, "com.docker.compose.project=" + project_);
  }

  /// Starts a busybox-service container as compose would label it, serving `port`.
  std::string start_service(const std::string& service, std::uint16_t port,
                            const std::string& service_cmd = "", bool wait_for_service = true) {
    ds::container_spec spec;
    spec.name = project_ + "-" + service + "-" + std::to_string(port);
    spec.image = ds::busybox_service_image();
    spec.env = {"PORT=" + std::to_string(port)};
    if (!service_cmd.empty()) spec.env.push_back("SERVICE_CMD=" + service_cmd);
    spec.labels = {{"com.docker.compose.project", project_},
                   {"com.docker.compose.service", service},
                   {"dockmaster.instance", "127.0.0.1:" + std::to_string(port)},
                   {"dockmaster.test", project_}};
    auto id = ds::create_container(socket_, spec);
    ds::start_container(socket_, id);
    // Up before dockmaster watches it, so that a slow container start is not taken
    // for a failure and healed.
    if (wait_for_service)
      EXPECT_TRUE(wait_until([&] { return accepts_connections(port); }, 15s))
          << "the service in " << spec.name << " never listened on 127.0.0.1:" << port;
    return id;
  }

  static bool accepts_connections(std::uint16_t port, const std::string& ip = "127.0.0.1") {
    boost::asio::io_context io;
    boost::asio::ip::tcp::socket socket(io);
    boost::system::error_code ec;
    socket.connect({boost::asio::ip::make_address(ip), port}, ec);
    return !ec;
  }

  /// What an operator's `docker exec CONTAINER sh -c COMMAND` does.
  int exec_in(const std::string& container, const std::string& command) {
    docker::exec_options options;
    options.argv = {"sh", "-c", command};
    return client_->exec(container, options).exit_code;
  }

  config::service_config& healed_service(config::config& cfg, const std::string& name,
                                         std::vector<std::string> instances, bool tcp = false) {
    auto& service = add_service(cfg, name, instances);
    service.health.kind = tcp ? config::probe_kind::tcp : config::probe_kind::http;
    service.health.http.path = "/health";
    service.health.interval = std::chrono::milliseconds(200);
    service.health.timeout = std::chrono::milliseconds(500);
    service.health.unhealthy_after = 2;
    service.health.start_period = std::chrono::seconds(1);
    service.restart.executor = config::restart_executor::docker;
    service.restart.command = {"/restart.sh"};
    service.restart.compose_project = project_;
    service.restart.backoff_initial = std::chrono::milliseconds(100);
    // Requests do not wait for the heal here, so that the outage shows; the test with
    // a client loop turns the hold on.
    service.hold.timeout = std::chrono::milliseconds(0);
    // As short as the start period, instead of the derived 10 s at first: some of
    // these services never come up, and their repeated restarts are what is tested.
    service.restart.grace = std::chrono::seconds(1);
    return service;
  }

  static json status_of(in_process_proxy& proxy) { return json::parse(proxy.runtime().status_json()); }

  static std::size_t count_events(const json& status, const std::string& kind,
                                  const std::string& instance = "") {
    std::size_t n = 0;
    for (const auto& e : status["history"])
      n += e["event"] == kind && (instance.empty() || e["instance"] == instance);
    return n;
  }

  static json instance_status(const json& status, const std::string& service,
                              const std::string& instance) {
    for (const auto& i : status["services"][service]["instances"])
      if (i["instance"] == instance) return i;
    return json::object();
  }

  std::string socket_;
  std::unique_ptr<docker::engine_client> client_;
  std::string project_;
};

bool proxy_answers(std::uint16_t port, const std::string& path) {
  try {
    http_client client(port, "127.0.0.1", std::chrono::seconds(2));
    return client.get(path).result_int() == 200;
  } catch (const std::exception&) {
    return false;
  }
}

TEST_F(DockerHeal, AKilledServiceIsRestartedInsideItsContainerWhichKeepsItsIdAndStartTime) {
  auto port = ds::free_loopback_port();
  auto id = start_service("web", port);
  auto cfg = make_config();
  auto instance = "127.0.0.1:" + std::to_string(port);
  healed_service(cfg, "web", {instance});
  add_route(cfg, "/", "web");
  in_process_proxy proxy(cfg);
  ASSERT_TRUE(wait_until([&] { return proxy_answers(proxy.port(), "/health"); }, 15s))
      << proxy.runtime().status_json();
  auto before = client_->inspect_container(id);

  ASSERT_EQ(exec_in(id, "killall httpd"), 0);
  ASSERT_TRUE(wait_until([&] { return !proxy_answers(proxy.port(), "/health"); }, 5s));
  ASSERT_TRUE(wait_until([&] { return proxy_answers(proxy.port(), "/health"); }, 20s))
      << proxy.runtime().status_json();

  // The service answering again says the exec ran; its record reaches the status a
  // moment later (through the event sink), so the test waits for that too.
  ASSERT_TRUE(wait_until([&] {
    return count_events(status_of(proxy), "restart_done", instance) == 1;
  }, 10s)) << proxy.runtime().status_json();
  auto after = client_->inspect_container(id);
  EXPECT_EQ(after.id, before.id);
  EXPECT_EQ(after.started_at, before.started_at) << "the container must not have been restarted";
  auto status = status_of(proxy);
  auto record = instance_status(status, "web", instance);
  EXPECT_EQ(record["restarts"], 1);
  EXPECT_EQ(record["last_restart"]["action"], "exec");
  EXPECT_EQ(record["last_restart"]["exit_code"], 0);
  EXPECT_EQ(record["last_restart"]["command"], "/restart.sh");
  EXPECT_NE(record["last_restart"]["container"].get<std::string>().find(id.substr(0, 12)),
            std::string::npos);
  EXPECT_NE(record["last_restart"]["output_tail"].get<std::string>().find("service restarted"),
            std::string::npos);
  EXPECT_TRUE(wait_until([&] { return status_of(proxy)["services"]["web"]["state"] == "healthy"; }));
}

TEST_F(DockerHeal, TheRestartInTheTimelineCarriesTheContainersLogTailAsTheFailureLeftIt) {
  auto port = ds::free_loopback_port();
  auto id = start_service("web", port);
  auto cfg = make_config();
  auto instance = "127.0.0.1:" + std::to_string(port);
  healed_service(cfg, "web", {instance});
  in_process_proxy proxy(cfg);
  ASSERT_TRUE(wait_until([&] { return status_of(proxy)["services"]["web"]["state"] == "healthy"; }, 15s))
      << proxy.runtime().status_json();

  // What PID 1 writes is the container's log: a last word before the service dies.
  const std::string marker = "last words of " + project_;
  ASSERT_EQ(exec_in(id, "echo '" + marker + "' >/proc/1/fd/2; killall httpd"), 0);
  json restart;
  ASSERT_TRUE(wait_until([&] {
    auto record = instance_status(status_of(proxy), "web", instance);
    for (const auto& e : record["timeline"])
      if (e["event"] == "restart_done") restart = e;
    return !restart.is_null();
  }, 20s)) << proxy.runtime().status_json();
  const auto& result = restart["result"];
  EXPECT_EQ(result["exit_code"], 0);
  EXPECT_EQ(result["command"], "/restart.sh");
  EXPECT_NE(result["container"].get<std::string>().find(id.substr(0, 12)), std::string::npos);
  const auto log_tail = result["log_tail"].get<std::string>();
  EXPECT_NE(log_tail.find(marker), std::string::npos) << log_tail << result["log_error"];
  EXPECT_EQ(log_tail.find("restart requested"), std::string::npos)
      << "taken before the restart ran, not after: " << log_tail;
  EXPECT_EQ(log_tail.rfind("20", 0), 0u) << "each line with its time: " << log_tail;
  EXPECT_EQ(instance_status(status_of(proxy), "web", instance)["last_restart"]["log_tail"], log_tail)
      << "the restart's status record keeps it too";
}

TEST_F(DockerHeal, AClientLoopThroughAKillAndHealOfTheOnlyInstanceSeesNoError) {
  auto port = ds::free_loopback_port();
  auto id = start_service("web", port);
  auto cfg = make_config();
  auto instance = "127.0.0.1:" + std::to_string(port);
  auto& service = healed_service(cfg, "web", {instance});
  service.health.fast_interval = std::chrono::milliseconds(100);
  service.hold = config::hold_config{};  // the defaults: requests wait for the heal
  add_route(cfg, "/", "web");
  in_process_proxy proxy(cfg);
  ASSERT_TRUE(wait_until([&] { return proxy_answers(proxy.port(), "/health"); }, 15s))
      << proxy.runtime().status_json();
  auto before = client_->inspect_container(id);

  client_loop loop(proxy.port(), "/health", "/cgi-bin/post");
  // While no request is in flight: one cut mid-answer fails by design.
  auto summary = loop.run_through([&] { EXPECT_EQ(exec_in(id, "killall httpd"), 0); }, 200, 200);
  EXPECT_TRUE(cost_no_request(summary));
  EXPECT_TRUE(wait_until([&] {
    return count_events(status_of(proxy), "restart_done", instance) == 1;
  }, 10s)) << proxy.runtime().status_json();
  auto after = client_->inspect_container(id);
  EXPECT_EQ(after.started_at, before.started_at) << "the container must not have been restarted";
  EXPECT_GE(status_of(proxy)["services"]["web"]["stats"]["held"], 1);
}

TEST_F(DockerHeal, AServiceThatNeverRecoversReachesTheCapAndIsGivenUp) {
  auto port = ds::free_loopback_port();
  // The service exits at once, every time it is started.
  auto id = start_service("broken", port, "false", false);
  auto cfg = make_config();
  auto instance = "127.0.0.1:" + std::to_string(port);
  auto& service = healed_service(cfg, "broken", {instance});
  service.health.start_period = std::chrono::milliseconds(0);
  service.restart.max_restarts = 2;
  add_route(cfg, "/", "broken");
  in_process_proxy proxy(cfg);

  ASSERT_TRUE(wait_until([&] { return status_of(proxy)["services"]["broken"]["state"] == "given_up"; },
                         30s))
      << proxy.runtime().status_json();
  auto status = status_of(proxy);
  EXPECT_EQ(count_events(status, "restart_started"), 2u);
  EXPECT_EQ(instance_status(status, "broken", instance)["given_up"], true);
  // No loop afterwards: shown in simulated time (RestartSupervisor.AtTheCap...).
  http_client client(proxy.port());
  EXPECT_EQ(client.get("/").result_int(), 503);
}

TEST_F(DockerHeal, ATwoInstanceServiceServesEveryRequestWhileOneInstanceHeals) {
  auto port1 = ds::free_loopback_port();
  auto port2 = ds::free_loopback_port();
  ASSERT_NE(port1, port2);
  auto id1 = start_service("api", port1);
  auto id2 = start_service("api", port2);
  auto cfg = make_config();
  auto instance1 = "127.0.0.1:" + std::to_string(port1);
  auto instance2 = "127.0.0.1:" + std::to_string(port2);
  healed_service(cfg, "api", {instance1, instance2});
  add_route(cfg, "/", "api");
  in_process_proxy proxy(cfg);
  ASSERT_TRUE(wait_until([&] { return status_of(proxy)["services"]["api"]["state"] == "healthy"; }, 15s))
      << proxy.runtime().status_json();
  auto other_before = client_->inspect_container(id2);

  std::atomic<bool> running{true};
  std::atomic<int> ok{0}, failed{0};
  std::thread load([&] {
    http_client client(proxy.port());
    while (running) {
      try {
        (client.get("/health").result_int() == 200 ? ok : failed)++;
      } catch (const std::exception&) {
        ++failed;
      }
    }
  });
  ASSERT_EQ(exec_in(id1, "killall httpd"), 0);
  bool healed = wait_until([&] {
    auto status = status_of(proxy);
    return count_events(status, "restart_done", instance1) == 1 &&
           instance_status(status, "api", instance1)["health"] == "healthy";
  }, 20s);
  running = false;
  load.join();
  ASSERT_TRUE(healed) << proxy.runtime().status_json();
  EXPECT_GT(ok.load(), 50);
  EXPECT_EQ(failed.load(), 0) << "requests failed while one instance healed";
  auto status = status_of(proxy);
  EXPECT_EQ(instance_status(status, "api", instance2)["restarts"], 0) << "only the failing replica";
  EXPECT_EQ(client_->inspect_container(id2).started_at, other_before.started_at);
}

TEST_F(DockerHeal, ATcpProbedServiceIsHealedTheSameWay) {
  auto port = ds::free_loopback_port();
  // A bare TCP listener standing in for MySQL on its port.
  auto id = start_service("database", port, "nc -ll -p $PORT -e echo ok");
  auto cfg = make_config();
  auto instance = "127.0.0.1:" + std::to_string(port);
  healed_service(cfg, "database", {instance}, true);
  in_process_proxy proxy(cfg);
  ASSERT_TRUE(wait_until([&] { return status_of(proxy)["services"]["database"]["state"] == "healthy"; },
                         15s))
      << proxy.runtime().status_json();
  auto before = client_->inspect_container(id);
  auto changes_before = count_events(status_of(proxy), "health_changed", instance);

  ASSERT_EQ(exec_in(id, "killall nc"), 0);
  ASSERT_TRUE(wait_until([&] {
    auto status = status_of(proxy);
    return count_events(status, "restart_done", instance) == 1 &&
           instance_status(status, "database", instance)["health"] == "healthy";
  }, 20s)) << proxy.runtime().status_json();
  EXPECT_EQ(client_->inspect_container(id).started_at, before.started_at);
  // After the kill: out of rotation, restarted, and back (probes racing the restart may
  // add a step in between, so the order is checked, not the count).
  std::vector<std::string> changes;
  auto final_status = status_of(proxy);
  for (const auto& e : final_status["history"])
    if (e["event"] == "health_changed" && e["instance"] == instance) changes.push_back(e["to"]);
  ASSERT_GT(changes.size(), changes_before);
  changes.erase(changes.begin(), changes.begin() + static_cast<std::ptrdiff_t>(changes_before));
  EXPECT_EQ(changes.front(), "unhealthy");
  EXPECT_EQ(changes.back(), "healthy");
}

TEST_F(DockerHeal, AReplacementContainerIsNeverRestartedForTheInstanceItReplaced) {
  // Compose recreates a container with a new address while the old instance is
  // unhealthy and its retry is pending. Host networking, as in the tests' stack: the
  // old container serves 127.0.0.2:PORT, its replacement 127.0.0.3:PORT, both with the
  // same compose labels and no dockmaster.instance label, so that the lookup finds
  // the replacement as the service's only container.
  auto port = ds::free_loopback_port();
  const std::string name = "web-" + std::to_string(::getpid()) + fake_dns::suffix;
  fake_dns::set(name, {"127.0.0.2"});
  auto serve_on = [](const std::string& ip) { return "httpd -f -p " + ip + ":$PORT -h /www"; };
  auto start = [&](const std::string& ip) {
    ds::container_spec spec;
    spec.name = project_ + "-web-" + ip;
    spec.image = ds::busybox_service_image();
    spec.env = {"PORT=" + std::to_string(port), "SERVICE_CMD=" + serve_on(ip)};
    spec.labels = {{"com.docker.compose.project", project_},
                   {"com.docker.compose.service", "web"},
                   {"dockmaster.test", project_}};
    auto id = ds::create_container(socket_, spec);
    ds::start_container(socket_, id);
    return id;
  };
  auto old_id = start("127.0.0.2");
  auto cfg = make_config();
  auto& service = healed_service(cfg, "web", {name + ":" + std::to_string(port)});
  service.resolve_interval = std::chrono::milliseconds(100);
  // Every restart fails, so a retry is always pending; each one leaves a mark in the
  // container it ran in.
  service.restart.command = {"sh", "-c",
                             "echo restarted >> /tmp/restarts; echo \"$DOCKMASTER_CONTAINER\"; exit 1"};
  service.restart.backoff_initial = std::chrono::milliseconds(1500);
  service.restart.backoff_max = std::chrono::milliseconds(1500);
  add_route(cfg, "/", "web");
  in_process_proxy proxy(cfg);
  const auto old_instance = "127.0.0.2:" + std::to_string(port);
  const auto new_instance = "127.0.0.3:" + std::to_string(port);
  ASSERT_TRUE(wait_until([&] { return status_of(proxy)["services"]["web"]["state"] == "healthy"; }, 15s))
      << proxy.runtime().status_json();

  ASSERT_EQ(exec_in(old_id, "killall httpd"), 0);
  ASSERT_TRUE(wait_until([&] { return count_events(status_of(proxy), "restart_failed", old_instance) >= 1; },
                         20s))
      << proxy.runtime().status_json();
  // The command was told which container it runs in.
  EXPECT_EQ(instance_status(status_of(proxy), "web", old_instance)["last_restart"]["output_tail"],
            old_id + "\n");
  // Replaced: the old container goes, the new one serves on its own address, and the
  // name does not say so yet.
  ASSERT_TRUE(ds::remove_container(socket_, old_id));
  auto new_id = start("127.0.0.3");
  ASSERT_TRUE(wait_until([&] { return accepts_connections(port, "127.0.0.3"); }, 15s));
  auto replacement = client_->inspect_container(new_id);

  // The pending retry finds the replacement and leaves it alone.
  ASSERT_TRUE(wait_until([&] { return count_events(status_of(proxy), "restart_skipped", old_instance) >= 1; },
                         20s))
      << proxy.runtime().status_json();
  auto status = status_of(proxy);
  auto skipped = instance_status(status, "web", old_instance)["last_restart"];
  EXPECT_EQ(skipped["outcome"], "skipped");
  EXPECT_NE(skipped["error"].get<std::string>().find(new_id.substr(0, 12)), std::string::npos)
      << skipped.dump();

  // The name now gives the new address: the old instance leaves the status, the new
  // one is healthy, and nothing ever ran in the replacement.
  fake_dns::set(name, {"127.0.0.3"});
  ASSERT_TRUE(wait_until([&] {
    auto instances = status_of(proxy)["services"]["web"]["instances"];
    return instances.size() == 1 && instances[0]["instance"] == new_instance &&
           instances[0]["health"] == "healthy";
  }, 15s)) << proxy.runtime().status_json();
  status = status_of(proxy);
  EXPECT_EQ(count_events(status, "instance_removed", old_instance), 1u);
  EXPECT_EQ(count_events(status, "restart_started", new_instance), 0u);
  EXPECT_EQ(status["services"]["web"]["state"], "healthy");
  EXPECT_NE(exec_in(new_id, "test -e /tmp/restarts"), 0) << "a restart ran in the replacement";
  EXPECT_EQ(client_->inspect_container(new_id).started_at, replacement.started_at);
  EXPECT_TRUE(proxy_answers(proxy.port(), "/health"));
}

}  // namespace
}  // namespace dockmaster::test
