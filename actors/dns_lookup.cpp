#include "actors/dns_lookup.hpp"

#include <netdb.h>
#include <sys/socket.h>

#include <algorithm>

#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>

namespace dockmaster::actors {

void dns_lookup(caf::blocking_actor* self, messages::upstream_proxy_impl reply_to,
                std::string configured, std::string host, std::uint16_t port) {
  messages::resolution_result result;
  result.configured = std::move(configured);
  result.port = port;
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  int rc = ::getaddrinfo(host.c_str(), nullptr, &hints, &found);
  if (rc != 0) {
    result.error = gai_strerror(rc);
    result.not_found = rc == EAI_NONAME;
  } else {
    for (auto* a = found; a != nullptr; a = a->ai_next) {
      boost::asio::ip::tcp::endpoint endpoint;
      if (a->ai_family == AF_INET)
        endpoint = boost::asio::ip::tcp::endpoint(
            boost::asio::ip::make_address_v4(
                ntohl(reinterpret_cast<sockaddr_in*>(a->ai_addr)->sin_addr.s_addr)),
            port);
      else if (a->ai_family == AF_INET6) {
        boost::asio::ip::address_v6::bytes_type bytes;
        std::copy_n(reinterpret_cast<sockaddr_in6*>(a->ai_addr)->sin6_addr.s6_addr, 16,
                    bytes.begin());
        endpoint = boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address_v6(bytes), port);
      } else {
        continue;
      }
      auto text = endpoint.address().to_string();
      if (std::find(result.addresses.begin(), result.addresses.end(), text) ==
          result.addresses.end())
        result.addresses.push_back(text);
    }
    ::freeaddrinfo(found);
    std::sort(result.addresses.begin(), result.addresses.end());
  }
  self->send(reply_to, std::move(result));
}

}  // namespace dockmaster::actors
