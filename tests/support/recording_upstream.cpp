#include "support/recording_upstream.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <stdexcept>

namespace dockmaster::test {

namespace {

bool iequals(const std::string& a, const std::string& b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

std::string trim(const std::string& s) {
  auto first = s.find_first_not_of(" \t");
  if (first == std::string::npos) return "";
  return s.substr(first, s.find_last_not_of(" \t") - first + 1);
}

bool is_tchar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) ||
         std::string("!#$%&'*+-.^_`|~").find(c) != std::string::npos;
}

/// Reads the head at `pos` (which ends at `end`, the blank line's start) into `r`.
void parse_head(const std::string& bytes, std::size_t pos, std::size_t end, forwarded_request& r) {
  std::vector<std::string> lines;
  for (std::size_t at = pos; at <= end;) {
    auto eol = bytes.find("\r\n", at);
    if (eol == std::string::npos || eol > end) eol = end;
    lines.push_back(bytes.substr(at, eol - at));
    at = eol + 2;
  }
  for (const auto& line : lines)
    if (line.find_first_of("\r\n") != std::string::npos) r.ambiguity = "bare CR or LF in the head";
  const auto& start = lines.front();
  auto sp1 = start.find(' ');
  auto sp2 = start.find(' ', sp1 == std::string::npos ? sp1 : sp1 + 1);
  if (sp1 == std::string::npos || sp2 == std::string::npos ||
      start.find(' ', sp2 + 1) != std::string::npos) {
    r.ambiguity = "request line is not three parts";
    return;
  }
  r.method = start.substr(0, sp1);
  r.target = start.substr(sp1 + 1, sp2 - sp1 - 1);
  r.version = start.substr(sp2 + 1);
  if (r.version != "HTTP/1.1" && r.version != "HTTP/1.0") r.ambiguity = "version " + r.version;
  if (r.target.empty() || r.target.front() != '/') r.ambiguity = "target not in origin form";
  for (std::size_t i = 1; i < lines.size(); ++i) {
    const auto& line = lines[i];
    if (line.empty()) continue;
    if (line.front() == ' ' || line.front() == '\t') {
      r.ambiguity = "obs-fold";
      continue;
    }
    auto colon = line.find(':');
    if (colon == std::string::npos || colon == 0) {
      r.ambiguity = "field without a name or colon";
      continue;
    }
    auto name = line.substr(0, colon);
    if (!std::all_of(name.begin(), name.end(), is_tchar)) r.ambiguity = "field name not a token";
    auto value = trim(line.substr(colon + 1));
    for (unsigned char c : value)
      if ((c < 0x20 && c != '\t') || c == 0x7f) r.ambiguity = "control character in a field value";
    r.fields.emplace_back(name, value);
  }
}

}  // namespace

std::vector<std::string> forwarded_request::values(const std::string& name) const {
  std::vector<std::string> found;
  for (const auto& [n, v] : fields)
    if (iequals(n, name)) found.push_back(v);
  return found;
}

