#pragma once

// A scripted stand-in for the Docker engine: an HTTP/1.1 server on a unix socket in a
// fresh temporary folder. Each request goes to the test's handler, which answers,
// writes raw bytes (a multiplexed exec stream cut anywhere), hangs or closes.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

namespace dockmaster::test {

class fake_docker_engine {
 public:
  struct request {
    std::string method;  // "GET", "POST", ...
    std::string target;  // as sent, e.g. "/v1.41/containers/web/json"
    std::string path;    // the target without the "/vX.Y" prefix and the query
    std::string query;   // after '?', still encoded; empty when none
    std::string body;
    std::map<std::string, std::string> headers;  // lower-case names
  };

  /// One request on one connection, handed to the handler.
  class exchange {
   public:
    const request& req() const { return req_; }

    /// A complete response with Content-Length.
    void reply(int status, std::string_view body, std::string_view content_type = "application/json");
    void reply_json(int status, const nlohmann::json& body) { reply(status, body.dump()); }
    /// {"message": text}, as the engine reports errors.
    void reply_error(int status, std::string_view message);
    /// Bytes as they are, in one write.
    void write_raw(std::string_view bytes);
    /// Bytes one write per `piece` bytes, pausing `pause` between writes.
    void write_slowly(std::string_view bytes, std::size_t piece, std::chrono::milliseconds pause);
    /// Blocks until the engine stops: the client sees a server that never answers.
    void hang();
    /// Closes the connection once the handler returns (else it is kept for more requests).
    void close() { close_ = true; }

   private:
    friend class fake_docker_engine;
    exchange(fake_docker_engine& engine, int fd, request req) : engine_(engine), fd_(fd), req_(std::move(req)) {}
    fake_docker_engine& engine_;
    int fd_;
    request req_;
    bool close_ = false;
    bool answered_ = false;
  };

  using handler = std::function<void(exchange&)>;

  explicit fake_docker_engine(handler h);
  ~fake_docker_engine();
  fake_docker_engine(const fake_docker_engine&) = delete;
  fake_docker_engine& operator=(const fake_docker_engine&) = delete;

  const std::string& socket_path() const { return socket_path_; }
  const std::string& directory() const { return dir_; }

  /// Every request received so far.
  std::vector<request> requests() const;
  /// Requests received with that method and path (version prefix and query removed).
  int count(std::string_view method, std::string_view path) const;

  /// One frame of the engine's multiplexed stream (1 stdout, 2 stderr).
  static std::string frame(int stream_type, std::string_view payload);
  /// The header of an exec start answer that streams until the connection closes.
  static std::string stream_header(std::string_view content_type = "application/vnd.docker.raw-stream");

 private:
  void accept_loop();
  void serve(int fd);
  static bool write_all(int fd, std::string_view bytes);

  handler handler_;
  std::string dir_;
  std::string socket_path_;
  int listen_fd_ = -1;
  std::atomic<bool> stopping_{false};
  std::thread acceptor_;

  mutable std::mutex mutex_;
  std::condition_variable stopped_;
  std::vector<std::thread> connections_;
  std::vector<int> open_fds_;
  std::vector<request> requests_;
};

}  // namespace dockmaster::test
