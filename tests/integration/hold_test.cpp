// Requests that wait for the heal: a service with no healthy instance, while one is
// coming back (a restart is running or due), holds its requests instead of failing
// them, and releases them the moment an instance is healthy again. Past hold.timeout
// they get 503 with Retry-After; a full hold or a body too large to keep gets 503 at
// once; a service given up on, or one without a restart, holds nothing; a client that
// leaves is dropped from the hold.

#include <gtest/gtest.h>

#include <signal.h>
#include <sys/stat.h>

#include <future>

#include <nlohmann/json.hpp>

#include "support/client_loop.hpp"
#include "support/harness.hpp"
#include "support/http_client.hpp"
#include "support/python_service.hpp"
#include "support/test_upstream.hpp"
#include "support/wait.hpp"

namespace dockmaster::test {
namespace {

using json = nlohmann::json;
using clock = std::chrono::steady_clock;

bool file_exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

/// A marker file that the restart command creates: the test sees that the heal ran
/// and brings the instance back itself, when it chooses.
class restart_marker {
 public:
  restart_marker() {
    char pattern[] = "/tmp/dockmaster-hold-XXXXXX";
    dir_ = ::mkdtemp(pattern);
  }
  ~restart_marker() { std::system(("rm -rf " + dir_).c_str()); }
  std::string path() const { return dir_ + "/restarted"; }
  std::vector<std::string> command() const { return {"sh", "-c", "touch " + path()}; }
  bool restarted() const { return file_exists(path()); }

