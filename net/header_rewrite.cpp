#include "net/header_rewrite.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
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

/// The options of a message's Connection field(s): whether "upgrade" is one, and the
/// header names it lists for this hop only (beyond the standard "keep-alive" and
/// "close", whose headers go anyway or do not exist).
struct connection_options {
  bool lists_upgrade = false;
  std::vector<std::string> named;  // copied: the Connection fields are erased
};

connection_options read_connection(const head_fields& fields) {
  connection_options options;
  // A walk over the list, not equal_range: that compares names as strings down the tree.
  for (const auto& field : fields) {
    if (field.name() != http::field::connection) continue;
    for_each_element(field.value(), [&](std::string_view option) {
      if (iequals_ascii(option, "upgrade"))
        options.lists_upgrade = true;
      else if (!iequals_ascii(option, "keep-alive") && !iequals_ascii(option, "close"))
        options.named.emplace_back(option);
    });
  }
  return options;
}

bool named_by(const std::vector<std::string>& named, std::string_view name) {
  for (const auto& n : named)
    if (iequals_ascii(n, name)) return true;
  return false;
}

/// Removes the hop-by-hop headers, those named by Connection and the fixed list, in one
/// walk over the fields (no lookup per name). With `keep_upgrade` and an upgrade offer
/// (an Upgrade header, and "upgrade" in Connection), Upgrade stays and Connection
/// becomes exactly "Upgrade". Returns whether it did.
bool remove_hop_by_hop(head_fields& fields, bool keep_upgrade) {
  const auto connection = read_connection(fields);
  const bool may_keep_upgrade = keep_upgrade && connection.lists_upgrade;
  bool upgrade_kept = false;
  for (auto it = fields.begin(); it != fields.end();) {
    bool drop = false;
    switch (it->name()) {
      // Proxy-Authorization/-Authenticate carry credentials for a proxy hop; nginx
      // passes Proxy-Authorization through, but nothing upstream of the manager should
      // see a client's proxy credentials, so both are dropped in both directions.
      case http::field::connection:
      case http::field::keep_alive:
      case http::field::proxy_connection:
      case http::field::te:
      case http::field::trailer:
      case http::field::proxy_authorization:
      case http::field::proxy_authenticate:
        drop = true;
        break;
      case http::field::upgrade:
        drop = !may_keep_upgrade;
        upgrade_kept = upgrade_kept || may_keep_upgrade;
        break;
      // Transfer-Encoding and Content-Length frame the body, which is relayed as is:
      // dropping them because a peer listed them would desynchronise the message
      // boundaries (request smuggling). Host is required by HTTP/1.1 upstreams.
      case http::field::transfer_encoding:
      case http::field::content_length:
      case http::field::host:
        break;
      default:
        drop = !connection.named.empty() && named_by(connection.named, it->name_string());
    }
    it = drop ? fields.erase(it) : std::next(it);
  }
  if (upgrade_kept) fields.insert(http::field::connection, "Upgrade");
  return upgrade_kept;
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
  // Two hex digits per step.
  static constexpr auto pairs = [] {
    constexpr char hex[] = "0123456789abcdef";
    std::array<char, 512> table{};
    for (std::size_t byte = 0; byte < 256; ++byte) {
      table[2 * byte] = hex[byte >> 4];
      table[2 * byte + 1] = hex[byte & 0xf];
    }
    return table;
  }();
  std::string id(32, '0');
  for (std::size_t half = 0; half < 2; ++half) {
    std::uint64_t bits = generator();
    for (std::size_t i = 0; i < 8; ++i) {
      std::memcpy(&id[half * 16 + 14 - 2 * i], &pairs[2 * (bits & 0xff)], 2);
      bits >>= 8;
    }
  }
  return id;
}

std::string prepare_upstream_request(request_head& request, const forwarding_info& info,
                                     bool keep_upgrade) {
  remove_hop_by_hop(request, keep_upgrade);

  // The forwarding headers in one walk: these names have no field code in Beast, so a
  // lookup per name would compare strings along the whole tree each time. For the same
  // reason they are inserted as field::unknown: no name lookup in Beast's table.
  std::vector<head_fields::const_iterator> forwarded_for;
  std::vector<head_fields::const_iterator> request_ids;
  bool has_proto = false;
  bool has_forwarded_host = false;
  std::string_view host;
  for (auto it = request.begin(); it != request.end(); ++it) {
    if (it->name() == http::field::host) {
      host = it->value();
      continue;
    }
    if (it->name() != http::field::unknown) continue;
    const auto name = it->name_string();
    if (iequals_ascii(name, x_forwarded_for))
      forwarded_for.push_back(it);
    else if (iequals_ascii(name, x_request_id))
      request_ids.push_back(it);
    else if (iequals_ascii(name, x_forwarded_proto))
      has_proto = true;
    else if (iequals_ascii(name, x_forwarded_host))
      has_forwarded_host = true;
  }

  // X-Forwarded-For grows by one hop: earlier proxies' entries stay, in order, and
  // several fields are merged into one list.
  if (!info.client_address.empty()) {
    std::string chain;
    for (const auto& it : forwarded_for) {
      const auto value = trim(it->value());
      if (value.empty()) continue;
      if (!chain.empty()) chain += ", ";
      chain += value;
    }
    if (!chain.empty()) chain += ", ";
    chain += info.client_address;
    for (const auto& it : forwarded_for) request.erase(it);
    request.insert(http::field::unknown, x_forwarded_for, chain);
  }
  // Kept when present: the manager may itself sit behind a TLS terminator that set them.
  if (!has_proto && !info.scheme.empty())
    request.insert(http::field::unknown, x_forwarded_proto, info.scheme);
  // (Each field has storage of its own: `host` stays valid across the insert.)
  if (!has_forwarded_host && !host.empty()) request.insert(http::field::unknown, x_forwarded_host, host);

  // Upstream connections are pooled HTTP/1.1 whatever the client spoke.
  request.version(11);

  if (request_ids.size() == 1 && acceptable_request_id(request_ids.front()->value()))
    return std::string{request_ids.front()->value()};
  // Absent, unacceptable, or ambiguous (several fields): a new one.
  for (const auto& it : request_ids) request.erase(it);
  std::string id = new_request_id();
  request.insert(http::field::unknown, x_request_id, id);
  return id;
}

void add_request_id_unless_present(response_head& response, std::string_view id) {
  for (const auto& field : response)
    if (field.name() == http::field::unknown && iequals_ascii(field.name_string(), x_request_id)) return;
  response.insert(http::field::unknown, x_request_id, id);
}

void prepare_client_response(response_head& response, bool keep_upgrade) {
  remove_hop_by_hop(response, keep_upgrade && response.result() == http::status::switching_protocols);
}

}  // namespace dockmaster::net
