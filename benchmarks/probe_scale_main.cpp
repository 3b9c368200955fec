// The probe engine at scale: probes every port of a range once per interval with one
// health_prober (the way the health watchers will, minus the actors), counts passes and
// failures, and reports its own CPU time (process total and the prober thread alone,
// from /proc) over the wall time, its peak RSS and the probe latencies.
//
//   probe_scale_main --ports FIRST-LAST [--interval-ms 1000] [--seconds 30]
//                    [--timeout-ms 1000] [--address 127.0.0.1] [--kind http|tcp]
//                    [--path /health] [--body-contains TEXT] [--spread]
//
// By default every port is probed at the start of each interval (a burst); --spread
// spreads them evenly over the interval, in 10 ms slices.
//
// The last line of the output is `RESULT {...}` (JSON) for scripts; benchmarks/probe_scale.sh
// runs it against 1,000 nginx listeners.

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <dirent.h>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "net/health_prober.hpp"

namespace {

using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;
using dockmaster::net::health_prober;
using dockmaster::net::probe_outcome;
using dockmaster::net::probe_target;

struct options {
  std::string address = "127.0.0.1";
  unsigned first_port = 0;
  unsigned last_port = 0;
  std::chrono::milliseconds interval{1000};
  std::chrono::seconds duration{30};
  std::chrono::milliseconds timeout{1000};
  dockmaster::config::probe_kind kind = dockmaster::config::probe_kind::http;
  std::string path = "/health";
  std::string body_contains;
  bool spread = false;
};

[[noreturn]] void usage(const std::string& problem) {
  if (!problem.empty()) std::cerr << "probe_scale_main: " << problem << "\n";
  std::cerr << "usage: probe_scale_main --ports FIRST-LAST [--interval-ms 1000] [--seconds 30]\n"
               "                        [--timeout-ms 1000] [--address 127.0.0.1] [--kind http|tcp]\n"
               "                        [--path /health] [--body-contains TEXT] [--spread]\n";
  std::exit(2);
}

unsigned long number(const std::string& text, const char* what) {
  char* end = nullptr;
  errno = 0;
  unsigned long value = std::strtoul(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || errno != 0) usage(std::string("bad ") + what + ": " + text);
  return value;
}

options parse(int argc, char** argv) {
  options o;
  bool have_ports = false;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) usage(arg + " needs a value");
      return argv[++i];
    };
    if (arg == "--ports") {
      auto range = value();
      auto dash = range.find('-');
      if (dash == std::string::npos) usage("--ports takes FIRST-LAST");
      o.first_port = number(range.substr(0, dash), "port");
      o.last_port = number(range.substr(dash + 1), "port");
      if (o.first_port == 0 || o.last_port > 65535 || o.first_port > o.last_port)
        usage("bad port range " + range);
      have_ports = true;
    } else if (arg == "--interval-ms") {
      o.interval = std::chrono::milliseconds(number(value(), "interval"));
      if (o.interval.count() == 0) usage("the interval must be positive");
    } else if (arg == "--seconds") {
      o.duration = std::chrono::seconds(number(value(), "seconds"));
    } else if (arg == "--timeout-ms") {
      o.timeout = std::chrono::milliseconds(number(value(), "timeout"));
    } else if (arg == "--address") {
      o.address = value();
    } else if (arg == "--kind") {
      auto kind = value();
      if (kind == "http")
        o.kind = dockmaster::config::probe_kind::http;
      else if (kind == "tcp")
        o.kind = dockmaster::config::probe_kind::tcp;
      else
        usage("--kind is http or tcp");
    } else if (arg == "--path") {
      o.path = value();
    } else if (arg == "--body-contains") {
      o.body_contains = value();
    } else if (arg == "--spread") {
      o.spread = true;
    } else if (arg == "-h" || arg == "--help") {
      usage("");
    } else {
      usage("unknown argument " + arg);
    }
  }
  if (!have_ports) usage("--ports is required");
  return o;
}

struct ticks {
  std::uint64_t user = 0;
  std::uint64_t system = 0;
  std::uint64_t total() const { return user + system; }
  ticks operator-(const ticks& o) const { return {user - o.user, system - o.system}; }
};

/// utime and stime of a /proc/.../stat line, in clock ticks.
ticks cpu_ticks_of(const std::string& stat_path) {
  std::ifstream in(stat_path);
  std::string line;
  std::getline(in, line);
  // The command name (field 2) is in parentheses and may hold spaces: start after it.
  auto close = line.rfind(')');
  if (close == std::string::npos) return {};
  std::istringstream fields(line.substr(close + 2));
  std::string field;
  std::uint64_t utime = 0, stime = 0;
  for (int index = 3; fields >> field; ++index) {
    if (index == 14) utime = std::stoull(field);
    if (index == 15) {
      stime = std::stoull(field);
      break;
    }
  }
  return {utime, stime};
}

