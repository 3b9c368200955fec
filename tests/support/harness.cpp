#include "support/harness.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <sstream>
#include <stdexcept>

#include <gtest/gtest.h>

#include "config/parse.hpp"
#include "net/logging.hpp"

namespace dockmaster::test {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

config::config make_config(bool access_log) {
  config::config cfg;
  cfg.listen = {config::host_port{"127.0.0.1", 0}};
  cfg.admin.listen = config::host_port{"127.0.0.1", 0};
  cfg.actor_system.io_threads = 2;
  cfg.log.level = "warn";
  cfg.log.access_log = access_log;
  return cfg;
}

config::service_config& add_service(config::config& cfg, const std::string& name,
                                    const std::vector<std::string>& instances) {
  auto& service = cfg.services[name];
  service.name = name;
  for (const auto& instance : instances) service.instances.push_back(config::parse_host_port(instance));
  return service;
}

void probe_health_quickly(config::service_config& service) {
  service.health.kind = config::probe_kind::http;
  service.health.http.path = "/health";
  service.health.interval = std::chrono::milliseconds(100);
  service.health.timeout = std::chrono::milliseconds(500);
  service.health.unhealthy_after = 2;
}

void add_route(config::config& cfg, std::string prefix, std::string service, std::string host,
               bool strip_prefix) {
  cfg.routes.push_back(config::route{std::move(prefix), std::move(service), std::move(host), strip_prefix});
}

in_process_proxy::in_process_proxy(config::config cfg, std::string config_file) {
  net::setup_logging(cfg.log);
  runtime_ = std::make_unique<dockmaster::runtime>(std::move(cfg), std::move(config_file));
  runtime_->start();
  port_ = runtime_->ports().at(0);
}

in_process_proxy::~in_process_proxy() { runtime_->stop(); }

refusing_port::refusing_port() : socket_(io_) {
  socket_.open(tcp::v4());
  socket_.bind(tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  port_ = socket_.local_endpoint().port();
}

blackhole_port::blackhole_port() {
  listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  if (listener_ < 0 || ::bind(listener_, reinterpret_cast<sockaddr*>(&address), length) != 0 ||
      ::listen(listener_, 0) != 0 ||
      ::getsockname(listener_, reinterpret_cast<sockaddr*>(&address), &length) != 0)
    return;
  port_ = ntohs(address.sin_port);
  // Connect until one connect does not complete within 300 ms: from then on the queue
  // is full and nobody accepts.
  for (int i = 0; i < 8 && !hangs_; ++i) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) return;
    fillers_.push_back(fd);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0) continue;
    if (errno != EINPROGRESS) return;
    pollfd waiting{fd, POLLOUT, 0};
    hangs_ = ::poll(&waiting, 1, 300) == 0;
  }
}

blackhole_port::~blackhole_port() {
  for (int fd : fillers_) ::close(fd);
  if (listener_ >= 0) ::close(listener_);
}

void temp_file::write(const std::string& content) const {
  // A new file renamed over the old one, as an editor or a config tool writes: a
  // reader sees the old content or the new, never half of it.
  std::string next = path_ + ".next";
  {
    std::ofstream out(next, std::ios::binary | std::ios::trunc);
    out << content;
    if (!out) throw std::runtime_error("cannot write " + next);
  }
  if (std::rename(next.c_str(), path_.c_str()) != 0)
    throw std::runtime_error("rename " + next + ": " + std::strerror(errno));
}

temp_file::temp_file(const std::string& content, const std::string& suffix) {
  const char* dir = std::getenv("TMPDIR");
  std::string pattern = std::string(dir && *dir ? dir : "/tmp") + "/dockmaster-test-XXXXXX" + suffix;
  std::vector<char> name(pattern.begin(), pattern.end());
  name.push_back('\0');
  int fd = ::mkstemps(name.data(), static_cast<int>(suffix.size()));
  if (fd < 0) throw std::runtime_error("mkstemps: " + std::string(std::strerror(errno)));
  path_ = name.data();
  std::size_t written = 0;
  while (written < content.size()) {
    auto n = ::write(fd, content.data() + written, content.size() - written);
    if (n <= 0) break;
    written += static_cast<std::size_t>(n);
  }
  ::close(fd);
}

temp_file::~temp_file() { ::unlink(path_.c_str()); }

child_process::child_process(const std::vector<std::string>& argv,
                             std::optional<std::uint64_t> open_files_limit) {
  // Everything the child needs is prepared before fork: after it, only
  // async-signal-safe calls (this process has other threads).
  std::vector<char*> args;
  for (const auto& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);
  rlimit files{};
  if (open_files_limit) files.rlim_cur = files.rlim_max = static_cast<rlim_t>(*open_files_limit);
  int out[2];
  int err[2];
  if (::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(err, O_CLOEXEC) != 0)
    throw std::runtime_error("pipe2: " + std::string(std::strerror(errno)));
  pid_ = ::fork();
  if (pid_ < 0) throw std::runtime_error("fork: " + std::string(std::strerror(errno)));
  if (pid_ == 0) {
    ::dup2(out[1], 1);
    ::dup2(err[1], 2);
    // Sockets of this test process (upstreams, listeners) must not live on in the child.
#ifdef SYS_close_range
    if (::syscall(SYS_close_range, 3u, ~0u, 0u) != 0)
#endif
      for (int fd = 3; fd < 65536; ++fd) ::close(fd);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::signal(SIGPIPE, SIG_DFL);
    if (open_files_limit && ::setrlimit(RLIMIT_NOFILE, &files) != 0) ::_exit(126);
    ::execvp(args[0], args.data());  // a bare name is looked up on PATH
    ::_exit(127);
  }
  ::close(out[1]);
  ::close(err[1]);
  out_.fd = out[0];
  err_.fd = err[0];
  out_.reader = std::thread([this] { read_into(out_); });
  err_.reader = std::thread([this] { read_into(err_); });
}

