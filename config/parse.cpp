#include "config/parse.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <cstdio>
#include <initializer_list>
#include <locale>
#include <memory>
#include <optional>
#include <sstream>
#include <utility>

#include <nlohmann/json.hpp>

namespace dockmaster::config {

using json = nlohmann::json;

namespace {

/// "a, b, c": used to tell the user which values would have been accepted.
std::string join(std::initializer_list<const char*> words) {
  std::string joined;
  for (const char* word : words) {
    if (!joined.empty()) joined += ", ";
    joined += word;
  }
  return joined;
}

std::string in_quotes(const std::string& text) { return '"' + text + '"'; }

/// A JSON value together with its path, so that every error can say where it is.
struct node {
  const json* value;
  std::string path;

  /// The member `key` of this object, or nullopt when the key is absent (the default
  /// then applies).
  std::optional<node> member(const std::string& key) const {
    auto found = value->find(key);
    if (found == value->end()) return std::nullopt;
    return node{&*found, path.empty() ? key : path + "." + key};
  }

  node element(std::size_t index) const {
    return node{&(*value)[index], path + "[" + std::to_string(index) + "]"};
  }

  [[noreturn]] void fail(const std::string& problem) const { throw config_error(path, problem); }

  [[noreturn]] void wrong_type(const char* expected) const {
    fail(std::string("expected ") + expected + ", got " + value->type_name());
  }

