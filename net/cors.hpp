#pragma once

#include <string>
#include <string_view>

#include "config/config.hpp"
#include "net/head_fields.hpp"

namespace dockmaster::net {

/// The CORS decisions of the manager, from the configured policy. Origins compare
/// case-insensitively, methods case-sensitively (as browsers compare them), header
/// names case-insensitively. "*" in allow_methods or allow_headers allows any; the
/// preflight answer then echoes what was asked, which is valid with credentials too.
class cors_responder {
 public:
  using request_header = request_head;
  using response_header = response_head;

  explicit cors_responder(config::cors_policy policy);

  /// False when no origin is allowed: requests pass through untouched.
  bool enabled() const;

  /// An OPTIONS request with Origin and Access-Control-Request-Method.
  static bool is_preflight(const request_header& request);

  bool origin_allowed(std::string_view origin) const;

  /// Fills the answer to a preflight: 204 with the Allow-* headers when the origin,
  /// method and every header of Access-Control-Request-Headers are allowed; 403 with no
  /// Access-Control-* header otherwise. Both carry Content-Length: 0 and Vary: Origin,
  /// Access-Control-Request-Method, Access-Control-Request-Headers. Allow-Origin is
  /// "*" only for a "*" policy without credentials; otherwise the origin is echoed.
  /// Refuses everything when !enabled(): the caller should then forward the OPTIONS.
  void answer_preflight(const request_header& request, response_header& response) const;

  /// Adds Access-Control-Allow-Origin (and -Credentials, -Expose-Headers, Vary) to a
  /// proxied response when `origin` is allowed; adds nothing otherwise. Never sends
  /// credentials together with "*": with credentials the origin is echoed instead.
  /// The manager's policy wins over the upstream's: an Allow-Origin (and Expose-Headers
  /// when configured) from the upstream is replaced, its Allow-Credentials removed when
  /// the policy has none. Origin is appended to an existing Vary, never replacing it.
  void decorate(std::string_view origin, response_header& response) const;

 private:
  config::cors_policy policy_;
  bool any_origin_ = false;
  std::string allow_methods_;   // joined with ", "
  std::string allow_headers_;   // joined with ", "
  std::string expose_headers_;  // joined with ", "
  std::string max_age_;
};

}  // namespace dockmaster::net
