#pragma once

// Actors under CAF's test coordinator (scheduler policy "testing"): nothing runs until
// the test says so, and time moves only when the test advances it, so timers,
// backoffs and timeouts are tested without sleeping. Recording stand-ins for the
// actors around the one under test keep what they were sent.

#include <map>
#include <memory>
#include <vector>

#include <caf/all.hpp>

#include "messages/message_types.hpp"
#include "net/health_prober.hpp"

namespace dockmaster::test {

class simulated_system_config : public caf::actor_system_config {
 public:
  simulated_system_config() {
    messages::add_message_types(*this);
    set("scheduler.policy", caf::atom("testing"));
    set("logger.console", caf::atom("none"));
  }
};

/// The actor system and its coordinator.
struct simulated_actors {
  simulated_system_config config;
  caf::actor_system system{config};
  caf::scheduler::test_coordinator& coordinator =
      dynamic_cast<caf::scheduler::test_coordinator&>(system.scheduler());
  std::vector<caf::actor_addr> spawned;

  /// Ends every actor spawned through spawn(): the system's destructor waits for them,
  /// and under the test coordinator nothing else would run them to their end.
  ~simulated_actors() {
    for (auto& addr : spawned)
      if (auto strong = caf::actor_cast<caf::actor>(addr))
        caf::anon_send_exit(strong, caf::exit_reason::user_shutdown);
    run();
  }

  template <class... Ts>
  auto spawn(Ts&&... xs) {
    auto handle = system.spawn(std::forward<Ts>(xs)...);
    spawned.push_back(handle.address());
    return handle;
  }

  /// Runs every job there is, including those it causes.
  void run() { coordinator.run(); }
  /// Moves the clock on by `d`, delivering what fell due, and runs.
  void advance(caf::timespan d) {
    coordinator.advance_time(d);
    run();
  }
};

/// What the recording stand-ins were sent.
struct recorded {
  std::vector<messages::health_changed> health_changes;        // by the proxy and the sink
  std::vector<messages::supervisor_event> supervisor_events;  // by the sink
  std::vector<messages::probe_result> probes;                 // by the sink
  std::vector<messages::instance_id> added, removed;          // by the sink
  std::vector<messages::judge_afresh> judged;                 // by the watcher
  std::vector<messages::health_changed> supervisor_changes;   // by the supervisor
  std::vector<messages::heal_outlook> outlooks;               // by the proxy

  std::size_t count(messages::event_kind kind) const {
    std::size_t n = 0;
    for (const auto& e : supervisor_events) n += e.kind == kind;
    return n;
  }
};

inline messages::event_sink_actor::behavior_type recording_sink(
    messages::event_sink_actor::pointer, std::shared_ptr<recorded> out) {
  using namespace messages;
  return {
      [out](instance_added& x) { out->added.push_back(x.instance); },
      [out](instance_removed& x) { out->removed.push_back(x.instance); },
      [out](health_changed& x) { out->health_changes.push_back(x); },
      [out](probe_result& x) { out->probes.push_back(x); },
      [out](supervisor_event& x) { out->supervisor_events.push_back(x); },
      [](traffic_report&) {},
      [](config_update&) {},
      [](config_reloaded&) {},
      [](status_atom) { return std::string("{}"); },
      [](metrics_atom) { return std::string(); },
  };
}

inline messages::health_watcher_actor::behavior_type recording_watcher(
    messages::health_watcher_actor::pointer, std::shared_ptr<recorded> out) {
  using namespace messages;
  return {
      [](instance_added&) {},
      [](instance_removed&) {},
      [](upstream_failure&) {},
      [out](judge_afresh& x) { out->judged.push_back(x); },
      [](config_update&) {},
  };
}

inline messages::upstream_proxy_actor::behavior_type recording_proxy(
    messages::upstream_proxy_actor::pointer, std::shared_ptr<recorded> out) {
  using namespace messages;
  return {
      [out](health_changed& x) { out->health_changes.push_back(x); },
      [](upstream_failure&) {},
      [out](heal_outlook& x) { out->outlooks.push_back(x); },
      [](config_update&) {},
      [](get_atom) { return instance_set{}; },
  };
}

inline messages::restart_supervisor_actor::behavior_type recording_supervisor(
    messages::restart_supervisor_actor::pointer, std::shared_ptr<recorded> out) {
  using namespace messages;
  return {
      [](register_atom, std::string&, health_watcher_actor&) {},
      [](register_atom, std::string&, upstream_proxy_actor&) {},
      [](instance_added&) {},
      [](instance_removed&) {},
      [out](health_changed& x) { out->supervisor_changes.push_back(x); },
      [](config_update&) {},
  };
}

/// An executor whose jobs the test ends by hand: each request waits in `pending`
/// until the test ends it (or never, for an executor that hangs). The promises are
/// kept and delivered by the executor itself, in its own context.
struct manual_jobs {
  struct job {
    std::uint64_t number;
    messages::restart_request request;
  };
  std::vector<job> pending;
  std::map<std::uint64_t, caf::typed_response_promise<messages::restart_result>> promises;
  std::vector<messages::restart_request> requests;  // every one ever received
  std::vector<messages::identify_request> lookups;
  std::string container_id = "c0ffee000001";  // what a lookup answers
  messages::restart_executor_impl executor;

