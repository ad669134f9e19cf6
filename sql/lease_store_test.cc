// The leases (core/lease_ports.h, sql/lease_store.h) on every backend: SQLite in memory, SQLite in a
// file and a private MariaDB server.
#include "sql/lease_store.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/store_backends.h"

namespace minyi::sql {
namespace {

class LeaseStoreTest : public testsupport::FreshStoreTest {
 protected:
  void SetUp() override {
    FreshStoreTest::SetUp();
    if (HasFatalFailure()) return;
    leases_ = OpenLeaseStore(*store_);
  }
  void TearDown() override {
    leases_.reset();
    FreshStoreTest::TearDown();
  }

  LeaseGrant Acquire(const std::string& name, const std::string& holder, std::int64_t ttl_ms) {
    auto grant = leases_->TryAcquire(name, holder, ttl_ms);
    EXPECT_TRUE(grant.ok()) << grant.status();
    return grant.ok() ? *grant : LeaseGrant();
  }

  std::unique_ptr<LeaseStore> leases_;
};

TEST_P(LeaseStoreTest, AcquireRefuseRenewRelease) {
  const LeaseGrant a = Acquire("sms_sender", "server-a", 60000);
  ASSERT_TRUE(a.held);
  EXPECT_EQ(a.token, 1);
  EXPECT_EQ(a.holder, "server-a");

  const LeaseGrant b = Acquire("sms_sender", "server-b", 60000);
  EXPECT_FALSE(b.held) << "a live lease of another holder is refused";
  EXPECT_EQ(b.holder, "server-a");
  EXPECT_EQ(b.token, 0);

  // Taking it again while holding it renews it and keeps the token.
  const LeaseGrant again = Acquire("sms_sender", "server-a", 60000);
  ASSERT_TRUE(again.held);
  EXPECT_EQ(again.token, 1);
  EXPECT_GE(again.expires_at_ms, a.expires_at_ms);

  auto renewed = leases_->Renew({"sms_sender", "server-a", 1}, 60000);
  ASSERT_TRUE(renewed.ok()) << renewed.status();
  EXPECT_TRUE(renewed->held);
  auto wrong_token = leases_->Renew({"sms_sender", "server-a", 7}, 60000);
  ASSERT_TRUE(wrong_token.ok()) << wrong_token.status();
  EXPECT_FALSE(wrong_token->held);
  auto not_holder = leases_->Renew({"sms_sender", "server-b", 1}, 60000);
  ASSERT_TRUE(not_holder.ok()) << not_holder.status();
  EXPECT_FALSE(not_holder->held);

  // A release by someone else changes nothing; the holder's release frees it at once.
  ASSERT_TRUE(leases_->Release({"sms_sender", "server-b", 1}).ok());
  EXPECT_FALSE(Acquire("sms_sender", "server-b", 60000).held);
  ASSERT_TRUE(leases_->Release({"sms_sender", "server-a", 1}).ok());
  const LeaseGrant taken = Acquire("sms_sender", "server-b", 60000);
  ASSERT_TRUE(taken.held) << "a released lease is free at once";
  EXPECT_EQ(taken.token, 2) << "a takeover bumps the fencing token";
  auto stale = leases_->Renew({"sms_sender", "server-a", 1}, 60000);
  ASSERT_TRUE(stale.ok()) << stale.status();
  EXPECT_FALSE(stale->held);
  EXPECT_EQ(stale->holder, "server-b");

  // Leases are independent.
  EXPECT_TRUE(Acquire("live_aggregation", "server-a", 60000).held);

  auto list = leases_->List();
  ASSERT_TRUE(list.ok()) << list.status();
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].name, "live_aggregation");
  EXPECT_EQ((*list)[0].holder, "server-a");
  EXPECT_TRUE((*list)[0].live);
  EXPECT_EQ((*list)[1].name, "sms_sender");
  EXPECT_EQ((*list)[1].holder, "server-b");
  EXPECT_EQ((*list)[1].fencing_token, 2);
  EXPECT_LE((*list)[1].acquired_at_ms, (*list)[1].renewed_at_ms);
  EXPECT_LT((*list)[1].renewed_at_ms, (*list)[1].expires_at_ms);
}

TEST_P(LeaseStoreTest, AnExpiredLeaseIsTakenOverWithABumpedToken) {
  const auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(Acquire("live_aggregation", "server-a", 300).held);
  ASSERT_FALSE(Acquire("live_aggregation", "server-b", 300).held);
  // Wait on the condition (bounded), never a fixed sleep.
  LeaseGrant b;
  const auto deadline = start + std::chrono::seconds(10);
  while (!(b = Acquire("live_aggregation", "server-b", 300)).held &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_TRUE(b.held) << "not taken over within 10 s of a 300 ms lease";
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(290))
      << "taken before it expired";
  EXPECT_EQ(b.token, 2);
  auto stale = leases_->Renew({"live_aggregation", "server-a", 1}, 300);
  ASSERT_TRUE(stale.ok()) << stale.status();
  EXPECT_FALSE(stale->held) << "the previous holder cannot renew after a takeover";
}

TEST_P(LeaseStoreTest, TwoServersRacingForAnAbsentLeaseOneWins) {
  for (int round = 0; round < 20; ++round) {
    const std::string name = "race-" + std::to_string(round);
    LeaseGrant grants[2];
    Status statuses[2];
    testsupport::RunAtOnce(2, [&](int i) {
      auto g = leases_->TryAcquire(name, "server-" + std::to_string(i), 60000);
      statuses[i] = g.status();
      if (g.ok()) grants[i] = *g;
    });
    ASSERT_TRUE(statuses[0].ok()) << statuses[0];
    ASSERT_TRUE(statuses[1].ok()) << statuses[1];
    EXPECT_NE(grants[0].held, grants[1].held) << "round " << round << ": exactly one winner";
    const LeaseGrant& winner = grants[0].held ? grants[0] : grants[1];
    const LeaseGrant& loser = grants[0].held ? grants[1] : grants[0];
    EXPECT_EQ(winner.token, 1);
    EXPECT_EQ(loser.holder, winner.holder) << "the loser sees the winner";
  }
}

TEST_P(LeaseStoreTest, BadArgumentsNameTheField) {
  auto no_name = leases_->TryAcquire("", "a", 1000);
  EXPECT_EQ(no_name.status().code(), StatusCode::kInvalidInput);
  EXPECT_NE(no_name.status().message().find("name"), std::string::npos);
  auto no_holder = leases_->TryAcquire("x", "", 1000);
  EXPECT_NE(no_holder.status().message().find("holder"), std::string::npos);
  auto ttl = leases_->TryAcquire("x", "a", 0);
  EXPECT_NE(ttl.status().message().find("ttl"), std::string::npos);
}

TEST_P(LeaseStoreTest, EnsureLeaseTableIsIdempotentOnAMigratedStore) {
  ASSERT_TRUE(EnsureLeaseTable(*store_).ok());
  EXPECT_TRUE(Acquire("migrate", "a", 1000).held);
  ASSERT_TRUE(EnsureLeaseTable(*store_).ok());
  EXPECT_FALSE(Acquire("migrate", "b", 60000).held) << "the table and its rows survive";
}

INSTANTIATE_TEST_SUITE_P(Backends, LeaseStoreTest, ::testing::ValuesIn(testsupport::AllStoreBackends()),
                         testsupport::StoreBackendParamName);

}  // namespace
}  // namespace minyi::sql
