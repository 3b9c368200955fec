#include "net/cors.hpp"

#include <algorithm>
#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include <boost/beast/http/field.hpp>
#include <boost/beast/http/verb.hpp>

#include "net/http_text.hpp"

namespace dockmaster::net {

namespace http = boost::beast::http;

namespace {

std::string join(const std::vector<std::string>& items) {
  std::string joined;
  for (const auto& item : items) {
    if (!joined.empty()) joined += ", ";
    joined += item;
  }
  return joined;
}

bool contains(const std::vector<std::string>& items, std::string_view value) {
  return std::find(items.begin(), items.end(), value) != items.end();
}

bool contains_ignoring_case(const std::vector<std::string>& items, std::string_view value) {
  return std::any_of(items.begin(), items.end(),
                     [&](const std::string& item) { return iequals_ascii(item, value); });
}

/// Adds `token` to the response's Vary unless it is already listed or Vary is "*"
/// (which covers every header). An upstream's Vary is extended, never replaced: it may
/// vary on Accept-Encoding or a cookie, and dropping that would let caches mix
/// responses up. Several Vary fields are merged into one.
void append_vary(cors_responder::response_header& response, std::string_view token) {
  std::string merged;
  bool present = false;
  // Beast keeps fields of one name next to each other, so equal_range spans them all.
  const auto range = response.equal_range(http::field::vary);
  for (auto it = range.first; it != range.second; ++it) {
    const std::string_view value = it->value();
    for_each_element(value, [&](std::string_view element) {
      if (element == "*" || iequals_ascii(element, token)) present = true;
    });
    if (trim(value).empty()) continue;
    if (!merged.empty()) merged += ", ";
    merged += trim(value);
  }
  if (present) return;
  if (!merged.empty()) merged += ", ";
  merged += token;
  response.set(http::field::vary, merged);
}

/// The request's Access-Control-Request-Headers, several fields taken as one list.
std::string requested_headers(const cors_responder::request_header& request) {
  std::string list;
  auto range = request.equal_range(http::field::access_control_request_headers);
  for (auto it = range.first; it != range.second; ++it) {
    if (!list.empty()) list += ", ";
    list += trim(it->value());
  }
  return list;
}

void erase_cors_fields(cors_responder::response_header& response) {
  for (const auto name :
       {http::field::access_control_allow_origin, http::field::access_control_allow_credentials,
        http::field::access_control_allow_methods, http::field::access_control_allow_headers,
        http::field::access_control_expose_headers, http::field::access_control_max_age})
    response.erase(name);
}

}  // namespace

cors_responder::cors_responder(config::cors_policy policy)
    : policy_(std::move(policy)),
      any_origin_(contains(policy_.allow_origins, "*")),
      allow_methods_(join(policy_.allow_methods)),
      allow_headers_(join(policy_.allow_headers)),
      expose_headers_(join(policy_.expose_headers)),
      max_age_(std::to_string(std::max<std::chrono::seconds::rep>(0, policy_.max_age.count()))) {}

bool cors_responder::enabled() const { return !policy_.allow_origins.empty(); }

bool cors_responder::is_preflight(const request_header& request) {
  return request.method() == http::verb::options && request.count(http::field::origin) > 0 &&
         request.count(http::field::access_control_request_method) > 0;
}

bool cors_responder::origin_allowed(std::string_view origin) const {
  // No Origin: not a cross-origin browser request, nothing to allow. Origins compare
  // case-insensitively because their scheme and host do, so a config written
  // "https://App.example.com" still matches what browsers send (lowercase).
  if (origin.empty() || !enabled()) return false;
  return any_origin_ || contains_ignoring_case(policy_.allow_origins, origin);
}

void cors_responder::answer_preflight(const request_header& request, response_header& response) const {
  const std::string_view origin = request[http::field::origin];
  const std::string_view method = trim(request[http::field::access_control_request_method]);
  const std::string headers = requested_headers(request);

  // Methods compare case-sensitively, as the browser itself compares the request method
  // with Access-Control-Allow-Methods: allowing "patch" for a configured "PATCH" would
  // only produce a preflight the browser then rejects. "*" in the list allows any.
  const bool any_method = contains(policy_.allow_methods, "*");
  const bool any_header = contains(policy_.allow_headers, "*");
  bool allowed = origin_allowed(origin) && !method.empty() &&
                 (any_method || contains(policy_.allow_methods, method));
  if (allowed && !any_header) {
    for_each_element(headers, [&](std::string_view name) {
      if (!contains_ignoring_case(policy_.allow_headers, name)) allowed = false;
    });
  }

  // Whatever was in `response` before, the answer carries only this policy's headers.
  erase_cors_fields(response);
  // Vary on both outcomes: the answer depends on these three request headers, and a
  // cache must not hand one origin's refusal (or approval) to another.
  append_vary(response, "Origin");
  append_vary(response, "Access-Control-Request-Method");
  append_vary(response, "Access-Control-Request-Headers");
  response.set(http::field::content_length, "0");

  if (!allowed) {
    // No CORS header at all: the browser then blocks the actual request, and says why
    // in its console, without learning anything about the policy.
    response.result(http::status::forbidden);
    return;
  }

  response.result(http::status::no_content);
  // "*" only for any origin without credentials; browsers reject "*" on a credentialed
  // request, so with credentials (or an explicit list) the origin is echoed.
  const bool wildcard = any_origin_ && !policy_.allow_credentials;
  response.set(http::field::access_control_allow_origin, wildcard ? std::string_view{"*"} : origin);
  // A "*" entry is answered with what was asked rather than with "*", because "*" is a
  // literal with credentials and never covers Authorization.
  response.set(http::field::access_control_allow_methods, any_method ? method : std::string_view{allow_methods_});
  const std::string_view allow_headers = any_header ? std::string_view{headers} : std::string_view{allow_headers_};
  if (!allow_headers.empty()) response.set(http::field::access_control_allow_headers, allow_headers);
  response.set(http::field::access_control_max_age, max_age_);
  if (policy_.allow_credentials) response.set(http::field::access_control_allow_credentials, "true");
}

void cors_responder::decorate(std::string_view origin, response_header& response) const {
  if (!origin_allowed(origin)) return;

  // set() replaces what the upstream may have sent: with CORS configured here, the
  // manager's policy is the one browsers see, not a mix of two.
  const bool wildcard = any_origin_ && !policy_.allow_credentials;
  response.set(http::field::access_control_allow_origin, wildcard ? std::string_view{"*"} : origin);
  if (policy_.allow_credentials)
    response.set(http::field::access_control_allow_credentials, "true");
  else
    response.erase(http::field::access_control_allow_credentials);  // the policy says no
  if (!expose_headers_.empty()) response.set(http::field::access_control_expose_headers, expose_headers_);
  // Even with "*" the response varies on Origin: a request without one gets no header.
  append_vary(response, "Origin");
}

}  // namespace dockmaster::net
