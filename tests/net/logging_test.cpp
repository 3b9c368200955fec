// The loggers can be set up again while other threads log (a reload): no logger is
// ever replaced under a thread that holds it.

#include <gtest/gtest.h>

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "net/logging.hpp"

namespace dockmaster::net {
namespace {

/// Sends stderr to a temporary file for the life of the object.
class captured_stderr {
 public:
  captured_stderr() : saved_(::dup(STDERR_FILENO)) {
    char name[] = "/tmp/dockmaster-log-XXXXXX";
    file_ = ::mkstemp(name);
    ::unlink(name);
    ::dup2(file_, STDERR_FILENO);
  }
  ~captured_stderr() {
    ::dup2(saved_, STDERR_FILENO);
    ::close(saved_);
    ::close(file_);
  }
  /// The last line written so far.
  std::string last_line() const {
    std::string text;
    char chunk[4096];
    for (off_t at = 0;;) {
      auto n = ::pread(file_, chunk, sizeof chunk, at);
      if (n <= 0) break;
      text.append(chunk, static_cast<std::size_t>(n));
      at += n;
    }
    if (!text.empty() && text.back() == '\n') text.pop_back();
    return text.substr(text.rfind('\n') + 1);
  }

 private:
  int saved_;
  int file_;
};

TEST(Logging, SettingUpTheLoggersAgainWhileOtherThreadsLogIsSafe) {
  captured_stderr captured;
  std::atomic<bool> running{true};
  std::atomic<std::uint64_t> lines{0};
  std::vector<std::thread> writers;
  for (int t = 0; t < 3; ++t)
    writers.emplace_back([&] {
      while (running) {
        event_log().info("event {}", 1);
        log_event(spdlog::level::warn, "health_changed", {field("service", "web"), number_field("n", 2)});
        log_access({"127.0.0.1", "GET", "/", 200, "-", std::chrono::microseconds(5), "id"});
        ++lines;
      }
    });
  for (int i = 0; i < 300; ++i) {
    config::log_config log;
    log.format = i % 2 ? "json" : "text";
    log.level = i % 3 ? "info" : "debug";
    setup_logging(log);
  }
  // Until every writer has logged through a good number of the changes.
  while (lines < 1000) std::this_thread::yield();
  running = false;
  for (auto& w : writers) w.join();
  // The last setup is the one in force.
  config::log_config json_log;
  json_log.format = "json";
  setup_logging(json_log);
  log_event(spdlog::level::warn, "restart_done", {field("service", "web")});
  EXPECT_EQ(captured.last_line().rfind("{\"time\":", 0), 0u) << captured.last_line();
  setup_logging(config::log_config{});
}

}  // namespace
}  // namespace dockmaster::net
