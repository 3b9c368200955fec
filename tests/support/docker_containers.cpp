#include "support/docker_containers.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "docker/engine_client.hpp"
#include "docker/engine_http.hpp"

namespace dockmaster::test::docker_support {

namespace {

using json = nlohmann::json;
using dockmaster::docker::engine_error;
using dockmaster::docker::engine_request;
using dockmaster::docker::engine_response;
using dockmaster::docker::percent_encode;

constexpr auto call_timeout = std::chrono::seconds(30);

std::string api(const std::string& path) { return std::string(dockmaster::docker::api_version_prefix) + path; }

engine_response expect_2xx(engine_response res, const std::string& what) {
  if (res.status >= 200 && res.status <= 299) return res;
  std::string message = res.body;
  try {
    const auto doc = json::parse(res.body);
    if (doc.contains("message")) message = doc["message"].get<std::string>();
  } catch (const std::exception&) {
  }
  throw engine_error(res.status, what + ": " + message);
}

}  // namespace

std::string busybox_service_image() {
  if (const char* v = std::getenv("DOCKMASTER_TEST_IMAGE"); v != nullptr && *v != '\0') return v;
  return "dockmaster-test/busybox-service:latest";
}

std::string create_container(const std::string& socket, const container_spec& spec) {
  json body = {{"Image", spec.image}, {"Labels", spec.labels}, {"Env", spec.env}};
  if (!spec.cmd.empty()) body["Cmd"] = spec.cmd;
  if (spec.tty) body["Tty"] = true;
  body["HostConfig"] = {{"NetworkMode", spec.host_network ? "host" : "none"}, {"AutoRemove", false}};
  std::string target = api("/containers/create");
  if (!spec.name.empty()) target += "?name=" + percent_encode(spec.name);
  const auto res = expect_2xx(engine_request(socket, "POST", target, body.dump(), call_timeout),
                              "creating container " + spec.name + " from " + spec.image);
  return json::parse(res.body).at("Id").get<std::string>();
}

void start_container(const std::string& socket, const std::string& id) {
  expect_2xx(engine_request(socket, "POST", api("/containers/" + percent_encode(id) + "/start"), {}, call_timeout),
             "starting container " + id);
}

void stop_container(const std::string& socket, const std::string& id, int stop_seconds) {
  const auto res = engine_request(socket, "POST",
                                  api("/containers/" + percent_encode(id) + "/stop?t=" + std::to_string(stop_seconds)),
                                  {}, call_timeout);
  if (res.status == 304) return;  // already stopped
  expect_2xx(res, "stopping container " + id);
}

bool remove_container(const std::string& socket, const std::string& id_or_name) {
  try {
    const auto res = engine_request(socket, "DELETE",
                                    api("/containers/" + percent_encode(id_or_name) + "?force=true&v=true"), {},
                                    call_timeout);
    return (res.status >= 200 && res.status <= 299) || res.status == 404;
  } catch (const engine_error&) {
    return false;
  }
}

int remove_containers_labelled(const std::string& socket, const std::string& label) {
  const json filters = {{"label", {label}}};
  const auto res = expect_2xx(engine_request(socket, "GET",
                                             api("/containers/json?all=true&filters=" + percent_encode(filters.dump())),
                                             {}, call_timeout),
                              "listing containers labelled " + label);
  int removed = 0;
  for (const auto& c : json::parse(res.body))
    if (remove_container(socket, c.at("Id").get<std::string>())) ++removed;
  return removed;
}

std::uint16_t free_loopback_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    ::close(fd);
    throw std::runtime_error(std::string("bind: ") + std::strerror(errno));
  }
  ::close(fd);
  return ntohs(addr.sin_port);
}

int http_status(std::uint16_t port, const std::string& path, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  const auto remaining_ms = [&]() {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    return static_cast<int>(std::max<long long>(0, left.count()));
  };
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return -1;
  struct closer {
    int fd;
    ~closer() { ::close(fd); }
  } guard{fd};
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    if (errno != EINPROGRESS) return -1;
    pollfd p{fd, POLLOUT, 0};
    if (::poll(&p, 1, remaining_ms()) != 1) return -1;
    int err = 0;
    socklen_t len = sizeof err;
    if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) return -1;
  }
  const std::string req = "GET " + path + " HTTP/1.0\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
  std::size_t sent = 0;
  while (sent < req.size()) {
    pollfd p{fd, POLLOUT, 0};
    if (::poll(&p, 1, remaining_ms()) != 1) return -1;
    const ssize_t n = ::send(fd, req.data() + sent, req.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) return -1;
    sent += static_cast<std::size_t>(n);
  }
  std::string answer;
  char buf[1024];
  while (answer.find("\r\n") == std::string::npos) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, remaining_ms()) != 1) return -1;
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) return -1;
    answer.append(buf, static_cast<std::size_t>(n));
  }
  // "HTTP/1.x NNN reason"
  if (answer.rfind("HTTP/1.", 0) != 0 || answer.size() < 12) return -1;
  return std::atoi(answer.substr(9, 3).c_str());
}

}  // namespace dockmaster::test::docker_support
