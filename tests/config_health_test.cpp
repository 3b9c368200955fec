// Parsing of the per-service "health" and "restart" sections and of "docker".

#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "config/parse.hpp"
#include "support/config_checks.hpp"

namespace dockmaster::config {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;

config parse(const std::string& text) { return parse_config(json::parse(text)); }

/// A document with one service "api" whose body gets `members` (JSON text after
/// "instances", e.g. `"health": {...}`).
std::string service_with(const std::string& members) {
  return R"({"services": {"api": {"instances": ["127.0.0.1:8000"], )" + members + "}}}";
}

/// The service "api" of a document built by service_with().
service_config parse_service(const std::string& members) {
  return parse(service_with(members)).services.at("api");
}

/// A health section that satisfies "restart", for the restart tests.
const std::string probe = R"("health": {"http": "/health"}, )";

using test::fails_with;

// --- health: defaults and probe forms -----------------------------------------------

TEST(ConfigHealth, AServiceWithoutHealthIsNotProbedAndNotRestarted) {
  service_config api = parse_service(R"("balance": "round_robin")");
  EXPECT_EQ(api.health.kind, probe_kind::none);
  EXPECT_EQ(api.restart.executor, restart_executor::none);
  EXPECT_TRUE(api.restart.command.empty());
}

TEST(ConfigHealth, TheHttpStringFormIsTheProbePathWithEveryOtherValueDefaulted) {
  service_config api = parse_service(R"("health": {"http": "/health"})");
  const health_config& health = api.health;
  EXPECT_EQ(health.kind, probe_kind::http);
  EXPECT_EQ(health.http.path, "/health");
  EXPECT_EQ(health.http.method, "GET");
  EXPECT_EQ(health.http.status_min, 200u);
  EXPECT_EQ(health.http.status_max, 399u);
  EXPECT_EQ(health.http.body_contains, "");
  EXPECT_EQ(health.http.host, "");
  EXPECT_EQ(health.interval, 2000ms);
  EXPECT_EQ(health.timeout, 1000ms);
  EXPECT_EQ(health.unhealthy_after, 3u);
  EXPECT_EQ(health.healthy_after, 1u);
  EXPECT_EQ(health.start_period, 0ms);
  EXPECT_FALSE(health.fail_open);
  EXPECT_EQ(health.fast_interval, 0ms);
  EXPECT_EQ(health.next_interval(true), 2000ms);
}

TEST(ConfigHealth, FastIntervalIsUsedOnlyBetweenStates) {
  service_config api = parse_service(R"("health": {"http": "/health", "interval": "5s", "fast_interval": "250ms"})");
  EXPECT_EQ(api.health.fast_interval, 250ms);
  EXPECT_EQ(api.health.next_interval(true), 250ms);
  EXPECT_EQ(api.health.next_interval(false), 5000ms);
}

TEST(ConfigHealth, AFastIntervalLongerThanTheIntervalIsRejected) {
  EXPECT_TRUE(fails_with(service_with(R"("health": {"tcp": true, "interval": "1s", "fast_interval": "2s"})"),
                         "services.api.health.fast_interval", "interval"));
  EXPECT_TRUE(fails_with(service_with(R"("health": {"tcp": true, "fast_interval": 0})"),
                         "services.api.health.fast_interval", ""));
}

TEST(ConfigHealth, JitterIsTenPercentByDefaultAndAtMostFifty) {
  EXPECT_EQ(parse_service(R"("health": {"tcp": true})").health.jitter_percent, 10u);
  EXPECT_EQ(parse_service(R"("health": {"tcp": true, "jitter_percent": 0})").health.jitter_percent, 0u);
  EXPECT_EQ(parse_service(R"("health": {"tcp": true, "jitter_percent": 50})").health.jitter_percent, 50u);
  EXPECT_TRUE(fails_with(service_with(R"("health": {"tcp": true, "jitter_percent": 51})"),
                         "services.api.health.jitter_percent", "at most 50"));
  EXPECT_TRUE(fails_with(service_with(R"("health": {"tcp": true, "jitter_percent": -1})"),
                         "services.api.health.jitter_percent", ""));
}

TEST(ConfigHealth, TheHttpObjectFormReadsEveryField) {
  service_config api = parse_service(R"("health": {"http": {
      "path": "/ready", "method": "HEAD", "expect_status": "2xx",
      "body_contains": "ok", "host": "api.internal"}})");
  EXPECT_EQ(api.health.kind, probe_kind::http);
  EXPECT_EQ(api.health.http.path, "/ready");
  EXPECT_EQ(api.health.http.method, "HEAD");
  EXPECT_EQ(api.health.http.status_min, 200u);
  EXPECT_EQ(api.health.http.status_max, 299u);
  EXPECT_EQ(api.health.http.body_contains, "ok");
  EXPECT_EQ(api.health.http.host, "api.internal");
}

