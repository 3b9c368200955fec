#include "docker/engine_client.hpp"

#include <algorithm>
#include <cstdlib>
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
    listed = parse_container_list(doc);
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
    return parse_container_inspect(doc);
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
    outcome.exec_id = parse_exec_created(created);
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
    try {
      // ExitCode stays null until the engine has recorded the end: keep polling then.
      const exec_state state = parse_exec_inspect(doc);
      if (!state.running && state.exit_code) {
        outcome.exit_code = *state.exit_code;
        outcome.finished = true;
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

std::string engine_client::container_logs(const std::string& id_or_name, bool tty,
                                          const log_tail_limits& limits,
                                          std::chrono::milliseconds timeout) {
  const std::string target = api("/containers/" + percent_encode(id_or_name) +
                                 "/logs?stdout=1&stderr=1&timestamps=1&tail=" +
                                 std::to_string(limits.lines));
  log_tail_collector collector(tty, limits);
  const auto deadline = clock::now() + std::min(timeout, call_timeout_);
  const auto answer = engine_stream(socket_path_, "GET", target, {}, deadline, deadline,
                                    [&collector](std::string_view data) { collector.feed(data); });
  if (answer.header_timed_out || answer.body_timed_out)
    throw engine_error(0, "GET " + target + ": the Docker engine at " + socket_path_ +
                              " timed out after " +
                              std::to_string(std::min(timeout, call_timeout_).count()) + " ms");
  if (answer.status < 200 || answer.status > 299)
    throw_status("GET", target, answer.status, answer.reason, answer.error_body);
  return collector.str();
}

void engine_client::restart_container(const std::string& id_or_name, std::chrono::seconds stop_timeout) {
  // The engine answers once the container is stopped (at most stop_timeout) and started again.
  const call_context ctx{socket_path_, call_timeout_ + stop_timeout};
  call(ctx, "POST",
       api("/containers/" + percent_encode(id_or_name) + "/restart?t=" + std::to_string(stop_timeout.count())));
}

}  // namespace dockmaster::docker
