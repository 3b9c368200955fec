// The per-service chart data: running totals turned into counts per 10 s slot.

#include <gtest/gtest.h>

#include "actors/rate_history.hpp"

namespace dockmaster::test {
namespace {

using actors::rate_history;
using namespace std::chrono_literals;

rate_history::clock::time_point at(std::chrono::seconds since_epoch) {
  return rate_history::clock::time_point(since_epoch);
}

TEST(RateHistory, EachSlotHoldsWhatTheTotalsGrewByWithinIt) {
  rate_history rates;
  rates.record(at(1000s), 5, 1);   // slot 100
  rates.record(at(1009s), 8, 1);   // slot 100
  rates.record(at(1010s), 20, 4);  // slot 101
  auto json = rates.to_json(at(1015s));
  EXPECT_EQ(json["until"], 1020);
  ASSERT_EQ(json["requests"].size(), rate_history::slot_count);
  EXPECT_EQ(json["requests"][59], 12);
  EXPECT_EQ(json["errors_5xx"][59], 3);
  EXPECT_EQ(json["requests"][58], 8);
  EXPECT_EQ(json["errors_5xx"][58], 1);
  EXPECT_EQ(json["requests"][57], 0);
}

TEST(RateHistory, SlotsOlderThanTenMinutesLeaveTheChart) {
  rate_history rates;
  rates.record(at(1000s), 5, 0);
  auto later = rates.to_json(at(1000s + 599s));
  EXPECT_EQ(later["requests"][0], 5) << "still the oldest slot shown";
  auto gone = rates.to_json(at(1000s + 600s));
  for (const auto& n : gone["requests"]) EXPECT_EQ(n, 0);
  rates.record(at(1000s + 700s), 6, 0);
  auto json = rates.to_json(at(1000s + 700s));
  EXPECT_EQ(json["requests"][59], 1);
}

TEST(RateHistory, ATotalThatStartsAgainCountsFromZero) {
  rate_history rates;
  rates.record(at(1000s), 50, 5);
  rates.record(at(1010s), 3, 1);
  auto json = rates.to_json(at(1010s));
  EXPECT_EQ(json["requests"][59], 3);
  EXPECT_EQ(json["errors_5xx"][59], 1);
}

}  // namespace
}  // namespace dockmaster::test
