#pragma once

// What the two restart executors (docker_engine, local_executor) share: each request
// becomes a job on a thread of its own, whose result comes back as a message and
// answers the request. The executor itself never blocks, and its jobs never hold up
// shutdown: a job still running when the executor exits is abandoned (logged), and its
// thread, which only ever touches its own mailbox then, ends by itself.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include <caf/actor_cast.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <caf/typed_response_promise.hpp>
#include <caf/weak_intrusive_ptr.hpp>

#include "messages/actor_types.hpp"
#include "net/logging.hpp"

namespace dockmaster::actors {

/// Where a job's thread hands in its result. Closed when the executor exits, after
/// which no thread touches the executor or the actor system again.
struct job_mailbox {
  std::mutex mutex;
  bool open = true;
  caf::weak_actor_ptr executor;

  template <class Result>
  void deliver(std::uint64_t job, Result result) {
    std::lock_guard<std::mutex> lock(mutex);
    if (!open) return;
    if (auto strong = executor.lock())
      caf::anon_send(caf::actor_cast<messages::restart_executor_impl>(strong),
                     messages::job_done_atom::value, job, std::move(result));
  }
};

struct executor_state {
  executor_state() = default;
  executor_state(const executor_state&) = delete;
  executor_state& operator=(const executor_state&) = delete;
  /// Runs when the executor exits: closes the mailbox and says which jobs it abandons.
  ~executor_state() {
    if (mailbox) {
      std::lock_guard<std::mutex> lock(mailbox->mutex);
      mailbox->open = false;
    }
    for (const auto& [job, what] : running)
      net::event_log().warn("shutting down: abandoning {} (still running)", what);
  }

  std::uint64_t next_job = 0;
  std::map<std::uint64_t, caf::typed_response_promise<messages::restart_result>> restarts;
  std::map<std::uint64_t, caf::typed_response_promise<messages::container_identity>> identities;
  std::map<std::uint64_t, std::string> running;  // what each job does, for the log
  std::shared_ptr<job_mailbox> mailbox;

  static inline const char* name = "restart_executor";
};

using executor_pointer = messages::restart_executor_impl::stateful_pointer<executor_state>;
using restart_job = std::function<messages::restart_result(const messages::restart_request&)>;
using identify_job =
    std::function<messages::container_identity(const messages::identify_request&)>;

/// The variables that tell a restart command which instance failed, so that one
/// command can serve every instance of a service.
inline std::vector<std::string> instance_environment(const messages::restart_request& request,
                                                     const std::string& container) {
  std::vector<std::string> env = request.env;
  env.push_back("DOCKMASTER_SERVICE=" + request.instance.service);
  env.push_back("DOCKMASTER_INSTANCE=" + request.instance.endpoint());
  env.push_back("DOCKMASTER_INSTANCE_CONFIGURED=" + request.instance.configured);
  if (!container.empty()) env.push_back("DOCKMASTER_CONTAINER=" + container);
  return env;
}

/// Runs `work` on a detached thread of its own and hands its result to the executor's
/// mailbox as job `job`; records what it does for the shutdown log.
template <class Work>
void start_job(executor_pointer self, std::uint64_t job, std::string what, Work work) {
  auto& state = self->state;
  if (!state.mailbox) {
    state.mailbox = std::make_shared<job_mailbox>();
    state.mailbox->executor = caf::actor_cast<caf::weak_actor_ptr>(self->ctrl());
  }
  state.running.emplace(job, std::move(what));
  std::thread([mailbox = state.mailbox, job, work = std::move(work)] {
    mailbox->deliver(job, work());
  }).detach();
}

inline messages::restart_executor_impl::behavior_type run_jobs(executor_pointer self,
                                                                restart_job restart,
                                                                identify_job identify) {
  using namespace messages;
  return {
      [self, restart](restart_request& request) -> caf::result<restart_result> {
        auto job = self->state.next_job++;
        auto promise = self->make_response_promise<restart_result>();
        self->state.restarts.emplace(job, promise);
        auto what = std::string(name(request.action)) + " for " + request.instance.service + " " +
                    request.instance.endpoint();
        start_job(self, job, std::move(what),
                  [restart, request = std::move(request)] { return restart(request); });
        return promise;
      },
      [self, identify](identify_request& request) -> caf::result<container_identity> {
        auto job = self->state.next_job++;
        auto promise = self->make_response_promise<container_identity>();
        self->state.identities.emplace(job, promise);
        auto what = "container lookup for " + request.instance.service + " " +
                    request.instance.endpoint();
        start_job(self, job, std::move(what),
                  [identify, request = std::move(request)] { return identify(request); });
        return promise;
      },
      [self](job_done_atom, std::uint64_t job, restart_result& result) {
        auto& state = self->state;
        state.running.erase(job);
        auto found = state.restarts.find(job);
        if (found == state.restarts.end()) return;
        found->second.deliver(std::move(result));
        state.restarts.erase(found);
      },
      [self](job_done_atom, std::uint64_t job, container_identity& identity) {
        auto& state = self->state;
        state.running.erase(job);
        auto found = state.identities.find(job);
        if (found == state.identities.end()) return;
        found->second.deliver(std::move(identity));
        state.identities.erase(found);
      },
  };
}

}  // namespace dockmaster::actors
