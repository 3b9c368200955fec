// The head of an upstream response on its way to the client, as
// upstream_exchange::on_response_header handles it: Beast parses the header (buffer_body,
// no body limit), then prepare_client_response, add_request_id_unless_present and
// append_response_head write the head the client gets. That head must parse again, as
// one complete head and nothing more, with the same status and the same framing
// (chunked, or the same Content-Length, or neither): a client that read the body
// otherwise than the proxy relays it would be desynchronised.

#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>

#include <boost/asio/buffer.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/parser.hpp>

#include "net/header_rewrite.hpp"
#include "net/http_wire.hpp"

namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = dockmaster::net;

using head_parser = http::response_parser<http::buffer_body, net::head_allocator<char>>;

/// Parses the header alone from `in`, as async_read_header does with all of `in`
/// received. Returns the bytes used, or 0 when there is no complete, valid header.
std::size_t parse_head(head_parser& parser, std::string_view in) {
  // Not boost::none: see read_response_header.
  parser.body_limit(std::numeric_limits<std::uint64_t>::max());
  beast::error_code ec;
  const std::size_t used = parser.put(boost::asio::buffer(in.data(), in.size()), ec);
  if (ec || !parser.is_header_done()) return 0;
  return used;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  head_parser upstream;
  if (parse_head(upstream, in) == 0) return 0;

  auto& response = upstream.get();
  const unsigned status = response.result_int();
  const bool chunked = upstream.chunked();
  const auto length = upstream.content_length();
  const bool keep_alive = upstream.keep_alive();

  dockmaster::net::prepare_client_response(response);
  dockmaster::net::add_request_id_unless_present(response, "0123456789abcdef0123456789abcdef");
  response.keep_alive(keep_alive);
  std::string head;
  dockmaster::net::append_response_head(response, head);

  head_parser client;
  if (parse_head(client, head) != head.size()) __builtin_trap();  // not one valid head
  if (client.get().result_int() != status) __builtin_trap();
  if (client.chunked() != chunked) __builtin_trap();
  if (client.content_length() != length) __builtin_trap();
  if (client.keep_alive() != keep_alive) __builtin_trap();
  return 0;
}