child_process::~child_process() {
  if (!status_ && pid_ > 0) {
    ::kill(pid_, SIGKILL);
    wait_exit(10s);
  }
  if (out_.reader.joinable()) out_.reader.join();
  if (err_.reader.joinable()) err_.reader.join();
}

void child_process::read_into(stream& s) {
  char buffer[4096];
  for (;;) {
    auto n = ::read(s.fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    std::lock_guard<std::mutex> lock(mutex_);
    if (n <= 0) {
      s.closed = true;
      ::close(s.fd);
      changed_.notify_all();
      return;
    }
    s.text.append(buffer, static_cast<std::size_t>(n));
    changed_.notify_all();
  }
}

void child_process::kill(int signal) {
  if (!status_) ::kill(pid_, signal);
}

std::optional<int> child_process::wait_exit(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!status_) {
    int status = 0;
    pid_t done = ::waitpid(pid_, &status, WNOHANG);
    if (done == pid_) {
      status_ = status;
      break;
    }
    if (std::chrono::steady_clock::now() >= deadline) break;
    std::this_thread::sleep_for(5ms);
  }
  return status_;
}

bool child_process::running() { return !wait_exit(0ms); }

std::optional<int> child_process::exit_code() const {
  if (!status_) return std::nullopt;
  if (WIFEXITED(*status_)) return WEXITSTATUS(*status_);
  if (WIFSIGNALED(*status_)) return -WTERMSIG(*status_);
  return std::nullopt;
}

std::string child_process::stdout_text() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return out_.text;
}

std::string child_process::stderr_text() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return err_.text;
}

std::optional<std::string> child_process::wait_for_stderr(const std::regex& pattern,
                                                          std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mutex_);
  std::optional<std::string> found;
  changed_.wait_for(lock, timeout, [&] {
    std::smatch match;
    if (std::regex_search(err_.text, match, pattern)) {
      found = match.size() > 1 ? match[1].str() : match[0].str();
      return true;
    }
    return err_.closed;
  });
  return found;
}

bool child_process::wait_output_closed(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mutex_);
  return changed_.wait_for(lock, timeout, [&] { return out_.closed && err_.closed; });
}

dockmaster_process::dockmaster_process(const std::string& config_json,
                                       std::optional<std::uint64_t> open_files_limit)
    : config_(config_json) {
  process_ = std::make_unique<child_process>(
      std::vector<std::string>{DOCKMASTER_BINARY, "--config", config_.path(), "--admin-listen", "127.0.0.1:0"},
      open_files_limit);
  auto port = process_->wait_for_stderr(std::regex(R"(listening on http://[^ ]*:(\d+)/)"), 20s);
  if (!port)
    throw std::runtime_error("dockmaster did not report its port; stderr:\n" + process_->stderr_text());
  port_ = static_cast<std::uint16_t>(std::stoul(*port));
  auto admin = process_->wait_for_stderr(std::regex(R"(admin listener on http://[^ ]*:(\d+)/)"), 5s);
  if (admin) admin_port_ = static_cast<std::uint16_t>(std::stoul(*admin));
}

namespace {
std::optional<std::uint64_t> status_kib(pid_t pid, const std::string& key) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind(key, 0) == 0) {
      std::istringstream fields(line.substr(key.size()));
      std::uint64_t kib = 0;
      fields >> kib;
      return kib;
    }
  }
  return std::nullopt;
}
}  // namespace

dockmaster_process::~dockmaster_process() {
  if (std::uncaught_exceptions() > 0 || ::testing::Test::HasFailure())
    std::fprintf(stderr, "--- stderr of dockmaster (pid %d) ---\n%s--- end ---\n",
                 static_cast<int>(process_->pid()), process_->stderr_text().c_str());
}

std::optional<std::chrono::milliseconds> cpu_time(pid_t pid) {
  std::ifstream file("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  // The command name, in parentheses, may hold spaces: fields are counted after it.
  auto close = stat.rfind(')');
  if (close == std::string::npos) return std::nullopt;
  std::istringstream fields(stat.substr(close + 1));
  std::string field;
  unsigned long long utime = 0, stime = 0;
  // After the name: state (field 3) ... utime is field 14, stime field 15.
  for (int i = 3; i <= 13; ++i) fields >> field;
  if (!(fields >> utime >> stime)) return std::nullopt;
  const long ticks = ::sysconf(_SC_CLK_TCK);
  if (ticks <= 0) return std::nullopt;
  return std::chrono::milliseconds((utime + stime) * 1000 / static_cast<unsigned long long>(ticks));
}

std::optional<std::uint64_t> vm_rss_kib(pid_t pid) { return status_kib(pid, "VmRSS:"); }
std::optional<std::uint64_t> vm_hwm_kib(pid_t pid) { return status_kib(pid, "VmHWM:"); }

}  // namespace dockmaster::test
