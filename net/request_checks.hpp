#pragma once

#include <optional>
#include <string_view>

#include <boost/beast/http/status.hpp>

#include "net/head_fields.hpp"

namespace dockmaster::net {

/// Why a request is answered by the proxy itself before anything of it goes upstream.
/// The connection is closed after the answer: what follows on it cannot be trusted.
struct request_refusal {
  boost::beast::http::status status;
  std::string_view reason;
};

/// What routing and forwarding use from a request head that passed the checks. The
/// views point into the head.
struct request_facts {
  /// The authority the request is for: the absolute-form target's, else Host's.
  std::string_view host;
  /// The target in origin form (path and query): what goes upstream.
  std::string_view path;
  /// The target was absolute-form (`GET http://host/path HTTP/1.1`): its authority
  /// replaces Host on the way upstream, so the upstream reads the host that routed.
  bool absolute_form = false;
  /// `OPTIONS *`: a question about the proxy itself, answered locally.
  bool asterisk_form = false;
  std::string_view origin;
  std::string_view expect;
  /// Several Content-Length fields (or a list) of one value: sent on as one field.
  bool content_length_repeated = false;
  /// No Host at all (HTTP/1.0): the upstream, which gets HTTP/1.1, gets one.
  bool host_missing = false;
};

/// Checks a parsed request head for what Beast's parser lets through but an upstream
/// could read differently (RFC 9112 §2-§7, RFC 9110 §7.2):
/// - Transfer-Encoding: only exactly `chunked` is relayed; a list that ends in chunked
///   with other codings gets 501, anything else (chunked not last, twice, quoted,
///   with parameters, bytes outside tokens) 400; on HTTP/1.0, 400; together with Content-Length, 400.
/// - Host: exactly one on HTTP/1.1 (none on 1.0 is fine); its value an authority
///   (host or [IPv6] and an optional port) with nothing an upstream could split on;
/// - the target: origin-form, absolute-form (http/https, no userinfo) or `OPTIONS *`;
///   CONNECT gets 501.
/// `chunked` is the parser's own verdict (Beast's `parser::chunked()`), which must
/// agree with the fields for the request to pass.
std::optional<request_refusal> check_request_head(
    const request_head& head, bool chunked, request_facts& facts);

/// True for an authority (`host[:port]`, `[v6][:port]`) made only of characters no
/// upstream splits on: letters, digits, `-._~%`, and the colon and brackets.
bool valid_authority(std::string_view authority);

}  // namespace dockmaster::net
