#include "net/accept_control.hpp"

#include <sys/resource.h>

#include "config/parse.hpp"

namespace dockmaster::net {

std::uint64_t open_files_limit() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY)
    return std::numeric_limits<std::uint64_t>::max();
  return static_cast<std::uint64_t>(limit.rlim_cur);
}

std::size_t effective_max_client_connections(std::size_t configured) {
  return configured > 0 ? configured : config::default_max_client_connections(open_files_limit());
}

}  // namespace dockmaster::net
