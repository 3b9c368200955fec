// What differs between two configs, exactly: what a reload applies and what needs a
// restart.

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "config/diff.hpp"
#include "config/parse.hpp"

namespace dockmaster::config {
namespace {

using json = nlohmann::json;

config parse(const char* text) { return parse_config(json::parse(text)); }

const char* base = R"({
  "listen": ["127.0.0.1:8080"],
  "services": {"api": {"instances": ["127.0.0.1:8000", "127.0.0.1:8001"], "health": {"http": "/health"}},
               "web": {"instances": ["127.0.0.1:3000"]}},
  "routes": [{"prefix": "/api/", "service": "api"}, {"prefix": "/", "service": "web"}]
})";

TEST(ConfigDiff, TheSameConfigHasNoDifference) {
  auto diff = diff_configs(parse(base), parse(base));
  EXPECT_TRUE(diff.empty());
  EXPECT_EQ(diff.to_text(), "no changes\n");
  EXPECT_EQ(diff.to_json(), json::parse(R"({
    "routes": {"added": [], "removed": [], "modified": []},
    "services": {"added": [], "removed": [], "modified": []},
    "settings": []})"));
  EXPECT_EQ(diff.needs_restart_json(), json::array());
}

TEST(ConfigDiff, RoutesAndServicesAddedRemovedAndModified) {
  auto neu = parse(R"({
    "listen": ["127.0.0.1:8080"],
    "services": {"api": {"instances": ["127.0.0.1:8001", "127.0.0.1:8002"], "health": {"http": "/live"},
                         "balance": "least_conn"},
                 "admin": {"instances": ["127.0.0.1:9000"]}},
    "routes": [{"prefix": "/api/", "service": "api", "strip_prefix": true},
               {"prefix": "/admin/", "service": "admin"},
               {"prefix": "/", "service": "admin", "host": "admin.example"}]
  })");
  auto diff = diff_configs(parse(base), neu);
  EXPECT_EQ(diff.to_json(), json::parse(R"({
    "routes": {
      "added": [{"prefix": "/admin/", "host": "", "service": "admin"},
                {"prefix": "/", "host": "admin.example", "service": "admin"}],
      "removed": [{"prefix": "/", "host": "", "service": "web"}],
      "modified": [{"prefix": "/api/", "host": "", "service": "api", "changed": ["strip_prefix"]}]},
    "services": {
      "added": ["admin"],
      "removed": ["web"],
      "modified": [{"name": "api", "changed": ["instances", "balance", "health"],
                    "instances_added": ["127.0.0.1:8002"], "instances_removed": ["127.0.0.1:8000"]}]},
    "settings": []})"))
      << diff.to_json().dump(2);
  EXPECT_TRUE(diff.needs_restart.empty());
  EXPECT_EQ(diff.to_text(),
            "route added: /admin/ -> admin\n"
            "route added: / (host admin.example) -> admin\n"
            "route removed: / -> web\n"
            "route modified: /api/ -> api (strip_prefix)\n"
            "service added: admin\n"
            "service removed: web\n"
            "service modified: api (instances, balance, health)\n"
            "  instance added: 127.0.0.1:8002\n"
            "  instance removed: 127.0.0.1:8000\n");
}

TEST(ConfigDiff, ARouteToAnotherServiceIsModified) {
  auto neu = parse(R"({
    "listen": ["127.0.0.1:8080"],
    "services": {"api": {"instances": ["127.0.0.1:8000", "127.0.0.1:8001"], "health": {"http": "/health"}},
                 "web": {"instances": ["127.0.0.1:3000"]}},
    "routes": [{"prefix": "/api/", "service": "web"}, {"prefix": "/", "service": "web"}]
  })");
  auto diff = diff_configs(parse(base), neu);
  ASSERT_EQ(diff.routes_modified.size(), 1u);
  EXPECT_EQ(diff.routes_modified[0].changed, std::vector<std::string>{"service"});
  EXPECT_EQ(diff.routes_modified[0].service, "web");
  EXPECT_TRUE(diff.routes_added.empty());
  EXPECT_TRUE(diff.routes_removed.empty());
  EXPECT_TRUE(diff.services_modified.empty());
}

TEST(ConfigDiff, EachPartOfAServiceIsNamed) {
  auto neu = parse(R"({
    "listen": ["127.0.0.1:8080"],
    "services": {"api": {"instances": ["127.0.0.1:8000", "127.0.0.1:8001"], "health": {"http": "/health"},
                         "resolve_interval": "1s",
                         "restart": {"executor": "local", "exec": ["true"]},
                         "hold": {"timeout": "2s"}},
                 "web": {"instances": ["127.0.0.1:3000"]}},
    "routes": [{"prefix": "/api/", "service": "api"}, {"prefix": "/", "service": "web"}]
  })");
  auto diff = diff_configs(parse(base), neu);
  ASSERT_EQ(diff.services_modified.size(), 1u);
  EXPECT_EQ(diff.services_modified[0].changed,
            (std::vector<std::string>{"resolve_interval", "restart", "hold"}));
  EXPECT_TRUE(diff.services_modified[0].instances_added.empty());
  EXPECT_TRUE(diff.services_modified[0].instances_removed.empty());
}

