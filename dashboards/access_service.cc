#include "dashboards/access_service.h"

#include <sodium.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>

#include "core/hex.h"

namespace minyi::dashboards {
namespace {

constexpr const char* kWrongCredentials = "用户名或密码错误";

std::int64_t SystemNow() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

// Bounds the number of concurrent Argon2id computations (each takes the configured memory).
class AccessService::HashSlot {
 public:
  explicit HashSlot(AccessService& s) : s_(s) {
    std::unique_lock<std::mutex> lock(s_.hash_mu_);
    s_.hash_cv_.wait(lock, [&] { return s_.hashes_running_ < std::max(1, s_.options_.max_concurrent_hashes); });
    ++s_.hashes_running_;
  }
  HashSlot(const HashSlot&) = delete;
  HashSlot& operator=(const HashSlot&) = delete;
  ~HashSlot() {
    {
      std::lock_guard<std::mutex> lock(s_.hash_mu_);
      --s_.hashes_running_;
    }
    s_.hash_cv_.notify_one();
  }

 private:
  AccessService& s_;
};

Status AccessService::Init() {
  if (sodium_init() < 0) return Status::Internal("libsodium could not be initialized");
  return Status::Ok();
}

Result<std::string> AccessService::HashPassword(std::string_view password, unsigned long long opslimit,
                                                std::size_t memlimit) {
  MINYI_RETURN_IF_ERROR(CheckPasswordPolicy(password));
  MINYI_RETURN_IF_ERROR(Init());
  char out[crypto_pwhash_STRBYTES];
  if (crypto_pwhash_str_alg(out, password.data(), password.size(),
                            opslimit != 0 ? opslimit : crypto_pwhash_OPSLIMIT_INTERACTIVE,
                            memlimit != 0 ? memlimit : crypto_pwhash_MEMLIMIT_INTERACTIVE,
                            crypto_pwhash_ALG_ARGON2ID13) != 0) {
    return Status::ResourceExhausted("password hashing: not enough memory");
  }
  return std::string(out);
}

bool AccessService::VerifyPassword(const std::string& hash, std::string_view password) {
  if (hash.empty() || hash.size() >= crypto_pwhash_STRBYTES) return false;
  return crypto_pwhash_str_verify(hash.c_str(), password.data(), password.size()) == 0;
}

std::string AccessService::RandomHex(std::size_t bytes) {
  std::vector<unsigned char> buf(bytes);
  randombytes_buf(buf.data(), buf.size());
  return HexOf(buf.data(), buf.size());
}

std::string AccessService::GeneratePassword(std::string_view username) {
  static constexpr std::string_view kAlphabet = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
  (void)Init();
  std::string out;
  do {  // drawn again in the rare case that it holds the user name
    out.clear();
    for (int i = 0; i < 16; ++i) {
      out += kAlphabet[randombytes_uniform(static_cast<std::uint32_t>(kAlphabet.size()))];
    }
  } while (!CheckPasswordPolicy(out, username).ok());
  return out;
}

std::string AccessService::Sha256Hex(std::string_view text) {
  unsigned char digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(digest, reinterpret_cast<const unsigned char*>(text.data()), text.size());
  return HexOf(digest, sizeof digest);
}

AccessService::AccessService(UserStore& store, const AreaRegistry& areas, AccessOptions options, Clock now)
    : store_(store), areas_(areas), options_(options), now_(now ? std::move(now) : Clock(SystemNow)) {
  (void)Init();
  auto dummy = HashPassword(RandomHex(16), options_.pwhash_opslimit, options_.pwhash_memlimit);
  if (dummy.ok()) dummy_hash_ = std::move(dummy).value();
}

Result<std::vector<std::int64_t>> AccessService::ReserveAttempt(const std::vector<LoginSlot>& slots,
                                                                std::int64_t now, bool* reserved,
                                                                std::int64_t* retry_after_s) {
  auto r = store_.ReserveLoginAttempt(slots, now, options_.failure_window_ms);
  if (!r.ok()) return r.status();
  *reserved = r->reserved;
  if (!r->reserved && retry_after_s != nullptr) {
    *retry_after_s = std::max<std::int64_t>(1, (r->retry_after_ms + 999) / 1000);
  }
  return std::move(r->ids);
}

void AccessService::EndAttempt(const std::vector<std::int64_t>& ids, bool failed, std::int64_t now) {
  for (std::int64_t id : ids) {
    // A slot the store could not end stays taken until it leaves the window (fails safe).
    const Status ended = store_.EndLoginAttempt(id, failed, now);
    (void)ended;
  }
}

void AccessService::ClearFailures(const std::string& key) { (void)store_.ClearLoginFailures(key); }

Result<LoginResult> AccessService::Login(const std::string& username, std::string_view password,
                                         const std::string& remote, std::int64_t* retry_after_s) {
  const std::int64_t now = now_();
  const std::string account_key = "u:" + username;
  const std::string address_key = "a:" + remote;
  AuditEvent event;
  event.username = username.substr(0, 64);
  event.remote_address = remote;
  std::int64_t wait_s = 0;
  // The slots are taken before the password is checked: a burst of parallel attempts cannot all pass a
  // check that only counts finished ones.
  bool reserved = false;
  auto slots = ReserveAttempt(
      {{account_key, options_.max_failures_per_account}, {address_key, options_.max_failures_per_address}},
      now, &reserved, &wait_s);
  if (!slots.ok()) return slots.status();
  if (!reserved) {
    event.action = "login_throttled";
    Audit(event);
    if (options_.login_throttled != nullptr) options_.login_throttled->Inc();
    if (retry_after_s != nullptr) *retry_after_s = wait_s;
    return Status::ResourceExhausted("登录失败次数过多，请 " + std::to_string((wait_s + 59) / 60) + " 分钟后再试");
  }

  std::optional<User> user;
  bool password_ok = false;
  {
    HashSlot slot(*this);
    auto found = store_.FindUser(username);
    if (!found.ok()) {
      // Not an answer about the password: the slots are given back.
      EndAttempt(*slots, false, now);
      return found.status();
    }
    user = std::move(found).value();
    if (user) {
      password_ok = VerifyPassword(user->password_hash, password);
    } else {
      (void)VerifyPassword(dummy_hash_, password);  // same work as for a known user
    }
  }
  const bool failed = !user || !password_ok || user->disabled;
  EndAttempt(*slots, failed, now);
  if (failed) {
    event.action = "login_failed";
    event.detail = !user ? "unknown user" : (!password_ok ? "wrong password" : "account disabled");
    Audit(event);
    if (options_.login_failures != nullptr) options_.login_failures->Inc();
    return Status::Unauthenticated(kWrongCredentials);
  }
  ClearFailures(account_key);

  LoginResult result;
  result.session_id = RandomHex(32);
  Session& session = result.principal.session;
  session.id_hash = Sha256Hex(result.session_id);
  session.user_id = user->id;
  session.csrf_token = RandomHex(16);
  session.created_at_ms = now;
  session.expires_at_ms = now + options_.session_ttl_ms;
  session.remote_address = remote;
  MINYI_RETURN_IF_ERROR(store_.AddSession(session));
  result.principal.user = std::move(*user);
  event.action = "login";
  event.detail = std::string(RoleName(result.principal.user.role));
  Audit(event);
  // Expired sessions are removed now and then (here rather than on a timer: logins are rare).
  auto deleted = store_.DeleteExpiredSessions(now);
  if (!deleted.ok()) spdlog::warn("deleting expired sessions: {}", deleted.status().ToString());
  return result;
}

Result<Principal> AccessService::Authenticate(std::string_view session_id) {
  if (session_id.size() != 64) return Status::Unauthenticated("请先登录");
  const std::string id_hash = Sha256Hex(session_id);
  const std::int64_t now = now_();
  {
    std::lock_guard<std::mutex> lock(cache_mu_);
    auto it = cache_.find(id_hash);
    if (it != cache_.end()) {
      CachedSession& cached = it->second;
      if (cached.principal.session.expires_at_ms <= now) {
        cache_.erase(it);
      } else if (now - cached.fetched_at_ms < options_.session_cache_ms || cached.refreshing) {
        // Fresh; or stale while one request asks the store: the others keep the answer of moments
        // ago rather than all asking at once (a dashboard's many connections share one session).
        return cached.principal;
      } else {
        cached.refreshing = true;  // this request asks the store
      }
    }
  }
  // Whatever the store says, this request's refresh is over; a failed one leaves the entry stale.
  auto forget = [&](bool drop) {
    std::lock_guard<std::mutex> lock(cache_mu_);
    auto it = cache_.find(id_hash);
    if (it == cache_.end()) return;
    if (drop) {
      cache_.erase(it);
    } else {
      it->second.refreshing = false;
    }
  };
  auto session = store_.FindSession(id_hash);
  if (!session.ok()) {
    forget(false);
    return session.status();
  }
  if (!session->has_value() || (*session)->expires_at_ms <= now) {
    forget(true);
    return Status::Unauthenticated("登录已过期，请重新登录");
  }
  auto user = store_.FindUserById((*session)->user_id);
  if (!user.ok()) {
    forget(false);
    return user.status();
  }
  if (!user->has_value() || (*user)->disabled) {
    forget(true);
    return Status::Unauthenticated("账号已停用");
  }
  Principal principal{std::move(**user), std::move(**session)};
  {
    std::lock_guard<std::mutex> lock(cache_mu_);
    if (cache_.size() > 10000) cache_.clear();
    cache_[id_hash] = CachedSession{principal, now, false};
  }
  return principal;
}

Status AccessService::Logout(const Principal& principal, std::string_view session_id, const std::string& remote) {
  const std::string id_hash = Sha256Hex(session_id);
  {
    std::lock_guard<std::mutex> lock(cache_mu_);
    cache_.erase(id_hash);
  }
  MINYI_RETURN_IF_ERROR(store_.DeleteSession(id_hash));
  AuditEvent event;
  event.username = principal.user.username;
  event.action = "logout";
  event.remote_address = remote;
  Audit(event);
  return Status::Ok();
}

void AccessService::ForgetSessionsOf(std::int64_t user_id) {
  std::lock_guard<std::mutex> lock(cache_mu_);
  for (auto it = cache_.begin(); it != cache_.end();) {
    if (it->second.principal.user.id == user_id) {
      it = cache_.erase(it);
    } else {
      ++it;
    }
  }
}

Status AccessService::CreateUser(User user, std::string_view password, const std::string& actor,
                                 const std::string& remote) {
  MINYI_RETURN_IF_ERROR(NormalizeUser(&user, areas_));
  MINYI_RETURN_IF_ERROR(CheckPasswordPolicy(password, user.username));
  Result<std::string> hash = Status::Internal("unset");
  {
    HashSlot slot(*this);
    hash = HashPassword(password, options_.pwhash_opslimit, options_.pwhash_memlimit);
  }
  if (!hash.ok()) return hash.status();
  user.password_hash = std::move(hash).value();
  user.created_at_ms = user.updated_at_ms = now_();
  MINYI_RETURN_IF_ERROR(store_.AddUser(user, &user.id));
  AuditEvent event;
  event.username = actor;
  event.action = "user_add";
  event.remote_address = remote;
  event.detail = user.username + " " + std::string(RoleName(user.role));
  for (const auto& a : user.areas) event.detail += " " + a;
  Audit(event);
  return Status::Ok();
}

Status AccessService::SetDisabled(const std::string& username, bool disabled, const std::string& actor,
                                  const std::string& remote) {
  auto user = store_.FindUser(username);
  if (!user.ok()) return user.status();
  if (!user->has_value()) return Status::NotFound("no user '" + username + "'");
  MINYI_RETURN_IF_ERROR(store_.SetUserDisabled(username, disabled, now_()));
  ForgetSessionsOf((*user)->id);
  AuditEvent event;
  event.username = actor;
  event.action = disabled ? "user_disable" : "user_enable";
  event.remote_address = remote;
  event.detail = username;
  Audit(event);
  return Status::Ok();
}

Status AccessService::ChangePassword(const std::string& username, std::string_view password,
                                     const std::string& actor, const std::string& remote) {
  auto user = store_.FindUser(username);
  if (!user.ok()) return user.status();
  if (!user->has_value()) return Status::NotFound("no user '" + username + "'");
  MINYI_RETURN_IF_ERROR(CheckPasswordPolicy(password, username));
  Result<std::string> hash = Status::Internal("unset");
  {
    HashSlot slot(*this);
    hash = HashPassword(password, options_.pwhash_opslimit, options_.pwhash_memlimit);
  }
  if (!hash.ok()) return hash.status();
  MINYI_RETURN_IF_ERROR(store_.SetPasswordHash(username, hash.value(), now_()));
  ForgetSessionsOf((*user)->id);
  ClearFailures("u:" + username);
  AuditEvent event;
  event.username = actor;
  event.action = "password_change";
  event.remote_address = remote;
  event.detail = username;
  Audit(event);
  return Status::Ok();
}

void AccessService::Audit(AuditEvent event) {
  if (event.at_ms == 0) event.at_ms = now_();
  Status s = store_.AppendAudit(event);
  if (!s.ok()) spdlog::error("audit log write failed ({} {}): {}", event.action, event.username, s.ToString());
}

void AccessService::AuditView(const Principal& principal, const std::string& area_code, const std::string& remote) {
  if (IsHomeArea(principal.user, area_code)) return;
  {
    std::lock_guard<std::mutex> lock(cache_mu_);
    if (viewed_.size() > 100000) viewed_.clear();
    if (!viewed_.emplace(principal.session.id_hash, area_code).second) return;
  }
  AuditEvent event;
  event.username = principal.user.username;
  event.action = "view_area";
  event.area_code = area_code;
  event.remote_address = remote;
  Audit(event);
}

std::string AccessService::SessionCookie(const std::string& session_id) const {
  return std::string(kSessionCookie) + "=" + session_id + "; Path=/; Max-Age=" +
         std::to_string(options_.session_ttl_ms / 1000) + "; HttpOnly; SameSite=Strict" +
         (options_.secure_cookie ? "; Secure" : "");
}

std::string AccessService::ExpiredCookie() const {
  return std::string(kSessionCookie) + "=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict" +
         (options_.secure_cookie ? "; Secure" : "");
}

}  // namespace minyi::dashboards
