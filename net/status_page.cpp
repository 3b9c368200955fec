#include "net/status_page.hpp"

namespace dockmaster::net {

std::string_view status_page_html() {
  return R"(<!doctype html><meta charset="utf-8"><title>dockmaster</title>
<p>dockmaster status: see <a href="status">status</a> and <a href="metrics">metrics</a>.</p>)";
}

}  // namespace dockmaster::net
