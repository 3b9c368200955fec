#include "docker/engine_client.hpp"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <thread>
#include <utility>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "docker/engine_http.hpp"
#include "docker/exec_stream.hpp"

namespace dockmaster::docker {

namespace {

using json = nlohmann::json;
using clock = std::chrono::steady_clock;

constexpr std::string_view default_socket = "/var/run/docker.sock";
constexpr auto exec_poll_interval = std::chrono::milliseconds(50);

std::string api(std::string_view path) {
  std::string target(api_version_prefix);
  target += path;
  return target;
}

std::string snippet(const std::string& body) {
  constexpr std::size_t max = 200;
  std::string s = body.size() > max ? body.substr(0, max) + "..." : body;
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

// A non-2xx answer: the engine's {"message": "..."} when it sent one.
[[noreturn]] void throw_status(std::string_view method, const std::string& target, int status,
                               const std::string& reason, const std::string& body) {
  try {
    const auto doc = json::parse(body);
    if (doc.is_object() && doc.contains("message") && doc["message"].is_string())
      throw engine_error(status, doc["message"].get<std::string>());
  } catch (const json::exception&) {
  }
  std::string what = std::string(method) + " " + target + ": the Docker engine answered " +
                     std::to_string(status) + " " + reason;
  if (!body.empty()) what += ": " + snippet(body);
  throw engine_error(status, what);
}

[[noreturn]] void throw_malformed(std::string_view method, const std::string& target, int status,
                                  const std::string& detail) {
  throw engine_error(status, "malformed answer from the Docker engine to " + std::string(method) + " " +
                                 target + ": " + detail);
}

struct call_context {
  const std::string& socket;
  std::chrono::milliseconds timeout;
};

// A request whose 2xx answer is returned as is; any other status throws.
engine_response call(const call_context& ctx, std::string_view method, const std::string& target,
                     const std::string& body = {}) {
  auto res = engine_request(ctx.socket, method, target, body, ctx.timeout);
  if (res.status < 200 || res.status > 299) throw_status(method, target, res.status, res.reason, res.body);
  return res;
}

// A request whose 2xx answer must be JSON.
json call_json(const call_context& ctx, std::string_view method, const std::string& target,
               const std::string& body = {}) {
  auto res = call(ctx, method, target, body);
  try {
    return json::parse(res.body);
  } catch (const json::exception& e) {
    throw_malformed(method, target, res.status, std::string("not JSON (") + e.what() + "): " + snippet(res.body));
  }
}

// Field access that treats null and a missing key alike and rejects a wrong type.
const json* field(const json& object, const char* key) {
  if (!object.is_object()) return nullptr;
  const auto it = object.find(key);
  if (it == object.end() || it->is_null()) return nullptr;
  return &*it;
}

std::string string_field(const json& object, const char* key) {
  const json* v = field(object, key);
  if (v == nullptr) return {};
  if (!v->is_string()) throw std::invalid_argument(std::string("\"") + key + "\" is not a string");
  return v->get<std::string>();
}

std::map<std::string, std::string> labels_of(const json* labels) {
  std::map<std::string, std::string> out;
  if (labels == nullptr) return out;
  if (!labels->is_object()) throw std::invalid_argument("\"Labels\" is not an object");
  for (const auto& [k, v] : labels->items()) out[k] = v.is_string() ? v.get<std::string>() : v.dump();
  return out;
}

std::vector<std::string> addresses_of(const json& network_settings) {
  std::vector<std::string> out;
  const json* networks = field(network_settings, "Networks");
  if (networks == nullptr || !networks->is_object()) return out;
  for (const auto& [name, net] : networks->items()) {
    const std::string ip = string_field(net, "IPAddress");
    if (!ip.empty()) out.push_back(ip);
    const std::string ip6 = string_field(net, "GlobalIPv6Address");
    if (!ip6.empty()) out.push_back(ip6);
  }
  return out;
}

std::string strip_slash(std::string name) {
  if (!name.empty() && name.front() == '/') name.erase(0, 1);
  return name;
}

container_info parse_inspect(const json& doc) {
  if (!doc.is_object()) throw std::invalid_argument("not an object");
  container_info info;
  info.id = string_field(doc, "Id");
  if (info.id.empty()) throw std::invalid_argument("no \"Id\"");
  info.name = strip_slash(string_field(doc, "Name"));
  info.created_unix_ms = unix_ms_of(string_field(doc, "Created"));
  if (const json* state = field(doc, "State")) {
    info.state = string_field(*state, "Status");
    info.started_at = string_field(*state, "StartedAt");
  }
  if (const json* config = field(doc, "Config")) {
    info.hostname = string_field(*config, "Hostname");
    info.labels = labels_of(field(*config, "Labels"));
  }
  if (const json* host_config = field(doc, "HostConfig"))
    info.host_network = string_field(*host_config, "NetworkMode") == "host";
  if (const json* settings = field(doc, "NetworkSettings")) info.addresses = addresses_of(*settings);
  return info;
}

// An entry of GET /containers/json (it has no StartedAt nor Hostname).
container_info parse_list_entry(const json& entry) {
  if (!entry.is_object()) throw std::invalid_argument("an entry is not an object");
  container_info info;
  info.id = string_field(entry, "Id");
  if (info.id.empty()) throw std::invalid_argument("an entry has no \"Id\"");
  if (const json* names = field(entry, "Names")) {
    if (!names->is_array()) throw std::invalid_argument("\"Names\" is not an array");
    // The container's own name has no further '/' (legacy links add "/other/alias").
    for (const auto& n : *names) {
      if (!n.is_string()) continue;
      std::string name = strip_slash(n.get<std::string>());
      const bool own = name.find('/') == std::string::npos;
      if (info.name.empty() || (own && info.name.find('/') != std::string::npos)) info.name = std::move(name);
    }
  }
  info.state = string_field(entry, "State");
  info.labels = labels_of(field(entry, "Labels"));
  if (const json* host_config = field(entry, "HostConfig"))
    info.host_network = string_field(*host_config, "NetworkMode") == "host";
  if (const json* settings = field(entry, "NetworkSettings")) info.addresses = addresses_of(*settings);
  return info;
}

}  // namespace

engine_client::engine_client(std::string socket_path, std::chrono::milliseconds call_timeout)
    : socket_path_(std::move(socket_path)), call_timeout_(call_timeout) {}

std::string engine_client::socket_path_from(const std::string& configured) {
  // The config file is the more explicit of the two, as `docker -H` beats DOCKER_HOST.
  if (!configured.empty()) return configured;
  if (const char* host = std::getenv("DOCKER_HOST")) {
    const std::string_view value(host);
    constexpr std::string_view scheme = "unix://";
    if (value.substr(0, scheme.size()) == scheme && value.size() > scheme.size())
      return std::string(value.substr(scheme.size()));
  }
  return std::string(default_socket);
}

bool engine_client::ping() {
  try {
    const auto res = engine_request(socket_path_, "GET", "/_ping", {}, call_timeout_);
    return res.status == 200 && res.body == "OK";
  } catch (const engine_error& e) {
    spdlog::debug("docker: ping failed: {}", e.what());
    return false;
  }
}

std::vector<container_info> engine_client::list_containers(const std::vector<std::string>& label_filters) {
  const call_context ctx{socket_path_, call_timeout_};
  std::string target = api("/containers/json");
  if (!label_filters.empty()) {
    const json filters = {{"label", label_filters}};
    target += "?filters=" + percent_encode(filters.dump());
  }
  const json doc = call_json(ctx, "GET", target);
  std::vector<container_info> listed;
  try {
    if (!doc.is_array()) throw std::invalid_argument("not an array");
    for (const auto& entry : doc) listed.push_back(parse_list_entry(entry));
  } catch (const std::exception& e) {
    throw_malformed("GET", target, 200, e.what());
  }
  // The list has neither StartedAt nor Hostname: each container is inspected too (a
  // service has few). One that is gone or stopped in between is left out.
  std::vector<container_info> out;
  out.reserve(listed.size());
  for (auto& entry : listed) {
    try {
      auto info = inspect_container(entry.id);
      if (info.state != "running") continue;
      out.push_back(std::move(info));
    } catch (const engine_error& e) {
      if (e.status() != 404) throw;
    }
  }
  return out;
}

container_info engine_client::inspect_container(const std::string& id_or_name) {
  const call_context ctx{socket_path_, call_timeout_};
  const std::string target = api("/containers/" + percent_encode(id_or_name) + "/json");
  const json doc = call_json(ctx, "GET", target);
  try {
    return parse_inspect(doc);
  } catch (const std::exception& e) {
    throw_malformed("GET", target, 200, e.what());
  }
}

exec_outcome engine_client::exec(const std::string& container, const exec_options& options) {
  const call_context ctx{socket_path_, call_timeout_};
  const auto started = clock::now();
  const auto deadline = started + options.timeout;
  exec_outcome outcome;
  const auto finish = [&]() -> exec_outcome {
    outcome.duration = std::chrono::duration_cast<std::chrono::milliseconds>(clock::now() - started);
    return std::move(outcome);
  };

  // 1. Create.
  json create = {{"AttachStdin", false}, {"AttachStdout", true}, {"AttachStderr", true},
                 {"Tty", false},         {"Cmd", options.argv}};
  if (!options.user.empty()) create["User"] = options.user;
  if (!options.env.empty()) create["Env"] = options.env;
  if (!options.working_dir.empty()) create["WorkingDir"] = options.working_dir;
  const std::string create_target = api("/containers/" + percent_encode(container) + "/exec");
  const json created = call_json(ctx, "POST", create_target, create.dump());
  try {
    outcome.exec_id = string_field(created, "Id");
  } catch (const std::exception& e) {
    throw_malformed("POST", create_target, 201, e.what());
  }
  if (outcome.exec_id.empty()) throw_malformed("POST", create_target, 201, "no \"Id\"");

  // 2. Start, attached: the multiplexed output runs until the exec's streams close.
  tail_buffer output(options.output_limit);
  multiplexed_stream_decoder decoder([&output](int, std::string_view payload) { output.append(payload); });
  const std::string start_target = api("/exec/" + percent_encode(outcome.exec_id) + "/start");
  const auto header_deadline = std::min(clock::now() + call_timeout_, deadline);
  const auto started_stream = engine_stream(socket_path_, "POST", start_target,
                                            json{{"Detach", false}, {"Tty", false}}.dump(),
                                            header_deadline, deadline,
                                            [&decoder](std::string_view data) { decoder.feed(data); });
  outcome.output = output.str();
  if (started_stream.header_timed_out) {
    if (header_deadline < deadline) {
      throw engine_error(0, "POST " + start_target + ": the Docker engine at " + socket_path_ +
                                " timed out after " + std::to_string(call_timeout_.count()) + " ms");
    }
    return finish();  // the exec's own timeout came first
  }
  const int status = started_stream.status;
  if (status != 101 && (status < 200 || status > 299))
    throw_status("POST", start_target, status, started_stream.reason, started_stream.error_body);
  if (started_stream.body_timed_out) return finish();

  // 3. The exit code, once the engine has recorded it.
  const std::string inspect_target = api("/exec/" + percent_encode(outcome.exec_id) + "/json");
  for (;;) {
    const json doc = call_json(ctx, "GET", inspect_target);
    bool running = true;
    try {
      const json* r = field(doc, "Running");
      if (r == nullptr || !r->is_boolean()) throw std::invalid_argument("no boolean \"Running\"");
      running = r->get<bool>();
      if (!running) {
        // ExitCode stays null until the engine has recorded the end: keep polling then.
        const json* code = field(doc, "ExitCode");
        if (code != nullptr) {
          if (!code->is_number_integer()) throw std::invalid_argument("\"ExitCode\" is not an integer");
          outcome.exit_code = code->get<int>();
          outcome.finished = true;
        }
      }
    } catch (const std::exception& e) {
      throw_malformed("GET", inspect_target, 200, e.what());
    }
    if (outcome.finished) break;
    if (clock::now() + exec_poll_interval > deadline) break;
    std::this_thread::sleep_for(exec_poll_interval);
  }
  return finish();
}

void engine_client::restart_container(const std::string& id_or_name, std::chrono::seconds stop_timeout) {
  // The engine answers once the container is stopped (at most stop_timeout) and started again.
  const call_context ctx{socket_path_, call_timeout_ + stop_timeout};
  call(ctx, "POST",
       api("/containers/" + percent_encode(id_or_name) + "/restart?t=" + std::to_string(stop_timeout.count())));
}

std::int64_t unix_ms_of(const std::string& rfc3339) {
  // "YYYY-MM-DDTHH:MM:SS[.fraction]Z"; the engine always writes UTC.
  std::tm tm{};
  int consumed = 0;
  if (std::sscanf(rfc3339.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon,
                  &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &consumed) != 6 ||
      consumed != 19)
    return 0;
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  const std::time_t seconds = timegm(&tm);
  if (seconds <= 0) return 0;  // also Go's zero time, 0001-01-01
  std::int64_t millis = 0;
  std::size_t i = 19;
  if (i < rfc3339.size() && rfc3339[i] == '.') {
    int digits = 0;
    for (++i; i < rfc3339.size() && std::isdigit(static_cast<unsigned char>(rfc3339[i])); ++i)
      if (digits < 3) {
        millis = millis * 10 + (rfc3339[i] - '0');
        ++digits;
      }
    for (; digits < 3; ++digits) millis *= 10;
  }
  return static_cast<std::int64_t>(seconds) * 1000 + millis;
}

}  // namespace dockmaster::docker
