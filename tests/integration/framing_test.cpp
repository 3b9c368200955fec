// The front door's framing, table-driven: malformed and ambiguous request heads sent
// on raw sockets, and what the upstream received shown by a recording upstream that
// reads the forwarded bytes strictly. For every case, either the proxy answers an
// error and closes, or exactly one request reaches the upstream, framed so that no
// server could read it differently (one Content-Length, or chunked without one; one
// Host; origin form).

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "support/harness.hpp"
#include "support/recording_upstream.hpp"
#include "support/wait.hpp"

namespace dockmaster::test {
namespace {

/// What a case must lead to, where the RFCs leave no choice.
/// `cut`: the client ends its side before its message is whole; it may get no answer,
/// but nothing whole may go upstream.
enum class outcome { forwarded, refused, either, cut };

struct framing_case {
  std::string name;
  std::string bytes;
  outcome expected;
};

struct proxy_answer {
  std::vector<unsigned> statuses;
  bool last_says_close = false;
};

/// Sends `bytes` on a new connection, ends the sending side, and reads every response
/// until the proxy closes.
proxy_answer exchange(std::uint16_t port, const std::string& bytes) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(port);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    ::close(fd);
    throw std::runtime_error("cannot connect to the proxy");
  }
  ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
  ::shutdown(fd, SHUT_WR);
  std::string received;
  char piece[16384];
  auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  for (;;) {
    pollfd p{fd, POLLIN, 0};
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        give_up - std::chrono::steady_clock::now());
    if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0) break;
    auto n = ::recv(fd, piece, sizeof piece, 0);
    if (n <= 0) break;
    received.append(piece, static_cast<std::size_t>(n));
  }
  ::close(fd);
  proxy_answer answer;
  std::size_t at = 0;
  while (at < received.size()) {
    auto head_end = received.find("\r\n\r\n", at);
    if (head_end == std::string::npos || received.compare(at, 7, "HTTP/1.") != 0) break;
    auto head = received.substr(at, head_end - at);
    answer.statuses.push_back(static_cast<unsigned>(std::stoul(head.substr(9, 3))));
    answer.last_says_close = head.find("\r\nConnection: close") != std::string::npos;
    std::size_t length = 0;
    auto cl = head.find("\r\nContent-Length: ");
    if (cl != std::string::npos) length = std::stoul(head.substr(cl + 18));
    at = head_end + 4 + length;
  }
  return answer;
}

// -- the cases -----------------------------------------------------------------------

const std::string host = "Host: test.local\r\n";

framing_case with_coding(const std::string& coding, outcome expected) {
  // What must be refused carries a body that smuggles a second request when read
  // another way than as one chunked body.
  std::string body = expected == outcome::forwarded
                         ? "5\r\nhello\r\n0\r\n\r\n"
                         : "0\r\n\r\nGET /smuggled HTTP/1.1\r\n" + host + "\r\n";
  return {"Transfer-Encoding: " + coding,
          "POST /a HTTP/1.1\r\n" + host + "Transfer-Encoding: " + coding + "\r\n\r\n" + body,
          expected};
}

framing_case with_coding_and_length(const std::string& coding) {
  return {"Transfer-Encoding: " + coding + " with Content-Length",
          "POST /a HTTP/1.1\r\n" + host + "Transfer-Encoding: " + coding +
              "\r\nContent-Length: 41\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\n" + host + "\r\n",
          outcome::refused};
}

framing_case with_length(const std::string& value, outcome expected) {
  return {"Content-Length: " + value,
          "POST /a HTTP/1.1\r\n" + host + "Content-Length: " + value + "\r\n\r\nhello", expected};
}

framing_case with_chunks(const std::string& name, const std::string& chunks, outcome expected) {
  return {"chunks: " + name,
          "POST /a HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked\r\n\r\n" + chunks, expected};
}

framing_case with_head(const std::string& name, const std::string& head, outcome expected) {
  return {name, head, expected};
}

