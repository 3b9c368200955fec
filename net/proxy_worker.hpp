#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <memory>
#include <string>
#include <unordered_set>
#include <vector>

#include <boost/asio/io_context.hpp>
#include "net/proxy_settings.hpp"
#include "net/socket_types.hpp"
#include "net/upstream_pool.hpp"

namespace dockmaster::net {

class client_session;
struct request_state;
class tunnel;
class upstream_exchange;

/// One address of a service as one I/O thread sees it.
struct upstream_target {
  std::string configured;  // the configured host:port it came from
  boost::asio::ip::tcp::endpoint endpoint;
  bool healthy = true;
  /// Requests in flight from this thread (least_conn balances on it).
  std::size_t active_requests = 0;
  /// When this thread last reported a failed request to it (passive health), so that
  /// a dead instance under load costs one message per interval, not one per request.
  std::chrono::steady_clock::time_point last_failure_report{};
  /// When it is not healthy, it is expected back (messages::upstream_instance).
  bool heal_expected = false;
};

/// A new instance list for a service, in the form the I/O threads use.
struct service_update {
  std::string service;
  std::vector<upstream_target> targets;
};

/// The per-thread view of a service: its targets and balancing state.
struct service_targets {
  config::balance_policy balance = config::balance_policy::round_robin;
  std::vector<std::shared_ptr<upstream_target>> targets;
  std::size_t next = 0;  // round-robin cursor
  /// Counted on this thread since its last traffic report.
  messages::traffic_delta traffic;
  /// The upstream connection gauges as last reported.
  std::array<std::uint64_t, messages::value_count<messages::connection_state>()> reported_connections{};
};

/// One I/O thread of the proxy: an event loop with its own listening sockets
/// (SO_REUSEPORT, so the kernel spreads connections over threads), its own copy of
/// every service's targets and its own upstream connection pool. A request is served
/// start to end on one worker, without crossing threads.
class proxy_worker {
 public:
  explicit proxy_worker(std::shared_ptr<const proxy_settings> settings);
  ~proxy_worker();

  /// Makes sure that no other socket holds `endpoint` before the workers' listeners
  /// share it, and returns the port to give them (for port 0: a free one the kernel
  /// picked). Throws boost::system::system_error, EADDRINUSE when another process
  /// listens there, with or without SO_REUSEPORT.
  static std::uint16_t claim_port(const boost::asio::ip::tcp::endpoint& endpoint);

  /// Opens a listening socket on `endpoint` (port 0: any port) and returns the port.
  /// SO_REUSEPORT: every worker opens one on the same address; claim_port() first.
  /// Throws boost::system::system_error.
  std::uint16_t listen(const boost::asio::ip::tcp::endpoint& endpoint);

  /// Runs the event loop on the calling thread until stop().
  void run();

  /// Thread-safe: everything below is posted to the worker's loop.
  void update_service(service_update update);
  /// New settings (a reload), swapped in on the worker's thread. Requests in flight
  /// keep the settings they started with; the next request on every connection takes
  /// the new ones. A service the new settings no longer have loses its targets here
  /// (its proxy retires), so that nothing new is sent to it.
  void update_settings(std::shared_ptr<const proxy_settings> settings);
  /// Runs `task` on the worker's thread after everything posted before it.
  void post(std::function<void()> task);
  /// The deployment's state (JSON) that the status path answers with.
  void update_status(std::shared_ptr<const std::string> status_json);
  /// Stops accepting, closes idle client connections and calls `on_drained` (on the
  /// worker thread) once no request is in flight and no tunnel is open.
  void drain(std::function<void()> on_drained);
  void stop();

  // -- used by sessions, on the worker thread --------------------------------------

  const proxy_settings& settings() const { return *settings_; }
  /// What a session holds for the life of a request.
  const std::shared_ptr<const proxy_settings>& shared_settings() const { return settings_; }
  boost::asio::io_context& io() { return *io_; }
  upstream_pool& pool() { return pool_; }

  /// Picks a healthy target of `service` by its balancing policy, skipping `exclude`.
  /// nullptr: none left.
  std::shared_ptr<upstream_target> pick(const std::string& service,
                                        const std::vector<std::shared_ptr<upstream_target>>& exclude);
  /// True while some service still has this address (a connection to an address that
  /// went away is not kept for reuse).
  bool serves(const boost::asio::ip::tcp::endpoint& endpoint) const {
    return current_endpoints_.count(endpoint) > 0;
  }
  /// Where this thread counts the service's traffic; nullptr for an unknown service.
  messages::traffic_delta* traffic_of(const std::string& service);
  /// True when the service has any target at all (healthy or not).
  bool has_targets(const std::string& service) const;

  /// Whether a request of `service` that found no instance to try (after `tried`) may
  /// wait for one: only while an instance is expected back (heal_expected), that is,
  /// listed as not healthy, or still listed healthy although the request just found it
  /// refusing (its watcher has not judged it yet).
  enum class hold_outlook { none, coming_back, refusing_but_listed };
  hold_outlook outlook_for_hold(const std::string& service,
                                const std::vector<std::shared_ptr<upstream_target>>& tried) const;
  /// Queues a waiting request (in arrival order) until an instance of the service turns
  /// healthy, when it is released with exchange->hold_ended(released), or until nothing
  /// is expected back any more (abandoned). False: this thread's share of
  /// hold.max_requests is taken. The queue keeps the session alive.
  bool hold(const std::string& service, std::shared_ptr<client_session> session,
            upstream_exchange* exchange);
  /// Takes a request out of the queue (its wait ended otherwise). Never destroys the
  /// session from inside this call.
  void unhold(const std::string& service, const upstream_exchange* exchange);

