#include "core/hex.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <string>

namespace minyi {
namespace {

TEST(HexTest, LowerCaseHighNibbleFirst) {
  const unsigned char bytes[] = {0x00, 0x0f, 0xa5, 0xff, 0x10, 0x9c};
  EXPECT_EQ(HexOf(bytes, sizeof bytes), "000fa5ff109c");
  EXPECT_EQ(HexOf(bytes, 0), "");
}

TEST(HexTest, WriteHexFillsExactlyTwoCharactersPerByte) {
  const unsigned char bytes[] = {0xde, 0xad, 0xbe, 0xef};
  std::string buffer = "xxxxxxxxxx";
  WriteHex(bytes, sizeof bytes, buffer.data() + 1);
  EXPECT_EQ(buffer, "xdeadbeefx");
}

TEST(HexTest, EveryByteValue) {
  unsigned char all[256];
  for (int i = 0; i < 256; ++i) all[i] = static_cast<unsigned char>(i);
  const std::string hex = HexOf(all, sizeof all);
  ASSERT_EQ(hex.size(), 512u);
  for (int i = 0; i < 256; ++i) {
    char expected[3];
    std::snprintf(expected, sizeof expected, "%02x", i);
    EXPECT_EQ(hex.substr(2 * static_cast<std::size_t>(i), 2), expected) << i;
  }
}

}  // namespace
}  // namespace minyi
