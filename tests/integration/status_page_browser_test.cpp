// The status page in headless Chromium (Debian's chromium), against dockmaster running
// in-process with real upstream servers and driven through the DevTools protocol: each
// service is shown with its state; a kill shows up without a reload; the local
// executor's restart appears in the timeline with its exit code and output; the page
// fits a phone's width. Screenshots go to the build tree's artifacts/ folder.
// Without chromium the tests are skipped, unless DOCKMASTER_REQUIRE_TOOLS is set (CI).

#include <gtest/gtest.h>

#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "support/harness.hpp"
#include "support/headless_browser.hpp"
#include "support/http_client.hpp"
#include "support/python_service.hpp"
#include "support/test_upstream.hpp"
#include "support/wait.hpp"

namespace dockmaster::test {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

class StatusPageBrowser : public ::testing::Test {
 protected:
  void SetUp() override {
    if (auto found = headless_browser::find_chromium()) {
      chromium_ = *found;
      return;
    }
    const char* required = std::getenv("DOCKMASTER_REQUIRE_TOOLS");
    if (required && std::string(required) == "1")
      FAIL() << "DOCKMASTER_REQUIRE_TOOLS is set but no chromium found (scripts/setup.sh --tests "
                "installs it; DOCKMASTER_CHROMIUM names another binary)";
    GTEST_SKIP() << "no chromium found: install it (scripts/setup.sh --tests) to run the page tests";
  }

  static std::string artifact(const std::string& name) {
    return std::string(DOCKMASTER_ARTIFACTS_DIR) + "/" + name;
  }

  /// The page's view of a service, as the test reads it.
  static std::string service(const std::string& name) {
    return "document.querySelector('[data-service=\"" + name + "\"]')";
  }

  std::string chromium_;
};

config::config page_config() { return make_config(); }

/// A file the restart command waits for: the test holds the heal until the page has
/// shown the service down.
class gate_file {
 public:
  gate_file()
      : path_((fs::temp_directory_path() / ("dockmaster-gate-" + std::to_string(::getpid()) + "-" +
                                            std::to_string(reinterpret_cast<std::uintptr_t>(this))))
                  .string()) {}
  ~gate_file() { fs::remove(path_); }
  const std::string& path() const { return path_; }
  void open() { std::ofstream(path_) << "go\n"; }

