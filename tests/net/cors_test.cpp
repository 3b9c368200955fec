#include "net/cors.hpp"

#include <cctype>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

namespace dockmaster::net {
namespace {

namespace http = boost::beast::http;

config::cors_policy explicit_policy() {
  config::cors_policy policy;
  policy.allow_origins = {"https://app.example.com", "https://admin.example.com"};
  return policy;
}

config::cors_policy any_origin_policy() {
  config::cors_policy policy;
  policy.allow_origins = {"*"};
  return policy;
}

cors_responder::request_header preflight(std::string_view origin, std::string_view method,
                                         std::string_view headers = {}) {
  cors_responder::request_header request;
  request.method(http::verb::options);
  request.target("/api/items");
  request.version(11);
  request.set(http::field::host, "api.example.com");
  request.set(http::field::origin, origin);
  request.set(http::field::access_control_request_method, method);
  if (!headers.empty()) request.set(http::field::access_control_request_headers, headers);
  return request;
}

bool has_access_control_field(const cors_responder::response_header& response) {
  for (const auto& field : response) {
    std::string name{field.name_string()};
    for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (name.rfind("access-control-", 0) == 0) return true;
  }
  return false;
}

std::vector<std::pair<std::string, std::string>> all_fields(const cors_responder::response_header& response) {
  std::vector<std::pair<std::string, std::string>> fields;
  for (const auto& field : response) fields.emplace_back(field.name_string(), field.value());
  return fields;
}

cors_responder::response_header upstream_response() {
  cors_responder::response_header response;
  response.result(http::status::ok);
  response.version(11);
  response.set(http::field::content_type, "application/json");
  return response;
}

// --- enabled / origin_allowed ------------------------------------------------------

TEST(CorsResponder, IsDisabledWithoutAllowedOrigins) {
  cors_responder cors{config::cors_policy{}};
  EXPECT_FALSE(cors.enabled());
  EXPECT_FALSE(cors.origin_allowed("https://app.example.com"));
}

TEST(CorsResponder, IsEnabledWithAllowedOrigins) {
  EXPECT_TRUE(cors_responder{explicit_policy()}.enabled());
  EXPECT_TRUE(cors_responder{any_origin_policy()}.enabled());
}

TEST(CorsResponder, AllowsOnlyTheListedOrigins) {
  cors_responder cors{explicit_policy()};
  EXPECT_TRUE(cors.origin_allowed("https://app.example.com"));
  EXPECT_TRUE(cors.origin_allowed("https://admin.example.com"));
  EXPECT_FALSE(cors.origin_allowed("https://evil.example.com"));
  EXPECT_FALSE(cors.origin_allowed("http://app.example.com"));
  EXPECT_FALSE(cors.origin_allowed("https://app.example.com.evil.net"));
}

TEST(CorsResponder, ComparesOriginsIgnoringCase) {
  config::cors_policy policy;
  policy.allow_origins = {"https://App.Example.com"};
  EXPECT_TRUE(cors_responder{policy}.origin_allowed("https://app.example.com"));
}

TEST(CorsResponder, AllowsAnyOriginWithAStar) {
  cors_responder cors{any_origin_policy()};
  EXPECT_TRUE(cors.origin_allowed("https://anything.example.org"));
  EXPECT_TRUE(cors.origin_allowed("null"));
}

TEST(CorsResponder, NeverAllowsAnEmptyOrigin) {
  EXPECT_FALSE(cors_responder{any_origin_policy()}.origin_allowed(""));
  EXPECT_FALSE(cors_responder{explicit_policy()}.origin_allowed(""));
}

// --- is_preflight ------------------------------------------------------------------

TEST(CorsPreflightDetection, RecognisesOptionsWithOriginAndRequestMethod) {
  EXPECT_TRUE(cors_responder::is_preflight(preflight("https://app.example.com", "PUT")));
}

TEST(CorsPreflightDetection, DoesNotTakeAPlainOptionsRequestForAPreflight) {
  auto request = preflight("https://app.example.com", "PUT");
  request.erase(http::field::access_control_request_method);
  EXPECT_FALSE(cors_responder::is_preflight(request));

  auto no_origin = preflight("https://app.example.com", "PUT");
  no_origin.erase(http::field::origin);
  EXPECT_FALSE(cors_responder::is_preflight(no_origin));
}

TEST(CorsPreflightDetection, DoesNotTakeAnotherMethodForAPreflight) {
  auto request = preflight("https://app.example.com", "PUT");
  request.method(http::verb::get);
  EXPECT_FALSE(cors_responder::is_preflight(request));
}

// --- answer_preflight: allowed -------------------------------------------------------

TEST(CorsPreflightAnswer, AllowsAListedOriginWith204AndEveryAllowHeader) {
  cors_responder cors{explicit_policy()};
  cors_responder::response_header response;
  cors.answer_preflight(preflight("https://app.example.com", "PUT", "Content-Type"), response);

  EXPECT_EQ(response.result(), http::status::no_content);
  EXPECT_EQ(response[http::field::access_control_allow_origin], "https://app.example.com");
  EXPECT_EQ(response[http::field::access_control_allow_methods], "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS");
  EXPECT_EQ(response[http::field::access_control_allow_headers],
            "Content-Type, Authorization, X-Requested-With, X-Request-Id");
  EXPECT_EQ(response[http::field::access_control_max_age], "600");
  EXPECT_EQ(response[http::field::content_length], "0");
  EXPECT_EQ(response.count(http::field::access_control_allow_credentials), 0u);
}

TEST(CorsPreflightAnswer, VariesOnOriginAndTheRequestedMethodAndHeaders) {
  cors_responder cors{explicit_policy()};
  cors_responder::response_header response;
  cors.answer_preflight(preflight("https://app.example.com", "PUT"), response);
  EXPECT_EQ(response[http::field::vary], "Origin, Access-Control-Request-Method, Access-Control-Request-Headers");
}

TEST(CorsPreflightAnswer, AnswersAStarPolicyWithoutCredentialsWithAStar) {
  cors_responder cors{any_origin_policy()};
  cors_responder::response_header response;
  cors.answer_preflight(preflight("https://anything.example.org", "POST"), response);
  EXPECT_EQ(response.result(), http::status::no_content);
  EXPECT_EQ(response[http::field::access_control_allow_origin], "*");
}

TEST(CorsPreflightAnswer, EchoesTheOriginForAStarPolicyWithCredentials) {
  auto policy = any_origin_policy();
  policy.allow_credentials = true;
  cors_responder cors{policy};
  cors_responder::response_header response;
  cors.answer_preflight(preflight("https://anything.example.org", "POST"), response);
  EXPECT_EQ(response[http::field::access_control_allow_origin], "https://anything.example.org");
  EXPECT_EQ(response[http::field::access_control_allow_credentials], "true");
}

TEST(CorsPreflightAnswer, SendsTheConfiguredMaxAge) {
  auto policy = explicit_policy();
  policy.max_age = std::chrono::seconds{86400};
  cors_responder cors{policy};
  cors_responder::response_header response;
  cors.answer_preflight(preflight("https://app.example.com", "GET"), response);
  EXPECT_EQ(response[http::field::access_control_max_age], "86400");
}

TEST(CorsPreflightAnswer, AllowsRequestedHeadersIgnoringCaseSpacesAndEmptyElements) {
  cors_responder cors{explicit_policy()};
  cors_responder::response_header response;
  cors.answer_preflight(preflight("https://app.example.com", "POST", "content-type ,  X-REQUEST-ID,, authorization"),
                        response);
  EXPECT_EQ(response.result(), http::status::no_content);
}

TEST(CorsPreflightAnswer, ReadsRequestedHeadersSpreadOverSeveralFields) {
  cors_responder cors{explicit_policy()};
  auto request = preflight("https://app.example.com", "POST", "Content-Type");
  request.insert(http::field::access_control_request_headers, "X-Custom");
  cors_responder::response_header response;
  cors.answer_preflight(request, response);
  EXPECT_EQ(response.result(), http::status::forbidden);
}

TEST(CorsPreflightAnswer, AllowsAnyMethodAndHeaderWithAStarAndEchoesWhatWasAsked) {
  auto policy = explicit_policy();
  policy.allow_methods = {"*"};
  policy.allow_headers = {"*"};
  policy.allow_credentials = true;
  cors_responder cors{policy};
  cors_responder::response_header response;
  cors.answer_preflight(preflight("https://app.example.com", "PROPFIND", "X-Custom, Authorization"), response);
  EXPECT_EQ(response.result(), http::status::no_content);
  EXPECT_EQ(response[http::field::access_control_allow_methods], "PROPFIND");
  EXPECT_EQ(response[http::field::access_control_allow_headers], "X-Custom, Authorization");
}

TEST(CorsPreflightAnswer, LeavesOutAllowHeadersWhenNoneAreConfigured) {
  auto policy = explicit_policy();
  policy.allow_headers.clear();
  cors_responder cors{policy};
  cors_responder::response_header response;
  cors.answer_preflight(preflight("https://app.example.com", "GET"), response);
  EXPECT_EQ(response.result(), http::status::no_content);
  EXPECT_EQ(response.count(http::field::access_control_allow_headers), 0u);
}

// --- answer_preflight: refused -------------------------------------------------------

TEST(CorsPreflightAnswer, RefusesAnOriginNotListedWith403AndNoCorsHeader) {
  cors_responder cors{explicit_policy()};
  cors_responder::response_header response;
  cors.answer_preflight(preflight("https://evil.example.com", "GET"), response);
  EXPECT_EQ(response.result(), http::status::forbidden);
  EXPECT_FALSE(has_access_control_field(response));
  EXPECT_EQ(response[http::field::content_length], "0");
}

TEST(CorsPreflightAnswer, RefusesAMethodNotListed) {
  auto policy = explicit_policy();
  policy.allow_methods = {"GET", "POST"};
  cors_responder cors{policy};
  cors_responder::response_header response;
  cors.answer_preflight(preflight("https://app.example.com", "DELETE"), response);
  EXPECT_EQ(response.result(), http::status::forbidden);
  EXPECT_FALSE(has_access_control_field(response));
}

TEST(CorsPreflightAnswer, ComparesMethodsCaseSensitivelyAsBrowsersDo) {
  cors_responder cors{explicit_policy()};
  cors_responder::response_header response;
  cors.answer_preflight(preflight("https://app.example.com", "patch"), response);
  EXPECT_EQ(response.result(), http::status::forbidden);
}

TEST(CorsPreflightAnswer, RefusesARequestedHeaderNotListed) {
  cors_responder cors{explicit_policy()};
  cors_responder::response_header response;
  cors.answer_preflight(preflight("https://app.example.com", "POST", "Content-Type, X-Secret"), response);
  EXPECT_EQ(response.result(), http::status::forbidden);
  EXPECT_FALSE(has_access_control_field(response));
  EXPECT_EQ(response[http::field::content_length], "0");
}

TEST(CorsPreflightAnswer, RefusesAnEmptyRequestedMethod) {
  cors_responder cors{explicit_policy()};
  cors_responder::response_header response;
  cors.answer_preflight(preflight("https://app.example.com", ""), response);
  EXPECT_EQ(response.result(), http::status::forbidden);
}

TEST(CorsPreflightAnswer, RefusesEverythingWhenCorsIsDisabled) {
  cors_responder cors{config::cors_policy{}};
  cors_responder::response_header response;
  cors.answer_preflight(preflight("https://app.example.com", "GET"), response);
  EXPECT_EQ(response.result(), http::status::forbidden);
  EXPECT_FALSE(has_access_control_field(response));
}

TEST(CorsPreflightAnswer, DropsCorsHeadersAlreadyInTheResponseWhenRefusing) {
  cors_responder cors{explicit_policy()};
  cors_responder::response_header response;
  response.set(http::field::access_control_allow_origin, "*");
  cors.answer_preflight(preflight("https://evil.example.com", "GET"), response);
  EXPECT_FALSE(has_access_control_field(response));
}

TEST(CorsPreflightAnswer, StillVariesOnOriginWhenRefusing) {
  cors_responder cors{explicit_policy()};
  cors_responder::response_header response;
  cors.answer_preflight(preflight("https://evil.example.com", "GET"), response);
  EXPECT_EQ(response[http::field::vary], "Origin, Access-Control-Request-Method, Access-Control-Request-Headers");
}

// --- decorate ------------------------------------------------------------------------

TEST(CorsDecorate, EchoesAListedOrigin) {
  cors_responder cors{explicit_policy()};
  auto response = upstream_response();
  cors.decorate("https://app.example.com", response);
  EXPECT_EQ(response[http::field::access_control_allow_origin], "https://app.example.com");
  EXPECT_EQ(response[http::field::vary], "Origin");
  EXPECT_EQ(response.count(http::field::access_control_allow_credentials), 0u);
  EXPECT_EQ(response.count(http::field::access_control_expose_headers), 0u);
}

TEST(CorsDecorate, SendsAStarForAnyOriginWithoutCredentials) {
  cors_responder cors{any_origin_policy()};
  auto response = upstream_response();
  cors.decorate("https://anything.example.org", response);
  EXPECT_EQ(response[http::field::access_control_allow_origin], "*");
  EXPECT_EQ(response[http::field::vary], "Origin");
}

TEST(CorsDecorate, EchoesTheOriginAndAllowsCredentialsWhenConfigured) {
  auto policy = any_origin_policy();
  policy.allow_credentials = true;
  cors_responder cors{policy};
  auto response = upstream_response();
  cors.decorate("https://anything.example.org", response);
  EXPECT_EQ(response[http::field::access_control_allow_origin], "https://anything.example.org");
  EXPECT_EQ(response[http::field::access_control_allow_credentials], "true");
}

TEST(CorsDecorate, ExposesTheConfiguredHeaders) {
  auto policy = explicit_policy();
  policy.expose_headers = {"X-Request-Id", "X-Total-Count"};
  cors_responder cors{policy};
  auto response = upstream_response();
  cors.decorate("https://app.example.com", response);
  EXPECT_EQ(response[http::field::access_control_expose_headers], "X-Request-Id, X-Total-Count");
}

TEST(CorsDecorate, AppendsOriginToTheUpstreamVaryInsteadOfReplacingIt) {
  cors_responder cors{explicit_policy()};
  auto response = upstream_response();
  response.set(http::field::vary, "Accept-Encoding");
  cors.decorate("https://app.example.com", response);
  EXPECT_EQ(response[http::field::vary], "Accept-Encoding, Origin");
  EXPECT_EQ(response.count(http::field::vary), 1u);
}

TEST(CorsDecorate, MergesSeveralUpstreamVaryFieldsAndAppendsOrigin) {
  cors_responder cors{explicit_policy()};
  auto response = upstream_response();
  response.insert(http::field::vary, "Accept-Encoding");
  response.insert(http::field::vary, "Cookie");
  cors.decorate("https://app.example.com", response);
  EXPECT_EQ(response[http::field::vary], "Accept-Encoding, Cookie, Origin");
  EXPECT_EQ(response.count(http::field::vary), 1u);
}

TEST(CorsDecorate, DoesNotRepeatOriginAlreadyInVary) {
  cors_responder cors{explicit_policy()};
  auto response = upstream_response();
  response.set(http::field::vary, "accept-encoding, origin");
  cors.decorate("https://app.example.com", response);
  EXPECT_EQ(response[http::field::vary], "accept-encoding, origin");
}

TEST(CorsDecorate, LeavesAVaryStarAlone) {
  cors_responder cors{explicit_policy()};
  auto response = upstream_response();
  response.set(http::field::vary, "*");
  cors.decorate("https://app.example.com", response);
  EXPECT_EQ(response[http::field::vary], "*");
}

TEST(CorsDecorate, ReplacesTheUpstreamAllowOriginWithThePolicy) {
  cors_responder cors{explicit_policy()};
  auto response = upstream_response();
  response.set(http::field::access_control_allow_origin, "*");
  cors.decorate("https://app.example.com", response);
  EXPECT_EQ(response[http::field::access_control_allow_origin], "https://app.example.com");
  EXPECT_EQ(response.count(http::field::access_control_allow_origin), 1u);
}

TEST(CorsDecorate, RemovesUpstreamCredentialsThePolicyDoesNotAllow) {
  cors_responder cors{explicit_policy()};
  auto response = upstream_response();
  response.set(http::field::access_control_allow_credentials, "true");
  cors.decorate("https://app.example.com", response);
  EXPECT_EQ(response.count(http::field::access_control_allow_credentials), 0u);
}

TEST(CorsDecorate, AddsNothingForAnOriginNotListed) {
  cors_responder cors{explicit_policy()};
  auto response = upstream_response();
  response.set(http::field::vary, "Accept-Encoding");
  const auto before = all_fields(response);
  cors.decorate("https://evil.example.com", response);
  EXPECT_EQ(all_fields(response), before);
}

TEST(CorsDecorate, AddsNothingWithoutOrigin) {
  cors_responder cors{any_origin_policy()};
  auto response = upstream_response();
  const auto before = all_fields(response);
  cors.decorate("", response);
  EXPECT_EQ(all_fields(response), before);
}

TEST(CorsDecorate, AddsNothingWhenCorsIsDisabled) {
  cors_responder cors{config::cors_policy{}};
  auto response = upstream_response();
  response.set(http::field::access_control_allow_origin, "https://backend-choice.example.com");
  const auto before = all_fields(response);
  cors.decorate("https://app.example.com", response);
  EXPECT_EQ(all_fields(response), before);
}

}  // namespace
}  // namespace dockmaster::net
