// engine_client against a scripted fake engine: the error paths, the exec stream cut
// anywhere, timeouts, and DOCKER_HOST.

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "docker/engine_client.hpp"
#include "docker/engine_http.hpp"
#include "support/fake_docker_engine.hpp"

namespace {

using namespace std::chrono_literals;
using dockmaster::docker::engine_client;
using dockmaster::docker::engine_error;
using dockmaster::docker::exec_options;
using dockmaster::test::fake_docker_engine;
using json = nlohmann::json;
using steady = std::chrono::steady_clock;

std::string percent_decode(const std::string& s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      out += static_cast<char>(std::stoi(s.substr(i + 1, 2), nullptr, 16));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

long ms_since(steady::time_point t) {
  return static_cast<long>(std::chrono::duration_cast<std::chrono::milliseconds>(steady::now() - t).count());
}

// Runs `f`, expects an engine_error, returns it.
template <typename F>
engine_error expect_engine_error(F&& f) {
  try {
    f();
  } catch (const engine_error& e) {
    return e;
  } catch (const std::exception& e) {
    ADD_FAILURE() << "expected engine_error, got: " << e.what();
    return engine_error(-1, e.what());
  }
  ADD_FAILURE() << "expected engine_error, nothing thrown";
  return engine_error(-1, "nothing thrown");
}

json inspect_document() {
  return json::parse(R"({
    "Id": "0123456789abcdef",
    "Name": "/stack-backend-1",
    "State": {"Status": "running", "Running": true, "StartedAt": "2026-11-28T05:49:21.123456789Z"},
    "Config": {"Hostname": "backendhost", "Labels": {"com.docker.compose.service": "backend", "tier": "api"}},
    "HostConfig": {"NetworkMode": "stack_default"},
    "NetworkSettings": {"Networks": {"stack_default": {"IPAddress": "172.18.0.5", "GlobalIPv6Address": ""},
                                     "other": {"IPAddress": "172.19.0.2"}}}
  })");
}

// A fake engine that runs one exec: create answers `exec_id`, start streams `stream`
// through `write_stream`, and /exec/{id}/json answers Running false with `exit_code`.
struct exec_script {
  std::string exec_id = "e1";
  int exit_code = 0;
  int running_polls = 0;  // answers with Running true before the final one
  std::function<void(fake_docker_engine::exchange&)> write_stream;
};

std::function<void(fake_docker_engine::exchange&)> exec_handler(std::shared_ptr<exec_script> s) {
  auto polls = std::make_shared<std::atomic<int>>(0);
  return [s, polls](fake_docker_engine::exchange& ex) {
    const auto& r = ex.req();
    if (r.method == "POST" && r.path == "/containers/web/exec") {
      ex.reply_json(201, {{"Id", s->exec_id}});
    } else if (r.method == "POST" && r.path == "/exec/" + s->exec_id + "/start") {
      s->write_stream(ex);
      ex.close();
    } else if (r.method == "GET" && r.path == "/exec/" + s->exec_id + "/json") {
      if ((*polls)++ < s->running_polls) {
        ex.reply_json(200, {{"ID", s->exec_id}, {"Running", true}, {"ExitCode", nullptr}});
      } else {
        ex.reply_json(200, {{"ID", s->exec_id}, {"Running", false}, {"ExitCode", s->exit_code}});
      }
    }
  };
}

std::string hello_stream() {
  return fake_docker_engine::frame(1, "hello\n") + fake_docker_engine::frame(2, "err\n") +
         fake_docker_engine::frame(1, "done\n");
}

exec_options hello_options() {
  exec_options o;
  o.argv = {"sh", "-c", "echo hello; echo err >&2; echo done; exit 3"};
  o.timeout = 5s;
  return o;
}

// --- reaching the engine ---------------------------------------------------------

TEST(EngineClientFake, PingAnswersOk) {
  fake_docker_engine engine([](fake_docker_engine::exchange& ex) {
    if (ex.req().path == "/_ping") ex.reply(200, "OK", "text/plain");
  });
  engine_client client(engine.socket_path());
  EXPECT_TRUE(client.ping());
  EXPECT_EQ(engine.count("GET", "/_ping"), 1);
}

TEST(EngineClientFake, MissingSocketCannotReachTheEngine) {
  const std::string path = "/tmp/dockmaster-no-such-dir-" + std::to_string(::getpid()) + "/docker.sock";
  engine_client client(path, 2s);
  EXPECT_FALSE(client.ping());
  const auto t0 = steady::now();
  const auto e = expect_engine_error([&] { client.inspect_container("web"); });
  EXPECT_EQ(e.status(), 0);
  EXPECT_NE(std::string(e.what()).find("cannot reach the Docker engine at " + path), std::string::npos) << e.what();
  EXPECT_LT(ms_since(t0), 1000);
  const auto e2 = expect_engine_error([&] { client.exec("web", hello_options()); });
  EXPECT_EQ(e2.status(), 0);
  EXPECT_NE(std::string(e2.what()).find("cannot reach the Docker engine"), std::string::npos) << e2.what();
}

TEST(EngineClientFake, StaleSocketFileCannotReachTheEngine) {
  std::string path;
  {
    fake_docker_engine engine([](fake_docker_engine::exchange&) {});
    path = engine.directory() + "/stale.sock";
    // Bind a socket and close it without unlinking: a file nobody listens on.
    const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path.c_str());
    ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    ::close(fd);
    engine_client client(path, 2s);
    EXPECT_FALSE(client.ping());
    const auto e = expect_engine_error([&] { client.list_containers({}); });
    EXPECT_EQ(e.status(), 0);
    EXPECT_NE(std::string(e.what()).find("cannot reach the Docker engine at " + path), std::string::npos) << e.what();
    ::unlink(path.c_str());
  }
}

