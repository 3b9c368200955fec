#include "net/header_rewrite.hpp"

#include <set>
#include <string>
#include <thread>

#include <gtest/gtest.h>

namespace dockmaster::net {
namespace {

namespace http = boost::beast::http;

const forwarding_info client{"203.0.113.7", "https"};

net::request_head browser_request() {
  net::request_head request;
  request.method(http::verb::get);
  request.target("/api/items");
  request.version(11);
  request.set(http::field::host, "app.example.com");
  request.set(http::field::user_agent, "Mozilla/5.0");
  request.set(http::field::accept, "application/json");
  request.set(http::field::cookie, "session=abc");
  request.set(http::field::authorization, "Bearer token");
  return request;
}

bool is_lowercase_hex(std::string_view s) {
  for (const char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

// --- new_request_id --------------------------------------------------------------

TEST(HeaderRewriteRequestId, IsThirtyTwoLowercaseHexDigits) {
  const auto id = new_request_id();
  EXPECT_EQ(id.size(), 32u);
  EXPECT_TRUE(is_lowercase_hex(id)) << id;
}

TEST(HeaderRewriteRequestId, DiffersFromCallToCall) {
  std::set<std::string> ids;
  for (int i = 0; i < 1000; ++i) ids.insert(new_request_id());
  EXPECT_EQ(ids.size(), 1000u);
}

TEST(HeaderRewriteRequestId, DiffersBetweenThreads) {
  std::string first, second;
  std::thread a{[&] { first = new_request_id(); }};
  std::thread b{[&] { second = new_request_id(); }};
  a.join();
  b.join();
  EXPECT_NE(first, second);
}

// --- prepare_upstream_request: hop-by-hop ------------------------------------------

TEST(HeaderRewriteUpstreamRequest, RemovesTheFixedHopByHopHeaders) {
  auto request = browser_request();
  request.set(http::field::connection, "keep-alive");
  request.set(http::field::keep_alive, "timeout=5");
  request.set(http::field::proxy_connection, "keep-alive");
  request.set(http::field::te, "trailers");
  request.set(http::field::trailer, "Expires");
  request.set(http::field::upgrade, "websocket");
  request.set(http::field::proxy_authorization, "Basic dXNlcjpwYXNz");
  request.set(http::field::proxy_authenticate, "Basic");
  prepare_upstream_request(request, client);
  for (const auto name : {http::field::connection, http::field::keep_alive, http::field::proxy_connection,
                          http::field::te, http::field::trailer, http::field::upgrade,
                          http::field::proxy_authorization, http::field::proxy_authenticate})
    EXPECT_EQ(request.count(name), 0u) << http::to_string(name);
}

TEST(HeaderRewriteUpstreamRequest, KeepsEndToEndHeaders) {
  auto request = browser_request();
  prepare_upstream_request(request, client);
  EXPECT_EQ(request[http::field::host], "app.example.com");
  EXPECT_EQ(request[http::field::user_agent], "Mozilla/5.0");
  EXPECT_EQ(request[http::field::accept], "application/json");
  EXPECT_EQ(request[http::field::cookie], "session=abc");
  EXPECT_EQ(request[http::field::authorization], "Bearer token");
}

TEST(HeaderRewriteUpstreamRequest, RemovesEveryHeaderNamedByConnection) {
  auto request = browser_request();
  request.set(http::field::connection, "close, X-Hop ,x-other-hop");
  request.insert(http::field::connection, "X-Third");
  request.set("X-Hop", "1");
  request.set("X-Other-Hop", "2");
  request.set("X-Third", "3");
  request.set("X-End-To-End", "4");
  prepare_upstream_request(request, client);
  EXPECT_EQ(request.count("X-Hop"), 0u);
  EXPECT_EQ(request.count("X-Other-Hop"), 0u);
  EXPECT_EQ(request.count("X-Third"), 0u);
  EXPECT_EQ(request.count(http::field::connection), 0u);
  EXPECT_EQ(request["X-End-To-End"], "4");
}

TEST(HeaderRewriteUpstreamRequest, NeverRemovesBodyFramingOrHostBecauseConnectionNamesThem) {
  auto request = browser_request();
  request.method(http::verb::post);
  request.set(http::field::connection, "Transfer-Encoding, content-length, Host");
  request.set(http::field::transfer_encoding, "chunked");
  request.set(http::field::content_length, "12");
  prepare_upstream_request(request, client);
  EXPECT_EQ(request[http::field::transfer_encoding], "chunked");
  EXPECT_EQ(request[http::field::content_length], "12");
  EXPECT_EQ(request[http::field::host], "app.example.com");
}

TEST(HeaderRewriteUpstreamRequest, SetsHttp11WhateverTheClientSpoke) {
  auto request = browser_request();
  request.version(10);
  prepare_upstream_request(request, client);
  EXPECT_EQ(request.version(), 11u);
}

// --- prepare_upstream_request: upgrade ---------------------------------------------

net::request_head websocket_handshake() {
  auto request = browser_request();
  request.set(http::field::connection, "keep-alive, Upgrade");
  request.set(http::field::keep_alive, "timeout=5");
  request.set(http::field::upgrade, "websocket");
  request.set(http::field::sec_websocket_key, "dGhlIHNhbXBsZSBub25jZQ==");
  request.set(http::field::sec_websocket_version, "13");
  return request;
}

TEST(HeaderRewriteUpstreamRequest, KeepsAnUpgradeOfferWithConnectionSetToExactlyUpgrade) {
  auto request = websocket_handshake();
  prepare_upstream_request(request, client, true);
  EXPECT_EQ(request[http::field::connection], "Upgrade");
  EXPECT_EQ(request.count(http::field::connection), 1u);
  EXPECT_EQ(request[http::field::upgrade], "websocket");
  EXPECT_EQ(request.count(http::field::keep_alive), 0u);
  EXPECT_EQ(request[http::field::sec_websocket_key], "dGhlIHNhbXBsZSBub25jZQ==");
}

TEST(HeaderRewriteUpstreamRequest, RemovesAnUpgradeOfferWithoutKeepUpgrade) {
  auto request = websocket_handshake();
  prepare_upstream_request(request, client);
  EXPECT_EQ(request.count(http::field::connection), 0u);
  EXPECT_EQ(request.count(http::field::upgrade), 0u);
}

TEST(HeaderRewriteUpstreamRequest, AddsNoConnectionUpgradeWhenThereIsNothingToUpgrade) {
  auto request = browser_request();
  request.set(http::field::connection, "keep-alive");
  prepare_upstream_request(request, client, true);
  EXPECT_EQ(request.count(http::field::connection), 0u);
  EXPECT_EQ(request.count(http::field::upgrade), 0u);
}

TEST(HeaderRewriteUpstreamRequest, RemovesAnUpgradeHeaderThatConnectionDoesNotName) {
  auto request = browser_request();
  request.set(http::field::connection, "keep-alive");
  request.set(http::field::upgrade, "websocket");
  prepare_upstream_request(request, client, true);
  EXPECT_EQ(request.count(http::field::connection), 0u);
  EXPECT_EQ(request.count(http::field::upgrade), 0u);
}

// --- prepare_upstream_request: forwarding headers ------------------------------------

TEST(HeaderRewriteUpstreamRequest, StartsXForwardedForWithTheClient) {
  auto request = browser_request();
  prepare_upstream_request(request, client);
  EXPECT_EQ(request["X-Forwarded-For"], "203.0.113.7");
}

TEST(HeaderRewriteUpstreamRequest, AppendsTheClientToAnExistingXForwardedFor) {
  auto request = browser_request();
  request.set("X-Forwarded-For", "198.51.100.1, 10.0.0.2");
  prepare_upstream_request(request, client);
  EXPECT_EQ(request["X-Forwarded-For"], "198.51.100.1, 10.0.0.2, 203.0.113.7");
}

TEST(HeaderRewriteUpstreamRequest, MergesSeveralXForwardedForFieldsBeforeAppending) {
  auto request = browser_request();
  request.insert("X-Forwarded-For", "198.51.100.1");
  request.insert("X-Forwarded-For", "10.0.0.2");
  prepare_upstream_request(request, client);
  EXPECT_EQ(request.count("X-Forwarded-For"), 1u);
  EXPECT_EQ(request["X-Forwarded-For"], "198.51.100.1, 10.0.0.2, 203.0.113.7");
}

TEST(HeaderRewriteUpstreamRequest, AppendsAnIPv6ClientAsIs) {
  auto request = browser_request();
  prepare_upstream_request(request, forwarding_info{"2001:db8::7", "http"});
  EXPECT_EQ(request["X-Forwarded-For"], "2001:db8::7");
}

TEST(HeaderRewriteUpstreamRequest, LeavesXForwardedForAloneWithoutAClientAddress) {
  auto request = browser_request();
  request.set("X-Forwarded-For", "198.51.100.1");
  prepare_upstream_request(request, forwarding_info{});
  EXPECT_EQ(request["X-Forwarded-For"], "198.51.100.1");
}

TEST(HeaderRewriteUpstreamRequest, SetsXForwardedProtoAndHostWhenAbsent) {
  auto request = browser_request();
  request.set(http::field::host, "app.example.com:8443");
  prepare_upstream_request(request, client);
  EXPECT_EQ(request["X-Forwarded-Proto"], "https");
  EXPECT_EQ(request["X-Forwarded-Host"], "app.example.com:8443");
}

TEST(HeaderRewriteUpstreamRequest, KeepsXForwardedProtoAndHostSetByAnEarlierProxy) {
  auto request = browser_request();
  request.set("X-Forwarded-Proto", "https");
  request.set("X-Forwarded-Host", "public.example.com");
  prepare_upstream_request(request, forwarding_info{"10.0.0.1", "http"});
  EXPECT_EQ(request["X-Forwarded-Proto"], "https");
  EXPECT_EQ(request["X-Forwarded-Host"], "public.example.com");
}

TEST(HeaderRewriteUpstreamRequest, SetsNoXForwardedHostWithoutHost) {
  auto request = browser_request();
  request.erase(http::field::host);
  prepare_upstream_request(request, client);
  EXPECT_EQ(request.count("X-Forwarded-Host"), 0u);
}

// --- prepare_upstream_request: X-Request-Id ---------------------------------------------

TEST(HeaderRewriteUpstreamRequest, AddsANewRequestIdAndReturnsIt) {
  auto request = browser_request();
  const auto id = prepare_upstream_request(request, client);
  EXPECT_EQ(id.size(), 32u);
  EXPECT_TRUE(is_lowercase_hex(id));
  EXPECT_EQ(request["X-Request-Id"], id);
}

TEST(HeaderRewriteUpstreamRequest, KeepsAClientRequestIdOfPrintableCharacters) {
  auto request = browser_request();
  request.set("X-Request-Id", "trace-42/abc:DEF");
  EXPECT_EQ(prepare_upstream_request(request, client), "trace-42/abc:DEF");
  EXPECT_EQ(request["X-Request-Id"], "trace-42/abc:DEF");
}

TEST(HeaderRewriteUpstreamRequest, KeepsAClientRequestIdOfTwoHundredCharacters) {
  auto request = browser_request();
  const std::string id(200, 'a');
  request.set("X-Request-Id", id);
  EXPECT_EQ(prepare_upstream_request(request, client), id);
}

TEST(HeaderRewriteUpstreamRequest, ReplacesAClientRequestIdLongerThanTwoHundredCharacters) {
  auto request = browser_request();
  request.set("X-Request-Id", std::string(201, 'a'));
  const auto id = prepare_upstream_request(request, client);
  EXPECT_EQ(id.size(), 32u);
  EXPECT_EQ(request["X-Request-Id"], id);
}

TEST(HeaderRewriteUpstreamRequest, ReplacesAnEmptyClientRequestId) {
  auto request = browser_request();
  request.set("X-Request-Id", "");
  EXPECT_EQ(prepare_upstream_request(request, client).size(), 32u);
}

TEST(HeaderRewriteUpstreamRequest, ReplacesAClientRequestIdWithControlSpaceOrNonAsciiCharacters) {
  for (const std::string& bad : {std::string{"abc\x01"}, std::string{"abc\tdef"}, std::string{"abc def"},
                                std::string{"caf\xc3\xa9"}, std::string{"abc\x7f"}}) {
    auto request = browser_request();
    request.set("X-Request-Id", bad);
    const auto id = prepare_upstream_request(request, client);
    EXPECT_NE(id, bad);
    EXPECT_EQ(id.size(), 32u);
    EXPECT_EQ(request["X-Request-Id"], id);
  }
}

TEST(HeaderRewriteUpstreamRequest, ReplacesSeveralClientRequestIdsWithOneNewId) {
  auto request = browser_request();
  request.insert("X-Request-Id", "first");
  request.insert("X-Request-Id", "second");
  const auto id = prepare_upstream_request(request, client);
  EXPECT_EQ(id.size(), 32u);
  EXPECT_EQ(request.count("X-Request-Id"), 1u);
  EXPECT_EQ(request["X-Request-Id"], id);
}

// --- prepare_client_response -------------------------------------------------------------

net::response_head upstream_response(http::status status = http::status::ok) {
  net::response_head response;
  response.result(status);
  response.version(11);
  response.set(http::field::content_type, "text/html");
  return response;
}

TEST(HeaderRewriteClientResponse, RemovesHopByHopHeadersAndThoseConnectionNames) {
  auto response = upstream_response();
  response.set(http::field::connection, "keep-alive, X-Backend-Hop");
  response.set(http::field::keep_alive, "timeout=60");
  response.set(http::field::proxy_connection, "keep-alive");
  response.set(http::field::trailer, "Expires");
  response.set(http::field::upgrade, "h2c");
  response.set(http::field::proxy_authenticate, "Basic");
  response.set("X-Backend-Hop", "1");
  prepare_client_response(response);
  for (const auto name : {http::field::connection, http::field::keep_alive, http::field::proxy_connection,
                          http::field::trailer, http::field::upgrade, http::field::proxy_authenticate})
    EXPECT_EQ(response.count(name), 0u) << http::to_string(name);
  EXPECT_EQ(response.count("X-Backend-Hop"), 0u);
  EXPECT_EQ(response[http::field::content_type], "text/html");
}

TEST(HeaderRewriteClientResponse, KeepsBodyFramingEvenWhenConnectionNamesIt) {
  auto response = upstream_response();
  response.set(http::field::connection, "Transfer-Encoding, Content-Length");
  response.set(http::field::transfer_encoding, "chunked");
  response.set(http::field::content_length, "5");
  prepare_client_response(response);
  EXPECT_EQ(response[http::field::transfer_encoding], "chunked");
  EXPECT_EQ(response[http::field::content_length], "5");
}

TEST(HeaderRewriteClientResponse, KeepsTheUpgradeOfA101WithKeepUpgrade) {
  auto response = upstream_response(http::status::switching_protocols);
  response.set(http::field::connection, "upgrade");
  response.set(http::field::upgrade, "websocket");
  response.set(http::field::sec_websocket_accept, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
  prepare_client_response(response, true);
  EXPECT_EQ(response[http::field::connection], "Upgrade");
  EXPECT_EQ(response[http::field::upgrade], "websocket");
  EXPECT_EQ(response[http::field::sec_websocket_accept], "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

TEST(HeaderRewriteClientResponse, RemovesTheUpgradeOfA101WithoutKeepUpgrade) {
  auto response = upstream_response(http::status::switching_protocols);
  response.set(http::field::connection, "Upgrade");
  response.set(http::field::upgrade, "websocket");
  prepare_client_response(response);
  EXPECT_EQ(response.count(http::field::connection), 0u);
  EXPECT_EQ(response.count(http::field::upgrade), 0u);
}

TEST(HeaderRewriteClientResponse, RemovesUpgradeFromANon101EvenWithKeepUpgrade) {
  auto response = upstream_response(http::status::ok);
  response.set(http::field::connection, "Upgrade");
  response.set(http::field::upgrade, "websocket");
  prepare_client_response(response, true);
  EXPECT_EQ(response.count(http::field::connection), 0u);
  EXPECT_EQ(response.count(http::field::upgrade), 0u);
}

}  // namespace
}  // namespace dockmaster::net
