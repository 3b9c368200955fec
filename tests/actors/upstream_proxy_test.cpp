// The upstream_proxy actor against a recording stand-in for the acceptor: what it
// publishes from its configured instances and their DNS answers.

#include <gtest/gtest.h>

#include <algorithm>

#include <caf/all.hpp>

#include "actors/upstream_proxy.hpp"
#include "messages/message_types.hpp"

namespace dockmaster::actors {
namespace {

using namespace messages;

/// Forwards every instance set it receives to `observer`.
http_acceptor_actor::behavior_type recording_acceptor(http_acceptor_actor::pointer,
                                                      caf::actor observer) {
  return {
      [observer](instance_set& set) { caf::anon_send(observer, set); },
      [](register_atom, const std::string&, upstream_proxy_actor&) {},
      [](register_atom, event_sink_actor&) {},
      [](status_snapshot&) {},
      [](config_update&) {},
      [](sync_atom) { return true; },
      [](listening_atom) { return std::vector<std::uint16_t>{}; },
      [](drain_atom) { return drain_result{}; },
  };
}

class system_config : public caf::actor_system_config {
 public:
  system_config() {
    messages::add_message_types(*this);
    set("logger.console", caf::atom("none"));
  }
};

bool contains(const instance_set& set, const std::string& address, std::uint16_t port) {
  return std::any_of(set.instances.begin(), set.instances.end(), [&](const auto& i) {
    return i.address == address && i.port == port;
  });
}

class UpstreamProxyActor : public ::testing::Test {
 protected:
  instance_set next_published(caf::scoped_actor& self) {
    instance_set result;
    bool received = false;
    self->receive([&](instance_set& set) { result = set; received = true; },
                  caf::after(std::chrono::seconds(10)) >> [] {});
    EXPECT_TRUE(received) << "no instance set published within 10 s";
    return result;
  }

