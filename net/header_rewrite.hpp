#pragma once

#include <string>
#include <string_view>

#include "net/head_fields.hpp"

namespace dockmaster::net {

/// What the proxy knows about the client side of a request.
struct forwarding_info {
  std::string_view client_address;  // peer IP, no port
  std::string_view scheme = "http";
};

/// A new random request id (32 lowercase hex digits). Fast (a thread_local
/// std::mt19937_64 seeded from std::random_device), unique enough for tracing, not
/// unguessable: never use it as a secret.
std::string new_request_id();

/// Turns a client request header into the one sent upstream, in place: removes the
/// hop-by-hop headers (Connection and every header it names, Keep-Alive,
/// Proxy-Connection, TE, Trailer, Upgrade, Proxy-Authorization, Proxy-Authenticate) but
/// keeps Transfer-Encoding/Content-Length, which describe the body relayed as is, even
/// when Connection names them; keeps Host (likewise); appends ", <client>" to
/// X-Forwarded-For (several fields merged into one); sets X-Forwarded-Proto and
/// X-Forwarded-Host (from Host) unless already present; sets HTTP/1.1. Keeps a
/// client-sent X-Request-Id of 1..200 visible ASCII characters (no spaces or controls,
/// which would garble log lines); otherwise (absent, invalid, several) sets a new one.
/// Returns the request id. With `keep_upgrade`, an upgrade offer (Upgrade plus the
/// "upgrade" option in Connection) stays, with Connection set to exactly "Upgrade"
/// (WebSocket handshakes); an Upgrade header without that option is removed anyway.
/// Proxy-Authorization goes although nginx passes it: it holds the client's
/// credentials for a proxy, and no upstream of the manager should receive them.
std::string prepare_upstream_request(request_head& request,
                                     const forwarding_info& info, bool keep_upgrade = false);

/// Removes hop-by-hop headers from an upstream response before it goes to the client,
/// the same list as prepare_upstream_request (Transfer-Encoding and Content-Length
/// stay). With `keep_upgrade`, a 101's Upgrade stays and Connection becomes exactly
/// "Upgrade"; on any other status they are removed.
void prepare_client_response(response_head& response,
                             bool keep_upgrade = false);

/// Adds X-Request-Id: `id` to a response unless the upstream set one itself (a walk
/// over the fields: the name has no field code, so a lookup would compare strings).
void add_request_id_unless_present(response_head& response,
                                   std::string_view id);

}  // namespace dockmaster::net
