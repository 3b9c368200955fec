// Chunked transfer coding through the proxy, both ways, and Expect: 100-continue.

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "support/harness.hpp"
#include "support/proxied_upstream.hpp"
#include "support/http_client.hpp"
#include "support/payload.hpp"
#include "support/test_upstream.hpp"

namespace dockmaster::test {
namespace {

using nlohmann::json;

using Chunked = proxied_upstream;

TEST_F(Chunked, AChunkedRequestBodyArrivesIntact) {
  http_client client(proxy->port());
  // Chunks of odd sizes, some larger than the proxy's 32 KiB pieces, one tiny.
  const std::vector<std::size_t> sizes{1, 100, 40000, 7, 70000, 3};
  std::string raw = "POST /upload HTTP/1.1\r\nHost: test.local\r\nTransfer-Encoding: chunked\r\n\r\n";
  std::uint64_t offset = 0;
  checksum expected;
  for (auto size : sizes) {
    std::string data(size, '\0');
    fill_payload(offset, data.data(), size);
    expected.update(data.data(), size);
    offset += size;
    char hex[20];
    std::snprintf(hex, sizeof hex, "%zx", size);
    raw += std::string(hex) + "\r\n" + data + "\r\n";
  }
  raw += "0\r\n\r\n";
  client.send_raw(raw);
  auto r = client.read_response();
  ASSERT_EQ(r.result_int(), 200);
  auto answer = json::parse(r.body());
  EXPECT_EQ(answer["bytes"], offset);
  EXPECT_EQ(answer["checksum"], expected.hex());
  auto seen = upstream.last_request();
  ASSERT_TRUE(seen);
  EXPECT_TRUE(seen->chunked);
  EXPECT_EQ(seen->body_bytes, offset);
  // The connection stays in step for the next request.
  EXPECT_EQ(client.get("/next").result_int(), 200);
  EXPECT_EQ(client.connections_opened(), 1);
}

TEST_F(Chunked, AChunkedResponseArrivesIntact) {
  http_client client(proxy->port());
  auto r = client.get("/chunked");
  ASSERT_EQ(r.result_int(), 200);
  EXPECT_TRUE(r.chunked());
  EXPECT_EQ(r.body(), test_upstream::chunked_body());
  EXPECT_EQ(client.get("/after").result_int(), 200);
  EXPECT_EQ(client.connections_opened(), 1);
}

TEST_F(Chunked, AChunkedResponseToAnHttp10ClientIsSentRawAndEndedByClosing) {
  http_client client(proxy->port());
  client.send_raw("GET /chunked HTTP/1.0\r\nHost: test.local\r\n\r\n");
  auto r = client.read_response();
  ASSERT_EQ(r.result_int(), 200);
  EXPECT_FALSE(r.chunked());
  EXPECT_EQ(r.body(), test_upstream::chunked_body());
}

TEST_F(Chunked, AnExpect100ContinueRequestGetsItsContinueAndItsBodyIsForwarded) {
  http_client client(proxy->port());
  client.send_raw(
      "POST /upload HTTP/1.1\r\nHost: test.local\r\nContent-Length: 5000\r\n"
      "Expect: 100-continue\r\n\r\n");
  auto interim = client.read_response();
  ASSERT_EQ(interim.result_int(), 100);
  client.send_raw(std::string(5000, 'e'));
  auto r = client.read_response();
  ASSERT_EQ(r.result_int(), 200);
  EXPECT_EQ(json::parse(r.body())["bytes"], 5000);
  // The upstream got the body without an Expect of its own to answer.
  EXPECT_EQ(upstream.last_request()->header("Expect"), "");
}

}  // namespace
}  // namespace dockmaster::test
