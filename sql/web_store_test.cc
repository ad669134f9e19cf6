// The web collector's tables (core/web_ports.h) on every backend: SQLite in memory, SQLite in a
// file and a private MariaDB (started once for this binary).
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "sql/held_write_for_test.h"
#include "sql/store.h"
#include "tests/support/store_backends.h"

namespace minyi::sql {
namespace {

using testsupport::StoreBackend;

class WebStoreTest : public testsupport::FreshStoreTest {};

TEST_P(WebStoreTest, InvitationTokensAreStoredAndFound) {
  const std::string h1(64, 'a'), h2(64, 'b');
  ASSERT_TRUE(store_->AddInvitationTokens({{h1, "jiangsu-safety", "320812007", "batch1", 1000},
                                           {h2, "jiangsu-safety", "", "batch1", 1000}})
                  .ok());
  auto found = store_->FindInvitationToken(h1);
  ASSERT_TRUE(found.ok()) << found.status();
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ((*found)->survey_id, "jiangsu-safety");
  EXPECT_EQ((*found)->town_code, "320812007");
  EXPECT_EQ((*found)->batch_id, "batch1");
  EXPECT_EQ((*found)->created_at_ms, 1000);
  auto open_town = store_->FindInvitationToken(h2);
  ASSERT_TRUE(open_town.ok() && open_town->has_value());
  EXPECT_EQ((*open_town)->town_code, "");
  auto missing = store_->FindInvitationToken(std::string(64, 'c'));
  ASSERT_TRUE(missing.ok());
  EXPECT_FALSE(missing->has_value());
}

TEST_P(WebStoreTest, DuplicateTokenIsAConflictAndStoresNothingOfTheBatch) {
  const std::string h1(64, 'a'), h3(64, 'd');
  ASSERT_TRUE(store_->AddInvitationTokens({{h1, "s", "", "b", 1}}).ok());
  Status s = store_->AddInvitationTokens({{h3, "s", "", "b2", 1}, {h1, "s", "", "b2", 1}});
  EXPECT_EQ(s.code(), StatusCode::kConflict) << s;
  auto found = store_->FindInvitationToken(h3);
  ASSERT_TRUE(found.ok());
  EXPECT_FALSE(found->has_value()) << "the batch must be all or nothing";
  EXPECT_EQ(store_->AddInvitationTokens({{"", "s", "", "b", 1}}).code(), StatusCode::kInvalidInput);
}

TEST_P(WebStoreTest, ApiKeysAddFindListRevoke) {
  ApiKey k{"k_1", std::string(64, 'e'), "12345 hotline", {"b-survey", "a-survey"}, 5, 0};
  ASSERT_TRUE(store_->AddApiKey(k).ok());
  ApiKey k2{"k_2", std::string(64, 'f'), "street app", {"a-survey"}, 6, 0};
  ASSERT_TRUE(store_->AddApiKey(k2).ok());
  EXPECT_EQ(store_->AddApiKey(k).code(), StatusCode::kConflict);
  ApiKey no_survey{"k_3", std::string(64, '0'), "x", {}, 6, 0};
  EXPECT_EQ(store_->AddApiKey(no_survey).code(), StatusCode::kInvalidInput);

  auto found = store_->FindApiKeyByHash(std::string(64, 'e'));
  ASSERT_TRUE(found.ok() && found->has_value()) << found.status();
  EXPECT_EQ((*found)->key_id, "k_1");
  EXPECT_EQ((*found)->name, "12345 hotline");
  EXPECT_EQ((*found)->surveys, (std::vector<std::string>{"a-survey", "b-survey"}));
  EXPECT_TRUE((*found)->active());
  EXPECT_TRUE((*found)->Allows("b-survey"));
  EXPECT_FALSE((*found)->Allows("c-survey"));

  ASSERT_TRUE(store_->RevokeApiKey("k_1", 99).ok());
  ASSERT_TRUE(store_->RevokeApiKey("k_1", 200).ok());
  EXPECT_EQ(store_->RevokeApiKey("k_9", 1).code(), StatusCode::kNotFound);
  auto list = store_->ListApiKeys();
  ASSERT_TRUE(list.ok()) << list.status();
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].key_id, "k_1");
  EXPECT_EQ((*list)[0].revoked_at_ms, 99) << "the first revocation time is kept";
  EXPECT_TRUE((*list)[1].active());
}

