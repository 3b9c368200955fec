// engine_client against a real Docker engine (DOCKER_HOST): runs when
// DOCKMASTER_REAL_DOCKER=1, after `scripts/docker_engine.sh start` and
// `scripts/docker_engine.sh images`. Each test runs its own container of
// dockmaster-test/busybox-service on the host network, serving /health on a free
// loopback port, and removes it afterwards, also when the test fails.

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "docker/engine_client.hpp"
#include "support/docker_containers.hpp"
#include "support/wait.hpp"

namespace {

using namespace std::chrono_literals;
using dockmaster::docker::engine_client;
using dockmaster::docker::engine_error;
using dockmaster::docker::exec_options;
using dockmaster::test::wait_until;
namespace ds = dockmaster::test::docker_support;

constexpr const char* test_label = "dockmaster.test";

class RealEngine : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* enabled = std::getenv("DOCKMASTER_REAL_DOCKER");
    if (enabled == nullptr || std::string(enabled) != "1") {
      GTEST_SKIP() << "needs a real Docker engine: run `eval \"$(scripts/docker_engine.sh start)\" && "
                      "scripts/docker_engine.sh images` and set DOCKMASTER_REAL_DOCKER=1";
    }
    socket_ = engine_client::socket_path_from("");
    client_ = std::make_unique<engine_client>(socket_, 20s);
    ASSERT_TRUE(client_->ping()) << "DOCKMASTER_REAL_DOCKER=1 but no Docker engine answers at " << socket_
                                 << " (DOCKER_HOST)";

    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    name_ = std::string("dockmaster-test-") + info->name() + "-" + std::to_string(::getpid());
    port_ = ds::free_loopback_port();
    ds::container_spec spec;
    spec.name = name_;
    spec.image = ds::busybox_service_image();
    spec.env = {"PORT=" + std::to_string(port_)};
    spec.labels = {{test_label, name_}, {"dockmaster.test.suite", "engine_client_real"}};
    try {
      id_ = ds::create_container(socket_, spec);
      ds::start_container(socket_, id_);
    } catch (const engine_error& e) {
      FAIL() << e.what() << " (is the image built? scripts/docker_engine.sh images)";
    }
    ASSERT_TRUE(wait_until([&] { return ds::http_status(port_, "/health", 500ms) == 200; }, 15s, 50ms))
        << "the service in " << name_ << " never answered on 127.0.0.1:" << port_;
  }

  void TearDown() override {
    if (!id_.empty()) {
      EXPECT_TRUE(ds::remove_container(socket_, id_)) << "could not remove " << name_;
    }
  }

  bool service_up() { return ds::http_status(port_, "/health", 500ms) == 200; }

  dockmaster::docker::exec_outcome run(std::vector<std::string> argv, std::chrono::milliseconds timeout = 15s) {
    exec_options o;
    o.argv = std::move(argv);
    o.timeout = timeout;
    return client_->exec(name_, o);
  }

  std::string socket_;
  std::unique_ptr<engine_client> client_;
  std::string name_;
  std::string id_;
  std::uint16_t port_ = 0;
};

TEST_F(RealEngine, ListByLabelFindsTheContainer) {
  const auto found = client_->list_containers({std::string(test_label) + "=" + name_});
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].id, id_);
  EXPECT_EQ(found[0].name, name_);
  EXPECT_EQ(found[0].state, "running");
  EXPECT_TRUE(found[0].host_network);
  EXPECT_EQ(found[0].labels.at(test_label), name_);
  EXPECT_EQ(found[0].started_at, client_->inspect_container(id_).started_at);
  EXPECT_FALSE(found[0].hostname.empty());

  // Every label must match; a key alone matches any value.
  EXPECT_EQ(client_->list_containers({std::string(test_label), "dockmaster.test.suite=engine_client_real"}).size() >= 1,
            true);
  EXPECT_TRUE(client_->list_containers({std::string(test_label) + "=" + name_, "dockmaster.test.suite=other"}).empty());
  EXPECT_TRUE(client_->list_containers({std::string(test_label) + "=no-such-" + name_}).empty());
}

