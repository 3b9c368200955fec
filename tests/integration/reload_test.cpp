// Live reload: the config file read again and applied while requests, keep-alive
// connections and a WebSocket run; an invalid config rejected; a dry run that says
// exactly what would change; instances that stay keep their health and history.

#include <gtest/gtest.h>

#include <signal.h>

#include <regex>

#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/websocket.hpp>
#include <nlohmann/json.hpp>

#include "config/parse.hpp"
#include "support/client_loop.hpp"
#include "support/harness.hpp"
#include "support/metrics_text.hpp"
#include "support/http_client.hpp"
#include "support/test_upstream.hpp"
#include "support/wait.hpp"

namespace dockmaster::test {
namespace {

namespace beast = boost::beast;
namespace websocket = beast::websocket;
using json = nlohmann::json;

/// A config file for 127.0.0.1:0 with these services and routes (JSON texts).
std::string config_text(const std::string& services, const std::string& routes,
                        const std::string& level = "warn") {
  return R"({"listen": "127.0.0.1:0", "admin": {"listen": "127.0.0.1:0"}, "actor_system": {"io_threads": 2},
             "log": {"level": ")" +
         level + R"(", "access_log": false},
             "services": {)" +
         services + R"(}, "routes": [)" + routes + "]}";
}

std::string service(const std::string& name, const test_upstream& upstream, const std::string& extra = "") {
  return "\"" + name + "\": {\"instances\": [\"" + upstream.host_port() + "\"]" + extra + "}";
}

/// Probes every 100 ms, healthy after one pass.
const char* probed = R"(, "health": {"http": "/health", "interval": "100ms", "timeout": "1s"})";

std::string route(const std::string& prefix, const std::string& service) {
  return R"({"prefix": ")" + prefix + R"(", "service": ")" + service + R"("})";
}

/// The proxy in-process, running the config in `file`; reloaded and read as an
/// operator does, through its admin listener.
struct reloadable {
  explicit reloadable(const std::string& text)
      : file(text), proxy(config::load_config_file(file.path()), file.path()) {}
  /// POST /reload (?dry_run=1) after writing `text`: 200 when applied (or, dry run,
  /// valid), 422 when rejected.
  json reload(const std::string& text, bool dry_run = false) {
    file.write(text);
    auto response = http_client(proxy.admin_port()).post(dry_run ? "/reload?dry_run=1" : "/reload", "");
    auto answer = json::parse(response.body());
    EXPECT_EQ(response.result_int(), answer["ok"].get<bool>() ? 200 : 422) << response.body();
    return answer;
  }
  json status() { return json::parse(http_client(proxy.admin_port()).get("/status").body()); }
  std::string metrics() { return std::string(http_client(proxy.admin_port()).get("/metrics").body()); }
  temp_file file;
  in_process_proxy proxy;
};

/// The instance entry of `service` in a status, or null.
json instance_of(const json& status, const std::string& service) {
  const auto& services = status["services"];
  if (!services.contains(service) || services[service]["instances"].empty()) return nullptr;
  return services[service]["instances"][0];
}

class websocket_client {
 public:
  explicit websocket_client(std::uint16_t port) : client_(port), ws_(client_.socket()) {}
  bool open() {
    if (client_.connect()) return false;
    websocket::response_type handshake;
    auto ec = client_.run([&](auto h) { ws_.async_handshake(handshake, "test.local", "/ws", std::move(h)); });
    return !ec && handshake.result_int() == 101;
  }
  /// Sends `text` and returns what came back ("" on an error).
  std::string echo(const std::string& text) {
    auto ec = client_.run([&](auto h) { ws_.async_write(boost::asio::buffer(text), std::move(h)); });
    if (ec) return "";
    beast::flat_buffer received;
    ec = client_.run([&](auto h) { ws_.async_read(received, std::move(h)); });
    return ec ? "" : beast::buffers_to_string(received.data());
  }

