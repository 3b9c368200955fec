#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string_view>

#include <spdlog/logger.h>

#include "config/config.hpp"

namespace dockmaster::net {

/// Sets up the "dockmaster" (events) and "access" (one line per request) loggers on
/// stderr in the configured format and level. Safe to call again (replaces them).
void setup_logging(const config::log_config& log);

/// The event logger; created with defaults if setup_logging was not called.
spdlog::logger& event_log();

/// One request as the access log records it.
struct access_record {
  std::string_view client;
  std::string_view method;
  std::string_view target;
  unsigned status = 0;
  std::string_view upstream;  // instance address, or "-" when answered by the manager
  std::chrono::microseconds duration{0};
  std::string_view request_id;
};

void log_access(const access_record& record);

/// Escapes a string for use inside a JSON string literal.
std::string json_escape(std::string_view text);

}  // namespace dockmaster::net
