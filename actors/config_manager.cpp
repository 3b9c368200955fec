#include "actors/config_manager.hpp"

#include <chrono>
#include <cstdio>
#include <deque>
#include <functional>

#include <caf/actor_system.hpp>
#include <caf/exit_reason.hpp>
#include <nlohmann/json.hpp>

#include "actors/upstream_proxy.hpp"
#include "config/diff.hpp"
#include "config/parse.hpp"
#include "net/logging.hpp"

namespace dockmaster::actors {

using namespace messages;
using json = nlohmann::json;

namespace {

/// Long enough for a first DNS round of a new service; a service whose lookup hangs
/// does not hold the reload (or start) for ever.
constexpr std::chrono::seconds first_round_wait{30};

const char* embedded_default = "embedded default";

}  // namespace

std::string fnv1a64_hex(const std::string& bytes) {
  std::uint64_t hash = 14695981039346656037ull;
  for (unsigned char c : bytes) {
    hash ^= c;
    hash *= 1099511628211ull;
  }
  char text[17];
  std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(hash));
  return text;
}

config_manager_actor::behavior_type config_manager(
    config_manager_actor::stateful_pointer<config_manager_state> self, config::config cfg,
    std::string file, config::config_overrides overrides,
    http_acceptor_actor acceptor, restart_supervisor_actor supervisor, event_sink_actor sink,
    std::shared_ptr<net::probe_runner> prober) {
  auto& state = self->state;
  state.current = std::make_shared<const config::config>(std::move(cfg));
  state.file = std::move(file);
  state.overrides = std::move(overrides);
  state.acceptor = std::move(acceptor);
  state.supervisor = std::move(supervisor);
  state.sink = std::move(sink);
  state.prober = std::move(prober);
  state.loaded_at = net::utc_timestamp();
  if (!state.file.empty()) {
    // The bytes main() parsed a moment ago; a read that fails now leaves no digest.
    try {
      state.digest = fnv1a64_hex(config::read_config_file(state.file));
    } catch (const std::exception&) {
    }
  }

  auto spawn_proxy = [self](const config::service_config& service) {
    auto& state = self->state;
    state.proxies[service.name] = self->system().spawn(upstream_proxy, service, state.acceptor,
                                                       state.supervisor, state.sink, state.prober);
  };
  for (const auto& [name, service] : state.current->services) spawn_proxy(service);

  // The proxies are not linked (a retired one ends on its own); they end with this actor.
  self->set_exit_handler([self](caf::exit_msg& msg) {
    for (auto& [name, proxy] : self->state.proxies) self->send_exit(proxy, msg.reason);
    self->state.proxies.clear();
    self->quit(msg.reason);
  });

  auto source = [self] { return self->state.file.empty() ? std::string(embedded_default) : self->state.file; };

  auto report = [self, source](bool ok, bool dry_run, bool at_start, const std::string& error,
                               const json& changes, const json& needs_restart) {
    auto& state = self->state;
    if (!at_start) {
      auto level = ok ? spdlog::level::info : spdlog::level::err;
      net::log_event(level, "config_reload",
                     {net::field("outcome", ok ? (dry_run ? "dry_run" : "applied") : "rejected"),
                      net::field("source", source()),
                      net::number_field("generation", static_cast<long long>(state.generation)),
                      net::field("digest", state.digest), net::field("changes", changes.dump()),
                      net::field("needs_restart", needs_restart.dump()), net::field("error", error)});
    }
    if (!state.sink) return;
    config_reloaded event;
    event.ok = ok;
    event.dry_run = dry_run;
    event.at_start = at_start;
    event.source = source();
    event.generation = state.generation;
    event.digest = state.digest;
    event.loaded_at = state.loaded_at;
    event.error = error;
    event.changes_json = changes.dump();
    event.needs_restart_json = needs_restart.dump();
    self->send(state.sink, std::move(event));
  };
  report(true, false, true, "", json::object(), json::array());

  // Calls `then` once each of `proxies` has published its first instance set.
  auto after_first_rounds = [self](const std::vector<upstream_proxy_actor>& proxies,
                                   std::function<void()> then) {
    if (proxies.empty()) return then();
    auto left = std::make_shared<std::size_t>(proxies.size());
    auto one_done = [left, then] {
      if (--*left == 0) then();
    };
    for (const auto& proxy : proxies)
      self->request(proxy, first_round_wait, get_atom::value)
          .then([one_done](instance_set&) { one_done(); }, [one_done](caf::error&) { one_done(); });
  };

  // Answers {"ok","dry_run","changes","needs_restart","error"}. Runs the reload: parse,
  // diff and (unless a dry run) apply; `done` gets the answer once it has taken effect.
  auto run_reload = [self, report, spawn_proxy, after_first_rounds](
                        bool dry_run, std::function<void(std::string)> done) {
    auto& state = self->state;
    auto answer = [dry_run](bool ok, const json& changes, const json& needs_restart,
                            const std::string& error) {
      return json{{"ok", ok},
                  {"dry_run", dry_run},
                  {"changes", changes},
                  {"needs_restart", needs_restart},
                  {"error", error}}
          .dump();
    };
    auto reject = [&](const std::string& error) {
      report(false, dry_run, false, error, json::object(), json::array());
      done(answer(false, json::object(), json::array(), error));
    };
    if (state.file.empty())
      return reject("dockmaster runs the embedded default (no --config): there is no file to read again");
    std::string bytes;
    config::config loaded;
    try {
      bytes = config::read_config_file(state.file);
      loaded = config::parse_config_text(bytes, state.file);
    } catch (const std::exception& e) {
      return reject(e.what());
    }
    // As at start: the command line's addresses win over the file's.
    state.overrides.apply(loaded);
    const auto& running = *state.current;
    auto diff = config::diff_configs(running, loaded);
    auto changes = diff.to_json();
    auto needs_restart = diff.needs_restart_json();
    if (dry_run) {
      report(true, true, false, "", changes, needs_restart);
      return done(answer(true, changes, needs_restart, ""));
    }

    // What only a restart applies keeps its running value.
    auto next = std::make_shared<config::config>(std::move(loaded));
    next->listen = running.listen;
    next->actor_system = running.actor_system;
    next->docker = running.docker;
    next->admin.listen = running.admin.listen;
    next->admin.token = running.admin.token;
    next->limits.max_client_connections = running.limits.max_client_connections;
    const bool log_changed = next->log.level != running.log.level || next->log.format != running.log.format;
    std::shared_ptr<const config::config> applied = next;
    state.current = applied;
    ++state.generation;
    state.digest = fnv1a64_hex(bytes);
    state.loaded_at = net::utc_timestamp();
    config_update update{applied};
    // First those who must know a new service before its instances are announced.
    self->send(state.sink, update);
    self->send(state.supervisor, update);
    std::vector<upstream_proxy_actor> fresh;
    for (const auto& name : diff.services_added) {
      spawn_proxy(applied->services.at(name));
      fresh.push_back(state.proxies.at(name));
    }
    // The routes change only once the new services have instances, so that a request on
    // a new route never finds its service empty.
    after_first_rounds(fresh, [self, report, diff, update, applied, log_changed, changes, needs_restart,
                               answer, done] {
      auto& state = self->state;
      if (log_changed) net::setup_logging(applied->log);
      self->send(state.acceptor, update);
      for (const auto& change : diff.services_modified) {
        auto found = state.proxies.find(change.name);
        if (found != state.proxies.end()) self->send(found->second, update);
      }
      for (const auto& name : diff.services_removed) {
        auto found = state.proxies.find(name);
        if (found == state.proxies.end()) continue;
        self->send(found->second, update);  // announces its instances removed and ends
        state.proxies.erase(found);
      }
      auto finish = [report, changes, needs_restart, answer, done] {
        report(true, false, false, "", changes, needs_restart);
        done(answer(true, changes, needs_restart, ""));
      };
      self->request(state.acceptor, first_round_wait, sync_atom::value)
          .then([finish](bool) { finish(); }, [finish](caf::error&) { finish(); });
    });
  };

  // Reloads run one at a time, in the order asked.
  struct queued {
    bool dry_run;
    caf::typed_response_promise<std::string> promise;
  };
  auto queue = std::make_shared<std::deque<queued>>();
  auto run_next = std::make_shared<std::function<void()>>();
  // Weak: the function must not own itself.
  std::weak_ptr<std::function<void()>> weak_next = run_next;
  *run_next = [queue, run_reload, weak_next] {
    if (queue->empty()) return;
    run_reload(queue->front().dry_run, [queue, weak_next](std::string answer) {
      queue->front().promise.deliver(std::move(answer));
      queue->pop_front();
      if (auto next = weak_next.lock(); next && *next) (*next)();
    });
  };

  return {
      [self, queue, run_next](reload_atom, bool dry_run) -> caf::result<std::string> {
        auto promise = self->make_response_promise<std::string>();
        queue->push_back({dry_run, promise});
        if (queue->size() == 1) (*run_next)();
        return promise;
      },
      [self, after_first_rounds](sync_atom) -> caf::result<bool> {
        auto promise = self->make_response_promise<bool>();
        std::vector<upstream_proxy_actor> proxies;
        for (const auto& [name, proxy] : self->state.proxies) proxies.push_back(proxy);
        after_first_rounds(proxies, [self, promise]() mutable {
          self->request(self->state.acceptor, first_round_wait, sync_atom::value)
              .then([promise](bool) mutable { promise.deliver(true); },
                    [promise](caf::error&) mutable { promise.deliver(true); });
        });
        return promise;
      },
  };
}

}  // namespace dockmaster::actors
