// The admin listener against a running dockmaster with real upstreams: the metrics
// move by exactly the requests made, a health change shows in /status and /metrics,
// the bearer token guards the data, and a real Prometheus server scrapes it.

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <boost/asio/ip/tcp.hpp>
#include <nlohmann/json.hpp>

#include "support/harness.hpp"
#include "support/metrics_text.hpp"
#include "support/http_client.hpp"
#include "support/test_upstream.hpp"
#include "support/wait.hpp"

namespace dockmaster::test {
namespace {

using json = nlohmann::json;

/// The value of the sample `series` (name and labels, exactly as rendered), or -1.
std::string metrics_of(std::uint16_t admin_port, const std::string& token = "") {
  std::map<std::string, std::string> headers;
  if (!token.empty()) headers["Authorization"] = "Bearer " + token;
  return std::string(http_client(admin_port).get("/metrics", headers).body());
}

config::config probed_config(const test_upstream& upstream) {
  auto cfg = make_config();
  auto& service = add_service(cfg, "backend", {upstream.host_port()});
  service.health.kind = config::probe_kind::http;
  service.health.http.path = "/health";
  service.health.interval = std::chrono::milliseconds(100);
  service.health.unhealthy_after = 2;
  add_route(cfg, "/", "backend");
  return cfg;
}

/// Whether a program is on PATH; the tests that need one fail without it when
/// DOCKMASTER_REQUIRE_TOOLS is set (as scripts/test.sh does), and are skipped otherwise.
bool have_program(const std::string& name) {
  return std::system(("command -v " + name + " >/dev/null 2>&1").c_str()) == 0;
}

#define REQUIRE_PROGRAM(name)                                                         \
  if (!have_program(name)) {                                                          \
    if (std::getenv("DOCKMASTER_REQUIRE_TOOLS")) FAIL() << name " is not installed";  \
    GTEST_SKIP() << name " is not installed (scripts/setup.sh --tests installs it)"; \
  }

TEST(Admin, MetricsMoveByExactlyTheRequestsMade) {
  test_upstream upstream("backend");
  in_process_proxy proxy(probed_config(upstream));
  ASSERT_TRUE(wait_until([&] { return metric_sample(metrics_of(proxy.admin_port()), R"(dockmaster_instance_up{service="backend",instance=")" + upstream.host_port() + "\"}") == 1; }));
  http_client client(proxy.port());
  for (int i = 0; i < 7; ++i) ASSERT_EQ(client.get("/get/" + std::to_string(i)).result_int(), 200);
  for (int i = 0; i < 2; ++i) ASSERT_EQ(client.post("/post", "x").result_int(), 200);
  const std::string get_2xx = R"(dockmaster_requests_total{service="backend",code="2xx",method="GET"})";
  const std::string post_2xx = R"(dockmaster_requests_total{service="backend",code="2xx",method="POST"})";
  // The I/O threads report about once a second: wait for the counts, then check that
  // nothing else was counted.
  ASSERT_TRUE(wait_until([&] {
    auto text = metrics_of(proxy.admin_port());
    return metric_sample(text, get_2xx) == 7 && metric_sample(text, post_2xx) == 2;
  })) << metrics_of(proxy.admin_port());
  auto text = metrics_of(proxy.admin_port());
  EXPECT_EQ(metric_sample(text, R"(dockmaster_requests_total{service="backend",code="5xx",method="GET"})"), 0);
  EXPECT_EQ(metric_sample(text, R"(dockmaster_request_duration_seconds_count{service="backend"})"), 9);
  EXPECT_GE(metric_sample(text, R"(dockmaster_upstream_connections{service="backend",state="idle"})"), 1)
      << "the keep-alive connections to the upstream are pooled";
  EXPECT_EQ(upstream.count_requests("/get/"), 7u);
}

TEST(Admin, AHealthChangeShowsInStatusAndMetrics) {
  test_upstream upstream("backend");
  in_process_proxy proxy(probed_config(upstream));
  const std::string up = R"(dockmaster_instance_up{service="backend",instance=")" + upstream.host_port() + "\"}";
  ASSERT_TRUE(wait_until([&] { return metric_sample(metrics_of(proxy.admin_port()), up) == 1; }));
  upstream.stop();
  ASSERT_TRUE(wait_until([&] { return metric_sample(metrics_of(proxy.admin_port()), up) == 0; }, std::chrono::seconds(10)))
      << metrics_of(proxy.admin_port());
  auto status = json::parse(http_client(proxy.admin_port()).get("/status").body());
  EXPECT_EQ(status["services"]["backend"]["state"], "down") << status.dump();
  EXPECT_EQ(status["services"]["backend"]["instances"][0]["health"], "unhealthy");
  auto text = metrics_of(proxy.admin_port());
  EXPECT_GE(metric_sample(text, R"(dockmaster_health_checks_total{service="backend",instance=")" + upstream.host_port() +
                             R"(",result="refused"})"),
            2);
  EXPECT_EQ(metric_sample(text, R"(dockmaster_instances_healthy{service="backend"})"), 0);
}

