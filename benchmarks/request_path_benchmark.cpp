// The per-request message path: what a request costs on its I/O thread in dockmaster's
// design (route, pick an instance, rewrite and serialize the head), against what it
// would cost if each request consulted an actor (a CAF request/response round trip)
// or crossed to another thread (an Asio post and its answer).

#include <benchmark/benchmark.h>

#include <future>
#include <thread>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/http/message.hpp>
#include <caf/all.hpp>

#include "config/parse.hpp"
#include "net/header_rewrite.hpp"
#include "net/http_wire.hpp"
#include "net/proxy_worker.hpp"

namespace {

namespace http = boost::beast::http;
using namespace dockmaster;

net::request_head browser_request() {
  net::request_head request;
  request.method(http::verb::get);
  request.target("/api/items/42?expand=owner");
  request.version(11);
  request.set(http::field::host, "app.example.com");
  request.set(http::field::user_agent, "Mozilla/5.0 (X11; Linux x86_64) Chrome/120.0 Safari/537.36");
  request.set(http::field::accept, "application/json, text/plain, */*");
  request.set(http::field::accept_encoding, "gzip, deflate, br");
  request.set(http::field::accept_language, "en-US,en;q=0.9");
  request.set(http::field::connection, "keep-alive");
  request.set(http::field::cookie, "session=0123456789abcdef; theme=dark");
  request.set(http::field::origin, "https://app.example.com");
  return request;
}

config::config proxy_config() {
  auto cfg = config::default_config();
  cfg.services["backend"].instances = {{"127.0.0.1", 8000}, {"127.0.0.2", 8000}, {"127.0.0.3", 8000}};
  return cfg;
}

void BM_RequestPathOnIoThread(benchmark::State& state) {
  auto cfg = proxy_config();
  auto settings = std::make_shared<const net::proxy_settings>(cfg);
  net::proxy_worker worker(settings);
  net::service_update update{"backend", {}};
  for (const auto& instance : cfg.services["backend"].instances)
    update.targets.push_back({"backend:8000",
                              {boost::asio::ip::make_address(instance.host), instance.port}, true, 0});
  worker.update_service(update);
  worker.io().poll();  // applies the posted update
  const auto request_template = browser_request();
  std::vector<std::shared_ptr<net::upstream_target>> tried;
  std::string head;
  for (auto _ : state) {
    auto request = request_template;
    auto host = request[http::field::host];
    const auto* route = settings->routes.match(host, request.target());
    auto target = worker.pick(route->service, tried);
    auto id = net::prepare_upstream_request(request, {"127.0.0.1", "http"});
    head.clear();
    net::append_request_head(request, head);
    benchmark::DoNotOptimize(target);
    benchmark::DoNotOptimize(head.data());
  }
}
BENCHMARK(BM_RequestPathOnIoThread);

/// Copying the request header alone, to subtract from the figure above.
void BM_RequestHeaderCopy(benchmark::State& state) {
  const auto request_template = browser_request();
  for (auto _ : state) {
    auto request = request_template;
    benchmark::DoNotOptimize(&request);
  }
}
BENCHMARK(BM_RequestHeaderCopy);

using pick_atom = caf::atom_constant<caf::atom("pick")>;

void BM_CafRoundTripPerRequest(benchmark::State& state) {
  caf::actor_system_config caf_config;
  caf_config.set("scheduler.max-threads", static_cast<std::size_t>(state.range(0)));
  caf::actor_system system{caf_config};
  auto picker = system.spawn([]() -> caf::behavior {
    return {[n = std::size_t{0}](pick_atom) mutable { return ++n % 3; }};
  });
  caf::scoped_actor self{system};
  for (auto _ : state) {
    self->request(picker, caf::infinite, pick_atom::value)
        .receive([](std::size_t index) { benchmark::DoNotOptimize(index); }, [](caf::error&) {});
  }
  self->send_exit(picker, caf::exit_reason::user_shutdown);
}
BENCHMARK(BM_CafRoundTripPerRequest)->Arg(1)->Arg(2)->UseRealTime();

void BM_CrossThreadHopPerRequest(benchmark::State& state) {
  boost::asio::io_context other;
  auto guard = boost::asio::make_work_guard(other);
  std::thread thread([&] { other.run(); });
  for (auto _ : state) {
    std::promise<int> answer;
    boost::asio::post(other, [&] { answer.set_value(1); });
    benchmark::DoNotOptimize(answer.get_future().get());
  }
  guard.reset();
  thread.join();
}
BENCHMARK(BM_CrossThreadHopPerRequest)->UseRealTime();

}  // namespace
