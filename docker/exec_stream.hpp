#pragma once

// The pieces of an exec's output handling that need no socket: the decoder of the
// Engine API's multiplexed stream and the buffer that keeps the tail of the output.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace dockmaster::docker {

/// Decodes the stream that POST /exec/{id}/start answers with when the exec has no
/// TTY: frames of an 8-byte header (stream type: 0 stdin, 1 stdout, 2 stderr,
/// 3 engine error; three zero bytes; the payload size, 4 bytes big-endian) followed
/// by the payload. Frames may arrive cut at any byte across calls to `feed`.
///
/// A stream whose first header is not a valid one (an exec with a TTY, or an engine
/// that does not multiplex) is passed through as raw output, stream type 1.
class multiplexed_stream_decoder {
 public:
  using sink = std::function<void(int stream_type, std::string_view payload)>;

  explicit multiplexed_stream_decoder(sink on_payload) : on_payload_(std::move(on_payload)) {}

  void feed(std::string_view data);

  /// True when the stream ended inside a frame (header or payload incomplete).
  bool incomplete() const { return header_fill_ != 0 || remaining_ != 0; }
  bool raw() const { return raw_; }

 private:
  sink on_payload_;
  unsigned char header_[8] = {};
  std::size_t header_fill_ = 0;
  std::uint32_t remaining_ = 0;  // payload bytes still expected for the current frame
  int stream_type_ = 0;
  bool seen_frame_ = false;
  bool raw_ = false;
};

/// Keeps the last `limit` bytes appended to it.
class tail_buffer {
 public:
  explicit tail_buffer(std::size_t limit) : limit_(limit) {}

  void append(std::string_view data);
  /// The last `limit` bytes.
  std::string str() const;
  /// Every byte ever appended, including those dropped.
  std::size_t total() const { return total_; }

 private:
  std::size_t limit_;
  std::size_t total_ = 0;
  std::string data_;
};

}  // namespace dockmaster::docker