TEST(EngineClientFake, TooLongSocketPathCannotReachTheEngine) {
  const std::string path = "/tmp/" + std::string(200, 'x') + "/docker.sock";
  engine_client client(path, 2s);
  const auto e = expect_engine_error([&] { client.inspect_container("web"); });
  EXPECT_EQ(e.status(), 0);
  EXPECT_NE(std::string(e.what()).find("cannot reach the Docker engine"), std::string::npos) << e.what();
}

// --- answers ---------------------------------------------------------------------

TEST(EngineClientFake, InspectParsesTheDocument) {
  fake_docker_engine engine([](fake_docker_engine::exchange& ex) {
    if (ex.req().method == "GET" && ex.req().path == "/containers/stack-backend-1/json")
      ex.reply_json(200, inspect_document());
  });
  engine_client client(engine.socket_path());
  const auto info = client.inspect_container("stack-backend-1");
  EXPECT_EQ(info.id, "0123456789abcdef");
  EXPECT_EQ(info.name, "stack-backend-1");
  EXPECT_EQ(info.state, "running");
  EXPECT_EQ(info.started_at, "2026-11-28T05:49:21.123456789Z");
  EXPECT_EQ(info.hostname, "backendhost");
  EXPECT_FALSE(info.host_network);
  EXPECT_EQ(info.addresses, (std::vector<std::string>{"172.19.0.2", "172.18.0.5"}));
  EXPECT_EQ(info.labels.at("com.docker.compose.service"), "backend");
  EXPECT_EQ(info.labels.at("tier"), "api");
  EXPECT_EQ(engine.requests().at(0).target, "/v1.41/containers/stack-backend-1/json");
}

TEST(EngineClientFake, InspectEncodesTheName) {
  fake_docker_engine engine([](fake_docker_engine::exchange& ex) { ex.reply_error(404, "No such container"); });
  engine_client client(engine.socket_path());
  expect_engine_error([&] { client.inspect_container("a b/c?d"); });
  EXPECT_EQ(engine.requests().at(0).target, "/v1.41/containers/a%20b%2Fc%3Fd/json");
}

