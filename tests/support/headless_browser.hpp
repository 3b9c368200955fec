#pragma once

// Debian's chromium, headless, driven through the DevTools protocol over a WebSocket
// (Beast): evaluate JavaScript in the page, wait for a condition in it, resize the
// viewport, save a screenshot. For the tests of the status page.

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "support/harness.hpp"

namespace dockmaster::test {

class headless_browser {
 public:
  /// The chromium binary: $DOCKMASTER_CHROMIUM, else `chromium` on the PATH.
  static std::optional<std::string> find_chromium();

  /// Starts chromium with a fresh profile, opening `url`. Throws std::runtime_error
  /// when it does not come up.
  headless_browser(const std::string& chromium, const std::string& url);
  ~headless_browser();  // closes chromium and removes its profile

  headless_browser(const headless_browser&) = delete;
  headless_browser& operator=(const headless_browser&) = delete;

  /// One DevTools command on the page; its "result". Throws on a protocol error.
  nlohmann::json call(const std::string& method, nlohmann::json params = nlohmann::json::object());
  /// The value of a JavaScript expression evaluated in the page (null when it threw).
  nlohmann::json evaluate(const std::string& expression);
  /// Evaluates `expression` until it is truthy or `timeout` passes; whether it was.
  bool wait_for(const std::string& expression, std::chrono::milliseconds timeout);
  /// The viewport as a phone (`mobile`) or a desktop window of that size.
  void set_viewport(int width, int height, bool mobile);
  /// The whole page as a PNG file.
  void screenshot(const std::string& path);

  /// What chromium wrote on stderr, for a failure message.
  std::string log() const;

 private:
  struct connection;
  std::string profile_dir_;
  std::unique_ptr<child_process> process_;
  std::unique_ptr<connection> page_;
  std::uint64_t next_id_ = 1;
};

}  // namespace dockmaster::test
