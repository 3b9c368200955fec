// The readers of the Docker Engine's JSON answers (docker/engine_json.hpp) on any text:
// the container list, a container inspect, an exec create and an exec inspect answer.
// Text that is not JSON is refused before them (engine_client does the same); a
// document of the wrong shape is a std::invalid_argument, which engine_client turns into
// a "malformed answer" error. Any other exception, a crash, undefined behaviour or a
// leak is a finding.

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>

#include <nlohmann/json.hpp>

#include "docker/engine_json.hpp"

namespace {

namespace docker = dockmaster::docker;

void check(const docker::container_info& info) {
  if (info.id.empty()) __builtin_trap();  // an entry without an Id is refused
  if (info.created_unix_ms < 0) __builtin_trap();
  for (const auto& address : info.addresses)
    if (address.empty()) __builtin_trap();  // empty addresses are left out
}

template <typename F>
void refused_or_read(F&& read) {
  try {
    read();
  } catch (const std::invalid_argument&) {
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  if (docker::unix_ms_of(text) < 0) __builtin_trap();

  const auto document = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (document.is_discarded()) return 0;
  refused_or_read([&] {
    for (const auto& info : docker::parse_container_list(document)) check(info);
  });
  refused_or_read([&] { check(docker::parse_container_inspect(document)); });
  refused_or_read([&] { (void)docker::parse_exec_created(document); });
  refused_or_read([&] {
    const auto state = docker::parse_exec_inspect(document);
    if (state.running && state.exit_code) __builtin_trap();  // read only once it has ended
  });
  return 0;
}
