#include "actors/upstream_proxy.hpp"

#include <algorithm>
#include <unordered_set>

#include <boost/asio/ip/address.hpp>
#include <caf/actor_system.hpp>
#include <caf/exit_reason.hpp>

#include "actors/dns_lookup.hpp"
#include "actors/health_watcher.hpp"
#include "net/logging.hpp"

namespace dockmaster::actors {

using namespace messages;

namespace {

std::string label(const config::host_port& hp) { return hp.host + ":" + std::to_string(hp.port); }

bool is_address(const std::string& host) {
  boost::system::error_code ec;
  boost::asio::ip::make_address(host, ec);
  return !ec;
}

/// The instance set from the latest addresses and health bits, in a stable order so
/// that an unchanged set compares equal.
instance_set current_set(const upstream_proxy_state& state) {
  bool checked = state.service.health.kind != config::probe_kind::none;
  bool healed = checked && state.service.restart.executor != config::restart_executor::none;
  instance_set set;
  set.service = state.service.name;
  // A set rather than a scan of what is listed so far: with a thousand instances the
  // scan made each health change cost a million comparisons.
  std::unordered_set<std::string> listed;
  for (const auto& hp : state.service.instances) {
    auto found = state.addresses.find(label(hp));
    if (found == state.addresses.end()) continue;
    for (const auto& address : found->second) {
      auto endpoint = address + ":" + std::to_string(hp.port);
      if (!listed.insert(endpoint).second) continue;
      auto health = state.healthy.find(endpoint);
      bool healthy = !checked || (health != state.healthy.end() && health->second);
      set.instances.push_back(
          {label(hp), address, hp.port, healthy, healed && !state.given_up.count(endpoint)});
    }
  }
  return set;
}

bool contains(const instance_set& set, const upstream_instance& wanted) {
  return std::any_of(set.instances.begin(), set.instances.end(), [&](const auto& i) {
    return i.address == wanted.address && i.port == wanted.port;
  });
}

bool same_set(const instance_set& a, const instance_set& b) {
  if (a.instances.size() != b.instances.size()) return false;
  for (std::size_t i = 0; i < a.instances.size(); ++i) {
    const auto& x = a.instances[i];
    const auto& y = b.instances[i];
    if (x.address != y.address || x.port != y.port || x.healthy != y.healthy ||
        x.heal_expected != y.heal_expected)
      return false;
  }
  return true;
}

std::string describe(const instance_set& set) {
  std::string text;
  for (const auto& i : set.instances) {
    if (!text.empty()) text += ", ";
    text += i.address + ":" + std::to_string(i.port) + (i.healthy ? "" : " (out of rotation)");
  }
  return text.empty() ? "none" : text;
}

}  // namespace

upstream_proxy_impl::behavior_type upstream_proxy(
    upstream_proxy_impl::stateful_pointer<upstream_proxy_state> self,
    config::service_config service, http_acceptor_actor acceptor,
    restart_supervisor_actor supervisor, event_sink_actor sink,
    std::shared_ptr<net::probe_runner> prober) {
  self->state.service = std::move(service);
  self->state.acceptor = std::move(acceptor);
  self->state.supervisor = supervisor;
  self->state.sink = sink;
  self->state.prober = std::move(prober);

  // Starts the watcher (with health checks) and introduces the proxy to those who
  // report to it about its instances.
  auto start_watcher = [self] {
    auto& state = self->state;
    if (state.service.health.kind == config::probe_kind::none || !state.prober) return;
    // Linked: the watcher ends with its proxy.
    state.watcher = self->spawn<caf::linked>(health_watcher, state.service, state.prober,
                                             upstream_proxy_actor{self}, state.supervisor, state.sink);
    // So that the I/O threads' reports of failed requests reach the watcher.
    if (state.acceptor)
      self->send(state.acceptor, register_atom::value, state.service.name, upstream_proxy_actor{self});
    // So that the supervisor can say when it gives up on an instance.
    if (state.supervisor)
      self->send(state.supervisor, register_atom::value, state.service.name, upstream_proxy_actor{self});
  };
  start_watcher();

  // The addresses that left the set and those that joined it, to everyone who tracks
  // instances. An instance is its address and port: one that moved from one
  // configured name to another is still the same instance.
  auto announce_changes = [self](const instance_set& before, const instance_set& after) {
    auto& state = self->state;
    auto id_of = [&](const upstream_instance& i) {
      return instance_id{state.service.name, i.configured, i.address, i.port};
    };
    for (const auto& i : before.instances) {
      if (contains(after, i)) continue;
      instance_removed removed{id_of(i)};
      if (state.watcher) self->send(state.watcher, removed);
      if (state.supervisor) self->send(state.supervisor, removed);
      if (state.sink) self->send(state.sink, removed);
    }
    for (const auto& i : after.instances) {
      if (contains(before, i)) continue;
      instance_added added{id_of(i)};
      if (state.supervisor) self->send(state.supervisor, added);
      if (state.sink) self->send(state.sink, added);
      if (state.watcher) self->send(state.watcher, added);
    }
  };

  auto publish_if_changed = [self, announce_changes] {
    auto& state = self->state;
    if (state.lookup_pending.empty()) state.first_round_done = true;
    if (!state.first_round_done) return;
    auto set = current_set(state);
    // A vanished address forgets its health: if it comes back, it is probed anew.
    auto present = [&](const std::string& endpoint) {
      return std::any_of(set.instances.begin(), set.instances.end(), [&](const auto& i) {
        return i.address + ":" + std::to_string(i.port) == endpoint;
      });
    };
    for (auto it = state.healthy.begin(); it != state.healthy.end();)
      it = present(it->first) ? std::next(it) : state.healthy.erase(it);
    for (auto it = state.given_up.begin(); it != state.given_up.end();)
      it = present(*it) ? std::next(it) : state.given_up.erase(it);
    if (!state.ever_published || !same_set(set, state.published)) {
      net::event_log().info("service {}: instances {}", state.service.name, describe(set));
      announce_changes(state.ever_published ? state.published : instance_set{}, set);
      state.published = set;
      state.ever_published = true;
      self->send(state.acceptor, set);
    }
    for (auto& promise : state.waiting_for_first_round) promise.deliver(state.published);
    state.waiting_for_first_round.clear();
  };

  auto resolve_all = [self, publish_if_changed] {
    auto& state = self->state;
    for (const auto& hp : state.service.instances) {
      auto name = label(hp);
      if (is_address(hp.host)) {
        state.addresses[name] = {boost::asio::ip::make_address(hp.host).to_string()};
        continue;
      }
      if (state.lookup_pending.count(name)) continue;
      state.lookup_pending[name] = true;
      self->system().spawn(dns_lookup, upstream_proxy_impl{self}, name, hp.host, hp.port);
    }
    publish_if_changed();
  };

  self->send(self, resolve_atom::value);

  // Removed from the config by a reload: every instance leaves, everywhere, then the
  // proxy (and with it its watcher) ends.
  auto retire = [self, announce_changes] {
    auto& state = self->state;
    net::event_log().info("service {}: removed from the config, its instances leave", state.service.name);
    instance_set empty;
    empty.service = state.service.name;
    announce_changes(state.ever_published ? state.published : instance_set{}, empty);
    self->send(state.acceptor, empty);
    for (auto& promise : state.waiting_for_first_round) promise.deliver(empty);
    state.waiting_for_first_round.clear();
    self->quit(caf::exit_reason::user_shutdown);
  };

  auto reconfigure = [self, start_watcher, resolve_all](const config::service_config& service) {
    auto& state = self->state;
    const bool was_checked = state.service.health.kind != config::probe_kind::none;
    const bool checked = service.health.kind != config::probe_kind::none;
    state.service = service;
    if (was_checked && !checked && state.watcher) {
      // Without health checks every instance is in rotation.
      self->unlink_from(state.watcher);
      self->send_exit(state.watcher, caf::exit_reason::user_shutdown);
      state.watcher = nullptr;
      state.healthy.clear();
    } else if (!was_checked && checked) {
      // The instances that served until now stay in rotation until their probes judge
      // them; one added later takes no traffic before it has passed.
      start_watcher();
      for (const auto& i : state.published.instances) {
        state.healthy[i.address + ":" + std::to_string(i.port)] = true;
        if (state.watcher)
          self->send(state.watcher, instance_added{{state.service.name, i.configured, i.address, i.port}});
      }
    }
    // Names no longer configured drop their addresses (the set is built from the
    // configured names anyway).
    for (auto it = state.addresses.begin(); it != state.addresses.end();) {
      bool configured = std::any_of(state.service.instances.begin(), state.service.instances.end(),
                                    [&](const auto& hp) { return label(hp) == it->first; });
      it = configured ? std::next(it) : state.addresses.erase(it);
    }
    resolve_all();  // publishes the new set; what joined or left is announced
  };

  return {
      [self, retire, reconfigure](config_update& update) {
        auto found = update.config->services.find(self->state.service.name);
        if (found == update.config->services.end()) return retire();
        if (self->state.watcher && found->second.health.kind != config::probe_kind::none &&
            self->state.service.health.kind != config::probe_kind::none)
          self->send(self->state.watcher, update);  // new probe settings, same trackers
        reconfigure(found->second);
      },
      [self, resolve_all](resolve_atom) {
        resolve_all();
        self->delayed_send(self, self->state.service.resolve_interval, resolve_atom::value);
      },
      [self, publish_if_changed](resolution_result& result) {
        auto& state = self->state;
        state.lookup_pending.erase(result.configured);
        if (result.error.empty()) {
          state.addresses[result.configured] = std::move(result.addresses);
        } else if (result.not_found) {
          if (state.addresses.count(result.configured) && !state.addresses[result.configured].empty())
            net::event_log().warn("service {}: {} no longer resolves ({}), dropping its addresses",
                                  state.service.name, result.configured, result.error);
          state.addresses[result.configured].clear();
        } else {
          net::event_log().warn("service {}: lookup of {} failed ({}), keeping its addresses",
                                state.service.name, result.configured, result.error);
        }
        publish_if_changed();
      },
      [self, publish_if_changed](health_changed& change) {
        // A report about an address that has left the set (from a watcher that had not
        // heard yet) must not bring back a health bit for it.
        if (!contains(self->state.published, {"", change.instance.address, change.instance.port, false}))
          return;
        self->state.healthy[change.instance.endpoint()] = change.to == health_state::healthy;
        publish_if_changed();
      },
      [self](upstream_failure& failure) {
        if (self->state.watcher) self->send(self->state.watcher, failure);
      },
      [self, publish_if_changed](heal_outlook& outlook) {
        if (!contains(self->state.published, {"", outlook.instance.address, outlook.instance.port, false}))
          return;
        if (outlook.expected)
          self->state.given_up.erase(outlook.instance.endpoint());
        else
          self->state.given_up.insert(outlook.instance.endpoint());
        publish_if_changed();
      },
      [self](get_atom) -> caf::result<instance_set> {
        if (self->state.first_round_done) return self->state.published;
        auto promise = self->make_response_promise<instance_set>();
        self->state.waiting_for_first_round.push_back(promise);
        return promise;
      },
  };
}

}  // namespace dockmaster::actors
