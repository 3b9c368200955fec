#include "net/request_checks.hpp"

#include <array>

#include "net/http_text.hpp"

namespace dockmaster::net {

namespace http = boost::beast::http;

namespace {

/// tchar of RFC 9110 §5.6.2: what a token (a transfer coding's name) is made of.
bool is_tchar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  switch (c) {
    case '!': case '#': case '$': case '%': case '&': case '\'': case '*': case '+':
    case '-': case '.': case '^': case '_': case '`': case '|': case '~':
      return true;
    default:
      return false;
  }
}

bool is_token(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (!is_tchar(c)) return false;
  return true;
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }

/// The characters of a reg-name host that are let through: unreserved and '%' (RFC 3986
/// §3.2.2; sub-delims are refused on purpose). A table: a host is checked per request.
constexpr std::array<bool, 256> host_chars = [] {
  std::array<bool, 256> table{};
  for (int c = 'a'; c <= 'z'; ++c) table[c] = true;
  for (int c = 'A'; c <= 'Z'; ++c) table[c] = true;
  for (int c = '0'; c <= '9'; ++c) table[c] = true;
  for (char c : {'-', '.', '_', '~', '%'}) table[static_cast<unsigned char>(c)] = true;
  return table;
}();

bool is_hex(char c) {
  return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

bool starts_with_ignoring_case(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && iequals_ascii(s.substr(0, prefix.size()), prefix);
}

/// The verdict on every Transfer-Encoding field of a request taken together.
enum class coding_verdict { chunked, unsupported, malformed };

coding_verdict judge_transfer_codings(const request_head& head) {
  int codings = 0;
  bool chunked_last = false;
  bool malformed = false;
  bool chunked_before = false;
  for (const auto& field : head) {
    if (field.name() != http::field::transfer_encoding) continue;
    std::string_view value = field.value();
    if (trim(value).empty()) malformed = true;  // an empty field says nothing sane
    for_each_element(value, [&](std::string_view coding) {
      // Parameters are grammar (`gzip;q=1`) but none is defined for chunked, and an
      // upstream that does not strip them would not see a chunked body: refused.
      if (!is_token(coding)) malformed = true;
      auto name = coding;
      if (chunked_last) chunked_before = true;  // something follows a chunked
      chunked_last = iequals_ascii(name, "chunked");
      ++codings;
    });
  }
  // Chunked applied twice, chunked not last, or bytes that are not a token: the body's
  // length cannot be known (§6.3 item 4).
  if (malformed || chunked_before || !chunked_last) return coding_verdict::malformed;
  return codings == 1 ? coding_verdict::chunked : coding_verdict::unsupported;
}

bool valid_port(std::string_view port) {
  if (port.size() > 5) return false;
  for (char c : port)
    if (!is_digit(c)) return false;
  return true;
}

}  // namespace

bool valid_authority(std::string_view authority) {
  if (authority.empty()) return false;
  std::string_view rest;
  if (authority.front() == '[') {
    auto close = authority.find(']');
    if (close == std::string_view::npos || close < 2) return false;
    for (char c : authority.substr(1, close - 1))
      if (!is_hex(c) && c != ':' && c != '.') return false;
    rest = authority.substr(close + 1);
  } else {
    auto colon = authority.find(':');
    auto host = authority.substr(0, colon);
    if (host.empty()) return false;
    for (char c : host)
      if (!host_chars[static_cast<unsigned char>(c)]) return false;
    rest = colon == std::string_view::npos ? std::string_view() : authority.substr(colon);
  }
  if (rest.empty()) return true;
  return rest.front() == ':' && valid_port(rest.substr(1));
}

std::optional<request_refusal> check_request_head(const request_head& head, bool chunked,
                                                  request_facts& facts) {
  facts = request_facts{};
  int hosts = 0;
  int transfer_encodings = 0;
  int content_lengths = 0;
  std::string_view host_field;
  for (const auto& field : head) {
    switch (field.name()) {
      case http::field::host:
        if (++hosts == 1) host_field = field.value();
        break;
      case http::field::transfer_encoding:
        ++transfer_encodings;
        break;
      case http::field::content_length:
        ++content_lengths;
        if (field.value().find(',') != std::string_view::npos) facts.content_length_repeated = true;
        break;
      case http::field::origin:
        if (facts.origin.empty()) facts.origin = field.value();
        break;
      case http::field::expect:
        if (facts.expect.empty()) facts.expect = field.value();
        break;
      default:
        break;
    }
  }
  if (content_lengths > 1) facts.content_length_repeated = true;

  // -- framing (RFC 9112 §6) --------------------------------------------------------
  if (transfer_encodings > 0) {
    if (head.version() < 11)
      return request_refusal{http::status::bad_request, "Transfer-Encoding in an HTTP/1.0 request"};
    if (content_lengths > 0)
      return request_refusal{http::status::bad_request,
                             "Transfer-Encoding together with Content-Length"};
    switch (judge_transfer_codings(head)) {
      case coding_verdict::malformed:
        return request_refusal{http::status::bad_request,
                               "Transfer-Encoding does not end in one chunked"};
      case coding_verdict::unsupported:
        return request_refusal{http::status::not_implemented,
                               "transfer coding other than chunked"};
      case coding_verdict::chunked:
        break;
    }
  }
  if (chunked != (transfer_encodings > 0))
    return request_refusal{http::status::bad_request, "ambiguous request framing"};

  // -- the target (RFC 9112 §3.2) ---------------------------------------------------
  if (head.method() == http::verb::connect)
    return request_refusal{http::status::not_implemented, "CONNECT is not supported"};
  std::string_view target = head.target();
  if (target.find('#') != std::string_view::npos)
    return request_refusal{http::status::bad_request, "fragment in the request target"};
  if (!target.empty() && target.front() == '/') {
    facts.path = target;
  } else if (target == "*") {
    if (head.method() != http::verb::options)
      return request_refusal{http::status::bad_request, "asterisk-form target outside OPTIONS"};
    facts.asterisk_form = true;
    facts.path = target;
  } else if (starts_with_ignoring_case(target, "http://") ||
             starts_with_ignoring_case(target, "https://")) {
    auto after_scheme = target.substr(target.find("//") + 2);
    auto authority_end = after_scheme.find_first_of("/?");
    auto authority = after_scheme.substr(0, authority_end);
    if (authority.find('@') != std::string_view::npos)
      return request_refusal{http::status::bad_request, "userinfo in the request target"};
    if (!valid_authority(authority))
      return request_refusal{http::status::bad_request, "invalid authority in the request target"};
    auto path = authority_end == std::string_view::npos ? std::string_view()
                                                        : after_scheme.substr(authority_end);
    // "http://host?query" has no path to give upstream as it is; clients send a "/".
    if (!path.empty() && path.front() != '/')
      return request_refusal{http::status::bad_request, "absolute-form target without a path"};
    facts.absolute_form = true;
    facts.host = authority;
    facts.path = path.empty() ? std::string_view("/") : path;
  } else {
    return request_refusal{http::status::bad_request, "request target is not a path or URL"};
  }

  // -- Host (RFC 9112 §3.2, RFC 9110 §7.2) -------------------------------------------
  if (hosts > 1)
    return request_refusal{http::status::bad_request, "several Host headers"};
  if (hosts == 0 && head.version() >= 11)
    return request_refusal{http::status::bad_request, "missing Host header"};
  // An empty Host is what a client sends for a target without an authority (§3.2).
  if (hosts == 1 && !host_field.empty() && !valid_authority(host_field))
    return request_refusal{http::status::bad_request, "invalid Host header"};
  if (!facts.absolute_form) facts.host = host_field;
  facts.host_missing = hosts == 0 && !facts.absolute_form;
  return std::nullopt;
}

}  // namespace dockmaster::net
