#include "actors/metrics_exposition.hpp"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <iterator>
#include <limits>
#include <map>
#include <vector>
#include <sstream>

#include "actors/event_sink.hpp"

namespace dockmaster::actors {

using namespace messages;

namespace {

/// One metric family: its HELP and TYPE lines, then its samples.
class family {
 public:
  family(std::string& out, const char* metric, const char* type, const char* help)
      : out_(out), metric_(metric) {
    out_ += "# HELP ";
    out_ += metric;
    out_ += ' ';
    out_ += help;
    out_ += "\n# TYPE ";
    out_ += metric;
    out_ += ' ';
    out_ += type;
    out_ += '\n';
  }

  /// `labels` is the inside of the braces, already escaped ("" for none).
  void sample(const std::string& labels, double value, const char* suffix = "") {
    out_ += metric_;
    out_ += suffix;
    if (!labels.empty()) {
      out_ += '{';
      out_ += labels;
      out_ += '}';
    }
    out_ += ' ';
    out_ += number(value);
    out_ += '\n';
  }

  /// A histogram from per-bucket (not cumulative) counts and the sum in microseconds.
  template <class Bucket, std::size_t N>
  void histogram(const std::string& labels, const std::array<std::uint64_t, N>& buckets,
                 std::uint64_t sum_us) {
    const auto& bounds = bucket_bounds_us<Bucket>();
    static_assert(N == std::tuple_size_v<std::decay_t<decltype(bounds)>> + 1);
    std::uint64_t cumulative = 0;
    auto with = [&](const std::string& le) {
      return labels.empty() ? "le=\"" + le + "\"" : labels + ",le=\"" + le + "\"";
    };
    for (std::size_t i = 0; i < bounds.size(); ++i) {
      cumulative += buckets[i];
      sample(with(number(bounds[i] / 1e6)), static_cast<double>(cumulative), "_bucket");
    }
    cumulative += buckets[N - 1];
    sample(with("+Inf"), static_cast<double>(cumulative), "_bucket");
    sample(labels, sum_us / 1e6, "_sum");
    sample(labels, static_cast<double>(cumulative), "_count");
  }

  static std::string number(double value) {
    char text[32];
    std::snprintf(text, sizeof text, "%.15g", value);
    return text;
  }

