#include <gtest/gtest.h>

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/write.hpp>

#include "net/health_prober.hpp"
#include "support/harness.hpp"

namespace dockmaster::net {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;
using std::chrono::milliseconds;
using steady = std::chrono::steady_clock;

/// Generous bound for "this must have completed by now" (sanitizer builds are slow).
constexpr milliseconds patience = 10s;

std::string http_response(unsigned status, const std::string& body = "ok\n") {
  return "HTTP/1.1 " + std::to_string(status) + " Whatever\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
}

/// A tiny server on a loopback port chosen by the kernel, with a thread of its own. It
/// reads each request head (recorded), then behaves as told.
class fake_instance {
 public:
  enum class behavior {
    answer,               // sends `response`, then closes
    answer_and_hold,      // sends `response`, keeps the connection open
    hang,                 // reads the request, never answers, keeps the connection open
    close_after_request,  // reads the request, closes without a word
  };

  explicit fake_instance(std::string response, behavior how = behavior::answer,
                         const char* address = "127.0.0.1")
      : response_(std::move(response)), behavior_(how) {
    tcp::endpoint endpoint(asio::ip::make_address(address), 0);
    acceptor_.open(endpoint.protocol());
    acceptor_.bind(endpoint);
    acceptor_.listen(asio::socket_base::max_listen_connections);
    port_ = acceptor_.local_endpoint().port();
    do_accept();
    thread_ = std::thread([this] { io_.run(); });
  }

  ~fake_instance() {
    io_.stop();
    thread_.join();
    connections_.clear();
  }

  std::uint16_t port() const { return port_; }

  std::vector<std::string> request_heads() const {
    std::lock_guard lock(mutex_);
    return heads_;
  }

  std::size_t requests() const {
    std::lock_guard lock(mutex_);
    return heads_.size();
  }

 private:
  struct connection {
    explicit connection(tcp::socket s) : socket(std::move(s)) {}
    tcp::socket socket;
    std::string in;
  };

  void do_accept() {
    acceptor_.async_accept([this](boost::system::error_code ec, tcp::socket socket) {
      if (ec) return;
      auto c = std::make_shared<connection>(std::move(socket));
      connections_.push_back(c);  // held until the server goes: "hang" needs that
      read_request(c);
      do_accept();
    });
  }

  void read_request(const std::shared_ptr<connection>& c) {
    asio::async_read_until(
        c->socket, asio::dynamic_buffer(c->in), "\r\n\r\n",
        [this, c](boost::system::error_code ec, std::size_t n) {
          if (ec) return;
          {
            std::lock_guard lock(mutex_);
            heads_.push_back(c->in.substr(0, n));
          }
          boost::system::error_code ignored;
          switch (behavior_) {
            case behavior::hang:
              return;
            case behavior::close_after_request:
              c->socket.close(ignored);
              return;
            case behavior::answer:
            case behavior::answer_and_hold:
              asio::async_write(c->socket, asio::buffer(response_),
                                [this, c](boost::system::error_code, std::size_t) {
                                  boost::system::error_code ignored;
                                  if (behavior_ == behavior::answer) {
                                    c->socket.shutdown(tcp::socket::shutdown_send, ignored);
                                    c->socket.close(ignored);
                                  }
                                });
              return;
          }
        });
  }

