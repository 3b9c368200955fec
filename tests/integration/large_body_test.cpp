// 256 MiB bodies streamed through the real binary, both ways: every byte arrives (count
// and checksum) and the dockmaster process's resident memory stays flat, because the
// body goes through in pieces and is never held whole.

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <memory>

#include "support/harness.hpp"
#include "support/http_client.hpp"
#include "support/payload.hpp"
#include "support/test_upstream.hpp"

namespace dockmaster::test {
namespace {

using nlohmann::json;

constexpr std::uint64_t body_size = 256ull * 1024 * 1024;
constexpr std::uint64_t allowed_growth_kib = 64 * 1024;

std::string child_config(const test_upstream& upstream) {
  json cfg = {
      {"listen", "127.0.0.1:0"},
      {"services", {{"app", {{"instances", {upstream.host_port()}}}}}},
      {"routes", {{{"prefix", "/"}, {"service", "app"}}}},
      {"limits", {{"max_body_bytes", 1024ull * 1024 * 1024}}},
      {"actor_system", {{"io_threads", 2}}},
      {"log", {{"level", "info"}, {"access_log", false}}},
  };
  return cfg.dump();
}

class LargeBody : public ::testing::Test {
 protected:
  void SetUp() override {
    dockmaster = std::make_unique<dockmaster_process>(child_config(upstream));
    // A first request, so that what every request needs is already allocated.
    http_client warm_up(dockmaster->port());
    ASSERT_EQ(warm_up.get("/warm-up").result_int(), 200);
    auto rss = vm_rss_kib(dockmaster->process().pid());
    ASSERT_TRUE(rss);
    rss_before = *rss;
  }

  void expect_memory_flat() {
    auto pid = dockmaster->process().pid();
    auto rss_after = vm_rss_kib(pid);
    auto peak = vm_hwm_kib(pid);
    ASSERT_TRUE(rss_after);
    RecordProperty("vm_rss_before_kib", std::to_string(rss_before));
    RecordProperty("vm_rss_after_kib", std::to_string(*rss_after));
    if (peak) RecordProperty("vm_hwm_after_kib", std::to_string(*peak));
    EXPECT_LT(*rss_after, rss_before + allowed_growth_kib)
        << "VmRSS grew from " << rss_before << " KiB to " << *rss_after << " KiB";
    if (peak) {
      EXPECT_LT(*peak, rss_before + allowed_growth_kib)
          << "VmHWM reached " << *peak << " KiB (VmRSS before: " << rss_before << " KiB)";
    }
  }

  test_upstream upstream{"app"};
  std::unique_ptr<dockmaster_process> dockmaster;
  std::uint64_t rss_before = 0;
};

TEST_F(LargeBody, A256MiBUploadReachesTheUpstreamIntactWhileTheProxyMemoryStaysFlat) {
  http_client client(dockmaster->port(), "127.0.0.1", std::chrono::seconds(20));
  client.send_raw("POST /upload HTTP/1.1\r\nHost: test.local\r\nContent-Type: application/octet-stream\r\n"
                  "Content-Length: " + std::to_string(body_size) + "\r\n\r\n");
  constexpr std::size_t piece_size = 256 * 1024;
  std::unique_ptr<char[]> piece(new char[piece_size]);
  checksum sent;
  for (std::uint64_t offset = 0; offset < body_size; offset += piece_size) {
    auto n = static_cast<std::size_t>(std::min<std::uint64_t>(piece_size, body_size - offset));
    fill_payload(offset, piece.get(), n);
    sent.update(piece.get(), n);
    ASSERT_FALSE(client.try_send_raw(std::string_view(piece.get(), n))) << "at offset " << offset;
  }
  auto r = client.read_response();
  ASSERT_EQ(r.result_int(), 200) << r.body();
  auto answer = json::parse(r.body());
  EXPECT_EQ(answer["bytes"], body_size);
  EXPECT_EQ(answer["checksum"], sent.hex());
  EXPECT_FALSE(upstream.last_request()->chunked);
  expect_memory_flat();
}

TEST_F(LargeBody, A256MiBChunkedDownloadArrivesIntactWhileTheProxyMemoryStaysFlat) {
  http_client client(dockmaster->port(), "127.0.0.1", std::chrono::seconds(20));
  client.send_raw("GET /big?bytes=" + std::to_string(body_size) + " HTTP/1.1\r\nHost: test.local\r\n\r\n");
  checksum received;
  auto r = client.read_streamed_response([&](const char* data, std::size_t n) { received.update(data, n); });
  ASSERT_EQ(r.header.result_int(), 200);
  EXPECT_EQ(r.header[http::field::transfer_encoding], "chunked");
  EXPECT_EQ(received.bytes(), body_size);
  EXPECT_EQ(received.hex(), payload_checksum(body_size));
  expect_memory_flat();
}

}  // namespace
}  // namespace dockmaster::test