TEST(EngineClientFake, ListSendsLabelFiltersAndInspectsEachContainer) {
  fake_docker_engine engine([](fake_docker_engine::exchange& ex) {
    const auto& p = ex.req().path;
    if (p == "/containers/json") {
      ex.reply_json(200, json::parse(R"([
        {"Id": "aaa", "Names": ["/web"], "State": "running", "Labels": {"app": "shop"},
         "HostConfig": {"NetworkMode": "host"}, "NetworkSettings": {"Networks": {"host": {"IPAddress": ""}}}},
        {"Id": "bbb", "Names": ["/web/db", "/db"], "State": "running", "Labels": null,
         "HostConfig": {"NetworkMode": "default"},
         "NetworkSettings": {"Networks": {"bridge": {"IPAddress": "172.17.0.3"}}}},
        {"Id": "ccc", "Names": ["/gone"], "State": "running"},
        {"Id": "ddd", "Names": ["/stopped"], "State": "running"}
      ])"));
    } else if (p == "/containers/aaa/json") {
      ex.reply_json(200, json::parse(R"({"Id": "aaa", "Name": "/web",
        "State": {"Status": "running", "StartedAt": "2026-01-01T00:00:00Z"},
        "Config": {"Hostname": "webhost", "Labels": {"app": "shop"}},
        "HostConfig": {"NetworkMode": "host"}, "NetworkSettings": {"Networks": {"host": {"IPAddress": ""}}}})"));
    } else if (p == "/containers/bbb/json") {
      ex.reply_json(200, json::parse(R"({"Id": "bbb", "Name": "/db",
        "State": {"Status": "running", "StartedAt": "2026-01-02T00:00:00Z"},
        "Config": {"Hostname": "dbhost", "Labels": null}, "HostConfig": {"NetworkMode": "default"},
        "NetworkSettings": {"Networks": {"bridge": {"IPAddress": "172.17.0.3"}}}})"));
    } else if (p == "/containers/ccc/json") {
      ex.reply_error(404, "No such container: ccc");  // removed between the list and the inspect
    } else if (p == "/containers/ddd/json") {
      ex.reply_json(200, json::parse(R"({"Id": "ddd", "Name": "/stopped", "State": {"Status": "exited"}})"));
    }
  });
  engine_client client(engine.socket_path());
  const auto list = client.list_containers({"app=shop", "tier"});
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0].id, "aaa");
  EXPECT_EQ(list[0].name, "web");
  EXPECT_EQ(list[0].state, "running");
  EXPECT_EQ(list[0].hostname, "webhost");
  EXPECT_EQ(list[0].started_at, "2026-01-01T00:00:00Z");
  EXPECT_TRUE(list[0].host_network);
  EXPECT_TRUE(list[0].addresses.empty());
  EXPECT_EQ(list[0].labels.at("app"), "shop");
  EXPECT_EQ(list[1].name, "db");
  EXPECT_EQ(list[1].hostname, "dbhost");
  EXPECT_FALSE(list[1].host_network);
  EXPECT_EQ(list[1].addresses, std::vector<std::string>{"172.17.0.3"});
  EXPECT_TRUE(list[1].labels.empty());

  const auto req = engine.requests().at(0);
  ASSERT_EQ(req.query.rfind("filters=", 0), 0u) << req.query;
  EXPECT_EQ(json::parse(percent_decode(req.query.substr(8))), json::parse(R"({"label":["app=shop","tier"]})"));
  EXPECT_EQ(engine.requests().size(), 5u);
}

TEST(EngineClientFake, ListFailsWhenAnInspectFails) {
  fake_docker_engine engine([](fake_docker_engine::exchange& ex) {
    if (ex.req().path == "/containers/json") ex.reply(200, R"([{"Id": "aaa", "Names": ["/web"]}])");
    else ex.reply_error(500, "engine trouble");
  });
  engine_client client(engine.socket_path());
  const auto e = expect_engine_error([&] { client.list_containers({"a=b"}); });
  EXPECT_EQ(e.status(), 500);
}

TEST(EngineClientFake, ListWithoutFiltersSendsNoQuery) {
  fake_docker_engine engine([](fake_docker_engine::exchange& ex) { ex.reply(200, "[]"); });
  engine_client client(engine.socket_path());
  EXPECT_TRUE(client.list_containers({}).empty());
  EXPECT_EQ(engine.requests().at(0).target, "/v1.41/containers/json");
}

TEST(EngineClientFake, RestartSendsTheStopTimeout) {
  fake_docker_engine engine([](fake_docker_engine::exchange& ex) {
    if (ex.req().method == "POST" && ex.req().path == "/containers/web/restart") ex.reply(204, "", "");
  });
  engine_client client(engine.socket_path());
  client.restart_container("web", 7s);
  ASSERT_EQ(engine.requests().size(), 1u);
  EXPECT_EQ(engine.requests()[0].query, "t=7");
}

// --- error statuses --------------------------------------------------------------

TEST(EngineClientFake, NoSuchContainerIs404WithTheEnginesMessage) {
  fake_docker_engine engine([](fake_docker_engine::exchange& ex) { ex.reply_error(404, "No such container: web"); });
  engine_client client(engine.socket_path());
  auto e = expect_engine_error([&] { client.inspect_container("web"); });
  EXPECT_EQ(e.status(), 404);
  EXPECT_STREQ(e.what(), "No such container: web");
  e = expect_engine_error([&] { client.exec("web", hello_options()); });
  EXPECT_EQ(e.status(), 404);
  EXPECT_STREQ(e.what(), "No such container: web");
  EXPECT_EQ(engine.count("POST", "/containers/web/exec"), 1);
  EXPECT_EQ(engine.requests().size(), 2u) << "no start after a failed create";
  e = expect_engine_error([&] { client.restart_container("web", 1s); });
  EXPECT_EQ(e.status(), 404);
}

