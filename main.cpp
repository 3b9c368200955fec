// dockmaster: the manager at the front of a Docker Compose deployment.

#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "actors/runtime.hpp"
#include "config/parse.hpp"
#include "net/logging.hpp"
#include "net/self_check.hpp"

namespace {

const char* usage = R"(usage: dockmaster [--config FILE] [--listen HOST:PORT]... [--admin-listen HOST:PORT]
                  [--health-check] [--check-config FILE] [--help] [--version]

  --config FILE        run with the JSON config in FILE
  --listen HOST:PORT   listen here instead of the config's "listen" (repeatable);
                       the environment variable DOCKMASTER_LISTEN (addresses separated
                       by commas) does the same when no --listen is given
  --admin-listen HOST:PORT
                       the admin listener (metrics, status, page) here instead of the
                       config's admin.listen; "off" turns it off; the environment
                       variable DOCKMASTER_ADMIN_LISTEN does the same
  --health-check       do not run: ask the dockmaster that runs with this config for
                       GET /health on its admin listener (or, without one, for its
                       public status path) and exit 0 when it answers 200, 1 otherwise
                       (for a container HEALTHCHECK)
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

/// Splits "a,b" into addresses; throws config_error naming where they came from.
std::vector<dockmaster::config::host_port> parse_listen_list(const std::string& text,
                                                             const std::string& origin) {
  std::vector<dockmaster::config::host_port> addresses;
  std::size_t start = 0;
  while (start <= text.size()) {
    auto comma = text.find(',', start);
    auto item = text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    try {
      addresses.push_back(dockmaster::config::parse_host_port(item));
    } catch (const std::invalid_argument& e) {
      throw dockmaster::config::config_error(origin, "\"" + item + "\": " + e.what());
    }
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return addresses;
}

}  // namespace

int main(int argc, char** argv) {
  std::string config_file;
  bool check_only = false;
  bool health_check = false;
  std::vector<std::string> listen_args;
  std::optional<std::string> admin_listen_arg;
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
    if (arg == "--listen" && i + 1 < argc) {
      listen_args.push_back(argv[++i]);
      continue;
    }
    if (arg == "--admin-listen" && i + 1 < argc) {
      admin_listen_arg = argv[++i];
      continue;
    }
    if (arg == "--health-check") {
      health_check = true;
      continue;
    }
    std::fprintf(stderr, "dockmaster: unknown or incomplete argument '%s'\n\n%s", arg.c_str(), usage);
    return 2;
  }

  dockmaster::config::config cfg;
  try {
    cfg = config_file.empty() ? dockmaster::config::default_config()
                              : dockmaster::config::load_config_file(config_file);
    if (!listen_args.empty()) {
      cfg.listen.clear();
      for (const auto& arg : listen_args)
        for (auto& address : parse_listen_list(arg, "--listen")) cfg.listen.push_back(address);
    } else if (const char* env = std::getenv("DOCKMASTER_LISTEN"); env && *env) {
      cfg.listen = parse_listen_list(env, "DOCKMASTER_LISTEN");
    }
    const char* admin_env = std::getenv("DOCKMASTER_ADMIN_LISTEN");
    if (!admin_listen_arg && admin_env && *admin_env) admin_listen_arg = admin_env;
    if (admin_listen_arg) {
      if (*admin_listen_arg == "off") {
        cfg.admin.listen.reset();
      } else {
        auto addresses = parse_listen_list(*admin_listen_arg, "--admin-listen");
        if (addresses.size() != 1)
          throw dockmaster::config::config_error("--admin-listen", "takes one address");
        cfg.admin.listen = addresses.front();
      }
    }
  } catch (const dockmaster::config::config_error& e) {
    return fail_config(e);
  }
  if (check_only) {
    std::printf("dockmaster: %s is valid\n", config_file.c_str());
    return 0;
  }
  if (health_check) {
    // The admin listener answers /health; without it, the public status path, if on.
    dockmaster::net::self_check_result result;
    if (cfg.admin.listen) {
      result = dockmaster::net::check_running_instance(*cfg.admin.listen, "/health", std::chrono::seconds(3));
    } else if (!cfg.admin.status_path.empty()) {
      result = dockmaster::net::check_running_instance(cfg.listen.front(), cfg.admin.status_path,
                                                       std::chrono::seconds(3));
    } else {
      return fail_config(dockmaster::config::config_error(
          "admin", "has neither a listener (admin.listen) nor a public status path (admin.status_path), "
                   "but --health-check asks the running instance on one of them"));
    }
    std::printf("dockmaster: %s: %s\n", result.healthy ? "healthy" : "unhealthy",
                result.message.c_str());
    return result.healthy ? 0 : 1;
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
    if (cfg.admin.listen)
      log.info("admin listener on http://{}:{}/ (status page; /metrics, /status{})", cfg.admin.listen->host,
               runtime.admin_port(), cfg.admin.token.empty() ? "" : " with the bearer token");
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