std::vector<framing_case> all_cases() {
  using o = outcome;
  std::vector<framing_case> cases;
  // Transfer-Encoding alone: only one `chunked` is a framing both sides agree on.
  for (const char* ok : {"chunked", "Chunked", "CHUNKED", " chunked", "chunked ", "chunked\t"})
    cases.push_back(with_coding(ok, o::forwarded));
  for (const char* bad :
       {"chunked, zorg", "zorg, chunked", "gzip", "identity", "\"chunked\"", "xchunked", "chunkedx",
        "chunk", "chunked;foo=bar", "chunked,chunked", "chunked, chunked", "gzip, chunked",
        "deflate,chunked", "chunked, identity", "identity, chunked", "chunked, gzip", "",
        "\x80" "chunked", "chunked\x80", "ch\xffunked", "chu nked", "chunked\x0b", "\x0c" "chunked",
        "compress", "x-gzip, chunked", "chunked;", ";chunked", "chunked, ,zorg"})
    cases.push_back(with_coding(bad, o::refused));
  // Two Transfer-Encoding fields.
  cases.push_back(with_head("two Transfer-Encoding fields, chunked twice",
                            "POST /a HTTP/1.1\r\n" + host +
                                "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
                            o::refused));
  cases.push_back(with_head("two Transfer-Encoding fields, gzip then chunked",
                            "POST /a HTTP/1.1\r\n" + host +
                                "Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
                            o::refused));
  cases.push_back(with_head("two Transfer-Encoding fields, chunked then gzip",
                            "POST /a HTTP/1.1\r\n" + host +
                                "Transfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n\r\n0\r\n\r\n",
                            o::refused));
  cases.push_back(with_head("Transfer-Encoding on HTTP/1.0",
                            "POST /a HTTP/1.0\r\n" + host + "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
                            o::refused));
  // Transfer-Encoding together with Content-Length, each order.
  for (const char* coding : {"chunked", "chunked, cow", "\"chunked\"", "chunk", "identity", "gzip",
                             "\x80" "chunked", "xchunked"})
    cases.push_back(with_coding_and_length(coding));
  cases.push_back(with_head("Content-Length before Transfer-Encoding",
                            "POST /a HTTP/1.1\r\n" + host +
                                "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
                            o::refused));
  // Header syntax around the framing fields.
  cases.push_back(with_head("space before the colon of Transfer-Encoding",
                            "POST /a HTTP/1.1\r\n" + host + "Transfer-Encoding : chunked\r\n\r\n0\r\n\r\n",
                            o::refused));
  cases.push_back(with_head("space before the colon of Content-Length",
                            "POST /a HTTP/1.1\r\n" + host + "Content-Length : 5\r\n\r\nhello",
                            o::refused));
  cases.push_back(with_head("tab before the colon",
                            "POST /a HTTP/1.1\r\n" + host + "Content-Length\t: 5\r\n\r\nhello",
                            o::refused));
  cases.push_back(with_head("obs-fold in Transfer-Encoding",
                            "POST /a HTTP/1.1\r\n" + host + "Transfer-Encoding:\r\n chunked\r\n\r\n0\r\n\r\n",
                            o::either));
  cases.push_back(with_head("obs-fold in another field",
                            "GET /a HTTP/1.1\r\n" + host + "X-Long: one\r\n two\r\n\r\n", o::either));
  cases.push_back(with_head("Transfer_Encoding is just another field",
                            "POST /a HTTP/1.1\r\n" + host + "Transfer_Encoding: chunked\r\nContent-Length: 5\r\n\r\nhello",
                            o::either));
  // Content-Length values.
  cases.push_back(with_length("5", o::forwarded));
  cases.push_back(with_length("5 ", o::forwarded));
  cases.push_back(with_length("005", o::forwarded));
  cases.push_back(with_length("5, 5", o::forwarded));
  for (const char* bad : {"+5", "-5", "5,6", "0x5", "5.0", "", "1e3", " ", "5 5", "five",
                          "99999999999999999999999", "18446744073709551616", "5;", "\"5\""})
    cases.push_back(with_length(bad, o::refused));
  cases.push_back(with_head("two equal Content-Length fields",
                            "POST /a HTTP/1.1\r\n" + host + "Content-Length: 5\r\nContent-Length: 5\r\n\r\nhello",
                            o::forwarded));
  cases.push_back(with_head("two different Content-Length fields",
                            "POST /a HTTP/1.1\r\n" + host + "Content-Length: 5\r\nContent-Length: 41\r\n\r\nhello",
                            o::refused));
  cases.push_back(with_head("Content-Length past max_body_bytes",
                            "POST /a HTTP/1.1\r\n" + host + "Content-Length: 999999999\r\n\r\nhello",
                            o::refused));
  // Chunked bodies.
  cases.push_back(with_chunks("plain", "5\r\nhello\r\n0\r\n\r\n", o::forwarded));
  cases.push_back(with_chunks("uppercase hex", "A\r\n0123456789\r\n0\r\n\r\n", o::forwarded));
  cases.push_back(with_chunks("extension", "5;ext=1\r\nhello\r\n0\r\n\r\n", o::forwarded));
  cases.push_back(with_chunks("quoted extension", "5;ext=\"a b\"\r\nhello\r\n0\r\n\r\n", o::either));
  cases.push_back(with_chunks("trailer", "5\r\nhello\r\n0\r\nX-Trailer: 1\r\n\r\n", o::forwarded));
  cases.push_back(with_chunks("leading zeros", "0005\r\nhello\r\n0\r\n\r\n", o::forwarded));
  cases.push_back(with_chunks("huge size", "ffffffffffffffffff\r\nhello\r\n0\r\n\r\n", o::refused));
  cases.push_back(with_chunks("size past max_body_bytes", "fffffff\r\nhello\r\n0\r\n\r\n", o::refused));
  cases.push_back(with_chunks("negative size", "-5\r\nhello\r\n0\r\n\r\n", o::refused));
  cases.push_back(with_chunks("0x prefix", "0x5\r\nhello\r\n0\r\n\r\n", o::refused));
  cases.push_back(with_chunks("space before size", " 5\r\nhello\r\n0\r\n\r\n", o::refused));
  cases.push_back(with_chunks("no size", "\r\nhello\r\n0\r\n\r\n", o::refused));
  cases.push_back(with_chunks("data longer than its size", "5\r\nhelloXX\r\n0\r\n\r\n", o::refused));
  cases.push_back(with_chunks("data shorter than its size", "7\r\nhello\r\n0\r\n\r\n", o::refused));
  cases.push_back(with_chunks("bare LF after size", "5\nhello\r\n0\r\n\r\n", o::refused));
  cases.push_back(with_chunks("bare LF after data", "5\r\nhello\n0\r\n\r\n", o::refused));
  cases.push_back(with_chunks("bare CR after size", "5\rhello\r\n0\r\n\r\n", o::refused));
  cases.push_back(with_chunks("no last chunk", "5\r\nhello\r\n", o::cut));
  cases.push_back(with_length("500", o::cut));
  cases.push_back(with_chunks("trailer without a colon", "5\r\nhello\r\n0\r\nbroken\r\n\r\n", o::refused));
  cases.push_back(with_chunks("smuggled request after the last chunk",
                              "0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: test.local\r\nContent-Length: 5\r\n\r\n",
                              o::either));
  // Request lines.
  cases.push_back(with_head("no version", "GET / \r\n\r\n", o::refused));
  cases.push_back(with_head("no version, no space", "GET /\r\n\r\n", o::refused));
  cases.push_back(with_head("HTTP/2.0", "GET / HTTP/2.0\r\n" + host + "\r\n", o::refused));
  cases.push_back(with_head("HTTP/1.2", "GET / HTTP/1.2\r\n" + host + "\r\n", o::refused));
  cases.push_back(with_head("lowercase version", "GET / http/1.1\r\n" + host + "\r\n", o::refused));
  cases.push_back(with_head("two spaces after the method", "GET  / HTTP/1.1\r\n" + host + "\r\n",
                            o::refused));
  cases.push_back(with_head("space after the version", "GET / HTTP/1.1 \r\n" + host + "\r\n",
                            o::refused));
  cases.push_back(with_head("space in the target", "GET /a b HTTP/1.1\r\n" + host + "\r\n", o::refused));
  cases.push_back(with_head("NUL in the method", std::string("G\0T / HTTP/1.1\r\n", 16) + host + "\r\n",
                            o::refused));
  cases.push_back(with_head("DEL in the target", "GET /\x7f HTTP/1.1\r\n" + host + "\r\n", o::refused));
  cases.push_back(with_head("fragment in the target", "GET /a#b HTTP/1.1\r\n" + host + "\r\n",
                            o::refused));
  cases.push_back(with_head("leading space", " GET / HTTP/1.1\r\n" + host + "\r\n", o::refused));
  cases.push_back(with_head("one empty line first", "\r\nGET / HTTP/1.1\r\n" + host + "\r\n",
                            o::forwarded));
  cases.push_back(with_head("two empty lines first", "\r\n\r\nGET / HTTP/1.1\r\n" + host + "\r\n",
                            o::forwarded));
  cases.push_back(with_head("bare LF first", "\nGET / HTTP/1.1\r\n" + host + "\r\n", o::refused));
  cases.push_back(with_head("absolute-form", "GET http://test.local/a HTTP/1.1\r\n" + host + "\r\n",
                            o::forwarded));
  cases.push_back(with_head("absolute-form with another Host",
                            "GET http://test.local/a HTTP/1.1\r\nHost: elsewhere\r\n\r\n", o::forwarded));
  cases.push_back(with_head("absolute-form with userinfo",
                            "GET http://u:p@test.local/a HTTP/1.1\r\n" + host + "\r\n", o::refused));
  cases.push_back(with_head("absolute-form of another scheme",
                            "GET ftp://test.local/a HTTP/1.1\r\n" + host + "\r\n", o::refused));
  cases.push_back(with_head("authority-form outside CONNECT",
                            "GET test.local:80 HTTP/1.1\r\n" + host + "\r\n", o::refused));
  cases.push_back(with_head("CONNECT", "CONNECT test.local:443 HTTP/1.1\r\nHost: test.local:443\r\n\r\n",
                            o::refused));
  cases.push_back(with_head("asterisk-form outside OPTIONS", "GET * HTTP/1.1\r\n" + host + "\r\n",
                            o::refused));
  // Host.
  cases.push_back(with_head("no Host on HTTP/1.1", "GET / HTTP/1.1\r\n\r\n", o::refused));
  cases.push_back(with_head("no Host on HTTP/1.0", "GET / HTTP/1.0\r\n\r\n", o::either));
  cases.push_back(with_head("two Host fields", "GET / HTTP/1.1\r\nHost: a\r\nHost: test.local\r\n\r\n",
                            o::refused));
  cases.push_back(with_head("two Host fields, names in other cases",
                            "GET / HTTP/1.1\r\nHost: a\r\nhOsT: test.local\r\n\r\n", o::refused));
  cases.push_back(with_head("Host with a space", "GET / HTTP/1.1\r\nHost: a b\r\n\r\n", o::refused));
  cases.push_back(with_head("Host list", "GET / HTTP/1.1\r\nHost: a, test.local\r\n\r\n", o::refused));
  cases.push_back(with_head("Host with userinfo", "GET / HTTP/1.1\r\nHost: u@test.local\r\n\r\n",
                            o::refused));
  cases.push_back(with_head("Host with a path", "GET / HTTP/1.1\r\nHost: test.local/x\r\n\r\n",
                            o::refused));
  cases.push_back(with_head("Host with a bad port", "GET / HTTP/1.1\r\nHost: test.local:8o\r\n\r\n",
                            o::refused));
  cases.push_back(with_head("Host with a port", "GET / HTTP/1.1\r\nHost: test.local:8080\r\n\r\n",
                            o::forwarded));
  cases.push_back(with_head("Host an IPv6 literal", "GET / HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n",
                            o::forwarded));
  cases.push_back(with_head("empty Host", "GET / HTTP/1.1\r\nHost:\r\n\r\n", o::forwarded));
  // Other field syntax.
  cases.push_back(with_head("NUL in a value",
                            "GET / HTTP/1.1\r\n" + host + std::string("X-A: a\0b\r\n\r\n", 12), o::refused));
  cases.push_back(with_head("NUL in a name",
                            "GET / HTTP/1.1\r\n" + host + std::string("X\0A: b\r\n\r\n", 10), o::refused));
  cases.push_back(with_head("bare CR in a value", "GET / HTTP/1.1\r\n" + host + "X-A: a\rb\r\n\r\n",
                            o::refused));
  cases.push_back(with_head("bare LF line ends", "GET / HTTP/1.1\n" + std::string("Host: test.local\n\n"),
                            o::refused));
  cases.push_back(with_head("bare LF inside the head", "GET / HTTP/1.1\r\n" + host + "X-A: a\nX-B: b\r\n\r\n",
                            o::refused));
  cases.push_back(with_head("a line without a colon", "GET / HTTP/1.1\r\n" + host + "broken\r\n\r\n",
                            o::refused));
  cases.push_back(with_head("an empty name", "GET / HTTP/1.1\r\n" + host + ": x\r\n\r\n", o::refused));
  cases.push_back(with_head("a name with @", "GET / HTTP/1.1\r\n" + host + "X@Y: z\r\n\r\n", o::refused));
  cases.push_back(with_head("control byte in a value", "GET / HTTP/1.1\r\n" + host + "X-A: a\x01" "b\r\n\r\n",
                            o::refused));
  cases.push_back(with_head("DEL in a value", "GET / HTTP/1.1\r\n" + host + "X-A: a\x7f" "b\r\n\r\n",
                            o::refused));
  cases.push_back(with_head("obs-text in a value", "GET / HTTP/1.1\r\n" + host + "X-A: caf\xc3\xa9\r\n\r\n",
                            o::forwarded));
  cases.push_back(with_head("a head past max_header_bytes",
                            "GET / HTTP/1.1\r\n" + host + "X-Big: " + std::string(5000, 'a') + "\r\n\r\n",
                            o::refused));
  cases.push_back(with_head("Connection naming Content-Length",
                            "POST /a HTTP/1.1\r\n" + host + "Connection: Content-Length\r\nContent-Length: 5\r\n\r\nhello",
                            o::forwarded));
  cases.push_back(with_head("Connection naming Transfer-Encoding",
                            "POST /a HTTP/1.1\r\n" + host +
                                "Connection: Transfer-Encoding\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
                            o::forwarded));
  cases.push_back(with_head("Connection naming Host",
                            "GET / HTTP/1.1\r\n" + host + "Connection: Host\r\n\r\n", o::forwarded));
  return cases;
}

