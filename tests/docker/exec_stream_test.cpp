#include "docker/exec_stream.hpp"

#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "support/fake_docker_engine.hpp"

namespace {

using dockmaster::docker::multiplexed_stream_decoder;
using dockmaster::docker::tail_buffer;
using dockmaster::test::fake_docker_engine;

struct collected {
  std::string out, err, all;
  std::vector<int> types;
};

collected decode(const std::vector<std::string>& pieces) {
  collected c;
  multiplexed_stream_decoder d([&c](int type, std::string_view payload) {
    (type == 2 ? c.err : c.out) += payload;
    c.all += payload;
    c.types.push_back(type);
  });
  for (const auto& p : pieces) d.feed(p);
  EXPECT_FALSE(d.incomplete());
  return c;
}

std::string sample_stream() {
  return fake_docker_engine::frame(1, "hello\n") + fake_docker_engine::frame(2, "err\n") +
         fake_docker_engine::frame(1, "") + fake_docker_engine::frame(1, std::string(300, 'x')) +
         fake_docker_engine::frame(2, "bye");
}

TEST(ExecStreamDecoder, WholeStreamInOnePiece) {
  const auto c = decode({sample_stream()});
  EXPECT_EQ(c.out, "hello\n" + std::string(300, 'x'));
  EXPECT_EQ(c.err, "err\nbye");
  EXPECT_EQ(c.all, "hello\nerr\n" + std::string(300, 'x') + "bye");
}

TEST(ExecStreamDecoder, CutAtEveryPairOfPositions) {
  const std::string s = sample_stream();
  const std::string expected = "hello\nerr\n" + std::string(300, 'x') + "bye";
  for (std::size_t i = 0; i <= s.size(); ++i) {
    for (std::size_t j = i; j <= s.size(); j += 7) {
      const auto c = decode({s.substr(0, i), s.substr(i, j - i), s.substr(j)});
      ASSERT_EQ(c.all, expected) << "cut at " << i << " and " << j;
      ASSERT_EQ(c.err, "err\nbye") << "cut at " << i << " and " << j;
    }
  }
}

TEST(ExecStreamDecoder, OneByteAtATime) {
  const std::string s = sample_stream();
  std::vector<std::string> pieces;
  for (char ch : s) pieces.emplace_back(1, ch);
  const auto c = decode(pieces);
  EXPECT_EQ(c.out, "hello\n" + std::string(300, 'x'));
  EXPECT_EQ(c.err, "err\nbye");
}

TEST(ExecStreamDecoder, LargeFrameSizeUsesAllFourBytes) {
  const std::string payload(70000, 'z');
  const auto c = decode({fake_docker_engine::frame(1, payload)});
  EXPECT_EQ(c.out.size(), payload.size());
}

TEST(ExecStreamDecoder, UnframedStreamPassesThroughRaw) {
  collected c;
  multiplexed_stream_decoder d([&c](int type, std::string_view payload) { c.all += payload; });
  d.feed("he");
  d.feed("llo from a tty\n");
  EXPECT_TRUE(d.raw());
  EXPECT_EQ(c.all, "hello from a tty\n");
}

TEST(ExecStreamDecoder, TruncatedStreamIsIncomplete) {
  multiplexed_stream_decoder d([](int, std::string_view) {});
  const std::string s = fake_docker_engine::frame(1, "abcdef");
  d.feed(s.substr(0, s.size() - 2));
  EXPECT_TRUE(d.incomplete());
}

TEST(TailBuffer, KeepsTheLastBytes) {
  tail_buffer t(10);
  for (int i = 0; i < 10000; ++i) t.append(std::to_string(i % 10));
  EXPECT_EQ(t.str(), "0123456789");
  EXPECT_EQ(t.total(), 10000u);
  t.append(std::string(50, 'a') + "0123456789");
  EXPECT_EQ(t.str(), "0123456789");
  tail_buffer small(100);
  small.append("abc");
  EXPECT_EQ(small.str(), "abc");
  tail_buffer none(0);
  none.append("abc");
  EXPECT_EQ(none.str(), "");
}

}  // namespace