  /// Body buffers are lent to sessions only while they relay a body, so that idle
  /// keep-alive connections hold none.
  std::unique_ptr<char[]> take_body_buffer();
  void give_back_body_buffer(std::unique_ptr<char[]> buffer);
  static constexpr std::size_t body_buffer_size = 32 * 1024;

  /// The state of a request (buffer, parser, exchange) is lent to a session from its
  /// first bytes until it is idle again: idle connections hold none, and busy ones
  /// reuse states whose buffers have already grown. A state given back may still hold
  /// the exchange that gave it back (finished); it is cleared when taken again.
  std::unique_ptr<request_state> take_request_state();
  void give_back_request_state(std::unique_ptr<request_state> state);
  /// States out of the pool now: one per connection that is serving a request.
  std::size_t request_states_lent() const { return request_states_lent_; }
  std::size_t sessions() const { return sessions_.size(); }

  /// Every session is started by do_accept(), which took its place under
  /// limits.max_client_connections; session_ended() gives the place back.
  void session_started(client_session* session);
  void session_ended(client_session* session);
  /// Open tunnels are swept for their idle timeout, and drain waits for them (up to
  /// the drain timeout, after which stopping the worker closes them).
  void tunnel_started(tunnel* relay);
  void tunnel_ended(tunnel* relay);
  void request_started() { ++requests_in_flight_; }
  void request_finished();
  bool draining() const { return draining_; }
  const std::shared_ptr<const std::string>& status_json() const { return status_json_; }

 private:
  /// One listening socket and why it is not accepting, when it is not.
  struct listener {
    std::unique_ptr<tcp_acceptor> acceptor;
    std::string address;  // host:port, for the logs
    enum class state { accepting, at_limit, backing_off } state = state::accepting;
    /// At the limit: a connection accepted just when another thread took the last
    /// place. It waits here, unserved, as the others wait in the backlog.
    std::optional<tcp_socket> waiting;
    /// After an accept that failed for lack of descriptors or memory.
    std::unique_ptr<steady_timer> retry_timer;
    std::chrono::milliseconds backoff{0};
  };

  void do_accept(std::size_t listener);
  void start_session(tcp_socket socket);
  /// The listener stops accepting until a place under the limit frees.
  void stop_at_limit(std::size_t listener);
  /// Accepts again on every listener stopped at the limit, as far as places are free.
  void resume_accepting();
  bool any_at_limit() const;
  /// An accept failed: retried at once for an error of that one connection, after a
  /// back-off (100 ms, doubling up to 1 s) otherwise, so that running out of
  /// descriptors (EMFILE) does not spin.
  void accept_failed(std::size_t listener, const boost::system::error_code& ec);
  /// Checks every session's deadlines, then waits for the next round.
  void sweep();
  /// About once a second: frees the spares that no request needed since the last call.
  void release_unused_spares();
  /// Hands what was counted since the last report to settings().on_traffic.
  void report_traffic();
  /// A client connection (session or tunnel) closed: its place goes back, and a
  /// listener paused at the limit accepts again.
  void connection_closed();
  /// Calls the drain's callback once nothing is in flight.
  void check_drained();
  /// After a service's update: its waiting requests go out if an instance is healthy,
  /// and get their 503 if nothing is expected back any more.
  void release_held(const std::string& service);
  /// Which addresses some service still has; idle connections to others are closed.
  void retain_current_endpoints();
  /// Every waiting request gets its 503 (the worker drains).
  void abandon_all_held();

  /// A request waiting for an instance, with what keeps its session alive meanwhile.
  struct held_request {
    std::shared_ptr<client_session> session;
    upstream_exchange* exchange;
  };

  std::shared_ptr<const proxy_settings> settings_;
  // Destroyed explicitly first, so that the sessions its pending handlers own end
  // while the members they report to still exist.
  std::unique_ptr<boost::asio::io_context> io_;
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_;
  std::vector<listener> listeners_;
  std::unique_ptr<steady_timer> sweep_timer_;
  std::map<std::string, service_targets> services_;
  upstream_pool pool_;
  std::unordered_set<client_session*> sessions_;
  std::unordered_set<tunnel*> tunnels_;
  std::map<std::string, std::deque<held_request>> held_;  // by service, in arrival order
  std::vector<std::unique_ptr<char[]>> spare_body_buffers_;
  std::vector<std::unique_ptr<request_state>> spare_request_states_;
  /// The fewest spares each pool held since the last release_unused_spares().
  std::size_t spare_body_buffers_low_ = 0;
  std::size_t spare_request_states_low_ = 0;
  std::size_t request_states_lent_ = 0;
  std::shared_ptr<const std::string> status_json_;
  std::set<boost::asio::ip::tcp::endpoint> current_endpoints_;
  std::uint64_t requests_in_flight_ = 0;
  unsigned sweeps_since_report_ = 0;
  bool draining_ = false;
  /// Set while the worker is destroyed: sessions that end then post nothing.
  bool destroying_ = false;
  bool resume_posted_ = false;
  std::function<void()> on_drained_;
};

}  // namespace dockmaster::net
