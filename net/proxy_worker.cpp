#include "net/proxy_worker.hpp"

#include <algorithm>
#include <cerrno>

#include <malloc.h>

#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/post.hpp>

#include "net/client_session.hpp"
#include "net/logging.hpp"
#include "net/tunnel.hpp"
#include "net/upstream_exchange.hpp"

namespace dockmaster::net {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

proxy_worker::proxy_worker(std::shared_ptr<const proxy_settings> settings)
    : settings_(std::move(settings)),
      // Only this worker's thread touches its sockets and timers (other threads only
      // post), so the reactor's per-socket locking can go; the scheduler keeps its own.
      io_(std::make_unique<asio::io_context>(BOOST_ASIO_CONCURRENCY_HINT_UNSAFE_IO)),
      work_(asio::make_work_guard(*io_)),
      sweep_timer_(std::make_unique<steady_timer>(*io_)),
      pool_(settings_->limits.max_idle_upstream_connections, settings_->timeouts.upstream_idle) {
  for (const auto& [name, balance] : settings_->balance_by_service) {
    services_[name].balance = balance;
    services_[name].traffic.service = name;
  }
}

proxy_worker::~proxy_worker() {
  destroying_ = true;
  {
    // The sessions still waiting end now, while what they report to exists.
    auto held = std::move(held_);
    held_.clear();
  }
  work_.reset();
  listeners_.clear();
  sweep_timer_.reset();
  pool_.clear();
  io_.reset();
  spare_request_states_.clear();  // their finished exchanges still name this worker
}

std::uint16_t proxy_worker::claim_port(const tcp::endpoint& endpoint) {
  // The workers share their port through SO_REUSEPORT, and so could any other process
  // of the same user: a second dockmaster on the same address would start without an
  // error and take part of the traffic. A socket bound WITHOUT SO_REUSEPORT conflicts
  // with every listening socket on the address, reuseport or not, so this probe's bind
  // fails with EADDRINUSE when another process serves it (SO_REUSEADDR only lets it past
  // connections in TIME_WAIT). It is closed before the workers bind. For port 0 it is
  // the probe that picks the port, so that the group never lands on a port that another
  // reuseport group holds. What it leaves open: a process that binds with SO_REUSEPORT
  // between the probe's close and the first worker's listen still joins the group; that
  // window is a few system calls long, and only at start.
  asio::io_context io;
  tcp::acceptor probe(io);
  probe.open(endpoint.protocol());
  probe.set_option(asio::socket_base::reuse_address(true));
  if (endpoint.protocol() == tcp::v6()) probe.set_option(asio::ip::v6_only(true));
  probe.bind(endpoint);
  return probe.local_endpoint().port();
}

std::uint16_t proxy_worker::listen(const tcp::endpoint& endpoint) {
  auto acceptor = std::make_unique<tcp_acceptor>(*io_);
  acceptor->open(endpoint.protocol());
  acceptor->set_option(asio::socket_base::reuse_address(true));
  // Every worker listens on the same port; the kernel spreads new connections.
  int one = 1;
  ::setsockopt(acceptor->native_handle(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
  if (endpoint.protocol() == tcp::v6()) acceptor->set_option(asio::ip::v6_only(true));
  acceptor->bind(endpoint);
  acceptor->listen(asio::socket_base::max_listen_connections);
  auto local = acceptor->local_endpoint();
  listener added;
  added.address = (local.address().is_v6() ? "[" + local.address().to_string() + "]"
                                           : local.address().to_string()) +
                  ":" + std::to_string(local.port());
  added.acceptor = std::move(acceptor);
  added.retry_timer = std::make_unique<steady_timer>(*io_);
  listeners_.push_back(std::move(added));
  return local.port();
}

void proxy_worker::run() {
  for (std::size_t i = 0; i < listeners_.size(); ++i) do_accept(i);
  sweep();
  io_->run();
}

void proxy_worker::sweep() {
  auto now = client_session::clock::now();
  for (auto* session : sessions_) session->check_deadlines(now);
  // Closing only cancels their operations: none ends here, so the sets stay as they are.
  for (auto* relay : tunnels_) relay->check_deadlines(now);
  pool_.close_expired(now);
  // A place may have freed on another thread: this one would not hear of it otherwise.
  if (!draining_ && any_at_limit() && settings_->accepting->clients.has_room()) resume_accepting();
  // Ten sweeps a second: the counts go out about once a second.
  if (++sweeps_since_report_ >= 10) {
    sweeps_since_report_ = 0;
    report_traffic();
    release_unused_spares();
  }
  // Timeouts fire up to one period late; a tenth of a second is well below any
  // sensible timeout and costs nothing measurable.
  sweep_timer_->expires_after(std::chrono::milliseconds(100));
  sweep_timer_->async_wait([this](boost::system::error_code ec) {
    if (!ec) sweep();
  });
}

void proxy_worker::report_traffic() {
  const auto& send = settings_->on_traffic;
  if (!send) return;
  messages::traffic_report report;
  report.thread = reinterpret_cast<std::uintptr_t>(this);
  for (auto& [name, service] : services_) {
    auto& counted = service.traffic;
    std::uint64_t active = 0, idle = 0;
    for (const auto& target : service.targets) {
      active += target->active_requests;
      idle += pool_.idle_count(target->endpoint);
    }
    counted.upstream_connections = {active, idle};
    // The gauges go out when they moved, even with nothing counted.
    if (counted.empty() && counted.upstream_connections == service.reported_connections) continue;
    service.reported_connections = counted.upstream_connections;
    // A removed service's last counts go too: the sink drops those it no longer knows.
    report.services.push_back(counted);
    counted = messages::traffic_delta{};
    counted.service = name;
  }
  if (!report.services.empty()) send(std::move(report));
}

messages::traffic_delta* proxy_worker::traffic_of(const std::string& service) {
  auto found = services_.find(service);
  return found == services_.end() ? nullptr : &found->second.traffic;
}

void proxy_worker::do_accept(std::size_t index) {
  auto& l = listeners_[index];
  l.state = listener::state::accepting;
  l.acceptor->async_accept([this, index](boost::system::error_code ec, tcp_socket socket) {
    if (ec == asio::error::operation_aborted || draining_) return;
    if (ec) return accept_failed(index, ec);
    listeners_[index].backoff = std::chrono::milliseconds(0);
    auto& clients = settings_->accepting->clients;
    if (!clients.try_take()) {
      // Another thread took the last place since this one last looked.
      listeners_[index].waiting.emplace(std::move(socket));
      return stop_at_limit(index);
    }
    start_session(std::move(socket));
    // At the limit nothing more is taken from the backlog: the kernel keeps further
    // connections there (the client's connect has succeeded, nothing is reset) until a
    // place frees, as HAProxy does at maxconn.
    if (!clients.has_room()) return stop_at_limit(index);
    do_accept(index);
  });
}

void proxy_worker::start_session(tcp_socket socket) {
  std::make_shared<client_session>(*this, std::move(socket))->start();
}

void proxy_worker::stop_at_limit(std::size_t index) {
  listeners_[index].state = listener::state::at_limit;
  auto& accepting = *settings_->accepting;
  std::uint64_t held_back = 0;
  if (!accepting.limit_warnings.allow(log_throttle::clock::now(), held_back)) return;
  event_log().warn(
      "client connection limit reached: {} connections open (limits.max_client_connections = {}); "
      "not accepting, new connections wait in the listen backlog until one closes{}",
      accepting.clients.open(), accepting.clients.max(),
      held_back ? " (listeners stopped at the limit " + std::to_string(held_back) +
                      " more times since the last warning)"
                : "");
}

bool proxy_worker::any_at_limit() const {
  return std::any_of(listeners_.begin(), listeners_.end(),
                     [](const listener& l) { return l.state == listener::state::at_limit; });
}

void proxy_worker::resume_accepting() {
  if (draining_) return;
  auto& clients = settings_->accepting->clients;
  for (std::size_t i = 0; i < listeners_.size(); ++i) {
    auto& l = listeners_[i];
    if (l.state != listener::state::at_limit) continue;
    if (l.waiting) {
      if (!clients.try_take()) return;  // still full
      auto socket = std::move(*l.waiting);
      l.waiting.reset();
      start_session(std::move(socket));
    }
    if (clients.has_room()) do_accept(i);
  }
}

void proxy_worker::accept_failed(std::size_t index, const boost::system::error_code& ec) {
  auto& l = listeners_[index];
  auto& accepting = *settings_->accepting;
  const int code = ec.category() == boost::system::system_category() ? ec.value() : 0;
  // Errors of the one connection being accepted (accept(2) passes pending network
  // errors on): the next connection may well be fine.
  const bool this_connection_only =
      code == ECONNABORTED || code == EPROTO || code == EPERM || code == ENETDOWN || code == ENOPROTOOPT ||
      code == EHOSTDOWN || code == ENONET || code == EHOSTUNREACH || code == EOPNOTSUPP ||
      code == ENETUNREACH || code == EINTR || code == EAGAIN;
  const bool exhausted = code == EMFILE || code == ENFILE || code == ENOBUFS || code == ENOMEM;
  // Anything else cannot be expected to clear by itself either: retrying at once would
  // spin, since the listener stays readable while the connection waits in its backlog.
  if (!this_connection_only) {
    l.backoff = l.backoff.count() == 0 ? std::chrono::milliseconds(100)
                                       : std::min(l.backoff * 2, std::chrono::milliseconds(1000));
  }
  std::uint64_t held_back = 0;
  if (accepting.accept_failures.allow(log_throttle::clock::now(), held_back)) {
    std::string more = held_back ? " (" + std::to_string(held_back) + " more failed accepts since the last line)" : "";
    if (this_connection_only)
      event_log().warn("accept failed on {}: {}{}", l.address, ec.message(), more);
    else
      event_log().warn("accept failed on {}: {}{}; not accepting for {} ms, then trying again{}", l.address,
                       ec.message(),
                       exhausted ? " (out of file descriptors or memory: " + std::to_string(sessions_.size()) +
                                       " client connections on this I/O thread, " +
                                       std::to_string(accepting.clients.open()) + " in all)"
                                 : "",
                       l.backoff.count(), more);
  }
  if (this_connection_only) return do_accept(index);
  l.state = listener::state::backing_off;
  l.retry_timer->expires_after(l.backoff);
  l.retry_timer->async_wait([this, index](boost::system::error_code ec) {
    if (!ec && !draining_) do_accept(index);
  });
}

void proxy_worker::update_service(service_update update) {
  asio::post(*io_, [this, update = std::move(update)]() mutable {
    auto& service = services_[update.service];
    std::vector<std::shared_ptr<upstream_target>> targets;
    for (auto& target : update.targets) {
      // Keep the existing object of a known address, so its in-flight count survives.
      auto same = std::find_if(service.targets.begin(), service.targets.end(),
                               [&](const auto& old) { return old->endpoint == target.endpoint; });
      if (same != service.targets.end()) {
        (*same)->healthy = target.healthy;
        (*same)->heal_expected = target.heal_expected;
        (*same)->configured = target.configured;
        targets.push_back(*same);
      } else {
        targets.push_back(std::make_shared<upstream_target>(std::move(target)));
      }
    }
    service.targets = std::move(targets);
    retain_current_endpoints();
    release_held(update.service);
  });
}

void proxy_worker::retain_current_endpoints() {
  // Idle connections to addresses no longer in any service are closed now.
  std::vector<tcp::endpoint> keep;
  for (const auto& [name, s] : services_)
    for (const auto& target : s.targets) keep.push_back(target->endpoint);
  pool_.retain_only(keep);
  current_endpoints_ = std::set<tcp::endpoint>(keep.begin(), keep.end());
}

void proxy_worker::update_settings(std::shared_ptr<const proxy_settings> settings) {
  asio::post(*io_, [this, settings = std::move(settings)]() mutable {
    settings_ = std::move(settings);
    pool_.set_limits(settings_->limits.max_idle_upstream_connections, settings_->timeouts.upstream_idle);
    for (const auto& [name, balance] : settings_->balance_by_service) {
      auto& service = services_[name];
      service.balance = balance;
      service.traffic.service = name;
    }
    // A service that is gone keeps its entry (a request in flight may still count its
    // traffic there), but no target: nothing new goes to it, and what waited for it
    // gets its 503 now.
    std::vector<std::string> gone;
    for (auto& [name, service] : services_)
      if (!settings_->balance_by_service.count(name) && !service.targets.empty()) {
        service.targets.clear();
        gone.push_back(name);
      }
    if (!gone.empty()) retain_current_endpoints();
    for (const auto& name : gone) release_held(name);
    // A hold that the new settings turned off (or bounded lower) applies to requests
    // that start from now; those already waiting wait on.
  });
}

proxy_worker::hold_outlook proxy_worker::outlook_for_hold(
    const std::string& service, const std::vector<std::shared_ptr<upstream_target>>& tried) const {
  if (draining_) return hold_outlook::none;
  auto found = services_.find(service);
  if (found == services_.end()) return hold_outlook::none;
  bool coming_back = false, refusing_but_listed = false;
  for (const auto& target : found->second.targets) {
    if (!target->heal_expected) continue;
    if (!target->healthy)
      coming_back = true;
    else if (std::find(tried.begin(), tried.end(), target) != tried.end())
      refusing_but_listed = true;
  }
  if (refusing_but_listed) return hold_outlook::refusing_but_listed;
  return coming_back ? hold_outlook::coming_back : hold_outlook::none;
}

bool proxy_worker::hold(const std::string& service, std::shared_ptr<client_session> session,
                        upstream_exchange* exchange) {
  const auto* settings = settings_->hold_of(service);
  auto& waiting = held_[service];
  if (!settings || waiting.size() >= settings->max_requests_per_thread) return false;
  waiting.push_back({std::move(session), exchange});
  return true;
}

void proxy_worker::unhold(const std::string& service, const upstream_exchange* exchange) {
  auto found = held_.find(service);
  if (found == held_.end()) return;
  auto& waiting = found->second;
  auto entry = std::find_if(waiting.begin(), waiting.end(),
                            [&](const held_request& h) { return h.exchange == exchange; });
  if (entry == waiting.end()) return;
  // The caller runs inside the session: its last reference goes from the loop.
  auto session = std::move(entry->session);
  waiting.erase(entry);
  if (!destroying_) asio::post(*io_, [session = std::move(session)] {});
}

void proxy_worker::release_held(const std::string& service_name) {
  auto found = held_.find(service_name);
  if (found == held_.end() || found->second.empty()) return;
  const auto& targets = services_[service_name].targets;
  bool any_healthy = std::any_of(targets.begin(), targets.end(),
                                 [](const auto& target) { return target->healthy; });
  messages::hold_outcome outcome = messages::hold_outcome::released;
  if (!any_healthy) {
    if (outlook_for_hold(service_name, {}) != hold_outlook::none) return;  // still coming
    outcome = messages::hold_outcome::abandoned;
  }
  // In arrival order; a request that must wait again queues anew behind the others.
  auto waiting = std::move(found->second);
  found->second.clear();
  for (auto& entry : waiting) entry.exchange->hold_ended(outcome);
}

void proxy_worker::abandon_all_held() {
  auto held = std::move(held_);
  held_.clear();
  for (auto& [service, waiting] : held)
    for (auto& entry : waiting) entry.exchange->hold_ended(messages::hold_outcome::abandoned);
}

void proxy_worker::post(std::function<void()> task) { asio::post(*io_, std::move(task)); }

void proxy_worker::update_status(std::shared_ptr<const std::string> status_json) {
  asio::post(*io_, [this, status_json = std::move(status_json)]() mutable {
    status_json_ = std::move(status_json);
  });
}

std::shared_ptr<upstream_target> proxy_worker::pick(
    const std::string& service_name, const std::vector<std::shared_ptr<upstream_target>>& exclude) {
  auto found = services_.find(service_name);
  if (found == services_.end()) return nullptr;
  auto& service = found->second;
  const auto& targets = service.targets;
  auto usable = [&](const std::shared_ptr<upstream_target>& t) {
    return t->healthy && std::find(exclude.begin(), exclude.end(), t) == exclude.end();
  };
  std::size_t n = targets.size();
  if (n == 0) return nullptr;
  std::shared_ptr<upstream_target> best;
  // Round-robin walks from the cursor; least_conn takes the fewest requests in flight,
  // ties going to the one round-robin would pick, so equal load still rotates.
  for (std::size_t i = 0; i < n; ++i) {
    const auto& candidate = targets[(service.next + i) % n];
    if (!usable(candidate)) continue;
    if (!best) {
      best = candidate;
      if (service.balance == config::balance_policy::round_robin) break;
    } else if (candidate->active_requests < best->active_requests) {
      best = candidate;
    }
  }
  service.next = (service.next + 1) % n;
  if (!best && settings_->fail_open_services.count(service_name)) {
    // Nothing healthy and the operator prefers trying over a 503.
    for (std::size_t i = 0; i < n && !best; ++i) {
      const auto& candidate = targets[(service.next + i) % n];
      if (std::find(exclude.begin(), exclude.end(), candidate) == exclude.end()) best = candidate;
    }
  }
  return best;
}

bool proxy_worker::has_targets(const std::string& service) const {
  auto found = services_.find(service);
  return found != services_.end() && !found->second.targets.empty();
}

std::unique_ptr<char[]> proxy_worker::take_body_buffer() {
  if (spare_body_buffers_.empty()) return std::unique_ptr<char[]>(new char[body_buffer_size]);
  auto buffer = std::move(spare_body_buffers_.back());
  spare_body_buffers_.pop_back();
  spare_body_buffers_low_ = std::min(spare_body_buffers_low_, spare_body_buffers_.size());
  return buffer;
}

void proxy_worker::give_back_body_buffer(std::unique_ptr<char[]> buffer) {
  // Enough spares for a burst; beyond that memory goes back to the allocator.
  if (buffer && spare_body_buffers_.size() < 256) spare_body_buffers_.push_back(std::move(buffer));
}

std::unique_ptr<request_state> proxy_worker::take_request_state() {
  ++request_states_lent_;
  if (spare_request_states_.empty()) return std::make_unique<request_state>();
  auto state = std::move(spare_request_states_.back());
  spare_request_states_.pop_back();
  spare_request_states_low_ = std::min(spare_request_states_low_, spare_request_states_.size());
  // Done here rather than when given back: the exchange may have given it back from
  // inside its own call.
  state->exchange.reset();
  state->parser.reset();
  state->buffer.clear();
  return state;
}

void proxy_worker::give_back_request_state(std::unique_ptr<request_state> state) {
  --request_states_lent_;
  // A buffer that grew for an unusual request does not stay that large.
  constexpr std::size_t kept_buffer = 16 * 1024;
  if (state->buffer.capacity() > kept_buffer) state->buffer.shrink_to_fit();
  if (!destroying_ && spare_request_states_.size() < 256) spare_request_states_.push_back(std::move(state));
}

void proxy_worker::release_unused_spares() {
  // The spares that stayed in the pool the whole period were not needed: they go, and
  // with them the memory of a burst that is over (nginx frees a request's pool at its
  // end; this keeps what steady traffic reuses and lets the rest go).
  std::size_t freed = 0;
  auto release = [&freed](auto& spares, std::size_t& low, std::size_t bytes_each) {
    auto unused = std::min(low, spares.size());
    spares.resize(spares.size() - unused);
    freed += unused * bytes_each;
    low = spares.size();
  };
  release(spare_body_buffers_, spare_body_buffers_low_, body_buffer_size);
  release(spare_request_states_, spare_request_states_low_, sizeof(request_state));
  // Freed chunks inside the heap stay resident until trimmed; a burst's worth is
  // worth the walk, a handful is not.
  if (freed >= 256 * 1024) malloc_trim(0);
}

void proxy_worker::session_started(client_session* session) { sessions_.insert(session); }

void proxy_worker::session_ended(client_session* session) {
  if (sessions_.erase(session) == 0) return;
  connection_closed();
}

void proxy_worker::connection_closed() {
  settings_->accepting->clients.give_back();
  // This thread's listener accepts again at once. Not from here: this runs in a
  // session's destructor, in the middle of whatever handler let it go.
  if (destroying_ || draining_ || resume_posted_ || !any_at_limit()) return;
  resume_posted_ = true;
  asio::post(*io_, [this] {
    resume_posted_ = false;
    resume_accepting();
  });
}

void proxy_worker::tunnel_started(tunnel* relay) {
  // The client connection lives on in the tunnel: it keeps a place of its own (taken
  // over the limit if need be) once its session gives back the session's.
  tunnels_.insert(relay);
  settings_->accepting->clients.take();
}

void proxy_worker::tunnel_ended(tunnel* relay) {
  if (tunnels_.erase(relay) == 0) return;
  connection_closed();
  check_drained();
}

void proxy_worker::request_finished() {
  if (requests_in_flight_ > 0) --requests_in_flight_;
  check_drained();
}

void proxy_worker::check_drained() {
  if (draining_ && requests_in_flight_ == 0 && tunnels_.empty() && on_drained_) {
    auto done = std::move(on_drained_);
    on_drained_ = nullptr;
    done();
  }
}

void proxy_worker::drain(std::function<void()> on_drained) {
  asio::post(*io_, [this, on_drained = std::move(on_drained)]() mutable {
    draining_ = true;
    boost::system::error_code ignored;
    for (auto& l : listeners_) {
      l.acceptor->close(ignored);
      l.retry_timer->cancel();
      l.waiting.reset();  // never served: refused like a connection still in the backlog
    }
    // Closing may end sessions, which erases them from the set: copy first.
    std::vector<client_session*> sessions(sessions_.begin(), sessions_.end());
    for (auto* session : sessions)
      if (sessions_.count(session)) session->close_if_idle();
    pool_.clear();
    // Nothing will be served after the drain: waiting requests are answered now.
    abandon_all_held();
    on_drained_ = std::move(on_drained);
    check_drained();
  });
}

void proxy_worker::stop() {
  work_.reset();
  io_->stop();
}

}  // namespace dockmaster::net
