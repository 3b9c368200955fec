#include "support/test_upstream.hpp"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <limits>
#include <stdexcept>

#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <nlohmann/json.hpp>

#include "support/payload.hpp"

namespace dockmaster::test {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;

namespace {

constexpr std::size_t piece_size = 64 * 1024;

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

std::string_view path_of(std::string_view target) {
  auto end = target.find('?');
  return end == std::string_view::npos ? target : target.substr(0, end);
}

/// The numeric value of query parameter `name`, or `fallback`.
std::uint64_t query_number(std::string_view target, std::string_view name, std::uint64_t fallback) {
  auto question = target.find('?');
  if (question == std::string_view::npos) return fallback;
  std::string_view query = target.substr(question + 1);
  while (!query.empty()) {
    auto amp = query.find('&');
    auto item = query.substr(0, amp);
    auto eq = item.find('=');
    if (eq != std::string_view::npos && item.substr(0, eq) == name) {
      try {
        return std::stoull(std::string(item.substr(eq + 1)));
      } catch (...) {
        return fallback;
      }
    }
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return fallback;
}

bool starts_with(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

}  // namespace

std::string recorded_request::header(std::string_view name) const {
  for (const auto& [key, value] : headers)
    if (iequals(key, name)) return value;
  return {};
}

test_upstream::test_upstream(std::string name, std::string address)
    : test_upstream(options{std::move(name), std::move(address)}) {}

test_upstream::test_upstream(options opts) : options_(std::move(opts)), port_(options_.port),
                                             keep_alive_(options_.keep_alive) {
  start();
}

test_upstream::~test_upstream() { stop(); }

std::string test_upstream::host_port() const {
  if (options_.address.find(':') != std::string::npos)
    return "[" + options_.address + "]:" + std::to_string(port_);
  return options_.address + ":" + std::to_string(port_);
}

void test_upstream::start() {
  if (running_) return;
  stopping_ = false;
  auto endpoint = tcp::endpoint(asio::ip::make_address(options_.address), port_);
  // Rebinding the same port right after a stop may meet the old connections in
  // TIME_WAIT (SO_REUSEADDR covers that) or, rarely, a socket still closing: retry.
  std::string last_error;
  for (int attempt = 0; attempt < 200; ++attempt) {
    auto acceptor = std::make_unique<tcp::acceptor>(io_);
    boost::system::error_code ec;
    acceptor->open(endpoint.protocol(), ec);
    if (!ec) acceptor->set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) acceptor->bind(endpoint, ec);
    if (!ec) acceptor->listen(asio::socket_base::max_listen_connections, ec);
    if (!ec) {
      acceptor_ = std::move(acceptor);
      break;
    }
    last_error = ec.message();
    if (port_ == 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  if (!acceptor_)
    throw std::runtime_error("test_upstream " + options_.name + ": cannot listen on " +
                             options_.address + ":" + std::to_string(port_) + ": " + last_error);
  port_ = acceptor_->local_endpoint().port();
  wake_fd_ = ::eventfd(0, EFD_CLOEXEC);
  running_ = true;
  accept_thread_ = std::thread([this] { accept_loop(); });
}

void test_upstream::stop() {
  if (!running_) return;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  stop_signal_.notify_all();
  std::uint64_t one = 1;
  (void)!::write(wake_fd_, &one, sizeof one);
  accept_thread_.join();
  boost::system::error_code ignored;
  acceptor_->close(ignored);
  acceptor_.reset();
  ::close(wake_fd_);
  wake_fd_ = -1;
  std::vector<std::thread> threads;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (const auto& socket : open_) ::shutdown(socket->native_handle(), SHUT_RDWR);
    threads.swap(connection_threads_);
  }
  for (auto& thread : threads) thread.join();
  running_ = false;
}

std::size_t test_upstream::open_connections() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return open_.size();
}

std::uint64_t test_upstream::count_requests(std::string_view prefix) const {
  std::lock_guard<std::mutex> lock(mutex_);
  return static_cast<std::uint64_t>(std::count_if(requests_.begin(), requests_.end(), [&](const auto& r) {
    return starts_with(path_of(r.target), prefix);
  }));
}

std::optional<recorded_request> test_upstream::last_request() const {
  std::lock_guard<std::mutex> lock(mutex_);
  if (requests_.empty()) return std::nullopt;
  return requests_.back();
}

std::vector<recorded_request> test_upstream::requests() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return requests_;
}

const std::vector<std::string>& test_upstream::chunked_pieces() {
  static const std::vector<std::string> pieces = [] {
    std::vector<std::string> p{"first piece;", std::string(1, 'x'), "",  // "" is skipped
                               std::string(40000, 'y'), "\r\n0\r\n\r\n-looks-like-a-last-chunk",
                               "last piece."};
    p.erase(std::remove(p.begin(), p.end(), std::string()), p.end());
    return p;
  }();
  return pieces;
}

std::string test_upstream::chunked_body() {
  std::string body;
  for (const auto& piece : chunked_pieces()) body += piece;
  return body;
}

void test_upstream::accept_loop() {
  std::uint64_t next_connection = 0;
  for (;;) {
    pollfd fds[2] = {{acceptor_->native_handle(), POLLIN, 0}, {wake_fd_, POLLIN, 0}};
    int n = ::poll(fds, 2, -1);
    if (n < 0 && errno == EINTR) continue;
    if (stopping_ || (fds[1].revents & POLLIN)) return;
    if (!(fds[0].revents & POLLIN)) continue;
    auto socket = std::make_shared<tcp::socket>(io_);
    boost::system::error_code ec;
    acceptor_->accept(*socket, ec);
    if (ec) continue;
    ++connections_accepted_;
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_) return;
    open_.insert(socket);
    open_ids_.insert(++next_connection);
    connection_threads_.emplace_back([this, socket, id = next_connection] { serve(socket, id); });
  }
}

