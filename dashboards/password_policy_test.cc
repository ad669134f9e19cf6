#include "dashboards/password_policy.h"

#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <vector>

namespace minyi::dashboards {
namespace {

// Regression (issue 13): the length was counted in bytes (three per Chinese character), and any
// password of 10 bytes was accepted, "password123" and "qwertyuiop" included.
TEST(PasswordPolicyTest, CountsCharactersNotBytes) {
  EXPECT_EQ(CountCodePoints("平安建设"), 4);
  EXPECT_EQ(CountCodePoints("abc"), 3);
  EXPECT_EQ(CountCodePoints("\xc0\xaf"), -1);      // overlong
  EXPECT_EQ(CountCodePoints("\xe4\xb8"), -1);      // truncated
  EXPECT_EQ(CountCodePoints("\xed\xa0\x80"), -1);  // surrogate
  // 4 characters, 12 bytes: too short although the bytes reach 10.
  Status four = CheckPasswordPolicy("平安建设");
  EXPECT_EQ(four.code(), StatusCode::kInvalidInput);
  EXPECT_NE(four.message().find("at least 10 characters"), std::string::npos) << four;
  EXPECT_EQ(CheckPasswordPolicy("江苏淮安清江浦区长西街道").code(), StatusCode::kOk);      // 12 characters
  EXPECT_EQ(CheckPasswordPolicy("夜来风雨声花落知多少").code(), StatusCode::kOk);          // exactly 10
  EXPECT_EQ(CheckPasswordPolicy("夜来风雨声花落知多").code(), StatusCode::kInvalidInput);  // 9
  EXPECT_EQ(CheckPasswordPolicy("valid start \xff\xfe").code(), StatusCode::kInvalidInput);
  EXPECT_EQ(CheckPasswordPolicy(std::string(1025, 'k')).code(), StatusCode::kInvalidInput);
  EXPECT_EQ(CheckPasswordPolicy(std::string(1024, 'k')).code(), StatusCode::kOk);
}

TEST(PasswordPolicyTest, RefusesCommonPasswordsWhateverTheCase) {
  const std::vector<std::string> common = {"password123",   "PASSWORD123", "Qwertyuiop",    "1234567890",
                                           "woaini1314520", "WoAiNi1314",  "1qaz2wsx3edc",  "P@ssw0rd123",
                                           "admin123456",   "minyi123456", "pinganjianshe", "aaaaaaaaaa",
                                           "a123456789",    "qq123456789", "zhang123456"};
  for (const std::string& p : common) {
    Status s = CheckPasswordPolicy(p);
    EXPECT_EQ(s.code(), StatusCode::kInvalidInput) << p;
    EXPECT_NE(s.message().find("too common"), std::string::npos) << p;
    EXPECT_EQ(s.message().find(p), std::string::npos) << "the message repeats the password";
  }
  for (const char* p : {"correct horse battery", "淮安 晚秋 17 细雨", "Tq8-vamp-lorry-9"}) {
    EXPECT_TRUE(CheckPasswordPolicy(p).ok()) << p;
  }
}

TEST(PasswordPolicyTest, RefusesTheUserNameInThePassword) {
  EXPECT_EQ(CheckPasswordPolicy("county1-password", "county1").code(), StatusCode::kInvalidInput);
  EXPECT_EQ(CheckPasswordPolicy("my-COUNTY1-secret", "county1").code(), StatusCode::kInvalidInput);
  EXPECT_EQ(CheckPasswordPolicy("zhang.wei.2019", "zhang.wei.2019").code(), StatusCode::kInvalidInput);
  EXPECT_NE(CheckPasswordPolicy("xx-county1-xx", "county1").message().find("user name"), std::string::npos);
  EXPECT_TRUE(CheckPasswordPolicy("1ytnuoc-strong-9", "county1").ok());
  EXPECT_TRUE(CheckPasswordPolicy("county-official-pass", "county1").ok());
}

// Every entry of the shipped list is refused (the list is compiled in from this very file).
TEST(PasswordPolicyTest, EveryShippedEntryIsRefused) {
  const std::string path = std::string(MINYI_SOURCE_DIR) + "/dashboards/passwords/common_passwords.txt";
  std::ifstream in(path);
  ASSERT_TRUE(in) << path;
  std::string line;
  int entries = 0;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    ++entries;
    EXPECT_TRUE(IsCommonPassword(line)) << line;
  }
  EXPECT_GT(entries, 3000);
}

}  // namespace
}  // namespace minyi::dashboards
