// The lease keeper (core/lease_keeper.h) over an in-memory LeaseStore with a hand-moved clock: a job
// stops when its lease cannot be renewed in time or is taken, and Stop() releases.
#include "core/lease_keeper.h"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

namespace minyi {
namespace {

using Steady = std::chrono::steady_clock;

// One clock for the "database" and the keeper; the store follows core/lease_ports.h.
class FakeLeases : public LeaseStore {
 public:
  explicit FakeLeases(const Steady::time_point* now) : now_(now) {}

  std::int64_t NowMs() const {
    return std::chrono::duration_cast<std::chrono::milliseconds>(now_->time_since_epoch()).count();
  }
  Result<LeaseGrant> TryAcquire(const std::string& name, const std::string& holder,
                                std::int64_t ttl_ms) override {
    if (down) return Status::Unavailable("database down");
    LeaseInfo& l = rows[name];
    if (l.holder.empty() || l.holder == holder || l.expires_at_ms <= NowMs()) {
      if (l.holder != holder) ++l.fencing_token;
      l.holder = holder;
      l.expires_at_ms = NowMs() + ttl_ms;
      return LeaseGrant{true, l.fencing_token, holder, l.expires_at_ms};
    }
    return LeaseGrant{false, 0, l.holder, l.expires_at_ms};
  }
  Result<LeaseGrant> Renew(const LeaseFence& fence, std::int64_t ttl_ms) override {
    if (down) return Status::Unavailable("database down");
    LeaseInfo& l = rows[fence.name];
    if (l.holder != fence.holder || l.fencing_token != fence.token || l.expires_at_ms <= NowMs()) {
      return LeaseGrant{false, 0, l.holder, l.expires_at_ms};
    }
    l.expires_at_ms = NowMs() + ttl_ms;
    return LeaseGrant{true, l.fencing_token, l.holder, l.expires_at_ms};
  }
  Status Release(const LeaseFence& fence) override {
    LeaseInfo& l = rows[fence.name];
    if (l.holder == fence.holder && l.fencing_token == fence.token) l.expires_at_ms = NowMs();
    ++releases;
    return Status::Ok();
  }
  Result<std::vector<LeaseInfo>> List() override { return std::vector<LeaseInfo>(); }

  bool down = false;
  int releases = 0;
  std::map<std::string, LeaseInfo> rows;

 private:
  const Steady::time_point* now_;
};

class LeaseKeeperTest : public ::testing::Test {
 protected:
  LeaseKeeperOptions Options(const std::string& holder) {
    LeaseKeeperOptions o;
    o.holder = holder;
    o.ttl_ms = 3000;
    o.names = {"live_aggregation", "sms_sender"};
    return o;
  }
  LeaseKeeper::Clock Clock() {
    return [this] { return now_; };
  }

  Steady::time_point now_ = Steady::time_point(std::chrono::hours(1));
  FakeLeases store_{&now_};
};

TEST_F(LeaseKeeperTest, TakesRenewsAndAnotherServerIsRefused) {
  LeaseKeeper a(store_, Options("a"), Clock());
  LeaseKeeper b(store_, Options("b"), Clock());
  EXPECT_FALSE(a.Held("live_aggregation"));
  a.RunOnce();
  b.RunOnce();
  ASSERT_TRUE(a.Held("live_aggregation"));
  EXPECT_EQ(a.Held("live_aggregation")->token, 1);
  EXPECT_FALSE(b.Held("live_aggregation"));
  EXPECT_EQ(b.LastSeenHolder("sms_sender"), "a");
  EXPECT_FALSE(a.Held("not-configured"));
  // Renewed every pass: still held well past one lease period.
  for (int i = 0; i < 5; ++i) {
    now_ += std::chrono::milliseconds(1000);
    a.RunOnce();
    b.RunOnce();
  }
  EXPECT_TRUE(a.Held("live_aggregation"));
  EXPECT_FALSE(b.Held("live_aggregation"));
}

TEST_F(LeaseKeeperTest, AHolderThatCannotRenewStopsBeforeTheLeaseExpires) {
  LeaseKeeper a(store_, Options("a"), Clock());
  a.RunOnce();
  ASSERT_TRUE(a.Held("sms_sender"));
  store_.down = true;
  now_ += std::chrono::milliseconds(2000);
  a.RunOnce();  // fails: still within the period of the last successful renewal
  EXPECT_TRUE(a.Held("sms_sender"));
  now_ += std::chrono::milliseconds(999);
  EXPECT_TRUE(a.Held("sms_sender"));
  now_ += std::chrono::milliseconds(1);  // one period after the last renewal started
  EXPECT_FALSE(a.Held("sms_sender")) << "a job must stop at its local deadline, not keep writing";
  // The database's expiry is no earlier: another server is still refused at that instant.
  store_.down = false;
  LeaseKeeper b(store_, Options("b"), Clock());
  now_ -= std::chrono::milliseconds(1);
  b.RunOnce();
  EXPECT_FALSE(b.Held("sms_sender"));
  now_ += std::chrono::milliseconds(1);
  b.RunOnce();
  ASSERT_TRUE(b.Held("sms_sender"));
  EXPECT_EQ(b.Held("sms_sender")->token, 2) << "a takeover bumps the fencing token";
  // a's next renewal is refused and it drops the lease at once.
  a.RunOnce();
  EXPECT_FALSE(a.Held("sms_sender"));
}

TEST_F(LeaseKeeperTest, StopReleasesSoASuccessorTakesOverAtOnce) {
  LeaseKeeper b(store_, Options("b"), Clock());
  {
    LeaseKeeper a(store_, Options("a"), Clock());
    a.RunOnce();
    ASSERT_TRUE(a.Held("live_aggregation"));
    b.RunOnce();
    EXPECT_FALSE(b.Held("live_aggregation"));
    a.Stop();
    EXPECT_FALSE(a.Held("live_aggregation"));
    EXPECT_EQ(store_.releases, 2);
  }
  b.RunOnce();  // no time has passed
  EXPECT_TRUE(b.Held("live_aggregation"));
  EXPECT_TRUE(b.Held("sms_sender"));
}

}  // namespace
}  // namespace minyi
