#pragma once

// Small text helpers for HTTP header values.

#include <cstddef>
#include <string_view>

namespace dockmaster::net {

inline char to_lower_ascii(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

/// Header names, host names, origins and list tokens are case-insensitive ASCII
/// (IDNs arrive as punycode); std::tolower would tie the comparison to the locale.
inline bool iequals_ascii(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (to_lower_ascii(a[i]) != to_lower_ascii(b[i])) return false;
  return true;
}

inline std::string_view trim(std::string_view s) {
  const auto first = s.find_first_not_of(" \t");
  if (first == std::string_view::npos) return {};
  const auto last = s.find_last_not_of(" \t");
  return s.substr(first, last - first + 1);
}

/// Calls `f` with each non-empty element of a comma-separated header list, trimmed.
/// Empty elements ("a,,b", a trailing comma) are allowed by the list syntax and skipped.
template <typename F>
void for_each_element(std::string_view list, F&& f) {
  while (!list.empty()) {
    const auto comma = list.find(',');
    const auto element = trim(list.substr(0, comma));
    if (!element.empty()) f(element);
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
}

}  // namespace dockmaster::net
