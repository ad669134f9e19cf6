#include "collector/json_value.h"

#include <gtest/gtest.h>

#include <string>

namespace minyi::collector {
namespace {

TEST(JsonValueTest, ReadsEveryKindOfValue) {
  auto v = ParseJson(R"( {"s":"a\"b\\c\/\n\u00e9\u5b89\ud83d\ude00","i":-12,"z":-0,"f":1.5e3,"t":true,"n":null,)"
                     R"("a":[1,"x",[]],"o":{}} )",
                     8);
  ASSERT_TRUE(v.ok()) << v.status();
  ASSERT_TRUE(v->is_object());
  EXPECT_EQ(v->Find("s")->text(), "a\"b\\c/\n\xC3\xA9\xE5\xAE\x89\xF0\x9F\x98\x80");
  EXPECT_TRUE(v->Find("i")->is_integer());
  EXPECT_EQ(v->Find("i")->text(), "-12");
  EXPECT_EQ(v->Find("z")->text(), "0");
  EXPECT_TRUE(v->Find("f")->is_number());
  EXPECT_FALSE(v->Find("f")->is_integer());
  EXPECT_TRUE(v->Find("t")->is_bool() && v->Find("t")->boolean());
  EXPECT_TRUE(v->Find("n")->is_null());
  ASSERT_TRUE(v->Find("a")->is_array());
  EXPECT_EQ(v->Find("a")->items().size(), 3u);
  EXPECT_TRUE(v->Find("o")->is_object());
  EXPECT_EQ(v->Find("missing"), nullptr);
  // Members sorted by name.
  std::string names;
  for (const auto& m : v->members()) names += m.first;
  EXPECT_EQ(names, "afinostz");
}

TEST(JsonValueTest, RemembersWhereEachValueWasWritten) {
  const std::string text = R"([ {"a": 1} , "x" ])";
  auto v = ParseJson(text, 8);
  ASSERT_TRUE(v.ok());
  const JsonValue& first = v->items()[0];
  EXPECT_EQ(text.substr(first.begin(), first.end() - first.begin()), R"({"a": 1})");
  EXPECT_EQ(text.substr(v->items()[1].begin(), 3), "\"x\"");
}

// Regression (issue 13, hostile catalogue "duplicate key"): the last of two members with one name was
// kept, so a proxy reading the first "town" and the store reading the last saw different requests.
TEST(JsonValueTest, DuplicateMemberIsRefused) {
  auto v = ParseJson(R"({"k":1,"j":0,"k":2,"k":3})", 8);
  ASSERT_FALSE(v.ok());
  EXPECT_NE(v.status().message().find("member \"k\" given more than once"), std::string::npos) << v.status();
  EXPECT_TRUE(ParseJson(R"({"k":1,"j":{"k":2}})", 8).ok()) << "the same name in another object is fine";
}

TEST(JsonValueTest, RejectsWhatIsNotStrictJson) {
  const char* bad[] = {
      "",         " ",          "{",          "{\"a\":}",    "{\"a\":1,}",  "[1,]",          "[1 2]",
      "01",       "1.",         "-",          "1e",          ".5",          "+1",            "NaN",
      "tru",      "nul",        "'a'",        "\"a",         "\"\\x\"",     "\"\\u12\"",     "\"\\ud800\"",
      "\"\\udc00\"", "{} {}",   "{a:1}",      "// c\n1",     "\"a\tb\"",    "\"\xC0\xAF\"",  "\"\xED\xA0\x80\"",
      "\"\xF5\x80\x80\x80\"",   "\"\xE5\xAE\"", "\"\xFF\"",
  };
  for (const char* text : bad) {
    auto v = ParseJson(text, 8);
    EXPECT_FALSE(v.ok()) << "accepted: " << text;
    if (!v.ok()) {
      EXPECT_EQ(v.status().code(), StatusCode::kInvalidInput);
      EXPECT_EQ(v.status().message().rfind("JSON: ", 0), 0u) << v.status().message();
    }
  }
}

TEST(JsonValueTest, DepthIsLimitedWhileReading) {
  std::string deep(50, '[');
  deep += std::string(50, ']');
  auto d = ParseJson(deep, 8);
  EXPECT_EQ(d.status().code(), StatusCode::kInvalidInput);
  EXPECT_NE(d.status().message().find("nested deeper than 8"), std::string::npos);
  // A hostile depth fails fast, without exhausting the stack.
  std::string hostile(1000000, '[');
  EXPECT_FALSE(ParseJson(hostile, 64).ok());
  EXPECT_TRUE(ParseJson("[[1]]", 2).ok());
  EXPECT_FALSE(ParseJson("[[[1]]]", 2).ok());
  EXPECT_TRUE(ParseJson(R"({"a":"[[[[[[[[[[[["})", 1).ok()) << "brackets inside strings do not count";
}

}  // namespace
}  // namespace minyi::collector
