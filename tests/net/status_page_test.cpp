// The status page is embedded whole and needs nothing from elsewhere.

#include "net/status_page.hpp"

#include <fstream>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

namespace dockmaster::net {
namespace {

TEST(StatusPage, IsEmbeddedByteForByteAsItsFile) {
  std::ifstream in(std::string(DOCKMASTER_SOURCE_DIR) + "/net/status_page.html", std::ios::binary);
  ASSERT_TRUE(in) << "net/status_page.html not found";
  std::stringstream file;
  file << in.rdbuf();
  EXPECT_EQ(std::string(status_page_html()), file.str());
  EXPECT_EQ(status_page_html().substr(0, 15), "<!doctype html>");
}

TEST(StatusPage, LoadsNoExternalResource) {
  const std::string page(status_page_html());
  for (const char* external : {"http://", "https://", "src=", "<link", "@import", "//cdn"})
    EXPECT_EQ(page.find(external), std::string::npos) << "the page refers to " << external;
  // It polls the status next to it, wherever it is served.
  EXPECT_NE(page.find("const statusUrl = \"status\""), std::string::npos);
}

}  // namespace
}  // namespace dockmaster::net