 private:
  std::string path_;
};

TEST_F(StatusPageBrowser, ShowsEachServiceAndAHealAsItHappensWithoutReloading) {
  python_service backend_service;
  auto first = std::make_unique<child_process>(backend_service.foreground_command());
  ASSERT_TRUE(wait_until([&] { return answers_ok(backend_service.port(), "/health"); }, 10s));
  test_upstream frontend_service("frontend");
  gate_file gate;

  auto cfg = page_config();
  auto& backend = add_service(cfg, "backend", {backend_service.host_port()});
  probe_health_quickly(backend);
  backend.health.start_period = std::chrono::seconds(5);
  backend.restart.executor = config::restart_executor::local;
  backend.restart.command = {"sh", "-c",
                             "while [ ! -e '" + gate.path() + "' ]; do sleep 0.05; done; " +
                                 backend_service.start_command()[2] + "; echo restarted by dockmaster"};
  backend.restart.timeout = std::chrono::seconds(60);
  backend.restart.grace = std::chrono::milliseconds(300);
  backend.hold.timeout = std::chrono::milliseconds(0);  // the outage shows as 503s in the chart
  auto& frontend = add_service(cfg, "frontend", {frontend_service.host_port()});
  frontend.health.kind = config::probe_kind::http;
  frontend.health.http.path = "/";
  frontend.health.interval = std::chrono::milliseconds(200);
  add_route(cfg, "/api/", "backend", "", true);
  add_route(cfg, "/", "frontend");
  in_process_proxy proxy(cfg);

  headless_browser browser(chromium_, "http://127.0.0.1:" + std::to_string(proxy.admin_port()) + "/");
  ASSERT_TRUE(browser.wait_for(service("backend") + "?.dataset.state === 'healthy' && " + service("frontend") +
                                   "?.dataset.state === 'healthy'",
                               15s))
      << proxy.runtime().status_json() << browser.log();
  EXPECT_EQ(browser.evaluate(service("backend") + ".querySelector('.badge').textContent"), "healthy");
  // Gone after a reload: proves that what follows came without one.
  browser.evaluate("window.dockmasterTestMark = 'loaded once'");

  {
    http_client client(proxy.port());
    for (int i = 0; i < 20; ++i) {
      EXPECT_EQ(client.get("/").result_int(), 200);
      EXPECT_EQ(client.get("/api/health").result_int(), 200);
    }
  }
  first->kill(SIGKILL);
  first->wait_exit(5s);
  const std::string instance = service("backend") + ".querySelector('[data-instance=\"" +
                               backend_service.host_port() + "\"]')";
  ASSERT_TRUE(browser.wait_for(service("backend") + ".dataset.state === 'down' && " + instance +
                                   ".dataset.health === 'unhealthy'",
                               15s))
      << proxy.runtime().status_json();
  {
    http_client client(proxy.port());
    for (int i = 0; i < 10; ++i) EXPECT_EQ(client.get("/api/health").result_int(), 503);
  }
  EXPECT_TRUE(browser.wait_for(instance + ".querySelector('li[data-event=\"health_changed\"].to-unhealthy')", 5s))
      << "the timeline shows the change";
  EXPECT_EQ(browser.evaluate("window.dockmasterTestMark"), "loaded once") << "the page was reloaded";

  gate.open();
  const std::string restart = instance + ".querySelector('li[data-event=\"restart_done\"]')";
  ASSERT_TRUE(browser.wait_for(restart + " && " + service("backend") + ".dataset.state === 'healthy'", 20s))
      << proxy.runtime().status_json();
  EXPECT_EQ(browser.evaluate(restart + ".dataset.exitCode"), "0");
  EXPECT_EQ(browser.evaluate(restart + ".querySelector('.exit-code').textContent"), "0");
  EXPECT_EQ(browser.evaluate(restart + ".querySelector('pre.output').textContent"), "restarted by dockmaster\n");
  EXPECT_NE(browser.evaluate(restart + ".querySelector('.log-tail-none').textContent").get<std::string>().find(
                "no container"),
            std::string::npos);
  EXPECT_EQ(browser.evaluate(instance + ".dataset.restarts"), "1");
  EXPECT_EQ(browser.evaluate("window.dockmasterTestMark"), "loaded once") << "the page was reloaded";
  // The chart counted the requests and the 503s.
  EXPECT_TRUE(browser.wait_for(service("backend") + ".querySelector('[data-chart] rect[fill=\"#d62c2c\"]')", 5s));
  EXPECT_TRUE(browser.wait_for(service("frontend") + ".querySelector('[data-chart] rect')", 5s));
  browser.set_viewport(1024, 900, false);
  browser.screenshot(artifact("status_page.png"));

  // A phone: nothing wider than its screen.
  browser.set_viewport(375, 812, true);
  EXPECT_TRUE(browser.wait_for("window.innerWidth === 375 && document.documentElement.scrollWidth <= 375", 5s))
      << "the page is " << browser.evaluate("document.documentElement.scrollWidth") << " px wide";
  browser.screenshot(artifact("status_page_phone.png"));
  EXPECT_GT(fs::file_size(artifact("status_page.png")), 10000u);
}

TEST_F(StatusPageBrowser, ATokenInTheAddressIsSentAsBearerToken) {
  test_upstream web_service("web");
  auto cfg = page_config();
  add_service(cfg, "web", {web_service.host_port()});
  add_route(cfg, "/", "web");
  cfg.admin.token = "page-test-token";
  in_process_proxy proxy(cfg);
  const std::string page = "http://127.0.0.1:" + std::to_string(proxy.admin_port()) + "/";
  {
    headless_browser without(chromium_, page);
    EXPECT_TRUE(without.wait_for("document.getElementById('connection').dataset.connection === 'unauthorized'", 10s));
    EXPECT_EQ(without.evaluate(service("web")), nullptr);
  }
  headless_browser with(chromium_, page + "#token=page-test-token");
  EXPECT_TRUE(with.wait_for(service("web") + "?.dataset.state === 'not_checked'", 10s));
}

}  // namespace
}  // namespace dockmaster::test
