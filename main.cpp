// dockmaster: the manager at the front of a Docker Compose deployment.

#include <signal.h>

#include <cstdio>
#include <cstring>
#include <iostream>
#include <string>

#include "actors/runtime.hpp"
#include "config/parse.hpp"
#include "net/logging.hpp"

namespace {

const char* usage = R"(usage: dockmaster [--config FILE] [--check-config FILE] [--help] [--version]

  --config FILE        run with the JSON config in FILE
  --check-config FILE  validate FILE, print the problem if any, and exit (0: valid)
  --help               show this help
  --version            print the version

Without --config, dockmaster runs the embedded default: listen on 0.0.0.0:8080,
route /api/ to 127.0.0.1:8000 and / to 127.0.0.1:3000.
SIGTERM or SIGINT stops accepting, lets requests in flight finish (timeouts.drain)
and exits 0.
)";

int fail_config(const dockmaster::config::config_error& e) {
  std::fprintf(stderr, "dockmaster: config error: %s\n", e.what());
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::string config_file;
  bool check_only = false;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      std::fputs(usage, stdout);
      return 0;
    }
    if (arg == "--version") {
      std::printf("dockmaster %s\n", DOCKMASTER_VERSION);
      return 0;
    }
    if ((arg == "--config" || arg == "--check-config" || arg == "-c") && i + 1 < argc) {
      config_file = argv[++i];
      check_only = arg == "--check-config";
      continue;
    }
    std::fprintf(stderr, "dockmaster: unknown or incomplete argument '%s'\n\n%s", arg.c_str(), usage);
    return 2;
  }

  dockmaster::config::config cfg;
  try {
    cfg = config_file.empty() ? dockmaster::config::default_config()
                              : dockmaster::config::load_config_file(config_file);
  } catch (const dockmaster::config::config_error& e) {
    return fail_config(e);
  }
  if (check_only) {
    std::printf("dockmaster: %s is valid\n", config_file.c_str());
    return 0;
  }

  // Signals are taken synchronously by this thread; every other thread inherits the
  // blocked mask, so none of them is interrupted.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  dockmaster::net::setup_logging(cfg.log);
  auto& log = dockmaster::net::event_log();
  try {
    dockmaster::runtime runtime(cfg);
    runtime.start();
    auto ports = runtime.ports();
    for (std::size_t i = 0; i < cfg.listen.size(); ++i)
      log.info("listening on http://{}:{}/", cfg.listen[i].host, ports[i]);
    int received = 0;
    sigwait(&stop_signals, &received);
    log.info("received {}, draining", received == SIGTERM ? "SIGTERM" : "SIGINT");
    auto busy = runtime.drain();
    runtime.stop();
    log.info("stopped{}", busy ? " (drain timed out)" : "");
  } catch (const std::exception& e) {
    log.error("{}", e.what());
    return 1;
  }
  return 0;
}
