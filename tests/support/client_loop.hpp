#pragma once

// A client loop through a heal: a GET loop and a POST loop, each on a keep-alive
// connection of its own at a steady pace, recording every request's start, end and
// status, so that a test can count what failed and how long each request took.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace dockmaster::test {

class client_loop {
 public:
  using clock = std::chrono::steady_clock;

  struct outcome {
    clock::time_point start, end;
    int status = -1;  // -1: a network error or timeout
    bool post = false;
  };

  /// Starts both loops against 127.0.0.1:`port`; each sends one request per `pace`.
  client_loop(std::uint16_t port, std::string get_target, std::string post_target,
              std::chrono::milliseconds pace = std::chrono::milliseconds(40));
  ~client_loop();  // stops and joins

  /// Runs `action` while no request of either loop is in flight (on the POST loop's
  /// thread, between two of its requests, with the GET loop held between two of its
  /// own), and returns the time just before it ran: a request cut mid-answer must fail
  /// (a POST is never sent twice, a GET whose answer began is not replayed), and that
  /// is not what the heal tests measure.
  clock::time_point while_idle(std::function<void()> action);
  void stop();

  std::vector<outcome> outcomes() const;
  std::size_t count() const;
  /// When the first request that started after `t` and got `ok` (or `ok_post` for a
  /// POST) ended.
  std::optional<clock::time_point> first_success_after(clock::time_point t, int ok,
                                                       int ok_post) const;

  /// What a heal from `failed` to `healed` cost the clients.
  struct heal_summary {
    std::size_t requests = 0;
    std::size_t failed = 0;  // status other than `ok` (`ok_post` for a POST)
    std::size_t during_heal = 0;  // requests in flight at some time between the two
    /// How long after `healed` the last of those ended: what a request waited beyond
    /// the heal itself.
    clock::duration latest_end_after_heal{};
    /// The 99th percentile of the requests that ended before `failed`: what a request
    /// takes anyway on this machine at this moment.
    clock::duration normal_p99{};
    clock::duration heal{};  // from `failed` to `healed`
    bool healed = false;     // a request that started after the failure succeeded
  };
  heal_summary summarize(clock::time_point failed, clock::time_point healed, int ok,
                         int ok_post) const;

  /// Once the loops have sent 20 requests: runs `fail` while_idle(), waits (up to
  /// `heal_within`) until a request that started after it succeeds, lets 20 more go and
  /// stops. What the failure and its heal cost the clients.
  heal_summary run_through(const std::function<void()>& fail, int ok, int ok_post,
                           std::chrono::seconds heal_within = std::chrono::seconds(30));

 private:
  void run(bool posts);

  std::uint16_t port_;
  std::string get_target_, post_target_;
  std::chrono::milliseconds pace_;
  mutable std::mutex mutex_;
  std::mutex get_in_flight_;  // held by the GET loop during each of its requests
  std::vector<outcome> outcomes_;
  std::function<void()> pending_action_;
  std::optional<clock::time_point> action_ran_at_;
  std::atomic<bool> stop_{false};
  std::vector<std::thread> threads_;
};

/// The heal cost no request: none failed, some ran into it, and none ended more than
/// 50 ms after it (beyond the p99 that requests take on the machine at the time).
::testing::AssertionResult cost_no_request(const client_loop::heal_summary& summary);

}  // namespace dockmaster::test