class Framing : public ::testing::Test {
 protected:
  void SetUp() override {
    auto cfg = make_config();
    add_service(cfg, "app", {upstream.host_port()});
    add_route(cfg, "/", "app");
    cfg.limits.max_header_bytes = 4096;
    cfg.limits.max_body_bytes = 1 << 20;
    proxy = std::make_unique<in_process_proxy>(cfg);
  }

  recording_upstream upstream;
  std::unique_ptr<in_process_proxy> proxy;
};

TEST_F(Framing, EveryAmbiguousHeadIsRefusedOrForwardedUnambiguously) {
  auto cases = all_cases();
  ASSERT_GE(cases.size(), 100u);
  for (const auto& c : cases) {
    SCOPED_TRACE("case: " + c.name);
    upstream.clear();
    auto answer = exchange(proxy->port(), c.bytes);
    auto forwarded = upstream.requests();
    if (answer.statuses.empty()) {
      EXPECT_EQ(c.expected, outcome::cut) << "no answer at all";
      for (const auto& r : forwarded) EXPECT_FALSE(r.complete) << "a whole request went upstream";
      continue;
    }
    bool refused = answer.statuses.front() >= 400;
    if (refused) {
      // A body found broken halfway may have had its start sent on; the upstream then
      // saw its connection end with the request incomplete, never a whole one.
      for (const auto& r : forwarded)
        EXPECT_FALSE(r.complete) << "a whole request reached the upstream: " << r.method << " "
                                 << r.target;
      EXPECT_EQ(answer.statuses.size(), 1u) << "more was read after the refused request";
      EXPECT_TRUE(answer.last_says_close) << "a refusal must close the connection";
      EXPECT_NE(c.expected, outcome::forwarded) << "refused with " << answer.statuses.front();
      continue;
    }
    EXPECT_EQ(answer.statuses.front(), 200u);
    if (forwarded.size() != 1) {
      ADD_FAILURE() << forwarded.size() << " requests reached the upstream";
      continue;
    }
    const auto& r = forwarded.front();
    EXPECT_TRUE(r.ambiguity.empty()) << "forwarded ambiguously: " << r.ambiguity;
    EXPECT_TRUE(r.complete);
    EXPECT_NE(r.target.rfind("/smuggled", 0), 0u) << "a smuggled request went upstream";
    EXPECT_NE(c.expected, outcome::refused) << "forwarded, should have been refused";
    // Whatever followed on the client connection got its own answer or none.
    for (std::size_t i = 1; i < answer.statuses.size(); ++i) EXPECT_GE(answer.statuses[i], 400u);
  }
}

