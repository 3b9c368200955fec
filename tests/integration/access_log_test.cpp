// The access log of the real binary: one line per request, in JSON or text, with the
// request id the upstream saw.

#include <gtest/gtest.h>
#include <signal.h>

#include <nlohmann/json.hpp>
#include <sstream>

#include "support/harness.hpp"
#include "support/http_client.hpp"
#include "support/test_upstream.hpp"
#include "support/wait.hpp"

namespace dockmaster::test {
namespace {

using nlohmann::json;

std::string child_config(const test_upstream& upstream, const std::string& format, bool access_log) {
  json cfg = {
      {"listen", "127.0.0.1:0"},
      {"services", {{"app", {{"instances", {upstream.host_port()}}}}}},
      {"routes", {{{"prefix", "/"}, {"service", "app"}}}},
      {"actor_system", {{"io_threads", 2}}},
      {"log", {{"level", "info"}, {"format", format}, {"access_log", access_log}}},
  };
  return cfg.dump();
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream stream(text);
  for (std::string line; std::getline(stream, line);)
    if (!line.empty()) lines.push_back(line);
  return lines;
}

/// The access lines in a JSON log; with `request_id`, only that request's.
std::vector<json> access_lines(const std::string& text, const std::string& request_id = "") {
  std::vector<json> found;
  for (const auto& line : lines_of(text)) {
    auto parsed = json::parse(line, nullptr, false);
    if (!parsed.is_discarded() && parsed.is_object() && parsed.value("log", "") == "access" &&
        (request_id.empty() || parsed.value("request_id", "") == request_id))
      found.push_back(parsed);
  }
  return found;
}

TEST(AccessLog, OneRequestGivesOneJsonLineWithTheRequestIdTheUpstreamSaw) {
  test_upstream upstream{"app"};
  dockmaster_process dockmaster(child_config(upstream, "json", true));
  auto& process = dockmaster.process();
  http_client client(dockmaster.port());

  auto r = client.get("/orders/42?expand=items");
  ASSERT_EQ(r.result_int(), 200);
  const auto seen_id = upstream.last_request()->header("X-Request-Id");
  ASSERT_FALSE(seen_id.empty());
  ASSERT_TRUE(wait_until([&] { return !access_lines(process.stderr_text(), seen_id).empty(); }))
      << process.stderr_text();
  // Exactly one line for the request.
  auto lines = access_lines(process.stderr_text(), seen_id);
  ASSERT_EQ(lines.size(), 1u) << process.stderr_text();
  const auto& line = lines[0];
  EXPECT_EQ(line["method"], "GET");
  EXPECT_EQ(line["path"], "/orders/42?expand=items");
  EXPECT_EQ(line["status"], 200);
  EXPECT_EQ(line["upstream"], upstream.host_port());
  EXPECT_EQ(line["client"], "127.0.0.1");
  EXPECT_TRUE(line["duration_ms"].is_number());
  EXPECT_TRUE(line["time"].is_string());
  EXPECT_EQ(line["request_id"], seen_id);
  EXPECT_EQ(std::string(r["X-Request-Id"]), seen_id);
}

TEST(AccessLog, ARequestIdSentByTheClientIsKeptEndToEnd) {
  test_upstream upstream{"app"};
  dockmaster_process dockmaster(child_config(upstream, "json", true));
  http_client client(dockmaster.port());

  auto r = client.get("/traced", {{"X-Request-Id", "trace-abc-123"}});
  ASSERT_EQ(r.result_int(), 200);
  EXPECT_EQ(upstream.last_request()->header("X-Request-Id"), "trace-abc-123");
  EXPECT_EQ(r["X-Request-Id"], "trace-abc-123");
  ASSERT_TRUE(wait_until(
      [&] { return !access_lines(dockmaster.process().stderr_text(), "trace-abc-123").empty(); }));
  auto lines = access_lines(dockmaster.process().stderr_text(), "trace-abc-123");
  EXPECT_EQ(lines.back()["status"], 200);
}

TEST(AccessLog, AnswersOfTheManagerAreLoggedWithoutAnUpstream) {
  test_upstream upstream{"app"};
  json cfg = json::parse(child_config(upstream, "json", true));
  cfg["routes"] = json::array({{{"prefix", "/api/"}, {"service", "app"}}});
  dockmaster_process dockmaster(cfg.dump());
  http_client client(dockmaster.port());

  ASSERT_EQ(client.get("/nowhere").result_int(), 404);
  ASSERT_TRUE(wait_until([&] { return !access_lines(dockmaster.process().stderr_text()).empty(); }));
  auto line = access_lines(dockmaster.process().stderr_text())[0];
  EXPECT_EQ(line["status"], 404);
  EXPECT_EQ(line["upstream"], "-");
  EXPECT_EQ(line["path"], "/nowhere");
}

TEST(AccessLog, InJsonFormatEveryLineTheBinaryWritesIsAJsonObject) {
  test_upstream upstream{"app"};
  dockmaster_process dockmaster(child_config(upstream, "json", true));
  auto& process = dockmaster.process();
  http_client client(dockmaster.port());
  ASSERT_EQ(client.get("/one").result_int(), 200);
  process.kill(SIGTERM);
  ASSERT_TRUE(process.wait_exit(std::chrono::seconds(10)));
  ASSERT_TRUE(process.wait_output_closed(std::chrono::seconds(5)));

  // Log collectors parse each line as JSON: event lines ("listening on ...",
  // "draining", "stopped") must be JSON too, not bare text.
  auto lines = lines_of(process.stderr_text());
  ASSERT_FALSE(lines.empty());
  for (const auto& line : lines) {
    auto parsed = json::parse(line, nullptr, false);
    EXPECT_TRUE(!parsed.is_discarded() && parsed.is_object()) << "not a JSON object: " << line;
  }
}

TEST(AccessLog, TheTextFormatHasOneLineWithMethodPathStatusUpstreamAndId) {
  test_upstream upstream{"app"};
  dockmaster_process dockmaster(child_config(upstream, "text", true));
  auto& process = dockmaster.process();
  http_client client(dockmaster.port());
  ASSERT_EQ(client.get("/text/path").result_int(), 200);
  const auto id = upstream.last_request()->header("X-Request-Id");

  auto line = process.wait_for_stderr(std::regex("(.*\"GET /text/path\" 200 .*)"));
  ASSERT_TRUE(line) << process.stderr_text();
  EXPECT_NE(line->find("\"GET /text/path\" 200 upstream=" + upstream.host_port()), std::string::npos) << *line;
  EXPECT_NE(line->find("id=" + id), std::string::npos) << *line;
}

TEST(AccessLog, WithAccessLogOffNoRequestIsLogged) {
  test_upstream upstream{"app"};
  dockmaster_process dockmaster(child_config(upstream, "json", false));
  auto& process = dockmaster.process();
  http_client client(dockmaster.port());
  ASSERT_EQ(client.get("/silent").result_int(), 200);
  // Ending the process flushes whatever it had to write.
  process.kill(SIGTERM);
  ASSERT_TRUE(process.wait_exit(std::chrono::seconds(10)));
  ASSERT_TRUE(process.wait_output_closed(std::chrono::seconds(5)));
  EXPECT_TRUE(access_lines(process.stderr_text()).empty()) << process.stderr_text();
  EXPECT_EQ(process.stderr_text().find("/silent"), std::string::npos) << process.stderr_text();
}

}  // namespace
}  // namespace dockmaster::test
