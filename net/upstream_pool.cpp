#include "net/upstream_pool.hpp"

#include <sys/socket.h>

#include <algorithm>

namespace dockmaster::net {
namespace {

/// A peek that does not block: an idle keep-alive connection must have nothing to
/// read; end-of-file or stray bytes mean the upstream closed it or broke protocol.
bool still_open(upstream_connection& connection) {
  auto& socket = connection.socket;
  if (!socket.is_open()) return false;
  char byte;
  auto n = ::recv(socket.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

}  // namespace

std::unique_ptr<upstream_connection> upstream_pool::take(
    const boost::asio::ip::tcp::endpoint& endpoint, bool verify) {
  auto found = idle_.find(endpoint);
  if (found == idle_.end()) return nullptr;
  auto& idle = found->second;
  auto now = std::chrono::steady_clock::now();
  while (!idle.empty()) {
    auto connection = std::move(idle.back());
    idle.pop_back();
    if (now - connection->idle_since < idle_timeout_ && (!verify || still_open(*connection))) {
      connection->reused = true;
      return connection;
    }
  }
  return nullptr;
}

void upstream_pool::give_back(std::unique_ptr<upstream_connection> connection) {
  auto& idle = idle_[connection->endpoint];
  auto now = std::chrono::steady_clock::now();
  // The oldest are at the front: close those past the idle timeout.
  auto expired = std::find_if(idle.begin(), idle.end(), [&](const auto& c) {
    return now - c->idle_since < idle_timeout_;
  });
  idle.erase(idle.begin(), expired);
  if (idle.size() >= max_idle_per_endpoint_) return;  // closed on destruction
  connection->idle_since = now;
  idle.push_back(std::move(connection));
}

void upstream_pool::retain_only(const std::vector<boost::asio::ip::tcp::endpoint>& keep) {
  for (auto it = idle_.begin(); it != idle_.end();) {
    if (std::find(keep.begin(), keep.end(), it->first) == keep.end())
      it = idle_.erase(it);
    else
      ++it;
  }
}

void upstream_pool::close_expired(std::chrono::steady_clock::time_point now) {
  for (auto& [endpoint, idle] : idle_) {
    // The oldest are at the front.
    auto expired = std::find_if(idle.begin(), idle.end(), [&](const auto& c) {
      return now - c->idle_since < idle_timeout_;
    });
    idle.erase(idle.begin(), expired);
  }
}

std::size_t upstream_pool::idle_count() const {
  std::size_t n = 0;
  for (const auto& [endpoint, idle] : idle_) n += idle.size();
  return n;
}

}  // namespace dockmaster::net
