#pragma once

// What the listeners of every I/O thread share: the count of open client connections
// against limits.max_client_connections, and the throttles of the lines they log when
// they stop accepting. Thread-safe: each I/O thread uses it from its own loop.

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <limits>

namespace dockmaster::net {

/// At most one log line per period from all threads together; the lines held back in
/// between are counted, so that the next line can say how many there were.
class log_throttle {
 public:
  using clock = std::chrono::steady_clock;

  explicit log_throttle(clock::duration period) : period_(period) {}

  /// True when a line may be written at `now`; `held_back` is then set to the number
  /// of lines held back since the last one written.
  bool allow(clock::time_point now, std::uint64_t& held_back) {
    const auto at = now.time_since_epoch().count();
    auto next = next_allowed_.load(std::memory_order_relaxed);
    if (at < next ||
        !next_allowed_.compare_exchange_strong(next, at + period_.count(), std::memory_order_relaxed)) {
      held_back_.fetch_add(1, std::memory_order_relaxed);
      return false;
    }
    held_back = held_back_.exchange(0, std::memory_order_relaxed);
    return true;
  }

 private:
  const clock::duration period_;
  std::atomic<clock::rep> next_allowed_{std::numeric_limits<clock::rep>::min()};
  std::atomic<std::uint64_t> held_back_{0};
};

/// The open client connections of the whole process against a maximum. A place is
/// taken before a session starts and given back when it ends, so the count never goes
/// above the maximum, whichever threads accept at the same time.
class connection_limit {
 public:
  explicit connection_limit(std::size_t max) : max_(max) {}

  /// Takes a place for a new connection; false when all are taken.
  bool try_take() {
    auto open = open_.load(std::memory_order_relaxed);
    do {
      if (open >= max_) return false;
    } while (!open_.compare_exchange_weak(open, open + 1, std::memory_order_relaxed));
    return true;
  }
  /// Takes a place whatever the count (a connection that is already open).
  void take() { open_.fetch_add(1, std::memory_order_relaxed); }
  void give_back() { open_.fetch_sub(1, std::memory_order_relaxed); }

  bool has_room() const { return open() < max_; }
  std::size_t open() const { return open_.load(std::memory_order_relaxed); }
  std::size_t max() const { return max_; }

 private:
  const std::size_t max_;
  std::atomic<std::size_t> open_{0};
};

struct accept_control {
  explicit accept_control(std::size_t max_client_connections) : clients(max_client_connections) {}

  connection_limit clients;
  /// "connection limit reached" and "accept failed": each at most once per 10 s.
  log_throttle limit_warnings{std::chrono::seconds(10)};
  log_throttle accept_failures{std::chrono::seconds(10)};
};

/// The soft RLIMIT_NOFILE of this process (max of uint64 when unlimited).
std::uint64_t open_files_limit();

/// limits.max_client_connections as configured, or, when the config leaves it out
/// (0), derived from this process's descriptor limit.
std::size_t effective_max_client_connections(std::size_t configured);

}  // namespace dockmaster::net
