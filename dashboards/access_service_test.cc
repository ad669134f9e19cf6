#include "dashboards/access_service.h"

#include <gtest/gtest.h>
#include <sodium.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include "sql/access_store.h"

namespace minyi::dashboards {
namespace {

AreaRegistry TestAreas() {
  auto r = AreaRegistry::FromAreas({
      {"32", "江苏省", AreaLevel::kProvince, ""},
      {"3208", "淮安市", AreaLevel::kCity, "32"},
      {"320812", "清江浦区", AreaLevel::kCounty, "3208"},
      {"320812001", "长西街道", AreaLevel::kTown, "320812"},
  });
  EXPECT_TRUE(r.ok()) << r.status();
  return std::move(r).value();
}

// A UserStore that counts password checks (every checked attempt looks its user up first) and holds
// each lookup until the test opens the gate, so that a burst of logins is in flight at once.
class GatedUserStore : public UserStore {
 public:
  explicit GatedUserStore(UserStore& inner) : inner_(inner) {}

  Result<std::optional<User>> FindUser(const std::string& username) override {
    std::unique_lock<std::mutex> lock(mu_);
    ++lookups_;
    ++waiting_;
    cv_.notify_all();
    cv_.wait(lock, [&] { return open_; });
    --waiting_;
    lock.unlock();
    return inner_.FindUser(username);
  }
  // Waits (at most 10 s) until `waiting() + done() >= n`; `done` counts the callers that returned.
  bool WaitUntilSettled(int n, const std::atomic<int>& done) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, std::chrono::seconds(10), [&] { return waiting_ + done.load() >= n; });
  }
  void Notify() { cv_.notify_all(); }
  void Open() {
    std::lock_guard<std::mutex> lock(mu_);
    open_ = true;
    cv_.notify_all();
  }
  int lookups() {
    std::lock_guard<std::mutex> lock(mu_);
    return lookups_;
  }

  Status AddUser(const User& user, std::int64_t* id) override { return inner_.AddUser(user, id); }
  Result<LoginReservation> ReserveLoginAttempt(const std::vector<LoginSlot>& slots, std::int64_t now_ms,
                                               std::int64_t window_ms) override {
    return inner_.ReserveLoginAttempt(slots, now_ms, window_ms);
  }
  Status EndLoginAttempt(std::int64_t id, bool failed, std::int64_t now_ms) override {
    return inner_.EndLoginAttempt(id, failed, now_ms);
  }
  Status ClearLoginFailures(const std::string& key) override { return inner_.ClearLoginFailures(key); }
  Result<std::optional<User>> FindUserById(std::int64_t id) override { return inner_.FindUserById(id); }
  Result<std::vector<User>> ListUsers() override { return inner_.ListUsers(); }
  Status SetUserDisabled(const std::string& u, bool d, std::int64_t at) override {
    return inner_.SetUserDisabled(u, d, at);
  }
  Status SetPasswordHash(const std::string& u, const std::string& h, std::int64_t at) override {
    return inner_.SetPasswordHash(u, h, at);
  }
  Status AddSession(const Session& session) override { return inner_.AddSession(session); }
  Result<std::optional<Session>> FindSession(const std::string& id_hash) override {
    return inner_.FindSession(id_hash);
  }
  Status DeleteSession(const std::string& id_hash) override { return inner_.DeleteSession(id_hash); }
  Result<std::int64_t> DeleteExpiredSessions(std::int64_t now_ms) override {
    return inner_.DeleteExpiredSessions(now_ms);
  }
  Status AppendAudit(const AuditEvent& event) override { return inner_.AppendAudit(event); }
  Result<std::vector<AuditEvent>> ListAudit(std::int64_t limit) override { return inner_.ListAudit(limit); }

 private:
  UserStore& inner_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = false;
  int lookups_ = 0;
  int waiting_ = 0;
};

struct BurstOutcome {
  int ok = 0, wrong = 0, throttled = 0, lookups = 0;
  bool every_throttled_has_retry_after = true;
};

