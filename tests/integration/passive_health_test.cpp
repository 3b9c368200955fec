// Passive health: a request that cannot reach an instance makes its watcher probe it
// at once, and while the instance is between states the fast interval decides, so a
// dead instance under traffic is taken out in a fraction of its probe interval, and
// one that comes up late is put in rotation as soon.

#include <gtest/gtest.h>

#include <future>

#include <nlohmann/json.hpp>

#include "support/harness.hpp"
#include "support/http_client.hpp"
#include "support/test_upstream.hpp"
#include "support/wait.hpp"

namespace dockmaster::test {
namespace {

using json = nlohmann::json;

/// One service probed every 30 s (so the schedule alone would not notice anything
/// during a test), with a 100 ms fast interval and two failures to turn unhealthy.
config::config slow_probe_config(const std::string& instance) {
  auto cfg = make_config();
  auto& service = add_service(cfg, "backend", {instance});
  add_route(cfg, "/", "backend");
  service.health.kind = config::probe_kind::http;
  service.health.http.path = "/health";
  service.health.interval = std::chrono::seconds(30);
  service.health.fast_interval = std::chrono::milliseconds(100);
  service.health.timeout = std::chrono::milliseconds(500);
  service.health.unhealthy_after = 2;
  service.health.healthy_after = 1;
  return cfg;
}

std::string state_of(in_process_proxy& proxy) {
  return json::parse(proxy.runtime().status_json())["services"]["backend"]["state"];
}

unsigned status_of_get(std::uint16_t port) {
  try {
    http_client client(port, "127.0.0.1", std::chrono::seconds(2));
    return client.get("/").result_int();
  } catch (const std::exception&) {
    return 0;
  }
}

TEST(PassiveHealth, AFailedRequestTakesADeadInstanceOutLongBeforeItsNextProbe) {
  test_upstream upstream("backend");
  in_process_proxy proxy(slow_probe_config(upstream.host_port()));
  ASSERT_TRUE(wait_until([&] { return state_of(proxy) == "healthy"; }, 5s))
      << proxy.runtime().status_json();

  upstream.stop();
  auto stopped = std::chrono::steady_clock::now();
  EXPECT_EQ(status_of_get(proxy.port()), 502u) << "the only instance refuses connections";
  // The failed request brings a probe forward; it fails, and the next one comes after
  // the fast interval: two failures, well inside the 30 s interval.
  ASSERT_TRUE(wait_until([&] { return state_of(proxy) == "down"; }, 5s))
      << proxy.runtime().status_json();
  EXPECT_LT(std::chrono::steady_clock::now() - stopped, 5s);
  EXPECT_EQ(status_of_get(proxy.port()), 503u) << "no healthy instance left";

  auto history = json::parse(proxy.runtime().status_json())["history"];
  ASSERT_FALSE(history.empty());
  EXPECT_EQ(history.back()["to"], "unhealthy");
  EXPECT_EQ(history.back()["reason"], "connection refused");
}

TEST(PassiveHealth, ARequestThatWaitsLongerThanAProbeMayBringTheNextProbeForward) {
  // A hung instance refuses nothing: what gives it away is a response head that takes
  // longer than a probe is allowed to.
  test_upstream upstream("backend");  // serving from here on
  auto cfg = slow_probe_config(upstream.host_port());
  cfg.services["backend"].health.timeout = std::chrono::milliseconds(200);
  in_process_proxy proxy(cfg);
  ASSERT_TRUE(wait_until([&] { return state_of(proxy) == "healthy"; }, 5s))
      << proxy.runtime().status_json();
  auto probes = [&] { return upstream.count_requests("/health"); };
  const auto before = probes();

  auto slow = std::async(std::launch::async, [&] {
    http_client client(proxy.port(), "127.0.0.1", std::chrono::seconds(10));
    return client.get("/slow?ms=3000").result_int();
  });
  // The next scheduled probe is 30 s away: this one comes from the waiting request.
  EXPECT_TRUE(wait_until([&] { return probes() > before; }, 2500ms))
      << "no probe while a request waited past the probe timeout";
  EXPECT_EQ(slow.get(), 200) << "the request itself waits on for its answer";
}

TEST(FastInterval, AnInstanceThatComesUpLateIsSeenHealthyWithinAFastInterval) {
  // Down at boot, within its start period: not known yet, so it is probed every fast
  // interval, not every 30 s. While it is down, a listener that closes every connection
  // at once stands in its place, so that the failed probes can be counted.
  boost::asio::io_context io;
  boost::asio::ip::tcp::acceptor closer(io, {boost::asio::ip::make_address("127.0.0.1"), 0});
  closer.non_blocking(true);
  const auto port = closer.local_endpoint().port();
  auto cfg = slow_probe_config("127.0.0.1:" + std::to_string(port));
  cfg.services["backend"].health.start_period = std::chrono::seconds(10);
  in_process_proxy proxy(cfg);

  int probes = 0;
  ASSERT_TRUE(wait_until([&] {
    boost::asio::ip::tcp::socket probe(io);
    boost::system::error_code ec;
    closer.accept(probe, ec);  // closed again at once: the probe fails
    if (!ec) ++probes;
    return probes >= 2;
  }, 5s)) << "a second probe did not come within 5 s: not the fast interval";
  EXPECT_NE(state_of(proxy), "healthy");

  closer.close();
  test_upstream::options options;
  options.name = "backend";
  options.port = port;
  test_upstream upstream(options);
  EXPECT_TRUE(wait_until([&] { return state_of(proxy) == "healthy"; }, 3s))
      << proxy.runtime().status_json();
  EXPECT_EQ(status_of_get(proxy.port()), 200u);
}

}  // namespace
}  // namespace dockmaster::test