TEST(ConfigDiff, TopLevelSettingsAreListedInOrder) {
  auto neu = parse(R"({
    "listen": ["127.0.0.1:8080"],
    "services": {"api": {"instances": ["127.0.0.1:8000", "127.0.0.1:8001"], "health": {"http": "/health"}},
                 "web": {"instances": ["127.0.0.1:3000"]}},
    "routes": [{"prefix": "/api/", "service": "api"}, {"prefix": "/", "service": "web"}],
    "cors": {"allow_origins": ["https://app.example"]},
    "timeouts": {"connect": "1s"},
    "limits": {"max_body_bytes": 1000},
    "log": {"access_log": false},
    "admin": {"status_path": "/status"},
    "hold": {"max_requests": 10}
  })");
  auto diff = diff_configs(parse(base), neu);
  EXPECT_EQ(diff.settings_changed,
            (std::vector<std::string>{"cors", "hold", "timeouts", "limits", "log", "admin"}));
  EXPECT_TRUE(diff.needs_restart.empty()) << diff.to_text();
  EXPECT_TRUE(diff.routes_modified.empty());
  // The top-level hold is the default of every service that sets none: theirs change.
  ASSERT_EQ(diff.services_modified.size(), 2u);
  EXPECT_EQ(diff.services_modified[0].changed, std::vector<std::string>{"hold"});
  EXPECT_EQ(diff.services_modified[1].changed, std::vector<std::string>{"hold"});
}

TEST(ConfigDiff, ListenThreadsSchedulerDockerAndTheConnectionLimitNeedARestart) {
  auto neu = parse(R"({
    "listen": ["127.0.0.1:9090"],
    "services": {"api": {"instances": ["127.0.0.1:8000", "127.0.0.1:8001"], "health": {"http": "/health"}},
                 "web": {"instances": ["127.0.0.1:3000"]}},
    "routes": [{"prefix": "/api/", "service": "api"}, {"prefix": "/", "service": "web"}],
    "actor_system": {"io_threads": 4, "scheduler": {"max_threads": 3}},
    "docker": {"socket": "/run/other.sock"},
    "limits": {"max_client_connections": 50}
  })");
  auto diff = diff_configs(parse(base), neu);
  std::vector<std::string> keys;
  for (const auto& item : diff.needs_restart) keys.push_back(item.key);
  EXPECT_EQ(keys, (std::vector<std::string>{"listen", "actor_system.io_threads", "actor_system.scheduler",
                                            "docker.socket", "limits.max_client_connections"}));
  EXPECT_EQ(diff.needs_restart[0].reason,
            "the listening sockets are bound at start (was 127.0.0.1:8080, now 127.0.0.1:9090)");
  EXPECT_EQ(diff.needs_restart[1].reason, "the I/O threads are started at start (2 run, 4 configured)");
  // The limit alone is not a change of "limits": a reload cannot apply it.
  EXPECT_TRUE(diff.settings_changed.empty());
  EXPECT_FALSE(diff.empty());
  EXPECT_EQ(diff.needs_restart_json()[0],
            json::parse(R"j({"key": "listen", "reason": "the listening sockets are bound at start (was 127.0.0.1:8080, now 127.0.0.1:9090)"})j"));
}

TEST(ConfigDiff, TheAdminListenerAndItsTokenNeedARestartItsPublicStatusPathDoesNot) {
  auto old = parse(base);
  auto neu = old;
  neu.admin.listen = host_port{"127.0.0.1", 9911};
  neu.admin.token = "new";
  neu.admin.status_path = "/_status";
  auto diff = diff_configs(old, neu);
  EXPECT_EQ(diff.settings_changed, std::vector<std::string>{"admin"});
  EXPECT_EQ(diff.needs_restart_json(), json::parse(R"j([
    {"key": "admin.listen", "reason": "the admin listener is bound at start (was 127.0.0.1:9901, now 127.0.0.1:9911)"},
    {"key": "admin.token", "reason": "the admin listener takes its token at start"}])j"));
  neu.admin.listen.reset();
  EXPECT_EQ(diff_configs(old, neu).needs_restart[0].reason,
            "the admin listener is bound at start (was 127.0.0.1:9901, now off)");
}

TEST(ConfigDiff, SameRestartComparesEveryField) {
  restart_config a, b;
  EXPECT_TRUE(same_restart(a, b));
  b.grace = milliseconds(0);
  EXPECT_FALSE(same_restart(a, b));
  b = a;
  b.env = {"A=1"};
  EXPECT_FALSE(same_restart(a, b));
}

}  // namespace
}  // namespace dockmaster::config
