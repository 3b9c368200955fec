#pragma once

#include <string>

namespace dockmaster::test {

/// The value of one series ("name{labels}") in a Prometheus text exposition; -1 when
/// it is not there.
inline double metric_sample(const std::string& metrics, const std::string& series) {
  auto at = metrics.find("\n" + series + " ");
  if (at == std::string::npos) return -1;
  return std::stod(metrics.substr(at + series.size() + 2));
}

}  // namespace dockmaster::test