TEST_P(WebStoreTest, FindResponseBySource) {
  Response r;
  r.survey_id = "jiangsu-safety";
  r.period = {2025, 0};
  r.town_code = "320812007";
  r.channel = Channel::kWeb;
  r.respondent_key = "k";
  r.answers = {{"security", {"1"}}};
  r.source_ref = "token:abc";
  r.received_at_ms = 1;
  std::vector<AppendResult> results;
  ASSERT_TRUE(store_->Append({r}, &results).ok());
  auto found = store_->FindResponseBySource(Channel::kWeb, "token:abc");
  ASSERT_TRUE(found.ok() && found->has_value()) << found.status();
  EXPECT_EQ((*found)->response_id, results[0].response_id);
  EXPECT_EQ((*found)->content_hash, r.ContentHash());
  auto other_channel = store_->FindResponseBySource(Channel::kSms, "token:abc");
  ASSERT_TRUE(other_channel.ok());
  EXPECT_FALSE(other_channel->has_value());
}

// The guarantee tokens rely on: many concurrent appends of one (web, token:...) identity store one row.
TEST_P(WebStoreTest, ConcurrentAppendsOfOneTokenStoreOneResponse) {
  std::vector<std::thread> threads;
  std::atomic<int> stored{0}, other{0};
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      Response r;
      r.survey_id = "jiangsu-safety";
      r.period = {2025, 0};
      r.town_code = "320812007";
      r.channel = Channel::kWeb;
      r.respondent_key = "k";
      r.answers = {{"security", {std::to_string(1 + t % 2)}}};
      r.source_ref = "token:race";
      std::vector<AppendResult> results;
      Status s = store_->Append({r}, &results);
      if (s.ok() && results[0].outcome == AppendOutcome::kStored) {
        ++stored;
      } else if (s.ok()) {
        ++other;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(stored.load(), 1);
  EXPECT_EQ(other.load(), 7);
}

// The per-request lookups are reads (db::Db::Read): with a second connection (SQLite in a file, a
// MariaDB pool) they answer while a write transaction is open, and see only committed rows. On
// SQLite they would otherwise wait for the writer's mutex, behind a whole group commit.
TEST_P(WebStoreTest, LookupsAnswerWhileAWriteTransactionIsOpen) {
  if (GetParam() == StoreBackend::kSqliteMemory) GTEST_SKIP() << "one connection: reads share the writer's";
  const std::string committed(64, 'a'), pending(64, 'b');
  ASSERT_TRUE(store_->AddInvitationTokens({{committed, "s", "", "b", 1}}).ok());
  ASSERT_TRUE(store_->AddApiKey({"k_1", std::string(64, 'e'), "hotline", {"s"}, 5, 0}).ok());

  HeldWrite held(store_->SqlDb(),
                 "INSERT INTO invitation_tokens (token_hash, survey_id, town_code, batch_id, created_at_ms)"
                 " VALUES (?, 's', '', 'b', 1)",
                 {pending});

  auto reads = std::async(std::launch::async, [&] {
    auto token = store_->FindInvitationToken(committed);
    auto uncommitted = store_->FindInvitationToken(pending);
    auto key = store_->FindApiKeyByHash(std::string(64, 'e'));
    auto keys = store_->ListApiKeys();
    auto response = store_->FindResponseBySource(Channel::kWeb, "token:none");
    return token.ok() && token->has_value() && uncommitted.ok() && !uncommitted->has_value() && key.ok() &&
           key->has_value() && keys.ok() && keys->size() == 1 && response.ok() && !response->has_value();
  });
  const bool answered = reads.wait_for(std::chrono::seconds(10)) == std::future_status::ready;
  EXPECT_TRUE(held.Release().ok());
  EXPECT_TRUE(answered) << "a lookup waited for the open write transaction";
  EXPECT_TRUE(reads.get());
  auto now_committed = store_->FindInvitationToken(pending);
  ASSERT_TRUE(now_committed.ok());
  EXPECT_TRUE(now_committed->has_value());
}

INSTANTIATE_TEST_SUITE_P(Backends, WebStoreTest, ::testing::ValuesIn(testsupport::AllStoreBackends()),
                         testsupport::StoreBackendParamName);

}  // namespace
}  // namespace minyi::sql
