#pragma once

// The configuration schema of dockmaster: plain structs with their defaults.
// `parse_config` (config/parse.hpp) fills them from JSON and validates them.

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace dockmaster::config {

using milliseconds = std::chrono::milliseconds;

/// `host:port`; for an upstream, `host` may be a DNS name that stands for all its
/// addresses. IPv6 literals are written `[::1]:80`; `host` then holds `::1`, without
/// the brackets, which is the form resolvers take.
struct host_port {
  std::string host;
  std::uint16_t port = 0;
};

struct route {
  /// Path prefix; the longest matching prefix wins.
  std::string prefix;
  std::string service;
  /// When not empty, the route only matches requests whose Host (port removed,
  /// case-insensitive) equals it.
  std::string host;
  /// Remove `prefix` from the path before forwarding (the result keeps a leading `/`).
  bool strip_prefix = false;
};

struct cors_policy {
  /// Exact origins, or "*" for any. Empty: CORS is off and no CORS header is sent.
  std::vector<std::string> allow_origins;
  std::vector<std::string> allow_methods{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"};
  std::vector<std::string> allow_headers{"Content-Type", "Authorization", "X-Requested-With", "X-Request-Id"};
  std::vector<std::string> expose_headers;
  bool allow_credentials = false;
  std::chrono::seconds max_age{600};
};

enum class balance_policy { round_robin, least_conn };

enum class probe_kind { none, http, tcp };

struct http_probe_config {
  std::string method = "GET";
  std::string path = "/health";
  /// Accepted status range, inclusive.
  unsigned status_min = 200;
  unsigned status_max = 399;
  /// When not empty, the body must contain it.
  std::string body_contains;
  /// Host header; empty: the instance's configured host:port.
  std::string host;
};

/// How the instances of a service are probed. Like Envoy's health checker: an
/// instance leaves rotation after `unhealthy_after` failed probes in a row and comes
/// back after `healthy_after` passes in a row.
struct health_config {
  /// none: no probing, every instance counts as healthy.
  probe_kind kind = probe_kind::none;
  http_probe_config http;
  milliseconds interval{2000};
  /// The interval while an instance is between states (not known yet, failing but not
  /// yet unhealthy, or passing but not yet healthy), as HAProxy's `fastinter`: it is
  /// judged sooner.
  /// 0: the same as `interval`.
  milliseconds fast_interval{0};
  milliseconds timeout{1000};
  unsigned unhealthy_after = 3;
  unsigned healthy_after = 1;
  /// After boot and after every restart, failures do not count for this long.
  milliseconds start_period{0};
  /// When no instance is healthy, send to all of them instead of answering 503.
  bool fail_open = false;
  /// Each regular interval is drawn within +/- this percentage of `interval` (0-50, as
  /// HAProxy's spread-checks), so that instances added together (every instance of a
  /// service, at start) are not probed in lock-step. The fast interval is exact.
  unsigned jitter_percent = 10;

  milliseconds next_interval(bool in_transition) const {
    return in_transition && fast_interval.count() > 0 ? fast_interval : interval;
  }
};

enum class restart_executor { none, docker, local };

/// What the restart supervisor does when an instance of the service turns unhealthy.
struct restart_config {
  /// none: nothing is run; the instance only leaves rotation.
  restart_executor executor = restart_executor::none;
  /// The argv run inside the container (docker) or on the host (local).
  std::vector<std::string> command;
  /// Restart the whole container instead of running `command`, as autoheal does: only
  /// when the operator asks for it (action "restart_container").
  bool container_restart_only = false;
  std::string user;
  std::vector<std::string> env;  // NAME=value
  std::string working_dir;
  /// An explicit container name; empty: found by the compose labels.
  std::string container;
  /// Label filters: com.docker.compose.project (empty: any project) and
  /// com.docker.compose.service (empty: the service's name).
  std::string compose_project;
  std::string compose_service;
  milliseconds timeout{15000};
  /// After a restart ran, the instance's failed probes do not count for this long,
  /// unless it turns healthy first (health.start_period, if longer, wins): a process
  /// still binding its port is not restarted again mid-boot. Absent: derived by the
  /// supervisor from how long the service's recent restarts took to turn healthy
  /// (actors/restart_grace.hpp). 0: only health.start_period.
  std::optional<milliseconds> grace;
  /// Exponential backoff between restarts of the same instance.
  milliseconds backoff_initial{1000};
  milliseconds backoff_max{60000};
  double backoff_multiplier = 2.0;
  /// At most this many restarts per instance within `window`; then: given up.
  unsigned max_restarts = 6;
  milliseconds window{3600 * 1000};
  /// Escalation: restart the container itself after this many failed execs in a row
  /// (0: never). Only when the operator asks for it.
  unsigned escalate_after_failed = 0;
  milliseconds escalate_stop_timeout{10000};
};

/// Requests to a service with no healthy instance wait while one is coming back (a
/// restart is running or due, or an instance is between states after a restart or at
/// boot), instead of failing; they go out the moment an instance turns healthy. Only
/// for services with a restart configured: without one, or once the supervisor has
/// given up, nothing comes back and nothing waits.
struct hold_config {
  /// How long a request may wait; then 503 with Retry-After. 0: requests never wait.
  /// 10 s: an exec heal (a Gunicorn HUP, a pm2 restart) and the probes that see it back
  /// take one to a few seconds, and 10 s is well inside the 30-60 s after which clients
  /// and the load balancers in front of them commonly give up, so a client that is
  /// refused still gets dockmaster's 503 and its Retry-After, not a timeout of its own.
  milliseconds timeout{10000};
  /// Requests waiting at once for the service (shared out over the I/O threads); more
  /// get 503 at once.
  std::size_t max_requests = 1000;
  /// A request body up to this size is read and kept while the request waits; a larger
  /// one gets 503 at once. With max_requests, it bounds the memory a hold can take.
  std::uint64_t max_body_bytes = 64 * 1024;
};

struct service_config {
  std::string name;
  std::vector<host_port> instances;
  balance_policy balance = balance_policy::round_robin;
  /// How often DNS names among `instances` are resolved again.
  milliseconds resolve_interval{5000};
  health_config health;
  restart_config restart;
  hold_config hold;
};

/// The operators' listener (metrics, status, the status page, reload), apart from the
/// public one, and what the public listener itself answers about the deployment.
struct admin_config {
  /// Where the admin listener listens; nullopt: no admin listener. Loopback by default:
  /// the state of the deployment names containers and addresses.
  std::optional<host_port> listen = host_port{"127.0.0.1", 9901};
  /// When set, /metrics, /status and /reload want `Authorization: Bearer <token>`
  /// (the page itself and /health do not: they hold no data).
  std::string token;
  /// On the PUBLIC listener: GET here answers the status JSON as well. Empty (the
  /// default): not served, the status leaves only through the admin listener.
  std::string status_path;
};

struct docker_config {
  /// The Docker Engine socket; empty: DOCKER_HOST (unix://...) or /var/run/docker.sock.
  std::string socket;
};

struct timeout_config {
  milliseconds connect{2000};
  /// From the end of the request to the upstream's response header, and between reads
  /// of the response body.
  milliseconds upstream_response{30000};
  /// Time a client has to send a complete request header.
  milliseconds client_header{10000};
  /// A keep-alive client connection with no request is closed after this.
  milliseconds client_idle{60000};
  /// An idle pooled upstream connection is closed after this.
  milliseconds upstream_idle{60000};
  /// A tunnel (WebSocket after its 101) with no byte in either direction is closed
  /// after this. An hour, HAProxy's suggested `timeout tunnel`: long enough for an idle
  /// WebSocket whose application pings every few minutes (browsers send no pings of
  /// their own), short enough that a peer that vanished without a FIN frees its two
  /// sockets the same hour.
  milliseconds tunnel_idle{3600000};
  /// On SIGTERM/SIGINT, how long in-flight requests and open tunnels may take to
  /// finish; what is still open then is closed.
  milliseconds drain{10000};
};

struct limit_config {
  std::size_t max_header_bytes = 16 * 1024;
  std::uint64_t max_body_bytes = 100ull * 1024 * 1024;
  /// Idle keep-alive connections kept per upstream instance and I/O thread.
  std::size_t max_idle_upstream_connections = 64;
  /// Open client connections of the whole process, every I/O thread together (as
  /// HAProxy's maxconn, or nginx's worker_connections times the workers). At the limit
  /// the listeners stop accepting: new connections wait in the kernel's listen backlog
  /// (they are not reset) until an open one closes. 0, the default: derived at start
  /// from the descriptor limit, see default_max_client_connections().
  std::size_t max_client_connections = 0;
};

struct scheduler_config {
  /// "sharing" or "stealing" ("testing" is for the test suite). Sharing by default: the
  /// actors are the control plane (probes, events, restarts; requests run on the I/O
  /// threads), and stealing's idle workers poll with 50 us sleeps, which with 1,000
  /// instances probed every second took twice the CPU (benchmarks/probe_scale.sh).
  std::string policy = "sharing";
  std::size_t max_threads = 2;
  std::size_t max_throughput = 300;
};

struct actor_system_config {
  scheduler_config scheduler;
  /// Threads that run the sockets (each with its own event loop and listener).
  std::size_t io_threads = 2;
};

struct log_config {
  /// trace, debug, info, warn, error, off.
  std::string level = "info";
  /// "text" or "json".
  std::string format = "text";
  bool access_log = true;
};

struct config {
  /// Empty here; parse_config() and default_config() put 0.0.0.0:8080 when absent.
  std::vector<host_port> listen;
  /// When absent from the JSON: `/api/` to "backend" and `/` to "frontend", each only if
  /// that service exists (with "services" absent too, the default_config() pair). An
  /// empty table is valid: every request gets a 404.
  std::vector<route> routes;
  cors_policy cors;
  std::map<std::string, service_config> services;
  /// The defaults of every service's `hold` (each service may set its own).
  hold_config hold;
  timeout_config timeouts;
  limit_config limits;
  actor_system_config actor_system;
  log_config log;
  docker_config docker;
  admin_config admin;
};

/// What the command line or the environment (--listen, --admin-listen) puts over the
/// file's values: at start and on every reload, so that a reload never sees them as
/// changed.
struct config_overrides {
  std::optional<std::vector<host_port>> listen;
  /// Set: replaces admin.listen (an empty value inside turns the listener off).
  std::optional<std::optional<host_port>> admin_listen;

  void apply(config& cfg) const {
    if (listen) cfg.listen = *listen;
    if (admin_listen) cfg.admin.listen = *admin_listen;
  }
};

}  // namespace dockmaster::config
