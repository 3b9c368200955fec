#include "support/client_loop.hpp"

#include <algorithm>
#include <stdexcept>

#include "support/http_client.hpp"
#include "support/wait.hpp"

namespace dockmaster::test {

client_loop::client_loop(std::uint16_t port, std::string get_target, std::string post_target,
                         std::chrono::milliseconds pace)
    : port_(port), get_target_(std::move(get_target)), post_target_(std::move(post_target)),
      pace_(pace) {
  threads_.emplace_back([this] { run(false); });
  threads_.emplace_back([this] { run(true); });
}

client_loop::~client_loop() { stop(); }

void client_loop::stop() {
  stop_ = true;
  for (auto& t : threads_)
    if (t.joinable()) t.join();
}

void client_loop::run(bool posts) {
  http_client client(port_, "127.0.0.1", std::chrono::seconds(20));
  while (!stop_) {
    auto start = clock::now();
    int status = -1;
    {
      std::unique_lock get_running(get_in_flight_, std::defer_lock);
      if (!posts) get_running.lock();
      try {
        status = (posts ? client.post(post_target_, "x=1") : client.get(get_target_)).result_int();
      } catch (const std::exception&) {
        client.close();
      }
    }
    auto end = clock::now();
    std::function<void()> action;
    {
      std::lock_guard lock(mutex_);
      outcomes_.push_back({start, end, status, posts});
      if (posts && pending_action_) {
        action = std::move(pending_action_);
        pending_action_ = nullptr;
      }
    }
    if (action) {
      std::lock_guard no_get(get_in_flight_);
      auto at = clock::now();
      action();
      std::lock_guard lock(mutex_);
      action_ran_at_ = at;
    }
    std::this_thread::sleep_until(start + pace_);  // pacing, not waiting for a condition
  }
}

client_loop::clock::time_point client_loop::while_idle(std::function<void()> action) {
  {
    std::lock_guard lock(mutex_);
    action_ran_at_.reset();
    pending_action_ = std::move(action);
  }
  std::optional<clock::time_point> at;
  wait_until([&] {
    std::lock_guard lock(mutex_);
    at = action_ran_at_;
    return at.has_value();
  }, std::chrono::seconds(30));
  if (!at) throw std::runtime_error("the POST loop did not run the action within 30 s");
  return at.value_or(clock::time_point{});
}

std::vector<client_loop::outcome> client_loop::outcomes() const {
  std::lock_guard lock(mutex_);
  return outcomes_;
}

std::size_t client_loop::count() const {
  std::lock_guard lock(mutex_);
  return outcomes_.size();
}

std::optional<client_loop::clock::time_point> client_loop::first_success_after(
    clock::time_point t, int ok, int ok_post) const {
  std::lock_guard lock(mutex_);
  std::optional<clock::time_point> first;
  for (const auto& o : outcomes_)
    if (o.start > t && o.status == (o.post ? ok_post : ok) && (!first || o.end < *first))
      first = o.end;
  return first;
}

client_loop::heal_summary client_loop::summarize(clock::time_point failed, clock::time_point healed,
                                                 int ok, int ok_post) const {
  std::lock_guard lock(mutex_);
  heal_summary summary;
  std::vector<clock::duration> before;
  for (const auto& o : outcomes_) {
    ++summary.requests;
    if (o.status != (o.post ? ok_post : ok)) ++summary.failed;
    if (o.end <= failed) before.push_back(o.end - o.start);
    if (o.end > failed && o.start < healed) {
      ++summary.during_heal;
      summary.latest_end_after_heal = std::max(summary.latest_end_after_heal, o.end - healed);
    }
  }
  if (!before.empty()) {
    std::sort(before.begin(), before.end());
    summary.normal_p99 = before[std::min(before.size() - 1, before.size() * 99 / 100)];
  }
  return summary;
}

client_loop::heal_summary client_loop::run_through(const std::function<void()>& fail, int ok,
                                                   int ok_post, std::chrono::seconds heal_within) {
  wait_until([&] { return count() >= 20; }, std::chrono::seconds(10));
  const auto failed = while_idle(fail);
  wait_until([&] { return first_success_after(failed, ok, ok_post).has_value(); }, heal_within);
  auto healed = first_success_after(failed, ok, ok_post);
  if (healed) {
    auto after = count();
    wait_until([&] { return count() >= after + 20; }, std::chrono::seconds(10));
  }
  stop();
  auto summary = summarize(failed, healed.value_or(clock::now()), ok, ok_post);
  summary.healed = healed.has_value();
  summary.heal = healed.value_or(clock::now()) - failed;
  return summary;
}

::testing::AssertionResult cost_no_request(const client_loop::heal_summary& summary) {
  using std::chrono::duration_cast;
  using ms = std::chrono::milliseconds;
  auto shown = [](client_loop::clock::duration d) { return duration_cast<ms>(d).count(); };
  if (!summary.healed)
    return ::testing::AssertionFailure() << "no request succeeded after the failure";
  if (summary.failed != 0)
    return ::testing::AssertionFailure() << summary.failed << " of " << summary.requests
                                         << " requests failed";
  if (summary.during_heal == 0)
    return ::testing::AssertionFailure() << "no request ran into the outage";
  if (summary.latest_end_after_heal > ms(50) + summary.normal_p99)
    return ::testing::AssertionFailure()
           << "the heal took " << shown(summary.heal) << " ms; a request ended "
           << shown(summary.latest_end_after_heal) << " ms after it (normal p99 "
           << shown(summary.normal_p99) << " ms)";
  return ::testing::AssertionSuccess() << summary.requests << " requests, " << summary.during_heal
                                       << " through a heal of " << shown(summary.heal) << " ms";
}

}  // namespace dockmaster::test