TEST(EngineClientFake, ExecInStoppedContainerIs409) {
  fake_docker_engine engine([](fake_docker_engine::exchange& ex) {
    ex.reply_error(409, "Container 0123 is not running");
  });
  engine_client client(engine.socket_path());
  const auto e = expect_engine_error([&] { client.exec("web", hello_options()); });
  EXPECT_EQ(e.status(), 409);
  EXPECT_STREQ(e.what(), "Container 0123 is not running");
}

TEST(EngineClientFake, ExecStartRefusedIsAnError) {
  fake_docker_engine engine([](fake_docker_engine::exchange& ex) {
    if (ex.req().path == "/containers/web/exec") ex.reply_json(201, {{"Id", "e9"}});
    if (ex.req().path == "/exec/e9/start") ex.reply_error(409, "Container web is paused, unpause the container before exec");
  });
  engine_client client(engine.socket_path());
  const auto e = expect_engine_error([&] { client.exec("web", hello_options()); });
  EXPECT_EQ(e.status(), 409) << e.what();
  EXPECT_NE(std::string(e.what()).find("paused"), std::string::npos) << e.what();
}

TEST(EngineClientFake, ServerErrorIs500) {
  fake_docker_engine engine([](fake_docker_engine::exchange& ex) {
    if (ex.req().path == "/containers/json") ex.reply_error(500, "oci runtime error: something broke");
    else ex.reply(500, "plain text failure\n", "text/plain");
  });
  engine_client client(engine.socket_path());
  auto e = expect_engine_error([&] { client.list_containers({"a=b"}); });
  EXPECT_EQ(e.status(), 500);
  EXPECT_STREQ(e.what(), "oci runtime error: something broke");
  e = expect_engine_error([&] { client.inspect_container("web"); });
  EXPECT_EQ(e.status(), 500);
  EXPECT_NE(std::string(e.what()).find("plain text failure"), std::string::npos) << e.what();
  EXPECT_FALSE(client.ping());
}

TEST(EngineClientFake, MalformedJsonIsAnError) {
  fake_docker_engine engine([](fake_docker_engine::exchange& ex) {
    const auto& p = ex.req().path;
    if (p == "/containers/web/json") ex.reply(200, "{\"Id\": \"abc\", \"Name\": ");
    else if (p == "/containers/json") ex.reply(200, "{\"not\": \"a list\"}");
    else if (p == "/containers/other/json") ex.reply(200, "[1, 2]");
    else if (p == "/containers/third/json") ex.reply(200, "{\"Id\": \"abc\", \"State\": {\"Status\": 5}}");
    else if (p == "/containers/web/exec") ex.reply(201, "<html>");
  });
  engine_client client(engine.socket_path());
  for (const auto& call : std::vector<std::function<void()>>{
           [&] { client.inspect_container("web"); }, [&] { client.list_containers({}); },
           [&] { client.inspect_container("other"); }, [&] { client.inspect_container("third"); },
           [&] { client.exec("web", hello_options()); }}) {
    const auto e = expect_engine_error(call);
    EXPECT_NE(std::string(e.what()).find("malformed answer"), std::string::npos) << e.what();
    EXPECT_GE(e.status(), 200);
  }
}

TEST(EngineClientFake, MalformedExecStateIsAnError) {
  fake_docker_engine engine([](fake_docker_engine::exchange& ex) {
    const auto& p = ex.req().path;
    if (p == "/containers/web/exec") ex.reply_json(201, {{"Id", "e1"}});
    else if (p == "/exec/e1/start") {
      ex.write_raw(fake_docker_engine::stream_header());
      ex.close();
    } else if (p == "/exec/e1/json") ex.reply_json(200, {{"Running", "no"}});
  });
  engine_client client(engine.socket_path());
  const auto e = expect_engine_error([&] { client.exec("web", hello_options()); });
  EXPECT_NE(std::string(e.what()).find("malformed answer"), std::string::npos) << e.what();
}

TEST(EngineClientFake, ConnectionClosedWithoutAnswerIsAnError) {
  fake_docker_engine engine([](fake_docker_engine::exchange& ex) {
    ex.write_raw("");  // counts as answered: the connection just closes
    ex.close();
  });
  engine_client client(engine.socket_path(), 2s);
  const auto e = expect_engine_error([&] { client.inspect_container("web"); });
  EXPECT_EQ(e.status(), 0);
  EXPECT_FALSE(client.ping());
}

// --- a hanging engine ------------------------------------------------------------

