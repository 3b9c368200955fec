#pragma once

// HTTP/1.1 over the Docker engine's unix socket: one new connection per exchange,
// driven on a private io_context and bounded by deadlines. engine_client builds on
// this; the tests use it for the calls the client has no method for (create, start
// and remove containers).

#include <chrono>
#include <functional>
#include <string>
#include <string_view>

#include "docker/engine_client.hpp"

namespace dockmaster::docker {

/// The Engine API version every path is prefixed with. 1.41 is Docker 20.10's (Debian
/// 12's docker.io); newer engines still accept it.
inline constexpr std::string_view api_version_prefix = "/v1.41";

struct engine_response {
  int status = 0;
  std::string reason;
  std::string content_type;
  std::string body;
};

/// Percent-encodes everything but the URI's unreserved characters: for a path
/// segment (a container name) or a query value.
std::string percent_encode(std::string_view text);

/// Sends one request (`body`, when not empty, as application/json) on a new
/// connection and reads the whole response, all within `timeout`. Any status is
/// returned as is. Throws engine_error(0, ...) when the socket cannot be reached
/// ("cannot reach the Docker engine at PATH: ..."), on a timeout ("... timed out ...")
/// and when the connection fails or the answer is not HTTP.
engine_response engine_request(const std::string& socket_path, std::string_view method,
                               const std::string& target, const std::string& body,
                               std::chrono::milliseconds timeout);

struct engine_stream_result {
  int status = 0;             // 0 when no header arrived in time (header_timed_out)
  std::string reason;
  std::string error_body;     // the body, for a status other than 101 and 2xx
  bool header_timed_out = false;
  bool body_timed_out = false;  // the body deadline passed before the stream ended
};

/// Like engine_request, but hands a 2xx (or 101 Upgrade) response's body to `on_data`
/// piece by piece as it arrives, until the stream ends or `body_deadline`. The
/// response header must arrive by `header_deadline`. Connection failures after the
/// header end the stream quietly. Throws engine_error like engine_request for a
/// connect failure and for a failure before the header.
engine_stream_result engine_stream(const std::string& socket_path, std::string_view method,
                                   const std::string& target, const std::string& body,
                                   std::chrono::steady_clock::time_point header_deadline,
                                   std::chrono::steady_clock::time_point body_deadline,
                                   const std::function<void(std::string_view)>& on_data);

}  // namespace dockmaster::docker