// Runs `n` logins at once (attempt i logs in as user(i) with password(i) from remote(i)) while the
// store holds every password check, then lets them finish.
template <typename UserFn, typename PasswordFn, typename RemoteFn>
BurstOutcome LoginBurst(AccessService& service, GatedUserStore& gated, int n, UserFn user,
                        PasswordFn password, RemoteFn remote) {
  BurstOutcome out;
  std::atomic<int> done{0}, ok{0}, wrong{0}, throttled{0};
  std::atomic<bool> retry_after_ok{true};
  std::vector<std::thread> threads;
  for (int i = 0; i < n; ++i) {
    threads.emplace_back([&, i] {
      std::int64_t retry = 0;
      auto r = service.Login(user(i), password(i), remote(i), &retry);
      if (r.ok()) {
        ++ok;
      } else if (r.status().code() == StatusCode::kUnauthenticated) {
        ++wrong;
      } else if (r.status().code() == StatusCode::kResourceExhausted) {
        ++throttled;
        if (retry <= 0) retry_after_ok = false;
      }
      ++done;
      gated.Notify();
    });
  }
  EXPECT_TRUE(gated.WaitUntilSettled(n, done)) << "the logins did not all reach the store or return";
  gated.Open();
  for (auto& t : threads) t.join();
  out.ok = ok;
  out.wrong = wrong;
  out.throttled = throttled;
  out.lookups = gated.lookups();
  out.every_throttled_has_retry_after = retry_after_ok;
  return out;
}

class AccessServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    sql::StoreOptions o;
    o.sqlite.path = ":memory:";
    auto store = sql::OpenStore(o);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(store).value();
    ASSERT_TRUE(store_->Migrate().ok());
    auto access = sql::OpenAccessStore(*store_);
    ASSERT_TRUE(access.ok()) << access.status();
    users_ = std::move(access).value();
    AccessOptions options;
    options.pwhash_opslimit = crypto_pwhash_OPSLIMIT_MIN;
    options.pwhash_memlimit = crypto_pwhash_MEMLIMIT_MIN;
    options.max_failures_per_account = 3;
    options.max_failures_per_address = 5;
    options.failure_window_ms = 60000;
    options.session_ttl_ms = 3600000;
    options.session_cache_ms = 0;  // always ask the store
    service_ = std::make_unique<AccessService>(*users_, areas_, options, [this] { return now_; });
    User u;
    u.username = "county";
    u.role = Role::kOfficial;
    u.areas = {"320812"};
    ASSERT_TRUE(service_->CreateUser(u, "correct horse battery", "test", "").ok());
  }

  std::int64_t CountAudit(const std::string& action) {
    auto events = users_->ListAudit(1000);
    EXPECT_TRUE(events.ok());
    std::int64_t n = 0;
    for (const auto& e : *events) n += e.action == action ? 1 : 0;
    return n;
  }

  AreaRegistry areas_ = TestAreas();
  std::unique_ptr<sql::Store> store_;
  std::unique_ptr<sql::AccessStore> users_;
  std::unique_ptr<AccessService> service_;
  std::int64_t now_ = 1'700'000'000'000;
};

