#include "docker/container_logs.hpp"

namespace dockmaster::docker {

std::string last_lines(std::string_view text, std::size_t lines) {
  if (lines == 0) return {};
  // The final newline ends the last line; it does not start another one.
  std::size_t end = text.size();
  if (end > 0 && text[end - 1] == '\n') --end;
  std::size_t start = end;
  std::size_t found = 0;
  while (start > 0) {
    if (text[start - 1] == '\n' && ++found == lines) break;
    --start;
  }
  return std::string(text.substr(start));
}

log_tail_collector::log_tail_collector(bool tty, log_tail_limits limits)
    : limits_(limits),
      tty_(tty),
      tail_(limits.bytes),
      decoder_([this](int, std::string_view payload) { tail_.append(payload); }) {}

void log_tail_collector::feed(std::string_view data) {
  if (tty_)
    tail_.append(data);
  else
    decoder_.feed(data);
}

std::string log_tail_collector::str() const { return last_lines(tail_.str(), limits_.lines); }

}  // namespace dockmaster::docker
