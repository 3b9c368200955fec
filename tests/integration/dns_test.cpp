// DNS names as service instances: a name stands for all its addresses, and the
// addresses are resolved again every resolve_interval, so that the proxy follows
// them without a restart.
//
// Names under ".dockmaster.test" are answered by the test's own resolver
// (support/fake_dns.hpp), which is how a name's addresses change here without
// touching /etc/hosts. Upstreams listen on 127.0.0.2, 127.0.0.3, ... (all loopback).

#include <gtest/gtest.h>
#include <netdb.h>

#include "support/fake_dns.hpp"
#include "support/harness.hpp"
#include "support/http_client.hpp"
#include "support/test_upstream.hpp"
#include "support/wait.hpp"

namespace dockmaster::test {
namespace {

/// Two upstreams on the same port of two loopback addresses, as two replicas of a
/// compose service would be.
struct replicas {
  test_upstream a;
  test_upstream b;
  replicas() : a(test_upstream::options{"a", "127.0.0.2"}), b(options_for_b(a.port())) {}
  static test_upstream::options options_for_b(std::uint16_t port) {
    test_upstream::options o{"b", "127.0.0.3"};
    o.port = port;
    return o;
  }
};

config::config named_service(const std::string& name, std::uint16_t port,
                             std::chrono::milliseconds resolve_interval = std::chrono::milliseconds(100)) {
  auto cfg = make_config();
  add_service(cfg, "app", {name + ":" + std::to_string(port)}).resolve_interval = resolve_interval;
  add_route(cfg, "/", "app");
  return cfg;
}

std::string served_by(http_client& client, const std::string& target = "/") {
  try {
    auto r = client.get(target);
    if (r.result_int() != 200) return std::to_string(r.result_int());
    return std::string(r["X-Upstream"]);
  } catch (const std::exception& e) {
    return e.what();
  }
}

TEST(Dns, AServiceNameStandsForAllItsAddresses) {
  replicas up;
  const std::string name = "multi.dockmaster.test";
  fake_dns::set(name, {"127.0.0.3", "127.0.0.2"});
  in_process_proxy proxy(named_service(name, up.a.port(), std::chrono::seconds(60)));
  http_client client(proxy.port());

  for (int i = 0; i < 20; ++i) ASSERT_EQ(client.get("/r").result_int(), 200);
  EXPECT_GT(up.a.request_count(), 0u);
  EXPECT_GT(up.b.request_count(), 0u);
  EXPECT_EQ(up.a.request_count() + up.b.request_count(), 20u);
}

TEST(Dns, ANewAddressOfTheNameIsFollowedWithoutARestart) {
  replicas up;
  const std::string name = "moving.dockmaster.test";
  fake_dns::set(name, {"127.0.0.2"});
  in_process_proxy proxy(named_service(name, up.a.port()));
  http_client client(proxy.port());
  ASSERT_EQ(served_by(client), "a");

  fake_dns::set(name, {"127.0.0.3"});
  EXPECT_TRUE(wait_until([&] { return served_by(client) == "b"; }, std::chrono::seconds(5)));
  const auto a_before = up.a.request_count();
  for (int i = 0; i < 10; ++i) EXPECT_EQ(served_by(client), "b");
  EXPECT_EQ(up.a.request_count(), a_before);
}

TEST(Dns, IdlePooledConnectionsToAnAddressThatIsGoneAreClosed) {
  replicas up;
  const std::string name = "pooled.dockmaster.test";
  fake_dns::set(name, {"127.0.0.2"});
  in_process_proxy proxy(named_service(name, up.a.port()));
  http_client client(proxy.port());
  ASSERT_EQ(served_by(client), "a");
  ASSERT_EQ(up.a.open_connections(), 1u);  // pooled, idle

  fake_dns::set(name, {"127.0.0.3"});
  EXPECT_TRUE(wait_until([&] { return up.a.open_connections() == 0; }, std::chrono::seconds(5)));
}

TEST(Dns, AConnectionInUseWhenItsAddressGoesIsClosedAfterItsResponse) {
  replicas up;
  const std::string name = "busy.dockmaster.test";
  fake_dns::set(name, {"127.0.0.2"});
  auto cfg = named_service(name, up.a.port());
  cfg.actor_system.io_threads = 1;  // both clients on the one I/O thread
  in_process_proxy proxy(cfg);

  http_client slow(proxy.port());
  slow.send_raw("GET /slow?ms=1500 HTTP/1.1\r\nHost: test.local\r\n\r\n");
  ASSERT_TRUE(wait_until([&] { return up.a.count_requests("/slow") == 1 && up.a.in_flight() == 1; }));
  const auto slow_connection = up.a.requests().back().connection;

  fake_dns::set(name, {"127.0.0.3"});
  http_client client(proxy.port());
  ASSERT_TRUE(wait_until([&] { return served_by(client) == "b"; }, std::chrono::seconds(5)));
  // The address went away while the slow request was still using its connection.
  ASSERT_EQ(up.a.in_flight(), 1u) << "the slow request ended too early for this test";

  EXPECT_EQ(slow.read_response().result_int(), 200);
  // Its connection must not go back to the pool of an address that is gone.
  EXPECT_TRUE(wait_until([&] { return !up.a.connection_open(slow_connection); }, std::chrono::seconds(5)));
}

TEST(Dns, ANameThatStopsResolvingLeavesNoInstanceUntilItResolvesAgain) {
  replicas up;
  const std::string name = "flaky.dockmaster.test";
  fake_dns::set(name, {"127.0.0.2"});
  in_process_proxy proxy(named_service(name, up.a.port()));
  http_client client(proxy.port());
  ASSERT_EQ(served_by(client), "a");

  // The container is gone: its name no longer exists.
  fake_dns::fail(name, EAI_NONAME);
  EXPECT_TRUE(wait_until([&] { return served_by(client) == "503"; }, std::chrono::seconds(5)));

  // It is back (with a new address).
  fake_dns::set(name, {"127.0.0.3"});
  EXPECT_TRUE(wait_until([&] { return served_by(client) == "b"; }, std::chrono::seconds(5)));
}

TEST(Dns, AFailedLookupKeepsThePreviousAddresses) {
  replicas up;
  const std::string name = "resolver-down.dockmaster.test";
  fake_dns::set(name, {"127.0.0.2"});
  in_process_proxy proxy(named_service(name, up.a.port()));
  http_client client(proxy.port());
  ASSERT_EQ(served_by(client), "a");

  // The resolver itself fails (not "no such name"): the addresses it gave stay.
  fake_dns::fail(name, EAI_AGAIN);
  const auto lookups = fake_dns::lookups(name);
  ASSERT_TRUE(wait_until([&] { return fake_dns::lookups(name) >= lookups + 3; }, std::chrono::seconds(5)));
  for (int i = 0; i < 5; ++i) EXPECT_EQ(served_by(client), "a");
}

TEST(Dns, TheProxyRecoversWhenAnUpstreamBehindLocalhostRestartsOnTheSamePort) {
  // Real resolution of "localhost". This shows recovery without a restart of the
  // proxy; it would also pass without re-resolution (localhost never changes), which
  // the tests above cover.
  test_upstream upstream{"app"};
  in_process_proxy proxy(named_service("localhost", upstream.port()));
  http_client client(proxy.port());
  ASSERT_EQ(served_by(client), "app");

  upstream.stop();
  EXPECT_EQ(served_by(client), "502");
  upstream.start();
  EXPECT_TRUE(wait_until([&] { return served_by(client) == "app"; }, std::chrono::seconds(5)));
}

}  // namespace
}  // namespace dockmaster::test
