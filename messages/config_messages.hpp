#pragma once

// Messages about the configuration: a new one to apply, and how a reload went.

#include <cstdint>
#include <memory>
#include <string>

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/meta/type_name.hpp>

#include "config/config.hpp"

namespace dockmaster::messages {

/// A validated config that replaces the one in force, from the config_manager to every
/// actor that keeps a part of it (the acceptor, the proxies and watchers, the
/// supervisor, the sink). Each takes its own part and keeps its state: an instance that
/// stays keeps its health. Shared and immutable, so that one copy serves every actor;
/// a local message only (it is never serialized).
struct config_update {
  std::shared_ptr<const config::config> config;
};

/// What a reload did (or, at start, which config runs), from the config_manager to the
/// event_sink, which logs it and shows it under "config" in the status.
struct config_reloaded {
  bool ok = false;
  bool dry_run = false;
  /// The config that runs at start, not a reload: only sets the fields below.
  bool at_start = false;
  /// The file read, or "embedded default".
  std::string source;
  /// 1 at start, +1 per applied reload (unchanged by a rejected one or a dry run).
  std::uint64_t generation = 0;
  /// FNV-1a 64 of the file's bytes, 16 hex digits, of the config in force.
  std::string digest;
  /// When the config in force was loaded (ISO 8601 UTC).
  std::string loaded_at;
  /// Why the reload was rejected; empty when ok.
  std::string error;
  /// The reload's differences (config_diff::to_json), as JSON text.
  std::string changes_json;
  /// What it did not apply for want of a restart (JSON array text).
  std::string needs_restart_json;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, config_reloaded& x) {
  return f(caf::meta::type_name("config_reloaded"), x.ok, x.dry_run, x.at_start, x.source,
           x.generation, x.digest, x.loaded_at, x.error, x.changes_json, x.needs_restart_json);
}

}  // namespace dockmaster::messages

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dockmaster::messages::config_update)
