#include "actors/restart_grace.hpp"

#include <algorithm>

namespace dockmaster::actors {

using std::chrono::milliseconds;

void boot_history::record(milliseconds took) {
  recent_.push_back(std::max(took, milliseconds::zero()));
  while (recent_.size() > derived_grace::remembered) recent_.pop_front();
}

milliseconds boot_history::grace() const {
  if (recent_.empty()) return derived_grace::without_history;
  auto longest = *std::max_element(recent_.begin(), recent_.end());
  // Capped before it is multiplied: a boot of years would overflow the product.
  longest = std::min(longest, derived_grace::cap);
  return std::clamp(longest * derived_grace::factor, derived_grace::floor, derived_grace::cap);
}

milliseconds restart_grace(const config::restart_config& restart, const boot_history& history) {
  return restart.grace ? *restart.grace : history.grace();
}

}  // namespace dockmaster::actors