 private:
  std::string dir_;
};

/// One service "backend" on `instance`, probed often, healed by `command` on the host.
config::config holding_config(const std::string& instance, std::vector<std::string> command) {
  auto cfg = make_config();
  auto& service = add_service(cfg, "backend", {instance});
  add_route(cfg, "/", "backend");
  service.health.kind = config::probe_kind::http;
  service.health.http.path = "/health";
  service.health.interval = std::chrono::milliseconds(100);
  service.health.fast_interval = std::chrono::milliseconds(50);
  service.health.timeout = std::chrono::milliseconds(300);
  service.health.unhealthy_after = 2;
  service.health.healthy_after = 1;
  service.restart.executor = config::restart_executor::local;
  service.restart.command = std::move(command);
  service.restart.timeout = std::chrono::seconds(5);
  service.restart.backoff_initial = std::chrono::milliseconds(100);
  service.restart.backoff_max = std::chrono::milliseconds(200);
  service.restart.max_restarts = 1000;
  // Short, instead of the derived 10 s at first: some of these instances never come
  // back, and what happens after their restarts is what is tested.
  service.restart.grace = std::chrono::milliseconds(300);
  return cfg;
}

json stats_of(in_process_proxy& proxy) {
  return json::parse(proxy.runtime().status_json())["services"]["backend"]["stats"];
}

std::string state_of(in_process_proxy& proxy) {
  return json::parse(proxy.runtime().status_json())["services"]["backend"]["state"];
}

/// The status of GET `target` on a connection of its own, or -1 on a network error.
int get_status(std::uint16_t port, const std::string& target,
               std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
  try {
    http_client client(port, "127.0.0.1", timeout);
    return client.get(target).result_int();
  } catch (const std::exception&) {
    return -1;
  }
}

TEST(Hold, RequestsWaitForTheHealAndGoOutTheMomentTheInstanceIsBack) {
  test_upstream upstream("backend");  // serving from here on
  restart_marker marker;
  in_process_proxy proxy(holding_config(upstream.host_port(), marker.command()));
  ASSERT_TRUE(wait_until([&] { return get_status(proxy.port(), "/") == 200; }, 10s));

  upstream.stop();
  // A GET and a POST with a body, each on its own connection, while nothing serves.
  const std::string body(3000, 'b');
  auto get = std::async(std::launch::async, [&] { return get_status(proxy.port(), "/get"); });
  auto post = std::async(std::launch::async, [&] {
    http_client client(proxy.port(), "127.0.0.1", 20s);
    auto answer = client.post("/post", body);
    return std::make_pair(answer.result_int(), answer.body());
  });
  // Both wait, and the supervisor's restart ran; the instance is still down.
  ASSERT_TRUE(wait_until([&] { return stats_of(proxy)["requests_held"] == 2; }, 10s))
      << stats_of(proxy).dump();
  ASSERT_TRUE(wait_until([&] { return marker.restarted(); }, 10s));
  EXPECT_EQ(get.wait_for(0s), std::future_status::timeout) << "the GET did not wait";
  EXPECT_EQ(post.wait_for(0s), std::future_status::timeout) << "the POST did not wait";

  upstream.start();  // the heal has brought the service back
  EXPECT_EQ(get.get(), 200);
  auto [post_status, post_answer] = post.get();
  EXPECT_EQ(post_status, 200);
  // The body kept while the request waited reached the upstream whole.
  EXPECT_EQ(json::parse(post_answer)["body_bytes"], body.size()) << post_answer;

  ASSERT_TRUE(wait_until([&] { return stats_of(proxy)["requests_held"] == 0; }, 10s));
  auto stats = stats_of(proxy);
  EXPECT_GE(stats["held"], 2) << stats.dump();
  EXPECT_EQ(stats["hold_outcomes"]["timed_out"], 0) << stats.dump();
  EXPECT_EQ(stats["requests"]["5xx"], 0) << stats.dump();
}

TEST(Hold, AKillAndHealUnderAClientLoopCostsNoRequest) {
  python_service service;
  auto first = std::make_unique<child_process>(service.foreground_command());
  ASSERT_TRUE(wait_until([&] { return answers_ok(service.port(), "/health"); }, 10s));
  auto cfg = holding_config(service.host_port(), service.start_command());
  // Python takes a moment to bind its port again: failed probes meanwhile do not count.
  cfg.services["backend"].health.start_period = std::chrono::seconds(5);
  in_process_proxy proxy(cfg);
  ASSERT_TRUE(wait_until([&] { return answers_ok(proxy.port(), "/health"); }, 10s));

  // http.server answers a POST with 501: a POST that went out shows as 501, one that
  // failed in dockmaster as 502/503/504.
  client_loop loop(proxy.port(), "/health", "/health");
  // The kill comes while no request is in flight: one cut mid-answer fails by design.
  auto summary = loop.run_through(
      [&] {
        first->kill(SIGKILL);
        first->wait_exit(5s);
      },
      200, 501);
  EXPECT_TRUE(service.restarted_pid().has_value()) << "the restart command did not run";
  // Each request waited at most as long as the heal took, plus 50 ms: the held ones
  // went out the moment it was back.
  EXPECT_TRUE(cost_no_request(summary));
  EXPECT_GE(stats_of(proxy)["held"], 1) << stats_of(proxy).dump();
}

TEST(Hold, AWaitPastTheHoldTimeoutGets503WithRetryAfter) {
  refusing_port dead;  // the restart never brings it back
  auto cfg = holding_config(dead.host_port(), {"true"});
  cfg.services["backend"].hold.timeout = std::chrono::milliseconds(400);
  in_process_proxy proxy(cfg);
  ASSERT_TRUE(wait_until([&] { return state_of(proxy) == "down"; }, 10s));

  http_client client(proxy.port(), "127.0.0.1", 10s);
  auto started = clock::now();
  auto answer = client.get("/");
  auto waited = clock::now() - started;
  EXPECT_EQ(answer.result_int(), 503);
  EXPECT_EQ(answer[http::field::retry_after], "1");
  EXPECT_NE(answer.body().find("hold.timeout"), std::string::npos) << answer.body();
  EXPECT_GE(waited, 400ms) << "it did not wait";
  ASSERT_TRUE(wait_until([&] { return stats_of(proxy)["hold_outcomes"]["timed_out"] == 1; }, 10s))
      << stats_of(proxy).dump();
  EXPECT_EQ(stats_of(proxy)["requests_held"], 0);
}

TEST(Hold, AFullHoldAndABodyTooLargeToKeepGet503AtOnce) {
  test_upstream upstream("backend");  // serving from here on
  restart_marker marker;
  auto cfg = holding_config(upstream.host_port(), marker.command());
  cfg.actor_system.io_threads = 1;  // so that the one place is the one thread's
  cfg.services["backend"].hold.max_requests = 1;
  cfg.services["backend"].hold.max_body_bytes = 100;
  in_process_proxy proxy(cfg);
  ASSERT_TRUE(wait_until([&] { return get_status(proxy.port(), "/") == 200; }, 10s));
  upstream.stop();
  ASSERT_TRUE(wait_until([&] { return state_of(proxy) == "down"; }, 10s));

  auto waiting = std::async(std::launch::async, [&] { return get_status(proxy.port(), "/first"); });
  ASSERT_TRUE(wait_until([&] { return stats_of(proxy)["requests_held"] == 1; }, 10s));

  http_client client(proxy.port(), "127.0.0.1", 10s);
  auto full = client.get("/second");
  EXPECT_EQ(full.result_int(), 503);
  EXPECT_EQ(full[http::field::retry_after], "1");
  EXPECT_NE(full.body().find("too many requests are waiting"), std::string::npos) << full.body();

  http_client poster(proxy.port(), "127.0.0.1", 10s);
  auto large = poster.post("/upload", std::string(101, 'x'));
  EXPECT_EQ(large.result_int(), 503);
  EXPECT_NE(large.body().find("too large to wait"), std::string::npos) << large.body();
  EXPECT_EQ(waiting.wait_for(0s), std::future_status::timeout) << "the first stopped waiting";

  upstream.start();
  EXPECT_EQ(waiting.get(), 200);
  ASSERT_TRUE(wait_until([&] { return stats_of(proxy)["hold_refused"] == 2; }, 10s))
      << stats_of(proxy).dump();
}

TEST(Hold, AServiceGivenUpOnHoldsNothingAndReleasesWhatWaited) {
  test_upstream upstream("backend");  // serving from here on
  auto cfg = holding_config(upstream.host_port(), {"true"});  // a restart that repairs nothing
  cfg.services["backend"].restart.max_restarts = 1;
  cfg.services["backend"].hold.timeout = std::chrono::seconds(60);
  in_process_proxy proxy(cfg);
  ASSERT_TRUE(wait_until([&] { return get_status(proxy.port(), "/") == 200; }, 10s));

  upstream.stop();
  // It waits while the one restart is tried, and is answered once the supervisor gives
  // up: long before its hold.timeout (the client would give up first).
  EXPECT_EQ(get_status(proxy.port(), "/waits", 15s), 503);
  ASSERT_TRUE(wait_until([&] { return state_of(proxy) == "given_up"; }, 10s));
  ASSERT_TRUE(wait_until([&] { return stats_of(proxy)["hold_outcomes"]["abandoned"] == 1; }, 10s))
      << stats_of(proxy).dump();
  // (The first request may have waited too: at boot the instance was not known yet.)
  const auto held_so_far = stats_of(proxy)["held"].get<int>();

  // Now nothing waits at all.
  EXPECT_EQ(get_status(proxy.port(), "/after", 5s), 503);
  ASSERT_TRUE(wait_until([&] { return stats_of(proxy)["requests"]["5xx"] == 2; }, 10s));
  EXPECT_EQ(stats_of(proxy)["held"], held_so_far) << stats_of(proxy).dump();
}

TEST(Hold, AClientThatLeavesIsDroppedFromTheHold) {
  test_upstream upstream("backend");  // serving from here on
  restart_marker marker;
  in_process_proxy proxy(holding_config(upstream.host_port(), marker.command()));
  ASSERT_TRUE(wait_until([&] { return get_status(proxy.port(), "/") == 200; }, 10s));
  upstream.stop();

  {
    http_client client(proxy.port());
    client.send_raw("GET /leaves HTTP/1.1\r\nHost: test.local\r\n\r\n");
    ASSERT_TRUE(wait_until([&] { return stats_of(proxy)["requests_held"] == 1; }, 10s))
        << stats_of(proxy).dump();
  }  // closed while it waits
  ASSERT_TRUE(wait_until([&] { return stats_of(proxy)["hold_outcomes"]["client_gone"] == 1; }, 10s))
      << stats_of(proxy).dump();
  EXPECT_EQ(stats_of(proxy)["requests_held"], 0);
  upstream.start();
  EXPECT_EQ(get_status(proxy.port(), "/"), 200);
  EXPECT_EQ(upstream.count_requests("/leaves"), 0u) << "a request whose client left was sent";
}

TEST(Hold, AServiceWithoutARestartHoldsNothing) {
  refusing_port dead;
  auto cfg = holding_config(dead.host_port(), {"true"});
  cfg.services["backend"].restart.executor = config::restart_executor::none;
  in_process_proxy proxy(cfg);
  ASSERT_TRUE(wait_until([&] { return state_of(proxy) == "down"; }, 10s));
  EXPECT_EQ(get_status(proxy.port(), "/", 5s), 503);
  ASSERT_TRUE(wait_until([&] { return stats_of(proxy)["requests"]["5xx"] == 1; }, 10s));
  EXPECT_EQ(stats_of(proxy)["held"], 0);
}

}  // namespace
}  // namespace dockmaster::test
