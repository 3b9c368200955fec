#include "actors/local_executor.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>


extern char** environ;

#include "net/logging.hpp"

namespace dockmaster::actors {

using namespace messages;

namespace {

/// Runs argv with stdout and stderr on one pipe, in a process group of its own so that
/// a timeout kills whatever it started too.
restart_result run_command(const restart_request& request, std::size_t output_limit) {
  restart_result result;
  result.instance = request.instance;
  result.action = request.action;
  result.command = net::join_words(request.command);
  result.container = "-";
  auto started = std::chrono::steady_clock::now();
  auto elapsed_ms = [&] {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                 started)
        .count();
  };
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) {
    result.error = std::string("pipe: ") + std::strerror(errno);
    return result;
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], STDERR_FILENO);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  if (!request.working_dir.empty())
    posix_spawn_file_actions_addchdir_np(&actions, request.working_dir.c_str());
  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK);
  posix_spawnattr_setpgroup(&attributes, 0);
  sigset_t no_signals;
  sigemptyset(&no_signals);
  posix_spawnattr_setsigmask(&attributes, &no_signals);  // dockmaster blocks SIGTERM/SIGINT

  std::vector<std::string> env_storage;
  for (char** e = environ; *e != nullptr; ++e) env_storage.emplace_back(*e);
  for (const auto& e : instance_environment(request, request.served_by)) env_storage.push_back(e);
  std::vector<char*> env;
  for (auto& e : env_storage) env.push_back(e.data());
  env.push_back(nullptr);
  std::vector<std::string> argv_storage = request.command;
  std::vector<char*> argv;
  for (auto& a : argv_storage) argv.push_back(a.data());
  argv.push_back(nullptr);

  pid_t pid = -1;
  int rc = ::posix_spawnp(&pid, argv[0], &actions, &attributes, argv.data(), env.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attributes);
  ::close(pipe_fds[1]);
  if (rc != 0) {
    ::close(pipe_fds[0]);
    result.error = "cannot run " + request.command[0] + ": " + std::strerror(rc);
    result.duration_ms = static_cast<std::uint64_t>(elapsed_ms());
    return result;
  }
  result.ran = true;
  result.outcome = restart_outcome::failed;  // until it has exited 0
  // Done when the command exits, not when its output pipe closes: a restart command
  // that starts the service in the background leaves the pipe open in that child, and
  // waiting for end-of-file would run into the timeout and kill what it started. The
  // exit is seen through a pidfd in the poll set (Linux 5.3+), else by waitpid every
  // 20 ms. The tail of the output is kept.
  auto keep = [&](const char* data, std::size_t n) {
    result.output_tail.append(data, n);
    if (result.output_tail.size() > output_limit)
      result.output_tail.erase(0, result.output_tail.size() - output_limit);
  };
  int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  bool timed_out = false;
  bool exited = false;
  bool pipe_open = true;
  int status = 0;
  char chunk[4096];
  while (!exited) {
    auto left = static_cast<long long>(request.timeout_ms) - elapsed_ms();
    if (left <= 0) {
      timed_out = true;
      break;
    }
    pollfd p[2] = {{pipe_open ? pipe_fds[0] : -1, POLLIN, 0}, {pidfd, POLLIN, 0}};
    int wait_ms = static_cast<int>(std::min<long long>(left, pidfd >= 0 ? 1000 : 20));
    int ready = ::poll(p, 2, wait_ms);
    if (ready < 0 && errno == EINTR) continue;
    if (pipe_open && (p[0].revents & (POLLIN | POLLHUP | POLLERR))) {
      auto n = ::read(pipe_fds[0], chunk, sizeof chunk);
      if (n > 0)
        keep(chunk, static_cast<std::size_t>(n));
      else if (n == 0 || errno != EINTR)
        pipe_open = false;
    }
    pid_t reaped = ::waitpid(pid, &status, WNOHANG);
    exited = reaped == pid;
  }
  if (exited && pipe_open) {
    // What the command wrote before it exited; a background child keeps writing to a
    // pipe that nobody reads any more, as after a `docker exec`.
    ::fcntl(pipe_fds[0], F_SETFL, O_NONBLOCK);
    ssize_t n;
    while ((n = ::read(pipe_fds[0], chunk, sizeof chunk)) > 0) keep(chunk, static_cast<std::size_t>(n));
  }
  ::close(pipe_fds[0]);
  if (pidfd >= 0) ::close(pidfd);
  if (timed_out) {
    ::kill(-pid, SIGKILL);
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
  }
  result.finished = !timed_out;
  if (timed_out) {
    result.outcome = restart_outcome::timed_out;
    result.error = "timed out after " + std::to_string(request.timeout_ms) + " ms";
  } else if (WIFEXITED(status)) {
    result.exit_code = WEXITSTATUS(status);
    if (result.exit_code == 0) result.outcome = restart_outcome::ok;
    if (result.exit_code != 0) result.error = "exited with " + std::to_string(result.exit_code);
  } else if (WIFSIGNALED(status)) {
    result.exit_code = 128 + WTERMSIG(status);
    result.error = std::string("killed by signal ") + std::to_string(WTERMSIG(status));
  }
  result.duration_ms = static_cast<std::uint64_t>(elapsed_ms());
  return result;
}


}  // namespace

restart_executor_impl::behavior_type local_executor(executor_pointer self,
                                                    std::size_t output_limit) {
  return run_jobs(
      self,
      [output_limit](const restart_request& request) { return run_command(request, output_limit); },
      [](const identify_request& request) {
        return container_identity{request.instance, "", "", "the local executor runs no containers"};
      });
}

}  // namespace dockmaster::actors
