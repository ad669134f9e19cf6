#include "core/text/unicode_text.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>

namespace minyi::text {
namespace {

// Regression: the hand-written decoder this replaced read C0 AF as '/', ED A0 80 as the surrogate
// U+D800 and F4 90 80 80 as U+110000 — a '/' smuggled past any check made on the decoded text.
TEST(Utf8Test, OverlongFormsSurrogatesAndOutOfRangeAreReplaced) {
  EXPECT_EQ(ToUtf32("a\xC0\xAF"
                    "b"),
            U"a\uFFFD\uFFFDb");                                         // overlong '/', 2 bytes
  EXPECT_EQ(ToUtf32("\xE0\x80\xAF"), U"\uFFFD\uFFFD\uFFFD");            // overlong '/', 3 bytes
  EXPECT_EQ(ToUtf32("\xED\xA0\x80"), U"\uFFFD\uFFFD\uFFFD");            // surrogate U+D800
  EXPECT_EQ(ToUtf32("\xF4\x90\x80\x80"), U"\uFFFD\uFFFD\uFFFD\uFFFD");  // U+110000
  for (const char* bad :
       {"\xC0\xAF", "\xE0\x80\xAF", "\xED\xA0\x80", "\xF4\x90\x80\x80", "\xE8\xB7", "\x80"}) {
    EXPECT_FALSE(IsValidUtf8(bad)) << bad;
    EXPECT_FALSE(CodePointCount(bad).has_value()) << bad;
  }
}

TEST(Utf8Test, CodePointCountCountsCharactersNotBytes) {
  EXPECT_EQ(CodePointCount(""), std::optional<std::size_t>(0));
  EXPECT_EQ(CodePointCount("路灯a😡é"), std::optional<std::size_t>(5));
  EXPECT_FALSE(CodePointCount(std::string("路灯") + "\xE7\x81").has_value());  // cut after two bytes
}

TEST(Utf8Test, TruncatedAndStrayBytesAreReplacedWithoutReadingPastTheEnd) {
  EXPECT_EQ(ToUtf32(std::string("路") + "\xE7\x81"), U"路\uFFFD");  // 灯 cut after two bytes
  EXPECT_EQ(ToUtf32("\x80z"), U"\uFFFDz");
  EXPECT_EQ(Utf16Length("\xE7\x81"), 1u);
}

TEST(Utf8Test, WellFormedTextRoundTrips) {
  const std::string text = "路灯a😡é";
  EXPECT_TRUE(IsValidUtf8(text));
  EXPECT_EQ(ToUtf32(text), U"路灯a😡é");
  EXPECT_EQ(ToUtf8(ToUtf32(text)), text);
  EXPECT_EQ(Utf16Length(text), 6u);  // the emoji takes two UTF-16 units
  EXPECT_TRUE(IsValidUtf8(""));
}

TEST(Utf8Test, EncodingNeverWritesSurrogatesOrOutOfRangeValues) {
  std::u32string bad;
  bad.push_back(static_cast<char32_t>(0xD800));
  bad.push_back(static_cast<char32_t>(0x110000));
  EXPECT_EQ(ToUtf8(bad), "\xEF\xBF\xBD\xEF\xBF\xBD");
}

// ToUtf8 encodes without ICU's error check (unicode_text.cc): every scalar value at the edge of each
// encoded length comes out whole, and what is not a scalar value comes out as U+FFFD, never as the
// bytes of a surrogate or nothing at all.
TEST(Utf8Test, EncodesEveryLengthAndReplacesWhatIsNotAScalarValue) {
  const struct {
    char32_t code;
    std::string utf8;
  } cases[] = {
      {0x0, std::string(1, '\0')},
      {0x7F, "\x7F"},
      {0x80, "\xC2\x80"},
      {0x7FF, "\xDF\xBF"},
      {0x800, "\xE0\xA0\x80"},
      {0xD7FF, "\xED\x9F\xBF"},
      {0xE000, "\xEE\x80\x80"},
      {0xFFFF, "\xEF\xBF\xBF"},
      {0x10000, "\xF0\x90\x80\x80"},
      {0x10FFFF, "\xF4\x8F\xBF\xBF"},
      {0xD800, "\xEF\xBF\xBD"},
      {0xDFFF, "\xEF\xBF\xBD"},
      {0x110000, "\xEF\xBF\xBD"},
      {0xFFFFFFFF, "\xEF\xBF\xBD"},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(ToUtf8(std::u32string(1, c.code)), c.utf8)
        << std::hex << "U+" << static_cast<std::uint32_t>(c.code);
  }
}

TEST(NfkcFoldTest, FoldsWidthCircledDigitsAndAsciiCase) {
  EXPECT_EQ(NfkcFold("１２３ＡＢ①⑩Yes"), "123ab110yes");
  EXPECT_EQ(NfkcFold("非常满意"), "非常满意");
}

TEST(CjkTest, Ideographs) {
  EXPECT_TRUE(IsCjkIdeograph(U'满'));
  EXPECT_FALSE(IsCjkIdeograph(U'a'));
  EXPECT_FALSE(IsCjkIdeograph(U'，'));
}

}  // namespace
}  // namespace minyi::text
