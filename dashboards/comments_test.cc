#include "dashboards/comments.h"

#include <gtest/gtest.h>

namespace minyi::dashboards {
namespace {

TEST(TopicsTest, ParsesMatchesAndRejects) {
  auto dict = TopicDictionary::Parse(
      R"({"topics":[{"name":"夜间照明","keywords":["路灯","照明"]},{"name":"电动车","keywords":["电动车"]}]})");
  ASSERT_TRUE(dict.ok()) << dict.status();
  EXPECT_EQ(dict->Match("小区路灯坏了，电动车乱停"), (std::vector<std::size_t>{0, 1}));
  EXPECT_EQ(dict->Match("路灯和照明"), (std::vector<std::size_t>{0}));
  EXPECT_TRUE(dict->Match("一切都好").empty());

  const char* bad[] = {
      R"({"topics":[{"name":"","keywords":["a"]}]})",
      R"({"topics":[{"name":"a","keywords":[]}]})",
      R"({"topics":[{"name":"a","keywords":["x"]},{"name":"a","keywords":["y"]}]})",
      R"({"topics":[{"name":"a","keywords":[""]}]})",
      R"({"nope":1})",
      R"(not json)",
  };
  for (const char* b : bad) EXPECT_EQ(TopicDictionary::Parse(b).status().code(), StatusCode::kInvalidInput) << b;
}

TEST(TopicsTest, ShippedDictionaryLoads) {
  auto dict = TopicDictionary::LoadFile(std::string(MINYI_SOURCE_DIR) + "/conf/topics.json");
  ASSERT_TRUE(dict.ok()) << dict.status();
  EXPECT_GE(dict->topics().size(), 6U);
  EXPECT_FALSE(dict->Match("希望网格员多来小区看看").empty());
}

}  // namespace
}  // namespace minyi::dashboards
