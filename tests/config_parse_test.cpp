#include <cstdio>
#include <fstream>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "config/parse.hpp"
#include "support/config_checks.hpp"

namespace dockmaster::config {
namespace {

using json = nlohmann::json;
using std::chrono::seconds;
using ::testing::HasSubstr;

config parse(const char* text) { return parse_config(json::parse(text)); }

using test::fails_with;

/// A file in the test temp dir, removed when the test ends.
class temp_file {
 public:
  explicit temp_file(const std::string& content)
      : name_(::testing::TempDir() + "dockmaster_config_" +
              ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".json") {
    std::ofstream(name_) << content;
  }
  ~temp_file() { std::remove(name_.c_str()); }
  const std::string& name() const { return name_; }

 private:
  std::string name_;
};

// --- defaults -----------------------------------------------------------------------

TEST(ConfigDefaults, AnEmptyObjectGivesTheEmbeddedDefaultConfig) {
  config cfg = parse("{}");
  ASSERT_EQ(cfg.listen.size(), 1u);
  EXPECT_EQ(cfg.listen[0].host, "0.0.0.0");
  EXPECT_EQ(cfg.listen[0].port, 8080);
  ASSERT_EQ(cfg.services.size(), 2u);
  EXPECT_EQ(cfg.services.at("backend").name, "backend");
  EXPECT_EQ(cfg.services.at("backend").instances[0].host, "127.0.0.1");
  EXPECT_EQ(cfg.services.at("backend").instances[0].port, 8000);
  EXPECT_EQ(cfg.services.at("frontend").instances[0].port, 3000);
  ASSERT_EQ(cfg.routes.size(), 2u);
  EXPECT_EQ(cfg.routes[0].prefix, "/api/");
  EXPECT_EQ(cfg.routes[0].service, "backend");
  EXPECT_FALSE(cfg.routes[0].strip_prefix);
  EXPECT_EQ(cfg.routes[1].prefix, "/");
  EXPECT_EQ(cfg.routes[1].service, "frontend");
}

TEST(ConfigDefaults, AnEmptyObjectKeepsTheStructDefaultsForEverythingElse) {
  config cfg = parse("{}");
  EXPECT_TRUE(cfg.cors.allow_origins.empty());
  EXPECT_EQ(cfg.cors.max_age, seconds(600));
  EXPECT_EQ(cfg.timeouts.connect, milliseconds(2000));
  EXPECT_EQ(cfg.timeouts.upstream_response, milliseconds(30000));
  EXPECT_EQ(cfg.timeouts.drain, milliseconds(10000));
  EXPECT_EQ(cfg.limits.max_header_bytes, 16u * 1024);
  EXPECT_EQ(cfg.actor_system.scheduler.policy, "sharing");
  EXPECT_EQ(cfg.actor_system.io_threads, 2u);
  EXPECT_EQ(cfg.log.level, "info");
  EXPECT_EQ(cfg.log.format, "text");
  EXPECT_TRUE(cfg.log.access_log);
}

TEST(ConfigDefaults, DefaultConfigMatchesAnEmptyDocument) {
  config cfg = default_config();
  config parsed = parse("{}");
  EXPECT_EQ(cfg.listen[0].port, parsed.listen[0].port);
  EXPECT_EQ(cfg.services.size(), parsed.services.size());
  EXPECT_EQ(cfg.routes.size(), parsed.routes.size());
}

TEST(ConfigDefaults, ServicesWithoutRoutesGetTheConventionalRoutesForServicesThatExist) {
  config cfg = parse(R"({"services": {"backend": {"instances": ["api:8000"]}}})");
  ASSERT_EQ(cfg.routes.size(), 1u);
  EXPECT_EQ(cfg.routes[0].prefix, "/api/");
  EXPECT_EQ(cfg.routes[0].service, "backend");
  EXPECT_EQ(cfg.services.count("frontend"), 0u);
}

TEST(ConfigDefaults, ServicesWithoutBackendOrFrontendGiveAnEmptyRouteTable) {
  config cfg = parse(R"({"services": {"other": {"instances": ["other:80"]}}})");
  EXPECT_TRUE(cfg.routes.empty());
}

TEST(ConfigDefaults, AnExplicitEmptyRouteListStaysEmpty) {
  config cfg = parse(R"({"routes": [], "services": {"backend": {"instances": ["a:1"]}}})");
  EXPECT_TRUE(cfg.routes.empty());
}

// --- a full valid config --------------------------------------------------------------

TEST(ConfigParse, AFullValidConfigIsReadIntoEveryField) {
  config cfg = parse(R"({
    "listen": ["0.0.0.0:8080", "[::1]:0"],
    "routes": [
      {"prefix": "/api/", "service": "backend", "host": "Example.COM", "strip_prefix": true},
      {"prefix": "/", "service": "frontend"}
    ],
    "cors": {"allow_origins": ["https://app.example.com"], "allow_methods": ["GET"],
             "allow_headers": ["X-A"], "expose_headers": ["X-B"],
             "allow_credentials": true, "max_age": "1.5m"},
    "services": {
      "backend": {"instances": ["backend:8000", "10.0.0.1:80"], "balance": "least_conn",
                  "resolve_interval": "1s"},
      "frontend": {"instances": ["frontend:3000"], "balance": "round_robin"}
    },
    "timeouts": {"connect": "1s", "upstream_response": 2500, "client_header": "3s",
                 "client_idle": "1m", "upstream_idle": "2m", "drain": "500ms"},
    "limits": {"max_header_bytes": 8192, "max_body_bytes": 0,
               "max_idle_upstream_connections": 4},
    "actor_system": {"scheduler": {"policy": "sharing", "max_threads": 4,
                                   "max_throughput": 10},
                     "io_threads": 3},
    "log": {"level": "debug", "format": "json", "access_log": false}
  })");

