#include "docker/engine_json.hpp"

#include <cctype>
#include <cstdio>
#include <ctime>
#include <stdexcept>
#include <utility>

#include <nlohmann/json.hpp>

namespace dockmaster::docker {

namespace {

using json = nlohmann::json;

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

bool bool_field(const json& object, const char* key) {
  const json* v = field(object, key);
  if (v == nullptr) return false;
  if (!v->is_boolean()) throw std::invalid_argument(std::string("\"") + key + "\" is not a boolean");
  return v->get<bool>();
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
    info.tty = bool_field(*config, "Tty");
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

std::vector<container_info> parse_container_list(const json& document) {
  if (!document.is_array()) throw std::invalid_argument("not an array");
  std::vector<container_info> listed;
  for (const auto& entry : document) listed.push_back(parse_list_entry(entry));
  return listed;
}

container_info parse_container_inspect(const json& document) { return parse_inspect(document); }

std::string parse_exec_created(const json& document) { return string_field(document, "Id"); }

exec_state parse_exec_inspect(const json& document) {
  exec_state state;
  const json* r = field(document, "Running");
  if (r == nullptr || !r->is_boolean()) throw std::invalid_argument("no boolean \"Running\"");
  state.running = r->get<bool>();
  if (!state.running) {
    const json* code = field(document, "ExitCode");
    if (code != nullptr) {
      if (!code->is_number_integer()) throw std::invalid_argument("\"ExitCode\" is not an integer");
      state.exit_code = code->get<int>();
    }
  }
  return state;
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