  /// Requires an object whose keys are all in `known`. Checked before any value is
  /// read, because a misspelt key is the likelier cause of whatever else looks wrong.
  void expect_object_with_keys(std::initializer_list<const char*> known) const {
    if (!value->is_object()) wrong_type("an object");
    for (const auto& item : value->items()) {
      bool is_known = std::any_of(known.begin(), known.end(),
                                  [&](const char* key) { return item.key() == key; });
      if (!is_known) {
        member(item.key())->fail("unknown key " + in_quotes(item.key()) + " (expected one of: " +
                                 join(known) + ")");
      }
    }
  }
};

std::string read_string(const node& n) {
  if (!n.value->is_string()) n.wrong_type("a string");
  return n.value->get<std::string>();
}

bool read_bool(const node& n) {
  if (!n.value->is_boolean()) n.wrong_type("a boolean");
  return n.value->get<bool>();
}

/// A JSON integer that is not negative. Parsed text gives an unsigned number, but a
/// document built in code (`json(5)`) holds a signed one, so both are accepted.
std::optional<std::uint64_t> as_non_negative_integer(const json& value) {
  if (value.is_number_unsigned()) return value.get<std::uint64_t>();
  if (value.is_number_integer() && value.get<std::int64_t>() >= 0) {
    return static_cast<std::uint64_t>(value.get<std::int64_t>());
  }
  return std::nullopt;
}

std::uint64_t read_count(const node& n) {
  if (auto count = as_non_negative_integer(*n.value)) return *count;
  if (n.value->is_number()) n.fail("expected a non-negative integer, got " + n.value->dump());
  n.wrong_type("a non-negative integer");
}

std::uint64_t read_count_at_least(const node& n, std::uint64_t minimum) {
  std::uint64_t count = read_count(n);
  if (count < minimum) n.fail("must be at least " + std::to_string(minimum));
  return count;
}

/// A count that also fits an `unsigned` and stays sensible (thresholds, caps).
unsigned read_small_count(const node& n, std::uint64_t minimum) {
  std::uint64_t count = read_count_at_least(n, minimum);
  if (count > 1000) n.fail("must be at most 1000");
  return static_cast<unsigned>(count);
}

std::vector<std::string> read_string_list(const node& n) {
  if (!n.value->is_array()) n.wrong_type("an array");
  std::vector<std::string> strings;
  for (std::size_t i = 0; i < n.value->size(); ++i) strings.push_back(read_string(n.element(i)));
  return strings;
}

/// A string that must be one of `allowed`; `what` names it in the error.
std::string read_choice(const node& n, const char* what,
                        std::initializer_list<const char*> allowed) {
  std::string choice = read_string(n);
  for (const char* candidate : allowed) {
    if (choice == candidate) return choice;
  }
  n.fail(std::string("unknown ") + what + " " + in_quotes(choice) + " (use one of: " +
         join(allowed) + ")");
}

milliseconds read_duration(const node& n) {
  try {
    return parse_duration(*n.value);
  } catch (const std::invalid_argument& e) {
    n.fail(e.what());
  }
}

/// A zero timeout would fail every operation at once, so it is never what was meant.
milliseconds read_positive_duration(const node& n) {
  milliseconds duration = read_duration(n);
  if (duration.count() == 0) n.fail("must be greater than 0");
  return duration;
}

host_port read_address(const node& n) {
  try {
    return parse_host_port(read_string(n));
  } catch (const std::invalid_argument& e) {
    n.fail(e.what());
  }
}

/// Port 0 means "any free port" for a listener, but cannot be connected to.
host_port read_instance(const node& n) {
  host_port address = read_address(n);
  if (address.port == 0) n.fail("port 0 is not allowed for an upstream instance");
  return address;
}

std::vector<host_port> read_listen(const node& n) {
  if (n.value->is_string()) return {read_address(n)};
  if (!n.value->is_array()) n.wrong_type("a string or an array");
  if (n.value->empty()) n.fail("must list at least one address");
  std::vector<host_port> addresses;
  for (std::size_t i = 0; i < n.value->size(); ++i) addresses.push_back(read_address(n.element(i)));
  return addresses;
}

std::string to_lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

route read_route(const node& n) {
  n.expect_object_with_keys({"prefix", "service", "host", "strip_prefix"});
  route result;
  // Both are required: a route without either has no sensible meaning.
  auto prefix = n.member("prefix");
  auto service = n.member("service");
  if (!prefix) n.fail("missing required key \"prefix\"");
  if (!service) n.fail("missing required key \"service\"");
  result.prefix = read_string(*prefix);
  if (result.prefix.empty() || result.prefix.front() != '/') {
    prefix->fail("must start with '/', got " + in_quotes(result.prefix));
  }
  result.service = read_string(*service);
  // Host matching is case-insensitive, so the lower-case form is stored once here.
  if (auto host = n.member("host")) result.host = to_lower(read_string(*host));
  if (auto strip = n.member("strip_prefix")) result.strip_prefix = read_bool(*strip);
  return result;
}

std::vector<route> read_routes(const node& n) {
  if (!n.value->is_array()) n.wrong_type("an array");
  std::vector<route> routes;
  for (std::size_t i = 0; i < n.value->size(); ++i) {
    node element = n.element(i);
    route next = read_route(element);
    // Two routes with the same prefix and host would make the match order-dependent.
    for (std::size_t j = 0; j < routes.size(); ++j) {
      if (routes[j].prefix == next.prefix && routes[j].host == next.host) {
        element.fail("duplicate route: same prefix " + in_quotes(next.prefix) + " and host " +
                     in_quotes(next.host) + " as " + n.element(j).path);
      }
    }
    routes.push_back(std::move(next));
  }
  return routes;
}

bool all_digits(const std::string& text);

/// "200-399", "2xx" or a single status such as "204".
std::pair<unsigned, unsigned> read_status_range(const node& n) {
  if (n.value->is_number_unsigned() || n.value->is_number_integer()) {
    auto code = read_count(n);
    if (code < 100 || code > 599) n.fail("not an HTTP status: " + n.value->dump());
    return {static_cast<unsigned>(code), static_cast<unsigned>(code)};
  }
  std::string text = read_string(n);
  auto bad = [&] {
    n.fail("unparsable status range " + in_quotes(text) + " (use e.g. \"200-399\", \"2xx\", \"204\")");
  };
  auto number = [&](const std::string& part) -> unsigned {
    if (part.size() != 3 || !all_digits(part)) bad();
    unsigned code = static_cast<unsigned>(std::stoul(part));
    if (code < 100 || code > 599) bad();
    return code;
  };
  if (text.size() == 3 && (text[1] == 'x' || text[1] == 'X') && (text[2] == 'x' || text[2] == 'X') &&
      text[0] >= '1' && text[0] <= '5') {
    unsigned hundreds = static_cast<unsigned>(text[0] - '0') * 100;
    return {hundreds, hundreds + 99};
  }
  auto dash = text.find('-');
  if (dash == std::string::npos) {
    unsigned code = number(text);
    return {code, code};
  }
  unsigned low = number(text.substr(0, dash));
  unsigned high = number(text.substr(dash + 1));
  if (low > high) n.fail("status range " + in_quotes(text) + " ends before it starts");
  return {low, high};
}

http_probe_config read_http_probe(const node& n) {
  http_probe_config probe;
  if (n.value->is_string()) {
    probe.path = read_string(n);
  } else {
    n.expect_object_with_keys({"path", "method", "expect_status", "body_contains", "host"});
    if (auto v = n.member("path")) probe.path = read_string(*v);
    if (auto v = n.member("method")) probe.method = read_choice(*v, "probe method", {"GET", "HEAD", "POST", "OPTIONS"});
    if (auto v = n.member("expect_status")) std::tie(probe.status_min, probe.status_max) = read_status_range(*v);
    if (auto v = n.member("body_contains")) probe.body_contains = read_string(*v);
    if (auto v = n.member("host")) probe.host = read_string(*v);
  }
  if (probe.path.empty() || probe.path[0] != '/') {
    (n.value->is_string() ? n : *n.member("path")).fail("probe path must start with '/'");
  }
  return probe;
}

health_config read_health(const node& n) {
  n.expect_object_with_keys({"http", "tcp", "interval", "fast_interval", "timeout", "unhealthy_after",
                             "healthy_after", "start_period", "fail_open", "jitter_percent"});
  health_config health;
  auto http = n.member("http");
  auto tcp = n.member("tcp");
  if (http && tcp) tcp->fail("choose one probe: \"http\" or \"tcp\", not both");
  if (http) {
    health.kind = probe_kind::http;
    health.http = read_http_probe(*http);
  } else if (tcp && read_bool(*tcp)) {
    health.kind = probe_kind::tcp;
  } else {
    n.fail("missing the probe: add \"http\": \"/health\" or \"tcp\": true");
  }
  if (auto v = n.member("interval")) health.interval = read_positive_duration(*v);
  if (auto v = n.member("fast_interval")) {
    health.fast_interval = read_positive_duration(*v);
    if (health.fast_interval > health.interval) v->fail("must not be longer than \"interval\"");
  }
  if (auto v = n.member("timeout")) health.timeout = read_positive_duration(*v);
  if (auto v = n.member("unhealthy_after")) health.unhealthy_after = read_small_count(*v, 1);
  if (auto v = n.member("healthy_after")) health.healthy_after = read_small_count(*v, 1);
  if (auto v = n.member("start_period")) health.start_period = read_duration(*v);
  if (auto v = n.member("fail_open")) health.fail_open = read_bool(*v);
  if (auto v = n.member("jitter_percent")) {
    auto percent = read_count(*v);
    if (percent > 50) v->fail("must be at most 50 (percent of \"interval\")");
    health.jitter_percent = static_cast<unsigned>(percent);
  }
  return health;
}

restart_config read_restart(const node& n) {
  n.expect_object_with_keys({"exec", "action", "executor", "user", "env", "working_dir",
                             "container", "compose_project", "compose_service", "timeout",
                             "grace", "backoff", "max_restarts", "window", "escalate"});
  restart_config restart;
  restart.executor = restart_executor::docker;
  if (auto v = n.member("action"))
    restart.container_restart_only =
        read_choice(*v, "restart action", {"exec", "restart_container"}) == "restart_container";
  auto command = n.member("exec");
  if (!command && !restart.container_restart_only)
    n.fail("missing required key \"exec\" (the command to run, e.g. [\"pm2\", \"restart\", \"app\"])");
  if (command) {
    restart.command = read_string_list(*command);
    if (restart.command.empty() || restart.command[0].empty()) command->fail("must name a command");
  }
  if (auto v = n.member("executor")) {
    restart.executor = read_choice(*v, "executor", {"docker", "local"}) == "local"
                           ? restart_executor::local
                           : restart_executor::docker;
    if (restart.executor == restart_executor::local && restart.container_restart_only)
      v->fail("action \"restart_container\" needs the docker executor");
  }
  if (auto v = n.member("user")) restart.user = read_string(*v);
  if (auto v = n.member("env")) {
    restart.env = read_string_list(*v);
    for (std::size_t i = 0; i < restart.env.size(); ++i)
      if (restart.env[i].find('=') == std::string::npos || restart.env[i][0] == '=')
        v->element(i).fail("expected NAME=value");
  }
  if (auto v = n.member("working_dir")) restart.working_dir = read_string(*v);
  if (auto v = n.member("container")) restart.container = read_string(*v);
  if (auto v = n.member("compose_project")) restart.compose_project = read_string(*v);
  if (auto v = n.member("compose_service")) restart.compose_service = read_string(*v);
  if (auto v = n.member("timeout")) restart.timeout = read_positive_duration(*v);
  if (auto v = n.member("grace")) restart.grace = read_duration(*v);
  if (auto v = n.member("backoff")) {
    v->expect_object_with_keys({"initial", "max", "multiplier"});
    // Zero would stay zero however often it is multiplied: restarts back to back.
    if (auto b = v->member("initial")) restart.backoff_initial = read_positive_duration(*b);
    if (auto b = v->member("max")) restart.backoff_max = read_duration(*b);
    if (auto b = v->member("multiplier")) {
      if (!b->value->is_number()) b->wrong_type("a number");
      restart.backoff_multiplier = b->value->get<double>();
      if (restart.backoff_multiplier < 1.0) b->fail("must be at least 1");
    }
    if (restart.backoff_max < restart.backoff_initial)
      v->fail("max must not be below initial");
  }
  if (auto v = n.member("max_restarts")) restart.max_restarts = read_small_count(*v, 1);
  if (auto v = n.member("window")) restart.window = read_positive_duration(*v);
  if (auto v = n.member("escalate")) {
    v->expect_object_with_keys({"restart_container_after", "stop_timeout"});
    if (auto e = v->member("restart_container_after"))
      restart.escalate_after_failed = read_small_count(*e, 1);
    else
      v->fail("missing \"restart_container_after\": after how many failed execs to escalate");
    if (auto e = v->member("stop_timeout")) restart.escalate_stop_timeout = read_duration(*e);
    if (restart.executor == restart_executor::local && restart.escalate_after_failed > 0)
      v->fail("restarting a container needs the docker executor");
  }
  return restart;
}

hold_config read_hold(const node& n, hold_config hold) {
  n.expect_object_with_keys({"timeout", "max_requests", "max_body_bytes"});
  // A timeout of 0 turns holding off.
  if (auto v = n.member("timeout")) hold.timeout = read_duration(*v);
  if (auto v = n.member("max_requests")) hold.max_requests = read_count(*v);
  if (auto v = n.member("max_body_bytes")) hold.max_body_bytes = read_count(*v);
  return hold;
}

service_config read_service(const node& n, const std::string& name, const hold_config& hold) {
  n.expect_object_with_keys({"instances", "balance", "resolve_interval", "health", "restart", "hold"});
  service_config service;
  service.name = name;
  service.hold = hold;
  if (auto v = n.member("hold")) service.hold = read_hold(*v, hold);
  auto instances = n.member("instances");
  if (!instances) n.fail("missing required key \"instances\"");
  if (!instances->value->is_array()) instances->wrong_type("an array");
  if (instances->value->empty()) instances->fail("must list at least one instance");
  for (std::size_t i = 0; i < instances->value->size(); ++i) {
    service.instances.push_back(read_instance(instances->element(i)));
  }
  if (auto balance = n.member("balance")) {
    std::string policy = read_choice(*balance, "balance policy", {"round_robin", "least_conn"});
    service.balance =
        policy == "least_conn" ? balance_policy::least_conn : balance_policy::round_robin;
  }
  // Zero would re-resolve in a busy loop.
  if (auto interval = n.member("resolve_interval")) {
    service.resolve_interval = read_positive_duration(*interval);
  }
  if (auto health = n.member("health")) service.health = read_health(*health);
  if (auto restart = n.member("restart")) {
    service.restart = read_restart(*restart);
    // Restarts are triggered by failed probes: without probes they would never run.
    if (service.health.kind == probe_kind::none)
      restart->fail("a restart needs health checks to trigger it: add \"health\"");
  }
  return service;
}

std::map<std::string, service_config> read_services(const node& n, const hold_config& hold) {
  if (!n.value->is_object()) n.wrong_type("an object");
  std::map<std::string, service_config> services;
  for (const auto& item : n.value->items()) {
    services[item.key()] = read_service(*n.member(item.key()), item.key(), hold);
  }
  return services;
}

cors_policy read_cors(const node& n) {
  n.expect_object_with_keys({"allow_origins", "allow_methods", "allow_headers", "expose_headers",
                             "allow_credentials", "max_age"});
  cors_policy cors;
  if (auto v = n.member("allow_origins")) cors.allow_origins = read_string_list(*v);
  if (auto v = n.member("allow_methods")) cors.allow_methods = read_string_list(*v);
  if (auto v = n.member("allow_headers")) cors.allow_headers = read_string_list(*v);
  if (auto v = n.member("expose_headers")) cors.expose_headers = read_string_list(*v);
  if (auto v = n.member("allow_credentials")) {
    cors.allow_credentials = read_bool(*v);
    // Browsers reject "Access-Control-Allow-Origin: *" on credentialed requests.
    bool any_origin = std::find(cors.allow_origins.begin(), cors.allow_origins.end(), "*") !=
                      cors.allow_origins.end();
    if (cors.allow_credentials && any_origin) {
      v->fail("cannot be true when allow_origins contains \"*\" (browsers reject it); list the "
              "origins instead");
    }
  }
  // Access-Control-Max-Age is in whole seconds; a fraction is rounded down.
  if (auto v = n.member("max_age")) {
    cors.max_age = std::chrono::duration_cast<std::chrono::seconds>(read_duration(*v));
  }
  return cors;
}

timeout_config read_timeouts(const node& n) {
  static const std::pair<const char*, milliseconds timeout_config::*> fields[] = {
      {"connect", &timeout_config::connect},
      {"upstream_response", &timeout_config::upstream_response},
      {"client_header", &timeout_config::client_header},
      {"client_idle", &timeout_config::client_idle},
      {"upstream_idle", &timeout_config::upstream_idle},
      {"tunnel_idle", &timeout_config::tunnel_idle},
      {"drain", &timeout_config::drain},
  };
  n.expect_object_with_keys(
      {"connect", "upstream_response", "client_header", "client_idle", "upstream_idle",
       "tunnel_idle", "drain"});
  timeout_config timeouts;
  for (const auto& [key, field] : fields) {
    if (auto v = n.member(key)) timeouts.*field = read_positive_duration(*v);
  }
  return timeouts;
}

/// Far above what one process can hold open (each connection is a descriptor, and the
/// kernel's nr_open defaults to about a million): a larger number is surely a typo.
constexpr std::uint64_t max_client_connections_limit = 10'000'000;

limit_config read_limits(const node& n) {
  n.expect_object_with_keys({"max_header_bytes", "max_body_bytes", "max_idle_upstream_connections",
                             "max_client_connections"});
  limit_config limits;
  // No request fits in a zero-byte header; zero body bytes or zero pooled connections
  // are meaningful (no bodies, no pooling).
  if (auto v = n.member("max_header_bytes")) limits.max_header_bytes = read_count_at_least(*v, 1);
  if (auto v = n.member("max_body_bytes")) limits.max_body_bytes = read_count(*v);
  if (auto v = n.member("max_idle_upstream_connections")) {
    limits.max_idle_upstream_connections = read_count(*v);
  }
  // Zero would never accept a connection; leaving the key out derives the limit from
  // the descriptor limit instead.
  if (auto v = n.member("max_client_connections")) {
    limits.max_client_connections = read_count_at_least(*v, 1);
    if (limits.max_client_connections > max_client_connections_limit)
      v->fail("must be at most " + std::to_string(max_client_connections_limit));
  }
  return limits;
}

actor_system_config read_actor_system(const node& n) {
  n.expect_object_with_keys({"scheduler", "io_threads"});
  actor_system_config system;
  if (auto scheduler = n.member("scheduler")) {
    scheduler->expect_object_with_keys({"policy", "max_threads", "max_throughput"});
    if (auto v = scheduler->member("policy")) {
      system.scheduler.policy =
          read_choice(*v, "scheduler policy", {"stealing", "sharing", "testing"});
    }
    if (auto v = scheduler->member("max_threads")) {
      system.scheduler.max_threads = read_count_at_least(*v, 1);
    }
    if (auto v = scheduler->member("max_throughput")) {
      system.scheduler.max_throughput = read_count_at_least(*v, 1);
    }
  }
  if (auto v = n.member("io_threads")) {
    // Each I/O thread has its own listener and pool; more than 64 is surely a typo.
    system.io_threads = read_count_at_least(*v, 1);
    if (system.io_threads > 64) v->fail("must be at most 64");
  }
  return system;
}

log_config read_log(const node& n) {
  n.expect_object_with_keys({"level", "format", "access_log"});
  log_config log;
  if (auto v = n.member("level")) {
    log.level = read_choice(*v, "log level", {"trace", "debug", "info", "warn", "error", "off"});
  }
  if (auto v = n.member("format")) log.format = read_choice(*v, "log format", {"text", "json"});
  if (auto v = n.member("access_log")) log.access_log = read_bool(*v);
  return log;
}

/// The routes used when "routes" is absent but "services" is given: `/api/` to
/// "backend" and `/` to "frontend", each only if that service exists. With neither
/// service the table is empty and every request gets a 404.
std::vector<route> conventional_routes(const std::map<std::string, service_config>& services) {
  std::vector<route> routes;
  if (services.count("backend")) routes.push_back(route{"/api/", "backend", "", false});
  if (services.count("frontend")) routes.push_back(route{"/", "frontend", "", false});
  return routes;
}

/// Largest accepted duration: far above any sensible timeout, and small enough that
/// adding it to a clock's time_point cannot overflow.
constexpr milliseconds max_duration = std::chrono::hours(24 * 365);

milliseconds checked_duration(double millis, const std::string& shown) {
  if (millis > static_cast<double>(max_duration.count())) {
    throw std::invalid_argument("duration " + shown + " is too large (at most one year)");
  }
  return milliseconds(std::llround(millis));
}

/// Digits only, so that "+80", " 80" or "80x" are rejected.
bool all_digits(const std::string& text) {
  return !text.empty() && std::all_of(text.begin(), text.end(),
                                      [](unsigned char c) { return std::isdigit(c) != 0; });
}

}  // namespace

config_error::config_error(std::string path, std::string problem)
    : std::runtime_error(path.empty() ? problem : path + ": " + problem),
      path_(std::move(path)),
      problem_(std::move(problem)) {}

host_port parse_host_port(const std::string& text) {
  auto fail = [&](const std::string& reason) -> void {
    throw std::invalid_argument("unparsable address " + in_quotes(text) + ": " + reason);
  };
  std::string host;
  std::string port_text;
  if (!text.empty() && text.front() == '[') {
    std::size_t close = text.find(']');
    if (close == std::string::npos) fail("missing ']' after the IPv6 address");
    if (close + 1 >= text.size() || text[close + 1] != ':') fail("expected ':port' after ']'");
    // Stored without brackets: that is the form resolvers and sockets take.
    host = text.substr(1, close - 1);
    port_text = text.substr(close + 2);
  } else {
    std::size_t colon = text.rfind(':');
    if (colon == std::string::npos) fail("expected host:port or [ipv6]:port");
    host = text.substr(0, colon);
    if (host.find(':') != std::string::npos) fail("an IPv6 address needs brackets, e.g. [::1]:80");
    port_text = text.substr(colon + 1);
  }
  if (host.empty()) fail("empty host");
  if (!all_digits(port_text)) fail("port is not a number");
  // The length check keeps stoul from overflowing on a long run of digits.
  if (port_text.size() > 5 || std::stoul(port_text) > 65535) fail("port out of range 0..65535");
  return host_port{host, static_cast<std::uint16_t>(std::stoul(port_text))};
}

milliseconds parse_duration(const json& value) {
  if (auto millis = as_non_negative_integer(value)) {
    return checked_duration(static_cast<double>(*millis), value.dump());
  }
  if (value.is_number()) {
    throw std::invalid_argument("a duration number is a non-negative whole number of "
                                "milliseconds, got " + value.dump());
  }
  if (!value.is_string()) {
    throw std::invalid_argument(std::string("expected a string or a number, got ") +
                                value.type_name());
  }
  const std::string text = value.get<std::string>();
  const std::string unparsable =
      "unparsable duration " + in_quotes(text) + " (use e.g. \"500ms\", \"2s\", \"1m\")";

  // digits [ "." digits ] unit
  std::size_t i = 0;
  auto skip_digits = [&] {
    std::size_t start = i;
    while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) ++i;
    return i > start;
  };
  if (!skip_digits()) throw std::invalid_argument(unparsable);
  if (i < text.size() && text[i] == '.') {
    ++i;
    if (!skip_digits()) throw std::invalid_argument(unparsable);
  }
  const std::string number = text.substr(0, i);
  const std::string unit = text.substr(i);

