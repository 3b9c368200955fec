#pragma once

#include <cstddef>
#include <string>

#include "net/head_fields.hpp"

namespace dockmaster::net {

// The proxy writes message heads and chunk framing itself: Beast's serializer walks
// a generic buffer sequence per field, which profiling showed as the largest user-space
// cost of a proxied request.

/// Appends "METHOD target HTTP/1.x\r\n", every field and the blank line to `out`.
void append_request_head(const request_head& header, std::string& out);

/// Appends "HTTP/1.x code reason\r\n", every field and the blank line to `out`.
void append_response_head(const response_head& header, std::string& out);

/// Appends the line that opens a chunk of `size` bytes ("1a2b\r\n") to `out`.
void append_chunk_size(std::size_t size, std::string& out);

/// The end of a chunked body: the zero-size chunk and an empty trailer.
inline constexpr const char last_chunk[] = "0\r\n\r\n";

}  // namespace dockmaster::net
