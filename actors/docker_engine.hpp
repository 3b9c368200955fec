#pragma once

#include <string>

#include "actors/executor_jobs.hpp"

namespace dockmaster::actors {

/// The only actor that speaks to the Docker socket. Each restart_request (an exec in
/// the instance's container, or a container restart) runs on a thread of its own, so a
/// hanging engine delays nothing else; the reply comes when the job has ended.
messages::restart_executor_actor::behavior_type docker_engine(
    executor_pointer self,
    std::string socket_path);

}  // namespace dockmaster::actors