  double millis_per_unit = 0;
  if (unit == "ms") millis_per_unit = 1;
  else if (unit == "s") millis_per_unit = 1000;
  else if (unit == "m") millis_per_unit = 60 * 1000;
  else if (unit == "h") millis_per_unit = 60 * 60 * 1000;
  else throw std::invalid_argument(unparsable);

  // The classic locale, so that "1.5" never depends on the process locale.
  std::istringstream stream(number);
  stream.imbue(std::locale::classic());
  double amount = 0;
  stream >> amount;
  return checked_duration(amount * millis_per_unit, in_quotes(text));
}

std::size_t default_max_client_connections(std::uint64_t open_files) {
  constexpr std::uint64_t reserved = 64;
  constexpr std::uint64_t most = 10000;
  if (open_files < reserved + 2) return 1;
  return static_cast<std::size_t>(std::min(most, (open_files - reserved) / 2));
}

config default_config() {
  config defaults;
  defaults.listen = {host_port{"0.0.0.0", 8080}};
  defaults.services["backend"] =
      service_config{"backend", {host_port{"127.0.0.1", 8000}}, balance_policy::round_robin};
  defaults.services["frontend"] =
      service_config{"frontend", {host_port{"127.0.0.1", 3000}}, balance_policy::round_robin};
  defaults.routes = conventional_routes(defaults.services);
  return defaults;
}