TEST(EngineClientFake, HangingEngineTimesOut) {
  fake_docker_engine engine([](fake_docker_engine::exchange& ex) { ex.hang(); });
  engine_client client(engine.socket_path(), 300ms);
  auto t0 = steady::now();
  auto e = expect_engine_error([&] { client.inspect_container("web"); });
  EXPECT_EQ(e.status(), 0);
  EXPECT_NE(std::string(e.what()).find("timed out"), std::string::npos) << e.what();
  EXPECT_GE(ms_since(t0), 250);
  EXPECT_LT(ms_since(t0), 3000);

  t0 = steady::now();
  EXPECT_FALSE(client.ping());
  EXPECT_LT(ms_since(t0), 3000);

  // exec: the create already hangs; the exec timeout is longer than the call timeout.
  t0 = steady::now();
  e = expect_engine_error([&] { client.exec("web", hello_options()); });
  EXPECT_NE(std::string(e.what()).find("timed out"), std::string::npos) << e.what();
  EXPECT_LT(ms_since(t0), 3000);
}

TEST(EngineClientFake, HangingExecStartTimesOutAsAnEngineError) {
  fake_docker_engine engine([](fake_docker_engine::exchange& ex) {
    if (ex.req().path == "/containers/web/exec") ex.reply_json(201, {{"Id", "e1"}});
    else ex.hang();  // no header for the start
  });
  engine_client client(engine.socket_path(), 300ms);
  const auto t0 = steady::now();
  const auto e = expect_engine_error([&] { client.exec("web", hello_options()); });
  EXPECT_EQ(e.status(), 0);
  EXPECT_NE(std::string(e.what()).find("timed out"), std::string::npos) << e.what();
  EXPECT_LT(ms_since(t0), 3000);
}

TEST(EngineClientFake, HangingEngineWithSlowHeaderEndsAtTheExecTimeoutWhenShorter) {
  fake_docker_engine engine([](fake_docker_engine::exchange& ex) {
    if (ex.req().path == "/containers/web/exec") ex.reply_json(201, {{"Id", "e1"}});
    else ex.hang();
  });
  engine_client client(engine.socket_path(), 5s);
  auto o = hello_options();
  o.timeout = 300ms;
  const auto t0 = steady::now();
  const auto outcome = client.exec("web", o);
  EXPECT_FALSE(outcome.finished);
  EXPECT_EQ(outcome.exec_id, "e1");
  EXPECT_LT(ms_since(t0), 3000);
}

// --- the exec stream -------------------------------------------------------------

TEST(EngineClientFake, ExecSendsTheOptionsAndCollectsOutputAndExitCode) {
  auto s = std::make_shared<exec_script>();
  s->exit_code = 3;
  s->write_stream = [](fake_docker_engine::exchange& ex) { ex.write_raw(fake_docker_engine::stream_header() + hello_stream()); };
  fake_docker_engine engine(exec_handler(s));
  engine_client client(engine.socket_path());
  auto o = hello_options();
  o.user = "app";
  o.env = {"A=1", "B=two"};
  o.working_dir = "/srv";
  const auto outcome = client.exec("web", o);
  EXPECT_TRUE(outcome.finished);
  EXPECT_EQ(outcome.exit_code, 3);
  EXPECT_EQ(outcome.output, "hello\nerr\ndone\n");
  EXPECT_EQ(outcome.exec_id, "e1");
  EXPECT_LT(outcome.duration, 2000ms);

  const auto reqs = engine.requests();
  ASSERT_GE(reqs.size(), 3u);
  const auto create = json::parse(reqs[0].body);
  EXPECT_EQ(reqs[0].headers.at("content-type"), "application/json");
  EXPECT_EQ(create["Cmd"], json(o.argv));
  EXPECT_EQ(create["AttachStdout"], true);
  EXPECT_EQ(create["AttachStderr"], true);
  EXPECT_EQ(create["Tty"], false);
  EXPECT_EQ(create["User"], "app");
  EXPECT_EQ(create["Env"], json(o.env));
  EXPECT_EQ(create["WorkingDir"], "/srv");
  EXPECT_EQ(json::parse(reqs[1].body), json::parse(R"({"Detach":false,"Tty":false})"));
  EXPECT_EQ(reqs[1].target, "/v1.41/exec/e1/start");
}

TEST(EngineClientFake, ExecWithoutOptionalFieldsOmitsThem) {
  auto s = std::make_shared<exec_script>();
  s->write_stream = [](fake_docker_engine::exchange& ex) { ex.write_raw(fake_docker_engine::stream_header()); };
  fake_docker_engine engine(exec_handler(s));
  engine_client client(engine.socket_path());
  const auto outcome = client.exec("web", hello_options());
  EXPECT_TRUE(outcome.finished);
  EXPECT_EQ(outcome.exit_code, 0);
  EXPECT_EQ(outcome.output, "");
  const auto create = json::parse(engine.requests().at(0).body);
  EXPECT_FALSE(create.contains("User"));
  EXPECT_FALSE(create.contains("Env"));
  EXPECT_FALSE(create.contains("WorkingDir"));
}

