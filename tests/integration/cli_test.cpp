// The command line of the real binary: --check-config, --version, --help, bad usage.

#include <gtest/gtest.h>

#include <regex>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <nlohmann/json.hpp>

#include "support/harness.hpp"

namespace dockmaster::test {
namespace {

using nlohmann::json;

/// Runs the binary with `args` to its end (at most `timeout`).
struct finished_run {
  std::optional<int> exit_code;
  std::string out;
  std::string err;
};

finished_run run_binary(std::vector<std::string> args,
                        std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
  args.insert(args.begin(), DOCKMASTER_BINARY);
  child_process process(args);
  finished_run result;
  if (process.wait_exit(timeout)) {
    result.exit_code = process.exit_code();
    process.wait_output_closed(std::chrono::seconds(5));
  }
  result.out = process.stdout_text();
  result.err = process.stderr_text();
  return result;
}

const char* valid_config = R"({
  "listen": "127.0.0.1:0",
  "services": {"backend": {"instances": ["127.0.0.1:8000", "backend.internal:8000"]},
               "frontend": {"instances": ["127.0.0.1:3000"]}},
  "routes": [{"prefix": "/api/", "service": "backend", "strip_prefix": true},
             {"prefix": "/", "service": "frontend"}],
  "timeouts": {"connect": "2s", "upstream_response": "30s"},
  "log": {"level": "warn", "format": "json"}
})";

TEST(Cli, CheckConfigOnAValidFileExits0) {
  temp_file file(valid_config);
  auto run = run_binary({"--check-config", file.path()});
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_NE(run.out.find("valid"), std::string::npos) << run.out;
}

TEST(Cli, CheckConfigOnABadAddressExitsNonZeroNamingTheKeyPath) {
  temp_file file(R"({"services": {"backend": {"instances": ["127.0.0.1:8000", "no-port-here"]}}})");
  auto run = run_binary({"--check-config", file.path()});
  ASSERT_TRUE(run.exit_code);
  EXPECT_NE(*run.exit_code, 0);
  EXPECT_NE(run.err.find("services.backend.instances[1]"), std::string::npos) << run.err;
}

TEST(Cli, CheckConfigOnAMisspeltKeyNamesIt) {
  temp_file file(R"({"timeouts": {"conect": "2s"}})");
  auto run = run_binary({"--check-config", file.path()});
  ASSERT_TRUE(run.exit_code);
  EXPECT_NE(*run.exit_code, 0);
  EXPECT_NE(run.err.find("timeouts.conect"), std::string::npos) << run.err;
}

TEST(Cli, CheckConfigOnARouteToAnUnknownServiceNamesTheRoute) {
  temp_file file(R"({"services": {"api": {"instances": ["127.0.0.1:1"]}},
                     "routes": [{"prefix": "/", "service": "api"}, {"prefix": "/x/", "service": "nope"}]})");
  auto run = run_binary({"--check-config", file.path()});
  ASSERT_TRUE(run.exit_code);
  EXPECT_NE(*run.exit_code, 0);
  EXPECT_NE(run.err.find("routes[1].service"), std::string::npos) << run.err;
}

TEST(Cli, CheckConfigOnInvalidJsonOrAMissingFileExitsNonZero) {
  temp_file broken(R"({"listen": )");
  auto run = run_binary({"--check-config", broken.path()});
  ASSERT_TRUE(run.exit_code);
  EXPECT_NE(*run.exit_code, 0);
  EXPECT_FALSE(run.err.empty());

  auto missing = run_binary({"--check-config", "/nonexistent/dockmaster.json"});
  ASSERT_TRUE(missing.exit_code);
  EXPECT_NE(*missing.exit_code, 0);
  EXPECT_NE(missing.err.find("/nonexistent/dockmaster.json"), std::string::npos) << missing.err;
}

TEST(Cli, ABadMaxClientConnectionsExitsNonZeroNamingTheKey) {
  temp_file file(R"({"listen": "127.0.0.1:0", "limits": {"max_client_connections": 0}})");
  auto checked = run_binary({"--check-config", file.path()});
  ASSERT_TRUE(checked.exit_code);
  EXPECT_NE(*checked.exit_code, 0);
  EXPECT_NE(checked.err.find("limits.max_client_connections: must be at least 1"), std::string::npos)
      << checked.err;
  auto run = run_binary({"--config", file.path()}, std::chrono::seconds(10));
  ASSERT_TRUE(run.exit_code) << "the binary kept running with an invalid limit";
  EXPECT_EQ(*run.exit_code, 2);
  EXPECT_NE(run.err.find("limits.max_client_connections"), std::string::npos) << run.err;
}

