#include "docker/exec_stream.hpp"

#include <algorithm>

namespace dockmaster::docker {

namespace {

bool valid_header(const unsigned char* h) {
  return h[0] <= 3 && h[1] == 0 && h[2] == 0 && h[3] == 0;
}

}  // namespace

void multiplexed_stream_decoder::feed(std::string_view data) {
  while (!data.empty()) {
    if (raw_) {
      on_payload_(1, data);
      return;
    }
    if (remaining_ > 0) {
      const std::size_t n = std::min<std::size_t>(remaining_, data.size());
      on_payload_(stream_type_, data.substr(0, n));
      remaining_ -= static_cast<std::uint32_t>(n);
      data.remove_prefix(n);
      continue;
    }
    // Collect a header, possibly across calls.
    const std::size_t n = std::min<std::size_t>(sizeof header_ - header_fill_, data.size());
    std::copy_n(data.data(), n, header_ + header_fill_);
    header_fill_ += n;
    data.remove_prefix(n);
    if (!seen_frame_ && !valid_header(header_)) {
      // Only the very first header decides: not a multiplexed stream, so everything,
      // including the bytes taken for a header, is output.
      raw_ = true;
      const std::string_view taken(reinterpret_cast<const char*>(header_), header_fill_);
      header_fill_ = 0;
      on_payload_(1, taken);
      continue;
    }
    if (header_fill_ < sizeof header_) continue;
    header_fill_ = 0;
    seen_frame_ = true;
    stream_type_ = header_[0];
    remaining_ = (std::uint32_t{header_[4]} << 24) | (std::uint32_t{header_[5]} << 16) |
                 (std::uint32_t{header_[6]} << 8) | std::uint32_t{header_[7]};
  }
}

void tail_buffer::append(std::string_view data) {
  total_ += data.size();
  if (limit_ == 0) return;
  if (data.size() >= limit_) {
    data_.assign(data.substr(data.size() - limit_));
    return;
  }
  data_.append(data);
  // Trim in batches so that appending many small pieces stays linear.
  if (data_.size() > 2 * limit_ && data_.size() - limit_ >= 4096) data_.erase(0, data_.size() - limit_);
}

std::string tail_buffer::str() const {
  if (data_.size() <= limit_) return data_;
  return data_.substr(data_.size() - limit_);
}

}  // namespace dockmaster::docker
