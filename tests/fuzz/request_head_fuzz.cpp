// The head of a client request on its way upstream, as client_session::route_request
// and upstream_exchange::start_sending handle it: Beast parses the header with the
// proxy's limits, check_request_head (net/request_checks.hpp) refuses what an upstream
// could frame or route differently, the route table picks a route from the checked host
// and path, the head is rewritten (an absolute-form target's authority as Host and its
// path as target, a repeated Content-Length as one, prepare_upstream_request, the
// route's prefix stripped, the instance's address as Host when an HTTP/1.0 client sent
// none) and append_request_head writes it. What goes upstream must parse again strictly
// and pass the same checks: at most one Content-Length, never with Transfer-Encoding,
// exactly one Host, the same framing (chunked, or the same length, or neither) as the
// client's, and the host and path that routed it.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <boost/asio/buffer.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/websocket/rfc6455.hpp>

#include "net/header_rewrite.hpp"
#include "net/http_text.hpp"
#include "net/http_wire.hpp"
#include "net/request_checks.hpp"
#include "net/route_table.hpp"

namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = dockmaster::net;

/// As config's limit defaults: the proxy sets them on every request parser.
constexpr std::uint32_t header_limit = 16 * 1024;
constexpr std::uint64_t body_limit = 100ull * 1024 * 1024;
/// The configured address of the instance the request goes to.
constexpr std::string_view instance = "backend:8000";

dockmaster::config::route make_route(std::string prefix, std::string service, std::string host,
                                     bool strip_prefix) {
  dockmaster::config::route route;
  route.prefix = std::move(prefix);
  route.service = std::move(service);
  route.host = std::move(host);
  route.strip_prefix = strip_prefix;
  return route;
}

const net::route_table& routes() {
  static const net::route_table table{{
      make_route("/", "frontend", "", false),
      make_route("/api/", "backend", "", true),
      make_route("/api/admin", "admin", "", false),
      make_route("/", "shop", "shop.example.com", false),
      make_route("/static", "static", "[::1]", true),
  }};
  return table;
}

using head_parser = http::request_parser<http::buffer_body, net::head_allocator<char>>;

/// Parses the header alone, as async_read_header does with all of `in` received.
/// Returns the bytes used, or 0 when there is no complete, valid header.
std::size_t parse_head(head_parser& parser, std::string_view in, std::uint32_t limit) {
  parser.header_limit(limit);
  parser.body_limit(body_limit);
  beast::error_code ec;
  const std::size_t used = parser.put(boost::asio::buffer(in.data(), in.size()), ec);
  if (ec || !parser.is_header_done()) return 0;
  return used;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  head_parser client;
  if (parse_head(client, in, header_limit) == 0) return 0;
  auto& request = client.get();
  const bool chunked = client.chunked();
  const auto length = client.content_length();

  net::request_facts facts;
  if (net::check_request_head(request, chunked, facts)) return 0;  // answered by the proxy
  if (facts.asterisk_form) return 0;                                // OPTIONS *: likewise
  const auto* route = routes().match(facts.host, facts.path);
  if (route == nullptr) return 0;  // 404

  // What the head becomes upstream, in route_request's order. The facts point into the
  // head: copied first.
  const bool upgrade = client.upgrade() && beast::websocket::is_upgrade(request);
  const std::string path(facts.path);
  // The host the upstream must read: the one that routed, or the instance's.
  const std::string routed_host = facts.host_missing ? std::string(instance) : std::string(facts.host);
  if (facts.absolute_form) {
    const std::string host(facts.host);
    request.target(path);
    request.set(http::field::host, host);
  }
  if (facts.content_length_repeated) request.content_length(*length);
  net::prepare_upstream_request(request, {"192.0.2.1", "http"}, upgrade);
  if (route->strip_prefix) request.target(net::route_table::upstream_target(*route, path));
  const std::string upstream_target(request.target());
  // start_sending: HTTP/1.1 needs a Host.
  if (facts.host_missing) request.set(http::field::host, instance);
  std::string head;
  net::append_request_head(request, head);

  head_parser upstream;
  if (parse_head(upstream, head, header_limit + 4096) != head.size()) __builtin_trap();
  const auto& sent = upstream.get();
  int hosts = 0;
  int content_lengths = 0;
  int transfer_encodings = 0;
  for (const auto& field : sent) {
    if (field.name() == http::field::host) ++hosts;
    if (field.name() == http::field::content_length) ++content_lengths;
    if (field.name() == http::field::transfer_encoding) ++transfer_encodings;
  }
  if (hosts != 1) __builtin_trap();
  if (content_lengths > 1) __builtin_trap();
  if (content_lengths > 0 && transfer_encodings > 0) __builtin_trap();
  if (upstream.chunked() != chunked || upstream.content_length() != length) __builtin_trap();
  if (sent.version() != 11) __builtin_trap();

  // The upstream's view: it passes the same checks, reads the host that routed it and
  // the path it was meant to get.
  net::request_facts seen;
  if (net::check_request_head(sent, upstream.chunked(), seen)) __builtin_trap();
  if (seen.absolute_form || seen.content_length_repeated) __builtin_trap();
  if (seen.host != routed_host || seen.path != upstream_target) __builtin_trap();
  return 0;
}
