#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>

#include <nlohmann/json.hpp>

namespace dockmaster::actors {

/// What happened to one instance, for the status page: its recent events (health
/// changes, restarts with their command, exit code, output and container log tail,
/// backoffs, give-ups, recoveries), newest last, and its recent probe latencies for a
/// sparkline. Both bounded: the oldest go first.
class instance_timeline {
 public:
  static constexpr std::size_t default_entry_limit = 50;
  static constexpr std::size_t default_latency_limit = 30;

  instance_timeline() = default;
  instance_timeline(std::size_t entry_limit, std::size_t latency_limit);

  /// An event as the history records it; its "service" and "instance" are left out
  /// (the timeline is the instance's).
  void add(nlohmann::json event);
  void add_probe_latency(std::uint64_t duration_us);

  /// The entries, oldest first.
  nlohmann::json entries_json() const;
  /// The probe latencies in microseconds, oldest first.
  nlohmann::json latencies_json() const;

  std::size_t size() const { return entries_.size(); }

 private:
  std::size_t entry_limit_ = default_entry_limit;
  std::size_t latency_limit_ = default_latency_limit;
  std::deque<nlohmann::json> entries_;
  std::deque<std::uint64_t> latencies_;
};

}  // namespace dockmaster::actors
