#include "net/logging.hpp"

#include <atomic>
#include <mutex>

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

namespace dockmaster::net {
namespace {

// The loggers and their sinks are made once and never replaced: setup_logging changes
// their formats and levels in place (a sink's formatter under the sink's own mutex, a
// level atomically), so a thread that logs meanwhile never holds a logger that is gone.
std::atomic<bool> json_format{false};
std::once_flag defaults_once;

/// The message escaped for a JSON string (pattern flag %*).
class escaped_message : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&, spdlog::memory_buf_t& out) override {
    auto text = json_escape(std::string_view(msg.payload.data(), msg.payload.size()));
    out.append(text.data(), text.data() + text.size());
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<escaped_message>();
  }
};

struct loggers {
  std::shared_ptr<spdlog::sinks::stderr_sink_mt> event_sink =
      std::make_shared<spdlog::sinks::stderr_sink_mt>();
  std::shared_ptr<spdlog::sinks::stderr_sink_mt> access_sink =
      std::make_shared<spdlog::sinks::stderr_sink_mt>();
  spdlog::logger events{"dockmaster", event_sink};
  spdlog::logger access{"access", access_sink};
  // Structured events build their own JSON, like access lines.
  spdlog::logger structured{"event", access_sink};
};

loggers& the_loggers() {
  static loggers instance;
  return instance;
}

void configure(const config::log_config& log) {
  auto& l = the_loggers();
  const bool json = log.format == "json";
  if (json) {
    auto formatter = std::make_unique<spdlog::pattern_formatter>();
    formatter->add_flag<escaped_message>('*').set_pattern(
        R"({"time":"%Y-%m-%dT%H:%M:%S.%e%z","level":"%l","log":"%n","msg":"%*"})");
    l.event_sink->set_formatter(std::move(formatter));
    l.access_sink->set_pattern("%v");  // access lines are whole JSON objects already
  } else {
    l.event_sink->set_pattern("%Y-%m-%dT%H:%M:%S.%e%z %-5l [%n] %v");
    l.access_sink->set_pattern("%Y-%m-%dT%H:%M:%S.%e%z %-5l [%n] %v");
  }
  json_format = json;
  auto level = spdlog::level::from_str(log.level);
  l.structured.set_level(level);
  l.structured.flush_on(spdlog::level::trace);
  l.events.set_level(level);
  l.access.set_level(level);
  l.events.flush_on(spdlog::level::info);
  l.access.flush_on(spdlog::level::info);
}

}  // namespace

std::int64_t unix_ms_now() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string utc_timestamp() {
  auto now = std::chrono::system_clock::now();
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()) % 1000;
  auto t = std::chrono::system_clock::to_time_t(now);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char text[40];
  auto n = std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S", &tm);
  std::snprintf(text + n, sizeof text - n, ".%03dZ", static_cast<int>(ms.count()));
  return text;
}

std::string join_words(const std::vector<std::string>& words) {
  std::string text;
  for (const auto& word : words) text += (text.empty() ? "" : " ") + word;
  return text;
}

void setup_logging(const config::log_config& log) {
  // Marks the defaults as done, so that a later event_log() keeps this configuration.
  std::call_once(defaults_once, [] {});
  configure(log);
}

spdlog::logger& event_log() {
  std::call_once(defaults_once, [] { configure(config::log_config{}); });
  return the_loggers().events;
}

std::string json_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char escaped[8];
          std::snprintf(escaped, sizeof escaped, "\\u%04x", c);
          out += escaped;
        } else {
          out += c;
        }
    }
  }
  return out;
}

void log_event(spdlog::level::level_enum level, std::string_view event,
               std::initializer_list<log_field> fields) {
  event_log();
  auto& structured = the_loggers().structured;
  if (!structured.should_log(level)) return;
  std::string line;
  if (json_format) {
    line = "{\"time\":\"" + utc_timestamp() + "\",\"level\":\"" +
           std::string(spdlog::level::to_string_view(level).data()) + "\",\"event\":\"" +
           json_escape(event) + "\"";
    for (const auto& f : fields) {
      line += ",\"" + json_escape(f.key) + "\":";
      line += f.is_number ? f.value : "\"" + json_escape(f.value) + "\"";
    }
    line += "}";
  } else {
    line = std::string(event);
    for (const auto& f : fields) {
      bool plain = !f.value.empty() && f.value.find_first_of(" \"=\n") == std::string::npos;
      line += " " + std::string(f.key) + "=" + (plain || f.is_number ? f.value : "\"" + json_escape(f.value) + "\"");
    }
  }
  structured.log(level, line);
}

void log_access(const access_record& r) {
  event_log();  // makes sure the loggers are configured
  auto& access = the_loggers().access;
  if (!access.should_log(spdlog::level::info)) return;
  double ms = r.duration.count() / 1000.0;
  double held_ms = r.held.count() / 1000.0;
  if (json_format) {
    if (r.held.count() > 0)
      access.info(
          R"({{"time":"{}","log":"access","client":"{}","method":"{}","path":"{}","status":{},"upstream":"{}","duration_ms":{:.3f},"held_ms":{:.3f},"request_id":"{}"}})",
          utc_timestamp(), r.client, json_escape(r.method), json_escape(r.target), r.status,
          r.upstream, ms, held_ms, r.request_id);
    else
      access.info(
          R"({{"time":"{}","log":"access","client":"{}","method":"{}","path":"{}","status":{},"upstream":"{}","duration_ms":{:.3f},"request_id":"{}"}})",
          utc_timestamp(), r.client, json_escape(r.method), json_escape(r.target), r.status,
          r.upstream, ms, r.request_id);
  } else if (r.held.count() > 0) {
    access.info("{} \"{} {}\" {} upstream={} {:.3f}ms held={:.3f}ms id={}", r.client, r.method,
                r.target, r.status, r.upstream, ms, held_ms, r.request_id);
  } else {
    access.info("{} \"{} {}\" {} upstream={} {:.3f}ms id={}", r.client, r.method, r.target,
                 r.status, r.upstream, ms, r.request_id);
  }
}

}  // namespace dockmaster::net
