#pragma once

// The tail of a container's log, as GET /containers/{id}/logs answers it: the pieces
// that need no socket, so that they can be tested on their own.

#include <cstddef>
#include <string>
#include <string_view>

#include "docker/exec_stream.hpp"

namespace dockmaster::docker {

/// How much of a container's log is kept: the last `lines` lines, at most `bytes`.
struct log_tail_limits {
  std::size_t lines = 50;
  std::size_t bytes = 16 * 1024;
};

/// The last `lines` lines of `text` (a final line without its newline counts as one).
std::string last_lines(std::string_view text, std::size_t lines);

/// Collects a logs answer fed piece by piece: demultiplexed (the 8-byte frame headers
/// of a container without a TTY), or as it is for a container with one (`tty`; a
/// stream that does not start with a valid frame header is taken as raw too), keeping
/// only its tail, so memory stays bounded whatever the engine sends.
class log_tail_collector {
 public:
  log_tail_collector(bool tty, log_tail_limits limits);
  log_tail_collector(const log_tail_collector&) = delete;  // its decoder points at it
  log_tail_collector& operator=(const log_tail_collector&) = delete;

  void feed(std::string_view data);
  /// The last lines, within the limits; a line cut by the byte limit keeps its end.
  std::string str() const;

 private:
  log_tail_limits limits_;
  bool tty_;
  tail_buffer tail_;
  multiplexed_stream_decoder decoder_;
};

}  // namespace dockmaster::docker