TEST(EngineClientFake, ExecStreamCutAtEveryByteAcrossWrites) {
  auto s = std::make_shared<exec_script>();
  s->exit_code = 3;
  s->write_stream = [](fake_docker_engine::exchange& ex) {
    ex.write_raw(fake_docker_engine::stream_header());
    ex.write_slowly(hello_stream(), 1, 2ms);
  };
  fake_docker_engine engine(exec_handler(s));
  engine_client client(engine.socket_path());
  const auto outcome = client.exec("web", hello_options());
  EXPECT_TRUE(outcome.finished);
  EXPECT_EQ(outcome.exit_code, 3);
  EXPECT_EQ(outcome.output, "hello\nerr\ndone\n");
}

TEST(EngineClientFake, ExecStreamHeaderAndFramesInOddPieces) {
  // The header and the first frame bytes share writes, cut at 3-byte steps.
  auto s = std::make_shared<exec_script>();
  s->exit_code = 1;
  s->write_stream = [](fake_docker_engine::exchange& ex) {
    ex.write_slowly(fake_docker_engine::stream_header() + hello_stream(), 3, 1ms);
  };
  fake_docker_engine engine(exec_handler(s));
  engine_client client(engine.socket_path());
  const auto outcome = client.exec("web", hello_options());
  EXPECT_EQ(outcome.exit_code, 1);
  EXPECT_EQ(outcome.output, "hello\nerr\ndone\n");
}

TEST(EngineClientFake, ExecStreamChunkedTransferEncoding) {
  auto s = std::make_shared<exec_script>();
  s->exit_code = 0;
  s->write_stream = [](fake_docker_engine::exchange& ex) {
    std::string out = "HTTP/1.1 200 OK\r\nContent-Type: application/vnd.docker.multiplexed-stream\r\n"
                      "Transfer-Encoding: chunked\r\n\r\n";
    const std::string body = hello_stream();
    // One chunk per byte, each chunk written on its own.
    ex.write_raw(out);
    for (char ch : body) {
      ex.write_raw(std::string("1\r\n") + ch + "\r\n");
    }
    ex.write_raw("0\r\n\r\n");
  };
  fake_docker_engine engine(exec_handler(s));
  engine_client client(engine.socket_path());
  const auto outcome = client.exec("web", hello_options());
  EXPECT_TRUE(outcome.finished);
  EXPECT_EQ(outcome.output, "hello\nerr\ndone\n");
}

TEST(EngineClientFake, ExecStreamAfter101Upgrade) {
  auto s = std::make_shared<exec_script>();
  s->exit_code = 4;
  s->write_stream = [](fake_docker_engine::exchange& ex) {
    const std::string stream = hello_stream();
    // The upgrade header and the first 5 stream bytes in one write, the rest slowly.
    ex.write_raw("HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.raw-stream\r\n"
                 "Connection: Upgrade\r\nUpgrade: tcp\r\n\r\n" + stream.substr(0, 5));
    ex.write_slowly(stream.substr(5), 2, 1ms);
  };
  fake_docker_engine engine(exec_handler(s));
  engine_client client(engine.socket_path());
  const auto outcome = client.exec("web", hello_options());
  EXPECT_TRUE(outcome.finished);
  EXPECT_EQ(outcome.exit_code, 4);
  EXPECT_EQ(outcome.output, "hello\nerr\ndone\n");
}

TEST(EngineClientFake, ExecKeepsOnlyTheTailOfTheOutput) {
  auto s = std::make_shared<exec_script>();
  s->write_stream = [](fake_docker_engine::exchange& ex) {
    std::string stream;
    for (int i = 0; i < 2000; ++i) stream += fake_docker_engine::frame(i % 2 + 1, "line " + std::to_string(i) + "\n");
    ex.write_raw(fake_docker_engine::stream_header() + stream);
  };
  fake_docker_engine engine(exec_handler(s));
  engine_client client(engine.socket_path());
  auto o = hello_options();
  o.output_limit = 20;
  const auto outcome = client.exec("web", o);
  EXPECT_TRUE(outcome.finished);
  EXPECT_EQ(outcome.output, "line 1998\nline 1999\n");
}

