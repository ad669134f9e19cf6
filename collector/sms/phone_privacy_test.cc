#include "collector/sms/phone_privacy.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "collector/common/crypto.h"

namespace minyi::collector::sms {
namespace {

TEST(NormalizePhoneTest, ChineseMobilesInEveryCommonForm) {
  for (const char* input : {"13812345678", "+8613812345678", "008613812345678", "86 138-1234-5678",
                            "138 1234 5678", "+86 138 1234 5678"}) {
    auto e164 = NormalizePhone(input);
    ASSERT_TRUE(e164.ok()) << input << ": " << e164.status();
    EXPECT_EQ(*e164, "+8613812345678") << input;
  }
  auto foreign = NormalizePhone("+14155552671");
  ASSERT_TRUE(foreign.ok()) << foreign.status();
  EXPECT_EQ(*foreign, "+14155552671");
}

TEST(NormalizePhoneTest, InvalidNumbersAreRejectedWithoutEchoingThem) {
  for (const char* input : {"", "12345", "abc", "1381234567", "23812345678999"}) {
    auto e164 = NormalizePhone(input);
    EXPECT_FALSE(e164.ok()) << input;
    EXPECT_EQ(e164.status().code(), StatusCode::kInvalidInput);
  }
  EXPECT_EQ(NormalizePhone("1381234567").status().message().find("1381234567"), std::string::npos);
}

TEST(RespondentKeyerTest, KeyedStableAndSecretDependent) {
  EXPECT_FALSE(RespondentKeyer::Create("short").ok());
  auto a = RespondentKeyer::Create("0123456789abcdef-secret");
  auto b = RespondentKeyer::Create("another-secret-0123456789");
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE(b.ok());
  const std::string key = a->KeyFor("+8613812345678");
  EXPECT_EQ(key.size(), 64u);
  EXPECT_EQ(key, a->KeyFor("+8613812345678"));
  EXPECT_NE(key, a->KeyFor("+8613812345679"));
  EXPECT_NE(key, b->KeyFor("+8613812345678"));
  EXPECT_EQ(key.find("13812345678"), std::string::npos);
}

TEST(PhoneCipherTest, RoundTripFreshNonceAndTamperDetection) {
  std::array<unsigned char, 32> key{};
  key[0] = 7;
  const PhoneCipher cipher = PhoneCipher::FromKey(key);
  const std::string c1 = cipher.Encrypt("+8613812345678");
  const std::string c2 = cipher.Encrypt("+8613812345678");
  EXPECT_NE(c1, c2);
  EXPECT_EQ(c1.find("13812345678"), std::string::npos);
  auto plain = cipher.Decrypt(c1);
  ASSERT_TRUE(plain.ok()) << plain.status();
  EXPECT_EQ(*plain, "+8613812345678");
  std::string tampered = c1;
  tampered[10] = tampered[10] == 'A' ? 'B' : 'A';
  EXPECT_FALSE(cipher.Decrypt(tampered).ok());
  EXPECT_FALSE(cipher.Decrypt("").ok());
  key[0] = 8;
  EXPECT_FALSE(PhoneCipher::FromKey(key).Decrypt(c1).ok());
}

TEST(PhoneCipherTest, KeyFromHexOrFileCreatedWithMode0600) {
  EXPECT_FALSE(PhoneCipher::Load("abcd", "").ok());
  auto hex = PhoneCipher::Load(std::string(64, 'a'), "");
  ASSERT_TRUE(hex.ok()) << hex.status();

  const std::string dir = (std::filesystem::temp_directory_path() / ("minyi-sms-key-" + std::to_string(::getpid()))).string();
  std::filesystem::remove_all(dir);
  const std::string file = dir + "/var/sms.key";
  auto created = PhoneCipher::Load("", file);
  ASSERT_TRUE(created.ok()) << created.status();
  struct stat info {};
  ASSERT_EQ(::stat(file.c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600u);
  const std::string ciphertext = created->Encrypt("+8613812345678");
  auto reloaded = PhoneCipher::Load("", file);  // a restart reads the same key
  ASSERT_TRUE(reloaded.ok()) << reloaded.status();
  auto plain = reloaded->Decrypt(ciphertext);
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(*plain, "+8613812345678");

  ::chmod(file.c_str(), 0644);
  EXPECT_EQ(PhoneCipher::Load("", file).status().code(), StatusCode::kPermissionDenied);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace minyi::collector::sms