TEST(ConfigHealth, TheHttpObjectFormDefaultsThePathToSlashHealth) {
  service_config api = parse_service(R"("health": {"http": {"method": "GET"}})");
  EXPECT_EQ(api.health.http.path, "/health");
}

TEST(ConfigHealth, ExpectStatusTakesARangeOfStatuses) {
  service_config api = parse_service(R"("health": {"http": {"expect_status": "200-299"}})");
  EXPECT_EQ(api.health.http.status_min, 200u);
  EXPECT_EQ(api.health.http.status_max, 299u);
}

TEST(ConfigHealth, ExpectStatusTakesASingleStatusAsANumber) {
  service_config api = parse_service(R"("health": {"http": {"expect_status": 204}})");
  EXPECT_EQ(api.health.http.status_min, 204u);
  EXPECT_EQ(api.health.http.status_max, 204u);
}

TEST(ConfigHealth, ExpectStatusTakesASingleStatusAsAString) {
  service_config api = parse_service(R"("health": {"http": {"expect_status": "204"}})");
  EXPECT_EQ(api.health.http.status_min, 204u);
  EXPECT_EQ(api.health.http.status_max, 204u);
}

TEST(ConfigHealth, ExpectStatusTakesAnUpperCaseClass) {
  service_config api = parse_service(R"("health": {"http": {"expect_status": "3XX"}})");
  EXPECT_EQ(api.health.http.status_min, 300u);
  EXPECT_EQ(api.health.http.status_max, 399u);
}

TEST(ConfigHealth, RejectsAnUnparsableExpectStatus) {
  const std::string at = "services.api.health.http.expect_status";
  EXPECT_TRUE(fails_with(service_with(R"("health": {"http": {"expect_status": "2xy"}})"), at,
                         "unparsable status range"));
  EXPECT_TRUE(fails_with(service_with(R"("health": {"http": {"expect_status": "200-"}})"), at,
                         "unparsable status range"));
  EXPECT_TRUE(fails_with(service_with(R"("health": {"http": {"expect_status": "6xx"}})"), at,
                         "unparsable status range"));
  EXPECT_TRUE(fails_with(service_with(R"("health": {"http": {"expect_status": "299-200"}})"), at,
                         "ends before it starts"));
  EXPECT_TRUE(fails_with(service_with(R"("health": {"http": {"expect_status": 99}})"), at,
                         "not an HTTP status"));
  EXPECT_TRUE(fails_with(service_with(R"("health": {"http": {"expect_status": 600}})"), at,
                         "not an HTTP status"));
}

TEST(ConfigHealth, RejectsAProbePathWithoutALeadingSlash) {
  EXPECT_TRUE(fails_with(service_with(R"("health": {"http": "health"})"),
                         "services.api.health.http", "must start with '/'"));
  EXPECT_TRUE(fails_with(service_with(R"("health": {"http": {"path": ""}})"),
                         "services.api.health.http.path", "must start with '/'"));
}

TEST(ConfigHealth, RejectsAnUnknownProbeMethod) {
  EXPECT_TRUE(fails_with(service_with(R"("health": {"http": {"method": "DELETE"}})"),
                         "services.api.health.http.method", "unknown probe method"));
}

TEST(ConfigHealth, TcpTrueSelectsATcpProbe) {
  service_config api = parse_service(R"("health": {"tcp": true})");
  EXPECT_EQ(api.health.kind, probe_kind::tcp);
}

TEST(ConfigHealth, ReadsTheTimingAndThresholds) {
  service_config api = parse_service(R"("health": {"tcp": true, "interval": "5s",
      "timeout": 250, "unhealthy_after": 2, "healthy_after": 4, "start_period": "1m",
      "fail_open": true})");
  EXPECT_EQ(api.health.interval, 5000ms);
  EXPECT_EQ(api.health.timeout, 250ms);
  EXPECT_EQ(api.health.unhealthy_after, 2u);
  EXPECT_EQ(api.health.healthy_after, 4u);
  EXPECT_EQ(api.health.start_period, 60000ms);
  EXPECT_TRUE(api.health.fail_open);
}

TEST(ConfigHealth, RejectsBothHttpAndTcpAtTheTcpKey) {
  EXPECT_TRUE(fails_with(service_with(R"("health": {"http": "/health", "tcp": true})"),
                         "services.api.health.tcp", "not both"));
}

