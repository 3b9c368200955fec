#include "actors/instance_timeline.hpp"

namespace dockmaster::actors {

instance_timeline::instance_timeline(std::size_t entry_limit, std::size_t latency_limit)
    : entry_limit_(entry_limit), latency_limit_(latency_limit) {}

void instance_timeline::add(nlohmann::json event) {
  if (entry_limit_ == 0) return;
  if (event.is_object()) {
    event.erase("service");
    event.erase("instance");
  }
  entries_.push_back(std::move(event));
  while (entries_.size() > entry_limit_) entries_.pop_front();
}

void instance_timeline::add_probe_latency(std::uint64_t duration_us) {
  if (latency_limit_ == 0) return;
  latencies_.push_back(duration_us);
  while (latencies_.size() > latency_limit_) latencies_.pop_front();
}

nlohmann::json instance_timeline::entries_json() const {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& entry : entries_) out.push_back(entry);
  return out;
}

nlohmann::json instance_timeline::latencies_json() const {
  nlohmann::json out = nlohmann::json::array();
  for (auto us : latencies_) out.push_back(us);
  return out;
}

}  // namespace dockmaster::actors