 private:
  http_client client_;
  websocket::stream<boost::asio::ip::tcp::socket&> ws_;
};

TEST(Reload, UnderLoadARouteAddedTakesEffectAndNothingInFlightFails) {
  test_upstream a{"a"};
  test_upstream b{"b"};
  reloadable dm(config_text(service("a", a), route("/", "a")));
  const auto port = dm.proxy.port();

  websocket_client ws(port);
  ASSERT_TRUE(ws.open());
  ASSERT_EQ(ws.echo("before"), "before");
  http_client keep_alive(port);
  ASSERT_EQ(keep_alive.get("/k")["X-Upstream"], "a");
  ASSERT_EQ(keep_alive.get("/b/x")["X-Upstream"], "a");

  client_loop loop(port, "/loop", "/loop", std::chrono::milliseconds(10));
  ASSERT_TRUE(wait_until([&] { return loop.count() >= 20; }, std::chrono::seconds(30)));
  auto answer = dm.reload(config_text(service("a", a) + "," + service("b", b),
                                      route("/", "a") + "," + route("/b/", "b")));
  ASSERT_TRUE(answer["ok"].get<bool>()) << answer.dump();
  const auto at_reload = loop.count();
  // reload() returns once every I/O thread has the new routes.
  EXPECT_EQ(keep_alive.get("/b/x")["X-Upstream"], "b");
  EXPECT_EQ(keep_alive.get("/k")["X-Upstream"], "a");
  EXPECT_EQ(keep_alive.connections_opened(), 1) << "the keep-alive connection was closed";
  EXPECT_EQ(ws.echo("after"), "after");
  ASSERT_TRUE(wait_until([&] { return loop.count() >= at_reload + 20; }, std::chrono::seconds(30)));
  loop.stop();

  std::size_t failed = 0;
  for (const auto& o : loop.outcomes()) failed += o.status != 200;
  EXPECT_EQ(failed, 0u) << "of " << loop.count() << " requests";
  EXPECT_EQ(dm.status()["config"]["generation"], 2);
  auto metrics = dm.metrics();
  EXPECT_EQ(metric_sample(metrics, R"(dockmaster_config_reloads_total{result="success"})"), 1) << metrics;
  EXPECT_EQ(metric_sample(metrics, R"(dockmaster_config_reloads_total{result="failure"})"), 0);
  EXPECT_EQ(metric_sample(metrics, "dockmaster_config_last_reload_success_timestamp_seconds"),
            dm.status()["config"]["last_success_unix"].get<double>());
}

TEST(Reload, AnInvalidConfigIsRejectedAndTheOldOneKeepsRunning) {
  test_upstream a{"a"};
  reloadable dm(config_text(service("a", a), route("/", "a")));
  http_client client(dm.proxy.port());
  ASSERT_EQ(client.get("/x")["X-Upstream"], "a");

  auto answer = dm.reload(config_text(service("a", a), route("/", "a") + "," + route("/n/", "nope")));
  EXPECT_FALSE(answer["ok"].get<bool>());
  EXPECT_NE(answer["error"].get<std::string>().find("routes[1].service"), std::string::npos) << answer.dump();
  EXPECT_EQ(answer["changes"], json::object());

  EXPECT_EQ(client.get("/n/x")["X-Upstream"], "a");
  auto config = dm.status()["config"];
  EXPECT_EQ(config["generation"], 1);
  EXPECT_EQ(config["reloads"], json::parse(R"({"ok": 0, "failed": 1})"));
  EXPECT_NE(config["last_error"].get<std::string>().find("routes[1].service"), std::string::npos);
  EXPECT_EQ(config["last_success_unix"], 0);

  // Not JSON at all: rejected as well.
  answer = dm.reload("{\"routes\": [");
  EXPECT_FALSE(answer["ok"].get<bool>());
  EXPECT_EQ(client.get("/y")["X-Upstream"], "a");
  EXPECT_EQ(dm.status()["config"]["reloads"]["failed"], 2);
  auto metrics = dm.metrics();
  EXPECT_EQ(metric_sample(metrics, R"(dockmaster_config_reloads_total{result="failure"})"), 2) << metrics;
  EXPECT_EQ(metric_sample(metrics, R"(dockmaster_config_reloads_total{result="success"})"), 0);
}

TEST(Reload, TheAdminEndpointTakesOnlyAPostAndADryRunFlag) {
  test_upstream a{"a"};
  reloadable dm(config_text(service("a", a), route("/", "a")));
  http_client admin(dm.proxy.admin_port());
  auto get = admin.get("/reload");
  EXPECT_EQ(get.result_int(), 405);
  EXPECT_EQ(get["Allow"], "POST");
  EXPECT_EQ(admin.post("/reload?dry_run=maybe", "").result_int(), 400);
  EXPECT_EQ(admin.post("/reload?force=1", "").result_int(), 400);
  // None of them reloaded anything.
  auto config = dm.status()["config"];
  EXPECT_EQ(config["generation"], 1);
  EXPECT_EQ(config["reloads"], json::parse(R"({"ok": 0, "failed": 0})"));
}

TEST(Reload, ADryRunReportsTheDifferenceExactlyAndAppliesNothing) {
  test_upstream a{"a"};
  test_upstream a2{"a2"};
  test_upstream b{"b"};
  reloadable dm(config_text(service("a", a), route("/a/", "a")));
  http_client client(dm.proxy.port());
  ASSERT_EQ(client.get("/b/x").result_int(), 404);
  const auto digest = dm.status()["config"]["digest"];

  const std::string next =
      R"({"listen": "127.0.0.1:8", "actor_system": {"io_threads": 2}, "log": {"level": "warn", "access_log": false},
          "services": {"a": {"instances": [")" + a2.host_port() + R"("], "balance": "least_conn"},
                       "b": {"instances": [")" + b.host_port() + R"("]}},
          "routes": [{"prefix": "/a/", "service": "a", "strip_prefix": true}, {"prefix": "/b/", "service": "b"}]})";
  auto answer = dm.reload(next, /*dry_run=*/true);
  auto expected = json::parse(R"j({"ok": true, "dry_run": true, "error": "",
    "changes": {
      "routes": {"added": [{"prefix": "/b/", "host": "", "service": "b"}], "removed": [],
                 "modified": [{"prefix": "/a/", "host": "", "service": "a", "changed": ["strip_prefix"]}]},
      "services": {"added": ["b"], "removed": [],
                   "modified": [{"name": "a", "changed": ["instances", "balance"],
                                 "instances_added": [], "instances_removed": []}]},
      "settings": []},
    "needs_restart": [{"key": "listen",
                       "reason": "the listening sockets are bound at start (was 127.0.0.1:0, now 127.0.0.1:8)"},
                      {"key": "admin.listen",
                       "reason": "the admin listener is bound at start (was 127.0.0.1:0, now 127.0.0.1:9901)"}]})j");
  expected["changes"]["services"]["modified"][0]["instances_added"] = {a2.host_port()};
  expected["changes"]["services"]["modified"][0]["instances_removed"] = {a.host_port()};
  EXPECT_EQ(answer, expected) << answer.dump(2);

  // Nothing applied.
  EXPECT_EQ(client.get("/b/x").result_int(), 404);
  EXPECT_EQ(client.get("/a/x")["X-Upstream"], "a");
  auto status = dm.status();
  EXPECT_EQ(status["config"]["generation"], 1);
  EXPECT_EQ(status["config"]["digest"], digest);
  EXPECT_EQ(status["config"]["reloads"], json::parse(R"({"ok": 0, "failed": 0})"));
  EXPECT_FALSE(status["services"].contains("b"));
}