 private:
  std::string& out_;
  const char* metric_;
};

std::string label(const char* key, std::string_view value) {
  return std::string(key) + "=\"" + escape_label_value(std::string(value)) + "\"";
}

std::string labels(std::initializer_list<std::string> parts) {
  std::string joined;
  for (const auto& part : parts) {
    if (!joined.empty()) joined += ',';
    joined += part;
  }
  return joined;
}

/// The process metrics every Prometheus client library exports, from /proc/self.
void render_process(std::string& out) {
  std::ifstream stat_file("/proc/self/stat");
  std::string stat((std::istreambuf_iterator<char>(stat_file)), std::istreambuf_iterator<char>());
  // The command name may hold spaces and parentheses: the fields start after the last ')'.
  auto close = stat.rfind(')');
  if (close == std::string::npos) return;
  std::istringstream fields(stat.substr(close + 2));
  std::vector<std::string> f;
  for (std::string item; fields >> item;) f.push_back(item);
  // Field 3 of proc(5) is f[0]: utime is field 14, stime 15, starttime 22, rss 24.
  if (f.size() < 22) return;
  const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  const double cpu = (std::stod(f[11]) + std::stod(f[12])) / ticks;
  const double rss = std::stod(f[21]) * static_cast<double>(sysconf(_SC_PAGESIZE));
  double boot_time = 0;
  std::ifstream proc_stat("/proc/stat");
  for (std::string key; proc_stat >> key;) {
    if (key == "btime") {
      proc_stat >> boot_time;
      break;
    }
    proc_stat.ignore(std::numeric_limits<std::streamsize>::max(), '\n');
  }
  std::size_t fds = 0;
  if (DIR* dir = opendir("/proc/self/fd")) {
    while (dirent* entry = readdir(dir)) fds += entry->d_name[0] != '.';
    closedir(dir);
    --fds;  // the directory's own descriptor
  }
  rlimit limit{};
  getrlimit(RLIMIT_NOFILE, &limit);
  family(out, "process_cpu_seconds_total", "counter", "User and system CPU time spent, in seconds.")
      .sample("", cpu);
  family(out, "process_resident_memory_bytes", "gauge", "Resident memory size, in bytes.").sample("", rss);
  family(out, "process_start_time_seconds", "gauge", "Start time of the process since the Unix epoch, in seconds.")
      .sample("", boot_time + std::stod(f[19]) / ticks);
  family(out, "process_open_fds", "gauge", "Open file descriptors.").sample("", static_cast<double>(fds));
  family(out, "process_max_fds", "gauge", "The limit of open file descriptors.")
      .sample("", static_cast<double>(limit.rlim_cur));
}

}  // namespace

std::string escape_label_value(const std::string& value) {
  std::string escaped;
  escaped.reserve(value.size());
  for (char c : value) {
    if (c == '\\') escaped += "\\\\";
    else if (c == '"') escaped += "\\\"";
    else if (c == '\n') escaped += "\\n";
    else escaped += c;
  }
  return escaped;
}

std::string render_metrics(const event_sink_state& state) {
  std::string out;
  out.reserve(16 * 1024);
  std::map<std::string, service_stats> stats;
  for (const auto& [service, config] : state.services) stats.emplace(service, current_stats(state, service));
  auto service_label = [](const std::string& service) { return label("service", service); };

  {
    family f(out, "dockmaster_requests_total", "counter",
             "Requests answered, by service, status class and method.");
    for (const auto& [service, s] : stats)
      for (std::size_t m = 0; m < value_count<request_method>(); ++m) {
        auto method = static_cast<request_method>(m);
        std::uint64_t any = 0;
        for (std::size_t c = 0; c < value_count<status_class>(); ++c)
          any += s.requests_by_method[method_and_class::index(method, static_cast<status_class>(c))];
        // A method seen once has all its classes, so that a rate of 5xx starts at 0.
        if (any == 0) continue;
        for (std::size_t c = 0; c < value_count<status_class>(); ++c) {
          auto code = static_cast<status_class>(c);
          f.sample(labels({service_label(service), label("code", name(code)), label("method", name(method))}),
                   static_cast<double>(s.requests_by_method[method_and_class::index(method, code)]));
        }
      }
  }
  {
    family f(out, "dockmaster_request_duration_seconds", "histogram",
             "Time from a request's head to the end of its answer, by service.");
    for (const auto& [service, s] : stats)
      f.histogram<duration_bucket>(service_label(service), s.request_duration, s.request_duration_us[0]);
  }
  {
    family f(out, "dockmaster_upstream_connections", "gauge",
             "Upstream connections of every I/O thread: active (a request on it) or idle (pooled).");
    for (const auto& [service, s] : stats)
      for (std::size_t i = 0; i < value_count<connection_state>(); ++i)
        f.sample(labels({service_label(service), label("state", name(static_cast<connection_state>(i)))}),
                 static_cast<double>(s.upstream_connections[i]));
  }
  {
    family f(out, "dockmaster_upstream_retries_total", "counter", "Requests tried again on another instance.");
    for (const auto& [service, s] : stats) f.sample(service_label(service), static_cast<double>(s.upstream_retries[0]));
  }
  {
    family f(out, "dockmaster_upstream_connect_failures_total", "counter",
             "Connections to an instance that failed (refused, timed out, reset before an answer).");
    for (const auto& [service, s] : stats)
      f.sample(service_label(service), static_cast<double>(s.upstream_connect_failures[0]));
  }
  {
    family f(out, "dockmaster_instances", "gauge", "Addresses in the service's instance set.");
    for (const auto& [service, s] : stats) f.sample(service_label(service), static_cast<double>(s.instances[0]));
  }
  {
    family f(out, "dockmaster_instances_healthy", "gauge", "Instances in rotation.");
    for (const auto& [service, s] : stats)
      f.sample(service_label(service), static_cast<double>(s.instances_healthy[0]));
  }
  {
    family f(out, "dockmaster_instance_up", "gauge",
             "1 while the instance is in rotation (healthy, or the service has no health checks), else 0.");
    for (const auto& [id, status] : state.instances) {
      bool up = !is_checked(state, id.service) || status.health == health_state::healthy;
      f.sample(labels({service_label(id.service), label("instance", id.endpoint())}), up ? 1 : 0);
    }
  }
  {
    family f(out, "dockmaster_health_checks_total", "counter", "Health probes, by result (passed or the failure).");
    for (const auto& [id, status] : state.instances) {
      if (!is_checked(state, id.service)) continue;
      for (std::size_t v = 0; v < value_count<probe_verdict>(); ++v)
        f.sample(labels({service_label(id.service), label("instance", id.endpoint()),
                         label("result", name(static_cast<probe_verdict>(v)))}),
                 static_cast<double>(status.probes[v]));
    }
  }
  {
    family f(out, "dockmaster_health_check_duration_seconds", "histogram", "How long health probes took.");
    for (const auto& [service, s] : stats)
      if (is_checked(state, service))
        f.histogram<duration_bucket>(service_label(service), s.probe_duration, s.probe_duration_us[0]);
  }
  {
    family f(out, "dockmaster_restarts_total", "counter", "Restarts that ended, by action and outcome.");
    for (const auto& [service, s] : stats)
      for (std::size_t a = 0; a < value_count<restart_action>(); ++a) {
        auto action = static_cast<restart_action>(a);
        std::uint64_t any = 0;
        for (std::size_t o = 0; o < value_count<restart_outcome>(); ++o)
          any += s.restarts_by_action[action_and_outcome::index(action, static_cast<restart_outcome>(o))];
        if (any == 0) continue;
        for (std::size_t o = 0; o < value_count<restart_outcome>(); ++o) {
          auto outcome = static_cast<restart_outcome>(o);
          f.sample(labels({service_label(service), label("action", name(action)), label("outcome", name(outcome))}),
                   static_cast<double>(s.restarts_by_action[action_and_outcome::index(action, outcome)]));
        }
      }
  }
  {
    family f(out, "dockmaster_restart_duration_seconds", "histogram", "How long restarts that ran took.");
    for (const auto& [service, s] : stats)
      f.histogram<duration_bucket>(service_label(service), s.restart_duration, s.restart_duration_us[0]);
  }
  {
    family f(out, "dockmaster_restarts_running", "gauge", "Restarts under way.");
    for (const auto& [service, s] : stats)
      f.sample(service_label(service), static_cast<double>(s.restarts_running[0]));
  }
  {
    family f(out, "dockmaster_requests_held", "gauge", "Requests waiting now for an instance to come back.");
    for (const auto& [service, s] : stats) f.sample(service_label(service), static_cast<double>(s.requests_held[0]));
  }
  {
    family f(out, "dockmaster_held_requests_total", "counter",
             "Requests that waited for an instance, by how the wait ended.");
    for (const auto& [service, s] : stats)
      for (std::size_t o = 0; o < value_count<hold_outcome>(); ++o)
        f.sample(labels({service_label(service), label("outcome", name(static_cast<hold_outcome>(o)))}),
                 static_cast<double>(s.hold_outcomes[o]));
  }
  {
    family f(out, "dockmaster_hold_wait_seconds", "histogram", "How long requests waited for an instance.");
    for (const auto& [service, s] : stats)
      f.histogram<hold_wait_bucket>(service_label(service), s.hold_wait, s.hold_wait_us[0]);
  }
  {
    family f(out, "dockmaster_hold_refused_total", "counter",
             "Requests refused a wait at once (the hold was full, or the body too large).");
    for (const auto& [service, s] : stats) f.sample(service_label(service), static_cast<double>(s.hold_refused[0]));
  }
  {
    family f(out, "dockmaster_config_reloads_total", "counter", "Config reloads, by result.");
    f.sample(label("result", "success"), static_cast<double>(state.config_state.reloads_ok));
    f.sample(label("result", "failure"), static_cast<double>(state.config_state.reloads_failed));
  }
  // The start counts as the first successful load, as Prometheus's own metric does.
  const auto& config_state = state.config_state;
  family(out, "dockmaster_config_last_reload_success_timestamp_seconds", "gauge",
         "When the config running now was loaded (at start or by a reload), since the Unix epoch.")
      .sample("", config_state.last_success_unix ? static_cast<double>(config_state.last_success_unix)
                                                 : state.config_loaded_unix_ms / 1e3);
  family(out, "dockmaster_build_info", "gauge", "Always 1; the version is a label.")
      .sample(label("version", DOCKMASTER_VERSION), 1);
  render_process(out);
  return out;
}

}  // namespace dockmaster::actors
