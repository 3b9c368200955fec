// The bounded per-instance timeline of the status page.

#include <gtest/gtest.h>

#include "actors/instance_timeline.hpp"

namespace dockmaster::test {
namespace {

using actors::instance_timeline;

TEST(InstanceTimeline, KeepsTheNewestEntriesLastAndDropsTheOldest) {
  instance_timeline timeline(3, 2);
  for (int i = 0; i < 5; ++i)
    timeline.add({{"event", "health_changed"}, {"n", i}, {"service", "web"}, {"instance", "10.0.0.1:80"}});
  auto entries = timeline.entries_json();
  ASSERT_EQ(entries.size(), 3u);
  EXPECT_EQ(entries[0]["n"], 2);
  EXPECT_EQ(entries[2]["n"], 4);
  EXPECT_FALSE(entries[0].contains("service")) << "the timeline is the instance's: no need to repeat it";
  EXPECT_FALSE(entries[0].contains("instance"));
}

TEST(InstanceTimeline, KeepsTheRecentProbeLatencies) {
  instance_timeline timeline(3, 2);
  timeline.add_probe_latency(10);
  timeline.add_probe_latency(20);
  timeline.add_probe_latency(30);
  EXPECT_EQ(timeline.latencies_json(), nlohmann::json::parse("[20, 30]"));
}

}  // namespace
}  // namespace dockmaster::test
