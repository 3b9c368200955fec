#pragma once

#include <string_view>

namespace dockmaster::net {

/// The status page (net/status_page.html): one self-contained HTML file, embedded in the
/// binary at build time, that polls the status JSON next to it and shows it.
std::string_view status_page_html();

}  // namespace dockmaster::net
