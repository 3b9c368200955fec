#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

#include "net/upstream_pool.hpp"

namespace dockmaster::net {
namespace {

using boost::asio::ip::make_address;
using boost::asio::ip::tcp;

class UpstreamPool : public ::testing::Test {
 protected:
  std::unique_ptr<upstream_connection> connection_to(const tcp::endpoint& endpoint) {
    auto c = std::make_unique<upstream_connection>(io_);
    c->endpoint = endpoint;
    return c;
  }

  boost::asio::io_context io_;
  tcp::endpoint a_{make_address("127.0.0.1"), 8000};
  tcp::endpoint b_{make_address("127.0.0.2"), 8000};
};

TEST_F(UpstreamPool, GivesBackTheMostRecentlyReturnedConnectionMarkedReused) {
  upstream_pool pool(4, std::chrono::seconds(60));
  auto first = connection_to(a_);
  auto second = connection_to(a_);
  auto* second_raw = second.get();
  pool.give_back(std::move(first));
  pool.give_back(std::move(second));
  auto taken = pool.take(a_, false);
  ASSERT_EQ(taken.get(), second_raw);
  EXPECT_TRUE(taken->reused);
  EXPECT_EQ(pool.idle_count(), 1u);
}

TEST_F(UpstreamPool, HasNothingForAnotherEndpoint) {
  upstream_pool pool(4, std::chrono::seconds(60));
  pool.give_back(connection_to(a_));
  EXPECT_EQ(pool.take(b_, false), nullptr);
}

TEST_F(UpstreamPool, KeepsAtMostTheConfiguredIdleConnectionsPerEndpoint) {
  upstream_pool pool(2, std::chrono::seconds(60));
  for (int i = 0; i < 5; ++i) pool.give_back(connection_to(a_));
  pool.give_back(connection_to(b_));
  EXPECT_EQ(pool.idle_count(), 3u);
}

TEST_F(UpstreamPool, DropsConnectionsIdleForLongerThanTheIdleTimeout) {
  upstream_pool pool(4, std::chrono::milliseconds(0));
  pool.give_back(connection_to(a_));
  EXPECT_EQ(pool.take(a_, false), nullptr);
}

TEST_F(UpstreamPool, VerifiedTakeDropsAConnectionThatIsNotOpen) {
  upstream_pool pool(4, std::chrono::seconds(60));
  pool.give_back(connection_to(a_));  // never connected: its socket is closed
  EXPECT_EQ(pool.take(a_, true), nullptr);
}

TEST_F(UpstreamPool, RetainOnlyClosesConnectionsToRemovedEndpoints) {
  upstream_pool pool(4, std::chrono::seconds(60));
  pool.give_back(connection_to(a_));
  pool.give_back(connection_to(b_));
  pool.retain_only({b_});
  EXPECT_EQ(pool.take(a_, false), nullptr);
  EXPECT_NE(pool.take(b_, false), nullptr);
}

}  // namespace
}  // namespace dockmaster::net
