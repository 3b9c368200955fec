#pragma once

// A resolver the tests control, for names ending in ".dockmaster.test" only.
//
// The test binary defines getaddrinfo()/freeaddrinfo() itself (fake_dns.cpp), which
// takes precedence over the C library's for every caller in the process, including
// dockmaster's dns_lookup actor. Names under the suffix are answered from a table the
// test sets; every other name goes to the real resolver. That is how the tests make a
// name's addresses change without editing /etc/hosts.

#include <cstdint>
#include <string>
#include <vector>

namespace dockmaster::test::fake_dns {

inline constexpr const char* suffix = ".dockmaster.test";

/// The name now resolves to these numeric addresses (IPv4 or IPv6).
void set(const std::string& name, std::vector<std::string> addresses);
/// The name now fails with this getaddrinfo error (EAI_NONAME, EAI_AGAIN, ...).
void fail(const std::string& name, int eai_error);
/// Lookups of the name so far.
std::uint64_t lookups(const std::string& name);

}  // namespace dockmaster::test::fake_dns
