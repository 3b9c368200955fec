// CORS as browsers meet it through the running proxy: preflights answered by the
// manager, Access-Control-* headers on relayed and manager-made responses.

#include <gtest/gtest.h>

#include "support/harness.hpp"
#include "support/http_client.hpp"
#include "support/test_upstream.hpp"

namespace dockmaster::test {
namespace {

const std::string allowed = "https://app.example";
const std::string disallowed = "https://evil.example";

request preflight(const std::string& origin, const std::string& method = "PUT",
                  const std::string& headers = "Content-Type") {
  auto req = make_request(http::verb::options, "/api/items/1");
  req.set(http::field::origin, origin);
  req.set(http::field::access_control_request_method, method);
  if (!headers.empty()) req.set(http::field::access_control_request_headers, headers);
  return req;
}

bool has(const response& r, http::field f) { return r.find(f) != r.end(); }

class Cors : public ::testing::Test {
 protected:
  std::unique_ptr<in_process_proxy> start(bool credentials) {
    auto cfg = make_config();
    add_service(cfg, "api", {upstream.host_port()});
    add_route(cfg, "/api/", "api");
    cfg.cors.allow_origins = {allowed, "https://other.example"};
    cfg.cors.allow_credentials = credentials;
    cfg.cors.max_age = std::chrono::seconds(120);
    cfg.cors.expose_headers = {"X-Request-Id"};
    return std::make_unique<in_process_proxy>(cfg);
  }
  test_upstream upstream{"api"};
};

TEST_F(Cors, APreflightIsAnsweredByTheManagerAndNeverReachesTheUpstream) {
  auto proxy = start(false);
  http_client client(proxy->port());

  auto r = client.send(preflight(allowed));
  EXPECT_EQ(r.result_int(), 204);
  EXPECT_EQ(r[http::field::access_control_allow_origin], allowed);
  EXPECT_EQ(r[http::field::access_control_allow_methods], "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS");
  EXPECT_EQ(r[http::field::access_control_allow_headers],
            "Content-Type, Authorization, X-Requested-With, X-Request-Id");
  EXPECT_EQ(r[http::field::access_control_max_age], "120");
  EXPECT_FALSE(has(r, http::field::access_control_allow_credentials));
  EXPECT_EQ(upstream.request_count(), 0u);
  // The connection goes on with the actual request.
  auto actual = client.get("/api/items/1", {{"Origin", allowed}});
  EXPECT_EQ(actual.result_int(), 200);
  EXPECT_EQ(upstream.request_count(), 1u);
  EXPECT_EQ(client.connections_opened(), 1);
}

TEST_F(Cors, APreflightForAPathWithoutARouteIsStillAnswered) {
  auto proxy = start(false);
  http_client client(proxy->port());
  auto req = preflight(allowed);
  req.target("/no/route/here");
  EXPECT_EQ(client.send(req).result_int(), 204);
}

TEST_F(Cors, ASimpleGetFromAnAllowedOriginCarriesAllowOrigin) {
  auto proxy = start(false);
  http_client client(proxy->port());

  auto r = client.get("/api/items", {{"Origin", allowed}});
  ASSERT_EQ(r.result_int(), 200);
  EXPECT_EQ(r["X-Upstream"], "api");
  EXPECT_EQ(r[http::field::access_control_allow_origin], allowed);
  EXPECT_EQ(r[http::field::access_control_expose_headers], "X-Request-Id");
  EXPECT_NE(std::string(r[http::field::vary]).find("Origin"), std::string::npos);
  EXPECT_FALSE(has(r, http::field::access_control_allow_credentials));
  EXPECT_EQ(upstream.last_request()->header("Origin"), allowed);
}

TEST_F(Cors, ARequestFromADisallowedOriginGetsNoCorsHeaders) {
  auto proxy = start(false);
  http_client client(proxy->port());

  auto r = client.get("/api/items", {{"Origin", disallowed}});
  ASSERT_EQ(r.result_int(), 200);
  EXPECT_FALSE(has(r, http::field::access_control_allow_origin));
  EXPECT_FALSE(has(r, http::field::access_control_allow_credentials));
  EXPECT_FALSE(has(r, http::field::access_control_expose_headers));
}

TEST_F(Cors, APreflightFromADisallowedOriginGets403WithoutCorsHeaders) {
  auto proxy = start(false);
  http_client client(proxy->port());

  auto r = client.send(preflight(disallowed));
  EXPECT_EQ(r.result_int(), 403);
  EXPECT_FALSE(has(r, http::field::access_control_allow_origin));
  EXPECT_FALSE(has(r, http::field::access_control_allow_methods));
  EXPECT_EQ(upstream.request_count(), 0u);
}

TEST_F(Cors, APreflightAskingForAHeaderNotAllowedGets403) {
  auto proxy = start(false);
  http_client client(proxy->port());
  EXPECT_EQ(client.send(preflight(allowed, "PUT", "X-Secret-Header")).result_int(), 403);
  EXPECT_EQ(client.send(preflight(allowed, "PURGE", "")).result_int(), 403);
  EXPECT_EQ(upstream.request_count(), 0u);
}

TEST_F(Cors, WithCredentialsTheOriginIsEchoedAndCredentialsAllowed) {
  auto proxy = start(true);
  http_client client(proxy->port());

  auto pre = client.send(preflight(allowed));
  EXPECT_EQ(pre.result_int(), 204);
  EXPECT_EQ(pre[http::field::access_control_allow_origin], allowed);
  EXPECT_EQ(pre[http::field::access_control_allow_credentials], "true");

  auto r = client.get("/api/me", {{"Origin", allowed}, {"Cookie", "session=1"}});
  ASSERT_EQ(r.result_int(), 200);
  EXPECT_EQ(r[http::field::access_control_allow_origin], allowed);
  EXPECT_EQ(r[http::field::access_control_allow_credentials], "true");

  // The other configured origin is echoed as itself, never as the first one.
  auto other = client.get("/api/me", {{"Origin", "https://other.example"}});
  EXPECT_EQ(other[http::field::access_control_allow_origin], "https://other.example");
}

TEST_F(Cors, AnErrorAnsweredByTheManagerCarriesCorsHeadersForAnAllowedOrigin) {
  auto proxy = start(false);
  http_client client(proxy->port());
  // No route: the manager's own 404 must still be readable by the page's script.
  auto r = client.get("/not-routed", {{"Origin", allowed}});
  EXPECT_EQ(r.result_int(), 404);
  EXPECT_EQ(r[http::field::access_control_allow_origin], allowed);
}

TEST(CorsOff, WithoutAllowedOriginsAPreflightGoesToTheUpstream) {
  test_upstream upstream{"api"};
  auto cfg = make_config();
  add_service(cfg, "api", {upstream.host_port()});
  add_route(cfg, "/", "api");
  in_process_proxy proxy(cfg);
  http_client client(proxy.port());

  auto r = client.send(preflight(allowed));
  EXPECT_EQ(r.result_int(), 200);
  EXPECT_EQ(r["X-Upstream"], "api");
  EXPECT_FALSE(has(r, http::field::access_control_allow_origin));
  EXPECT_EQ(upstream.count_requests("/api/items/1"), 1u);
}

}  // namespace
}  // namespace dockmaster::test
