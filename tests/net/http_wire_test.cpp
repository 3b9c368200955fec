#include <gtest/gtest.h>

#include <boost/asio/buffer.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>

#include "net/http_wire.hpp"

namespace dockmaster::net {
namespace {

namespace http = boost::beast::http;

TEST(HttpWire, RequestHeadHasRequestLineFieldsAndBlankLine) {
  net::request_head request;
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
  net::response_head response;
  response.result(404);
  response.reason("Nope");
  response.version(10);
  std::string head;
  append_response_head(response, head);
  EXPECT_EQ(head, "HTTP/1.0 404 Nope\r\n\r\n");
}

TEST(HttpWire, ResponseHeadUsesTheStandardReasonWhenTheUpstreamSentNone) {
  net::response_head response;
  response.result(503);
  response.version(11);
  std::string head;
  append_response_head(response, head);
  EXPECT_EQ(head, "HTTP/1.1 503 Service Unavailable\r\n\r\n");
}

// Found by tests/fuzz/response_head_fuzz.cpp: Beast parses the status "000" as 0,
// which was written back as "HTTP/1.1 0 OK", a status line no client parses.
TEST(HttpWire, ResponseHeadWritesAStatusBelow100WithItsThreeDigits) {
  const std::string upstream = "HTTP/1.1 000 OK\r\nContent-Length: 3\r\n\r\nabc";
  http::response_parser<http::buffer_body, net::head_allocator<char>> parser;
  boost::beast::error_code ec;
  parser.put(boost::asio::buffer(upstream), ec);
  ASSERT_FALSE(ec) << ec.message();
  ASSERT_TRUE(parser.is_header_done());
  std::string head;
  append_response_head(parser.get(), head);
  EXPECT_EQ(head, "HTTP/1.1 000 OK\r\nContent-Length: 3\r\n\r\n");

  http::response_parser<http::buffer_body, net::head_allocator<char>> client;
  EXPECT_EQ(client.put(boost::asio::buffer(head), ec), head.size());
  EXPECT_FALSE(ec) << ec.message();
  EXPECT_EQ(client.get().result_int(), 0u);

  net::response_head response;
  response.result(99);
  response.version(11);
  response.reason("Odd");
  head.clear();
  append_response_head(response, head);
  EXPECT_EQ(head, "HTTP/1.1 099 Odd\r\n\r\n");
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
