#pragma once

#include <string_view>

namespace dockmaster::net {

/// The status page served on GET / of the admin listener: one HTML file with its
/// script and style inline, embedded in the binary.
std::string_view status_page_html();

}  // namespace dockmaster::net