TEST(Admin, TheTokenGuardsTheDataButNotThePageOrHealth) {
  test_upstream upstream("backend");
  auto cfg = probed_config(upstream);
  cfg.admin.token = "s3cret";
  in_process_proxy proxy(cfg);
  http_client client(proxy.admin_port());
  auto refused = client.get("/metrics");
  EXPECT_EQ(refused.result_int(), 401);
  EXPECT_EQ(refused[boost::beast::http::field::www_authenticate], "Bearer realm=\"dockmaster\"");
  EXPECT_EQ(client.get("/status", {{"Authorization", "Bearer wrong!"}}).result_int(), 401);
  EXPECT_EQ(client.get("/status", {{"Authorization", "Bearer s3cret"}}).result_int(), 200);
  EXPECT_EQ(client.post("/reload?dry_run=1", "").result_int(), 401);
  EXPECT_NE(metrics_of(proxy.admin_port(), "s3cret").find("dockmaster_build_info"), std::string::npos);
  auto page = client.get("/");
  EXPECT_EQ(page.result_int(), 200);
  EXPECT_EQ(page[boost::beast::http::field::content_type], "text/html; charset=utf-8");
  EXPECT_EQ(client.get("/health").result_int(), 200);
  EXPECT_EQ(client.get("/nothing", {{"Authorization", "Bearer s3cret"}}).result_int(), 404);
  EXPECT_EQ(client.post("/metrics", "", {{"Authorization", "Bearer s3cret"}}).result_int(), 405);
}

TEST(Admin, ThePublicListenerNoLongerAnswersTheStatusByDefault) {
  test_upstream upstream("backend");
  in_process_proxy proxy(probed_config(upstream));
  const std::string up = R"(dockmaster_instance_up{service="backend",instance=")" + upstream.host_port() + "\"}";
  ASSERT_TRUE(wait_until([&] { return metric_sample(metrics_of(proxy.admin_port()), up) == 1; }));
  http_client client(proxy.port());
  EXPECT_EQ(client.get("/_dockmaster/status").result_int(), 200);
  EXPECT_EQ(upstream.count_requests("/_dockmaster/status"), 1u) << "it is an ordinary path, proxied";
}