  const std::string response_;
  const behavior behavior_;
  asio::io_context io_{1};
  tcp::acceptor acceptor_{io_};
  std::uint16_t port_ = 0;
  std::vector<std::shared_ptr<connection>> connections_;  // the server's thread only
  mutable std::mutex mutex_;
  std::vector<std::string> heads_;
  std::thread thread_;
};

/// A loopback port that refuses connections: bound (so nobody else takes it) but not
/// listening, so a SYN to it is answered with a reset.
class refusing_port {
 public:
  refusing_port() : socket_(io_) {
    socket_.open(tcp::v4());
    socket_.bind(tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  }
  std::uint16_t port() const { return socket_.local_endpoint().port(); }

 private:
  asio::io_context io_;
  tcp::socket socket_;
};

probe_target loopback(std::uint16_t port, const char* address = "127.0.0.1") {
  probe_target target;
  target.address = address;
  target.port = port;
  return target;
}

config::health_config http_check(milliseconds timeout = 5s) {
  config::health_config health;
  health.kind = config::probe_kind::http;
  health.timeout = timeout;
  return health;
}

config::health_config tcp_check(milliseconds timeout = 5s) {
  config::health_config health;
  health.kind = config::probe_kind::tcp;
  health.timeout = timeout;
  return health;
}

class HealthProber : public ::testing::Test {
 protected:
  void TearDown() override {
    // Joins the prober's thread: after this no callback runs any more, so the counts
    // are final. Callbacks of probes still in flight are dropped here, never called.
    prober_.reset();
    std::lock_guard lock(calls_mutex_);
    for (const auto& calls : calls_) EXPECT_LE(calls->load(), 1) << "a callback ran more than once";
  }

  /// Starts a probe; the future gets its outcome. Thread-safe.
  std::future<probe_outcome> start(const probe_target& target, const config::health_config& health) {
    auto promise = std::make_shared<std::promise<probe_outcome>>();
    auto calls = std::make_shared<std::atomic<int>>(0);
    {
      std::lock_guard lock(calls_mutex_);
      calls_.push_back(calls);
    }
    auto future = promise->get_future();
    prober_->probe(target, health, [promise, calls](probe_outcome outcome) {
      if (calls->fetch_add(1) == 0) promise->set_value(std::move(outcome));
    });
    return future;
  }

  /// The outcome, or nothing when it did not come within `limit`.
  static std::optional<probe_outcome> outcome_of(std::future<probe_outcome>& future,
                                                 milliseconds limit = patience) {
    if (future.wait_for(limit) != std::future_status::ready) return std::nullopt;
    return future.get();
  }

  std::optional<probe_outcome> run(const probe_target& target, const config::health_config& health) {
    auto future = start(target, health);
    return outcome_of(future);
  }

