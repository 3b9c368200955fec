#pragma once

#include <stdexcept>
#include <string>

#include <nlohmann/json_fwd.hpp>

#include "config/config.hpp"

namespace dockmaster::config {

/// A configuration problem, with the JSON path of the key at fault
/// (for example `services.backend.instances[1]`).
class config_error : public std::runtime_error {
 public:
  config_error(std::string path, std::string problem);
  const std::string& path() const { return path_; }
  const std::string& problem() const { return problem_; }

 private:
  std::string path_;
  std::string problem_;
};

/// Builds and validates a config from JSON; every absent key takes its default.
/// Throws config_error naming the key path on an unknown key, a wrong type, a route
/// to an unknown service, an unparsable address or duration.
config parse_config(const nlohmann::json& document);

/// Reads and parses a JSON file; a missing file or a JSON syntax error is a config_error
/// too (path "" and the parser's message with line and column).
config load_config_file(const std::string& file_name);

/// The two halves of load_config_file, for a caller that also wants the bytes (the
/// digest of a reload): the file's content (config_error when it cannot be read), and
/// the config parsed from it (`file_name` only names it in a JSON syntax error).
std::string read_config_file(const std::string& file_name);
config parse_config_text(const std::string& text, const std::string& file_name);

/// The config used when no file is given: listen on 0.0.0.0:8080, `/api/` to
/// 127.0.0.1:8000, `/` to 127.0.0.1:3000, no prefix strip.
config default_config();

/// limits.max_client_connections when the config leaves it out, for a process that may
/// open `open_files` descriptors (the soft RLIMIT_NOFILE): each client connection holds
/// one descriptor and, while its request is forwarded, usually one to its upstream, so
/// half of what remains after a reserve of 64 (listeners, event loops, probes, the
/// Docker socket, pooled upstream connections, logs), so that the limit is reached
/// before descriptors run out; at most 10000, which bounds memory on a machine with a
/// very high descriptor limit; at least 1.
std::size_t default_max_client_connections(std::uint64_t open_files);

/// Parses `host:port` or `[v6]:port`. Throws std::invalid_argument with a reason.
host_port parse_host_port(const std::string& text);

/// Parses a duration: a number of milliseconds, or a string such as "250ms", "2s",
/// "1.5s", "1m", "1h". Throws std::invalid_argument with a reason.
milliseconds parse_duration(const nlohmann::json& value);

}  // namespace dockmaster::config
