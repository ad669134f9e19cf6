// The access-control tables and dashboard queries (sql/access_store.h) on every backend: SQLite in
// memory, SQLite in a file and a private MariaDB server (started once for this binary;
// MINYI_TEST_MYSQL_SOCKET selects an existing one).
#include "sql/access_store.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/store_backends.h"

namespace minyi::sql {
namespace {

using testsupport::StoreBackend;
using Backend = testsupport::StoreBackend;

class AccessStoreTest : public testsupport::FreshStoreTest {
 protected:
  void SetUp() override {
    FreshStoreTest::SetUp();
    if (HasFatalFailure()) return;
    auto access = OpenAccessStore(*store_);
    ASSERT_TRUE(access.ok()) << access.status();
    access_ = std::move(access).value();
  }

  void TearDown() override {
    access_.reset();
    FreshStoreTest::TearDown();
  }

  static User MakeUser(const std::string& name, Role role, std::vector<std::string> areas) {
    User u;
    u.username = name;
    u.role = role;
    u.areas = std::move(areas);
    u.password_hash = "$argon2id$v=19$m=65536,t=2,p=1$c2FsdA$aGFzaA";
    u.created_at_ms = 1000;
    u.updated_at_ms = 1000;
    return u;
  }

  static Session MakeSession(const std::string& id_hash, std::int64_t user_id, std::int64_t expires) {
    Session s;
    s.id_hash = id_hash;
    s.user_id = user_id;
    s.csrf_token = "csrf-" + id_hash.substr(0, 4);
    s.created_at_ms = 1000;
    s.expires_at_ms = expires;
    s.remote_address = "127.0.0.1";
    return s;
  }

  static std::string Hash(char c) { return std::string(64, c); }

  Response MakeResponse(const std::string& ref, const std::string& town, int year, Channel channel,
                        const std::string& comment) {
    Response r;
    r.survey_id = "s1";
    r.period = {year, 0};
    r.town_code = town;
    r.channel = channel;
    r.respondent_key = "k-" + ref;
    r.weight = 1;
    r.completion = Completion::kComplete;
    r.submitted_at_ms = 1;
    r.received_at_ms = 2;
    r.source_ref = ref;
    r.answers["security"] = {"1"};
    if (!comment.empty()) r.answers["comment"] = {comment};
    return r;
  }

