#include "net/head_fields.hpp"

#include <algorithm>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace dockmaster::net {
namespace {

namespace http = boost::beast::http;

TEST(HeadFields, AFreedNodeServesTheNextOfItsSizeClass) {
  void* first = detail::allocate_head_node(40);
  detail::free_head_node(first, 40);
  // 33..64 bytes are one class: the node just freed comes back.
  void* second = detail::allocate_head_node(60);
  EXPECT_EQ(second, first);
  // Another class does not take it.
  detail::free_head_node(second, 60);
  void* other = detail::allocate_head_node(100);
  EXPECT_NE(other, first);
  detail::free_head_node(other, 100);
}

TEST(HeadFields, ANodeLargerThanTheClassesIsNotKept) {
  const auto before = detail::pooled_head_nodes();
  void* large = detail::allocate_head_node(4096);
  detail::free_head_node(large, 4096);
  EXPECT_EQ(detail::pooled_head_nodes(), before);
}

TEST(HeadFields, AThreadKeepsABoundedNumberOfFreeNodes) {
  std::thread([] {
    std::vector<void*> nodes;
    for (std::size_t i = 0; i < 3 * detail::kept_head_nodes_per_class; ++i)
      nodes.push_back(detail::allocate_head_node(48));
    for (auto* node : nodes) detail::free_head_node(node, 48);
    EXPECT_EQ(detail::pooled_head_nodes(), detail::kept_head_nodes_per_class);
  }).join();
}

TEST(HeadFields, NodesFreedOnAnotherThreadServeThatThread) {
  std::vector<void*> nodes;
  for (int i = 0; i < 8; ++i) nodes.push_back(detail::allocate_head_node(64));
  std::thread([&nodes] {
    EXPECT_EQ(detail::pooled_head_nodes(), 0u);
    for (auto* node : nodes) detail::free_head_node(node, 64);
    EXPECT_EQ(detail::pooled_head_nodes(), nodes.size());
    // Each comes back whole: writing all of it is safe.
    for (std::size_t i = 0; i < nodes.size(); ++i) {
      auto* node = static_cast<char*>(detail::allocate_head_node(64));
      std::fill(node, node + 64, 'x');
      nodes[i] = node;
    }
    EXPECT_EQ(detail::pooled_head_nodes(), 0u);
  }).join();
  for (auto* node : nodes) detail::free_head_node(node, 64);
}

TEST(HeadFields, FieldsKeepTheirNamesAndValuesThroughInsertsAndErases) {
  head_fields fields;
  for (int round = 0; round < 100; ++round) {
    fields.insert(http::field::host, "example.com");
    fields.insert("X-Round", std::to_string(round));
    fields.insert(http::field::cookie, std::string(500, 'c'));  // larger than a class
    ASSERT_EQ(fields[http::field::host], "example.com");
    ASSERT_EQ(fields["x-round"], std::to_string(round));
    ASSERT_EQ(fields[http::field::cookie].size(), 500u);
    fields.erase(http::field::host);
    fields.erase("X-Round");
    fields.erase(http::field::cookie);
    ASSERT_EQ(fields.begin(), fields.end());
  }
}

#if defined(__SANITIZE_ADDRESS__)
TEST(HeadFieldsDeathTest, ReadingAPooledNodeIsReportedAsAUseAfterFree) {
  auto* node = static_cast<volatile char*>(detail::allocate_head_node(64));
  detail::free_head_node(const_cast<char*>(node), 64);
  EXPECT_DEATH((void)node[8], "use-after-poison");
}
#endif

}  // namespace
}  // namespace dockmaster::net