  ASSERT_EQ(cfg.listen.size(), 2u);
  EXPECT_EQ(cfg.listen[1].host, "::1");
  EXPECT_EQ(cfg.listen[1].port, 0);

  ASSERT_EQ(cfg.routes.size(), 2u);
  EXPECT_EQ(cfg.routes[0].host, "example.com");
  EXPECT_TRUE(cfg.routes[0].strip_prefix);
  EXPECT_EQ(cfg.routes[1].host, "");

  EXPECT_EQ(cfg.cors.allow_origins, std::vector<std::string>{"https://app.example.com"});
  EXPECT_EQ(cfg.cors.allow_methods, std::vector<std::string>{"GET"});
  EXPECT_EQ(cfg.cors.allow_headers, std::vector<std::string>{"X-A"});
  EXPECT_EQ(cfg.cors.expose_headers, std::vector<std::string>{"X-B"});
  EXPECT_TRUE(cfg.cors.allow_credentials);
  EXPECT_EQ(cfg.cors.max_age, seconds(90));

  const service_config& backend = cfg.services.at("backend");
  EXPECT_EQ(backend.name, "backend");
  ASSERT_EQ(backend.instances.size(), 2u);
  EXPECT_EQ(backend.instances[0].host, "backend");
  EXPECT_EQ(backend.instances[1].host, "10.0.0.1");
  EXPECT_EQ(backend.instances[1].port, 80);
  EXPECT_EQ(backend.balance, balance_policy::least_conn);
  EXPECT_EQ(backend.resolve_interval, milliseconds(1000));
  EXPECT_EQ(cfg.services.at("frontend").balance, balance_policy::round_robin);

  EXPECT_EQ(cfg.timeouts.connect, milliseconds(1000));
  EXPECT_EQ(cfg.timeouts.upstream_response, milliseconds(2500));
  EXPECT_EQ(cfg.timeouts.client_header, milliseconds(3000));
  EXPECT_EQ(cfg.timeouts.client_idle, milliseconds(60000));
  EXPECT_EQ(cfg.timeouts.upstream_idle, milliseconds(120000));
  EXPECT_EQ(cfg.timeouts.drain, milliseconds(500));

  EXPECT_EQ(cfg.limits.max_header_bytes, 8192u);
  EXPECT_EQ(cfg.limits.max_body_bytes, 0u);
  EXPECT_EQ(cfg.limits.max_idle_upstream_connections, 4u);

  EXPECT_EQ(cfg.actor_system.scheduler.policy, "sharing");
  EXPECT_EQ(cfg.actor_system.scheduler.max_threads, 4u);
  EXPECT_EQ(cfg.actor_system.scheduler.max_throughput, 10u);
  EXPECT_EQ(cfg.actor_system.io_threads, 3u);

