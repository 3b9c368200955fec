#pragma once

// Messages of the admin listener.

#include <cstdint>
#include <string>

#include <caf/meta/type_name.hpp>

namespace dockmaster::messages {

/// A request to the admin listener that needs the deployment's state (/status,
/// /metrics, /reload): from the listener's thread to the admin_server actor, which
/// answers it by `id`.
struct admin_query {
  std::uint64_t id = 0;
  std::string method;
  std::string path;
  std::string query;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, admin_query& x) {
  return f(caf::meta::type_name("admin_query"), x.id, x.method, x.path, x.query);
}

}  // namespace dockmaster::messages
