#pragma once

#include <cstddef>

#include "actors/executor_jobs.hpp"

namespace dockmaster::actors {

/// Runs a restart command on the host (executor "local": dockmaster outside Docker,
/// and the README's demo), each on a thread of its own, with the same timeout and
/// output capture as an exec in a container. A command past its timeout is killed.
messages::restart_executor_impl::behavior_type local_executor(executor_pointer self,
                                                              std::size_t output_limit);

}  // namespace dockmaster::actors
