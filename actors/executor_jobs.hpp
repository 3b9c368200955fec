#pragma once

// What the two restart executors (docker_engine, local_executor) share: each request
// becomes a job on a thread of its own, whose result comes back as a message and
// answers the request. The executor itself never blocks.

#include <cstdint>
#include <functional>
#include <map>

#include <caf/actor_system.hpp>
#include <caf/blocking_actor.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <caf/typed_response_promise.hpp>

#include "messages/actor_types.hpp"

namespace dockmaster::actors {

struct executor_state {
  std::uint64_t next_job = 0;
  std::map<std::uint64_t, caf::typed_response_promise<messages::restart_result>> jobs;

  static inline const char* name = "restart_executor";
};

using executor_pointer = messages::restart_executor_actor::stateful_pointer<executor_state>;
using restart_job = std::function<messages::restart_result(const messages::restart_request&)>;

inline messages::restart_executor_actor::behavior_type run_jobs(executor_pointer self,
                                                                 restart_job job) {
  using namespace messages;
  return {
      [self, job](restart_request& request) -> caf::result<restart_result> {
        auto& state = self->state;
        auto id = state.next_job++;
        auto promise = self->make_response_promise<restart_result>();
        state.jobs.emplace(id, promise);
        restart_executor_actor me{self};
        // (Arguments rather than captures: CAF 0.17 dereferences a null pointer when
        // a function actor is spawned without any.)
        self->system().spawn<caf::detached>(
            [job](caf::blocking_actor* worker, restart_executor_actor reply_to, std::uint64_t job_id,
                  const restart_request& job_request) {
              worker->send(reply_to, job_done_atom::value, job_id, job(job_request));
            },
            me, id, request);
        return promise;
      },
      [self](job_done_atom, std::uint64_t id, restart_result& result) {
        auto found = self->state.jobs.find(id);
        if (found == self->state.jobs.end()) return;
        found->second.deliver(std::move(result));
        self->state.jobs.erase(found);
      },
  };
}

}  // namespace dockmaster::actors
