// Optimised even in Debug builds: these loops run over hundreds of MiB.
#pragma GCC optimize("O2")

#include "support/payload.hpp"

#include <cstdio>
#include <memory>

namespace dockmaster::test {

void fill_payload(std::uint64_t offset, char* out, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) {
    const std::uint64_t position = offset + i;
    out[i] = static_cast<char>((position * 131u + (position >> 12) * 7u) & 0xffu);
  }
}

void checksum::update(const char* data, std::size_t n) {
  std::uint64_t a = a_;
  std::uint64_t b = b_;
  for (std::size_t i = 0; i < n; ++i) {
    a += static_cast<unsigned char>(data[i]);
    b += a;
  }
  a_ = a;
  b_ = b;
  bytes_ += n;
}

std::string checksum::hex() const {
  char text[40];
  std::snprintf(text, sizeof text, "%016llx%016llx", static_cast<unsigned long long>(a_),
                static_cast<unsigned long long>(b_));
  return text;
}

std::string payload_checksum(std::uint64_t size) {
  constexpr std::size_t piece = 64 * 1024;
  std::unique_ptr<char[]> buffer(new char[piece]);
  checksum sum;
  for (std::uint64_t offset = 0; offset < size; offset += piece) {
    const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(piece, size - offset));
    fill_payload(offset, buffer.get(), n);
    sum.update(buffer.get(), n);
  }
  return sum.hex();
}

}  // namespace dockmaster::test