TEST(Admin, PromtoolFindsNoProblemInTheMetrics) {
  REQUIRE_PROGRAM("promtool");
  test_upstream upstream("backend");
  in_process_proxy proxy(probed_config(upstream));
  const std::string up = R"(dockmaster_instance_up{service="backend",instance=")" + upstream.host_port() + "\"}";
  ASSERT_TRUE(wait_until([&] { return metric_sample(metrics_of(proxy.admin_port()), up) == 1; }));
  http_client(proxy.port()).get("/");
  ASSERT_TRUE(wait_until([&] { return metrics_of(proxy.admin_port()).find("code=\"2xx\"") != std::string::npos; }));
  temp_file scraped(metrics_of(proxy.admin_port()), ".prom");
  temp_file report("", ".txt");
  int rc = std::system(("promtool check metrics < " + scraped.path() + " > " + report.path() + " 2>&1").c_str());
  std::ifstream in(report.path());
  std::string problems((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(rc, 0) << problems;
  EXPECT_EQ(problems, "");
}

/// A Prometheus server on loopback that scrapes one target every second.
class prometheus_server {
 public:
  prometheus_server(std::uint16_t target_port, const std::string& token) {
    auto pattern = (std::filesystem::temp_directory_path() / "dockmaster-prometheus-XXXXXX").string();
    dir_ = mkdtemp(pattern.data());
    {
      // A port that is free now (bound and released): Prometheus takes it next.
      boost::asio::io_context io;
      boost::asio::ip::tcp::acceptor probe(io, {boost::asio::ip::make_address("127.0.0.1"), 0});
      port_ = probe.local_endpoint().port();
    }
    std::ofstream(dir_ + "/prometheus.yml")
        << "global: {scrape_interval: 1s, scrape_timeout: 1s}\n"
           "scrape_configs:\n"
           "  - job_name: dockmaster\n"
           "    authorization: {credentials: " << token << "}\n"
           "    static_configs: [{targets: ['127.0.0.1:" << target_port << "']}]\n";
    process_ = std::make_unique<child_process>(std::vector<std::string>{
        "prometheus", "--config.file=" + dir_ + "/prometheus.yml", "--storage.tsdb.path=" + dir_ + "/data",
        "--web.listen-address=127.0.0.1:" + std::to_string(port_)});
  }
  ~prometheus_server() {
    process_.reset();
    std::filesystem::remove_all(dir_);
  }
  /// The first value the query API answers for `query`, or nullopt.
  std::optional<std::string> query(const std::string& query) {
    std::string target = "/api/v1/query?query=";
    for (unsigned char c : query) {
      char hex[4];
      std::snprintf(hex, sizeof hex, "%%%02X", c);
      target += std::isalnum(c) || c == '_' ? std::string(1, static_cast<char>(c)) : std::string(hex);
    }
    try {
      http_client client(port_, "127.0.0.1", std::chrono::seconds(2));
      auto answer = json::parse(std::string(client.get(target).body()));
      const auto& result = answer["data"]["result"];
      if (!result.is_array() || result.empty()) return std::nullopt;
      return result[0]["value"][1].get<std::string>();
    } catch (const std::exception&) {
      return std::nullopt;  // not up yet
    }
  }
  std::string log() const { return process_->stderr_text(); }

 private:
  std::string dir_;
  std::uint16_t port_ = 0;
  std::unique_ptr<child_process> process_;
};

TEST(Admin, ARealPrometheusScrapesTheRequestCount) {
  REQUIRE_PROGRAM("prometheus");
  test_upstream upstream("backend");
  auto cfg = probed_config(upstream);
  cfg.admin.token = "scrape-token";
  in_process_proxy proxy(cfg);
  const std::string up = R"(dockmaster_instance_up{service="backend",instance=")" + upstream.host_port() + "\"}";
  ASSERT_TRUE(wait_until([&] { return metric_sample(metrics_of(proxy.admin_port(), "scrape-token"), up) == 1; }));
  http_client client(proxy.port());
  for (int i = 0; i < 5; ++i) ASSERT_EQ(client.get("/scraped").result_int(), 200);
  prometheus_server prometheus(proxy.admin_port(), "scrape-token");
  std::optional<std::string> value;
  EXPECT_TRUE(wait_until(
      [&] {
        value = prometheus.query(R"(dockmaster_requests_total{service="backend",code="2xx",method="GET"})");
        return value == "5";
      },
      std::chrono::seconds(90)))
      << "last answer: " << value.value_or("none") << "\n" << prometheus.log();
  EXPECT_EQ(prometheus.query(R"(up{job="dockmaster"})"), "1");
}

}  // namespace
}  // namespace dockmaster::test
