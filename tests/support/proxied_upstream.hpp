#pragma once

// A test fixture: one upstream ("app") behind an in-process dockmaster that routes
// every path to it, checked with one ordinary request first, so that a later failure
// is about the test's own request.

#include <memory>

#include <gtest/gtest.h>

#include "support/harness.hpp"
#include "support/http_client.hpp"
#include "support/test_upstream.hpp"

namespace dockmaster::test {

class proxied_upstream : public ::testing::Test {
 protected:
  void SetUp() override {
    auto cfg = make_config();
    add_service(cfg, "app", {upstream.host_port()});
    add_route(cfg, "/", "app");
    proxy = std::make_unique<in_process_proxy>(cfg);
    ASSERT_EQ(http_client(proxy->port()).get("/warm-up").result_int(), 200);
  }
  test_upstream upstream{"app"};
  std::unique_ptr<in_process_proxy> proxy;
};

}  // namespace dockmaster::test
