// Balancing and instance updates of an I/O worker, without sockets; and what its
// connections hold while they are idle, with real ones on loopback.

#include <gtest/gtest.h>

#include <future>
#include <map>
#include <thread>

#include "config/parse.hpp"
#include "net/proxy_worker.hpp"
#include "support/http_client.hpp"
#include "support/wait.hpp"

namespace dockmaster::net {
namespace {

using boost::asio::ip::make_address;
using boost::asio::ip::tcp;

class ProxyWorkerBalancing : public ::testing::Test {
 protected:
  void start(config::balance_policy balance, int instances) {
    auto cfg = config::default_config();
    cfg.services["backend"].balance = balance;
    worker_ = std::make_unique<proxy_worker>(std::make_shared<const proxy_settings>(cfg));
    service_update update{"backend", {}};
    for (int i = 0; i < instances; ++i) update.targets.push_back(target(i, true));
    apply(update);
  }

  static upstream_target target(int i, bool healthy) {
    return {"backend:8000", tcp::endpoint(make_address("127.0.0." + std::to_string(i + 1)), 8000),
            healthy, 0};
  }

  void apply(service_update update) {
    worker_->update_service(std::move(update));
    worker_->io().restart();
    worker_->io().poll();  // runs the posted update on this thread
  }

  std::shared_ptr<upstream_target> pick(const std::vector<std::shared_ptr<upstream_target>>& exclude = {}) {
    return worker_->pick("backend", exclude);
  }

  std::unique_ptr<proxy_worker> worker_;
};

TEST_F(ProxyWorkerBalancing, RoundRobinVisitsEveryInstanceInTurn) {
  start(config::balance_policy::round_robin, 3);
  std::map<std::string, int> picks;
  for (int i = 0; i < 300; ++i) ++picks[pick()->endpoint.address().to_string()];
  ASSERT_EQ(picks.size(), 3u);
  for (const auto& [address, count] : picks) EXPECT_EQ(count, 100) << address;
}

TEST_F(ProxyWorkerBalancing, RoundRobinNeverPicksTheSameInstanceTwiceInARow) {
  start(config::balance_policy::round_robin, 2);
  auto previous = pick();
  for (int i = 0; i < 10; ++i) {
    auto next = pick();
    EXPECT_NE(next, previous);
    previous = next;
  }
}

TEST_F(ProxyWorkerBalancing, LeastConnPicksTheInstanceWithFewestRequestsInFlight) {
  start(config::balance_policy::least_conn, 3);
  auto busy = pick();
  busy->active_requests = 5;
  auto other = pick();
  other->active_requests = 2;
  for (int i = 0; i < 10; ++i) {
    auto chosen = pick();
    EXPECT_NE(chosen, busy);
    EXPECT_NE(chosen, other);
    EXPECT_EQ(chosen->active_requests, 0u);
  }
}

TEST_F(ProxyWorkerBalancing, LeastConnStillRotatesWhenLoadIsEqual) {
  start(config::balance_policy::least_conn, 3);
  std::map<std::string, int> picks;
  for (int i = 0; i < 30; ++i) ++picks[pick()->endpoint.address().to_string()];
  EXPECT_EQ(picks.size(), 3u);
}

TEST_F(ProxyWorkerBalancing, ExcludedInstancesAreSkippedForRetries) {
  start(config::balance_policy::round_robin, 2);
  auto first = pick();
  for (int i = 0; i < 5; ++i) EXPECT_NE(pick({first}), first);
  auto second = pick({first});
  EXPECT_EQ(pick({first, second}), nullptr);
}

TEST_F(ProxyWorkerBalancing, UnhealthyInstancesGetNoTraffic) {
  start(config::balance_policy::round_robin, 1);
  apply({"backend", {target(0, false), target(1, true)}});
  for (int i = 0; i < 10; ++i) EXPECT_EQ(pick()->endpoint.address().to_string(), "127.0.0.2");
  apply({"backend", {target(0, false)}});
  EXPECT_EQ(pick(), nullptr);
  EXPECT_TRUE(worker_->has_targets("backend"));
}

TEST_F(ProxyWorkerBalancing, AnUpdateReplacesTheInstanceSetAndKeepsInFlightCounts) {
  start(config::balance_policy::least_conn, 2);
  auto kept = pick();
  kept->active_requests = 3;
  auto kept_index = kept->endpoint.address().to_string() == "127.0.0.1" ? 0 : 1;
  apply({"backend", {target(kept_index, true), target(5, true)}});
  for (int i = 0; i < 5; ++i) {
    auto chosen = pick();
    EXPECT_EQ(chosen->endpoint.address().to_string(), "127.0.0.6");
  }
  EXPECT_EQ(kept->active_requests, 3u);
}

TEST_F(ProxyWorkerBalancing, AnUnknownServiceHasNoInstance) {
  start(config::balance_policy::round_robin, 1);
  EXPECT_EQ(worker_->pick("nope", {}), nullptr);
  EXPECT_FALSE(worker_->has_targets("nope"));
}

/// A worker on 127.0.0.1 with no routes (every request gets its 404 from the proxy
/// itself), its loop on a thread of its own.
class ProxyWorkerConnections : public ::testing::Test {
 protected:
  void SetUp() override {
    auto cfg = config::default_config();
    cfg.routes.clear();
    cfg.log.access_log = false;
    worker_ = std::make_unique<proxy_worker>(std::make_shared<const proxy_settings>(cfg));
    port_ = worker_->listen(tcp::endpoint(make_address("127.0.0.1"), 0));
    loop_ = std::thread([this] { worker_->run(); });
  }
  void TearDown() override {
    worker_->stop();
    loop_.join();
    worker_.reset();
  }

  /// {sessions, request states lent}, read on the worker's thread.
  std::pair<std::size_t, std::size_t> counts() {
    std::promise<std::pair<std::size_t, std::size_t>> answer;
    worker_->post([&] { answer.set_value({worker_->sessions(), worker_->request_states_lent()}); });
    return answer.get_future().get();
  }

  std::unique_ptr<proxy_worker> worker_;
  std::uint16_t port_ = 0;
  std::thread loop_;
};

TEST_F(ProxyWorkerConnections, AnIdleKeepAliveConnectionHoldsNoRequestState) {
  std::vector<std::unique_ptr<test::http_client>> clients;
  for (int i = 0; i < 20; ++i) {
    clients.push_back(std::make_unique<test::http_client>(port_));
    auto response = clients.back()->get("/x");
    ASSERT_EQ(response.result_int(), 404);
    ASSERT_TRUE(response.keep_alive());
  }
  // Every connection stays open; none holds a buffer, parser or exchange.
  EXPECT_TRUE(test::wait_until([&] { return counts() == std::make_pair<std::size_t, std::size_t>(20, 0); }))
      << counts().first << " sessions, " << counts().second << " states lent";

  // Half a head: that connection holds its state until the head is whole.
  clients[0]->send_raw("GET /y HTTP/1.1\r\nHost: a\r\n");
  EXPECT_TRUE(test::wait_until([&] { return counts().second == 1; }));
  clients[0]->send_raw("\r\n");
  test::response answer;
  ASSERT_FALSE(clients[0]->try_read_response(answer));
  EXPECT_EQ(answer.result_int(), 404);
  EXPECT_TRUE(test::wait_until([&] { return counts() == std::make_pair<std::size_t, std::size_t>(20, 0); }));
  // And the idle ones still serve.
  EXPECT_EQ(clients[7]->get("/z").result_int(), 404);
  EXPECT_EQ(clients[7]->connections_opened(), 1);
}

}  // namespace
}  // namespace dockmaster::net
