// The config parser on any text: JSON that does not parse, or a config that does not
// validate, is a thrown error (config_error names the key path); anything else that
// goes wrong (a crash, undefined behaviour, a leak, another exception) is a finding.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include <nlohmann/json.hpp>

#include "config/parse.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  // As load_config_file reads a file: a syntax error is refused before the parser.
  const auto document = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (document.is_discarded()) return 0;
  try {
    const auto cfg = dockmaster::config::parse_config(document);
    // A config that passed is used as it is: every route names a known service.
    for (const auto& route : cfg.routes)
      if (cfg.services.find(route.service) == cfg.services.end()) __builtin_trap();
  } catch (const dockmaster::config::config_error& e) {
    // The message names the place (possibly the top level, ""): nothing to check but
    // that reading it is safe.
    (void)e.path().size();
    (void)e.problem().size();
  }
  return 0;
}