  std::unique_ptr<AccessStore> access_;
};

// Login throttling in the database (issue 15): slots per key within the window, all or none, failures
// kept and successes given back, and two servers racing for the last slot of a key: one gets it.
TEST_P(AccessStoreTest, LoginAttemptsAreCountedPerKeyWithinTheWindow) {
  const std::vector<LoginSlot> slots = {{"u:county", 2}, {"a:10.0.0.1", 3}};
  auto first = access_->ReserveLoginAttempt(slots, 1000, 60000);
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_TRUE(first->reserved);
  ASSERT_EQ(first->ids.size(), 2u);
  auto second = access_->ReserveLoginAttempt(slots, 2000, 60000);
  ASSERT_TRUE(second.ok() && second->reserved);
  // Two attempts in flight on u:county: full, and the address gets no slot either.
  auto refused = access_->ReserveLoginAttempt(slots, 3000, 60000);
  ASSERT_TRUE(refused.ok()) << refused.status();
  EXPECT_FALSE(refused->reserved);
  EXPECT_EQ(refused->retry_after_ms, 58000) << "the oldest attempt leaves the window at 61000";
  auto other_account = access_->ReserveLoginAttempt({{"u:other", 2}, {"a:10.0.0.1", 3}}, 3000, 60000);
  ASSERT_TRUE(other_account.ok() && other_account->reserved) << "the refused attempt took no address slot";
  // A success gives its slots back; a failure keeps them.
  for (std::int64_t id : first->ids) ASSERT_TRUE(access_->EndLoginAttempt(id, false, 4000).ok());
  for (std::int64_t id : second->ids) ASSERT_TRUE(access_->EndLoginAttempt(id, true, 4000).ok());
  auto third = access_->ReserveLoginAttempt(slots, 5000, 60000);
  ASSERT_TRUE(third.ok() && third->reserved);
  auto full_again = access_->ReserveLoginAttempt(slots, 6000, 60000);
  ASSERT_TRUE(full_again.ok());
  EXPECT_FALSE(full_again->reserved);
  // Clearing forgets the failure, not the attempt in flight.
  ASSERT_TRUE(access_->ClearLoginFailures("u:county").ok());
  auto after_clear = access_->ReserveLoginAttempt({{"u:county", 2}}, 7000, 60000);
  ASSERT_TRUE(after_clear.ok() && after_clear->reserved);
  auto full_in_flight = access_->ReserveLoginAttempt({{"u:county", 2}}, 7000, 60000);
  ASSERT_TRUE(full_in_flight.ok());
  EXPECT_FALSE(full_in_flight->reserved);
  // Past the window every attempt has left it.
  auto later = access_->ReserveLoginAttempt({{"u:county", 2}}, 7000 + 60001, 60000);
  ASSERT_TRUE(later.ok() && later->reserved);

  // The last slot of a key, raced for by two connections (two servers): one gets it.
  for (int round = 0; round < 10; ++round) {
    const std::string key = "u:race-" + std::to_string(round);
    auto taken = access_->ReserveLoginAttempt({{key, 2}}, 1000, 60000);
    ASSERT_TRUE(taken.ok() && taken->reserved);
    Result<LoginReservation> raced[2] = {LoginReservation(), LoginReservation()};
    testsupport::RunAtOnce(2, [&](int i) {
      raced[i] = access_->ReserveLoginAttempt({{key, 2}}, 2000, 60000);
    });
    ASSERT_TRUE(raced[0].ok()) << raced[0].status();
    ASSERT_TRUE(raced[1].ok()) << raced[1].status();
    EXPECT_NE(raced[0]->reserved, raced[1]->reserved)
        << "round " << round << ": exactly one gets the last slot";
  }
}

TEST_P(AccessStoreTest, AddsFindsAndListsUsersWithAreas) {
  std::int64_t id = 0;
  ASSERT_TRUE(access_->AddUser(MakeUser("zhang", Role::kOfficial, {"320812", "320803"}), &id).ok());
  EXPECT_GT(id, 0);
  ASSERT_TRUE(access_->AddUser(MakeUser("admin", Role::kAdmin, {}), nullptr).ok());

  auto found = access_->FindUser("zhang");
  ASSERT_TRUE(found.ok()) << found.status();
  ASSERT_TRUE(found->has_value());
  const User& u = **found;
  EXPECT_EQ(u.id, id);
  EXPECT_EQ(u.role, Role::kOfficial);
  EXPECT_EQ(u.areas, (std::vector<std::string>{"320803", "320812"}));
  EXPECT_EQ(u.password_hash, "$argon2id$v=19$m=65536,t=2,p=1$c2FsdA$aGFzaA");
  EXPECT_FALSE(u.disabled);

  auto by_id = access_->FindUserById(id);
  ASSERT_TRUE(by_id.ok());
  ASSERT_TRUE(by_id->has_value());
  EXPECT_EQ((*by_id)->username, "zhang");

  auto missing = access_->FindUser("nobody");
  ASSERT_TRUE(missing.ok());
  EXPECT_FALSE(missing->has_value());

  auto list = access_->ListUsers();
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 2U);
  EXPECT_EQ((*list)[0].username, "admin");
  EXPECT_TRUE((*list)[0].areas.empty());
  EXPECT_EQ((*list)[1].areas.size(), 2U);
}

TEST_P(AccessStoreTest, DuplicateUsernameIsAConflictAndStoresNothing) {
  ASSERT_TRUE(access_->AddUser(MakeUser("zhang", Role::kOfficial, {"320812"}), nullptr).ok());
  Status again = access_->AddUser(MakeUser("zhang", Role::kAdmin, {}), nullptr);
  EXPECT_EQ(again.code(), StatusCode::kConflict) << again;
  auto u = access_->FindUser("zhang");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ((*u)->role, Role::kOfficial);
  EXPECT_EQ(access_->AddUser(MakeUser("", Role::kAdmin, {}), nullptr).code(), StatusCode::kInvalidInput);
}

TEST_P(AccessStoreTest, SessionsRoundTripAndDieWithDisableAndPasswordChange) {
  std::int64_t id = 0;
  ASSERT_TRUE(access_->AddUser(MakeUser("zhang", Role::kOfficial, {"320812"}), &id).ok());
  ASSERT_TRUE(access_->AddSession(MakeSession(Hash('a'), id, 5000)).ok());
  EXPECT_EQ(access_->AddSession(MakeSession(Hash('a'), id, 5000)).code(), StatusCode::kConflict);
  EXPECT_EQ(access_->AddSession(MakeSession("short", id, 5000)).code(), StatusCode::kInvalidInput);

  auto s = access_->FindSession(Hash('a'));
  ASSERT_TRUE(s.ok()) << s.status();
  ASSERT_TRUE(s->has_value());
  EXPECT_EQ((*s)->user_id, id);
  EXPECT_EQ((*s)->csrf_token, "csrf-aaaa");
  EXPECT_EQ((*s)->expires_at_ms, 5000);

  ASSERT_TRUE(access_->SetUserDisabled("zhang", true, 2000).ok());
  EXPECT_FALSE(access_->FindSession(Hash('a'))->has_value());
  EXPECT_TRUE((*access_->FindUser("zhang"))->disabled);
  ASSERT_TRUE(access_->SetUserDisabled("zhang", false, 2100).ok());
  EXPECT_FALSE((*access_->FindUser("zhang"))->disabled);
  EXPECT_EQ(access_->SetUserDisabled("nobody", true, 1).code(), StatusCode::kNotFound);

  ASSERT_TRUE(access_->AddSession(MakeSession(Hash('b'), id, 5000)).ok());
  ASSERT_TRUE(access_->SetPasswordHash("zhang", "$argon2id$new", 3000).ok());
  EXPECT_FALSE(access_->FindSession(Hash('b'))->has_value());
  EXPECT_EQ((*access_->FindUser("zhang"))->password_hash, "$argon2id$new");
  EXPECT_EQ(access_->SetPasswordHash("nobody", "$x", 1).code(), StatusCode::kNotFound);
}

TEST_P(AccessStoreTest, DeletesOneSessionAndExpiredOnes) {
  std::int64_t id = 0;
  ASSERT_TRUE(access_->AddUser(MakeUser("zhang", Role::kOfficial, {"320812"}), &id).ok());
  ASSERT_TRUE(access_->AddSession(MakeSession(Hash('a'), id, 1000)).ok());
  ASSERT_TRUE(access_->AddSession(MakeSession(Hash('b'), id, 2000)).ok());
  ASSERT_TRUE(access_->AddSession(MakeSession(Hash('c'), id, 9000)).ok());
  ASSERT_TRUE(access_->DeleteSession(Hash('c')).ok());
  ASSERT_TRUE(access_->DeleteSession(Hash('d')).ok());
  EXPECT_FALSE(access_->FindSession(Hash('c'))->has_value());
  auto deleted = access_->DeleteExpiredSessions(1500);
  ASSERT_TRUE(deleted.ok());
  EXPECT_EQ(deleted.value(), 1);
  EXPECT_FALSE(access_->FindSession(Hash('a'))->has_value());
  EXPECT_TRUE(access_->FindSession(Hash('b'))->has_value());
}

TEST_P(AccessStoreTest, AuditLogIsNewestFirstAndKeepsUtf8Whole) {
  for (int i = 0; i < 5; ++i) {
    AuditEvent e;
    e.at_ms = 100 + i;
    e.username = "zhang";
    e.action = i % 2 == 0 ? "login" : "login_failed";
    e.area_code = "320812";
    e.remote_address = "10.0.0.1";
    e.detail = "ok";
    ASSERT_TRUE(access_->AppendAudit(e).ok());
  }
  AuditEvent long_detail;
  long_detail.at_ms = 200;
  long_detail.username = "li";
  long_detail.action = "export";
  std::string chinese;
  for (int i = 0; i < 200; ++i) chinese += "镇";  // 600 bytes, cut to at most 500 on a character boundary
  long_detail.detail = chinese;
  ASSERT_TRUE(access_->AppendAudit(long_detail).ok());
  EXPECT_EQ(access_->AppendAudit(AuditEvent{}).code(), StatusCode::kInvalidInput);

  auto events = access_->ListAudit(3);
  ASSERT_TRUE(events.ok()) << events.status();
  ASSERT_EQ(events->size(), 3U);
  EXPECT_EQ((*events)[0].action, "export");
  EXPECT_EQ((*events)[0].detail.size(), 498U);
  EXPECT_EQ((*events)[1].at_ms, 104);
  EXPECT_EQ((*events)[2].action, "login_failed");
  EXPECT_EQ((*events)[2].remote_address, "10.0.0.1");
  EXPECT_EQ(access_->ListAudit(0).status().code(), StatusCode::kInvalidInput);
}

TEST_P(AccessStoreTest, CountsByChannelWithinAnArea) {
  std::vector<Response> batch = {
      MakeResponse("a", "320812001", 2024, Channel::kWeb, ""),
      MakeResponse("b", "320812002", 2024, Channel::kWeb, ""),
      MakeResponse("c", "320812002", 2024, Channel::kSms, ""),
      MakeResponse("d", "320812002", 2025, Channel::kSms, ""),
      MakeResponse("e", "320803001", 2025, Channel::kWeb, ""),  // another county
  };
  batch[1].completion = Completion::kPartial;
  std::vector<AppendResult> results;
  ASSERT_TRUE(store_->Append(batch, &results).ok());

  auto counts = access_->CountByChannel("s1", "320812");
  ASSERT_TRUE(counts.ok()) << counts.status();
  ASSERT_EQ(counts->size(), 4U);
  EXPECT_EQ((*counts)[0].period.year, 2024);
  EXPECT_EQ((*counts)[0].channel, Channel::kSms);
  EXPECT_EQ((*counts)[1].channel, Channel::kWeb);
  EXPECT_EQ((*counts)[1].completion, Completion::kComplete);
  EXPECT_EQ((*counts)[2].completion, Completion::kPartial);
  EXPECT_EQ((*counts)[3].period.year, 2025);
  EXPECT_EQ((*counts)[3].count, 1);

  auto province = access_->CountByChannel("s1", "32");
  ASSERT_TRUE(province.ok());
  std::int64_t total = 0;
  for (const auto& c : *province) total += c.count;
  EXPECT_EQ(total, 5);
  auto town = access_->CountByChannel("s1", "320812002");
  ASSERT_TRUE(town.ok());
  EXPECT_EQ(town->size(), 3U);
  EXPECT_EQ(access_->CountByChannel("s1", "32' OR 1=1").status().code(), StatusCode::kInvalidInput);
  EXPECT_EQ(access_->CountByChannel("s1", "3").status().code(), StatusCode::kInvalidInput);
}

TEST_P(AccessStoreTest, ReadsTextAnswersNewestFirstWithinAreaAndPeriod) {
  std::vector<Response> batch = {
      MakeResponse("a", "320812001", 2024, Channel::kWeb, "路灯坏了"),
      MakeResponse("b", "320812002", 2025, Channel::kWeb, "噪音扰民"),
      MakeResponse("c", "320812002", 2025, Channel::kSms, ""),
      MakeResponse("d", "320812002", 2025, Channel::kSms, "网格员很好"),
      MakeResponse("e", "320803001", 2025, Channel::kWeb, "别的县"),
  };
  // One batch each: "newest" is the highest id, and a multi-row insert need not number in input order.
  for (const Response& r : batch) {
    std::vector<AppendResult> results;
    ASSERT_TRUE(store_->Append({r}, &results).ok());
  }

  std::int64_t total = -1;
  auto all = access_->ReadTextAnswers("s1", "comment", "320812", std::nullopt, 10, &total);
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_EQ(total, 3);
  ASSERT_EQ(all->size(), 3U);
  EXPECT_EQ((*all)[0].text, "网格员很好");
  EXPECT_EQ((*all)[2].text, "路灯坏了");
  EXPECT_EQ((*all)[2].town_code, "320812001");

  auto year = access_->ReadTextAnswers("s1", "comment", "320812", Period{2025, 0}, 1, &total);
  ASSERT_TRUE(year.ok());
  EXPECT_EQ(total, 2);
  ASSERT_EQ(year->size(), 1U);
  EXPECT_EQ((*year)[0].period.year, 2025);
  EXPECT_EQ(access_->ReadTextAnswers("s1", "comment", "x", std::nullopt, 1, nullptr).status().code(),
            StatusCode::kInvalidInput);
}

INSTANTIATE_TEST_SUITE_P(Backends, AccessStoreTest,
                         ::testing::ValuesIn(testsupport::AllStoreBackends()),
                         testsupport::StoreBackendParamName);

}  // namespace
}  // namespace minyi::sql
