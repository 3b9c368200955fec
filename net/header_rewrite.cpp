#include "net/header_rewrite.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include <boost/beast/http/field.hpp>
#include <boost/beast/http/status.hpp>

#include "net/http_text.hpp"

namespace dockmaster::net {

namespace http = boost::beast::http;

namespace {

constexpr std::string_view x_forwarded_for = "X-Forwarded-For";
constexpr std::string_view x_forwarded_proto = "X-Forwarded-Proto";
constexpr std::string_view x_forwarded_host = "X-Forwarded-Host";
constexpr std::string_view x_request_id = "X-Request-Id";

/// A client-sent request id longer than this is replaced: it ends up in every log line
/// of the request, and an unbounded one would let a client bloat the logs.
constexpr std::size_t max_request_id_length = 200;

/// Whether a Connection field lists the "upgrade" option. An Upgrade header without it
/// is not an upgrade offer (RFC 9110 7.8 requires both), so it is not kept.
bool connection_lists_upgrade(const http::fields& fields) {
  bool found = false;
  const auto range = fields.equal_range(http::field::connection);
  for (auto it = range.first; it != range.second; ++it)
    for_each_element(it->value(), [&](std::string_view option) {
      if (iequals_ascii(option, "upgrade")) found = true;
    });
  return found;
}

/// Removes the hop-by-hop headers: those named by Connection and the fixed list.
/// With `keep_upgrade`, Upgrade stays and Connection becomes exactly "Upgrade".
void remove_hop_by_hop(http::fields& fields, bool keep_upgrade) {
  // Connection names the headers meant for this hop only. Collected first because
  // erasing fields while walking Connection's value would invalidate it.
  std::vector<std::string> named;
  const auto range = fields.equal_range(http::field::connection);
  for (auto it = range.first; it != range.second; ++it)
    for_each_element(it->value(), [&](std::string_view option) { named.emplace_back(option); });
  for (const auto& name : named) {
    // Transfer-Encoding and Content-Length frame the body, which is relayed as is:
    // dropping them because a peer listed them would desynchronise the message
    // boundaries (request smuggling). Host is required by HTTP/1.1 upstream.
    if (iequals_ascii(name, "transfer-encoding") || iequals_ascii(name, "content-length") ||
        iequals_ascii(name, "host"))
      continue;
    if (keep_upgrade && iequals_ascii(name, "upgrade")) continue;
    fields.erase(name);
  }

  // Proxy-Authorization/-Authenticate carry credentials for a proxy hop; nginx passes
  // Proxy-Authorization through, but nothing upstream of the manager should see a
  // client's proxy credentials, so both are dropped in both directions.
  for (const auto name : {http::field::connection, http::field::keep_alive, http::field::proxy_connection,
                          http::field::te, http::field::trailer, http::field::proxy_authorization,
                          http::field::proxy_authenticate})
    fields.erase(name);
  if (keep_upgrade)
    fields.set(http::field::connection, "Upgrade");
  else
    fields.erase(http::field::upgrade);
}

/// A client-sent id is kept (so that a request can be traced across systems) only when
/// it cannot garble a log line: 1..200 visible ASCII characters. Spaces are refused
/// too, because they would split the id in the text access log.
bool acceptable_request_id(std::string_view id) {
  if (id.empty() || id.size() > max_request_id_length) return false;
  for (const char c : id)
    if (c < '!' || c > '~') return false;
  return true;
}

std::mt19937_64 seeded_generator() {
  // Several words of seed: with one 32-bit random_device value, threads and processes
  // would share generator states far more often than 64-bit ids suggest.
  std::random_device device;
  std::seed_seq seed{device(), device(), device(), device(), device(), device(), device(), device()};
  return std::mt19937_64{seed};
}

}  // namespace

std::string new_request_id() {
  // Not cryptographic on purpose: an id only has to be unique enough to trace a
  // request, and it is made per request. thread_local: no lock, and random_device
  // (a system call) is read once per thread.
  thread_local std::mt19937_64 generator = seeded_generator();
  static constexpr char hex[] = "0123456789abcdef";
  std::string id(32, '0');
  for (std::size_t half = 0; half < 2; ++half) {
    std::uint64_t bits = generator();
    for (std::size_t i = 0; i < 16; ++i) {
      id[half * 16 + 15 - i] = hex[bits & 0xf];
      bits >>= 4;
    }
  }
  return id;
}

std::string prepare_upstream_request(http::request_header<>& request, const forwarding_info& info,
                                     bool keep_upgrade) {
  const bool upgrade =
      keep_upgrade && request.count(http::field::upgrade) > 0 && connection_lists_upgrade(request);
  remove_hop_by_hop(request, upgrade);

  // X-Forwarded-For grows by one hop: earlier proxies' entries stay, in order, and
  // several fields are merged into one list.
  if (!info.client_address.empty()) {
    std::string chain;
    const auto range = request.equal_range(x_forwarded_for);
    for (auto it = range.first; it != range.second; ++it) {
      const auto value = trim(it->value());
      if (value.empty()) continue;
      if (!chain.empty()) chain += ", ";
      chain += value;
    }
    if (!chain.empty()) chain += ", ";
    chain += info.client_address;
    request.set(x_forwarded_for, chain);
  }
  // Kept when present: the manager may itself sit behind a TLS terminator that set them.
  if (request.count(x_forwarded_proto) == 0 && !info.scheme.empty())
    request.set(x_forwarded_proto, info.scheme);
  if (request.count(x_forwarded_host) == 0) {
    const std::string host{request[http::field::host]};
    if (!host.empty()) request.set(x_forwarded_host, host);
  }

  // Upstream connections are pooled HTTP/1.1 whatever the client spoke.
  request.version(11);

  std::string id;
  if (request.count(x_request_id) == 1 && acceptable_request_id(request[x_request_id]))
    id = std::string{request[x_request_id]};
  else
    id = new_request_id();  // absent, unacceptable, or ambiguous (several fields)
  request.set(x_request_id, id);
  return id;
}

void prepare_client_response(http::response_header<>& response, bool keep_upgrade) {
  const bool upgrade = keep_upgrade && response.result() == http::status::switching_protocols &&
                       response.count(http::field::upgrade) > 0 && connection_lists_upgrade(response);
  remove_hop_by_hop(response, upgrade);
}

}  // namespace dockmaster::net