TEST(Reload, WhatNeedsARestartIsListedAndTheRestApplied) {
  test_upstream a{"a"};
  test_upstream b{"b"};
  reloadable dm(config_text(service("a", a), route("/", "a")));
  http_client client(dm.proxy.port());
  auto text = config_text(service("b", b), route("/", "b"));
  text.replace(text.find("\"io_threads\": 2"), 15, "\"io_threads\": 3");
  auto answer = dm.reload(text);
  ASSERT_TRUE(answer["ok"].get<bool>()) << answer.dump();
  ASSERT_EQ(answer["needs_restart"].size(), 1u);
  EXPECT_EQ(answer["needs_restart"][0]["key"], "actor_system.io_threads");
  EXPECT_EQ(client.get("/x")["X-Upstream"], "b");
  // Still not applied: the next reload says so again.
  answer = dm.reload(text, /*dry_run=*/true);
  EXPECT_EQ(answer["needs_restart"].size(), 1u);
  EXPECT_EQ(dm.status()["config"]["needs_restart"].size(), 1u);
}

TEST(Reload, InstancesThatStayKeepTheirHealthAndHistory) {
  test_upstream a{"a"};
  test_upstream b{"b"};
  reloadable dm(config_text(service("a", a, probed), route("/", "a")));
  json before;
  ASSERT_TRUE(wait_until([&] {
    before = instance_of(dm.status(), "a");
    return !before.is_null() && before["health"] == "healthy" && before["probes"]["passed"].get<int>() >= 2;
  }, std::chrono::seconds(20)));

  // Another service and route, and a faster interval for "a" itself.
  auto faster = std::string(probed);
  faster.replace(faster.find("100ms"), 5, "50ms");
  auto answer = dm.reload(config_text(service("a", a, faster) + "," + service("b", b),
                                      route("/", "a") + "," + route("/b/", "b")));
  ASSERT_TRUE(answer["ok"].get<bool>()) << answer.dump();
  EXPECT_EQ(answer["changes"]["services"]["modified"][0]["changed"], json::array({"health"}));

  auto after = instance_of(dm.status(), "a");
  ASSERT_FALSE(after.is_null());
  EXPECT_EQ(after["health"], "healthy");
  EXPECT_EQ(after["since"], before["since"]);
  EXPECT_GE(after["probes"]["passed"].get<int>(), before["probes"]["passed"].get<int>());
  // The probes go on counting from where they were, never from zero.
  const auto passed = after["probes"]["passed"].get<int>();
  ASSERT_TRUE(wait_until([&] {
    return instance_of(dm.status(), "a")["probes"]["passed"].get<int>() > passed;
  }, std::chrono::seconds(10)));
  // Neither removed nor added again.
  int added = 0, removed = 0;
  const auto status = dm.status();
  for (const auto& event : status["history"]) {
    if (event["service"] != "a") continue;
    added += event["event"] == "instance_added";
    removed += event["event"] == "instance_removed";
    // No change of health since the one before the reload.
    if (event["event"] == "health_changed") EXPECT_LE(event["time"], before["since"]) << event.dump();
  }
  EXPECT_EQ(added, 1);
  EXPECT_EQ(removed, 0);
}