  std::unique_ptr<health_prober> prober_ = std::make_unique<health_prober>();
  std::mutex calls_mutex_;
  std::vector<std::shared_ptr<std::atomic<int>>> calls_;
};

bool wait_until(const std::function<bool()>& condition, milliseconds limit = patience) {
  auto deadline = steady::now() + limit;
  while (!condition()) {
    if (steady::now() >= deadline) return condition();
    std::this_thread::sleep_for(2ms);
  }
  return true;
}

// -- HTTP: status and body ---------------------------------------------------------

TEST_F(HealthProber, Http200Passes) {
  fake_instance instance(http_response(200));
  auto outcome = run(loopback(instance.port()), http_check());
  ASSERT_TRUE(outcome);
  EXPECT_TRUE(outcome->passed);
  EXPECT_EQ(outcome->detail, "HTTP 200");
  EXPECT_GT(outcome->duration.count(), 0);
  EXPECT_LT(outcome->duration, 5s);
}

TEST_F(HealthProber, Http503FailsWithTheStatusAndTheExpectedRange) {
  fake_instance instance(http_response(503, "down\n"));
  auto outcome = run(loopback(instance.port()), http_check());
  ASSERT_TRUE(outcome);
  EXPECT_FALSE(outcome->passed);
  EXPECT_EQ(outcome->detail, "HTTP 503 (expected 200-399)");
}

TEST_F(HealthProber, StatusRangeIsInclusiveAndConfigurable) {
  fake_instance no_content(http_response(204, ""));
  fake_instance redirect(http_response(302));
  fake_instance teapot(http_response(418));
  auto only_2xx = http_check();
  only_2xx.http.status_min = 200;
  only_2xx.http.status_max = 299;

  auto passed = run(loopback(no_content.port()), only_2xx);
  ASSERT_TRUE(passed);
  EXPECT_TRUE(passed->passed);
  EXPECT_EQ(passed->detail, "HTTP 204");

  auto failed = run(loopback(redirect.port()), only_2xx);
  ASSERT_TRUE(failed);
  EXPECT_FALSE(failed->passed);
  EXPECT_EQ(failed->detail, "HTTP 302 (expected 200-299)");

  auto exactly_418 = http_check();
  exactly_418.http.status_min = exactly_418.http.status_max = 418;
  auto teapot_outcome = run(loopback(teapot.port()), exactly_418);
  ASSERT_TRUE(teapot_outcome);
  EXPECT_TRUE(teapot_outcome->passed);
  EXPECT_EQ(teapot_outcome->detail, "HTTP 418");
}

TEST_F(HealthProber, BodyContainsPassesWhenTheBodyHasTheText) {
  fake_instance instance(http_response(200, "{\"status\":\"ok\"}"));
  auto health = http_check();
  health.http.body_contains = "\"ok\"";
  auto outcome = run(loopback(instance.port()), health);
  ASSERT_TRUE(outcome);
  EXPECT_TRUE(outcome->passed) << outcome->detail;
  EXPECT_EQ(outcome->detail, "HTTP 200");
}

TEST_F(HealthProber, BodyContainsFailsWhenTheBodyLacksTheText) {
  fake_instance instance(http_response(200, "degraded"));
  auto health = http_check();
  health.http.body_contains = "ok";
  auto outcome = run(loopback(instance.port()), health);
  ASSERT_TRUE(outcome);
  EXPECT_FALSE(outcome->passed);
  EXPECT_EQ(outcome->detail, "body does not contain \"ok\"");
}

TEST_F(HealthProber, BodyContainsReadsChunkedAndCloseDelimitedBodies) {
  fake_instance chunked(
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nall \r\n2\r\nok\r\n0\r\n\r\n");
  fake_instance until_close("HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nall ok");
  auto health = http_check();
  health.http.body_contains = "all ok";
  for (auto port : {chunked.port(), until_close.port()}) {
    auto outcome = run(loopback(port), health);
    ASSERT_TRUE(outcome);
    EXPECT_TRUE(outcome->passed) << outcome->detail;
  }
}

TEST_F(HealthProber, StatusIsJudgedBeforeTheBody) {
  fake_instance instance(http_response(500, "ok"));
  auto health = http_check();
  health.http.body_contains = "ok";
  auto outcome = run(loopback(instance.port()), health);
  ASSERT_TRUE(outcome);
  EXPECT_FALSE(outcome->passed);
  EXPECT_EQ(outcome->detail, "HTTP 500 (expected 200-399)");
}

TEST_F(HealthProber, BodyLargerThan64KiBFails) {
  fake_instance instance(http_response(200, std::string(70 * 1024, 'x') + "ok"));
  auto health = http_check();
  health.http.body_contains = "ok";
  auto outcome = run(loopback(instance.port()), health);
  ASSERT_TRUE(outcome);
  EXPECT_FALSE(outcome->passed);
  EXPECT_EQ(outcome->detail, "response body larger than 64 KiB");
}

TEST_F(HealthProber, ChunkedBodyLargerThan64KiBFails) {
  std::string chunk(8 * 1024, 'x');
  std::string response = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (int i = 0; i < 9; ++i) response += "2000\r\n" + chunk + "\r\n";
  response += "2\r\nok\r\n0\r\n\r\n";
  fake_instance instance(response);
  auto health = http_check();
  health.http.body_contains = "ok";
  auto outcome = run(loopback(instance.port()), health);
  ASSERT_TRUE(outcome);
  EXPECT_FALSE(outcome->passed);
  EXPECT_EQ(outcome->detail, "response body larger than 64 KiB");
}

TEST_F(HealthProber, LargeAnnouncedBodyDoesNotMatterWithoutBodyContains) {
  fake_instance instance("HTTP/1.1 200 OK\r\nContent-Length: 10000000000\r\n\r\n",
                         fake_instance::behavior::answer_and_hold);
  auto outcome = run(loopback(instance.port()), http_check());
  ASSERT_TRUE(outcome);
  EXPECT_TRUE(outcome->passed) << outcome->detail;
}

TEST_F(HealthProber, WithoutBodyContainsOnlyTheHeaderIsAwaited) {
  // The body never comes; the verdict does not wait for it.
  fake_instance instance("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\npartial",
                         fake_instance::behavior::answer_and_hold);
  auto outcome = run(loopback(instance.port()), http_check(5s));
  ASSERT_TRUE(outcome);
  EXPECT_TRUE(outcome->passed) << outcome->detail;
  EXPECT_LT(outcome->duration, 2s);
}

// -- HTTP: the request -------------------------------------------------------------

TEST_F(HealthProber, SendsTheRequestLineHostUserAgentAndConnectionClose) {
  fake_instance instance(http_response(200));
  auto outcome = run(loopback(instance.port()), http_check());
  ASSERT_TRUE(outcome);
  ASSERT_TRUE(outcome->passed) << outcome->detail;
  auto heads = instance.request_heads();
  ASSERT_EQ(heads.size(), 1u);
  EXPECT_EQ(heads[0], "GET /health HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(instance.port()) +
                          "\r\nUser-Agent: dockmaster-health\r\nConnection: close\r\n\r\n");
}

TEST_F(HealthProber, SendsTheTargetsHostHeader) {
  fake_instance instance(http_response(200));
  auto target = loopback(instance.port());
  target.host_header = "api.example.test:8443";
  auto outcome = run(target, http_check());
  ASSERT_TRUE(outcome);
  auto heads = instance.request_heads();
  ASSERT_EQ(heads.size(), 1u);
  EXPECT_NE(heads[0].find("\r\nHost: api.example.test:8443\r\n"), std::string::npos) << heads[0];
}

TEST_F(HealthProber, ConfiguredHostTakesPrecedenceOverTheTargets) {
  fake_instance instance(http_response(200));
  auto target = loopback(instance.port());
  target.host_header = "instance.internal:80";
  auto health = http_check();
  health.http.host = "health.example.test";
  auto outcome = run(target, health);
  ASSERT_TRUE(outcome);
  auto heads = instance.request_heads();
  ASSERT_EQ(heads.size(), 1u);
  EXPECT_NE(heads[0].find("\r\nHost: health.example.test\r\n"), std::string::npos) << heads[0];
}

TEST_F(HealthProber, DefaultHostOfAnIpv6InstanceIsBracketed) {
  std::unique_ptr<fake_instance> instance;
  try {
    instance = std::make_unique<fake_instance>(http_response(200), fake_instance::behavior::answer, "::1");
  } catch (const std::exception& e) {
    GTEST_SKIP() << "no IPv6 loopback here: " << e.what();
  }
  auto outcome = run(loopback(instance->port(), "::1"), http_check());
  ASSERT_TRUE(outcome);
  EXPECT_TRUE(outcome->passed) << outcome->detail;
  auto heads = instance->request_heads();
  ASSERT_EQ(heads.size(), 1u);
  EXPECT_NE(heads[0].find("\r\nHost: [::1]:" + std::to_string(instance->port()) + "\r\n"),
            std::string::npos)
      << heads[0];
}

TEST_F(HealthProber, HeadProbeSendsHeadAndDoesNotWaitForABody) {
  // A HEAD answer announces a length but has no body: the parser must not wait for it.
  fake_instance instance("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n",
                         fake_instance::behavior::answer_and_hold);
  auto health = http_check(5s);
  health.http.method = "HEAD";
  health.http.path = "/ready?full=1";
  auto outcome = run(loopback(instance.port()), health);
  ASSERT_TRUE(outcome);
  EXPECT_TRUE(outcome->passed) << outcome->detail;
  EXPECT_LT(outcome->duration, 2s);
  auto heads = instance.request_heads();
  ASSERT_EQ(heads.size(), 1u);
  EXPECT_EQ(heads[0].rfind("HEAD /ready?full=1 HTTP/1.1\r\n", 0), 0u) << heads[0];
}

TEST_F(HealthProber, HeadProbeWithBodyContainsSeesAnEmptyBody) {
  fake_instance instance("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n",
                         fake_instance::behavior::answer_and_hold);
  auto health = http_check(5s);
  health.http.method = "HEAD";
  health.http.body_contains = "ok";
  auto outcome = run(loopback(instance.port()), health);
  ASSERT_TRUE(outcome);
  EXPECT_FALSE(outcome->passed);
  EXPECT_EQ(outcome->detail, "body does not contain \"ok\"");
  EXPECT_LT(outcome->duration, 2s);
}

TEST_F(HealthProber, MethodOrPathThatWouldSplitTheRequestFailsWithoutConnecting) {
  fake_instance instance(http_response(200));
  auto bad_method = http_check();
  bad_method.http.method = "GET /x HTTP/1.1\r\nX-Evil: 1\r\n\r\nGET";
  auto bad_path = http_check();
  bad_path.http.path = "/health\r\nX-Evil: 1";
  auto bad_host = http_check();
  bad_host.http.host = "a\r\nX-Evil: 1";
  for (const auto& health : {bad_method, bad_path, bad_host}) {
    auto outcome = run(loopback(instance.port()), health);
    ASSERT_TRUE(outcome);
    EXPECT_FALSE(outcome->passed);
    EXPECT_EQ(outcome->detail.rfind("invalid probe ", 0), 0u) << outcome->detail;
  }
  EXPECT_EQ(instance.requests(), 0u);
}

// -- HTTP: failures ----------------------------------------------------------------

TEST_F(HealthProber, ConnectionRefusedFailsFast) {
  refusing_port port;
  auto outcome = run(loopback(port.port()), http_check(5s));
  ASSERT_TRUE(outcome);
  EXPECT_FALSE(outcome->passed);
  EXPECT_EQ(outcome->detail, "connection refused");
  EXPECT_LT(outcome->duration, 1s);
}

TEST_F(HealthProber, ConnectionClosedWithoutAnswerFails) {
  fake_instance instance("", fake_instance::behavior::close_after_request);
  auto outcome = run(loopback(instance.port()), http_check());
  ASSERT_TRUE(outcome);
  EXPECT_FALSE(outcome->passed);
  // A close with the request read is a FIN; should the kernel reset instead, say so too.
  EXPECT_TRUE(outcome->detail == "connection closed before a response" ||
              outcome->detail == "connection reset before a response")
      << outcome->detail;
}

TEST_F(HealthProber, MalformedResponseFails) {
  fake_instance instance("HTTP/9 banana\r\n\r\n");
  auto outcome = run(loopback(instance.port()), http_check());
  ASSERT_TRUE(outcome);
  EXPECT_FALSE(outcome->passed);
  EXPECT_EQ(outcome->detail.rfind("malformed response: ", 0), 0u) << outcome->detail;
}

TEST_F(HealthProber, InvalidAddressFailsAtOnce) {
  auto outcome = run(loopback(80, "not-an-ip"), http_check());
  ASSERT_TRUE(outcome);
  EXPECT_FALSE(outcome->passed);
  EXPECT_EQ(outcome->detail, "invalid address \"not-an-ip\"");
}

TEST_F(HealthProber, InstanceThatNeverAnswersFailsByTimeout) {
  fake_instance instance("", fake_instance::behavior::hang);
  const auto timeout = 300ms;
  auto started = steady::now();
  auto future = start(loopback(instance.port()), http_check(timeout));
  auto outcome = outcome_of(future, timeout + patience);
  auto elapsed = steady::now() - started;
  ASSERT_TRUE(outcome);
  EXPECT_FALSE(outcome->passed);
  EXPECT_EQ(outcome->detail, "timeout after 300 ms");
  EXPECT_GE(outcome->duration, timeout);
  EXPECT_GE(elapsed, timeout);
  EXPECT_LT(outcome->duration, timeout + 2s);
  EXPECT_EQ(instance.requests(), 1u);  // it was the answer that did not come
}

TEST_F(HealthProber, HangingInstancesDoNotDelayAProbeToAHealthyOne) {
  fake_instance hanging("", fake_instance::behavior::hang);
  fake_instance healthy(http_response(200));
  const auto hang_timeout = 3s;
  std::vector<std::future<probe_outcome>> stuck;
  for (int i = 0; i < 20; ++i) stuck.push_back(start(loopback(hanging.port()), http_check(hang_timeout)));
  // All 20 are connected and waiting for an answer that does not come.
  ASSERT_TRUE(wait_until([&] { return hanging.requests() == 20; }));

  auto started = steady::now();
  auto future = start(loopback(healthy.port()), http_check(hang_timeout));
  auto outcome = outcome_of(future, hang_timeout / 2);
  ASSERT_TRUE(outcome) << "the healthy probe waited for the hanging ones";
  EXPECT_TRUE(outcome->passed) << outcome->detail;
  EXPECT_LT(steady::now() - started, hang_timeout / 2);
  EXPECT_LT(outcome->duration, 1s);
  for (auto& f : stuck) EXPECT_EQ(f.wait_for(0s), std::future_status::timeout);
  // TearDown destroys the prober with the 20 still in flight: dropped, not called.
}

TEST_F(HealthProber, DestroyingTheProberDropsProbesInFlight) {
  fake_instance hanging("", fake_instance::behavior::hang);
  auto called = std::make_shared<std::atomic<bool>>(false);
  for (int i = 0; i < 5; ++i)
    prober_->probe(loopback(hanging.port()), http_check(30s),
                   [called](probe_outcome) { called->store(true); });
  ASSERT_TRUE(wait_until([&] { return hanging.requests() == 5; }));
  // And some that have not even started yet.
  for (int i = 0; i < 5; ++i)
    prober_->probe(loopback(hanging.port()), http_check(30s),
                   [called](probe_outcome) { called->store(true); });
  auto started = steady::now();
  prober_.reset();
  EXPECT_LT(steady::now() - started, 5s);
  EXPECT_FALSE(called->load());
}

TEST_F(HealthProber, CallbackThatThrowsDoesNotStopTheProber) {
  fake_instance instance(http_response(200));
  std::promise<void> thrown;
  prober_->probe(loopback(instance.port()), http_check(), [&thrown](probe_outcome) {
    thrown.set_value();
    throw std::runtime_error("callback failure (expected by the test)");
  });
  ASSERT_EQ(thrown.get_future().wait_for(patience), std::future_status::ready);
  auto outcome = run(loopback(instance.port()), http_check());
  ASSERT_TRUE(outcome);
  EXPECT_TRUE(outcome->passed) << outcome->detail;
}

/// Threads of this process with that name (the prober names its thread "dm-prober").
int threads_named(const std::string& name) {
  int count = 0;
  std::error_code ec;
  for (const auto& task : std::filesystem::directory_iterator("/proc/self/task", ec)) {
    std::ifstream comm(task.path() / "comm");
    std::string line;
    if (std::getline(comm, line) && line == name) ++count;
  }
  return count;
}

TEST_F(HealthProber, DestroyedFromItsOwnCallbackDoesNotDeadlockOrCrash) {
  fake_instance instance(http_response(200));
  const int before = threads_named("dm-prober");
  auto prober = std::make_shared<health_prober>();
  EXPECT_EQ(threads_named("dm-prober"), before + 1);
  std::promise<void> done;
  auto* raw = prober.get();
  // The callback holds the last reference: dropping it destroys the prober on its thread.
  auto holder = std::make_shared<std::shared_ptr<health_prober>>(std::move(prober));
  raw->probe(loopback(instance.port()), http_check(), [holder, &done](probe_outcome) {
    holder->reset();
    done.set_value();
  });
  holder.reset();
  EXPECT_EQ(done.get_future().wait_for(patience), std::future_status::ready);
  // Its thread ends by itself, having freed the state (a leak would show under ASan).
  EXPECT_TRUE(wait_until([&] { return threads_named("dm-prober") == before; }));
}

// -- TCP ---------------------------------------------------------------------------

TEST_F(HealthProber, TcpProbePassesWhenConnected) {
  fake_instance instance("", fake_instance::behavior::hang);
  auto outcome = run(loopback(instance.port()), tcp_check());
  ASSERT_TRUE(outcome);
  EXPECT_TRUE(outcome->passed);
  EXPECT_EQ(outcome->detail, "connected");
  EXPECT_EQ(instance.requests(), 0u);  // nothing is sent
}

TEST_F(HealthProber, TcpProbeFailsOnRefusal) {
  refusing_port port;
  auto outcome = run(loopback(port.port()), tcp_check());
  ASSERT_TRUE(outcome);
  EXPECT_FALSE(outcome->passed);
  EXPECT_EQ(outcome->detail, "connection refused");
  EXPECT_LT(outcome->duration, 1s);
}

TEST_F(HealthProber, TcpProbeFailsByTimeoutWhenTheConnectHangs) {
  test::blackhole_port listener;
  if (!listener.hangs())
    GTEST_SKIP() << "this kernel completes loopback connects to a full accept queue";
  const auto timeout = 300ms;
  auto started = steady::now();
  auto future = start(loopback(listener.port()), tcp_check(timeout));
  auto outcome = outcome_of(future, timeout + patience);
  ASSERT_TRUE(outcome);
  EXPECT_FALSE(outcome->passed);
  EXPECT_EQ(outcome->detail, "timeout after 300 ms");
  EXPECT_GE(outcome->duration, timeout);
  EXPECT_GE(steady::now() - started, timeout);
  EXPECT_LT(outcome->duration, timeout + 2s);
}

// -- many at once ------------------------------------------------------------------

TEST_F(HealthProber, TwoHundredProbesInParallelFromSeveralThreadsAllComplete) {
  fake_instance instance(http_response(200));
  constexpr int threads = 4;
  constexpr int per_thread = 50;
  struct tally {
    std::mutex mutex;
    std::condition_variable changed;
    int completed = 0;
    int passed = 0;
    std::vector<std::string> failures;
  };
  auto counts = std::make_shared<tally>();  // outlives this frame should an assertion end it
  {
    std::vector<std::thread> starters;
    for (int t = 0; t < threads; ++t)
      starters.emplace_back([&] {
        for (int i = 0; i < per_thread; ++i)
          prober_->probe(loopback(instance.port()), http_check(), [counts](probe_outcome outcome) {
            std::lock_guard lock(counts->mutex);
            ++counts->completed;
            if (outcome.passed)
              ++counts->passed;
            else
              counts->failures.push_back(outcome.detail);
            counts->changed.notify_all();
          });
      });
    for (auto& starter : starters) starter.join();
  }
  std::unique_lock lock(counts->mutex);
  ASSERT_TRUE(counts->changed.wait_for(lock, patience,
                                       [&] { return counts->completed == threads * per_thread; }))
      << counts->completed << " of " << threads * per_thread << " completed";
  EXPECT_EQ(counts->passed, threads * per_thread)
      << (counts->failures.empty() ? "" : counts->failures.front());
  lock.unlock();
  EXPECT_EQ(instance.requests(), static_cast<std::size_t>(threads * per_thread));
}

TEST_F(HealthProber, NoProbeKindPassesWithoutConnecting) {
  config::health_config health;  // kind none
  auto outcome = run(loopback(1), health);
  ASSERT_TRUE(outcome);
  EXPECT_TRUE(outcome->passed);
}

}  // namespace
}  // namespace dockmaster::net
