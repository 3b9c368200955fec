#pragma once

#include <chrono>
#include <deque>
#include <map>
#include <string>

#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "config/config.hpp"
#include "messages/actor_types.hpp"

namespace dockmaster::actors {

struct event_sink_state {
  struct instance_status {
    messages::instance_id id;
    std::string health = "unknown";  // unknown, healthy, unhealthy
    std::string since;               // time of the last health change
    std::string reason;
    std::uint64_t restarts = 0;
    bool restarting = false;
    bool given_up = false;
    std::string last_restart;        // JSON object of the last restart_result, or empty
  };

  std::map<std::string, config::service_config> services;
  messages::http_acceptor_actor acceptor;  // gets each new status for the status path
  std::map<messages::instance_id, instance_status> instances;
  /// The latest events, oldest first, as JSON lines.
  std::deque<std::string> history;
  std::size_t history_limit = 500;

  static inline const char* name = "event_sink";
};

/// Where every actor reports what happened: each health change and supervisor event
/// becomes a structured log line, updates the current state of its instance and joins
/// a bounded history. `status` answers with all of it as JSON, and every change is
/// sent to the acceptor, whose I/O threads serve it on the status path.
messages::event_sink_actor::behavior_type event_sink(
    messages::event_sink_actor::stateful_pointer<event_sink_state> self,
    std::map<std::string, config::service_config> services,
    messages::http_acceptor_actor acceptor);

}  // namespace dockmaster::actors
