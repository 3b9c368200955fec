#pragma once

#include <string>

#include "actors/executor_jobs.hpp"

namespace dockmaster::actors {

/// The only actor that speaks to the Docker socket. Each restart_request (an exec in
/// the instance's container, or a container restart) runs on a thread of its own, so a
/// hanging engine delays nothing else; the reply comes when the job has ended. A
/// container that is not the one that failed (another than the one that served the
/// instance, created after the failure, or labelled or addressed as another
/// instance) is never touched: the result is `skipped`, with the reason.
messages::restart_executor_impl::behavior_type docker_engine(executor_pointer self,
                                                             std::string socket_path);

}  // namespace dockmaster::actors
