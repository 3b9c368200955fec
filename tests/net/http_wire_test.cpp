#include <gtest/gtest.h>

#include <boost/beast/http/message.hpp>

#include "net/http_wire.hpp"

namespace dockmaster::net {
namespace {

namespace http = boost::beast::http;

TEST(HttpWire, RequestHeadHasRequestLineFieldsAndBlankLine) {
  http::request_header<> request;
  request.method(http::verb::post);
  request.target("/api/items?x=1");
  request.version(11);
  request.set(http::field::host, "example.com");
  request.set("X-Custom", "a b");
  std::string head;
  append_request_head(request, head);
  EXPECT_EQ(head, "POST /api/items?x=1 HTTP/1.1\r\nHost: example.com\r\nX-Custom: a b\r\n\r\n");
}

TEST(HttpWire, ResponseHeadKeepsTheUpstreamReasonPhrase) {
  http::response_header<> response;
  response.result(404);
  response.reason("Nope");
  response.version(10);
  std::string head;
  append_response_head(response, head);
  EXPECT_EQ(head, "HTTP/1.0 404 Nope\r\n\r\n");
}

TEST(HttpWire, ResponseHeadUsesTheStandardReasonWhenTheUpstreamSentNone) {
  http::response_header<> response;
  response.result(503);
  response.version(11);
  std::string head;
  append_response_head(response, head);
  EXPECT_EQ(head, "HTTP/1.1 503 Service Unavailable\r\n\r\n");
}

TEST(HttpWire, ChunkSizeLineIsHexadecimal) {
  std::string line;
  append_chunk_size(32768, line);
  EXPECT_EQ(line, "8000\r\n");
  line.clear();
  append_chunk_size(10, line);
  EXPECT_EQ(line, "a\r\n");
}

}  // namespace
}  // namespace dockmaster::net
