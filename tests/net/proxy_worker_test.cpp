// Balancing and instance updates of an I/O worker, without sockets.

#include <gtest/gtest.h>

#include <map>

#include "config/parse.hpp"
#include "net/proxy_worker.hpp"

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

}  // namespace
}  // namespace dockmaster::net