TEST(EngineClientFake, ExecPollsUntilNotRunning) {
  auto s = std::make_shared<exec_script>();
  s->exit_code = 7;
  s->running_polls = 3;
  s->write_stream = [](fake_docker_engine::exchange& ex) { ex.write_raw(fake_docker_engine::stream_header() + hello_stream()); };
  fake_docker_engine engine(exec_handler(s));
  engine_client client(engine.socket_path());
  const auto t0 = steady::now();
  const auto outcome = client.exec("web", hello_options());
  EXPECT_TRUE(outcome.finished);
  EXPECT_EQ(outcome.exit_code, 7);
  EXPECT_EQ(engine.count("GET", "/exec/e1/json"), 4);
  EXPECT_GE(ms_since(t0), 140);  // three 50 ms pauses
}

TEST(EngineClientFake, ExecBeyondItsTimeoutIsNotFinished) {
  auto s = std::make_shared<exec_script>();
  s->write_stream = [](fake_docker_engine::exchange& ex) {
    ex.write_raw(fake_docker_engine::stream_header() + fake_docker_engine::frame(1, "started\n") +
                 std::string("\x01\0\0", 3));
    ex.hang();  // the command runs on and on
  };
  fake_docker_engine engine(exec_handler(s));
  engine_client client(engine.socket_path(), 5s);
  auto o = hello_options();
  o.timeout = 400ms;
  const auto t0 = steady::now();
  const auto outcome = client.exec("web", o);
  EXPECT_FALSE(outcome.finished);
  EXPECT_EQ(outcome.output, "started\n");
  EXPECT_EQ(outcome.exec_id, "e1");
  EXPECT_GE(outcome.duration, 380ms);
  EXPECT_LT(ms_since(t0), 2000);
  EXPECT_EQ(engine.count("GET", "/exec/e1/json"), 0);
}

TEST(EngineClientFake, ExecStillRunningAfterTheStreamIsNotFinished) {
  auto s = std::make_shared<exec_script>();
  s->running_polls = 1000000;
  s->write_stream = [](fake_docker_engine::exchange& ex) { ex.write_raw(fake_docker_engine::stream_header() + hello_stream()); };
  fake_docker_engine engine(exec_handler(s));
  engine_client client(engine.socket_path());
  auto o = hello_options();
  o.timeout = 400ms;
  const auto t0 = steady::now();
  const auto outcome = client.exec("web", o);
  EXPECT_FALSE(outcome.finished);
  EXPECT_EQ(outcome.output, "hello\nerr\ndone\n");
  EXPECT_LT(ms_since(t0), 2000);
  EXPECT_GE(engine.count("GET", "/exec/e1/json"), 2);
}

// --- container logs ----------------------------------------------------------------

dockmaster::docker::log_tail_limits five_lines() { return {5, 16 * 1024}; }

TEST(EngineClientFake, LogsAskForTheTailWithTimestampsAndAreDemultiplexed) {
  fake_docker_engine engine([](fake_docker_engine::exchange& ex) {
    if (ex.req().method != "GET" || ex.req().path != "/containers/web/logs") return ex.reply_error(404, "?");
    std::string frames;
    for (int i = 1; i <= 7; ++i)
      frames += fake_docker_engine::frame(i == 7 ? 2 : 1, "2026-12-02T08:00:0" + std::to_string(i) + "Z line " +
                                                               std::to_string(i) + "\n");
    ex.write_raw(fake_docker_engine::stream_header("application/vnd.docker.multiplexed-stream") + frames);
    ex.close();
  });
  engine_client client(engine.socket_path());
  auto tail = client.container_logs("web", false, five_lines(), 2s);
  EXPECT_EQ(tail,
            "2026-12-02T08:00:03Z line 3\n2026-12-02T08:00:04Z line 4\n2026-12-02T08:00:05Z line 5\n"
            "2026-12-02T08:00:06Z line 6\n2026-12-02T08:00:07Z line 7\n");
  const auto query = engine.requests().at(0).query;
  for (const char* part : {"stdout=1", "stderr=1", "timestamps=1", "tail=5"})
    EXPECT_NE(query.find(part), std::string::npos) << query;
}

TEST(EngineClientFake, LogsOfAContainerWithATtyAreTakenAsTheyAre) {
  const std::string raw = std::string("\x02\x00\x00\x00\x00\x00\x00\x01", 8) + "x\nline\n";
  fake_docker_engine engine([raw](fake_docker_engine::exchange& ex) {
    ex.write_raw(fake_docker_engine::stream_header() + raw);
    ex.close();
  });
  engine_client client(engine.socket_path());
  EXPECT_EQ(client.container_logs("web", true, five_lines(), 2s), raw);
}