TEST(PasswordTest, HashIsArgon2idAndVerifies) {
  auto hash = AccessService::HashPassword("a long enough secret", crypto_pwhash_OPSLIMIT_MIN, crypto_pwhash_MEMLIMIT_MIN);
  ASSERT_TRUE(hash.ok()) << hash.status();
  EXPECT_EQ(hash->rfind("$argon2id$", 0), 0U);
  EXPECT_TRUE(AccessService::VerifyPassword(*hash, "a long enough secret"));
  EXPECT_FALSE(AccessService::VerifyPassword(*hash, "a long enough secreT"));
  EXPECT_FALSE(AccessService::VerifyPassword("", "x"));
  EXPECT_EQ(AccessService::HashPassword("short").status().code(), StatusCode::kInvalidInput);
  EXPECT_EQ(AccessService::RandomHex(32).size(), 64U);
  EXPECT_NE(AccessService::RandomHex(16), AccessService::RandomHex(16));
  EXPECT_EQ(AccessService::Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST_F(AccessServiceTest, LoginCreatesAHashedSessionThatAuthenticates) {
  auto login = service_->Login("county", "correct horse battery", "10.0.0.1");
  ASSERT_TRUE(login.ok()) << login.status();
  EXPECT_EQ(login->session_id.size(), 64U);
  EXPECT_EQ(login->principal.session.id_hash, AccessService::Sha256Hex(login->session_id));
  EXPECT_EQ(login->principal.session.csrf_token.size(), 32U);
  // Only the hash is stored.
  EXPECT_FALSE(users_->FindSession(login->session_id)->has_value());
  EXPECT_TRUE(users_->FindSession(login->principal.session.id_hash)->has_value());

  auto who = service_->Authenticate(login->session_id);
  ASSERT_TRUE(who.ok()) << who.status();
  EXPECT_EQ(who->user.username, "county");
  EXPECT_EQ(who->user.areas, std::vector<std::string>{"320812"});
  EXPECT_EQ(CountAudit("login"), 1);

  EXPECT_EQ(service_->Authenticate("").status().code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(service_->Authenticate(std::string(64, 'a')).status().code(), StatusCode::kUnauthenticated);

  now_ += 3600000;  // expired
  EXPECT_EQ(service_->Authenticate(login->session_id).status().code(), StatusCode::kUnauthenticated);
}

TEST_F(AccessServiceTest, WrongPasswordUnknownUserAndDisabledAccountAnswerAlike) {
  auto wrong = service_->Login("county", "wrong password!", "10.0.0.1");
  auto unknown = service_->Login("nobody", "correct horse battery", "10.0.0.1");
  ASSERT_TRUE(service_->SetDisabled("county", true, "admin", "").ok());
  auto disabled = service_->Login("county", "correct horse battery", "10.0.0.1");
  for (const auto* r : {&wrong, &unknown, &disabled}) {
    EXPECT_EQ(r->status().code(), StatusCode::kUnauthenticated);
    EXPECT_EQ(r->status().message(), wrong.status().message());
  }
  EXPECT_EQ(CountAudit("login_failed"), 3);
}

TEST_F(AccessServiceTest, ThrottlesPerAccountThenLetsInAfterTheWindow) {
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(service_->Login("county", "wrong password!", "10.0.0." + std::to_string(i)).status().code(),
              StatusCode::kUnauthenticated);
  }
  std::int64_t retry = 0;
  auto throttled = service_->Login("county", "correct horse battery", "10.0.0.9", &retry);
  EXPECT_EQ(throttled.status().code(), StatusCode::kResourceExhausted);
  EXPECT_GT(retry, 0);
  EXPECT_LE(retry, 60);
  EXPECT_EQ(CountAudit("login_throttled"), 1);
  now_ += 60001;
  EXPECT_TRUE(service_->Login("county", "correct horse battery", "10.0.0.9").ok());
}

// Issue 15: two servers on one database share the counts (they are in the store), so a client cannot
// multiply its attempts by the number of servers.
TEST_F(AccessServiceTest, TwoServersOnOneDatabaseShareTheThrottle) {
  AccessService other(*users_, areas_, service_->options(), [this] { return now_; });
  for (int i = 0; i < 3; ++i) {
    AccessService& server = i % 2 == 0 ? *service_ : other;
    EXPECT_EQ(server.Login("county", "wrong password!", "10.0.0." + std::to_string(i)).status().code(),
              StatusCode::kUnauthenticated);
  }
  EXPECT_EQ(other.Login("county", "correct horse battery", "10.0.0.9").status().code(),
            StatusCode::kResourceExhausted);
  EXPECT_EQ(service_->Login("county", "correct horse battery", "10.0.0.9").status().code(),
            StatusCode::kResourceExhausted);
  now_ += 60001;
  EXPECT_TRUE(other.Login("county", "correct horse battery", "10.0.0.9").ok());
}

// GET /metrics counts refused and throttled logins (minyi_login_failures_total, _throttled_total).
TEST_F(AccessServiceTest, CountsFailedAndThrottledLogins) {
  metrics::Counter failures;
  metrics::Counter throttled;
  AccessOptions options = service_->options();
  options.login_failures = &failures;
  options.login_throttled = &throttled;
  AccessService service(*users_, areas_, options, [this] { return now_; });
  EXPECT_TRUE(service.Login("county", "correct horse battery", "10.0.0.1").ok());
  for (int i = 0; i < 3; ++i) (void)service.Login("county", "wrong password!", "10.0.0.1");
  (void)service.Login("nobody", "wrong password!", "10.0.0.2");
  EXPECT_EQ(service.Login("county", "correct horse battery", "10.0.0.1").status().code(),
            StatusCode::kResourceExhausted);
  EXPECT_EQ(failures.Value(), 4u);
  EXPECT_EQ(throttled.Value(), 1u);
}

TEST_F(AccessServiceTest, ThrottlesPerAddressAcrossAccounts) {
  for (int i = 0; i < 5; ++i) {
    (void)service_->Login("user" + std::to_string(i), "wrong password!", "10.9.9.9");
  }
  EXPECT_EQ(service_->Login("county", "correct horse battery", "10.9.9.9").status().code(),
            StatusCode::kResourceExhausted);
  EXPECT_TRUE(service_->Login("county", "correct horse battery", "10.1.1.1").ok());
}

// Regression (issue 13): the throttle counted only finished attempts, so 40 logins in parallel were all
// checked against the password (39x wrong, then the right one let in). Each attempt now takes its slot
// first: exactly `max_failures_per_account` passwords are checked, the rest are refused with a delay.
TEST_F(AccessServiceTest, ParallelLoginsOnOneAccountCheckAtMostTheLimit) {
  GatedUserStore gated(*users_);
  AccessOptions options = service_->options();
  options.max_concurrent_hashes = 1000;  // every attempt may reach the store at once
  AccessService service(gated, areas_, options, [this] { return now_; });
  BurstOutcome r = LoginBurst(
      service, gated, 40, [](int) { return std::string("county"); },
      [](int i) { return i == 39 ? "correct horse battery" : "wrong password!"; },
      [](int i) { return "10.0.1." + std::to_string(i); });
  EXPECT_EQ(r.lookups, 3);
  EXPECT_EQ(r.ok + r.wrong, 3);
  EXPECT_EQ(r.throttled, 37);
  EXPECT_TRUE(r.every_throttled_has_retry_after);
}

// Regression (issue 13): 300 parallel attempts from one address against a limit of 20 got only 25
// refusals. Every attempt beyond the address limit is now refused without a password check.
TEST_F(AccessServiceTest, ParallelLoginsFromOneAddressCheckAtMostTheLimit) {
  GatedUserStore gated(*users_);
  AccessOptions options = service_->options();
  options.max_concurrent_hashes = 1000;
  AccessService service(gated, areas_, options, [this] { return now_; });
  BurstOutcome r = LoginBurst(
      service, gated, 300, [](int i) { return "user" + std::to_string(i); },
      [](int) { return "wrong password!"; }, [](int) { return std::string("10.9.9.9"); });
  EXPECT_EQ(r.lookups, 5);
  EXPECT_EQ(r.wrong, 5);
  EXPECT_EQ(r.throttled, 295);
  EXPECT_TRUE(r.every_throttled_has_retry_after);
  // The window passes: the address may try again, and a success gives its slot back.
  now_ += 60001;
  EXPECT_TRUE(service.Login("county", "correct horse battery", "10.9.9.9").ok());
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(service.Login("user" + std::to_string(i), "wrong password!", "10.9.9.9").status().code(),
              StatusCode::kUnauthenticated);
  }
  EXPECT_EQ(service.Login("county", "correct horse battery", "10.9.9.9").status().code(),
            StatusCode::kResourceExhausted);
}

TEST_F(AccessServiceTest, LogoutDisableAndPasswordChangeEndSessions) {
  auto a = service_->Login("county", "correct horse battery", "x");
  auto b = service_->Login("county", "correct horse battery", "x");
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_TRUE(service_->Logout(a->principal, a->session_id, "x").ok());
  EXPECT_FALSE(service_->Authenticate(a->session_id).ok());
  EXPECT_TRUE(service_->Authenticate(b->session_id).ok());

  ASSERT_TRUE(service_->ChangePassword("county", "another good password", "admin", "").ok());
  EXPECT_FALSE(service_->Authenticate(b->session_id).ok());
  EXPECT_FALSE(service_->Login("county", "correct horse battery", "x").ok());
  auto c = service_->Login("county", "another good password", "x");
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE(service_->SetDisabled("county", true, "admin", "").ok());
  EXPECT_FALSE(service_->Authenticate(c->session_id).ok());
  EXPECT_EQ(service_->SetDisabled("nobody", true, "admin", "").code(), StatusCode::kNotFound);
}

// A second service (another process) trusts a validated session for session_cache_ms. When that has
// passed, one request asks the store again; a session ended meanwhile is refused from then on, however
// many requests arrive together at that moment.
TEST_F(AccessServiceTest, CachedSessionsAreCheckedAgainAfterTheCacheTime) {
  AccessOptions options;
  options.session_cache_ms = 5000;
  AccessService other(*users_, areas_, options, [this] { return now_; });
  auto a = service_->Login("county", "correct horse battery", "x");
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE(other.Authenticate(a->session_id).ok());
  ASSERT_TRUE(service_->SetDisabled("county", true, "admin", "").ok());
  EXPECT_TRUE(other.Authenticate(a->session_id).ok());  // within the cache time
  now_ += 5001;
  std::vector<std::thread> threads;
  std::atomic<int> refused{0};
  for (int i = 0; i < 16; ++i) {
    threads.emplace_back([&] { refused += other.Authenticate(a->session_id).ok() ? 0 : 1; });
  }
  for (auto& t : threads) t.join();
  EXPECT_GE(refused.load(), 1);
  EXPECT_EQ(other.Authenticate(a->session_id).status().code(), StatusCode::kUnauthenticated);
}

TEST_F(AccessServiceTest, CreateUserValidatesAndAudits) {
  User bad;
  bad.username = "x";
  bad.role = Role::kAdmin;
  EXPECT_EQ(service_->CreateUser(bad, "long enough password", "admin", "").code(), StatusCode::kInvalidInput);
  User dup;
  dup.username = "county";
  dup.role = Role::kAdmin;
  EXPECT_EQ(service_->CreateUser(dup, "long enough password", "admin", "").code(), StatusCode::kConflict);
  User weak;
  weak.username = "stat1";
  weak.role = Role::kStatistician;
  EXPECT_EQ(service_->CreateUser(weak, "short", "admin", "").code(), StatusCode::kInvalidInput);
  EXPECT_EQ(CountAudit("user_add"), 1);  // the fixture's user only
}

TEST_F(AccessServiceTest, AuditsViewsOfOtherAreasOncePerSession) {
  auto login = service_->Login("county", "correct horse battery", "x");
  ASSERT_TRUE(login.ok());
  service_->AuditView(login->principal, "320812", "x");     // home area: not audited
  service_->AuditView(login->principal, "320812001", "x");  // a town below: audited once
  service_->AuditView(login->principal, "320812001", "x");
  EXPECT_EQ(CountAudit("view_area"), 1);
}

TEST_F(AccessServiceTest, CookiesAreHttpOnlySameSiteWithExpiry) {
  const std::string cookie = service_->SessionCookie(std::string(64, 'f'));
  EXPECT_NE(cookie.find("minyi_session=ffff"), std::string::npos);
  EXPECT_NE(cookie.find("HttpOnly"), std::string::npos);
  EXPECT_NE(cookie.find("SameSite=Strict"), std::string::npos);
  EXPECT_NE(cookie.find("Max-Age=3600"), std::string::npos);
  EXPECT_EQ(cookie.find("Secure"), std::string::npos);
  EXPECT_NE(service_->ExpiredCookie().find("Max-Age=0"), std::string::npos);
}

}  // namespace
}  // namespace minyi::dashboards
