#pragma once

#include <string>
#include <string_view>

#include <boost/beast/http/fields.hpp>
#include <boost/beast/http/message.hpp>

#include "config/config.hpp"

namespace dockmaster::net {

/// The CORS decisions of the manager, from the configured policy.
class cors_responder {
 public:
  using request_header = boost::beast::http::request_header<>;
  using response_header = boost::beast::http::response_header<>;

  explicit cors_responder(config::cors_policy policy);

  /// False when no origin is allowed: requests pass through untouched.
  bool enabled() const;

  /// An OPTIONS request with Origin and Access-Control-Request-Method.
  static bool is_preflight(const request_header& request);

  bool origin_allowed(std::string_view origin) const;

  /// Fills the answer to a preflight: 204 with the Allow-* headers when the origin,
  /// method and headers are allowed; 403 with no CORS header otherwise.
  void answer_preflight(const request_header& request, response_header& response) const;

  /// Adds Access-Control-Allow-Origin (and -Credentials, -Expose-Headers, Vary) to a
  /// proxied response when `origin` is allowed; adds nothing otherwise. Never sends
  /// credentials together with "*": with credentials the origin is echoed instead.
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
