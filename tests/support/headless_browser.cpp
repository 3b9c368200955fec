#include "support/headless_browser.hpp"

#include <sys/socket.h>
#include <sys/time.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>

#include "support/http_client.hpp"
#include "support/wait.hpp"

namespace dockmaster::test {

namespace fs = std::filesystem;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using tcp = boost::asio::ip::tcp;
using json = nlohmann::json;

namespace {

/// Every DevTools answer, even a slow screenshot, comes well within this.
constexpr int answer_timeout_s = 30;

std::string base64_decode(const std::string& in) {
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  std::string out;
  out.reserve(in.size() * 3 / 4);
  unsigned buffer = 0;
  int bits = 0;
  for (char c : in) {
    int v = value(c);
    if (v < 0) continue;  // padding
    buffer = (buffer << 6) | static_cast<unsigned>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((buffer >> bits) & 0xFF));
    }
  }
  return out;
}

std::string fresh_profile_dir() {
  std::string pattern = (fs::temp_directory_path() / "dockmaster-chromium-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  return pattern;
}

}  // namespace

struct headless_browser::connection {
  boost::asio::io_context io;
  websocket::stream<tcp::socket> ws{io};
};

std::optional<std::string> headless_browser::find_chromium() {
  if (const char* configured = std::getenv("DOCKMASTER_CHROMIUM"); configured && *configured)
    return fs::exists(configured) ? std::optional<std::string>(configured) : std::nullopt;
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path ? path : "/usr/bin:/bin");
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    for (const char* name : {"chromium", "chromium-browser"}) {
      fs::path candidate = fs::path(dir) / name;
      if (::access(candidate.c_str(), X_OK) == 0) return candidate.string();
    }
  }
  return std::nullopt;
}

headless_browser::headless_browser(const std::string& chromium, const std::string& url)
    : profile_dir_(fresh_profile_dir()) {
  process_ = std::make_unique<child_process>(std::vector<std::string>{
      chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync",
      "--user-data-dir=" + profile_dir_, "--remote-debugging-port=0", "--window-size=1024,900",
      url});
  // Chromium writes the port it chose (and the browser's path) into the profile.
  const auto port_file = fs::path(profile_dir_) / "DevToolsActivePort";
  std::uint16_t port = 0;
  wait_until(
      [&] {
        std::ifstream in(port_file);
        unsigned value = 0;
        if (in >> value && value > 0 && value < 65536) port = static_cast<std::uint16_t>(value);
        return port != 0 || !process_->running();
      },
      std::chrono::seconds(30), std::chrono::milliseconds(20));
  if (port == 0) throw std::runtime_error("chromium did not open its DevTools port: " + log());

  // The page target that opened `url`.
  std::string ws_path;
  wait_until(
      [&] {
        try {
          http_client client(port);
          auto targets = json::parse(client.get("/json/list", {}, "127.0.0.1:" + std::to_string(port)).body());
          for (const auto& target : targets)
            if (target.value("type", "") == "page") {
              auto address = target.value("webSocketDebuggerUrl", "");
              auto at = address.find("/devtools/");
              if (at != std::string::npos) ws_path = address.substr(at);
            }
        } catch (const std::exception&) {
        }
        return !ws_path.empty();
      },
      std::chrono::seconds(20), std::chrono::milliseconds(50));
  if (ws_path.empty()) throw std::runtime_error("chromium lists no page target: " + log());

  page_ = std::make_unique<connection>();
  auto& socket = page_->ws.next_layer();
  socket.connect({boost::asio::ip::make_address("127.0.0.1"), port});
  // The synchronous reads below end with an error instead of waiting for ever.
  timeval timeout{answer_timeout_s, 0};
  ::setsockopt(socket.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  page_->ws.read_message_max(256 * 1024 * 1024);
  page_->ws.handshake("127.0.0.1:" + std::to_string(port), ws_path);
}

headless_browser::~headless_browser() {
  if (page_) {
    boost::system::error_code ignored;
    page_->ws.next_layer().close(ignored);
  }
  if (process_ && process_->running()) {
    process_->kill(SIGTERM);
    if (!process_->wait_exit(std::chrono::seconds(10))) process_->kill(SIGKILL);
    // Its helper processes end with it; their pipes close when they have.
    process_->wait_output_closed(std::chrono::seconds(10));
  }
  process_.reset();
  std::error_code ignored;
  fs::remove_all(profile_dir_, ignored);
}

json headless_browser::call(const std::string& method, json params) {
  const auto id = next_id_++;
  page_->ws.text(true);
  page_->ws.write(boost::asio::buffer(json{{"id", id}, {"method", method}, {"params", std::move(params)}}.dump()));
  for (;;) {
    beast::flat_buffer buffer;
    page_->ws.read(buffer);  // throws on a timeout (SO_RCVTIMEO) or a closed connection
    auto message = json::parse(beast::buffers_to_string(buffer.data()), nullptr, false);
    if (!message.is_object() || message.value("id", std::uint64_t{0}) != id) continue;  // an event
    if (message.contains("error"))
      throw std::runtime_error("DevTools " + method + ": " + message["error"].dump());
    return message.value("result", json::object());
  }
}

json headless_browser::evaluate(const std::string& expression) {
  auto result = call("Runtime.evaluate", {{"expression", expression}, {"returnByValue", true},
                                          {"awaitPromise", true}});
  if (result.contains("exceptionDetails")) return nullptr;
  return result["result"].value("value", json());
}

bool headless_browser::wait_for(const std::string& expression, std::chrono::milliseconds timeout) {
  return wait_until(
      [&] {
        auto value = evaluate("!!(" + expression + ")");
        return value.is_boolean() && value.get<bool>();
      },
      timeout, std::chrono::milliseconds(50));
}

void headless_browser::set_viewport(int width, int height, bool mobile) {
  call("Emulation.setDeviceMetricsOverride",
       {{"width", width}, {"height", height}, {"deviceScaleFactor", 1}, {"mobile", mobile}});
}

void headless_browser::screenshot(const std::string& path) {
  // The whole page, not only the viewport: a clip of the document's size, measured
  // without a scrollbar, as the capture beyond the viewport lays it out.
  call("Emulation.setScrollbarsHidden", {{"hidden", true}});
  auto size = evaluate("[document.documentElement.scrollWidth, document.documentElement.scrollHeight]");
  json clip{{"x", 0}, {"y", 0}, {"width", size.is_array() ? size[0] : json(1024)},
            {"height", size.is_array() ? size[1] : json(900)}, {"scale", 1}};
  auto result = call("Page.captureScreenshot",
                     {{"format", "png"}, {"captureBeyondViewport", true}, {"clip", clip}});
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream out(path, std::ios::binary);
  out << base64_decode(result.value("data", ""));
  if (!out) throw std::runtime_error("cannot write " + path);
}

std::string headless_browser::log() const { return process_ ? process_->stderr_text() : std::string(); }

}  // namespace dockmaster::test