/// The CPU ticks of the process and of its threads named `thread_name`.
std::pair<ticks, ticks> cpu_ticks(const std::string& thread_name) {
  ticks named;
  if (DIR* tasks = ::opendir("/proc/self/task")) {
    while (dirent* entry = ::readdir(tasks)) {
      std::string tid = entry->d_name;
      if (tid == "." || tid == "..") continue;
      std::ifstream comm("/proc/self/task/" + tid + "/comm");
      std::string name;
      std::getline(comm, name);
      if (name == thread_name) {
        auto t = cpu_ticks_of("/proc/self/task/" + tid + "/stat");
        named.user += t.user;
        named.system += t.system;
      }
    }
    ::closedir(tasks);
  }
  return {cpu_ticks_of("/proc/self/stat"), named};
}

long status_kib(const std::string& key) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(key + ":", 0) == 0) return std::strtol(line.c_str() + key.size() + 1, nullptr, 10);
  return -1;
}

struct tally {
  std::mutex mutex;
  std::condition_variable changed;
  std::uint64_t started = 0;
  std::uint64_t completed = 0;
  std::uint64_t passed = 0;
  std::uint64_t failed = 0;
  std::map<std::string, std::uint64_t> failures;  // detail -> count
  std::vector<std::uint32_t> durations_us;
};

double percentile(std::vector<std::uint32_t>& sorted, double p) {
  if (sorted.empty()) return 0;
  auto index = static_cast<std::size_t>(p * static_cast<double>(sorted.size() - 1) + 0.5);
  return sorted[std::min(index, sorted.size() - 1)] / 1000.0;
}

std::string json_string(const std::string& text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\')
      out += std::string("\\") + c;
    else if (static_cast<unsigned char>(c) < 0x20)
      out += ' ';
    else
      out += c;
  }
  return out + "\"";
}

}  // namespace

