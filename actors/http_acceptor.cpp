#include "actors/http_acceptor.hpp"

#include <limits>

#include <boost/asio/ip/address.hpp>
#include <caf/send.hpp>

#include "net/logging.hpp"
#include "net/proxy_worker.hpp"

namespace dockmaster::actors {

using namespace messages;
using tcp = boost::asio::ip::tcp;

http_acceptor_state::~http_acceptor_state() {
  for (auto& worker : workers) worker->stop();
  for (auto& thread : threads)
    if (thread.joinable()) thread.join();
  workers.clear();
}

namespace {

/// Opens every listen address on every worker. The address is claimed first (no other
/// process may hold it, see proxy_worker::claim_port), which also picks the port for
/// port 0: one ephemeral port shared by all threads.
void bind_listeners(http_acceptor_state& state, const config::config& cfg) {
  for (const auto& address : cfg.listen) {
    boost::system::error_code ec;
    auto ip = boost::asio::ip::make_address(address.host == "*" ? "0.0.0.0" : address.host, ec);
    if (ec) throw std::runtime_error("cannot listen on " + address.host + ": not an IP address");
    std::uint16_t port = address.port;
    auto shown = [&] {
      return ip.is_v6() ? "[" + address.host + "]:" + std::to_string(port)
                        : address.host + ":" + std::to_string(port);
    };
    try {
      port = net::proxy_worker::claim_port(tcp::endpoint(ip, port));
      for (auto& worker : state.workers) port = worker->listen(tcp::endpoint(ip, port));
    } catch (const boost::system::system_error& e) {
      std::string why = e.code().message();
      if (e.code() == boost::asio::error::address_in_use)
        why += " (another process listens there, perhaps another dockmaster; only one can serve an address)";
      throw std::runtime_error("cannot listen on " + shown() + ": " + why);
    }
    state.ports.push_back(port);
  }
}

/// Says at start what the client connection limit is, and when the configured one is
/// more than the descriptor limit lets the process hold.
void report_connection_limit(const config::config& cfg, const net::proxy_settings& settings) {
  const auto max = settings.accepting->clients.max();
  const auto files = net::open_files_limit();
  if (cfg.limits.max_client_connections == 0) {
    net::event_log().info("client connection limit: {} (from the descriptor limit {}; "
                          "limits.max_client_connections sets it)",
                          max, files == std::numeric_limits<std::uint64_t>::max() ? std::string("unlimited")
                                                                                   : std::to_string(files));
    return;
  }
  // Each client connection takes a descriptor, and usually one to its upstream.
  const std::uint64_t fit = files > 64 ? (files - 64) / 2 : 0;
  if (max > fit)
    net::event_log().warn("limits.max_client_connections = {} is more than the descriptor limit {} "
                          "(RLIMIT_NOFILE) leaves room for (about {}): accepts will fail for lack of "
                          "descriptors first, and each failure pauses accepting for a moment",
                          max, files, fit);
}

void finish_drain(http_acceptor_state& state, std::uint64_t busy_threads) {
  for (auto& promise : state.drain_waiters) promise.deliver(drain_result{busy_threads});
  state.drain_waiters.clear();
}

}  // namespace

http_acceptor_impl::behavior_type http_acceptor(
    http_acceptor_impl::stateful_pointer<http_acceptor_state> self, config::config cfg) {
  auto& state = self->state;
  state.drain_timeout = cfg.timeouts.drain;
  auto settings = std::make_shared<net::proxy_settings>(cfg);
  // Called on the I/O threads. A weak reference: the settings live as long as the
  // workers, which this actor's state owns.
  caf::weak_actor_ptr me = caf::actor_cast<caf::weak_actor_ptr>(self->ctrl());
  settings->on_upstream_failure = [me](const std::string& service, const tcp::endpoint& endpoint,
                                       const char* reason) {
    if (auto strong = me.lock())
      caf::anon_send(caf::actor_cast<http_acceptor_impl>(strong),
                     upstream_failure{service, endpoint.address().to_string(), endpoint.port(), reason});
  };
  settings->on_traffic = [me](traffic_report report) {
    if (auto strong = me.lock())
      caf::anon_send(caf::actor_cast<http_acceptor_impl>(strong), std::move(report));
  };
  state.settings = settings;
  for (std::size_t i = 0; i < cfg.actor_system.io_threads; ++i)
    state.workers.push_back(std::make_shared<net::proxy_worker>(settings));
  report_connection_limit(cfg, *settings);
  try {
    bind_listeners(state, cfg);
    for (auto& worker : state.workers)
      state.threads.emplace_back([w = worker.get()] { w->run(); });
  } catch (const std::exception& e) {
    state.bind_error = e.what();
    state.workers.clear();
  }

  return {
      [self](instance_set& set) {
        for (auto& worker : self->state.workers) {
          net::service_update update;
          update.service = set.service;
          for (const auto& instance : set.instances) {
            boost::system::error_code ec;
            auto ip = boost::asio::ip::make_address(instance.address, ec);
            if (ec) continue;  // the proxy only sends numeric addresses
            net::upstream_target target;
            target.configured = instance.configured;
            target.endpoint = tcp::endpoint(ip, instance.port);
            target.healthy = instance.healthy;
            target.heal_expected = instance.heal_expected;
            update.targets.push_back(std::move(target));
          }
          worker->update_service(std::move(update));
        }
      },
      [self](register_atom, const std::string& service, upstream_proxy_actor& proxy) {
        self->state.proxies[service] = std::move(proxy);
      },
      [self](register_atom, event_sink_actor& sink) { self->state.sink = std::move(sink); },
      [self](traffic_report& report) {
        if (self->state.sink) self->send(self->state.sink, std::move(report));
      },
      [self](upstream_failure& failure) {
        auto found = self->state.proxies.find(failure.service);
        if (found != self->state.proxies.end()) self->send(found->second, std::move(failure));
      },
      [self](config_update& update) {
        // Listen addresses and thread counts stay (only a restart changes them); every
        // thread takes the rest between requests.
        auto& state = self->state;
        const auto& cfg = *update.config;
        auto settings = std::make_shared<const net::proxy_settings>(cfg, *state.settings);
        state.settings = settings;
        state.drain_timeout = cfg.timeouts.drain;
        for (auto it = state.proxies.begin(); it != state.proxies.end();)
          it = cfg.services.count(it->first) ? std::next(it) : state.proxies.erase(it);
        for (auto& worker : state.workers) worker->update_settings(settings);
      },
      [self](status_snapshot& snapshot) {
        auto shared = std::make_shared<const std::string>(std::move(snapshot.json));
        for (auto& worker : self->state.workers) worker->update_status(shared);
      },
      [self](listening_atom) -> caf::result<std::vector<std::uint16_t>> {
        if (!self->state.bind_error.empty())
          return caf::make_error(caf::sec::runtime_error, self->state.bind_error);
        return self->state.ports;
      },
      [self](drain_atom) -> caf::result<drain_result> {
        auto& state = self->state;
        auto promise = self->make_response_promise<drain_result>();
        state.drain_waiters.push_back(promise);
        if (state.workers.empty() || state.drained_workers == state.workers.size()) {
          finish_drain(state, 0);
          return promise;
        }
        if (!state.draining) {
          state.draining = true;
          net::event_log().info("draining: no new connections, waiting up to {} ms for requests in flight",
                                state.drain_timeout.count());
          http_acceptor_impl me{self};
          for (std::size_t i = 0; i < state.workers.size(); ++i)
            state.workers[i]->drain([me, i] { caf::anon_send(me, drained_atom::value, std::uint64_t{i}); });
          self->delayed_send(self, state.drain_timeout, timeout_atom::value);
        }
        return promise;
      },
      [self](sync_atom) -> caf::result<bool> {
        auto& state = self->state;
        auto promise = self->make_response_promise<bool>();
        if (state.workers.empty()) {
          promise.deliver(true);
          return promise;
        }
        auto id = state.next_sync++;
        state.syncs.emplace(id, std::make_pair(state.workers.size(), promise));
        http_acceptor_impl me{self};
        // Each thread runs its posts in order: this one runs after every update so far.
        for (auto& worker : state.workers)
          worker->post([me, id] { caf::anon_send(me, synced_atom::value, id); });
        return promise;
      },
      [self](synced_atom, std::uint64_t id) {
        auto found = self->state.syncs.find(id);
        if (found == self->state.syncs.end()) return;
        if (--found->second.first == 0) {
          found->second.second.deliver(true);
          self->state.syncs.erase(found);
        }
      },
      [self](drained_atom, std::uint64_t) {
        auto& state = self->state;
        if (++state.drained_workers == state.workers.size()) finish_drain(state, 0);
      },
      [self](timeout_atom) {
        auto& state = self->state;
        if (state.drain_waiters.empty()) return;
        auto busy = state.workers.size() - state.drained_workers;
        net::event_log().warn("drain timeout: requests or tunnels still open on {} I/O thread(s); closing them", busy);
        finish_drain(state, busy);
      },
  };
}

}  // namespace dockmaster::actors
