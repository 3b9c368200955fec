// The pieces the listeners of all I/O threads share: the connection count against
// limits.max_client_connections and the log throttle.

#include <gtest/gtest.h>

#include <thread>
#include <vector>

#include "config/parse.hpp"
#include "net/accept_control.hpp"

namespace dockmaster::net {
namespace {

using namespace std::chrono_literals;

TEST(ConnectionPlaces, PlacesAreTakenUpToTheMaximumAndGivenBack) {
  connection_limit limit(2);
  EXPECT_TRUE(limit.has_room());
  EXPECT_TRUE(limit.try_take());
  EXPECT_TRUE(limit.try_take());
  EXPECT_FALSE(limit.has_room());
  EXPECT_FALSE(limit.try_take());
  EXPECT_EQ(limit.open(), 2u);
  limit.give_back();
  EXPECT_TRUE(limit.has_room());
  EXPECT_TRUE(limit.try_take());
  EXPECT_FALSE(limit.try_take());
}

TEST(ConnectionPlaces, ThreadsTakingAtOnceNeverGoAboveTheMaximum) {
  connection_limit limit(1000);
  std::atomic<int> taken{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 1000; ++i)
        if (limit.try_take()) ++taken;
    });
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(taken.load(), 1000);
  EXPECT_EQ(limit.open(), 1000u);
}

TEST(LogThrottle, OneLinePerPeriodAndTheNextSaysHowManyWereHeldBack) {
  log_throttle throttle(10s);
  const auto start = log_throttle::clock::now();
  std::uint64_t held_back = 99;
  EXPECT_TRUE(throttle.allow(start, held_back));
  EXPECT_EQ(held_back, 0u);
  for (int i = 0; i < 1000; ++i) EXPECT_FALSE(throttle.allow(start + 9s, held_back));
  EXPECT_TRUE(throttle.allow(start + 10s, held_back));
  EXPECT_EQ(held_back, 1000u);
  EXPECT_FALSE(throttle.allow(start + 11s, held_back));
}

TEST(DefaultMaxClientConnections, HalfTheDescriptorsLeftAfterAReserveAtMost10000) {
  EXPECT_EQ(config::default_max_client_connections(1024), 480u);
  EXPECT_EQ(config::default_max_client_connections(256), 96u);
  EXPECT_EQ(config::default_max_client_connections(1048576), 10000u);
  EXPECT_EQ(config::default_max_client_connections(64), 1u);
  EXPECT_EQ(config::default_max_client_connections(0), 1u);
}

TEST(DefaultMaxClientConnections, AConfiguredLimitIsKept) {
  EXPECT_EQ(effective_max_client_connections(7), 7u);
  EXPECT_GE(effective_max_client_connections(0), 1u);
}

}  // namespace
}  // namespace dockmaster::net
