#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

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
  /// Of the duration, how long it waited for an instance that was coming back (hold).
  std::chrono::microseconds held{0};
};

void log_access(const access_record& record);

/// One field of a structured event line.
struct log_field {
  std::string_view key;
  std::string value;
  bool is_number = false;  // written without quotes in JSON
};

inline log_field field(std::string_view key, std::string value) { return {key, std::move(value), false}; }
inline log_field number_field(std::string_view key, long long value) {
  return {key, std::to_string(value), true};
}

/// A structured event (a health transition, a restart): in JSON mode one object with
/// "event" and every field at the top level; in text mode `event key=value ...`.
void log_event(spdlog::level::level_enum level, std::string_view event,
               std::initializer_list<log_field> fields);

/// Now, as "2026-01-31T12:00:00.123Z".
std::string utc_timestamp();

/// Now, in milliseconds since the Unix epoch.
std::int64_t unix_ms_now();

/// Words joined with single spaces (a command line, for logs).
std::string join_words(const std::vector<std::string>& words);

/// Escapes a string for use inside a JSON string literal.
std::string json_escape(std::string_view text);

}  // namespace dockmaster::net
