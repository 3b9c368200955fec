#include "net/head_fields.hpp"

#include <array>
#include <new>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#endif

namespace dockmaster::net::detail {
namespace {

// A node in a free list is poisoned for AddressSanitizer: a use after free of a pooled
// node is reported as it would be for a node given back to the heap.
#if defined(__SANITIZE_ADDRESS__)
void poison(void* node, std::size_t bytes) { ASAN_POISON_MEMORY_REGION(node, bytes); }
void unpoison(void* node, std::size_t bytes) { ASAN_UNPOISON_MEMORY_REGION(node, bytes); }
#else
void poison(void*, std::size_t) {}
void unpoison(void*, std::size_t) {}
#endif

constexpr std::size_t class_size = 32;
constexpr std::size_t classes = 8;  // nodes of 32, 64, ... 256 bytes

struct free_node {
  free_node* next;
};

/// One thread's free lists.
struct node_pool {
  std::array<free_node*, classes> heads{};
  std::array<std::size_t, classes> counts{};

  ~node_pool();
};

// Trivially destructible, so that it can still be read after the thread's pool is gone
// (a node freed by a thread_local destructor that runs later).
thread_local bool pool_gone = false;
thread_local node_pool pool;

std::size_t class_of(std::size_t bytes) { return (bytes + class_size - 1) / class_size - 1; }
std::size_t size_of_class(std::size_t index) { return (index + 1) * class_size; }
bool in_classes(std::size_t bytes) { return bytes > 0 && bytes <= class_size * classes; }

node_pool::~node_pool() {
  pool_gone = true;
  for (std::size_t index = 0; index < classes; ++index) {
    for (auto* node = heads[index]; node;) {
      unpoison(node, size_of_class(index));
      auto* next = node->next;
      ::operator delete(node);
      node = next;
    }
  }
}

}  // namespace

// A node of a class is always allocated at its class's full size, whichever thread's
// list it ends up in.
void* allocate_head_node(std::size_t bytes) {
  if (!in_classes(bytes)) return ::operator new(bytes);
  const auto index = class_of(bytes);
  if (!pool_gone) {
    if (auto* node = pool.heads[index]) {
      unpoison(node, size_of_class(index));
      pool.heads[index] = node->next;
      --pool.counts[index];
      return node;
    }
  }
  return ::operator new(size_of_class(index));
}

void free_head_node(void* node, std::size_t bytes) noexcept {
  if (!node) return;
  if (pool_gone || !in_classes(bytes) || pool.counts[class_of(bytes)] >= kept_head_nodes_per_class) {
    ::operator delete(node);
    return;
  }
  const auto index = class_of(bytes);
  pool.heads[index] = new (node) free_node{pool.heads[index]};
  poison(node, size_of_class(index));
  ++pool.counts[index];
}

std::size_t pooled_head_nodes() {
  if (pool_gone) return 0;
  std::size_t total = 0;
  for (auto count : pool.counts) total += count;
  return total;
}

}  // namespace dockmaster::net::detail