  EXPECT_EQ(cfg.log.level, "debug");
  EXPECT_EQ(cfg.log.format, "json");
  EXPECT_FALSE(cfg.log.access_log);
}

TEST(ConfigParse, ListenAcceptsASingleString) {
  config cfg = parse(R"({"listen": "127.0.0.1:0"})");
  ASSERT_EQ(cfg.listen.size(), 1u);
  EXPECT_EQ(cfg.listen[0].host, "127.0.0.1");
  EXPECT_EQ(cfg.listen[0].port, 0);
}

TEST(ConfigParse, ADocumentBuiltInCodeWithSignedIntegersIsAccepted) {
  config cfg = parse_config(json{{"limits", {{"max_body_bytes", 5}}}, {"timeouts", {{"drain", 7}}}});
  EXPECT_EQ(cfg.limits.max_body_bytes, 5u);
  EXPECT_EQ(cfg.timeouts.drain, milliseconds(7));
}

TEST(ConfigParse, StarOriginWithoutCredentialsIsAllowed) {
  config cfg = parse(R"({"cors": {"allow_origins": ["*"], "allow_credentials": false}})");
  EXPECT_EQ(cfg.cors.allow_origins, std::vector<std::string>{"*"});
}

TEST(ConfigParse, TheAdminListenerIsOnLoopbackByDefaultAndTheEmptyStringTurnsItOff) {
  config defaults = parse("{}");
  ASSERT_TRUE(defaults.admin.listen);
  EXPECT_EQ(defaults.admin.listen->host, "127.0.0.1");
  EXPECT_EQ(defaults.admin.listen->port, 9901);
  EXPECT_EQ(defaults.admin.status_path, "") << "the public status path is off by default";
  EXPECT_FALSE(parse(R"({"admin": {"listen": ""}})").admin.listen);
  config set = parse(R"({"admin": {"listen": "0.0.0.0:9100", "token": "t"}})");
  EXPECT_EQ(set.admin.listen->port, 9100);
  EXPECT_EQ(set.admin.token, "t");
}

TEST(ConfigErrors, ABadAdminAddressNamesItsKey) {
  EXPECT_TRUE(fails_with(R"({"admin": {"listen": "localhost"}})", "admin.listen", "unparsable address"));
  EXPECT_TRUE(fails_with(R"({"admin": {"port": 1}})", "admin.port", "unknown key"));
}

// --- error messages -------------------------------------------------------------------

TEST(ConfigErrors, WhatIsThePathFollowedByTheProblem) {
  config_error error("services.backend.instances[1]", "unparsable address \"x:y\": port is not a number");
  EXPECT_STREQ(error.what(),
               "services.backend.instances[1]: unparsable address \"x:y\": port is not a number");
}

TEST(ConfigErrors, WhatIsJustTheProblemWhenThePathIsEmpty) {
  EXPECT_STREQ(config_error("", "cannot read x").what(), "cannot read x");
}

TEST(ConfigErrors, AnUnknownTopLevelKeyIsNamed) {
  EXPECT_TRUE(fails_with(R"({"listne": "0.0.0.0:80"})", "listne", "unknown key \"listne\""));
}

TEST(ConfigErrors, AnUnknownKeyInsideAServiceIsNamedWithItsFullPath) {
  EXPECT_TRUE(fails_with(R"({"services": {"backend": {"instances": ["a:1"], "weight": 2}}})",
                         "services.backend.weight", "unknown key \"weight\""));
}

TEST(ConfigErrors, AnUnknownKeyInTimeoutsIsNamed) {
  EXPECT_TRUE(fails_with(R"({"timeouts": {"read": "1s"}})", "timeouts.read", "unknown key"));
}

TEST(ConfigErrors, AnUnknownKeyInARouteIsNamedWithItsIndex) {
  EXPECT_TRUE(fails_with(R"({"routes": [{"prefix": "/", "service": "backend", "x": 1}]})",
                         "routes[0].x", "unknown key"));
}

TEST(ConfigErrors, AnUnknownKeyInTheSchedulerIsNamed) {
  EXPECT_TRUE(fails_with(R"({"actor_system": {"scheduler": {"threads": 2}}})",
                         "actor_system.scheduler.threads", "unknown key"));
}

TEST(ConfigErrors, TheUnknownKeyMessageListsTheKnownKeys) {
  EXPECT_TRUE(fails_with(R"({"log": {"lvl": "info"}})", "log.lvl", "level, format, access_log"));
}

TEST(ConfigErrors, ADocumentThatIsNotAnObjectIsATypeError) {
  EXPECT_TRUE(fails_with("[]", "", "expected an object, got array"));
}

TEST(ConfigErrors, ANumberWhereAStringIsExpectedIsATypeError) {
  EXPECT_TRUE(fails_with(R"({"log": {"level": 3}})", "log.level", "expected a string, got number"));
}

TEST(ConfigErrors, AStringWhereABooleanIsExpectedIsATypeError) {
  EXPECT_TRUE(fails_with(R"({"log": {"access_log": "yes"}})", "log.access_log",
                         "expected a boolean, got string"));
}

TEST(ConfigErrors, AnArrayWhereAnObjectIsExpectedIsATypeError) {
  EXPECT_TRUE(fails_with(R"({"timeouts": []})", "timeouts", "expected an object, got array"));
}

TEST(ConfigErrors, AStringWhereAnIntegerIsExpectedIsATypeError) {
  EXPECT_TRUE(fails_with(R"({"limits": {"max_body_bytes": "1MB"}})", "limits.max_body_bytes",
                         "expected a non-negative integer, got string"));
}

TEST(ConfigErrors, ANegativeIntegerIsRejected) {
  EXPECT_TRUE(fails_with(R"({"limits": {"max_body_bytes": -1}})", "limits.max_body_bytes",
                         "expected a non-negative integer, got -1"));
}

TEST(ConfigParse, MaxClientConnectionsIsReadAndLeftOutMeansDerived) {
  EXPECT_EQ(parse(R"({"limits": {"max_client_connections": 500}})").limits.max_client_connections, 500u);
  EXPECT_EQ(parse("{}").limits.max_client_connections, 0u);
}

TEST(ConfigErrors, ABadMaxClientConnectionsIsNamed) {
  EXPECT_TRUE(fails_with(R"({"limits": {"max_client_connections": 0}})", "limits.max_client_connections",
                         "must be at least 1"));
  EXPECT_TRUE(fails_with(R"({"limits": {"max_client_connections": -5}})", "limits.max_client_connections",
                         "expected a non-negative integer, got -5"));
  EXPECT_TRUE(fails_with(R"({"limits": {"max_client_connections": "many"}})",
                         "limits.max_client_connections", "expected a non-negative integer, got string"));
  EXPECT_TRUE(fails_with(R"({"limits": {"max_client_connections": 1.5}})", "limits.max_client_connections",
                         "expected a non-negative integer, got 1.5"));
  EXPECT_TRUE(fails_with(R"({"limits": {"max_client_connections": 20000000}})",
                         "limits.max_client_connections", "must be at most 10000000"));
}

TEST(ConfigErrors, AWrongTypeInsideAnArrayNamesTheElement) {
  EXPECT_TRUE(fails_with(R"({"cors": {"allow_methods": ["GET", 7]}})", "cors.allow_methods[1]",
                         "expected a string, got number"));
}

TEST(ConfigErrors, ListenMustBeAStringOrAnArray) {
  EXPECT_TRUE(fails_with(R"({"listen": 8080})", "listen", "expected a string or an array, got number"));
}

TEST(ConfigErrors, AnEmptyListenListIsRejected) {
  EXPECT_TRUE(fails_with(R"({"listen": []})", "listen", "at least one address"));
}

TEST(ConfigErrors, ARouteToAnUnknownServiceIsNamed) {
  EXPECT_TRUE(fails_with(R"({"routes": [{"prefix": "/", "service": "nope"}],
                             "services": {"backend": {"instances": ["a:1"]}}})",
                         "routes[0].service", "unknown service \"nope\""));
}

