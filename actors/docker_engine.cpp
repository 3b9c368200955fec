#include "actors/docker_engine.hpp"

#include "docker/container_lookup.hpp"
#include "docker/engine_client.hpp"
#include "net/logging.hpp"

namespace dockmaster::actors {

using namespace messages;

namespace {

std::uint64_t elapsed_ms(std::chrono::steady_clock::time_point since) {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                        std::chrono::steady_clock::now() - since)
                                        .count());
}

std::string short_id(const std::string& id) { return id.substr(0, 12); }

docker::instance_hint hint_of(const instance_id& id) {
  return {id.configured, id.address, id.port};
}

/// Why `container` must not be restarted for `request`, or empty: it is a different
/// container from the one that served the instance, or was created after the failure.
std::string not_the_one_that_failed(const docker::container_info& container,
                                    const restart_request& request) {
  if (!request.served_by.empty() && container.id != request.served_by)
    return "container " + short_id(container.id) + " (" + container.name + ") is not " +
           short_id(request.served_by) +
           ", which served the instance when it was last healthy: it replaced it";
  if (request.failed_at_unix_ms > 0 && container.created_unix_ms > request.failed_at_unix_ms)
    return "container " + short_id(container.id) + " (" + container.name +
           ") was created after the instance failed: it cannot be the one that failed";
  return {};
}

/// How long the log tail may take: it is taken before the action, so it delays the heal.
constexpr std::chrono::milliseconds log_tail_timeout{2000};

/// The container's last log lines, as the failure left them: taken before the action
/// runs on it, on the container the guards chose. A failure to read them is recorded
/// and does not stop the restart.
void take_log_tail(docker::engine_client& client, const docker::container_info& container,
                   restart_result& result) {
  try {
    result.log_tail = client.container_logs(container.id, container.tty, docker::log_tail_limits{},
                                            log_tail_timeout);
  } catch (const std::exception& e) {
    result.log_error = e.what();
  }
}

/// The blocking part, on the job's own thread.
restart_result run_job(const std::string& socket_path, const restart_request& request) {
  restart_result result;
  result.instance = request.instance;
  result.action = request.action;
  result.command = request.action == restart_action::restart_container
                       ? "POST /containers/{id}/restart"
                       : net::join_words(request.command);
  auto started = std::chrono::steady_clock::now();
  try {
    docker::engine_client client(socket_path);
    auto container = docker::find_container(client, request.container, request.compose_project,
                                            request.compose_service, hint_of(request.instance));
    result.container = short_id(container.id) + " (" + container.name + ")";
    auto why = not_the_one_that_failed(container, request);
    if (why.empty()) take_log_tail(client, container, result);
    if (!why.empty()) {
      result.outcome = restart_outcome::skipped;
      result.error = why;
    } else if (request.action == restart_action::restart_container) {
      client.restart_container(container.id, std::chrono::seconds(request.timeout_ms / 1000));
      result.ran = result.finished = true;
      result.exit_code = 0;
      result.outcome = restart_outcome::ok;
    } else {
      docker::exec_options options;
      options.argv = request.command;
      options.user = request.user;
      options.env = instance_environment(request, container.id);
      options.working_dir = request.working_dir;
      options.timeout = std::chrono::milliseconds(request.timeout_ms);
      auto outcome = client.exec(container.id, options);
      result.ran = true;
      result.finished = outcome.finished;
      result.exit_code = outcome.exit_code;
      result.output_tail = outcome.output;
      if (!outcome.finished) {
        result.outcome = restart_outcome::timed_out;
        result.error = "timed out after " + std::to_string(request.timeout_ms) + " ms";
      } else if (outcome.exit_code != 0) {
        result.outcome = restart_outcome::failed;
        result.error = "exited with " + std::to_string(outcome.exit_code);
      } else {
        result.outcome = restart_outcome::ok;
      }
    }
  } catch (const docker::not_the_instance& e) {
    result.outcome = restart_outcome::skipped;
    result.error = e.what();
  } catch (const docker::engine_error& e) {
    result.outcome = restart_outcome::not_run;
    result.error = e.what();
  } catch (const std::exception& e) {
    result.outcome = restart_outcome::not_run;
    result.error = std::string("unexpected: ") + e.what();
  }
  result.duration_ms = elapsed_ms(started);
  return result;
}

container_identity identify_container(const std::string& socket_path, const identify_request& request) {
  container_identity identity;
  identity.instance = request.instance;
  try {
    docker::engine_client client(socket_path);
    auto container = docker::find_container(client, request.container, request.compose_project,
                                            request.compose_service, hint_of(request.instance));
    identity.id = container.id;
    identity.name = container.name;
  } catch (const std::exception& e) {
    identity.error = e.what();
  }
  return identity;
}

}  // namespace

restart_executor_impl::behavior_type docker_engine(executor_pointer self, std::string socket_path) {
  return run_jobs(
      self, [socket_path](const restart_request& request) { return run_job(socket_path, request); },
      [socket_path](const identify_request& request) { return identify_container(socket_path, request); });
}

}  // namespace dockmaster::actors
