#pragma once

#include <string>
#include <string_view>

#include <boost/beast/http/fields.hpp>
#include <boost/beast/http/message.hpp>

namespace dockmaster::net {

/// What the proxy knows about the client side of a request.
struct forwarding_info {
  std::string_view client_address;  // peer IP, no port
  std::string_view scheme = "http";
};

/// A new random request id (32 hex digits).
std::string new_request_id();

/// Turns a client request header into the one sent upstream, in place: removes the
/// hop-by-hop headers (Connection and every header it names, Keep-Alive,
/// Proxy-Connection, TE, Trailer, Upgrade, Proxy-Authorization) but keeps
/// Transfer-Encoding/Content-Length, which describe the body relayed as is; keeps Host;
/// appends the client to X-Forwarded-For; sets X-Forwarded-Proto and X-Forwarded-Host
/// (unless already present); sets HTTP/1.1. Adds X-Request-Id when absent.
/// Returns the request id. With `keep_upgrade`, Connection: upgrade and Upgrade stay
/// (WebSocket handshakes).
std::string prepare_upstream_request(boost::beast::http::request_header<>& request,
                                     const forwarding_info& info, bool keep_upgrade = false);

/// Removes hop-by-hop headers from an upstream response before it goes to the client
/// (Transfer-Encoding and Content-Length stay). With `keep_upgrade`, a 101's
/// Connection/Upgrade stay.
void prepare_client_response(boost::beast::http::response_header<>& response,
                             bool keep_upgrade = false);

}  // namespace dockmaster::net