TEST(ConfigErrors, RoutesWithoutServicesReferToNoService) {
  EXPECT_TRUE(fails_with(R"({"routes": [{"prefix": "/", "service": "backend"}]})",
                         "routes[0].service", "unknown service \"backend\""));
}

TEST(ConfigErrors, ARouteWithoutServiceIsRejected) {
  EXPECT_TRUE(fails_with(R"({"routes": [{"prefix": "/"}]})", "routes[0]",
                         "missing required key \"service\""));
}

TEST(ConfigErrors, ARouteWithoutPrefixIsRejected) {
  EXPECT_TRUE(fails_with(R"({"routes": [{"service": "backend"}]})", "routes[0]",
                         "missing required key \"prefix\""));
}

TEST(ConfigErrors, ARoutePrefixMustStartWithASlash) {
  EXPECT_TRUE(fails_with(R"({"routes": [{"prefix": "api/", "service": "backend"}]})",
                         "routes[0].prefix", "must start with '/'"));
}

TEST(ConfigErrors, ADuplicateRouteIsNamedWithTheRouteItRepeats) {
  EXPECT_TRUE(fails_with(R"({"routes": [{"prefix": "/a/", "service": "s", "host": "x.com"},
                                         {"prefix": "/b/", "service": "s"},
                                         {"prefix": "/a/", "service": "s", "host": "X.com"}],
                             "services": {"s": {"instances": ["a:1"]}}})",
                         "routes[2]", "duplicate route: same prefix \"/a/\" and host \"x.com\" as routes[0]"));
}