TEST_F(RealEngine, InspectGivesIdNameStateAndStartedAt) {
  const auto info = client_->inspect_container(name_);
  EXPECT_EQ(info.id, id_);
  EXPECT_EQ(info.name, name_);
  EXPECT_EQ(info.state, "running");
  EXPECT_EQ(info.started_at.size() >= 20, true) << info.started_at;
  EXPECT_NE(info.started_at.rfind("0001-", 0), 0u) << "StartedAt is the zero time: " << info.started_at;
  EXPECT_TRUE(info.host_network);
  EXPECT_FALSE(info.hostname.empty());
  EXPECT_EQ(info.labels.at(test_label), name_);
  // By id too.
  EXPECT_EQ(client_->inspect_container(id_).name, name_);
}

TEST_F(RealEngine, LogsGiveTheLastLinesOfBothStreamsEachWithItsTime) {
  // What PID 1 writes is the container's log.
  ASSERT_EQ(run({"sh", "-c", "echo out-marker >/proc/1/fd/1; echo err-marker >/proc/1/fd/2"}).exit_code, 0);
  const auto info = client_->inspect_container(id_);
  EXPECT_FALSE(info.tty);
  std::string tail;
  ASSERT_TRUE(wait_until([&] {
    tail = client_->container_logs(id_, info.tty, {2, 16 * 1024}, 5s);
    return tail.find("err-marker") != std::string::npos;
  }, 10s, 50ms)) << tail;
  EXPECT_NE(tail.find("out-marker\n"), std::string::npos) << tail;
  EXPECT_EQ(std::count(tail.begin(), tail.end(), '\n'), 2) << "the last two lines: " << tail;
  EXPECT_EQ(tail.rfind("20", 0), 0u) << "each line starts with its time: " << tail;
  EXPECT_EQ(tail.find('\0'), std::string::npos) << "no frame header is left in it";
}

TEST_F(RealEngine, LogsOfAContainerWithATtyAreRaw) {
  ds::container_spec spec;
  spec.name = name_ + "-tty";
  spec.image = ds::busybox_service_image();
  spec.cmd = {"sh", "-c", "echo tty-marker; exec sleep 300"};
  spec.tty = true;
  spec.labels = {{test_label, spec.name}};
  const auto id = ds::create_container(socket_, spec);
  struct removal {
    std::string socket, id;
    ~removal() { ds::remove_container(socket, id); }
  } remove_it{socket_, id};
  ds::start_container(socket_, id);
  const auto info = client_->inspect_container(id);
  ASSERT_TRUE(info.tty);
  std::string tail;
  ASSERT_TRUE(wait_until([&] {
    tail = client_->container_logs(id, info.tty, {}, 5s);
    return tail.find("tty-marker") != std::string::npos;
  }, 10s, 50ms)) << tail;
  EXPECT_EQ(tail.rfind("20", 0), 0u) << tail;
}

TEST_F(RealEngine, ExecCollectsBothStreamsAndTheExitCode) {
  const auto outcome = run({"sh", "-c", "echo hello; echo err >&2; exit 3"});
  EXPECT_TRUE(outcome.finished);
  EXPECT_EQ(outcome.exit_code, 3);
  EXPECT_NE(outcome.output.find("hello\n"), std::string::npos) << outcome.output;
  EXPECT_NE(outcome.output.find("err\n"), std::string::npos) << outcome.output;
  EXPECT_EQ(outcome.output.size(), 10u) << outcome.output;
  EXPECT_FALSE(outcome.exec_id.empty());

  const auto ok = run({"true"});
  EXPECT_TRUE(ok.finished);
  EXPECT_EQ(ok.exit_code, 0);
  EXPECT_EQ(ok.output, "");
}

TEST_F(RealEngine, ExecHonoursUserEnvAndWorkingDir) {
  exec_options o;
  o.argv = {"sh", "-c", "echo $GREETING; pwd; id -u"};
  o.env = {"GREETING=bonjour"};
  o.working_dir = "/www";
  o.user = "1234";
  const auto outcome = client_->exec(name_, o);
  EXPECT_TRUE(outcome.finished);
  EXPECT_EQ(outcome.exit_code, 0);
  EXPECT_EQ(outcome.output, "bonjour\n/www\n1234\n");
}