TEST(ConfigHealth, RejectsAHealthSectionWithoutAProbe) {
  EXPECT_TRUE(fails_with(service_with(R"("health": {"interval": "1s"})"), "services.api.health",
                         "missing the probe"));
}

TEST(ConfigHealth, RejectsAnUnknownKeyInsideHealthNamingItsPath) {
  EXPECT_TRUE(fails_with(service_with(R"("health": {"tcp": true, "intervall": "1s"})"),
                         "services.api.health.intervall", "unknown key \"intervall\""));
}

TEST(ConfigHealth, RejectsAnUnknownKeyInsideTheHttpProbeNamingItsPath) {
  EXPECT_TRUE(fails_with(service_with(R"("health": {"http": {"status": 200}})"),
                         "services.api.health.http.status", "unknown key \"status\""));
}

TEST(ConfigHealth, RejectsZeroThresholdsAndZeroIntervals) {
  EXPECT_TRUE(fails_with(service_with(R"("health": {"tcp": true, "unhealthy_after": 0})"),
                         "services.api.health.unhealthy_after", "at least 1"));
  EXPECT_TRUE(fails_with(service_with(R"("health": {"tcp": true, "healthy_after": 0})"),
                         "services.api.health.healthy_after", "at least 1"));
  EXPECT_TRUE(fails_with(service_with(R"("health": {"tcp": true, "interval": 0})"),
                         "services.api.health.interval", "greater than 0"));
  EXPECT_TRUE(fails_with(service_with(R"("health": {"tcp": true, "timeout": "0s"})"),
                         "services.api.health.timeout", "greater than 0"));
}

TEST(ConfigHealth, RejectsWrongTypes) {
  EXPECT_TRUE(fails_with(service_with(R"("health": "/health")"), "services.api.health",
                         "expected an object"));
  EXPECT_TRUE(fails_with(service_with(R"("health": {"tcp": "yes"})"), "services.api.health.tcp",
                         "expected a boolean"));
  EXPECT_TRUE(fails_with(service_with(R"("health": {"http": 8080})"), "services.api.health.http",
                         "expected an object"));
}

// --- restart ------------------------------------------------------------------------

TEST(ConfigRestart, TakesTheDefaultsAndTheDockerExecutor) {
  service_config api = parse_service(probe + R"("restart": {"exec": ["pm2", "restart", "app"]})");
  const restart_config& restart = api.restart;
  EXPECT_EQ(restart.executor, restart_executor::docker);
  EXPECT_EQ(restart.command, (std::vector<std::string>{"pm2", "restart", "app"}));
  EXPECT_EQ(restart.user, "");
  EXPECT_TRUE(restart.env.empty());
  EXPECT_EQ(restart.working_dir, "");
  EXPECT_EQ(restart.container, "");
  EXPECT_EQ(restart.compose_project, "");
  EXPECT_EQ(restart.compose_service, "");
  EXPECT_EQ(restart.timeout, 15000ms);
  EXPECT_EQ(restart.backoff_initial, 1000ms);
  EXPECT_EQ(restart.backoff_max, 60000ms);
  EXPECT_DOUBLE_EQ(restart.backoff_multiplier, 2.0);
  EXPECT_EQ(restart.max_restarts, 6u);
  EXPECT_EQ(restart.window, 3600000ms);
  EXPECT_EQ(restart.escalate_after_failed, 0u);
  EXPECT_EQ(restart.escalate_stop_timeout, 10000ms);
  EXPECT_FALSE(restart.grace.has_value()) << "absent: the supervisor derives it";
}

TEST(ConfigRestart, ReadsEveryField) {
  service_config api = parse_service(probe + R"("restart": {
      "exec": ["supervisorctl", "restart", "web"], "executor": "docker", "user": "app",
      "env": ["A=1", "B="], "working_dir": "/srv", "container": "api-1",
      "compose_project": "shop", "compose_service": "web", "timeout": "30s",
      "backoff": {"initial": "2s", "max": "5m", "multiplier": 1.5},
      "max_restarts": 10, "window": "30m",
      "escalate": {"restart_container_after": 3, "stop_timeout": "20s"}})");
  const restart_config& restart = api.restart;
  EXPECT_EQ(restart.executor, restart_executor::docker);
  EXPECT_EQ(restart.command, (std::vector<std::string>{"supervisorctl", "restart", "web"}));
  EXPECT_EQ(restart.user, "app");
  EXPECT_EQ(restart.env, (std::vector<std::string>{"A=1", "B="}));
  EXPECT_EQ(restart.working_dir, "/srv");
  EXPECT_EQ(restart.container, "api-1");
  EXPECT_EQ(restart.compose_project, "shop");
  EXPECT_EQ(restart.compose_service, "web");
  EXPECT_EQ(restart.timeout, 30000ms);
  EXPECT_EQ(restart.backoff_initial, 2000ms);
  EXPECT_EQ(restart.backoff_max, 300000ms);
  EXPECT_DOUBLE_EQ(restart.backoff_multiplier, 1.5);
  EXPECT_EQ(restart.max_restarts, 10u);
  EXPECT_EQ(restart.window, 1800000ms);
  EXPECT_EQ(restart.escalate_after_failed, 3u);
  EXPECT_EQ(restart.escalate_stop_timeout, 20000ms);
}