TEST(ConfigErrors, TheSamePrefixOnDifferentHostsIsNotADuplicate) {
  EXPECT_NO_THROW(parse(R"({"routes": [{"prefix": "/", "service": "s", "host": "a.com"},
                                        {"prefix": "/", "service": "s"}],
                            "services": {"s": {"instances": ["a:1"]}}})"));
}

TEST(ConfigErrors, AnUnparsableInstanceAddressNamesTheInstance) {
  EXPECT_TRUE(fails_with(R"({"services": {"backend": {"instances": ["a:1", "x:y"]}}})",
                         "services.backend.instances[1]",
                         "unparsable address \"x:y\": port is not a number"));
}

TEST(ConfigErrors, AnUnparsableListenAddressNamesIt) {
  EXPECT_TRUE(fails_with(R"({"listen": ["0.0.0.0:80", ":80"]})", "listen[1]", "empty host"));
}

TEST(ConfigErrors, AnInstanceOnPortZeroIsRejected) {
  EXPECT_TRUE(fails_with(R"({"services": {"backend": {"instances": ["a:0"]}}})",
                         "services.backend.instances[0]", "port 0"));
}

TEST(ConfigErrors, AServiceWithoutInstancesIsRejected) {
  EXPECT_TRUE(fails_with(R"({"services": {"backend": {"instances": []}}})",
                         "services.backend.instances", "at least one instance"));
  EXPECT_TRUE(fails_with(R"({"services": {"backend": {}}})", "services.backend",
                         "missing required key \"instances\""));
}

TEST(ConfigErrors, AnUnknownBalancePolicyIsNamed) {
  EXPECT_TRUE(fails_with(R"({"services": {"b": {"instances": ["a:1"], "balance": "random"}}})",
                         "services.b.balance", "unknown balance policy \"random\""));
}

TEST(ConfigErrors, AnUnparsableDurationIsNamedWithAnExample) {
  EXPECT_TRUE(fails_with(R"({"timeouts": {"connect": "abc"}})", "timeouts.connect",
                         "unparsable duration \"abc\" (use e.g. \"500ms\", \"2s\", \"1m\")"));
}

TEST(ConfigErrors, AnUnparsableResolveIntervalNamesTheService) {
  EXPECT_TRUE(fails_with(R"({"services": {"b": {"instances": ["a:1"], "resolve_interval": "5"}}})",
                         "services.b.resolve_interval", "unparsable duration \"5\""));
}

TEST(ConfigErrors, AZeroTimeoutIsRejected) {
  EXPECT_TRUE(fails_with(R"({"timeouts": {"drain": 0}})", "timeouts.drain", "greater than 0"));
  EXPECT_TRUE(fails_with(R"({"timeouts": {"connect": "0s"}})", "timeouts.connect",
                         "greater than 0"));
}

TEST(ConfigErrors, AnUnparsableCorsMaxAgeIsNamed) {
  EXPECT_TRUE(fails_with(R"({"cors": {"max_age": "ten minutes"}})", "cors.max_age",
                         "unparsable duration"));
}

TEST(ConfigErrors, AnUnknownLogLevelIsNamed) {
  EXPECT_TRUE(fails_with(R"({"log": {"level": "verbose"}})", "log.level",
                         "unknown log level \"verbose\""));
}

