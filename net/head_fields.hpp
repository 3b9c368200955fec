#pragma once

#include <cstddef>

#include <boost/beast/http/fields.hpp>
#include <boost/beast/http/message.hpp>

namespace dockmaster::net {

namespace detail {
/// A node of up to 256 bytes from this thread's free list of its size class, else from
/// operator new. Each header field of a request or response is one such node, made and
/// freed once per request: the free list serves it in a few instructions, where malloc
/// and free took a few hundred (callgrind, benchmarks/request_instructions.sh).
void* allocate_head_node(std::size_t bytes);
void free_head_node(void* node, std::size_t bytes) noexcept;
/// At most this many free nodes of a size class stay in a thread's list; a burst's
/// excess goes back to the heap at once.
constexpr std::size_t kept_head_nodes_per_class = 512;
/// The free nodes in this thread's lists (for the tests).
std::size_t pooled_head_nodes();
}  // namespace detail

/// The allocator of head_fields. Stateless: a node freed on another thread than the
/// one that made it goes to that thread's list.
template <class T>
struct head_allocator {
  using value_type = T;

  head_allocator() = default;
  template <class U>
  head_allocator(const head_allocator<U>&) noexcept {}

  T* allocate(std::size_t n) { return static_cast<T*>(detail::allocate_head_node(n * sizeof(T))); }
  void deallocate(T* p, std::size_t n) noexcept { detail::free_head_node(p, n * sizeof(T)); }

  template <class U>
  bool operator==(const head_allocator<U>&) const noexcept {
    return true;
  }
  template <class U>
  bool operator!=(const head_allocator<U>&) const noexcept {
    return false;
  }
};

/// The header fields of what the proxy reads and forwards.
using head_fields = boost::beast::http::basic_fields<head_allocator<char>>;
using request_head = boost::beast::http::request_header<head_fields>;
using response_head = boost::beast::http::response_header<head_fields>;

}  // namespace dockmaster::net