TEST(EngineClientFake, LogsOfAMissingContainerAre404WithTheEnginesMessage) {
  fake_docker_engine engine([](fake_docker_engine::exchange& ex) {
    ex.reply_error(404, "No such container: web");
  });
  engine_client client(engine.socket_path());
  auto e = expect_engine_error([&] { client.container_logs("web", false, five_lines(), 2s); });
  EXPECT_EQ(e.status(), 404);
  EXPECT_STREQ(e.what(), "No such container: web");
}

TEST(EngineClientFake, LogsRefusedByALoggingDriverAreAnError) {
  // A container whose logging driver keeps nothing readable ("none", "syslog").
  fake_docker_engine engine([](fake_docker_engine::exchange& ex) {
    ex.reply_error(501, "configured logging driver does not support reading");
  });
  engine_client client(engine.socket_path());
  auto e = expect_engine_error([&] { client.container_logs("web", false, five_lines(), 2s); });
  EXPECT_EQ(e.status(), 501);
  EXPECT_NE(std::string(e.what()).find("does not support reading"), std::string::npos) << e.what();
}

TEST(EngineClientFake, LogsFromAHangingEngineEndAtTheirTimeout) {
  fake_docker_engine engine([](fake_docker_engine::exchange& ex) { ex.hang(); });
  engine_client client(engine.socket_path(), 10s);
  const auto t0 = steady::now();
  auto e = expect_engine_error([&] { client.container_logs("web", false, five_lines(), 300ms); });
  EXPECT_EQ(e.status(), 0);
  EXPECT_NE(std::string(e.what()).find("timed out"), std::string::npos) << e.what();
  EXPECT_GE(ms_since(t0), 250);
  EXPECT_LT(ms_since(t0), 3000);
}

TEST(EngineClientFake, LogsThatNeverEndAreCutAtTheirTimeout) {
  // The header comes, the body does not end: the logs call must not hang the restart.
  fake_docker_engine engine([](fake_docker_engine::exchange& ex) {
    ex.write_raw(fake_docker_engine::stream_header() + fake_docker_engine::frame(1, "partial\n"));
    ex.hang();
  });
  engine_client client(engine.socket_path());
  const auto t0 = steady::now();
  auto e = expect_engine_error([&] { client.container_logs("web", false, five_lines(), 300ms); });
  EXPECT_NE(std::string(e.what()).find("timed out"), std::string::npos) << e.what();
  EXPECT_LT(ms_since(t0), 3000);
}

// --- DOCKER_HOST -----------------------------------------------------------------

class DockerHostEnv : public ::testing::Test {
 protected:
  void SetUp() override {
    if (const char* v = std::getenv("DOCKER_HOST")) saved_ = v;
  }
  void TearDown() override {
    if (saved_) ::setenv("DOCKER_HOST", saved_->c_str(), 1);
    else ::unsetenv("DOCKER_HOST");
  }
  std::optional<std::string> saved_;
};

TEST_F(DockerHostEnv, AUnixDockerHostIsUsedUnlessTheConfigNamesASocket) {
  ::setenv("DOCKER_HOST", "unix:///tmp/dm/docker.sock", 1);
  EXPECT_EQ(engine_client::socket_path_from(""), "/tmp/dm/docker.sock");
  // An explicit socket in the config file wins over the environment.
  EXPECT_EQ(engine_client::socket_path_from("/configured.sock"), "/configured.sock");
}

TEST_F(DockerHostEnv, OtherSchemesFallBack) {
  ::setenv("DOCKER_HOST", "tcp://127.0.0.1:2375", 1);
  EXPECT_EQ(engine_client::socket_path_from("/configured.sock"), "/configured.sock");
  EXPECT_EQ(engine_client::socket_path_from(""), "/var/run/docker.sock");
  ::setenv("DOCKER_HOST", "unix://", 1);
  EXPECT_EQ(engine_client::socket_path_from("/configured.sock"), "/configured.sock");
  ::setenv("DOCKER_HOST", "", 1);
  EXPECT_EQ(engine_client::socket_path_from(""), "/var/run/docker.sock");
}

TEST_F(DockerHostEnv, UnsetUsesConfiguredThenDefault) {
  ::unsetenv("DOCKER_HOST");
  EXPECT_EQ(engine_client::socket_path_from("/run/user/1000/docker.sock"), "/run/user/1000/docker.sock");
  EXPECT_EQ(engine_client::socket_path_from(""), "/var/run/docker.sock");
}

TEST(EngineHttp, PercentEncode) {
  EXPECT_EQ(dockmaster::docker::percent_encode("web-1_a.b~"), "web-1_a.b~");
  EXPECT_EQ(dockmaster::docker::percent_encode("{\"label\":[\"a=b\"]}"), "%7B%22label%22%3A%5B%22a%3Db%22%5D%7D");
}

}  // namespace
