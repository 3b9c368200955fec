#include "actors/admin_server.hpp"

#include <boost/asio/ip/address.hpp>
#include <caf/send.hpp>

#include "net/admin_http.hpp"
#include "net/status_page.hpp"

namespace dockmaster::actors {

using namespace messages;

namespace {

/// How long the sink may take to answer before the operator gets a 503.
constexpr std::chrono::seconds answer_timeout{5};

net::admin_response json_error(unsigned status, const std::string& message) {
  return {status, "application/json", R"({"error":")" + message + R"("})", {}};
}

}  // namespace

admin_server_state::~admin_server_state() {
  if (listener) listener->stop();
}

admin_server_impl::behavior_type admin_server(admin_server_impl::stateful_pointer<admin_server_state> self,
                                              config::admin_config admin, event_sink_actor sink) {
  auto& state = self->state;
  state.sink = std::move(sink);
  // Called on the listener's thread; a weak reference, as the listener lives in this
  // actor's state.
  caf::weak_actor_ptr me = caf::actor_cast<caf::weak_actor_ptr>(self->ctrl());
  state.listener = std::make_shared<net::admin_listener>(
      admin.token, std::string(net::status_page_html()), [me](net::admin_request request) {
        if (auto strong = me.lock())
          caf::anon_send(caf::actor_cast<admin_server_impl>(strong),
                         admin_query{request.id, std::move(request.method), std::move(request.path),
                                     std::move(request.query)});
      });
  if (admin.listen) {
    const auto& address = *admin.listen;
    try {
      auto ip = boost::asio::ip::make_address(address.host == "*" ? "0.0.0.0" : address.host);
      state.port = state.listener->listen(boost::asio::ip::tcp::endpoint(ip, address.port));
      state.listener->start();
    } catch (const std::exception& e) {
      state.bind_error = "cannot listen on admin.listen " + address.host + ":" + std::to_string(address.port) +
                         ": " + e.what();
      state.listener.reset();
    }
  }

  return {
      [self](listening_atom) -> caf::result<std::uint16_t> {
        if (!self->state.bind_error.empty())
          return caf::make_error(caf::sec::runtime_error, self->state.bind_error);
        return self->state.port;
      },
      [self](admin_query& query) {
        auto listener = self->state.listener;
        if (!listener) return;
        auto id = query.id;
        auto ask_sink = [&](auto atom, std::string content_type) {
          self->request(self->state.sink, answer_timeout, atom)
              .then(
                  [listener, id, content_type](std::string& body) {
                    listener->respond(id, {200, content_type, std::move(body), {}});
                  },
                  [listener, id](caf::error&) {
                    listener->respond(id, json_error(503, "the event sink did not answer in time"));
                  });
        };
        const bool get = query.method == "GET";
        if (query.path == "/status" && get) {
          ask_sink(status_atom::value, "application/json");
        } else if (query.path == "/metrics" && get) {
          ask_sink(metrics_atom::value, "text/plain; version=0.0.4; charset=utf-8");
        } else if (query.path == "/status" || query.path == "/metrics") {
          listener->respond(id, {405, "application/json", R"({"error":"method not allowed"})", {{"Allow", "GET"}}});
        } else {
          listener->respond(id, json_error(404, "no such admin path; there are /, /status, /metrics, /health"));
        }
      },
  };
}

}  // namespace dockmaster::actors
