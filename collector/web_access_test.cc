#include "collector/web_access.h"

#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <sstream>
#include <thread>
#include <vector>

#include "collector/common/crypto.h"
#include "collector/web_fakes_for_test.h"

namespace minyi::collector {
namespace {

TEST(WebCryptoTest, KnownVectors) {
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  // RFC 4231 test case 2.
  EXPECT_EQ(HmacSha256Hex("Jefe", "what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  EXPECT_TRUE(ConstantTimeEquals("abc", "abc"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "abd"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "abcd"));
}

TEST(WebCryptoTest, KeyedHasherSeparatesPurposes) {
  KeyedHasher a("secret-a-0123456789"), b("secret-b-0123456789");
  EXPECT_EQ(a.RespondentKey("device:x"), a.RespondentKey("device:x"));
  EXPECT_NE(a.RespondentKey("device:x"), b.RespondentKey("device:x"));
  EXPECT_NE(a.Mac("csrf", "x"), a.Mac("device-ref", "x"));
  EXPECT_EQ(a.Mac("csrf", "x", 32).size(), 32u);
}

TEST(InvitationTest, TokensAreLongRandomAndUrlSafe) {
  auto invitations = MakeInvitations("jiangsu-safety", "320812007", 200, 1700000000000);
  ASSERT_EQ(invitations.size(), 200u);
  std::set<std::string> seen;
  for (const auto& inv : invitations) {
    EXPECT_EQ(inv.token.size(), 24u);  // 144 bits
    EXPECT_TRUE(LooksLikeToken(inv.token)) << inv.token;
    EXPECT_EQ(inv.record.token_hash, Sha256Hex(inv.token));
    EXPECT_EQ(inv.record.batch_id, invitations[0].record.batch_id);
    EXPECT_TRUE(seen.insert(inv.token).second);
  }
  EXPECT_EQ(TokenSourceRef("ab"), "token:ab");
  EXPECT_FALSE(LooksLikeToken("short"));
  EXPECT_FALSE(LooksLikeToken("has space in the token text"));
}

TEST(InvitationTest, CsvHasTheFullUrl) {
  std::vector<NewInvitation> invitations(1);
  invitations[0].token = "AAAAAAAAAAAAAAAAAAAAAAAA";
  invitations[0].record.survey_id = "jiangsu-safety";
  invitations[0].record.town_code = "320812007";
  std::vector<Area> list = {{"32", "江苏省", AreaLevel::kProvince, ""},
                            {"3208", "淮安市", AreaLevel::kCity, "32"},
                            {"320812", "清江浦区", AreaLevel::kCounty, "3208"},
                            {"320812007", "长西街道", AreaLevel::kTown, "320812"}};
  auto areas = AreaRegistry::FromAreas(list);
  ASSERT_TRUE(areas.ok()) << areas.status();
  std::ostringstream out;
  WriteInvitationCsv(out, invitations, "https://survey.example.cn/", *areas);
  EXPECT_EQ(out.str(),
            "token,url,survey,town,town_name\n"
            "AAAAAAAAAAAAAAAAAAAAAAAA,https://survey.example.cn/s/jiangsu-safety?t=AAAAAAAAAAAAAAAAAAAAAAAA,"
            "jiangsu-safety,320812007,江苏省 淮安市 清江浦区 长西街道\n");
}

TEST(ApiKeyTest, MadeKeysAreHashedAndScoped) {
  NewApiKey k = MakeApiKey("12345 hotline", {"b", "a", "b"}, 5);
  EXPECT_EQ(k.key.rfind("myk_", 0), 0u);
  EXPECT_GE(k.key.size(), 4u + 43u);
  EXPECT_EQ(k.record.key_hash, Sha256Hex(k.key));
  EXPECT_EQ(k.record.surveys, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(k.record.key_id.size(), 14u);
}

TEST(ApiKeyTest, AuthenticatorCachesKnownKeysAndRefusesOthers) {
  MemoryAccess access;
  NewApiKey k = MakeApiKey("partner", {"s"}, 1);
  ASSERT_TRUE(access.AddApiKey(k.record).ok());
  NewApiKey revoked = MakeApiKey("old", {"s"}, 1);
  revoked.record.revoked_at_ms = 2;
  ASSERT_TRUE(access.AddApiKey(revoked.record).ok());
  ApiKeyAuthenticator auth(access, std::chrono::seconds(30));
  auto a = auth.Authenticate(k.key);
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->key_id, k.record.key_id);
  ASSERT_TRUE(auth.Authenticate(k.key).ok());
  EXPECT_EQ(access.lookups.load(), 1) << "the second check is served from the cache";
  EXPECT_EQ(auth.Authenticate("").status().code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(auth.Authenticate("myk_wrong").status().code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(auth.Authenticate(revoked.key).status().code(), StatusCode::kUnauthenticated);
}

// When the cached entry has expired, one request asks the store again; a key revoked meanwhile is
// refused from then on, however many requests arrive together.
TEST(ApiKeyTest, ExpiredEntriesAreCheckedAgainOnce) {
  MemoryAccess access;
  NewApiKey k = MakeApiKey("partner", {"s"}, 1);
  ASSERT_TRUE(access.AddApiKey(k.record).ok());
  ApiKeyAuthenticator auth(access, std::chrono::milliseconds(0));  // every entry expired at once
  ASSERT_TRUE(auth.Authenticate(k.key).ok());
  ASSERT_TRUE(auth.Authenticate(k.key).ok());
  EXPECT_EQ(access.lookups.load(), 2);
  access.keys[k.record.key_hash].revoked_at_ms = 5;
  std::vector<std::thread> threads;
  std::atomic<int> refused{0};
  for (int i = 0; i < 16; ++i) {
    threads.emplace_back([&] { refused += auth.Authenticate(k.key).ok() ? 0 : 1; });
  }
  for (auto& t : threads) t.join();
  EXPECT_GE(refused.load(), 1);
  EXPECT_EQ(auth.Authenticate(k.key).status().code(), StatusCode::kUnauthenticated);
}

}  // namespace
}  // namespace minyi::collector