TEST(Cli, CheckConfigAgainstAnOldConfigPrintsWhatWouldChange) {
  temp_file old_file(valid_config);
  temp_file new_file(R"({
    "listen": "127.0.0.1:0",
    "services": {"backend": {"instances": ["127.0.0.1:8000", "127.0.0.1:8001"]},
                 "admin": {"instances": ["127.0.0.1:9000"]}},
    "routes": [{"prefix": "/api/", "service": "backend", "strip_prefix": true},
               {"prefix": "/admin/", "service": "admin"}],
    "actor_system": {"io_threads": 4},
    "log": {"level": "warn", "format": "json"}
  })");
  auto run = run_binary({"--check-config", new_file.path(), "--against", old_file.path()});
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(run.out, "dockmaster: " + new_file.path() + " is valid; changes from " + old_file.path() +
                         ":\n"
                         "route added: /admin/ -> admin\n"
                         "route removed: / -> frontend\n"
                         "service added: admin\n"
                         "service removed: frontend\n"
                         "service modified: backend (instances)\n"
                         "  instance added: 127.0.0.1:8001\n"
                         "  instance removed: backend.internal:8000\n"
                         "needs a restart: actor_system.io_threads: the I/O threads are started at "
                         "start (2 run, 4 configured)\n");

  auto same = run_binary({"--check-config", old_file.path(), "--against", old_file.path()});
  EXPECT_EQ(same.exit_code, 0) << same.err;
  EXPECT_NE(same.out.find("no changes"), std::string::npos) << same.out;
}

TEST(Cli, CheckConfigAgainstRejectsAnInvalidNewConfigNamingTheKey) {
  temp_file old_file(valid_config);
  temp_file new_file(R"({"services": {"backend": {"instances": ["no-port-here"]}}})");
  auto run = run_binary({"--check-config", new_file.path(), "--against", old_file.path()});
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_NE(run.err.find("services.backend.instances[0]"), std::string::npos) << run.err;
  EXPECT_TRUE(run.out.empty()) << run.out;
  // --against alone is a usage error.
  auto alone = run_binary({"--against", old_file.path()});
  EXPECT_EQ(alone.exit_code, 2);
}

TEST(Cli, VersionPrintsTheVersionAndExits0) {
  auto run = run_binary({"--version"});
  EXPECT_EQ(run.exit_code, 0);
  EXPECT_EQ(run.out, std::string("dockmaster ") + DOCKMASTER_VERSION + "\n");
}

