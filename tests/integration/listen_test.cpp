// The listen address belongs to one dockmaster: its own I/O threads share the port
// (SO_REUSEPORT), but a second process on the same address fails at start instead of
// silently taking part of the traffic.

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "net/proxy_worker.hpp"
#include "support/harness.hpp"
#include "support/http_client.hpp"
#include "support/test_upstream.hpp"

namespace dockmaster::test {
namespace {

using nlohmann::json;
namespace asio = boost::asio;
using tcp = asio::ip::tcp;

std::string child_config(const test_upstream& upstream, const std::string& listen) {
  json cfg = {
      {"listen", listen},
      {"services", {{"app", {{"instances", {upstream.host_port()}}}}}},
      {"routes", {{{"prefix", "/"}, {"service", "app"}}}},
      {"actor_system", {{"io_threads", 2}}},
      {"log", {{"level", "info"}, {"access_log", false}}},
  };
  return cfg.dump();
}

/// The binary run with `config_json` until it exits (at most `timeout`).
struct finished_run {
  std::optional<int> exit_code;
  std::string err;
};

finished_run run_to_end(const std::string& config_json,
                        std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  temp_file config(config_json);
  child_process process({DOCKMASTER_BINARY, "--config", config.path()});
  finished_run result;
  if (process.wait_exit(timeout)) {
    result.exit_code = process.exit_code();
    process.wait_output_closed(std::chrono::seconds(5));
  }
  result.err = process.stderr_text();
  return result;
}

/// A listening socket of this test process with SO_REUSEPORT, as another program that
/// wants to share a port would open it.
class foreign_reuseport_listener {
 public:
  foreign_reuseport_listener() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    ::setsockopt(fd_, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&address), length) != 0 || ::listen(fd_, 16) != 0 ||
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length) != 0)
      throw std::runtime_error("cannot open the foreign SO_REUSEPORT listener");
    port_ = ntohs(address.sin_port);
  }
  ~foreign_reuseport_listener() { ::close(fd_); }
  std::uint16_t port() const { return port_; }

 private:
  int fd_ = -1;
  std::uint16_t port_ = 0;
};

TEST(ListenAddress, ASecondDockmasterOnTheSameAddressFailsAtStartAndTheFirstKeepsEveryRequest) {
  test_upstream first_upstream{"first"};
  test_upstream second_upstream{"second"};
  dockmaster_process first(child_config(first_upstream, "127.0.0.1:0"));
  const std::string address = "127.0.0.1:" + std::to_string(first.port());

  auto second = run_to_end(child_config(second_upstream, address));
  ASSERT_TRUE(second.exit_code) << "the second dockmaster kept running on " << address
                                << "; stderr:\n" << second.err;
  EXPECT_NE(*second.exit_code, 0);
  EXPECT_NE(second.err.find(address), std::string::npos) << second.err;
  EXPECT_NE(second.err.find("in use"), std::string::npos) << second.err;

  // Every new connection (the kernel would spread them over a shared port group) is
  // the first one's.
  for (int i = 0; i < 50; ++i) {
    http_client client(first.port());
    auto r = client.get("/request/" + std::to_string(i));
    ASSERT_EQ(r.result_int(), 200) << r.body();
    EXPECT_EQ(json::parse(r.body())["upstream"], "first") << "request " << i;
  }
  EXPECT_EQ(first_upstream.count_requests("/request/"), 50u);
  EXPECT_EQ(second_upstream.request_count(), 0u);
  EXPECT_TRUE(first.process().running());
}

TEST(ListenAddress, APortHeldByAForeignReusePortSocketFailsTheStartNamingTheAddress) {
  test_upstream upstream{"app"};
  foreign_reuseport_listener foreign;
  const std::string address = "127.0.0.1:" + std::to_string(foreign.port());
  auto run = run_to_end(child_config(upstream, address));
  ASSERT_TRUE(run.exit_code) << "dockmaster joined the foreign SO_REUSEPORT group on " << address
                             << "; stderr:\n" << run.err;
  EXPECT_NE(*run.exit_code, 0);
  EXPECT_NE(run.err.find("cannot listen on " + address), std::string::npos) << run.err;
  EXPECT_NE(run.err.find("in use"), std::string::npos) << run.err;
}

// The admin listener's address taken: the start fails with exit code 1 and says why,
// rather than hanging while it shuts down what it had started (it did: the start's own
// scoped actor was still alive while stop() waited for every actor).
TEST(ListenAddress, AnAdminAddressInUseFailsTheStartInsteadOfHanging) {
  test_upstream upstream{"app"};
  asio::io_context io;
  tcp::acceptor taken(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  const std::string admin = "127.0.0.1:" + std::to_string(taken.local_endpoint().port());
  auto cfg = json::parse(child_config(upstream, "127.0.0.1:0"));
  cfg["admin"] = {{"listen", admin}};
  auto run = run_to_end(cfg.dump());
  ASSERT_TRUE(run.exit_code) << "dockmaster did not exit; stderr:\n" << run.err;
  EXPECT_EQ(*run.exit_code, 1);
  EXPECT_NE(run.err.find(admin), std::string::npos) << run.err;
  EXPECT_NE(run.err.find("in use"), std::string::npos) << run.err;
}

TEST(ListenAddress, ClaimingPortZeroPicksAFreePortTheWorkersCanShare) {
  auto loopback = asio::ip::make_address("127.0.0.1");
  auto port = net::proxy_worker::claim_port(tcp::endpoint(loopback, 0));
  ASSERT_NE(port, 0);
  // The probe is closed again: two reuseport listeners (two I/O threads) take the port.
  auto cfg = make_config();
  auto settings = std::make_shared<const net::proxy_settings>(cfg);
  net::proxy_worker one(settings), two(settings);
  EXPECT_EQ(one.listen(tcp::endpoint(loopback, port)), port);
  EXPECT_EQ(two.listen(tcp::endpoint(loopback, port)), port);
  // Now that they hold it, claiming it again fails.
  try {
    net::proxy_worker::claim_port(tcp::endpoint(loopback, port));
    ADD_FAILURE() << "claimed a port that listeners hold";
  } catch (const boost::system::system_error& e) {
    EXPECT_EQ(e.code(), asio::error::address_in_use) << e.what();
  }
}

TEST(ListenAddress, ClaimingAPortHeldByAForeignReusePortListenerFails) {
  foreign_reuseport_listener foreign;
  try {
    net::proxy_worker::claim_port(tcp::endpoint(asio::ip::make_address("127.0.0.1"), foreign.port()));
    ADD_FAILURE() << "claimed a port a foreign SO_REUSEPORT listener holds";
  } catch (const boost::system::system_error& e) {
    EXPECT_EQ(e.code(), asio::error::address_in_use) << e.what();
  }
}

}  // namespace
}  // namespace dockmaster::test