  /// Ends the oldest pending job with `outcome` (delivered once the system runs).
  void finish(messages::restart_outcome outcome, std::string error = {}) {
    auto j = std::move(pending.front());
    pending.erase(pending.begin());
    messages::restart_result result;
    result.instance = j.request.instance;
    result.action = j.request.action;
    result.outcome = outcome;
    result.ran = outcome == messages::restart_outcome::ok || outcome == messages::restart_outcome::failed;
    result.finished = result.ran;
    result.exit_code = outcome == messages::restart_outcome::ok ? 0 : 1;
    result.error = std::move(error);
    caf::anon_send(executor, messages::job_done_atom::value, j.number, std::move(result));
  }
};

inline messages::restart_executor_impl::behavior_type manual_executor(
    messages::restart_executor_impl::pointer self, std::shared_ptr<manual_jobs> jobs) {
  using namespace messages;
  jobs->executor = restart_executor_impl{self};
  return {
      [self, jobs](restart_request& request) -> caf::result<restart_result> {
        auto number = jobs->requests.size();
        auto promise = self->make_response_promise<restart_result>();
        jobs->requests.push_back(request);
        jobs->pending.push_back({number, request});
        jobs->promises.emplace(number, promise);
        return promise;
      },
      [jobs](identify_request& request) -> container_identity {
        jobs->lookups.push_back(request);
        return {request.instance, jobs->container_id, "web-1", ""};
      },
      [jobs](job_done_atom, std::uint64_t number, restart_result& result) {
        auto found = jobs->promises.find(number);
        if (found == jobs->promises.end()) return;
        found->second.deliver(std::move(result));
        jobs->promises.erase(found);
      },
      [](job_done_atom, std::uint64_t, container_identity&) {},
  };
}

/// A prober whose probes the test answers by hand, in any order.
class manual_prober : public net::probe_runner {
 public:
  struct started {
    net::probe_target target;
    std::function<void(net::probe_outcome)> done;
  };

  void probe(const net::probe_target& target, const config::health_config&,
             std::function<void(net::probe_outcome)> done) override {
    pending_.push_back({target, std::move(done)});
    ++started_;
    if (clock) started_at.push_back(clock->now());
  }

  /// When set, the time of each probe started is kept in started_at.
  caf::actor_clock* clock = nullptr;
  std::vector<caf::actor_clock::time_point> started_at;

  std::size_t started_count() const { return started_; }
  std::size_t pending_count() const { return pending_.size(); }
  /// The port of the oldest pending probe.
  std::uint16_t pending_port() const { return pending_.front().target.port; }
  /// Answers the oldest pending probe (of `port`, when given).
  void answer(net::probe_verdict verdict, std::uint16_t port = 0) {
    for (auto it = pending_.begin(); it != pending_.end(); ++it) {
      if (port != 0 && it->target.port != port) continue;
      auto done = std::move(it->done);
      pending_.erase(it);
      net::probe_outcome outcome;
      outcome.verdict = verdict;
      outcome.passed = verdict == net::probe_verdict::passed;
      outcome.detail = std::string(messages::name(verdict));
      done(std::move(outcome));
      return;
    }
  }

 private:
  std::vector<started> pending_;
  std::size_t started_ = 0;
};

inline messages::instance_id make_instance(const std::string& service, std::uint16_t port,
                                           const std::string& address = "127.0.0.1") {
  return {service, address + ":" + std::to_string(port), address, port};
}

}  // namespace dockmaster::test
