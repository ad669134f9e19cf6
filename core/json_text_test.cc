#include "core/json_text.h"

#include <gtest/gtest.h>

namespace minyi {
namespace {

TEST(JsonTextTest, PlainEscapesQuotesBackslashesAndControlCharacters) {
  EXPECT_EQ(JsonEscape("a\"b\\c\nd\re\tf\x01\x1f"), "a\\\"b\\\\c\\nd\\re\\tf\\u0001\\u001f");
  EXPECT_EQ(JsonEscape("<b>&amp;</b> 夜间照明"), "<b>&amp;</b> 夜间照明");
  EXPECT_EQ(JsonString("x\"y"), "\"x\\\"y\"");
  EXPECT_EQ(JsonString(""), "\"\"");
}

TEST(JsonTextTest, HtmlSafeAlsoEscapesAngleBracketsAndAmpersands) {
  EXPECT_EQ(JsonEscape("</script>&\x7f", JsonEscaping::kHtmlSafe), "\\u003c/script\\u003e\\u0026\x7f");
  EXPECT_EQ(JsonString("a<b", JsonEscaping::kHtmlSafe), "\"a\\u003cb\"");
}

}  // namespace
}  // namespace minyi
