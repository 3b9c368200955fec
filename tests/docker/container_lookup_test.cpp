// Which container serves an instance: never more than one, and never the only
// container of a service when it shows that it serves another instance.

#include <gtest/gtest.h>

#include "docker/container_lookup.hpp"

namespace dockmaster::docker {
namespace {

container_info container(std::string name, std::vector<std::string> addresses = {},
                         std::map<std::string, std::string> labels = {}) {
  container_info c;
  c.id = name + "-id";
  c.name = std::move(name);
  c.state = "running";
  c.addresses = std::move(addresses);
  c.labels = std::move(labels);
  return c;
}

const instance_hint backend{"backend:8000", "192.0.2.5", 8000};

TEST(ContainerLookup, TheReplicaLabelledAsTheInstanceIsChosen) {
  std::vector<container_info> candidates{
      container("a", {}, {{instance_label, "192.0.2.4:8000"}}),
      container("b", {}, {{instance_label, "192.0.2.5:8000"}})};
  EXPECT_EQ(choose_container(candidates, backend).name, "b");
}

TEST(ContainerLookup, TheReplicaWithTheInstancesAddressIsChosen) {
  std::vector<container_info> candidates{container("a", {"192.0.2.4"}), container("b", {"192.0.2.5"})};
  EXPECT_EQ(choose_container(candidates, backend).name, "b");
}

TEST(ContainerLookup, SeveralMatchesOrNoneAreRefused) {
  std::vector<container_info> same{container("a", {"192.0.2.5"}), container("b", {"192.0.2.5"})};
  EXPECT_THROW(choose_container(same, backend), engine_error);
  std::vector<container_info> other{container("a", {"192.0.2.6"}), container("b", {"192.0.2.7"})};
  EXPECT_THROW(choose_container(other, backend), engine_error);
  EXPECT_THROW(choose_container({}, backend), engine_error);
}

TEST(ContainerLookup, TheOnlyContainerWithTheInstancesAddressIsChosen) {
  EXPECT_EQ(choose_container({container("a", {"192.0.2.5"})}, backend).name, "a");
}

TEST(ContainerLookup, TheOnlyContainerWithAnotherAddressIsNotTheInstance) {
  // Compose recreated the service's container: it has a new address, and the failed
  // instance's address belongs to no container any more.
  EXPECT_THROW(choose_container({container("new", {"192.0.2.9"})}, backend), not_the_instance);
}

TEST(ContainerLookup, TheOnlyContainerLabelledAsAnotherInstanceIsNotTheInstance) {
  EXPECT_THROW(choose_container({container("a", {}, {{instance_label, "127.0.0.1:8001"}})},
                                {"127.0.0.1:8000", "127.0.0.1", 8000}),
               not_the_instance);
}

TEST(ContainerLookup, WithHostNetworkingTheOnlyContainerIsTakenAsItIs) {
  // No addresses to compare (every instance is at 127.0.0.1): the supervisor's record of
  // the container that served the instance is what guards against a replacement.
  auto host = container("a");
  host.host_network = true;
  EXPECT_EQ(choose_container({host}, {"127.0.0.1:8000", "127.0.0.1", 8000}).name, "a");
  // A loopback instance reaches a bridged container through a published port.
  EXPECT_EQ(choose_container({container("b", {"198.51.100.2"})}, {"localhost:8000", "127.0.0.1", 8000}).name,
            "b");
}

TEST(EngineTimes, CreatedTimesAreReadToTheMillisecond) {
  EXPECT_EQ(unix_ms_of("1970-01-01T00:00:01Z"), 1000);
  EXPECT_EQ(unix_ms_of("2026-12-01T22:10:33.123456789Z"), 1796163033123);
  EXPECT_EQ(unix_ms_of("2026-12-01T22:10:33.5Z"), 1796163033500);
  EXPECT_EQ(unix_ms_of("0001-01-01T00:00:00Z"), 0) << "Go's zero time: unknown";
  EXPECT_EQ(unix_ms_of(""), 0);
  EXPECT_EQ(unix_ms_of("yesterday"), 0);
}

}  // namespace
}  // namespace dockmaster::docker
