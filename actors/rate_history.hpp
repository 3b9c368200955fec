#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>

#include <nlohmann/json.hpp>

namespace dockmaster::actors {

/// One service's requests and 5xx answers per 10 s slot over the last 10 minutes, for
/// the status page's chart. Fed with the service's running totals whenever they grow
/// (the I/O threads' traffic reports); a slot holds what they grew by within it. Slots
/// are aligned to the wall clock, so that the page can place them in time.
class rate_history {
 public:
  using clock = std::chrono::system_clock;
  static constexpr std::chrono::seconds slot_length{10};
  static constexpr std::size_t slot_count = 60;

  /// The totals as of `now`. A total smaller than the last one (its counter started
  /// again) counts from zero.
  void record(clock::time_point now, std::uint64_t requests_total, std::uint64_t errors_5xx_total);

  /// {"slot_seconds": 10, "until": Unix seconds at the end of the current slot,
  ///  "requests": [60 counts, oldest first], "errors_5xx": [60 counts]}.
  nlohmann::json to_json(clock::time_point now) const;

 private:
  struct slot {
    std::int64_t index = 0;  // Unix seconds / slot_length
    std::uint64_t requests = 0;
    std::uint64_t errors_5xx = 0;
  };
  static std::int64_t index_of(clock::time_point t);

  std::deque<slot> slots_;  // ascending index, only those with counts
  std::uint64_t last_requests_ = 0;
  std::uint64_t last_errors_5xx_ = 0;
};

}  // namespace dockmaster::actors
