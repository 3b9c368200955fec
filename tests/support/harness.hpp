#pragma once

// Running dockmaster for the integration tests: a config builder, the runtime
// in-process, and the real binary as a child process.

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "actors/runtime.hpp"
#include "config/config.hpp"

namespace dockmaster::test {

using namespace std::chrono_literals;

/// Listen on 127.0.0.1:0, two I/O threads, log level warn, no services or routes.
config::config make_config(bool access_log = false);

/// Adds a service whose instances are "host:port" texts.
config::service_config& add_service(config::config& cfg, const std::string& name,
                                    const std::vector<std::string>& instances);
void add_route(config::config& cfg, std::string prefix, std::string service,
               std::string host = "", bool strip_prefix = false);
/// Probes `GET /health` every 100 ms with a 500 ms timeout, unhealthy after 2 failures:
/// a heal test's instance is judged within a fraction of a second.
void probe_health_quickly(config::service_config& service);

/// The runtime started in-process (its logging set up from cfg.log first); with
/// `config_file`, the file a reload reads again.
class in_process_proxy {
 public:
  explicit in_process_proxy(config::config cfg, std::string config_file = {});
  ~in_process_proxy();
  std::uint16_t port() const { return port_; }
  std::uint16_t admin_port() const { return runtime_->admin_port(); }
  dockmaster::runtime& runtime() { return *runtime_; }

 private:
  std::unique_ptr<dockmaster::runtime> runtime_;
  std::uint16_t port_ = 0;
};

/// A port on 127.0.0.1 that refuses connections: bound, never listening, and held
/// so that nothing else takes it.
class refusing_port {
 public:
  refusing_port();
  std::uint16_t port() const { return port_; }
  std::string host_port() const { return "127.0.0.1:" + std::to_string(port_); }

 private:
  boost::asio::io_context io_;
  boost::asio::ip::tcp::socket socket_;
  std::uint16_t port_ = 0;
};

/// A port on 127.0.0.1 where connections hang: it listens with a backlog of 0, never
/// accepts, and its accept queue is already full, so the kernel drops further SYNs (the
/// client resends them after 1 s, 3 s, ...), as a host that is gone or a firewall does.
/// A connect to it ends only by timeout. `hangs()` says whether that could be arranged.
class blackhole_port {
 public:
  blackhole_port();
  ~blackhole_port();
  bool hangs() const { return hangs_; }
  std::uint16_t port() const { return port_; }
  std::string host_port() const { return "127.0.0.1:" + std::to_string(port_); }

 private:
  int listener_ = -1;
  std::vector<int> fillers_;
  std::uint16_t port_ = 0;
  bool hangs_ = false;
};

/// A file under the temp directory with the given content, removed on destruction.
class temp_file {
 public:
  explicit temp_file(const std::string& content, const std::string& suffix = ".json");
  ~temp_file();
  const std::string& path() const { return path_; }
  /// Replaces the content (for a reload).
  void write(const std::string& content) const;

 private:
  std::string path_;
};

/// A child process with its stdout and stderr collected by reader threads.
class child_process {
 public:
  /// fork/exec of argv[0] with argv; throws on failure. With `open_files_limit`, the
  /// child runs with RLIMIT_NOFILE (soft and hard) lowered to it.
  explicit child_process(const std::vector<std::string>& argv,
                         std::optional<std::uint64_t> open_files_limit = std::nullopt);
  ~child_process();  // SIGKILL and reap if still running

  child_process(const child_process&) = delete;
  child_process& operator=(const child_process&) = delete;

  pid_t pid() const { return pid_; }
  void kill(int signal);
  /// Waits up to `timeout` for the process to end; its wait status, or nullopt.
  std::optional<int> wait_exit(std::chrono::milliseconds timeout);
  /// Exit code when it exited normally, -signal when killed, nullopt when running.
  std::optional<int> exit_code() const;
  bool running();

  std::string stdout_text() const;
  std::string stderr_text() const;
  /// Waits until stderr matches `pattern`; the match's first group (or whole match).
  std::optional<std::string> wait_for_stderr(const std::regex& pattern,
                                             std::chrono::milliseconds timeout = 10s);
  /// Waits until both output pipes are closed (the process and its children ended).
  bool wait_output_closed(std::chrono::milliseconds timeout);

 private:
  struct stream {
    int fd = -1;
    std::string text;
    bool closed = false;
    std::thread reader;
  };
  void read_into(stream& s);

  pid_t pid_ = -1;
  std::optional<int> status_;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  stream out_;
  stream err_;
};

/// The dockmaster binary run with `config_json` (written to a temp file), waiting
/// until it logs its listening port (the config must log at info level); with
/// `open_files_limit`, under that RLIMIT_NOFILE.
class dockmaster_process {
 public:
  explicit dockmaster_process(const std::string& config_json,
                              std::optional<std::uint64_t> open_files_limit = std::nullopt);
  /// Shows the binary's stderr in the test output when the test failed.
  ~dockmaster_process();
  std::uint16_t port() const { return port_; }
  /// The admin listener's port (the binary runs with --admin-listen 127.0.0.1:0).
  std::uint16_t admin_port() const { return admin_port_; }
  child_process& process() { return *process_; }
  /// The config file it runs with (rewrite it, then SIGHUP, to reload).
  const temp_file& config_file() const { return config_; }

 private:
  temp_file config_;
  std::unique_ptr<child_process> process_;
  std::uint16_t port_ = 0;
  std::uint16_t admin_port_ = 0;
};

/// CPU time (user + system) a process has used so far, from /proc/PID/stat.
std::optional<std::chrono::milliseconds> cpu_time(pid_t pid);

/// VmRSS (resident now) and VmHWM (peak resident) of a process in KiB, from
/// /proc/PID/status.
std::optional<std::uint64_t> vm_rss_kib(pid_t pid);
std::optional<std::uint64_t> vm_hwm_kib(pid_t pid);

}  // namespace dockmaster::test
