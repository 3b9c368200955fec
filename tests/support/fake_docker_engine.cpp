#include "support/fake_docker_engine.hpp"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <stdexcept>

namespace dockmaster::test {

namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

std::string trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return std::string(s);
}

const char* reason_of(int status) {
  switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 204: return "No Content";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 409: return "Conflict";
    case 500: return "Internal Server Error";
    default: return "Status";
  }
}

// Splits "/v1.41/containers/x/json?a=b" into path "/containers/x/json" and query "a=b".
void split_target(const std::string& target, std::string& path, std::string& query) {
  const auto q = target.find('?');
  path = target.substr(0, q);
  query = q == std::string::npos ? "" : target.substr(q + 1);
  if (path.size() > 3 && path[0] == '/' && path[1] == 'v' && std::isdigit(static_cast<unsigned char>(path[2]))) {
    const auto slash = path.find('/', 1);
    path = slash == std::string::npos ? "/" : path.substr(slash);
  }
}

}  // namespace

void fake_docker_engine::exchange::reply(int status, std::string_view body, std::string_view content_type) {
  std::string out = "HTTP/1.1 " + std::to_string(status) + " " + reason_of(status) + "\r\n";
  out += "Api-Version: 1.41\r\nServer: fake-docker-engine\r\n";
  if (!content_type.empty()) out += "Content-Type: " + std::string(content_type) + "\r\n";
  out += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n";
  out += body;
  write_raw(out);
}

void fake_docker_engine::exchange::reply_error(int status, std::string_view message) {
  reply_json(status, nlohmann::json{{"message", std::string(message)}});
}

void fake_docker_engine::exchange::write_raw(std::string_view bytes) {
  answered_ = true;
  write_all(fd_, bytes);
}

void fake_docker_engine::exchange::write_slowly(std::string_view bytes, std::size_t piece,
                                                std::chrono::milliseconds pause) {
  answered_ = true;
  piece = std::max<std::size_t>(piece, 1);
  while (!bytes.empty() && !engine_.stopping_) {
    const auto n = std::min(piece, bytes.size());
    if (!write_all(fd_, bytes.substr(0, n))) return;
    bytes.remove_prefix(n);
    if (!bytes.empty()) std::this_thread::sleep_for(pause);
  }
}

void fake_docker_engine::exchange::hang() {
  answered_ = true;
  close_ = true;
  std::unique_lock<std::mutex> lock(engine_.mutex_);
  engine_.stopped_.wait(lock, [this] { return engine_.stopping_.load(); });
}

fake_docker_engine::fake_docker_engine(handler h) : handler_(std::move(h)) {
  char tmpl[] = "/tmp/dm-fake-docker-XXXXXX";
  if (::mkdtemp(tmpl) == nullptr) throw std::runtime_error(std::string("mkdtemp: ") + std::strerror(errno));
  dir_ = tmpl;
  socket_path_ = dir_ + "/docker.sock";

  listen_fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listen_fd_ < 0) throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", socket_path_.c_str());
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(listen_fd_, 64) != 0) {
    const std::string err = std::strerror(errno);
    ::close(listen_fd_);
    throw std::runtime_error("fake docker engine: cannot listen on " + socket_path_ + ": " + err);
  }
  acceptor_ = std::thread([this] { accept_loop(); });
}

fake_docker_engine::~fake_docker_engine() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
    // Wake the connections blocked in a read; those in hang() wake on the notify.
    for (int fd : open_fds_) ::shutdown(fd, SHUT_RDWR);
  }
  stopped_.notify_all();
  ::shutdown(listen_fd_, SHUT_RDWR);  // wakes accept() on Linux
  acceptor_.join();
  ::close(listen_fd_);
  std::vector<std::thread> threads;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    threads.swap(connections_);
  }
  for (auto& t : threads) t.join();
  ::unlink(socket_path_.c_str());
  ::rmdir(dir_.c_str());
}

