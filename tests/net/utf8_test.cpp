#include "net/utf8.hpp"

#include <gtest/gtest.h>

namespace dockmaster::net {
namespace {

const std::string fffd = "\xEF\xBF\xBD";

TEST(ValidUtf8, ValidTextIsLeftAsItIs) {
  const std::string text = "plain, caf\xC3\xA9, \xE2\x82\xAC, \xF0\x9F\x90\xB3\n";
  EXPECT_EQ(valid_utf8(text), text);
}

TEST(ValidUtf8, EachInvalidByteBecomesAReplacementCharacter) {
  EXPECT_EQ(valid_utf8("caf\xE9!"), "caf" + fffd + "!");                  // Latin-1
  EXPECT_EQ(valid_utf8("\xE2\x82"), fffd + fffd);                          // cut at the end
  EXPECT_EQ(valid_utf8("\x82\xACx"), fffd + fffd + "x");                   // cut at the start
  EXPECT_EQ(valid_utf8("\xC0\xAF"), fffd + fffd);                          // overlong
  EXPECT_EQ(valid_utf8("\xED\xA0\x80"), fffd + fffd + fffd);               // surrogate
  EXPECT_EQ(valid_utf8("\xF4\x90\x80\x80"), fffd + fffd + fffd + fffd);    // above U+10FFFF
}

}  // namespace
}  // namespace dockmaster::net