TEST_F(Framing, ChunkedBodiesArriveWhole) {
  exchange(proxy->port(), "POST /a HTTP/1.1\r\n" + host +
                              "Transfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n6\r\n world\r\n"
                              "0\r\nX-Trailer: 1\r\n\r\n");
  auto forwarded = upstream.requests();
  ASSERT_EQ(forwarded.size(), 1u);
  EXPECT_TRUE(forwarded[0].chunked);
  EXPECT_EQ(forwarded[0].body, "hello world");
  EXPECT_TRUE(forwarded[0].values("Content-Length").empty());
}

TEST_F(Framing, RepeatedContentLengthGoesUpstreamAsOneField) {
  exchange(proxy->port(),
           "POST /a HTTP/1.1\r\n" + host + "Content-Length: 5\r\nContent-Length: 5\r\n\r\nhello");
  auto forwarded = upstream.requests();
  ASSERT_EQ(forwarded.size(), 1u);
  EXPECT_EQ(forwarded[0].values("Content-Length"), std::vector<std::string>{"5"});
  EXPECT_EQ(forwarded[0].body, "hello");
}

TEST_F(Framing, AbsoluteFormGoesUpstreamInOriginFormWithItsAuthorityAsHost) {
  auto answer = exchange(proxy->port(),
                         "GET http://shop.example/a?b=1 HTTP/1.1\r\nHost: elsewhere\r\n\r\n");
  ASSERT_EQ(answer.statuses, std::vector<unsigned>{200});
  auto forwarded = upstream.requests();
  ASSERT_EQ(forwarded.size(), 1u);
  EXPECT_EQ(forwarded[0].target, "/a?b=1");
  EXPECT_EQ(forwarded[0].values("Host"), std::vector<std::string>{"shop.example"});
  EXPECT_EQ(forwarded[0].values("X-Forwarded-Host"), std::vector<std::string>{"shop.example"});
}

