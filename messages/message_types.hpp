#pragma once

// The one place where the message types are made known to the actor runtime, used by
// the runtime and by the tests alike.

#include <caf/actor_system_config.hpp>

#include "messages/actor_types.hpp"

namespace dockmaster::messages {

inline void add_message_types(caf::actor_system_config& cfg) {
  cfg.add_message_type<upstream_instance>("upstream_instance");
  cfg.add_message_type<instance_set>("instance_set");
  cfg.add_message_type<resolution_result>("resolution_result");
  cfg.add_message_type<drain_result>("drain_result");
  cfg.add_message_type<status_snapshot>("status_snapshot");
  cfg.add_message_type<instance_id>("instance_id");
  cfg.add_message_type<probe_result>("probe_result");
  cfg.add_message_type<upstream_failure>("upstream_failure");
  cfg.add_message_type<instance_added>("instance_added");
  cfg.add_message_type<instance_removed>("instance_removed");
  cfg.add_message_type<health_changed>("health_changed");
  cfg.add_message_type<restart_request>("restart_request");
  cfg.add_message_type<restart_result>("restart_result");
  cfg.add_message_type<judge_afresh>("judge_afresh");
  cfg.add_message_type<heal_outlook>("heal_outlook");
  cfg.add_message_type<identify_request>("identify_request");
  cfg.add_message_type<container_identity>("container_identity");
  cfg.add_message_type<supervisor_event>("supervisor_event");
  cfg.add_message_type<traffic_delta>("traffic_delta");
  cfg.add_message_type<traffic_report>("traffic_report");
  cfg.add_message_type<admin_query>("admin_query");
  cfg.add_message_type<config_reloaded>("config_reloaded");
  // config_update is local only (CAF_ALLOW_UNSAFE_MESSAGE_TYPE): never serialized.
}

}  // namespace dockmaster::messages
