#include "net/http_wire.hpp"

#include <cstring>
#include <string_view>

namespace dockmaster::net {

namespace http = boost::beast::http;

namespace {

void append_fields(const head_fields& fields, std::string& out) {
  // Sized first, then copied: one growth of `out` instead of four appends per field.
  std::size_t size = 2;
  for (const auto& field : fields) size += field.name_string().size() + field.value().size() + 4;
  std::size_t at = out.size();
  out.resize(at + size);
  char* p = out.data() + at;
  auto copy = [&p](std::string_view text) {
    std::memcpy(p, text.data(), text.size());
    p += text.size();
  };
  for (const auto& field : fields) {
    copy(field.name_string());
    copy(": ");
    copy(field.value());
    copy("\r\n");
  }
  copy("\r\n");
}

void append_version(unsigned version, std::string& out) {
  out.append(version == 10 ? "HTTP/1.0" : "HTTP/1.1", 8);
}

}  // namespace

void append_request_head(const request_head& header, std::string& out) {
  auto method = header.method_string();
  out.append(method.data(), method.size());
  out.push_back(' ');
  auto target = header.target();
  out.append(target.data(), target.size());
  out.push_back(' ');
  append_version(header.version(), out);
  out.append("\r\n", 2);
  append_fields(header, out);
}

void append_response_head(const response_head& header, std::string& out) {
  append_version(header.version(), out);
  out.push_back(' ');
  // status-code is three digits (RFC 9112): an upstream's "000" or "099", which Beast
  // parses, must not reach the client as "0" or "99", a status line it cannot parse.
  const auto status = std::to_string(header.result_int());
  if (status.size() < 3) out.append(3 - status.size(), '0');
  out.append(status);
  out.push_back(' ');
  auto reason = header.reason();
  if (reason.empty()) reason = http::obsolete_reason(header.result());
  out.append(reason.data(), reason.size());
  out.append("\r\n", 2);
  append_fields(header, out);
}

void append_chunk_size(std::size_t size, std::string& out) {
  char text[24];
  int n = std::snprintf(text, sizeof text, "%zx\r\n", size);
  out.append(text, static_cast<std::size_t>(n));
}

}  // namespace dockmaster::net
