#pragma once

// A deterministic payload of any size, produced piece by piece (never held whole in
// memory), and an order-sensitive checksum to verify it arrived intact.

#include <cstddef>
#include <cstdint>
#include <string>

namespace dockmaster::test {

/// Writes bytes [offset, offset + n) of the test payload to `out`. The content depends
/// on the position, so a lost, repeated or reordered piece changes the checksum.
void fill_payload(std::uint64_t offset, char* out, std::size_t n);

/// A Fletcher-style running checksum: cheap, and sensitive to the order of bytes.
class checksum {
 public:
  void update(const char* data, std::size_t n);
  std::uint64_t bytes() const { return bytes_; }
  /// Hex text of the checksum (what test_upstream reports in its JSON answers).
  std::string hex() const;

 private:
  std::uint64_t a_ = 1;
  std::uint64_t b_ = 0;
  std::uint64_t bytes_ = 0;
};

/// The checksum of the first `size` bytes of the payload, computed piece by piece.
std::string payload_checksum(std::uint64_t size);

}  // namespace dockmaster::test
