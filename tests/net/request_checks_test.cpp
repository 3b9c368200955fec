#include "net/request_checks.hpp"

#include <memory>
#include <string>

#include <boost/asio/buffer.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <gtest/gtest.h>

namespace dockmaster::net {
namespace {

namespace http = boost::beast::http;

/// Parses `head` as the proxy does and checks it: the refusal's status (0 when it
/// passes) and, through `facts`, what routing would use. The parser outlives the call
/// (a static per call site would not do: facts point into the last head parsed).
unsigned verdict(const std::string& head, request_facts& facts) {
  static std::unique_ptr<http::request_parser<http::empty_body, net::head_allocator<char>>> parser;
  parser = std::make_unique<http::request_parser<http::empty_body, net::head_allocator<char>>>();
  parser->skip(true);  // the head only
  boost::beast::error_code ec;
  parser->put(boost::asio::buffer(head), ec);
  if (ec || !parser->is_header_done()) {
    ADD_FAILURE() << "Beast refused the head itself: " << ec.message();
    return 1;
  }
  auto refusal = check_request_head(parser->get(), parser->chunked(), facts);
  return refusal ? static_cast<unsigned>(refusal->status) : 0;
}

unsigned verdict(const std::string& head) {
  request_facts facts;
  return verdict(head, facts);
}

TEST(RequestChecks, PlainRequestPassesWithItsHostAndPath) {
  request_facts facts;
  EXPECT_EQ(verdict("GET /api/x?y=1 HTTP/1.1\r\nHost: shop.example:8080\r\nOrigin: http://a\r\n\r\n",
                    facts),
            0u);
  EXPECT_EQ(facts.host, "shop.example:8080");
  EXPECT_EQ(facts.path, "/api/x?y=1");
  EXPECT_EQ(facts.origin, "http://a");
  EXPECT_FALSE(facts.absolute_form);
}

TEST(RequestChecks, ChunkedAloneIsRelayedAnyOtherCodingIsRefused) {
  EXPECT_EQ(verdict("POST /a HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"), 0u);
  EXPECT_EQ(verdict("POST /a HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: ChUnKeD\r\n\r\n"), 0u);
  // Chunked not last: the length cannot be known.
  EXPECT_EQ(verdict("POST /a HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked, zorg\r\n\r\n"), 400u);
  EXPECT_EQ(verdict("POST /a HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip\r\n\r\n"), 400u);
  EXPECT_EQ(verdict("POST /a HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: identity\r\n\r\n"), 400u);
  EXPECT_EQ(verdict("POST /a HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: \"chunked\"\r\n\r\n"), 400u);
  EXPECT_EQ(verdict("POST /a HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: xchunked\r\n\r\n"), 400u);
  EXPECT_EQ(verdict("POST /a HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked;a=b\r\n\r\n"), 400u);
  EXPECT_EQ(verdict("POST /a HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: \x80" "chunked\r\n\r\n"),
            400u);
  // A known shape that this proxy does not decode.
  EXPECT_EQ(verdict("POST /a HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"), 501u);
  EXPECT_EQ(verdict("POST /a HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip\r\n"
                    "Transfer-Encoding: chunked\r\n\r\n"),
            501u);
  // On HTTP/1.0 the framing is faulty whatever it says (§6.1).
  EXPECT_EQ(verdict("POST /a HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n"), 400u);
}

TEST(RequestChecks, TransferEncodingWithContentLengthIsRefused) {
  EXPECT_EQ(verdict("POST /a HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked, cow\r\n"
                    "Content-Length: 5\r\n\r\n"),
            400u);
  EXPECT_EQ(verdict("POST /a HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunk\r\n"
                    "Content-Length: 5\r\n\r\n"),
            400u);
}

TEST(RequestChecks, RepeatedEqualContentLengthsAreFlaggedForOneField) {
  request_facts facts;
  EXPECT_EQ(verdict("POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n",
                    facts),
            0u);
  EXPECT_TRUE(facts.content_length_repeated);
  EXPECT_EQ(verdict("POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 5, 5\r\n\r\n", facts), 0u);
  EXPECT_TRUE(facts.content_length_repeated);
  EXPECT_EQ(verdict("POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\n", facts), 0u);
  EXPECT_FALSE(facts.content_length_repeated);
}

TEST(RequestChecks, HostMustBeOneAuthority) {
  EXPECT_EQ(verdict("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"), 400u);
  EXPECT_EQ(verdict("GET / HTTP/1.1\r\n\r\n"), 400u);
  EXPECT_EQ(verdict("GET / HTTP/1.0\r\n\r\n"), 0u);
  EXPECT_EQ(verdict("GET / HTTP/1.1\r\nHost: \r\n\r\n"), 0u);  // §3.2: no authority
  EXPECT_EQ(verdict("GET / HTTP/1.1\r\nHost: a b\r\n\r\n"), 400u);
  EXPECT_EQ(verdict("GET / HTTP/1.1\r\nHost: a,b\r\n\r\n"), 400u);
  EXPECT_EQ(verdict("GET / HTTP/1.1\r\nHost: a/b\r\n\r\n"), 400u);
  EXPECT_EQ(verdict("GET / HTTP/1.1\r\nHost: user@a\r\n\r\n"), 400u);
  EXPECT_EQ(verdict("GET / HTTP/1.1\r\nHost: a:80x\r\n\r\n"), 400u);
  EXPECT_EQ(verdict("GET / HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n"), 0u);
  EXPECT_EQ(verdict("GET / HTTP/1.1\r\nHost: [::1\r\n\r\n"), 400u);
}

TEST(RequestChecks, AbsoluteFormRoutesOnItsOwnAuthorityAndPath) {
  request_facts facts;
  EXPECT_EQ(verdict("GET http://shop.example/api/x?q=1 HTTP/1.1\r\nHost: other\r\n\r\n", facts), 0u);
  EXPECT_TRUE(facts.absolute_form);
  EXPECT_EQ(facts.host, "shop.example");
  EXPECT_EQ(facts.path, "/api/x?q=1");
  EXPECT_EQ(verdict("GET HTTPS://shop.example HTTP/1.1\r\nHost: shop.example\r\n\r\n", facts), 0u);
  EXPECT_EQ(facts.path, "/");
  EXPECT_EQ(verdict("GET http://u:p@shop.example/ HTTP/1.1\r\nHost: h\r\n\r\n"), 400u);
  EXPECT_EQ(verdict("GET http:///x HTTP/1.1\r\nHost: h\r\n\r\n"), 400u);
  EXPECT_EQ(verdict("GET ftp://h/x HTTP/1.1\r\nHost: h\r\n\r\n"), 400u);
}

TEST(RequestChecks, OtherTargetFormsAreRefusedOrAnsweredLocally) {
  request_facts facts;
  EXPECT_EQ(verdict("OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n", facts), 0u);
  EXPECT_TRUE(facts.asterisk_form);
  EXPECT_EQ(verdict("GET * HTTP/1.1\r\nHost: h\r\n\r\n"), 400u);
  EXPECT_EQ(verdict("CONNECT h:443 HTTP/1.1\r\nHost: h:443\r\n\r\n"), 501u);
  EXPECT_EQ(verdict("GET x/y HTTP/1.1\r\nHost: h\r\n\r\n"), 400u);
  EXPECT_EQ(verdict("GET /a#frag HTTP/1.1\r\nHost: h\r\n\r\n"), 400u);
}

TEST(RequestChecks, AuthorityValidation) {
  EXPECT_TRUE(valid_authority("example.com"));
  EXPECT_TRUE(valid_authority("example.com:80"));
  EXPECT_TRUE(valid_authority("127.0.0.1:8080"));
  EXPECT_TRUE(valid_authority("[fe80::1]:1"));
  EXPECT_FALSE(valid_authority(""));
  EXPECT_FALSE(valid_authority(":80"));
  EXPECT_FALSE(valid_authority("a:123456"));
  EXPECT_FALSE(valid_authority("a;b"));
  EXPECT_FALSE(valid_authority("a\tb"));
}

}  // namespace
}  // namespace dockmaster::net