TEST(Cli, HelpPrintsTheUsageAndExits0) {
  auto run = run_binary({"--help"});
  EXPECT_EQ(run.exit_code, 0);
  EXPECT_NE(run.out.find("usage: dockmaster"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("--check-config FILE"), std::string::npos);
  EXPECT_NE(run.out.find("--config FILE"), std::string::npos);
}

TEST(Cli, AnUnknownArgumentExitsNonZeroWithTheUsage) {
  auto run = run_binary({"--frobnicate"});
  ASSERT_TRUE(run.exit_code);
  EXPECT_NE(*run.exit_code, 0);
  EXPECT_NE(run.err.find("--frobnicate"), std::string::npos) << run.err;
  EXPECT_NE(run.err.find("usage:"), std::string::npos) << run.err;

  auto incomplete = run_binary({"--config"});
  ASSERT_TRUE(incomplete.exit_code);
  EXPECT_NE(*incomplete.exit_code, 0);
}

TEST(Cli, ConfigWithAnInvalidFileExitsNonZeroWithoutServing) {
  temp_file file(R"({"listen": "127.0.0.1:99999"})");
  auto run = run_binary({"--config", file.path()});
  ASSERT_TRUE(run.exit_code) << "the binary kept running with an invalid config";
  EXPECT_NE(*run.exit_code, 0);
  EXPECT_NE(run.err.find("listen"), std::string::npos) << run.err;
}

TEST(Cli, AListenAddressInUseExitsNonZeroNamingTheAddress) {
  boost::asio::io_context io;
  boost::asio::ip::tcp::acceptor taken(io, {boost::asio::ip::make_address("127.0.0.1"), 0});
  auto port = std::to_string(taken.local_endpoint().port());
  temp_file file(R"({"listen": "127.0.0.1:)" + port + R"(", "log": {"level": "info"}})");
  auto run = run_binary({"--config", file.path()}, std::chrono::seconds(10));
  ASSERT_TRUE(run.exit_code) << "the binary kept running although it could not listen; stderr:\n" << run.err;
  EXPECT_NE(*run.exit_code, 0);
  EXPECT_NE(run.err.find("127.0.0.1:" + port), std::string::npos) << run.err;
}

TEST(Cli, ListenOnTheCommandLineReplacesTheConfigsAddress) {
  // The config's own address is taken: only the --listen one can work.
  boost::asio::io_context io;
  boost::asio::ip::tcp::acceptor taken(io, {boost::asio::ip::make_address("127.0.0.1"), 0});
  auto port = std::to_string(taken.local_endpoint().port());
  temp_file file(R"({"listen": "127.0.0.1:)" + port + R"(", "log": {"level": "info"}})");
  child_process process({DOCKMASTER_BINARY, "--config", file.path(), "--listen", "127.0.0.1:0"});
  auto listening = process.wait_for_stderr(std::regex(R"(listening on http://127\.0\.0\.1:(\d+)/)"));
  ASSERT_TRUE(listening) << process.stderr_text();
  EXPECT_NE(*listening, port);
  EXPECT_TRUE(process.running());
}

TEST(Cli, ABadListenArgumentExitsNonZeroNamingIt) {
  temp_file file(valid_config);
  auto run = run_binary({"--listen", "127.0.0.1:http", "--check-config", file.path()});
  ASSERT_TRUE(run.exit_code);
  EXPECT_EQ(*run.exit_code, 2);
  EXPECT_NE(run.err.find("config error: --listen: \"127.0.0.1:http\""), std::string::npos) << run.err;
}

TEST(Cli, HealthCheckRefusesAConfigWithNeitherAdminListenerNorStatusPath) {
  temp_file file(R"({"listen": "127.0.0.1:9", "admin": {"listen": "", "status_path": ""}})");
  auto run = run_binary({"--health-check", "--config", file.path()}, std::chrono::seconds(10));
  ASSERT_TRUE(run.exit_code);
  EXPECT_EQ(*run.exit_code, 2) << run.out << run.err;
  EXPECT_NE(run.err.find("config error: admin: has neither a listener"), std::string::npos) << run.err;
}

TEST(Cli, HealthCheckExits0WhenTheRunningInstanceAnswersOnItsAdminListener) {
  dockmaster_process running(R"({"listen": "127.0.0.1:0", "log": {"level": "info"}})");
  ASSERT_NE(running.admin_port(), 0) << running.process().stderr_text();
  auto admin = std::to_string(running.admin_port());
  // The same config a container's HEALTHCHECK would use, with the actual admin port.
  temp_file file(R"({"admin": {"listen": "127.0.0.1:)" + admin + R"("}})");
  auto run = run_binary({"--health-check", "--config", file.path()}, std::chrono::seconds(10));
  EXPECT_EQ(run.exit_code, 0) << run.out << run.err;
  EXPECT_NE(run.out.find("/health: HTTP/1.1 200"), std::string::npos) << run.out;

  // A wildcard address is checked on loopback.
  auto wildcard = run_binary({"--health-check", "--admin-listen", "0.0.0.0:" + admin});
  EXPECT_EQ(wildcard.exit_code, 0) << wildcard.out << wildcard.err;
}

TEST(Cli, HealthCheckAsksThePublicStatusPathWhenTheAdminListenerIsOff) {
  dockmaster_process running(R"({"listen": "127.0.0.1:0", "admin": {"status_path": "/_dm/state"},
                                 "log": {"level": "info"}})");
  auto port = std::to_string(running.port());
  temp_file file(R"({"listen": "127.0.0.1:)" + port + R"(", "admin": {"listen": "", "status_path": "/_dm/state"}})");
  auto run = run_binary({"--health-check", "--config", file.path()}, std::chrono::seconds(10));
  EXPECT_EQ(run.exit_code, 0) << run.out << run.err;
  EXPECT_NE(run.out.find("/_dm/state: HTTP/1.1 200"), std::string::npos) << run.out;
}

TEST(Cli, HealthCheckExits1WhenNothingAnswersOrTheAnswerIsNot200) {
  refusing_port nothing;
  auto refused = run_binary({"--health-check", "--admin-listen", "127.0.0.1:" + std::to_string(nothing.port())});
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_NE(refused.out.find("unhealthy"), std::string::npos) << refused.out;

  // A dockmaster whose status path is elsewhere answers another path with 404 (no route).
  dockmaster_process running(R"({"listen": "127.0.0.1:0", "admin": {"status_path": "/_dm/state"},
                                 "routes": [], "services": {}, "log": {"level": "info"}})");
  temp_file file(R"({"admin": {"listen": "", "status_path": "/_dm/other"}})");
  auto other = run_binary({"--health-check", "--listen", "127.0.0.1:" + std::to_string(running.port()),
                           "--config", file.path()});
  EXPECT_EQ(other.exit_code, 1) << other.out << other.err;
  EXPECT_NE(other.out.find("404"), std::string::npos) << other.out;
}

}  // namespace
}  // namespace dockmaster::test
