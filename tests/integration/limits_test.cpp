// Requests the manager refuses itself: malformed (400), header too large (431), body
// too large (413). Each closes that connection and leaves the others alone.

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "support/harness.hpp"
#include "support/http_client.hpp"
#include "support/test_upstream.hpp"

namespace dockmaster::test {
namespace {

using nlohmann::json;

class Limits : public ::testing::Test {
 protected:
  void SetUp() override {
    auto cfg = make_config();
    add_service(cfg, "app", {upstream.host_port()});
    add_route(cfg, "/", "app");
    cfg.limits.max_header_bytes = 2048;
    cfg.limits.max_body_bytes = 1024;
    proxy = std::make_unique<in_process_proxy>(cfg);
    bystander = std::make_unique<http_client>(proxy->port());
    ASSERT_EQ(bystander->get("/before").result_int(), 200);
  }

  /// The connection opened before the refused request still serves requests.
  void expect_bystander_unaffected() {
    auto r = bystander->get("/after");
    EXPECT_EQ(r.result_int(), 200);
    EXPECT_EQ(bystander->connections_opened(), 1);
  }

  test_upstream upstream{"app"};
  std::unique_ptr<in_process_proxy> proxy;
  std::unique_ptr<http_client> bystander;
};

TEST_F(Limits, AMalformedRequestGets400AndItsConnectionIsClosed) {
  http_client client(proxy->port());
  client.send_raw("THIS IS NOT HTTP AT ALL\r\n\r\n");
  auto r = client.read_response();
  EXPECT_EQ(r.result_int(), 400);
  EXPECT_FALSE(r.keep_alive());
  EXPECT_EQ(json::parse(r.body())["status"], 400);
  EXPECT_TRUE(client.closed_by_server_within(std::chrono::seconds(5)));
  EXPECT_EQ(upstream.request_count(), 1u);  // only the bystander's
  expect_bystander_unaffected();
}

TEST_F(Limits, ABrokenHeaderLineGets400AndItsConnectionIsClosed) {
  http_client client(proxy->port());
  client.send_raw("GET / HTTP/1.1\r\nHost: test.local\r\nNo colon in this line\r\n\r\n");
  auto r = client.read_response();
  EXPECT_EQ(r.result_int(), 400);
  EXPECT_TRUE(client.closed_by_server_within(std::chrono::seconds(5)));
  expect_bystander_unaffected();
}

TEST_F(Limits, AHeaderOverMaxHeaderBytesGets431AndItsConnectionIsClosed) {
  http_client client(proxy->port());
  auto request = make_request(http::verb::get, "/big-header");
  request.set("X-Padding", std::string(4096, 'p'));
  auto r = client.send(request);
  EXPECT_EQ(r.result_int(), 431);
  EXPECT_FALSE(r.keep_alive());
  EXPECT_TRUE(client.closed_by_server_within(std::chrono::seconds(5)));
  EXPECT_EQ(upstream.count_requests("/big-header"), 0u);
  expect_bystander_unaffected();
}

TEST_F(Limits, AHeaderJustUnderTheLimitIsServed) {
  http_client client(proxy->port());
  EXPECT_EQ(client.get("/fits", {{"X-Padding", std::string(1024, 'p')}}).result_int(), 200);
}

TEST_F(Limits, AContentLengthOverMaxBodyBytesGets413BeforeTheBodyIsSent) {
  http_client client(proxy->port());
  // Only the header: the answer must come without waiting for the body.
  client.send_raw("POST /upload HTTP/1.1\r\nHost: test.local\r\nContent-Length: 4096\r\n\r\n");
  auto r = client.read_response();
  EXPECT_EQ(r.result_int(), 413);
  EXPECT_FALSE(r.keep_alive());
  EXPECT_TRUE(client.closed_by_server_within(std::chrono::seconds(5)));
  EXPECT_EQ(upstream.count_requests("/upload"), 0u);
  expect_bystander_unaffected();
}

TEST_F(Limits, ABodyOfExactlyMaxBodyBytesIsServed) {
  http_client client(proxy->port());
  auto r = client.post("/upload", std::string(1024, 'x'));
  ASSERT_EQ(r.result_int(), 200);
  EXPECT_EQ(json::parse(r.body())["bytes"], 1024);
}

TEST_F(Limits, AChunkedBodyGrowingPastMaxBodyBytesGets413) {
  http_client client(proxy->port());
  std::string raw = "POST /upload HTTP/1.1\r\nHost: test.local\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (int i = 0; i < 3; ++i) raw += "200\r\n" + std::string(512, 'c') + "\r\n";  // 1536 bytes
  client.send_raw(raw);
  auto r = client.read_response();
  EXPECT_EQ(r.result_int(), 413);
  EXPECT_FALSE(r.keep_alive());
  EXPECT_TRUE(client.closed_by_server_within(std::chrono::seconds(5)));
  expect_bystander_unaffected();
}

}  // namespace
}  // namespace dockmaster::test