config parse_config(const json& document) {
  node root{&document, ""};
  root.expect_object_with_keys(
      {"listen", "routes", "cors", "services", "hold", "timeouts", "limits", "actor_system", "log",
       "docker", "admin"});

  config result;
  result.listen = default_config().listen;
  if (auto v = root.member("listen")) result.listen = read_listen(*v);
  if (auto v = root.member("cors")) result.cors = read_cors(*v);
  if (auto v = root.member("timeouts")) result.timeouts = read_timeouts(*v);
  if (auto v = root.member("limits")) result.limits = read_limits(*v);
  if (auto v = root.member("actor_system")) result.actor_system = read_actor_system(*v);
  if (auto v = root.member("log")) result.log = read_log(*v);
  if (auto v = root.member("admin")) {
    v->expect_object_with_keys({"listen", "token", "status_path"});
    if (auto listen = v->member("listen")) {
      auto text = read_string(*listen);
      if (text.empty()) result.admin.listen.reset();
      else result.admin.listen = read_address(*listen);
    }
    if (auto token = v->member("token")) result.admin.token = read_string(*token);
    if (auto path = v->member("status_path")) {
      result.admin.status_path = read_string(*path);
      if (!result.admin.status_path.empty() && result.admin.status_path[0] != '/')
        path->fail("must start with '/' (or be empty to turn it off)");
    }
  }
  if (auto v = root.member("docker")) {
    v->expect_object_with_keys({"socket"});
    if (auto socket = v->member("socket")) result.docker.socket = read_string(*socket);
  }

  auto services = root.member("services");
  auto routes = root.member("routes");
  if (auto v = root.member("hold")) result.hold = read_hold(*v, result.hold);
  if (services) result.services = read_services(*services, result.hold);
  if (routes) {
    result.routes = read_routes(*routes);
    for (std::size_t i = 0; i < result.routes.size(); ++i) {
      const std::string& name = result.routes[i].service;
      if (!result.services.count(name)) {
        routes->element(i).member("service")->fail("unknown service " + in_quotes(name));
      }
    }
  } else if (services) {
    result.routes = conventional_routes(result.services);
  } else {
    // Neither given: the built-in backend/frontend pair, as with no file at all.
    config defaults = default_config();
    result.services = std::move(defaults.services);
    result.routes = std::move(defaults.routes);
  }
  return result;
}

std::string read_config_file(const std::string& file_name) {
  // C stdio rather than a stream: it reports why a read failed through errno, also for
  // a file that opens but cannot be read (a directory).
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> file(std::fopen(file_name.c_str(), "rb"),
                                                       &std::fclose);
  std::string text;
  if (file) {
    char buffer[4096];
    while (std::size_t n = std::fread(buffer, 1, sizeof buffer, file.get())) text.append(buffer, n);
  }
  if (!file || std::ferror(file.get())) {
    throw config_error("", "cannot read " + file_name + ": " + std::strerror(errno));
  }
  return text;
}

config parse_config_text(const std::string& text, const std::string& file_name) {
  json document;
  try {
    document = json::parse(text);
  } catch (const json::parse_error& e) {
    throw config_error("", "invalid JSON in " + file_name + ": " + e.what());
  }
  return parse_config(document);
}

config load_config_file(const std::string& file_name) {
  return parse_config_text(read_config_file(file_name), file_name);
}

}  // namespace dockmaster::config