TEST(ConfigRestart, ReadsTheGraceAsADuration) {
  EXPECT_EQ(parse_service(probe + R"("restart": {"exec": ["x"], "grace": "3s"})").restart.grace, 3000ms);
  EXPECT_EQ(parse_service(probe + R"("restart": {"exec": ["x"], "grace": 750})").restart.grace, 750ms);
  // Explicitly none: only health.start_period shields a restarted instance.
  EXPECT_EQ(parse_service(probe + R"("restart": {"exec": ["x"], "grace": 0})").restart.grace, 0ms);
}

TEST(ConfigRestart, RejectsAnInvalidGraceNamingItsPath) {
  EXPECT_TRUE(fails_with(service_with(probe + R"("restart": {"exec": ["x"], "grace": "soon"})"),
                         "services.api.restart.grace", "unparsable duration \"soon\""));
  EXPECT_TRUE(fails_with(service_with(probe + R"("restart": {"exec": ["x"], "grace": -1})"),
                         "services.api.restart.grace", "non-negative"));
  EXPECT_TRUE(fails_with(service_with(probe + R"("restart": {"exec": ["x"], "grace": true})"),
                         "services.api.restart.grace", "expected a string or a number"));
}

TEST(ConfigRestart, TheLocalExecutorRunsOnTheHost) {
  service_config api =
      parse_service(probe + R"("restart": {"exec": ["systemctl", "restart", "x"], "executor": "local"})");
  EXPECT_EQ(api.restart.executor, restart_executor::local);
}

TEST(ConfigRestart, RejectsAnUnknownExecutor) {
  EXPECT_TRUE(fails_with(service_with(probe + R"("restart": {"exec": ["x"], "executor": "ssh"})"),
                         "services.api.restart.executor", "unknown executor \"ssh\""));
}

TEST(ConfigRestart, RejectsARestartWithoutHealthAtTheRestartKey) {
  EXPECT_TRUE(fails_with(service_with(R"("restart": {"exec": ["pm2", "restart", "app"]})"),
                         "services.api.restart", "needs health checks"));
}

TEST(ConfigRestart, AcceptsRestartWrittenBeforeHealth) {
  // "restart" before "health" in the text: the check must not depend on the order.
  service_config api = parse_service(R"("restart": {"exec": ["x"]}, "health": {"tcp": true})");
  EXPECT_EQ(api.restart.executor, restart_executor::docker);
}

TEST(ConfigRestart, RejectsAMissingExec) {
  EXPECT_TRUE(fails_with(service_with(probe + R"("restart": {"executor": "docker"})"),
                         "services.api.restart", "missing required key \"exec\""));
}

TEST(ConfigRestart, RejectsAnEmptyExec) {
  EXPECT_TRUE(fails_with(service_with(probe + R"("restart": {"exec": []})"),
                         "services.api.restart.exec", "must name a command"));
  EXPECT_TRUE(fails_with(service_with(probe + R"("restart": {"exec": ["", "restart"]})"),
                         "services.api.restart.exec", "must name a command"));
}

TEST(ConfigRestart, RejectsAnExecThatIsNotAListOfStrings) {
  EXPECT_TRUE(fails_with(service_with(probe + R"("restart": {"exec": "pm2 restart app"})"),
                         "services.api.restart.exec", "expected an array"));
  EXPECT_TRUE(fails_with(service_with(probe + R"("restart": {"exec": ["pm2", 1]})"),
                         "services.api.restart.exec[1]", "expected a string"));
}

TEST(ConfigRestart, RejectsEscalationWithTheLocalExecutor) {
  EXPECT_TRUE(fails_with(service_with(probe + R"("restart": {"exec": ["x"], "executor": "local",
                             "escalate": {"restart_container_after": 2}})"),
                         "services.api.restart.escalate", "needs the docker executor"));
}

