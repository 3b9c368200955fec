#pragma once

// The Docker Engine API client: the only code that speaks to the Docker socket.
// Calls are synchronous with deadlines; the docker_engine actor runs each on a thread
// of its own, so a slow engine never blocks an actor.

#include <chrono>
#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "docker/container_logs.hpp"
#include "docker/engine_json.hpp"

namespace dockmaster::docker {

/// The engine could not be reached, answered an error status, timed out or sent
/// something unreadable. `status` is the HTTP status (0 when there was none).
class engine_error : public std::runtime_error {
 public:
  engine_error(int status, const std::string& what) : std::runtime_error(what), status_(status) {}
  int status() const { return status_; }

 private:
  int status_;
};

struct exec_options {
  std::vector<std::string> argv;
  std::string user;                // empty: the container's default
  std::vector<std::string> env;    // "NAME=value"
  std::string working_dir;         // empty: the container's default
  std::chrono::milliseconds timeout{15000};
  std::size_t output_limit = 16 * 1024;  // bytes of output kept (the tail)
};

struct exec_outcome {
  bool finished = false;   // false: timed out (the exec may still be running)
  int exit_code = -1;      // valid when finished
  std::string output;      // stdout and stderr interleaved, the last output_limit bytes
  std::chrono::milliseconds duration{0};
  std::string exec_id;
};

class engine_client {
 public:
  /// `socket_path`: a unix socket path. Each call gets `call_timeout` for one
  /// request/response exchange.
  explicit engine_client(std::string socket_path,
                         std::chrono::milliseconds call_timeout = std::chrono::seconds(10));

  /// The socket to use: `configured` when not empty, else DOCKER_HOST when it is
  /// `unix://PATH`, else /var/run/docker.sock.
  static std::string socket_path_from(const std::string& configured);

  /// GET /_ping: true when the engine answers "OK".
  bool ping();

  /// Running containers carrying every given label (`key=value`, or `key` alone).
  std::vector<container_info> list_containers(const std::vector<std::string>& label_filters);

  /// GET /containers/{id}/json. Throws engine_error (404: no such container).
  container_info inspect_container(const std::string& id_or_name);

  /// Creates and starts an exec in the container, collects its demultiplexed output,
  /// and polls GET /exec/{id}/json until it is no longer running or the timeout.
  /// Throws engine_error when the engine refuses (404 no container, 409 not running).
  exec_outcome exec(const std::string& container, const exec_options& options);

  /// GET /containers/{id}/logs?stdout=1&stderr=1&tail=N&timestamps=1: the container's
  /// last log lines, stdout and stderr interleaved, each line starting with its time.
  /// `tty`: the container's Config.Tty (its log is then not multiplexed). Bounded by
  /// `limits` whatever the engine sends, and by `timeout` (at most the call timeout).
  /// Throws engine_error.
  std::string container_logs(const std::string& id_or_name, bool tty, const log_tail_limits& limits,
                             std::chrono::milliseconds timeout);

  /// POST /containers/{id}/restart?t=N: the escalation step, only when configured.
  void restart_container(const std::string& id_or_name, std::chrono::seconds stop_timeout);

 private:
  std::string socket_path_;
  std::chrono::milliseconds call_timeout_;
};

}  // namespace dockmaster::docker
