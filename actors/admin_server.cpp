#include "actors/admin_server.hpp"

#include <optional>

#include <boost/asio/ip/address.hpp>
#include <caf/send.hpp>
#include <nlohmann/json.hpp>

#include "net/admin_http.hpp"
#include "net/status_page.hpp"

namespace dockmaster::actors {

using namespace messages;

namespace {

/// How long the sink may take to answer before the operator gets a 503.
constexpr std::chrono::seconds answer_timeout{5};
/// A reload may wait for a new service's first DNS round (the config_manager gives it
/// 30 s) and for every I/O thread to take the new settings.
constexpr std::chrono::seconds reload_timeout{75};

/// Whether `query` ("a=1&dry_run=1") asks for a dry run; nullopt: a value or a key
/// that /reload does not know.
std::optional<bool> dry_run_of(const std::string& query) {
  bool dry_run = false;
  std::size_t start = 0;
  while (start < query.size()) {
    auto end = query.find('&', start);
    if (end == std::string::npos) end = query.size();
    auto item = query.substr(start, end - start);
    start = end + 1;
    if (item.empty()) continue;
    auto eq = item.find('=');
    auto key = item.substr(0, eq);
    auto value = eq == std::string::npos ? std::string("1") : item.substr(eq + 1);
    if (key != "dry_run") return std::nullopt;
    if (value == "1" || value == "true") dry_run = true;
    else if (value == "0" || value == "false") dry_run = false;
    else return std::nullopt;
  }
  return dry_run;
}

net::admin_response json_error(unsigned status, const std::string& message) {
  return {status, "application/json", R"({"error":")" + message + R"("})", {}};
}

}  // namespace

admin_server_state::~admin_server_state() {
  if (listener) listener->stop();
}

admin_server_impl::behavior_type admin_server(admin_server_impl::stateful_pointer<admin_server_state> self,
                                              config::admin_config admin, event_sink_actor sink,
                                              config_manager_actor manager) {
  auto& state = self->state;
  state.sink = std::move(sink);
  state.manager = std::move(manager);
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
        } else if (query.path == "/reload" && query.method == "POST") {
          auto dry_run = dry_run_of(query.query);
          if (!dry_run)
            return listener->respond(id, json_error(400, "/reload takes only dry_run=1 (or 0)"));
          // The answer is the config_manager's JSON; a rejected config is a 422, and
          // the old config keeps running.
          self->request(self->state.manager, reload_timeout, reload_atom::value, *dry_run)
              .then(
                  [listener, id](std::string& answer) {
                    auto ok = nlohmann::json::parse(answer, nullptr, false).value("ok", false);
                    listener->respond(id, {ok ? 200u : 422u, "application/json", std::move(answer), {}});
                  },
                  [listener, id](caf::error&) {
                    listener->respond(id, json_error(503, "the reload did not finish in time; see the log"));
                  });
        } else if (query.path == "/reload") {
          listener->respond(id, {405, "application/json", R"({"error":"method not allowed"})", {{"Allow", "POST"}}});
        } else {
          listener->respond(id, json_error(404, "no such admin path; there are /, /status, /metrics, /health, /reload"));
        }
      },
  };
}

}  // namespace dockmaster::actors
