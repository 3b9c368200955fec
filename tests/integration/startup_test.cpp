// Start-up of the in-process runtime: when start() returns, requests are served.

#include <gtest/gtest.h>

#include "support/harness.hpp"
#include "support/http_client.hpp"
#include "support/test_upstream.hpp"

namespace dockmaster::test {
namespace {

TEST(Startup, TheFirstRequestRightAfterStartFindsTheServiceInstances) {
  // runtime::start(): "Returns once every service's first DNS resolution has been
  // published, so that the first request finds its instances." Repeated, because a
  // gap between publishing and the I/O threads applying the set shows only at times.
  test_upstream upstream{"app"};
  auto cfg = make_config();
  add_service(cfg, "app", {upstream.host_port()});
  add_route(cfg, "/", "app");
  int unavailable = 0;
  constexpr int attempts = 300;
  for (int i = 0; i < attempts; ++i) {
    in_process_proxy proxy(cfg);
    http_client client(proxy.port());
    auto r = client.get("/first");
    if (r.result_int() == 503) ++unavailable;
    else EXPECT_EQ(r.result_int(), 200) << r.body();
  }
  EXPECT_EQ(unavailable, 0) << unavailable << " of " << attempts
                            << " first requests got 503 (service has no instance)";
}

}  // namespace
}  // namespace dockmaster::test