TEST_F(RealEngine, ExecKeepsTheTailOfALargeOutput) {
  exec_options o;
  o.argv = {"sh", "-c", "i=0; while [ $i -lt 20000 ]; do echo line $i; i=$((i+1)); done; echo last"};
  o.output_limit = 27;  // (stdout only: the engine does not keep the order between stdout and stderr)
  const auto outcome = client_->exec(name_, o);
  EXPECT_TRUE(outcome.finished);
  EXPECT_EQ(outcome.exit_code, 0);
  EXPECT_EQ(outcome.output, "line 19998\nline 19999\nlast\n");
}

TEST_F(RealEngine, ExecBeyondItsTimeoutIsNotFinished) {
  const auto t0 = std::chrono::steady_clock::now();
  const auto outcome = run({"sh", "-c", "echo started; sleep 30"}, 1000ms);
  const auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_FALSE(outcome.finished);
  EXPECT_EQ(outcome.output, "started\n");
  EXPECT_GE(outcome.duration, 950ms);
  EXPECT_LT(took, 5s);
}

TEST_F(RealEngine, KilledServiceComesBackWithRestartScriptInTheSameContainer) {
  const auto before = client_->inspect_container(name_);
  ASSERT_TRUE(service_up());

  const auto kill = run({"killall", "httpd"});
  ASSERT_TRUE(kill.finished);
  EXPECT_EQ(kill.exit_code, 0) << kill.output;
  ASSERT_TRUE(wait_until([&] { return !service_up(); }, 10s, 50ms)) << "httpd still answers after killall";
  // The container lives on with its service down.
  EXPECT_EQ(client_->inspect_container(name_).state, "running");
  std::this_thread::sleep_for(500ms);
  EXPECT_FALSE(service_up()) << "the service came back without a restart request";

  const auto restart = run({"/restart.sh"});
  ASSERT_TRUE(restart.finished);
  EXPECT_EQ(restart.exit_code, 0) << restart.output;
  EXPECT_TRUE(wait_until([&] { return service_up(); }, 10s, 50ms)) << "the service did not come back";

  const auto after = client_->inspect_container(name_);
  EXPECT_EQ(after.id, before.id);
  EXPECT_EQ(after.started_at, before.started_at);
  EXPECT_EQ(after.state, "running");
}

TEST_F(RealEngine, RestartScriptRestartsARunningService) {
  const auto first = run({"cat", "/tmp/service.pid"});
  ASSERT_EQ(first.exit_code, 0);
  const auto restart = run({"/restart.sh"});
  EXPECT_EQ(restart.exit_code, 0) << restart.output;
  const auto second = run({"cat", "/tmp/service.pid"});
  EXPECT_NE(first.output, second.output);
  EXPECT_TRUE(wait_until([&] { return service_up(); }, 10s, 50ms));
}

TEST_F(RealEngine, RestartContainerChangesStartedAt) {
  const auto before = client_->inspect_container(name_);
  client_->restart_container(name_, 2s);
  const auto after = client_->inspect_container(name_);
  EXPECT_EQ(after.id, before.id);
  EXPECT_EQ(after.state, "running");
  EXPECT_NE(after.started_at, before.started_at);
  EXPECT_TRUE(wait_until([&] { return service_up(); }, 10s, 50ms));
}

TEST_F(RealEngine, ExecInAMissingContainerIs404) {
  try {
    exec_options o;
    o.argv = {"true"};
    client_->exec(name_ + "-missing", o);
    FAIL() << "no engine_error";
  } catch (const engine_error& e) {
    EXPECT_EQ(e.status(), 404) << e.what();
    EXPECT_NE(std::string(e.what()).find("No such container"), std::string::npos) << e.what();
  }
  try {
    client_->inspect_container(name_ + "-missing");
    FAIL() << "no engine_error";
  } catch (const engine_error& e) {
    EXPECT_EQ(e.status(), 404) << e.what();
  }
}

TEST_F(RealEngine, ExecInAStoppedContainerIs409) {
  ds::stop_container(socket_, id_, 2);
  EXPECT_EQ(client_->inspect_container(id_).state, "exited");
  EXPECT_TRUE(client_->list_containers({std::string(test_label) + "=" + name_}).empty()) << "lists running ones only";
  try {
    run({"true"});
    FAIL() << "no engine_error";
  } catch (const engine_error& e) {
    EXPECT_EQ(e.status(), 409) << e.what();
  }
}

}  // namespace