  system_config config_;
  caf::actor_system system_{config_};
};

TEST_F(UpstreamProxyActor, PublishesEveryAddressOfEveryConfiguredInstance) {
  caf::scoped_actor self{system_};
  auto acceptor = system_.spawn(recording_acceptor, caf::actor{self});
  config::service_config service;
  service.name = "backend";
  service.instances = {{"localhost", 8001}, {"127.0.0.9", 81}};
  auto proxy = system_.spawn(upstream_proxy, service, acceptor, restart_supervisor_actor{},
                             event_sink_actor{}, std::shared_ptr<net::probe_runner>{});
  auto set = next_published(self);
  EXPECT_EQ(set.service, "backend");
  EXPECT_TRUE(contains(set, "127.0.0.1", 8001)) << "localhost stands for its addresses";
  EXPECT_TRUE(contains(set, "127.0.0.9", 81));
  for (const auto& instance : set.instances) EXPECT_TRUE(instance.healthy);
  self->send_exit(proxy, caf::exit_reason::user_shutdown);
  self->send_exit(acceptor, caf::exit_reason::user_shutdown);
}

TEST_F(UpstreamProxyActor, ANameThatDoesNotResolveContributesNoAddress) {
  caf::scoped_actor self{system_};
  auto acceptor = system_.spawn(recording_acceptor, caf::actor{self});
  config::service_config service;
  service.name = "backend";
  service.instances = {{"no-such-host.invalid", 80}, {"127.0.0.5", 80}};
  auto proxy = system_.spawn(upstream_proxy, service, acceptor, restart_supervisor_actor{},
                             event_sink_actor{}, std::shared_ptr<net::probe_runner>{});
  auto set = next_published(self);
  ASSERT_EQ(set.instances.size(), 1u);
  EXPECT_EQ(set.instances[0].address, "127.0.0.5");
  self->send_exit(proxy, caf::exit_reason::user_shutdown);
  self->send_exit(acceptor, caf::exit_reason::user_shutdown);
}

TEST_F(UpstreamProxyActor, AnswersGetWithThePublishedSetAfterTheFirstResolution) {
  caf::scoped_actor self{system_};
  auto acceptor = system_.spawn(recording_acceptor, caf::actor{self});
  config::service_config service;
  service.name = "frontend";
  service.instances = {{"localhost", 3001}};
  auto proxy = system_.spawn(upstream_proxy, service, acceptor, restart_supervisor_actor{},
                             event_sink_actor{}, std::shared_ptr<net::probe_runner>{});
  instance_set answered;
  self->request(proxy, std::chrono::seconds(10), get_atom::value)
      .receive([&](instance_set& set) { answered = set; }, [](caf::error&) { FAIL(); });
  EXPECT_TRUE(contains(answered, "127.0.0.1", 3001));
  self->send_exit(proxy, caf::exit_reason::user_shutdown);
  self->send_exit(acceptor, caf::exit_reason::user_shutdown);
}

TEST_F(UpstreamProxyActor, DoesNotPublishAgainWhileTheSetIsUnchanged) {
  caf::scoped_actor self{system_};
  auto acceptor = system_.spawn(recording_acceptor, caf::actor{self});
  config::service_config service;
  service.name = "backend";
  service.instances = {{"localhost", 8002}};
  service.resolve_interval = std::chrono::milliseconds(20);
  auto proxy = system_.spawn(upstream_proxy, service, acceptor, restart_supervisor_actor{},
                             event_sink_actor{}, std::shared_ptr<net::probe_runner>{});
  next_published(self);
  // Ten resolution rounds later there must still be nothing new.
  bool published_again = false;
  self->receive([&](instance_set&) { published_again = true; },
                caf::after(std::chrono::milliseconds(200)) >> [] {});
  EXPECT_FALSE(published_again);
  self->send_exit(proxy, caf::exit_reason::user_shutdown);
  self->send_exit(acceptor, caf::exit_reason::user_shutdown);
}

TEST_F(UpstreamProxyActor, AnInstanceIsExpectedBackUnlessTheServiceHasNoRestartOrTheSupervisorGaveUp) {
  caf::scoped_actor self{system_};
  auto acceptor = system_.spawn(recording_acceptor, caf::actor{self});
  config::service_config service;
  service.name = "backend";
  service.instances = {{"127.0.0.9", 81}};
  service.health.kind = config::probe_kind::http;  // not probed here: it stays unknown
  service.restart.executor = config::restart_executor::local;
  auto proxy = system_.spawn(upstream_proxy, service, acceptor, restart_supervisor_actor{},
                             event_sink_actor{}, std::shared_ptr<net::probe_runner>{});
  auto set = next_published(self);
  ASSERT_EQ(set.instances.size(), 1u);
  EXPECT_FALSE(set.instances[0].healthy);
  EXPECT_TRUE(set.instances[0].heal_expected) << "requests may wait for it";

  instance_id id{"backend", "127.0.0.9:81", "127.0.0.9", 81};
  self->send(proxy, heal_outlook{id, false});
  set = next_published(self);
  EXPECT_FALSE(set.instances[0].heal_expected) << "given up: nothing to wait for";
  self->send(proxy, heal_outlook{id, true});
  set = next_published(self);
  EXPECT_TRUE(set.instances[0].heal_expected);
  self->send_exit(proxy, caf::exit_reason::user_shutdown);

  service.restart.executor = config::restart_executor::none;
  auto unhealed = system_.spawn(upstream_proxy, service, acceptor, restart_supervisor_actor{},
                                event_sink_actor{}, std::shared_ptr<net::probe_runner>{});
  set = next_published(self);
  EXPECT_FALSE(set.instances[0].heal_expected) << "without a restart nothing comes back";
  self->send_exit(unhealed, caf::exit_reason::user_shutdown);
  self->send_exit(acceptor, caf::exit_reason::user_shutdown);
}

}  // namespace
TEST_F(UpstreamProxyActor, AReloadKeepsTheHealthOfTheAddressesThatStay) {
  caf::scoped_actor self{system_};
  auto acceptor = system_.spawn(recording_acceptor, caf::actor{self});
  config::service_config service;
  service.name = "backend";
  service.instances = {{"127.0.0.9", 81}};
  service.health.kind = config::probe_kind::http;  // no prober: the test reports health
  auto proxy = system_.spawn(upstream_proxy, service, acceptor, restart_supervisor_actor{},
                             event_sink_actor{}, std::shared_ptr<net::probe_runner>{});
  auto set = next_published(self);
  ASSERT_EQ(set.instances.size(), 1u);
  EXPECT_FALSE(set.instances[0].healthy);
  instance_id id{"backend", "127.0.0.9:81", "127.0.0.9", 81};
  self->send(proxy, health_changed{id, health_state::unknown, health_state::healthy, "HTTP 200",
                                   probe_verdict::passed, 1});
  set = next_published(self);
  ASSERT_TRUE(set.instances[0].healthy);

  auto next = std::make_shared<config::config>();
  service.instances.push_back({"127.0.0.10", 82});
  service.health.interval = std::chrono::milliseconds(500);
  next->services["backend"] = service;
  self->send(proxy, config_update{next});
  set = next_published(self);
  ASSERT_EQ(set.instances.size(), 2u);
  EXPECT_TRUE(set.instances[0].healthy) << "the address that stays keeps its health";
  EXPECT_EQ(set.instances[1].address, "127.0.0.10");
  EXPECT_FALSE(set.instances[1].healthy) << "a new address takes no traffic before it passes";

  auto smaller = std::make_shared<config::config>();
  service.instances.erase(service.instances.begin());
  smaller->services["backend"] = service;
  self->send(proxy, config_update{smaller});
  set = next_published(self);
  ASSERT_EQ(set.instances.size(), 1u);
  EXPECT_EQ(set.instances[0].address, "127.0.0.10");
  self->send_exit(proxy, caf::exit_reason::user_shutdown);
  self->send_exit(acceptor, caf::exit_reason::user_shutdown);
}

TEST_F(UpstreamProxyActor, AReloadWithoutItsServiceEmptiesItsSetAndEndsIt) {
  caf::scoped_actor self{system_};
  auto acceptor = system_.spawn(recording_acceptor, caf::actor{self});
  config::service_config service;
  service.name = "backend";
  service.instances = {{"127.0.0.9", 81}};
  auto proxy = system_.spawn(upstream_proxy, service, acceptor, restart_supervisor_actor{},
                             event_sink_actor{}, std::shared_ptr<net::probe_runner>{});
  ASSERT_EQ(next_published(self).instances.size(), 1u);
  self->monitor(proxy);
  auto without = std::make_shared<config::config>();
  without->services["other"].name = "other";
  self->send(proxy, config_update{without});
  auto set = next_published(self);
  EXPECT_EQ(set.service, "backend");
  EXPECT_TRUE(set.instances.empty());
  bool ended = false;
  self->receive([&](caf::down_msg&) { ended = true; }, caf::after(std::chrono::seconds(10)) >> [] {});
  EXPECT_TRUE(ended);
  self->send_exit(acceptor, caf::exit_reason::user_shutdown);
}

}  // namespace dockmaster::actors
