#pragma once

#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <caf/typed_response_promise.hpp>

#include "config/config.hpp"
#include "messages/actor_types.hpp"

namespace dockmaster::net {
class proxy_worker;
struct proxy_settings;
}

namespace dockmaster::actors {

struct http_acceptor_state {
  http_acceptor_state() = default;
  ~http_acceptor_state();  // stops the I/O threads and joins them

  // shared_ptr: destructible where proxy_worker is an incomplete type.
  std::vector<std::shared_ptr<net::proxy_worker>> workers;
  std::vector<std::thread> threads;
  /// The settings in force; a reload builds the next ones from them.
  std::shared_ptr<const net::proxy_settings> settings;
  std::vector<std::uint16_t> ports;
  /// Why a listen address could not be bound (then nothing is served).
  std::string bind_error;
  config::milliseconds drain_timeout{0};
  bool draining = false;
  std::size_t drained_workers = 0;
  std::vector<caf::typed_response_promise<messages::drain_result>> drain_waiters;
  /// Syncs under way: I/O threads still to answer, and the promise to keep then.
  std::uint64_t next_sync = 0;
  std::map<std::uint64_t, std::pair<std::size_t, caf::typed_response_promise<bool>>> syncs;
  /// Each probed service's upstream_proxy, where the I/O threads' reports of failed
  /// requests go (passive health).
  std::map<std::string, messages::upstream_proxy_actor> proxies;
  /// Where the I/O threads' traffic counts go (null until the sink registers).
  messages::event_sink_actor sink;

  static inline const char* name = "http_acceptor";
};

/// Owns the listening sockets and the I/O threads that serve client connections.
/// Each I/O thread listens on every address itself and serves a request start to
/// end, so no actor sits on a request's path; this actor hands each thread the
/// instance sets that the upstream_proxy actors publish, and coordinates the drain.
messages::http_acceptor_impl::behavior_type http_acceptor(
    messages::http_acceptor_impl::stateful_pointer<http_acceptor_state> self,
    config::config cfg);

}  // namespace dockmaster::actors
