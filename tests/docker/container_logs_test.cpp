// The tail of a container's log: demultiplexed (no TTY) or raw (TTY), bounded in lines
// and bytes, whichever way the answer is cut.

#include "docker/container_logs.hpp"

#include <string>

#include <gtest/gtest.h>

#include "support/fake_docker_engine.hpp"

namespace {

using dockmaster::docker::last_lines;
using dockmaster::docker::log_tail_collector;
using dockmaster::docker::log_tail_limits;
using dockmaster::test::fake_docker_engine;

std::string lines(int from, int to) {
  std::string out;
  for (int i = from; i <= to; ++i) out += "2026-12-02T08:00:00.000000000Z line " + std::to_string(i) + "\n";
  return out;
}

TEST(LastLines, KeepsTheLastNLines) {
  EXPECT_EQ(last_lines("a\nb\nc\n", 2), "b\nc\n");
  EXPECT_EQ(last_lines("a\nb\nc", 2), "b\nc");
  EXPECT_EQ(last_lines("a\nb\n", 5), "a\nb\n");
  EXPECT_EQ(last_lines("", 5), "");
  EXPECT_EQ(last_lines("a\n", 0), "");
}

TEST(LogTailCollector, DemultiplexesStdoutAndStderrInTheirOrderCutAtAnyByte) {
  std::string stream;
  for (int i = 1; i <= 6; ++i) {
    auto line = lines(i, i);
    stream += fake_docker_engine::frame(i % 2 ? 1 : 2, line);
  }
  for (std::size_t piece = 1; piece <= stream.size(); ++piece) {
    log_tail_collector collector(false, log_tail_limits{4, 16 * 1024});
    for (std::size_t at = 0; at < stream.size(); at += piece) collector.feed(stream.substr(at, piece));
    ASSERT_EQ(collector.str(), lines(3, 6)) << "pieces of " << piece;
  }
}

TEST(LogTailCollector, TakesTheLogOfAContainerWithATtyAsItIs) {
  // A TTY's log is not multiplexed: a line that happens to start with bytes like a
  // frame header must not be decoded.
  std::string raw = std::string("\x01\x00\x00\x00\x00\x00\x00\x02", 8) + "ab\n" + lines(1, 3);
  log_tail_collector collector(true, log_tail_limits{});
  collector.feed(raw);
  EXPECT_EQ(collector.str(), raw);
}

TEST(LogTailCollector, TakesAStreamWithoutFrameHeadersAsRawEvenWithoutATty) {
  log_tail_collector collector(false, log_tail_limits{2, 16 * 1024});
  collector.feed(lines(1, 5));
  EXPECT_EQ(collector.str(), lines(4, 5));
}

TEST(LogTailCollector, KeepsAtMostTheByteLimitOfTheNewestOutput) {
  log_tail_collector collector(false, log_tail_limits{50, 100});
  std::string big(10000, 'x');
  collector.feed(fake_docker_engine::frame(1, big + "\n"));
  collector.feed(fake_docker_engine::frame(2, "last\n"));
  auto tail = collector.str();
  EXPECT_EQ(tail.size(), 100u);
  EXPECT_EQ(tail.substr(tail.size() - 7), "x\nlast\n");
}

}  // namespace