TEST_F(Framing, AnEmptyLineBeforeTheRequestLineIsIgnored) {
  auto answer = exchange(proxy->port(), "\r\nGET /after-empty-line HTTP/1.1\r\n" + host + "\r\n");
  EXPECT_EQ(answer.statuses, std::vector<unsigned>{200});
  auto forwarded = upstream.requests();
  ASSERT_EQ(forwarded.size(), 1u);
  EXPECT_EQ(forwarded[0].target, "/after-empty-line");
}

TEST_F(Framing, ARequestLineWithoutVersionIsRefusedAtOnce) {
  // The connection stays open from the client's side: the answer must not wait for
  // more bytes or for the header timeout (10 s by default, far past this wait).
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(proxy->port());
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  std::string line = "GET / \r\n\r\n";
  ::send(fd, line.data(), line.size(), MSG_NOSIGNAL);
  pollfd p{fd, POLLIN, 0};
  ASSERT_EQ(::poll(&p, 1, 5000), 1) << "no answer";
  char piece[512];
  auto n = ::recv(fd, piece, sizeof piece, 0);
  ::close(fd);
  ASSERT_GT(n, 12);
  EXPECT_EQ(std::string(piece, 12), "HTTP/1.1 400");
}

TEST_F(Framing, AnHttp10RequestWithoutHostReachesTheUpstreamWithTheInstancesAddress) {
  // The upstream always gets HTTP/1.1, which requires a Host.
  auto answer = exchange(proxy->port(), "GET /old HTTP/1.0\r\n\r\n");
  ASSERT_EQ(answer.statuses, std::vector<unsigned>{200});
  auto forwarded = upstream.requests();
  ASSERT_EQ(forwarded.size(), 1u);
  EXPECT_EQ(forwarded[0].version, "HTTP/1.1");
  EXPECT_EQ(forwarded[0].values("Host"), std::vector<std::string>{upstream.host_port()});
}

TEST_F(Framing, TwoHostHeadersNeverReachAHostRoute) {
  // Routing on one Host while the upstream reads the other is how a request reaches
  // a virtual host it was not meant for.
  upstream.clear();
  auto answer = exchange(proxy->port(), "GET / HTTP/1.1\r\nHost: a.example\r\nHost: b.example\r\n\r\n");
  ASSERT_EQ(answer.statuses, std::vector<unsigned>{400});
  EXPECT_TRUE(upstream.requests().empty());
}

}  // namespace
}  // namespace dockmaster::test
