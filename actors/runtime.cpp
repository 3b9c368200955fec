#include "actors/runtime.hpp"

#include <stdexcept>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/atom.hpp>
#include <caf/exit_reason.hpp>
#include <caf/scoped_actor.hpp>

#include "actors/admin_server.hpp"
#include "actors/config_manager.hpp"
#include "actors/docker_engine.hpp"
#include "actors/event_sink.hpp"
#include "actors/http_acceptor.hpp"
#include "actors/local_executor.hpp"
#include "actors/restart_supervisor.hpp"
#include "actors/upstream_proxy.hpp"
#include "docker/engine_client.hpp"
#include "net/health_prober.hpp"
#include "messages/message_types.hpp"
#include "net/logging.hpp"

namespace dockmaster {

using namespace messages;

namespace {

/// The CAF runtime tuned from the config's actor_system section.
class system_config : public caf::actor_system_config {
 public:
  explicit system_config(const config::actor_system_config& cfg) {
    messages::add_message_types(*this);
    set("scheduler.policy", caf::atom_from_string(cfg.scheduler.policy));
    set("scheduler.max-threads", cfg.scheduler.max_threads);
    set("scheduler.max-throughput", cfg.scheduler.max_throughput);
    // dockmaster logs through spdlog; CAF's own console output stays off.
    set("logger.console", caf::atom("none"));
  }
};

}  // namespace

struct runtime::impl {
  impl(config::config c, std::string file, config::config_overrides o)
      : cfg(std::move(c)), config_file(std::move(file)), overrides(std::move(o)),
        caf_config(cfg.actor_system), system(caf_config) {}

