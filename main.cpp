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
#include "config/diff.hpp"
#include "config/parse.hpp"
#include "net/logging.hpp"
#include "net/self_check.hpp"

namespace {

const char* usage = R"(usage: dockmaster [--config FILE] [--listen HOST:PORT]... [--admin-listen HOST:PORT]
                  [--health-check] [--check-config FILE [--against OLD]] [--help] [--version]

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
  --against OLD        with --check-config: also print what would change from the
                       config in OLD to the one in FILE (what a reload would apply,
                       and what would need a restart)
  --help               show this help
  --version            print the version

Without --config, dockmaster runs the embedded default: listen on 0.0.0.0:8080,
route /api/ to 127.0.0.1:8000 and / to 127.0.0.1:3000.
SIGTERM or SIGINT stops accepting, lets requests in flight finish (timeouts.drain)
and exits 0. SIGHUP reads the config file again and applies it; a config that does
not validate is rejected and the running one stays.
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
  std::string against_file;
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
    if (arg == "--against" && i + 1 < argc) {
      against_file = argv[++i];
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

  if (!against_file.empty() && !check_only) {
    std::fprintf(stderr, "dockmaster: --against goes with --check-config\n\n%s", usage);
    return 2;
  }

  dockmaster::config::config_overrides overrides;
  dockmaster::config::config cfg;
  try {
    if (!listen_args.empty()) {
      overrides.listen.emplace();
      for (const auto& arg : listen_args)
        for (auto& address : parse_listen_list(arg, "--listen")) overrides.listen->push_back(address);
    } else if (const char* env = std::getenv("DOCKMASTER_LISTEN"); env && *env) {
      overrides.listen = parse_listen_list(env, "DOCKMASTER_LISTEN");
    }
    const char* admin_env = std::getenv("DOCKMASTER_ADMIN_LISTEN");
    if (!admin_listen_arg && admin_env && *admin_env) admin_listen_arg = admin_env;
    if (admin_listen_arg) {
      if (*admin_listen_arg == "off") {
        overrides.admin_listen.emplace(std::nullopt);
      } else {
        auto addresses = parse_listen_list(*admin_listen_arg, "--admin-listen");
        if (addresses.size() != 1)
          throw dockmaster::config::config_error("--admin-listen", "takes one address");
        overrides.admin_listen = addresses.front();
      }
    }
    cfg = config_file.empty() ? dockmaster::config::default_config()
                              : dockmaster::config::load_config_file(config_file);
    overrides.apply(cfg);
  } catch (const dockmaster::config::config_error& e) {
    return fail_config(e);
  }
  if (check_only && !against_file.empty()) {
    dockmaster::config::config old;
    try {
      old = dockmaster::config::load_config_file(against_file);
      overrides.apply(old);
    } catch (const dockmaster::config::config_error& e) {
      std::fprintf(stderr, "dockmaster: config error in %s (--against): %s\n", against_file.c_str(), e.what());
      return 2;
    }
    std::printf("dockmaster: %s is valid; changes from %s:\n%s", config_file.c_str(), against_file.c_str(),
                dockmaster::config::diff_configs(old, cfg).to_text().c_str());
    return 0;
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
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  dockmaster::net::setup_logging(cfg.log);
  auto& log = dockmaster::net::event_log();
  try {
    dockmaster::runtime runtime(cfg, config_file, overrides);
    runtime.start();
    auto ports = runtime.ports();
    for (std::size_t i = 0; i < cfg.listen.size(); ++i)
      log.info("listening on http://{}:{}/", cfg.listen[i].host, ports[i]);
    if (cfg.admin.listen)
      log.info("admin listener on http://{}:{}/ (status page; /metrics, /status{})", cfg.admin.listen->host,
               runtime.admin_port(), cfg.admin.token.empty() ? "" : " with the bearer token");
    int received = 0;
    for (;;) {
      sigwait(&signals, &received);
      if (received != SIGHUP) break;
      // The config_manager logs the reload as an event; this says what answered it.
      log.info("received SIGHUP, reloading {}: {}", config_file.empty() ? "(embedded default)" : config_file,
               runtime.reload(false));
    }
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
