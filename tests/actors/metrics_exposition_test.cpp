// The Prometheus text rendered from the event sink's state: names, labels, units and
// cumulative histogram buckets, checked line by line.

#include <gtest/gtest.h>

#include <sstream>

#include "actors/event_sink.hpp"
#include "actors/metrics_exposition.hpp"

namespace dockmaster::test {
namespace {

using namespace messages;

bool has_line(const std::string& text, const std::string& line) {
  std::istringstream lines(text);
  for (std::string l; std::getline(lines, l);)
    if (l == line) return true;
  return false;
}

class MetricsExposition : public ::testing::Test {
 protected:
  MetricsExposition() {
    config::service_config backend;
    backend.name = "backend";
    backend.health.kind = config::probe_kind::http;
    state_.services["backend"] = backend;
    config::service_config static_files;
    static_files.name = "static";
    state_.services["static"] = static_files;
    a_ = instance_id{"backend", "backend:8000", "10.1.0.2", 8000};
    auto& status = state_.instances[a_];
    status.id = a_;
    status.health = health_state::healthy;
    status.probes[static_cast<std::size_t>(probe_verdict::passed)] = 12;
    status.probes[static_cast<std::size_t>(probe_verdict::refused)] = 2;
    b_ = instance_id{"backend", "backend:8000", "10.1.0.3", 8000};
    state_.instances[b_].id = b_;
    state_.instances[b_].health = health_state::unhealthy;
    state_.instances[b_].restarting = true;
    s_ = instance_id{"static", "files:80", "10.1.0.9", 80};
    state_.instances[s_].id = s_;
    auto& stats = state_.stats["backend"];
    stats.requests_by_method[method_and_class::index(request_method::GET, status_class::c2xx)] = 7;
    stats.requests_by_method[method_and_class::index(request_method::GET, status_class::c5xx)] = 1;
    stats.request_duration[static_cast<std::size_t>(duration_bucket::le_1ms)] = 3;
    stats.request_duration[static_cast<std::size_t>(duration_bucket::le_10ms)] = 4;
    stats.request_duration[static_cast<std::size_t>(duration_bucket::longer)] = 1;
    stats.request_duration_us[0] = 2'500'000;
    stats.restarts_by_action[action_and_outcome::index(restart_action::exec, restart_outcome::ok)] = 2;
    stats.upstream_connections = {1, 4};
    state_.config_loaded_unix_ms = 1'700'000'000'500;
  }

  actors::event_sink_state state_;
  instance_id a_, b_, s_;
};

TEST_F(MetricsExposition, RequestsAreCountedByServiceClassAndMethodWithEveryClassOfASeenMethod) {
  auto text = actors::render_metrics(state_);
  EXPECT_TRUE(has_line(text, "# TYPE dockmaster_requests_total counter")) << text;
  EXPECT_TRUE(has_line(text, R"(dockmaster_requests_total{service="backend",code="2xx",method="GET"} 7)")) << text;
  EXPECT_TRUE(has_line(text, R"(dockmaster_requests_total{service="backend",code="5xx",method="GET"} 1)"));
  EXPECT_TRUE(has_line(text, R"(dockmaster_requests_total{service="backend",code="4xx",method="GET"} 0)"))
      << "a seen method has all its classes, so that rates start at 0";
  EXPECT_EQ(text.find(R"(method="POST")"), std::string::npos) << "methods never seen are left out";
}

TEST_F(MetricsExposition, HistogramsAreCumulativeInSeconds) {
  auto text = actors::render_metrics(state_);
  EXPECT_TRUE(has_line(text, "# TYPE dockmaster_request_duration_seconds histogram"));
  EXPECT_TRUE(has_line(text, R"(dockmaster_request_duration_seconds_bucket{service="backend",le="0.001"} 3)")) << text;
  EXPECT_TRUE(has_line(text, R"(dockmaster_request_duration_seconds_bucket{service="backend",le="0.005"} 3)"));
  EXPECT_TRUE(has_line(text, R"(dockmaster_request_duration_seconds_bucket{service="backend",le="0.01"} 7)"));
  EXPECT_TRUE(has_line(text, R"(dockmaster_request_duration_seconds_bucket{service="backend",le="60"} 7)"));
  EXPECT_TRUE(has_line(text, R"(dockmaster_request_duration_seconds_bucket{service="backend",le="+Inf"} 8)"));
  EXPECT_TRUE(has_line(text, R"(dockmaster_request_duration_seconds_sum{service="backend"} 2.5)"));
  EXPECT_TRUE(has_line(text, R"(dockmaster_request_duration_seconds_count{service="backend"} 8)"));
}

TEST_F(MetricsExposition, InstancesHealthChecksAndRestartsCarryTheirLabels) {
  auto text = actors::render_metrics(state_);
  EXPECT_TRUE(has_line(text, R"(dockmaster_instance_up{service="backend",instance="10.1.0.2:8000"} 1)")) << text;
  EXPECT_TRUE(has_line(text, R"(dockmaster_instance_up{service="backend",instance="10.1.0.3:8000"} 0)"));
  EXPECT_TRUE(has_line(text, R"(dockmaster_instance_up{service="static",instance="10.1.0.9:80"} 1)"))
      << "without health checks an instance is always in rotation";
  EXPECT_TRUE(has_line(
      text, R"(dockmaster_health_checks_total{service="backend",instance="10.1.0.2:8000",result="passed"} 12)"));
  EXPECT_TRUE(has_line(
      text, R"(dockmaster_health_checks_total{service="backend",instance="10.1.0.2:8000",result="refused"} 2)"));
  EXPECT_EQ(text.find(R"(dockmaster_health_checks_total{service="static")"), std::string::npos);
  EXPECT_TRUE(has_line(text, R"(dockmaster_restarts_total{service="backend",action="exec",outcome="ok"} 2)"));
  EXPECT_TRUE(has_line(text, R"(dockmaster_restarts_total{service="backend",action="exec",outcome="failed"} 0)"));
  EXPECT_TRUE(has_line(text, R"(dockmaster_restarts_running{service="backend"} 1)"));
  EXPECT_TRUE(has_line(text, R"(dockmaster_instances_healthy{service="backend"} 1)"));
  EXPECT_TRUE(has_line(text, R"(dockmaster_upstream_connections{service="backend",state="active"} 1)"));
  EXPECT_TRUE(has_line(text, R"(dockmaster_upstream_connections{service="backend",state="idle"} 4)"));
}

TEST_F(MetricsExposition, ARemovedInstanceLeavesNoSeries) {
  state_.instances.erase(b_);
  auto text = actors::render_metrics(state_);
  EXPECT_EQ(text.find("10.1.0.3"), std::string::npos) << text;
}

TEST_F(MetricsExposition, BuildConfigAndProcessMetricsArePresent) {
  auto text = actors::render_metrics(state_);
  EXPECT_TRUE(has_line(text, std::string(R"(dockmaster_build_info{version=")") + DOCKMASTER_VERSION + R"("} 1)"));
  EXPECT_TRUE(has_line(text, "dockmaster_config_last_reload_success_timestamp_seconds 1700000000.5")) << text;
  EXPECT_NE(text.find("\nprocess_resident_memory_bytes "), std::string::npos);
  EXPECT_NE(text.find("\nprocess_open_fds "), std::string::npos);
}

TEST(MetricsLabels, ValuesAreEscaped) {
  EXPECT_EQ(actors::escape_label_value(R"(a"b\c)" "\n"), R"(a\"b\\c\n)");
}

}  // namespace
}  // namespace dockmaster::test