TEST(Reload, ARemovedServiceLeavesTheStatusAndAnAddedOneIsProbed) {
  test_upstream a{"a"};
  test_upstream b{"b"};
  test_upstream c{"c"};
  reloadable dm(config_text(service("a", a) + "," + service("c", c, probed),
                            route("/", "a") + "," + route("/c/", "c")));
  http_client client(dm.proxy.port());
  ASSERT_TRUE(wait_until([&] { return client.get("/c/x")["X-Upstream"] == "c"; }, std::chrono::seconds(20)));

  auto answer = dm.reload(config_text(service("a", a) + "," + service("b", b, probed),
                                      route("/", "a") + "," + route("/b/", "b")));
  ASSERT_TRUE(answer["ok"].get<bool>()) << answer.dump();
  EXPECT_EQ(answer["changes"]["services"]["added"], json::array({"b"}));
  EXPECT_EQ(answer["changes"]["services"]["removed"], json::array({"c"}));

  ASSERT_TRUE(wait_until([&] {
    auto b_now = instance_of(dm.status(), "b");
    return !b_now.is_null() && b_now["health"] == "healthy" && b_now["probes"]["passed"].get<int>() >= 1;
  }, std::chrono::seconds(20)));
  auto status = dm.status();
  EXPECT_FALSE(status["services"].contains("c"));
  bool c_removed = false;
  for (const auto& event : status["history"])
    c_removed |= event["service"] == "c" && event["event"] == "instance_removed" &&
                 event["instance"] == c.host_port();
  EXPECT_TRUE(c_removed);
  // The route to c is gone with it ("/" takes it), and b answers on its own.
  EXPECT_EQ(client.get("/c/x")["X-Upstream"], "a");
  ASSERT_TRUE(wait_until([&] { return client.get("/b/x")["X-Upstream"] == "b"; }, std::chrono::seconds(20)));
  // c is no longer probed: its count stays where it was once the removal is through.
  const auto probes_of_c = c.count_requests("/health");
  ASSERT_TRUE(wait_until([&] { return b.count_requests("/health") >= 3; }, std::chrono::seconds(20)));
  EXPECT_LE(c.count_requests("/health"), probes_of_c + 1);
}

TEST(Reload, SighupMakesTheRealBinaryReadItsConfigAgain) {
  test_upstream a{"a"};
  test_upstream b{"b"};
  dockmaster_process dm(config_text(service("a", a), route("/", "a"), "info"));
  http_client client(dm.port());
  ASSERT_EQ(client.get("/b/x")["X-Upstream"], "a");

  dm.config_file().write(config_text(service("a", a) + "," + service("b", b),
                                     route("/", "a") + "," + route("/b/", "b"), "info"));
  dm.process().kill(SIGHUP);
  // Its --listen and --admin-listen stay over the file's addresses: no restart needed.
  ASSERT_TRUE(dm.process().wait_for_stderr(std::regex("config_reload.*applied.*needs_restart=\\[\\]"),
                                           std::chrono::seconds(20)))
      << dm.process().stderr_text();
  EXPECT_TRUE(wait_until([&] { return client.get("/b/x")["X-Upstream"] == "b"; }, std::chrono::seconds(10)));
  EXPECT_TRUE(dm.process().running());

  // An invalid one: rejected, logged, and the running config stays.
  dm.config_file().write("{\"listen\": 5}");
  dm.process().kill(SIGHUP);
  ASSERT_TRUE(dm.process().wait_for_stderr(std::regex("config_reload.*rejected.*listen"), std::chrono::seconds(20)))
      << dm.process().stderr_text();
  EXPECT_EQ(client.get("/b/x")["X-Upstream"], "b");
  EXPECT_TRUE(dm.process().running());
}

}  // namespace
}  // namespace dockmaster::test
