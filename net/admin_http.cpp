#include "net/admin_http.hpp"

#include <optional>

#include <boost/asio/post.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace dockmaster::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

/// An operator's request is small; a reload has no body at all.
constexpr std::uint32_t header_limit = 16 * 1024;
constexpr std::uint64_t body_limit = 64 * 1024;
/// A connection with no request, or an answer nobody reads, is closed after this.
constexpr std::chrono::seconds idle_timeout{30};

/// Compares in time that does not depend on where the texts differ (the length is no
/// secret worth hiding).
bool same_secret(const std::string& given, const std::string& expected) {
  if (given.size() != expected.size()) return false;
  unsigned char differ = 0;
  for (std::size_t i = 0; i < given.size(); ++i) differ |= static_cast<unsigned char>(given[i] ^ expected[i]);
  return differ == 0;
}

}  // namespace

class admin_session : public std::enable_shared_from_this<admin_session> {
 public:
  admin_session(tcp::socket socket, admin_listener& owner) : stream_(std::move(socket)), owner_(owner) {}

  void read() {
    parser_.emplace();
    parser_->header_limit(header_limit);
    parser_->body_limit(body_limit);
    stream_.expires_after(idle_timeout);
    http::async_read(stream_, buffer_, *parser_,
                     [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_read(ec); });
  }

  void answer(admin_response response) {
    http::response<http::string_body> message{static_cast<http::status>(response.status), 11};
    message.set(http::field::server, "dockmaster");
    message.set(http::field::content_type, response.content_type);
    message.set(http::field::cache_control, "no-store");
    message.set("X-Content-Type-Options", "nosniff");
    for (auto& [name, value] : response.headers) message.set(name, value);
    message.keep_alive(keep_alive_);
    message.body() = std::move(response.body);
    message.prepare_payload();
    auto shared = std::make_shared<http::response<http::string_body>>(std::move(message));
    stream_.expires_after(idle_timeout);
    http::async_write(stream_, *shared, [self = shared_from_this(), shared](beast::error_code ec, std::size_t) {
      if (ec) return;
      if (self->keep_alive_) {
        self->read();
      } else {
        beast::error_code ignored;
        self->stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
      }
    });
  }

 private:
  void on_read(beast::error_code ec) {
    if (ec) {
      keep_alive_ = false;
      if (ec == http::error::body_limit) answer({413, "text/plain", "request body too large\n", {}});
      else if (ec == http::error::header_limit) answer({431, "text/plain", "request header too large\n", {}});
      else if (ec != http::error::end_of_stream && ec != asio::error::eof && ec != beast::error::timeout &&
               ec != asio::error::operation_aborted && ec != asio::error::connection_reset)
        answer({400, "text/plain", "malformed request\n", {}});
      return;
    }
    auto& request = parser_->get();
    keep_alive_ = request.keep_alive();
    std::string target(request.target());
    auto question = target.find('?');
    std::string path = target.substr(0, question);
    std::string query = question == std::string::npos ? "" : target.substr(question + 1);
    const bool get = request.method() == http::verb::get;
    if (path == "/health" && get) {
      answer({200, "text/plain", "ok\n", {}});
      return;
    }
    if (path == "/" && get) {
      // Inline script and style only: the page loads nothing from anywhere else.
      answer({200, "text/html; charset=utf-8", owner_.page(),
              {{"Content-Security-Policy",
                "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src 'self' data:"}}});
      return;
    }
    if (!owner_.authorized(std::string(request[http::field::authorization]))) {
      answer({401, "application/json", R"({"error":"this needs Authorization: Bearer <admin.token>"})",
              {{"WWW-Authenticate", "Bearer realm=\"dockmaster\""}}});
      return;
    }
    owner_.hand_over(std::string(request.method_string()), std::move(path), std::move(query), weak_from_this());
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  admin_listener& owner_;
  bool keep_alive_ = false;
};

admin_listener::admin_listener(std::string token, std::string page,
                               std::function<void(admin_request)> on_request)
    : token_(std::move(token)), page_(std::move(page)), on_request_(std::move(on_request)),
      acceptor_(io_), retry_timer_(io_) {}

admin_listener::~admin_listener() { stop(); }

std::uint16_t admin_listener::listen(const tcp::endpoint& endpoint) {
  acceptor_.open(endpoint.protocol());
  acceptor_.set_option(asio::socket_base::reuse_address(true));
  acceptor_.bind(endpoint);
  acceptor_.listen();
  return acceptor_.local_endpoint().port();
}

void admin_listener::start() {
  do_accept();
  thread_ = std::thread([this] { io_.run(); });
}

void admin_listener::stop() {
  if (stopped_) return;
  stopped_ = true;
  asio::post(io_, [this] {
    beast::error_code ignored;
    acceptor_.close(ignored);
    retry_timer_.cancel();
    io_.stop();
  });
  if (thread_.joinable()) thread_.join();
}

void admin_listener::respond(std::uint64_t id, admin_response response) {
  asio::post(io_, [this, id, response = std::move(response)]() mutable {
    auto found = pending_.find(id);
    if (found == pending_.end()) return;
    auto session = found->second.lock();
    pending_.erase(found);
    if (session) session->answer(std::move(response));
  });
}

bool admin_listener::authorized(const std::string& authorization) const {
  if (token_.empty()) return true;
  const std::string scheme = "Bearer ";
  if (authorization.size() <= scheme.size() ||
      !beast::iequals(authorization.substr(0, scheme.size()), scheme))
    return false;
  return same_secret(authorization.substr(scheme.size()), token_);
}

std::uint64_t admin_listener::hand_over(std::string method, std::string path, std::string query,
                                        std::weak_ptr<admin_session> session) {
  auto id = next_id_++;
  pending_.emplace(id, std::move(session));
  on_request_(admin_request{id, std::move(method), std::move(path), std::move(query)});
  return id;
}

void admin_listener::do_accept() {
  acceptor_.async_accept([this](beast::error_code ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted || !acceptor_.is_open()) return;
    if (!ec) {
      std::make_shared<admin_session>(std::move(socket), *this)->read();
      do_accept();
      return;
    }
    // Out of descriptors or memory: try again in a moment rather than spin.
    retry_timer_.expires_after(std::chrono::milliseconds(100));
    retry_timer_.async_wait([this](beast::error_code wait_error) {
      if (!wait_error) do_accept();
    });
  });
}

}  // namespace dockmaster::net