std::vector<forwarded_request> parse_forwarded(const std::string& bytes, bool connection_ended) {
  std::vector<forwarded_request> out;
  std::size_t pos = 0;
  while (pos < bytes.size()) {
    forwarded_request r;
    auto head_end = bytes.find("\r\n\r\n", pos);
    if (head_end == std::string::npos) {
      if (connection_ended) {
        r.ambiguity = "incomplete head";
        out.push_back(r);
      }
      break;
    }
    parse_head(bytes, pos, head_end, r);
    std::size_t at = head_end + 4;
    if (r.ambiguity.empty()) {
      auto hosts = r.values("Host");
      auto codings = r.values("Transfer-Encoding");
      auto lengths = r.values("Content-Length");
      if (hosts.size() != 1) r.ambiguity = std::to_string(hosts.size()) + " Host fields";
      if (!codings.empty() && !lengths.empty()) r.ambiguity = "Transfer-Encoding and Content-Length";
      if (codings.size() > 1 || (codings.size() == 1 && !iequals(codings[0], "chunked")))
        r.ambiguity = "Transfer-Encoding other than one chunked";
      if (lengths.size() > 1) r.ambiguity = "several Content-Length fields";
      if (lengths.size() == 1 &&
          (lengths[0].empty() || !std::all_of(lengths[0].begin(), lengths[0].end(), ::isdigit)))
        r.ambiguity = "Content-Length not a number";
      r.chunked = codings.size() == 1;
      if (r.ambiguity.empty() && r.chunked) {
        // Chunks: size line, data, CRLF; the last chunk, trailers, blank line.
        bool done = false;
        while (!done) {
          auto eol = bytes.find("\r\n", at);
          if (eol == std::string::npos) break;
          auto line = bytes.substr(at, eol - at);
          auto size_text = line.substr(0, line.find(';'));
          if (size_text.empty() || !std::all_of(size_text.begin(), size_text.end(), ::isxdigit) ||
              size_text.size() > 15) {
            r.ambiguity = "bad chunk size line";
            break;
          }
          auto size = std::stoull(size_text, nullptr, 16);
          at = eol + 2;
          if (size == 0) {
            auto end = bytes.find("\r\n\r\n", at - 2);
            if (end == std::string::npos) break;
            at = end + 4;
            done = true;
            break;
          }
          if (bytes.size() < at + size + 2) break;
          r.body += bytes.substr(at, size);
          if (bytes.compare(at + size, 2, "\r\n") != 0) {
            r.ambiguity = "chunk data not followed by CRLF";
            break;
          }
          at += size + 2;
        }
        r.complete = done;
      } else if (r.ambiguity.empty()) {
        std::size_t length = lengths.empty() ? 0 : std::stoull(lengths[0]);
        r.complete = bytes.size() >= at + length;
        r.body = bytes.substr(at, std::min(length, bytes.size() - at));
        at += length;
      }
    }
    if (!r.complete && !connection_ended && r.ambiguity.empty()) break;  // wait for more
    out.push_back(r);
    if (!r.ambiguity.empty() || !r.complete) break;  // nothing after it can be trusted
    pos = at;
  }
  return out;
}

recording_upstream::recording_upstream() {
  listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  if (::bind(listener_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      ::listen(listener_, 64) != 0 ||
      ::getsockname(listener_, reinterpret_cast<sockaddr*>(&address), &length) != 0)
    throw std::runtime_error("recording upstream: cannot listen");
  port_ = ntohs(address.sin_port);
  acceptor_ = std::thread([this] { accept_loop(); });
}

recording_upstream::~recording_upstream() {
  stopping_ = true;
  ::shutdown(listener_, SHUT_RDWR);
  acceptor_.join();
  ::close(listener_);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (int fd : open_fds_) ::shutdown(fd, SHUT_RDWR);
  }
  for (auto& t : connections_) t.join();
}

void recording_upstream::accept_loop() {
  while (!stopping_) {
    int fd = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) {
      if (stopping_) return;
      continue;
    }
    std::lock_guard<std::mutex> lock(mutex_);
    open_fds_.push_back(fd);
    connections_.emplace_back([this, fd] { serve(fd); });
  }
}

void recording_upstream::serve(int fd) {
  static const std::string answer = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
  std::string bytes;
  std::size_t answered = 0;
  char piece[16384];
  for (;;) {
    auto n = ::recv(fd, piece, sizeof piece, 0);
    bool ended = n <= 0;
    if (!ended) bytes.append(piece, static_cast<std::size_t>(n));
    auto parsed = parse_forwarded(bytes, ended);
    std::size_t complete = 0;
    while (complete < parsed.size() && parsed[complete].complete && parsed[complete].ambiguity.empty())
      ++complete;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      for (std::size_t i = answered; i < complete; ++i) requests_.push_back(parsed[i]);
      // What ends the connection unanswered (cut, or ambiguous) is recorded as such.
      if (ended || (complete < parsed.size() && !parsed[complete].ambiguity.empty()))
        for (std::size_t i = complete; i < parsed.size(); ++i) requests_.push_back(parsed[i]);
    }
    for (std::size_t i = answered; i < complete; ++i)
      ::send(fd, answer.data(), answer.size(), MSG_NOSIGNAL);
    answered = complete;
    if (ended || complete < parsed.size()) break;
  }
  {
    // Off the list before the number can be reused.
    std::lock_guard<std::mutex> lock(mutex_);
    open_fds_.erase(std::remove(open_fds_.begin(), open_fds_.end(), fd), open_fds_.end());
  }
  ::close(fd);
}

std::vector<forwarded_request> recording_upstream::requests() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return requests_;
}

void recording_upstream::clear() {
  std::lock_guard<std::mutex> lock(mutex_);
  requests_.clear();
}

}  // namespace dockmaster::test