void test_upstream::close_connection(const std::shared_ptr<tcp::socket>& socket, std::uint64_t id) {
  std::lock_guard<std::mutex> lock(mutex_);
  open_ids_.erase(id);
  boost::system::error_code ignored;
  socket->shutdown(tcp::socket::shutdown_both, ignored);
  socket->close(ignored);
  open_.erase(socket);
}

bool test_upstream::connection_open(std::uint64_t id) const {
  std::lock_guard<std::mutex> lock(mutex_);
  return open_ids_.count(id) > 0;
}

bool test_upstream::sleep_unless_stopped(std::chrono::milliseconds duration) {
  std::unique_lock<std::mutex> lock(mutex_);
  return !stop_signal_.wait_for(lock, duration, [this] { return stopping_.load(); });
}

void test_upstream::serve(std::shared_ptr<tcp::socket> socket, std::uint64_t connection) {
  beast::flat_buffer buffer;
  std::unique_ptr<char[]> body_piece(new char[piece_size]);
  bool announced_close = false;
  for (;;) {
    http::request_parser<http::buffer_body> parser;
    parser.header_limit(1024 * 1024);
    parser.body_limit(std::numeric_limits<std::uint64_t>::max());
    beast::error_code ec;
    if (announced_close) {
      // Connection: close was sent: a client must not send anything more. Wait a
      // little to catch one that does (see options::linger_after_close).
      if (options_.linger_after_close.count() <= 0) break;
      pollfd fd{socket->native_handle(), POLLIN, 0};
      int ready = ::poll(&fd, 1, static_cast<int>(options_.linger_after_close.count()));
      if (ready <= 0 || stopping_) break;
    }
    http::read_header(*socket, buffer, parser, ec);
    if (ec) break;
    if (announced_close) {
      ++requests_after_close_;
      break;
    }
    auto& request = parser.get();
    recorded_request record;
    record.method = std::string(request.method_string());
    record.target = std::string(request.target());
    record.chunked = request.chunked();
    record.connection = connection;
    for (const auto& field : request) {
      auto& value = record.headers[std::string(field.name_string())];
      if (!value.empty()) value += ", ";
      value += std::string(field.value());
    }
    const std::string path(path_of(record.target));

    if (path == "/ws" && websocket::is_upgrade(request)) {
      ++request_count_;
      {
        std::lock_guard<std::mutex> lock(mutex_);
        requests_.push_back(record);
      }
      websocket::stream<tcp::socket&> ws(*socket);
      ws.accept(request, ec);
      beast::flat_buffer message;
      while (!ec) {
        ws.read(message, ec);
        if (ec) break;
        ws.text(ws.got_text());
        ws.write(message.data(), ec);
        message.consume(message.size());
      }
      break;
    }

    // The body, piece by piece: only counted and checksummed.
    checksum sum;
    while (!parser.is_done()) {
      request.body().data = body_piece.get();
      request.body().size = piece_size;
      http::read(*socket, buffer, parser, ec);
      if (ec == http::error::need_buffer) ec = {};
      if (ec) break;
      sum.update(body_piece.get(), piece_size - request.body().size);
    }
    if (ec) break;
    record.body_bytes = sum.bytes();
    record.body_checksum = sum.hex();
    ++in_flight_;
    ++request_count_;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      requests_.push_back(record);
    }
    // Leaves in_flight_ when the answer starts, or when the request ends without one.
    struct in_flight_guard {
      std::atomic<std::uint64_t>& n;
      bool done = false;
      void answering() {
        if (!done) --n;
        done = true;
      }
      ~in_flight_guard() { answering(); }
    } guard{in_flight_};

    if (path == "/close") break;

    const bool keep = keep_alive_ && request.keep_alive();
    auto respond = [&](http::status status, std::string body, std::string_view type) {
      guard.answering();
      http::response<http::string_body> response{status, 11};
      response.set(http::field::server, options_.name);
      response.set("X-Upstream", options_.name);
      if (!body.empty()) response.set(http::field::content_type, type);
      response.body() = std::move(body);
      response.keep_alive(keep);
      response.prepare_payload();
      http::write(*socket, response, ec);
    };
    auto echo = [&] {
      nlohmann::json answer;
      answer["upstream"] = options_.name;
      answer["method"] = record.method;
      answer["target"] = record.target;
      answer["headers"] = record.headers;
      answer["body_bytes"] = record.body_bytes;
      answer["body_checksum"] = record.body_checksum;
      answer["chunked"] = record.chunked;
      respond(http::status::ok, answer.dump(), "application/json");
    };
    auto stream_chunked = [&](auto&& produce) {
      guard.answering();
      http::response<http::empty_body> response{http::status::ok, 11};
      response.set(http::field::server, options_.name);
      response.set("X-Upstream", options_.name);
      response.set(http::field::content_type, "application/octet-stream");
      response.keep_alive(keep);
      response.chunked(true);
      http::response_serializer<http::empty_body> serializer{response};
      http::write_header(*socket, serializer, ec);
      if (!ec) produce();
      if (!ec) asio::write(*socket, http::make_chunk_last(), ec);
    };

    if (starts_with(path, "/status/")) {
      unsigned status = static_cast<unsigned>(std::stoul(path.substr(8)));
      bool bodiless = status / 100 == 1 || status == 204 || status == 304;
      respond(static_cast<http::status>(status),
              bodiless ? std::string() : "{\"status\":" + std::to_string(status) + "}",
              "application/json");
    } else if (path == "/slow") {
      if (!sleep_unless_stopped(std::chrono::milliseconds(query_number(record.target, "ms", 1000))))
        break;
      echo();
    } else if (path == "/big") {
      const std::uint64_t total = query_number(record.target, "bytes", 1024 * 1024);
      stream_chunked([&] {
        for (std::uint64_t offset = 0; offset < total && !ec; offset += piece_size) {
          auto n = static_cast<std::size_t>(std::min<std::uint64_t>(piece_size, total - offset));
          fill_payload(offset, body_piece.get(), n);
          asio::write(*socket, http::make_chunk(asio::buffer(body_piece.get(), n)), ec);
        }
      });
    } else if (path == "/chunked") {
      stream_chunked([&] {
        for (const auto& piece : chunked_pieces()) {
          if (ec) break;
          asio::write(*socket, http::make_chunk(asio::buffer(piece)), ec);
        }
      });
    } else if (path == "/truncated") {
      guard.answering();
      const auto half = static_cast<std::size_t>(query_number(record.target, "bytes", 1000));
      const bool chunked = query_number(record.target, "chunked", 0) != 0;
      std::string head = "HTTP/1.1 200 OK\r\nServer: " + options_.name +
                         "\r\nContent-Type: application/octet-stream\r\n" +
                         (chunked ? std::string("Transfer-Encoding: chunked\r\n")
                                  : "Content-Length: " + std::to_string(2 * half) + "\r\n") +
                         "\r\n";
      std::string body(half, 'x');
      asio::write(*socket, asio::buffer(head), ec);
      if (!ec && chunked) asio::write(*socket, http::make_chunk(asio::buffer(body)), ec);
      if (!ec && !chunked) asio::write(*socket, asio::buffer(body), ec);
      break;  // closes without the rest (nor a last chunk)
    } else if (path == "/upload") {
      nlohmann::json answer{{"bytes", record.body_bytes}, {"checksum", record.body_checksum}};
      respond(http::status::ok, answer.dump(), "application/json");
    } else {
      echo();
    }
    if (ec) break;
    if (!keep) announced_close = true;
  }
  close_connection(socket, connection);
}

}  // namespace dockmaster::test