int main(int argc, char** argv) {
  auto o = parse(argc, argv);
  const std::size_t ports = o.last_port - o.first_port + 1;
  const auto rounds = std::max<std::int64_t>(1, std::chrono::milliseconds(o.duration).count() / o.interval.count());

  dockmaster::config::health_config health;
  health.kind = o.kind;
  health.timeout = o.timeout;
  health.http.path = o.path;
  health.http.body_contains = o.body_contains;

  std::vector<probe_target> targets(ports);
  for (std::size_t i = 0; i < ports; ++i) {
    targets[i].address = o.address;
    targets[i].port = static_cast<std::uint16_t>(o.first_port + i);
  }

  auto counts = std::make_shared<tally>();
  counts->durations_us.reserve(static_cast<std::size_t>(rounds) * ports);
  auto record = [counts](probe_outcome outcome) {
    std::lock_guard lock(counts->mutex);
    ++counts->completed;
    if (outcome.passed) {
      ++counts->passed;
    } else {
      ++counts->failed;
      ++counts->failures[outcome.detail];
    }
    counts->durations_us.push_back(static_cast<std::uint32_t>(
        std::min<std::int64_t>(outcome.duration.count(), UINT32_MAX)));
    if (counts->completed == counts->started) counts->changed.notify_all();
  };

  std::cerr << "probing " << ports << " ports (" << o.address << ":" << o.first_port << "-"
            << o.last_port << ") every " << o.interval.count() << " ms, " << rounds
            << " rounds, timeout " << o.timeout.count() << " ms\n";

  health_prober prober;
  const long ticks_per_second = ::sysconf(_SC_CLK_TCK);
  const auto cpu_start = cpu_ticks("dm-prober");
  const auto wall_start = steady::now();
  std::uint64_t max_in_flight_at_tick = 0;
  // Burst: all ports at the start of each interval. Spread: the interval cut in slices
  // of 10 ms, each port probed in its own slice (as independent watchers would).
  const std::int64_t slices = o.spread ? std::max<std::int64_t>(1, o.interval.count() / 10) : 1;
  for (std::int64_t round = 0; round < rounds; ++round) {
    const auto round_start = wall_start + round * o.interval;
    for (std::int64_t slice = 0; slice < slices; ++slice) {
      std::this_thread::sleep_until(round_start + slice * o.interval / slices);
      const auto begin = ports * static_cast<std::size_t>(slice) / static_cast<std::size_t>(slices);
      const auto end = ports * static_cast<std::size_t>(slice + 1) / static_cast<std::size_t>(slices);
      {
        std::lock_guard lock(counts->mutex);
        if (slice == 0)
          max_in_flight_at_tick = std::max(max_in_flight_at_tick, counts->started - counts->completed);
        counts->started += end - begin;
      }
      for (auto i = begin; i < end; ++i) prober.probe(targets[i], health, record);
    }
  }
  // The last interval is part of the run: its probes complete within it (or time out).
  std::this_thread::sleep_until(wall_start + rounds * o.interval);
  const auto cpu_end = cpu_ticks("dm-prober");
  const auto wall_end = steady::now();
  {
    std::unique_lock lock(counts->mutex);
    counts->changed.wait_for(lock, o.timeout + 5s, [&] { return counts->completed == counts->started; });
  }

  const double wall_s = std::chrono::duration<double>(wall_end - wall_start).count();
  const auto process = cpu_end.first - cpu_start.first;
  const double cpu_s = static_cast<double>(process.total()) / ticks_per_second;
  const double user_s = static_cast<double>(process.user) / ticks_per_second;
  const double system_s = static_cast<double>(process.system) / ticks_per_second;
  const double prober_cpu_s = static_cast<double>((cpu_end.second - cpu_start.second).total()) / ticks_per_second;
  rusage usage{};
  ::getrusage(RUSAGE_SELF, &usage);
  const long max_rss_kib = usage.ru_maxrss;
  const long rss_kib = status_kib("VmRSS");

  std::lock_guard lock(counts->mutex);
  auto& durations = counts->durations_us;
  std::sort(durations.begin(), durations.end());
  const double p50 = percentile(durations, 0.50), p99 = percentile(durations, 0.99);
  const double max_ms = durations.empty() ? 0 : durations.back() / 1000.0;
  const std::uint64_t unfinished = counts->started - counts->completed;

  std::printf("probes:         %llu started, %llu passed, %llu failed, %llu unfinished\n",
              static_cast<unsigned long long>(counts->started),
              static_cast<unsigned long long>(counts->passed),
              static_cast<unsigned long long>(counts->failed),
              static_cast<unsigned long long>(unfinished));
  for (const auto& [detail, n] : counts->failures)
    std::printf("  failure:      %llu x %s\n", static_cast<unsigned long long>(n), detail.c_str());
  std::printf("wall:           %.2f s\n", wall_s);
  std::printf("cpu (process):  %.2f s = %.2f %% of one core (user %.2f s, system %.2f s)\n", cpu_s,
              100 * cpu_s / wall_s, user_s, system_s);
  std::printf("cpu (prober):   %.2f s = %.2f %% of one core\n", prober_cpu_s, 100 * prober_cpu_s / wall_s);
  std::printf("max RSS:        %.1f MiB (now %.1f MiB)\n", max_rss_kib / 1024.0, rss_kib / 1024.0);
  std::printf("probe duration: p50 %.3f ms, p99 %.3f ms, max %.3f ms\n", p50, p99, max_ms);
  std::printf("in flight at a tick (max): %llu\n", static_cast<unsigned long long>(max_in_flight_at_tick));

  std::ostringstream failures;
  bool first = true;
  for (const auto& [detail, n] : counts->failures) {
    failures << (first ? "" : ",") << json_string(detail) << ":" << n;
    first = false;
  }
  std::printf(
      "RESULT {\"ports\":%zu,\"spread\":%s,\"interval_ms\":%lld,\"rounds\":%lld,\"timeout_ms\":%lld,"
      "\"started\":%llu,\"passed\":%llu,\"failed\":%llu,\"unfinished\":%llu,\"failures\":{%s},"
      "\"wall_s\":%.3f,\"cpu_s\":%.3f,\"cpu_percent\":%.3f,\"user_s\":%.3f,\"system_s\":%.3f,"
      "\"prober_cpu_s\":%.3f,"
      "\"prober_cpu_percent\":%.3f,\"max_rss_kib\":%ld,\"rss_kib\":%ld,"
      "\"p50_ms\":%.3f,\"p99_ms\":%.3f,\"max_ms\":%.3f,\"max_in_flight_at_tick\":%llu}\n",
      ports, o.spread ? "true" : "false", static_cast<long long>(o.interval.count()), static_cast<long long>(rounds),
      static_cast<long long>(o.timeout.count()), static_cast<unsigned long long>(counts->started),
      static_cast<unsigned long long>(counts->passed), static_cast<unsigned long long>(counts->failed),
      static_cast<unsigned long long>(unfinished), failures.str().c_str(), wall_s, cpu_s,
      100 * cpu_s / wall_s, user_s, system_s, prober_cpu_s, 100 * prober_cpu_s / wall_s, max_rss_kib, rss_kib, p50, p99,
      max_ms, static_cast<unsigned long long>(max_in_flight_at_tick));
  return 0;
}