TEST(ConfigErrors, AnUnknownLogFormatIsNamed) {
  EXPECT_TRUE(fails_with(R"({"log": {"format": "xml"}})", "log.format", "unknown log format"));
}

TEST(ConfigErrors, AnUnknownSchedulerPolicyIsNamed) {
  EXPECT_TRUE(fails_with(R"({"actor_system": {"scheduler": {"policy": "fifo"}}})",
                         "actor_system.scheduler.policy", "unknown scheduler policy \"fifo\""));
}

TEST(ConfigErrors, ThreadAndThroughputCountsMustBeAtLeastOne) {
  EXPECT_TRUE(fails_with(R"({"actor_system": {"scheduler": {"max_threads": 0}}})",
                         "actor_system.scheduler.max_threads", "at least 1"));
  EXPECT_TRUE(fails_with(R"({"actor_system": {"scheduler": {"max_throughput": 0}}})",
                         "actor_system.scheduler.max_throughput", "at least 1"));
  EXPECT_TRUE(fails_with(R"({"actor_system": {"io_threads": 0}})", "actor_system.io_threads",
                         "at least 1"));
}

TEST(ConfigErrors, MoreThanSixtyFourIoThreadsIsRejected) {
  EXPECT_TRUE(fails_with(R"({"actor_system": {"io_threads": 65}})", "actor_system.io_threads",
                         "at most 64"));
  EXPECT_NO_THROW(parse(R"({"actor_system": {"io_threads": 64}})"));
}

TEST(ConfigErrors, AStarOriginWithCredentialsIsRejected) {
  EXPECT_TRUE(fails_with(R"({"cors": {"allow_origins": ["https://a.com", "*"],
                                      "allow_credentials": true}})",
                         "cors.allow_credentials", "\"*\""));
}

// --- files ----------------------------------------------------------------------------

TEST(ConfigFile, AValidFileIsParsed) {
  temp_file file(R"({"listen": "127.0.0.1:9000"})");
  config cfg = load_config_file(file.name());
  EXPECT_EQ(cfg.listen[0].port, 9000);
}

TEST(ConfigFile, AMissingFileIsAnErrorWithTheSystemReason) {
  try {
    load_config_file("/nonexistent/dockmaster.json");
    FAIL() << "no error";
  } catch (const config_error& e) {
    EXPECT_EQ(e.path(), "");
    EXPECT_EQ(e.problem(), "cannot read /nonexistent/dockmaster.json: No such file or directory");
  }
}

TEST(ConfigFile, ADirectoryCannotBeReadAsAFile) {
  try {
    load_config_file(::testing::TempDir());
    FAIL() << "no error";
  } catch (const config_error& e) {
    EXPECT_EQ(e.path(), "");
    EXPECT_THAT(e.problem(), HasSubstr("cannot read"));
  }
}

TEST(ConfigFile, AJsonSyntaxErrorGivesLineAndColumn) {
  temp_file file("{\n  \"listen\": \"0.0.0.0:80\",\n}\n");
  try {
    load_config_file(file.name());
    FAIL() << "no error";
  } catch (const config_error& e) {
    EXPECT_EQ(e.path(), "");
    EXPECT_THAT(e.problem(), HasSubstr(file.name()));
    EXPECT_THAT(e.problem(), HasSubstr("line 3, column 1"));
  }
}

TEST(ConfigFile, ASchemaErrorInAFileKeepsItsPath) {
  temp_file file(R"({"log": {"level": "loud"}})");
  try {
    load_config_file(file.name());
    FAIL() << "no error";
  } catch (const config_error& e) {
    EXPECT_EQ(e.path(), "log.level");
  }
}

// --- addresses ------------------------------------------------------------------------

TEST(ConfigAddress, AHostAndPortAreSplitAtTheLastColon) {
  host_port address = parse_host_port("backend.internal:8000");
  EXPECT_EQ(address.host, "backend.internal");
  EXPECT_EQ(address.port, 8000);
}

TEST(ConfigAddress, AnIpv6LiteralInBracketsIsStoredWithoutBrackets) {
  host_port address = parse_host_port("[2001:db8::1]:443");
  EXPECT_EQ(address.host, "2001:db8::1");
  EXPECT_EQ(address.port, 443);
  EXPECT_EQ(parse_host_port("[::1]:0").host, "::1");
}