TEST(ConfigRestart, RejectsAnEnvEntryWithoutAnEqualsSignAtItsIndex) {
  EXPECT_TRUE(fails_with(service_with(probe + R"("restart": {"exec": ["x"], "env": ["A=1", "B"]})"),
                         "services.api.restart.env[1]", "expected NAME=value"));
}

TEST(ConfigRestart, RejectsABackoffMaximumBelowTheInitialDelay) {
  EXPECT_TRUE(fails_with(service_with(probe + R"("restart": {"exec": ["x"],
                             "backoff": {"initial": "10s", "max": "5s"}})"),
                         "services.api.restart.backoff", "max must not be below initial"));
}

TEST(ConfigRestart, RejectsAnInitialDelayAboveTheDefaultMaximum) {
  EXPECT_TRUE(fails_with(service_with(probe + R"("restart": {"exec": ["x"],
                             "backoff": {"initial": "2m"}})"),
                         "services.api.restart.backoff", "max must not be below initial"));
}

TEST(ConfigRestart, RejectsAMultiplierBelowOne) {
  EXPECT_TRUE(fails_with(service_with(probe + R"("restart": {"exec": ["x"],
                             "backoff": {"multiplier": 0.5}})"),
                         "services.api.restart.backoff.multiplier", "at least 1"));
  EXPECT_TRUE(fails_with(service_with(probe + R"("restart": {"exec": ["x"],
                             "backoff": {"multiplier": "2"}})"),
                         "services.api.restart.backoff.multiplier", "expected a number"));
}

TEST(ConfigRestart, AcceptsAMultiplierOfExactlyOne) {
  service_config api =
      parse_service(probe + R"("restart": {"exec": ["x"], "backoff": {"multiplier": 1}})");
  EXPECT_DOUBLE_EQ(api.restart.backoff_multiplier, 1.0);
}

TEST(ConfigRestart, RejectsAnUnknownKeyInsideRestartNamingItsPath) {
  EXPECT_TRUE(fails_with(service_with(probe + R"("restart": {"exec": ["x"], "retries": 3})"),
                         "services.api.restart.retries", "unknown key \"retries\""));
}

TEST(ConfigRestart, RejectsAnUnknownKeyInsideBackoffNamingItsPath) {
  EXPECT_TRUE(fails_with(service_with(probe + R"("restart": {"exec": ["x"], "backoff": {"factor": 2}})"),
                         "services.api.restart.backoff.factor", "unknown key \"factor\""));
}

TEST(ConfigRestart, RejectsAnUnknownKeyInsideEscalateNamingItsPath) {
  EXPECT_TRUE(fails_with(service_with(probe + R"("restart": {"exec": ["x"], "escalate": {"after": 2}})"),
                         "services.api.restart.escalate.after", "unknown key \"after\""));
}

TEST(ConfigRestart, RejectsZeroRestartsAZeroWindowAndAZeroTimeout) {
  EXPECT_TRUE(fails_with(service_with(probe + R"("restart": {"exec": ["x"], "max_restarts": 0})"),
                         "services.api.restart.max_restarts", "at least 1"));
  EXPECT_TRUE(fails_with(service_with(probe + R"("restart": {"exec": ["x"], "window": 0})"),
                         "services.api.restart.window", "greater than 0"));
  EXPECT_TRUE(fails_with(service_with(probe + R"("restart": {"exec": ["x"], "timeout": "0ms"})"),
                         "services.api.restart.timeout", "greater than 0"));
  EXPECT_TRUE(fails_with(service_with(probe + R"("restart": {"exec": ["x"],
                             "escalate": {"restart_container_after": 0}})"),
                         "services.api.restart.escalate.restart_container_after", "at least 1"));
}

// --- docker -------------------------------------------------------------------------

TEST(ConfigDocker, TheSocketDefaultsToEmpty) {
  EXPECT_EQ(parse("{}").docker.socket, "");
}

TEST(ConfigDocker, ReadsTheSocket) {
  config cfg = parse(R"({"docker": {"socket": "/run/user/1000/docker.sock"}})");
  EXPECT_EQ(cfg.docker.socket, "/run/user/1000/docker.sock");
}

TEST(ConfigDocker, RejectsAnUnknownKeyAndAWrongType) {
  EXPECT_TRUE(fails_with(R"({"docker": {"host": "unix:///x"}})", "docker.host", "unknown key \"host\""));
  EXPECT_TRUE(fails_with(R"({"docker": {"socket": 1}})", "docker.socket", "expected a string"));
  EXPECT_TRUE(fails_with(R"({"docker": "/var/run/docker.sock"})", "docker", "expected an object"));
}

}  // namespace
}  // namespace dockmaster::config
