// The demultiplexer of an exec's output stream (docker/exec_stream.hpp) and the tail
// buffer behind it. Differential: the stream fed whole, fed in pieces whose sizes come
// from the input, and read by a plain reference decoder must give the same output per
// stream type and the same end state; the tail kept must be the last bytes of it. A
// container log's tail (docker/container_logs.hpp) read from the same pieces must be
// the end of that output, within its line and byte limits.
//
// Input: two bytes that choose the piece sizes and the tail limit, then the stream.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "docker/container_logs.hpp"
#include "docker/exec_stream.hpp"

namespace {

using dockmaster::docker::multiplexed_stream_decoder;
using dockmaster::docker::tail_buffer;

/// Output as (stream type, bytes), consecutive payloads of one type merged: how a
/// stream is cut into frames and calls must not show.
using output = std::vector<std::pair<int, std::string>>;

void add(output& out, int type, std::string_view payload) {
  if (payload.empty()) return;
  if (!out.empty() && out.back().first == type)
    out.back().second.append(payload);
  else
    out.emplace_back(type, std::string(payload));
}

struct result {
  output out;
  bool raw = false;
  bool incomplete = false;
  std::string everything;  // all payloads in order
  std::string tail;
  std::size_t total = 0;
};

/// The stream read as the Engine API documents it, in one pass over the whole.
result reference(std::string_view s) {
  result r;
  // Only the first header decides; the decoder judges it from what it has so far.
  bool valid = true;
  if (!s.empty() && static_cast<unsigned char>(s[0]) > 3) valid = false;
  for (std::size_t i = 1; i < 4 && i < s.size(); ++i)
    if (s[i] != 0) valid = false;
  if (!valid) {
    add(r.out, 1, s);
    r.raw = true;
    return r;
  }
  std::size_t at = 0;
  while (at < s.size()) {
    if (s.size() - at < 8) {
      r.incomplete = true;
      break;
    }
    const auto* h = reinterpret_cast<const unsigned char*>(s.data() + at);
    const std::uint32_t length = (std::uint32_t{h[4]} << 24) | (std::uint32_t{h[5]} << 16) |
                                 (std::uint32_t{h[6]} << 8) | std::uint32_t{h[7]};
    at += 8;
    const std::size_t available = std::min<std::size_t>(length, s.size() - at);
    add(r.out, h[0], s.substr(at, available));
    at += available;
    if (available < length) r.incomplete = true;
  }
  return r;
}

result decode(std::string_view stream, const std::vector<std::size_t>& pieces, std::size_t limit) {
  result r;
  tail_buffer tail(limit);
  multiplexed_stream_decoder decoder([&](int type, std::string_view payload) {
    add(r.out, type, payload);
    r.everything.append(payload);
    tail.append(payload);
  });
  for (std::size_t size : pieces) {
    decoder.feed(stream.substr(0, size));
    stream.remove_prefix(size);
  }
  r.raw = decoder.raw();
  r.incomplete = decoder.incomplete();
  r.tail = tail.str();
  r.total = tail.total();
  return r;
}

void check_tail(const result& r, std::size_t limit) {
  const std::string& all = r.everything;
  const std::string expected = all.size() > limit ? all.substr(all.size() - limit) : all;
  if (r.tail != expected || r.total != all.size()) __builtin_trap();
}

/// The log tail of `stream` fed in `pieces`: the end of the demultiplexed output, at
/// most `limits.lines` lines and `limits.bytes` bytes.
void check_log_tail(std::string_view stream, const std::vector<std::size_t>& pieces,
                    const std::string& everything, dockmaster::docker::log_tail_limits limits) {
  dockmaster::docker::log_tail_collector collector(false, limits);
  for (std::size_t size : pieces) {
    collector.feed(stream.substr(0, size));
    stream.remove_prefix(size);
  }
  const std::string tail = collector.str();
  if (tail.size() > limits.bytes || tail.size() > everything.size()) __builtin_trap();
  if (everything.compare(everything.size() - tail.size(), tail.size(), tail) != 0) __builtin_trap();
  std::size_t newlines = 0;
  for (char c : tail) newlines += c == '\n';
  // The last line may lack its newline; every other line has one.
  if (newlines > limits.lines) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  const unsigned choice = data[0];
  const std::size_t limit = data[1] < 128 ? data[1] : std::size_t{data[1]} * 64;
  const std::string_view stream(reinterpret_cast<const char*>(data + 2), size - 2);

  // Piece sizes from a small generator seeded by the input: mostly short pieces (cuts
  // inside headers), up to the largest a read hands over; empty feeds too.
  static const std::size_t largest[] = {1, 2, 3, 7, 8, 9, 16, 64, 4096, 65536};
  const std::size_t max_piece = largest[choice % (sizeof largest / sizeof *largest)];
  std::uint32_t state = 0x9e3779b9u ^ (choice * 0x85ebca6bu) ^ static_cast<std::uint32_t>(size);
  std::vector<std::size_t> pieces;
  for (std::size_t left = stream.size(); left > 0;) {
    state ^= state << 13;
    state ^= state >> 17;
    state ^= state << 5;
    std::size_t n = state % (max_piece + 1);  // 0: an empty feed
    if (n > left) n = left;
    pieces.push_back(n);
    left -= n;
  }

  const result whole = decode(stream, {stream.size()}, limit);
  const result cut = decode(stream, pieces, limit);
  const result expected = reference(stream);
  for (const result* r : {&whole, &cut}) {
    if (r->out != expected.out || r->raw != expected.raw || r->incomplete != expected.incomplete)
      __builtin_trap();
    check_tail(*r, limit);
  }
  check_log_tail(stream, pieces, cut.everything, {1 + choice % 5, limit});
  return 0;
}
