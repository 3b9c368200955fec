#include "actors/rate_history.hpp"

namespace dockmaster::actors {

std::int64_t rate_history::index_of(clock::time_point t) {
  auto seconds = std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
  // Floor division, so that a time before the epoch (a test's) stays in order.
  auto length = static_cast<std::int64_t>(slot_length.count());
  return seconds >= 0 ? seconds / length : -((-seconds + length - 1) / length);
}

void rate_history::record(clock::time_point now, std::uint64_t requests_total,
                          std::uint64_t errors_5xx_total) {
  auto grown = [](std::uint64_t total, std::uint64_t& last) {
    auto delta = total >= last ? total - last : total;
    last = total;
    return delta;
  };
  auto requests = grown(requests_total, last_requests_);
  auto errors = grown(errors_5xx_total, last_errors_5xx_);
  auto index = index_of(now);
  while (!slots_.empty() && slots_.front().index <= index - static_cast<std::int64_t>(slot_count))
    slots_.pop_front();
  if (requests == 0 && errors == 0) return;
  // The clock may step back: such counts join the newest slot rather than be lost.
  if (slots_.empty() || slots_.back().index < index) slots_.push_back({index, 0, 0});
  slots_.back().requests += requests;
  slots_.back().errors_5xx += errors;
}

nlohmann::json rate_history::to_json(clock::time_point now) const {
  auto current = index_of(now);
  auto first = current - static_cast<std::int64_t>(slot_count) + 1;
  nlohmann::json requests = nlohmann::json::array();
  nlohmann::json errors = nlohmann::json::array();
  auto it = slots_.begin();
  for (auto index = first; index <= current; ++index) {
    while (it != slots_.end() && it->index < index) ++it;
    bool here = it != slots_.end() && it->index == index;
    requests.push_back(here ? it->requests : 0);
    errors.push_back(here ? it->errors_5xx : 0);
  }
  return {{"slot_seconds", slot_length.count()},
          {"until", (current + 1) * static_cast<std::int64_t>(slot_length.count())},
          {"requests", std::move(requests)},
          {"errors_5xx", std::move(errors)}};
}

}  // namespace dockmaster::actors
