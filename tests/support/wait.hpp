#pragma once

// Waiting on a condition instead of sleeping and hoping.

#include <chrono>
#include <thread>

namespace dockmaster::test {

/// Polls `predicate` every few milliseconds until it returns true or `timeout` passes.
/// Returns the last result, so that `ASSERT_TRUE(wait_until(...))` reads naturally.
template <typename Predicate>
bool wait_until(Predicate&& predicate, std::chrono::milliseconds timeout = std::chrono::seconds(5),
                std::chrono::milliseconds interval = std::chrono::milliseconds(5)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (predicate()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return predicate();
    std::this_thread::sleep_for(interval);
  }
}

}  // namespace dockmaster::test
