#include "actors/docker_engine.hpp"


#include "docker/container_lookup.hpp"
#include "docker/engine_client.hpp"

#include "net/logging.hpp"

namespace dockmaster::actors {

using namespace messages;

namespace {

/// The blocking part, on the job's own thread.
restart_result run_job(const std::string& socket_path, const restart_request& request) {
  restart_result result;
  result.instance = request.instance;
  result.action = request.action;
  result.command = request.action == "restart_container" ? "POST /containers/{id}/restart"
                                                         : net::join_words(request.command);
  auto started = std::chrono::steady_clock::now();
  try {
    docker::engine_client client(socket_path);
    auto container = docker::find_container(
        client, request.container, request.compose_project, request.compose_service,
        {request.instance.configured, request.instance.address, request.instance.port});
    result.container = container.id.substr(0, 12) + " (" + container.name + ")";
    if (request.action == "restart_container") {
      client.restart_container(container.id, std::chrono::seconds(request.timeout_ms / 1000));
      result.ran = result.finished = true;
      result.exit_code = 0;
    } else {
      docker::exec_options options;
      options.argv = request.command;
      options.user = request.user;
      options.env = request.env;
      options.working_dir = request.working_dir;
      options.timeout = std::chrono::milliseconds(request.timeout_ms);
      auto outcome = client.exec(container.id, options);
      result.ran = true;
      result.finished = outcome.finished;
      result.exit_code = outcome.exit_code;
      result.output_tail = outcome.output;
      if (!outcome.finished)
        result.error = "timed out after " + std::to_string(request.timeout_ms) + " ms";
      else if (outcome.exit_code != 0)
        result.error = "exited with " + std::to_string(outcome.exit_code);
    }
  } catch (const docker::engine_error& e) {
    result.error = e.what();
  } catch (const std::exception& e) {
    result.error = std::string("unexpected: ") + e.what();
  }
  result.duration_ms = static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                            started)
          .count());
  return result;
}


}  // namespace

restart_executor_actor::behavior_type docker_engine(executor_pointer self,
                                                    std::string socket_path) {
  return run_jobs(self, [socket_path](const restart_request& request) {
    return run_job(socket_path, request);
  });
}

}  // namespace dockmaster::actors
