#include "net/tunnel.hpp"

#include <boost/asio/write.hpp>

#include "net/proxy_worker.hpp"

namespace dockmaster::net {

namespace asio = boost::asio;
namespace beast = boost::beast;

tunnel::tunnel(proxy_worker& worker, tcp_socket client, beast::flat_buffer client_leftover,
               std::unique_ptr<upstream_connection> upstream)
    : worker_(worker),
      client_(std::move(client)),
      client_leftover_(std::move(client_leftover)),
      upstream_(std::move(upstream)),
      to_upstream_{&client_, &upstream_->socket, nullptr},
      to_client_{&upstream_->socket, &client_, nullptr} {
  worker_.tunnel_started(this);
}

tunnel::~tunnel() { worker_.tunnel_ended(this); }

void tunnel::close() {
  if (closed_) return;
  closed_ = true;
  deadline_ = clock::time_point::max();
  beast::error_code ignored;
  client_.shutdown(tcp_socket::shutdown_both, ignored);
  client_.close(ignored);
  upstream_->socket.close(ignored);
}

void tunnel::check_deadlines(clock::time_point now) {
  if (now >= deadline_) close();
}

void tunnel::start(std::string response_head) {
  head_ = std::move(response_head);
  deadline_ = clock::now() + worker_.settings().timeouts.client_idle;
  asio::async_write(client_, asio::buffer(head_),
                    [self = shared_from_this()](beast::error_code ec, std::size_t) {
                      if (self->closed_) return;
                      if (ec) {
                        self->close();
                        return;
                      }
                      self->head_ = std::string();
                      self->deadline_ = clock::now() + self->worker_.settings().timeouts.tunnel_idle;
                      self->forward_leftover(self->client_leftover_, self->to_upstream_);
                      self->forward_leftover(self->upstream_->buffer, self->to_client_);
                    });
}

void tunnel::forward_leftover(beast::flat_buffer& leftover, direction& way) {
  if (leftover.size() == 0) {
    pump(way);
    return;
  }
  asio::async_write(*way.to, leftover.data(),
                    [self = shared_from_this(), &leftover, &way](beast::error_code ec, std::size_t n) {
                      if (self->closed_) return;
                      leftover.consume(n);
                      if (ec) {
                        self->close();
                        return;
                      }
                      self->pump(way);
                    });
}

void tunnel::pump(direction& way) {
  constexpr std::size_t piece = proxy_worker::body_buffer_size;
  if (!way.buffer) way.buffer.reset(new char[piece]);
  way.from->async_read_some(
      asio::buffer(way.buffer.get(), piece),
      [self = shared_from_this(), &way](beast::error_code ec, std::size_t n) {
        if (self->closed_) return;
        if (ec) {
          // One side finished: pass the end on and let the other direction drain.
          beast::error_code ignored;
          way.to->shutdown(tcp_socket::shutdown_send, ignored);
          if (--self->open_directions_ == 0 || ec != asio::error::eof) self->close();
          return;
        }
        // Any byte in either direction keeps the tunnel open.
        self->deadline_ = clock::now() + self->worker_.settings().timeouts.tunnel_idle;
        asio::async_write(*way.to, asio::buffer(way.buffer.get(), n),
                          [self, &way](beast::error_code ec, std::size_t) {
                            if (self->closed_) return;
                            if (ec) {
                              self->close();
                              return;
                            }
                            self->pump(way);
                          });
      });
}

}  // namespace dockmaster::net