TEST(ConfigAddress, PortsZeroAndMaximumAreAccepted) {
  EXPECT_EQ(parse_host_port("a:0").port, 0);
  EXPECT_EQ(parse_host_port("a:65535").port, 65535);
}

TEST(ConfigAddress, MalformedAddressesAreRejectedWithAReason) {
  auto reason = [](const std::string& text) {
    try {
      parse_host_port(text);
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  EXPECT_EQ(reason("x:y"), "unparsable address \"x:y\": port is not a number");
  EXPECT_THAT(reason("host"), HasSubstr("expected host:port"));
  EXPECT_THAT(reason("host:"), HasSubstr("port is not a number"));
  EXPECT_THAT(reason("host:+80"), HasSubstr("port is not a number"));
  EXPECT_THAT(reason(":80"), HasSubstr("empty host"));
  EXPECT_THAT(reason("[]:80"), HasSubstr("empty host"));
  EXPECT_THAT(reason("a:65536"), HasSubstr("out of range"));
  EXPECT_THAT(reason("a:99999999999999999999"), HasSubstr("out of range"));
  EXPECT_THAT(reason("::1:80"), HasSubstr("needs brackets"));
  EXPECT_THAT(reason("[::1:80"), HasSubstr("missing ']'"));
  EXPECT_THAT(reason("[::1]80"), HasSubstr("expected ':port'"));
  EXPECT_THAT(reason("[::1]"), HasSubstr("expected ':port'"));
}

// --- durations ------------------------------------------------------------------------

TEST(ConfigDuration, ANumberIsMilliseconds) {
  EXPECT_EQ(parse_duration(json(250)), milliseconds(250));
  EXPECT_EQ(parse_duration(json(0)), milliseconds(0));
}

TEST(ConfigDuration, EveryUnitIsUnderstood) {
  EXPECT_EQ(parse_duration(json("500ms")), milliseconds(500));
  EXPECT_EQ(parse_duration(json("2s")), milliseconds(2000));
  EXPECT_EQ(parse_duration(json("1m")), milliseconds(60000));
  EXPECT_EQ(parse_duration(json("1h")), milliseconds(3600000));
}

TEST(ConfigDuration, DecimalsAreAllowed) {
  EXPECT_EQ(parse_duration(json("1.5s")), milliseconds(1500));
  EXPECT_EQ(parse_duration(json("0.1s")), milliseconds(100));
  EXPECT_EQ(parse_duration(json("0.25h")), milliseconds(900000));
}

TEST(ConfigDuration, MalformedStringsAreUnparsable) {
  for (const char* text : {"abc", "", "5", "s", "1.s", ".5s", "-1s", "1 s", "1sec", "1.5.2s", "1S"}) {
    try {
      parse_duration(json(text));
      ADD_FAILURE() << "accepted \"" << text << "\"";
    } catch (const std::invalid_argument& e) {
      EXPECT_EQ(e.what(), "unparsable duration \"" + std::string(text) +
                              "\" (use e.g. \"500ms\", \"2s\", \"1m\")");
    }
  }
}

TEST(ConfigDuration, NegativeOrFractionalNumbersAreRejected) {
  EXPECT_THROW(parse_duration(json(-5)), std::invalid_argument);
  EXPECT_THROW(parse_duration(json(1.5)), std::invalid_argument);
}

TEST(ConfigDuration, OtherTypesAreRejected) {
  EXPECT_THROW(parse_duration(json(true)), std::invalid_argument);
  EXPECT_THROW(parse_duration(json::array()), std::invalid_argument);
}

TEST(ConfigDuration, AbsurdlyLargeDurationsAreRejectedBeforeTheyOverflow) {
  EXPECT_THROW(parse_duration(json("99999999999999999999h")), std::invalid_argument);
  EXPECT_THROW(parse_duration(json(18446744073709551615ull)), std::invalid_argument);
  EXPECT_EQ(parse_duration(json("8760h")), std::chrono::hours(8760));
}

TEST(ConfigDuration, CorsMaxAgeIsRoundedDownToSeconds) {
  EXPECT_EQ(parse(R"({"cors": {"max_age": 1999}})").cors.max_age, seconds(1));
  EXPECT_EQ(parse(R"({"cors": {"max_age": "10m"}})").cors.max_age, seconds(600));
}

}  // namespace
}  // namespace dockmaster::config