std::vector<fake_docker_engine::request> fake_docker_engine::requests() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return requests_;
}

int fake_docker_engine::count(std::string_view method, std::string_view path) const {
  std::lock_guard<std::mutex> lock(mutex_);
  return static_cast<int>(std::count_if(requests_.begin(), requests_.end(), [&](const request& r) {
    return r.method == method && r.path == path;
  }));
}

std::string fake_docker_engine::frame(int stream_type, std::string_view payload) {
  std::string out(8, '\0');
  out[0] = static_cast<char>(stream_type);
  const auto n = static_cast<std::uint32_t>(payload.size());
  out[4] = static_cast<char>((n >> 24) & 0xff);
  out[5] = static_cast<char>((n >> 16) & 0xff);
  out[6] = static_cast<char>((n >> 8) & 0xff);
  out[7] = static_cast<char>(n & 0xff);
  out += payload;
  return out;
}

std::string fake_docker_engine::stream_header(std::string_view content_type) {
  return "HTTP/1.1 200 OK\r\nContent-Type: " + std::string(content_type) + "\r\nApi-Version: 1.41\r\n\r\n";
}

bool fake_docker_engine::write_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

void fake_docker_engine::accept_loop() {
  for (;;) {
    const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      return;  // shut down
    }
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_) {
      ::close(fd);
      return;
    }
    open_fds_.push_back(fd);
    connections_.emplace_back([this, fd] { serve(fd); });
  }
}

void fake_docker_engine::serve(int fd) {
  std::string pending;
  char chunk[4096];
  const auto fill = [&]() {
    const ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
    if (n <= 0) return false;
    pending.append(chunk, static_cast<std::size_t>(n));
    return true;
  };

  for (bool open = true; open && !stopping_;) {
    // The header.
    std::size_t end;
    while ((end = pending.find("\r\n\r\n")) == std::string::npos) {
      if (!fill()) {
        open = false;
        break;
      }
    }
    if (!open) break;
    request req;
    const std::string head = pending.substr(0, end);
    pending.erase(0, end + 4);
    std::size_t line_end = head.find("\r\n");
    const std::string first = head.substr(0, line_end);
    const auto sp1 = first.find(' ');
    const auto sp2 = first.find(' ', sp1 + 1);
    req.method = first.substr(0, sp1);
    req.target = first.substr(sp1 + 1, sp2 - sp1 - 1);
    split_target(req.target, req.path, req.query);
    while (line_end != std::string::npos) {
      const auto next = head.find("\r\n", line_end + 2);
      const std::string line = head.substr(line_end + 2, next == std::string::npos ? std::string::npos : next - line_end - 2);
      const auto colon = line.find(':');
      if (colon != std::string::npos) req.headers[lower(trim(line.substr(0, colon)))] = trim(line.substr(colon + 1));
      line_end = next;
    }
    // The body (the client only sends Content-Length bodies).
    std::size_t length = 0;
    if (auto it = req.headers.find("content-length"); it != req.headers.end()) length = std::strtoul(it->second.c_str(), nullptr, 10);
    while (pending.size() < length) {
      if (!fill()) {
        open = false;
        break;
      }
    }
    if (!open) break;
    req.body = pending.substr(0, length);
    pending.erase(0, length);

    {
      std::lock_guard<std::mutex> lock(mutex_);
      requests_.push_back(req);
    }
    exchange ex(*this, fd, std::move(req));
    handler_(ex);
    if (!ex.answered_) ex.reply_error(500, "fake docker engine: nothing scripted for " + ex.req().method + " " + ex.req().target);
    if (ex.close_) open = false;
  }

  std::lock_guard<std::mutex> lock(mutex_);
  open_fds_.erase(std::remove(open_fds_.begin(), open_fds_.end(), fd), open_fds_.end());
  ::close(fd);
}

}  // namespace dockmaster::test
