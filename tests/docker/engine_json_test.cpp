// The Engine API's JSON answers read without a socket: the fields the manager uses,
// null taken as absent, a wrong type refused.

#include <stdexcept>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "docker/engine_json.hpp"

namespace dockmaster::docker {
namespace {

using json = nlohmann::json;

TEST(EngineJson, AnInspectAnswerGivesEveryFieldTheManagerUses) {
  const auto info = parse_container_inspect(json::parse(R"({
    "Id": "0123456789abcdef",
    "Name": "/stack-backend-1",
    "Created": "1970-01-01T00:00:02.5Z",
    "State": {"Status": "running", "Running": true, "StartedAt": "2026-11-28T05:49:21.123456789Z"},
    "Config": {"Hostname": "backendhost", "Tty": true,
               "Labels": {"com.docker.compose.service": "backend", "n": 3}},
    "HostConfig": {"NetworkMode": "stack_default"},
    "NetworkSettings": {"Networks": {"a": {"IPAddress": "172.18.0.5", "GlobalIPv6Address": "fd00::5"},
                                     "b": {"IPAddress": ""}}}
  })"));
  EXPECT_TRUE(info.tty) << "its logs are raw, not multiplexed";
  EXPECT_EQ(info.id, "0123456789abcdef");
  EXPECT_EQ(info.name, "stack-backend-1");
  EXPECT_EQ(info.created_unix_ms, 2500);
  EXPECT_EQ(info.state, "running");
  EXPECT_EQ(info.started_at, "2026-11-28T05:49:21.123456789Z");
  EXPECT_EQ(info.hostname, "backendhost");
  EXPECT_EQ(info.labels.at("com.docker.compose.service"), "backend");
  EXPECT_EQ(info.labels.at("n"), "3") << "a label that is not a string is kept as its JSON text";
  EXPECT_FALSE(info.host_network);
  EXPECT_EQ(info.addresses, (std::vector<std::string>{"172.18.0.5", "fd00::5"}));
}

TEST(EngineJson, AnInspectAnswerTakesNullAsAbsentAndRefusesAWrongType) {
  const auto info = parse_container_inspect(json::parse(
      R"({"Id": "x", "Name": null, "State": null, "Config": {"Labels": null},
          "HostConfig": {"NetworkMode": "host"}, "NetworkSettings": {"Networks": null}})"));
  EXPECT_EQ(info.name, "");
  EXPECT_TRUE(info.labels.empty());
  EXPECT_TRUE(info.host_network);
  EXPECT_TRUE(info.addresses.empty());
  EXPECT_FALSE(info.tty);

  EXPECT_THROW(parse_container_inspect(json::parse(R"([])")), std::invalid_argument);
  EXPECT_THROW(parse_container_inspect(json::parse(R"({"Name": "/a"})")), std::invalid_argument);
  EXPECT_THROW(parse_container_inspect(json::parse(R"({"Id": 7})")), std::invalid_argument);
  EXPECT_THROW(parse_container_inspect(json::parse(R"({"Id": "x", "Config": {"Labels": []}})")),
               std::invalid_argument);
  EXPECT_THROW(parse_container_inspect(json::parse(R"({"Id": "x", "Config": {"Tty": "yes"}})")),
               std::invalid_argument);
  EXPECT_THROW(parse_container_inspect(json::parse(
                   R"({"Id": "x", "NetworkSettings": {"Networks": {"n": {"IPAddress": 1}}}})")),
               std::invalid_argument);
}

TEST(EngineJson, AListEntryIsNamedByItsOwnNameNotALegacyLinkAlias) {
  const auto listed = parse_container_list(json::parse(R"([
    {"Id": "aaa", "Names": ["/web"], "State": "running", "Labels": {"app": "shop"},
     "HostConfig": {"NetworkMode": "host"}, "NetworkSettings": {"Networks": {"host": {"IPAddress": ""}}}},
    {"Id": "bbb", "Names": ["/web/db", 5, "/db"], "State": "running", "Labels": null,
     "NetworkSettings": {"Networks": {"bridge": {"IPAddress": "172.17.0.3"}}}}
  ])"));
  ASSERT_EQ(listed.size(), 2u);
  EXPECT_EQ(listed[0].name, "web");
  EXPECT_TRUE(listed[0].host_network);
  EXPECT_EQ(listed[0].labels.at("app"), "shop");
  EXPECT_EQ(listed[1].name, "db");
  EXPECT_EQ(listed[1].addresses, std::vector<std::string>{"172.17.0.3"});
  EXPECT_TRUE(parse_container_list(json::array()).empty());

  EXPECT_THROW(parse_container_list(json::parse(R"({})")), std::invalid_argument);
  EXPECT_THROW(parse_container_list(json::parse(R"([1])")), std::invalid_argument);
  EXPECT_THROW(parse_container_list(json::parse(R"([{"Names": ["/a"]}])")), std::invalid_argument);
  EXPECT_THROW(parse_container_list(json::parse(R"([{"Id": "a", "Names": "/a"}])")), std::invalid_argument);
  EXPECT_THROW(parse_container_list(json::parse(R"([{"Id": "a", "State": 1}])")), std::invalid_argument);
}

TEST(EngineJson, AnExecCreateAnswerGivesItsId) {
  EXPECT_EQ(parse_exec_created(json::parse(R"({"Id": "e1"})")), "e1");
  EXPECT_EQ(parse_exec_created(json::parse(R"({})")), "");
  EXPECT_EQ(parse_exec_created(json::parse(R"([])")), "");
  EXPECT_THROW(parse_exec_created(json::parse(R"({"Id": 1})")), std::invalid_argument);
}

TEST(EngineJson, AnExecInspectAnswerHasAnExitCodeOnlyOnceRecorded) {
  auto state = parse_exec_inspect(json::parse(R"({"Running": true, "ExitCode": null})"));
  EXPECT_TRUE(state.running);
  EXPECT_FALSE(state.exit_code);

  state = parse_exec_inspect(json::parse(R"({"Running": false, "ExitCode": null})"));
  EXPECT_FALSE(state.running);
  EXPECT_FALSE(state.exit_code) << "not recorded yet: the client keeps polling";

  state = parse_exec_inspect(json::parse(R"({"Running": false, "ExitCode": 3})"));
  EXPECT_FALSE(state.running);
  EXPECT_EQ(state.exit_code, 3);

  EXPECT_THROW(parse_exec_inspect(json::parse(R"({"ExitCode": 0})")), std::invalid_argument);
  EXPECT_THROW(parse_exec_inspect(json::parse(R"({"Running": "no"})")), std::invalid_argument);
  EXPECT_THROW(parse_exec_inspect(json::parse(R"({"Running": false, "ExitCode": 1.5})")),
               std::invalid_argument);
}

}  // namespace
}  // namespace dockmaster::docker