  config::config cfg;
  std::string config_file;
  config::config_overrides overrides;
  system_config caf_config;
  caf::actor_system system;
  http_acceptor_actor acceptor;
  config_manager_actor manager;  // owns the proxies
  event_sink_actor sink;
  admin_server_actor admin;
  restart_supervisor_actor supervisor;
  restart_executor_actor docker;
  restart_executor_actor local;
  std::shared_ptr<net::health_prober> prober;
  std::vector<std::uint16_t> ports;
  std::uint16_t admin_port = 0;
  bool started = false;
  bool drained = false;
  bool stopped = false;
};

runtime::runtime(config::config cfg, std::string config_file, config::config_overrides overrides)
    : impl_(std::make_unique<impl>(std::move(cfg), std::move(config_file), std::move(overrides))) {}

runtime::~runtime() { stop(); }

void runtime::start() {
  auto& d = *impl_;
  if (d.started) return;
  d.started = true;
  d.acceptor = d.system.spawn(actors::http_acceptor, d.cfg);
  std::string failure;
  {
    // Scoped actors count as running actors: this one must be gone before stop().
    caf::scoped_actor self{d.system};
    self->request(d.acceptor, caf::infinite, listening_atom::value)
        .receive([&](std::vector<std::uint16_t>& ports) { d.ports = std::move(ports); },
                 [&](caf::error& err) { failure = d.system.render(err); });
  }
  if (!failure.empty()) {
    stop();
    throw std::runtime_error(failure);
  }
  bool any_docker = false;
  for (const auto& [name, service] : d.cfg.services)
    any_docker |= service.restart.executor == config::restart_executor::docker;
  d.sink = d.system.spawn(actors::event_sink, d.cfg.services, d.acceptor, !d.cfg.admin.status_path.empty());
  // Both executors and the prober run whatever the config asks, so that a reload may
  // add a service that needs them. Each costs an idle actor; the prober a thread.
  auto socket = docker::engine_client::socket_path_from(d.cfg.docker.socket);
  if (any_docker) net::event_log().info("restarts run through the Docker engine at {}", socket);
  d.docker = d.system.spawn(actors::docker_engine, socket);
  // The output kept of a command: its tail, as much as of a docker exec.
  d.local = d.system.spawn(actors::local_executor, docker::exec_options{}.output_limit);
  d.supervisor = d.system.spawn(actors::restart_supervisor, d.cfg.services, d.docker, d.local, d.sink);
  d.prober = std::make_shared<net::health_prober>();
  d.manager = d.system.spawn(actors::config_manager, d.cfg, d.config_file, d.overrides, d.acceptor,
                             d.supervisor, d.sink, std::shared_ptr<net::probe_runner>(d.prober));
  {
    // (Gone before stop(), as above: stop() waits for every actor, this one too.)
    caf::scoped_actor self{d.system};
    // Wait for each service's first resolution, then until every I/O thread has it, so
    // that the first request finds its instances.
    self->request(d.manager, caf::infinite, sync_atom::value).receive([](bool) {}, [](caf::error&) {});
    if (d.cfg.admin.listen) {
      d.admin = d.system.spawn(actors::admin_server, d.cfg.admin, d.sink, d.manager);
      self->request(d.admin, caf::infinite, listening_atom::value)
          .receive([&](std::uint16_t port) { d.admin_port = port; },
                   [&](caf::error& err) { failure = d.system.render(err); });
    }
  }
  if (!failure.empty()) {
    stop();
    throw std::runtime_error(failure);
  }
}

std::vector<std::uint16_t> runtime::ports() const { return impl_->ports; }

std::uint16_t runtime::admin_port() const { return impl_->admin_port; }

std::uint64_t runtime::drain() {
  auto& d = *impl_;
  if (!d.started || d.drained || d.stopped) return 0;
  d.drained = true;
  std::uint64_t busy = 0;
  caf::scoped_actor self{d.system};
  self->request(d.acceptor, caf::infinite, drain_atom::value)
      .receive([&](drain_result& result) { busy = result.busy_threads; }, [](caf::error&) {});
  return busy;
}

void runtime::stop() {
  auto& d = *impl_;
  if (d.stopped) return;
  if (d.started && !d.drained) drain();
  d.stopped = true;
  {
    caf::scoped_actor self{d.system};
    // The config_manager ends the proxies it owns.
    if (d.manager) self->send_exit(d.manager, caf::exit_reason::user_shutdown);
    if (d.acceptor) self->send_exit(d.acceptor, caf::exit_reason::user_shutdown);
    for (caf::actor_addr addr : {d.admin.address(), d.sink.address(), d.supervisor.address(),
                                 d.docker.address(), d.local.address()})
      if (addr) self->send_exit(addr, caf::exit_reason::user_shutdown);
  }
  d.admin = nullptr;
  d.manager = nullptr;
  d.sink = nullptr;
  d.supervisor = nullptr;
  d.docker = nullptr;
  d.local = nullptr;
  d.acceptor = nullptr;
  d.system.await_all_actors_done();
  d.prober.reset();
}

std::string runtime::status_json() {
  auto& d = *impl_;
  if (!d.sink) return "{}";
  std::string status = "{}";
  caf::scoped_actor self{d.system};
  self->request(d.sink, std::chrono::seconds(5), status_atom::value)
      .receive([&](std::string& json) { status = std::move(json); }, [](caf::error&) {});
  return status;
}

std::string runtime::reload(bool dry_run) {
  auto& d = *impl_;
  if (!d.manager || d.stopped)
    return R"({"ok":false,"dry_run":)" + std::string(dry_run ? "true" : "false") +
           R"(,"changes":{},"needs_restart":[],"error":"not running"})";
  std::string answer;
  caf::scoped_actor self{d.system};
  self->request(d.manager, caf::infinite, reload_atom::value, dry_run)
      .receive([&](std::string& json) { answer = std::move(json); },
               [&](caf::error& err) {
                 answer = R"({"ok":false,"dry_run":)" + std::string(dry_run ? "true" : "false") +
                          R"(,"changes":{},"needs_restart":[],"error":")" +
                          net::json_escape(d.system.render(err)) + R"("})";
               });
  return answer;
}

messages::config_manager_actor runtime::config_manager() const { return impl_->manager; }

}  // namespace dockmaster
