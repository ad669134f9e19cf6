#include "dashboards/comments.h"

#include <gtest/gtest.h>

namespace minyi::dashboards {
namespace {

TEST(MaskTest, HidesNumbersNamesAndAddresses) {
  struct Case {
    const char* in;
    const char* out;
  };
  const Case cases[] = {
      {"电话13912345678请回电", "电话[已隐去]请回电"},
      {"电话 139-1234-5678", "电话 [已隐去]"},
      {"号码１３９１２３４５６７８", "号码[已隐去]"},
      {"身份证32080219800101123X，谢谢", "身份证[已隐去]，谢谢"},
      {"座机0517-83601234", "座机[已隐去]"},
      {"3号楼2单元有问题", "3号楼2单元有问题"},
      {"2025年路灯坏了", "2025年路灯坏了"},
      {"我叫王建国，住在3栋", "我叫某某，住在3栋"},
      {"姓名：李梅 反映噪音", "姓名：某某 反映噪音"},
      {"联系人张三", "联系人某某"},
      {"张先生说晚上很黑", "某先生说晚上很黑"},
      {"邮箱 wang.li@example.com 可联系", "邮箱 [已隐去] 可联系"},
      {"no digits here", "no digits here"},
      {"", ""},
  };
  for (const auto& c : cases) EXPECT_EQ(MaskPersonalInfo(c.in), c.out) << c.in;
}

TEST(MaskTest, KeepsInvalidUtf8BytesWithoutReadingPastTheEnd) {
  const std::string cut = std::string("路灯") + "\xE8";  // a truncated character
  EXPECT_EQ(MaskPersonalInfo(cut), cut);
  EXPECT_EQ(MaskPersonalInfo("我叫"), "我叫");
}

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
