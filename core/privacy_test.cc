// The masking of core/privacy.h, once for every component (before: three copies in collector/,
// collector/sms/ and dashboards/, whose cases are gathered here).
#include "core/privacy.h"

#include <gtest/gtest.h>

#include <string>

namespace minyi {
namespace {

TEST(PhoneNumberTest, Detection) {
  for (const char* phone :
       {"13812345678", "+8613812345678", "008613812345678", "86 138-1234-5678", "(+86) 138 1234 5678",
        "+86 25 8371 2345", "0086-25-83712345", "+1 415 555 0100"}) {
    EXPECT_TRUE(LooksLikePhoneNumber(phone)) << phone;
  }
  for (const char* key : {"k-1", "12812345678", "1381234567", "138123456789", "a3f9c0d1e2b4", "20240512",
                          "86", "+12345", "v1-13", "+abc"}) {
    EXPECT_FALSE(LooksLikePhoneNumber(key)) << key;
  }
}

TEST(PhoneNumberTest, Masking) {
  EXPECT_EQ(MaskPhoneNumbers("请联系13812345678谢谢"), "请联系138****5678谢谢");
  EXPECT_EQ(MaskPhoneNumbers("+8613812345678"), "+86138****5678");
  EXPECT_EQ(MaskPhoneNumbers("tel 138 1234 5678."), "tel 138 **** 5678.");
  EXPECT_EQ(MaskPhoneNumbers("2024 13812345678"), "2024 138****5678");
  EXPECT_EQ(MaskPhoneNumbers("138123456789"), "138123456789");
  EXPECT_EQ(MaskPhoneNumbers("3号楼 张阿姨 1"), "3号楼 张阿姨 1");
  EXPECT_EQ(MaskPhoneNumbers("a,13912345678,b,15012345678"), "a,139****5678,b,150****5678");
  // Runs of groups joined by '-' or ' ': the whole run, or one group of it, is the number; ids whose
  // groups are of other lengths are left alone.
  EXPECT_EQ(MaskPhoneNumbers("demo-20250101-138"), "demo-20250101-138");
  EXPECT_EQ(MaskPhoneNumbers("demo-20250101-123456,320102002,2024-05-12"),
            "demo-20250101-123456,320102002,2024-05-12");
  EXPECT_EQ(MaskPhoneNumbers("ref-2025-13812345678"), "ref-2025-138****5678");
  EXPECT_EQ(MaskPhoneNumbers("1381234-5678"), "138****-5678");
  EXPECT_EQ(MaskPhoneNumbers("86-138-1234-5678"), "86-138-****-5678");
  EXPECT_EQ(MaskPhoneNumbers("12345678901234567 13812345678"), "12345678901234567 138****5678");
}

TEST(MaskPhoneTest, ShowsOnlyPrefixAndLastFour) {
  EXPECT_EQ(MaskPhone("+8613812345678"), "138****5678");
  EXPECT_EQ(MaskPhone("13812345678"), "138****5678");
  EXPECT_EQ(MaskPhone("+14155552671"), "141****2671");
  EXPECT_EQ(MaskPhone("123"), "****");
}

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

// Emoji (4 bytes) and other characters beyond the patterns pass unchanged, whole.
TEST(MaskTest, KeepsCharactersOutsideThePatternsWhole) {
  EXPECT_EQ(MaskPersonalInfo("路灯坏了😡请修"), "路灯坏了😡请修");
  EXPECT_EQ(MaskPersonalInfo("😡13912345678"), "😡[已隐去]");
  EXPECT_EQ(MaskPhoneNumbers("😡13912345678"), "😡139****5678");
}

}  // namespace
}  // namespace minyi
