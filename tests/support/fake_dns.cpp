#include "support/fake_dns.hpp"

#include <arpa/inet.h>
#include <dlfcn.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstring>
#include <map>
#include <mutex>
#include <set>

namespace dockmaster::test::fake_dns {
namespace {

struct entry {
  std::vector<std::string> addresses;
  int error = 0;
  std::uint64_t lookups = 0;
};

struct node {
  addrinfo info;
  sockaddr_storage address;
};

std::mutex& table_mutex() {
  static std::mutex m;
  return m;
}
std::map<std::string, entry>& table() {
  static std::map<std::string, entry> t;
  return t;
}
std::set<addrinfo*>& ours() {
  static std::set<addrinfo*> s;
  return s;
}

bool ends_with(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

using getaddrinfo_fn = int (*)(const char*, const char*, const addrinfo*, addrinfo**);
using freeaddrinfo_fn = void (*)(addrinfo*);

int lookup(const char* name, const char* service, const addrinfo* hints, addrinfo** result) {
  std::lock_guard<std::mutex> lock(table_mutex());
  auto& e = table()[name];
  ++e.lookups;
  if (e.error != 0) return e.error;
  if (e.addresses.empty()) return EAI_NONAME;
  int port = service ? std::atoi(service) : 0;
  int family = hints ? hints->ai_family : AF_UNSPEC;
  int socktype = hints && hints->ai_socktype ? hints->ai_socktype : SOCK_STREAM;
  addrinfo* head = nullptr;
  addrinfo** tail = &head;
  for (const auto& text : e.addresses) {
    auto* n = new node{};
    if (::inet_pton(AF_INET, text.c_str(), &reinterpret_cast<sockaddr_in*>(&n->address)->sin_addr) == 1) {
      auto* a = reinterpret_cast<sockaddr_in*>(&n->address);
      a->sin_family = AF_INET;
      a->sin_port = htons(static_cast<std::uint16_t>(port));
      n->info.ai_family = AF_INET;
      n->info.ai_addrlen = sizeof(sockaddr_in);
    } else {
      auto* a = reinterpret_cast<sockaddr_in6*>(&n->address);
      ::inet_pton(AF_INET6, text.c_str(), &a->sin6_addr);
      a->sin6_family = AF_INET6;
      a->sin6_port = htons(static_cast<std::uint16_t>(port));
      n->info.ai_family = AF_INET6;
      n->info.ai_addrlen = sizeof(sockaddr_in6);
    }
    if (family != AF_UNSPEC && family != n->info.ai_family) {
      delete n;
      continue;
    }
    n->info.ai_socktype = socktype;
    n->info.ai_protocol = IPPROTO_TCP;
    n->info.ai_addr = reinterpret_cast<sockaddr*>(&n->address);
    *tail = &n->info;
    tail = &n->info.ai_next;
    ours().insert(&n->info);
  }
  if (!head) return EAI_NONAME;
  *result = head;
  return 0;
}

}  // namespace

void set(const std::string& name, std::vector<std::string> addresses) {
  std::lock_guard<std::mutex> lock(table_mutex());
  auto& e = table()[name];
  e.addresses = std::move(addresses);
  e.error = 0;
}

void fail(const std::string& name, int eai_error) {
  std::lock_guard<std::mutex> lock(table_mutex());
  table()[name].error = eai_error;
}

std::uint64_t lookups(const std::string& name) {
  std::lock_guard<std::mutex> lock(table_mutex());
  return table()[name].lookups;
}

}  // namespace dockmaster::test::fake_dns

using namespace dockmaster::test::fake_dns;

extern "C" int getaddrinfo(const char* name, const char* service, const addrinfo* hints,
                           addrinfo** result) {
  if (name && ends_with(name, suffix)) return lookup(name, service, hints, result);
  static auto real = reinterpret_cast<getaddrinfo_fn>(::dlsym(RTLD_NEXT, "getaddrinfo"));
  return real(name, service, hints, result);
}

extern "C" void freeaddrinfo(addrinfo* info) noexcept {
  {
    std::lock_guard<std::mutex> lock(table_mutex());
    if (ours().count(info)) {
      while (info) {
        ours().erase(info);
        auto* next = info->ai_next;
        delete reinterpret_cast<node*>(info);  // info is the first member of node
        info = next;
      }
      return;
    }
  }
  static auto real = reinterpret_cast<freeaddrinfo_fn>(::dlsym(RTLD_NEXT, "freeaddrinfo"));
  real(info);
}
