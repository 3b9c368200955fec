// A request body relayed as the proxy relays it (upstream_exchange::read_request_body
// and write_piece): Beast's request_parser<buffer_body> decodes the client's body into
// pieces of the proxy's body buffer, and each piece goes upstream as is, or, for a
// chunked request, as a chunk of its own (append_chunk_size + piece + CRLF) with
// last_chunk at the end. What goes upstream (the head from append_request_head, then
// the pieces) must parse again as one complete request, with the same framing and a
// body byte-identical to the one decoded from the client.
//
// Input: one byte that chooses the size of the body buffer (the proxy's 32 KiB, or a
// smaller one, so that small inputs fill several pieces), then the request.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/buffer.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include "net/header_rewrite.hpp"
#include "net/http_wire.hpp"

namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = dockmaster::net;

/// proxy_worker::body_buffer_size (not included: its header brings the actor system).
constexpr std::size_t proxy_piece_size = 32 * 1024;
/// As config's limit defaults: the proxy sets them on every request parser.
constexpr std::uint32_t header_limit = 16 * 1024;
constexpr std::uint64_t body_limit = 100ull * 1024 * 1024;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  static const std::size_t piece_sizes[] = {proxy_piece_size, 1, 2, 3, 5, 8, 16, 100, 4096};
  const std::size_t piece_size = piece_sizes[data[0] % (sizeof piece_sizes / sizeof *piece_sizes)];
  std::string_view in(reinterpret_cast<const char*>(data + 1), size - 1);

  http::request_parser<http::buffer_body, net::head_allocator<char>> client;
  client.header_limit(header_limit);
  client.body_limit(body_limit);
  beast::error_code ec;
  std::size_t used = client.put(boost::asio::buffer(in.data(), in.size()), ec);
  if (ec || !client.is_header_done()) return 0;
  in.remove_prefix(used);

  auto& request = client.get();
  const bool chunked = client.chunked();
  const auto length = client.content_length();
  dockmaster::net::prepare_upstream_request(request, {"192.0.2.1", "http"});
  std::string wire;
  dockmaster::net::append_request_head(request, wire);

  // The body, a piece per filled body buffer, as on_request_body relays it.
  std::vector<char> buffer(piece_size);
  std::string decoded;
  while (!client.is_done()) {
    auto& body = request.body();
    body.data = buffer.data();
    body.size = buffer.size();
    used = client.put(boost::asio::buffer(in.data(), in.size()), ec);
    in.remove_prefix(used);
    if (ec == http::error::need_buffer) ec = {};
    if (ec) return 0;  // a broken body, or the input ends within it: nothing is complete
    const std::size_t got = buffer.size() - body.size;
    if (got == 0 && used == 0 && !client.is_done()) return 0;  // no progress possible
    decoded.append(buffer.data(), got);
    if (chunked && got > 0) {
      dockmaster::net::append_chunk_size(got, wire);
      wire.append(buffer.data(), got);
      wire.append("\r\n");
    } else if (got > 0) {
      wire.append(buffer.data(), got);
    }
    if (chunked && client.is_done()) wire.append(dockmaster::net::last_chunk);
  }

  http::request_parser<http::string_body> upstream;
  upstream.header_limit(header_limit + 4096);  // the proxy's added fields
  upstream.body_limit(body_limit);
  used = upstream.put(boost::asio::buffer(wire.data(), wire.size()), ec);
  std::size_t total = used;
  // The head first; put() takes the body in further calls.
  while (!ec && !upstream.is_done() && used > 0) {
    used = upstream.put(boost::asio::buffer(wire.data() + total, wire.size() - total), ec);
    total += used;
  }
  if (ec || !upstream.is_done() || total != wire.size()) __builtin_trap();
  if (upstream.chunked() != chunked || upstream.content_length() != length) __builtin_trap();
  if (upstream.get().body() != decoded) __builtin_trap();
  return 0;
}
