#pragma once

// The Engine API's JSON answers turned into structs: pure functions, no socket, so that
// they can be tested and fuzzed on their own. engine_client calls them on what the
// engine sent and turns a std::invalid_argument into a "malformed answer" engine_error.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace dockmaster::docker {

/// Milliseconds since the Unix epoch of an RFC 3339 UTC time as the engine writes it
/// ("2026-12-01T22:10:33.123456789Z"); 0 when it cannot be read.
std::int64_t unix_ms_of(const std::string& rfc3339);

struct container_info {
  std::string id;
  std::string name;         // without the leading '/'
  std::string state;        // "running", "exited", ...
  std::string started_at;   // State.StartedAt, RFC 3339
  std::int64_t created_unix_ms = 0;  // Created, as Unix milliseconds (0: unknown)
  std::string hostname;     // Config.Hostname
  bool tty = false;         // Config.Tty: its logs are raw, not multiplexed
  bool host_network = false;
  std::vector<std::string> addresses;  // IP addresses on the container's networks
  std::map<std::string, std::string> labels;
};

/// What GET /exec/{id}/json tells: whether the exec still runs, and its exit code once
/// the engine has recorded it (ExitCode stays null for a while after the end).
struct exec_state {
  bool running = true;
  std::optional<int> exit_code;
};

// Each throws std::invalid_argument naming what is wrong. A key that is null counts as
// absent; a key of the wrong type is an error; unknown keys are ignored.

/// GET /containers/json: an array of entries (which have neither StartedAt nor Hostname).
std::vector<container_info> parse_container_list(const nlohmann::json& document);

/// GET /containers/{id}/json.
container_info parse_container_inspect(const nlohmann::json& document);

/// POST /containers/{id}/exec: the new exec's "Id" ("" when there is none).
std::string parse_exec_created(const nlohmann::json& document);

/// GET /exec/{id}/json: "Running" must be a boolean and "ExitCode", when not null, an
/// integer.
exec_state parse_exec_inspect(const nlohmann::json& document);

}  // namespace dockmaster::docker
