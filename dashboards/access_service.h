// The access service: password hashing (Argon2id, libsodium), logins with throttling, sessions,
// CSRF tokens and the audit log, over the UserStore port (core/access.h).
//
// Sessions: the cookie carries 256 random bits (hex); the store keeps only their SHA-256, so a copy of
// the database does not let anyone log in. A session ends at a fixed expiry (no sliding), at logout,
// or when its user is disabled or changes password. Each session has a CSRF token the pages send back
// in the X-CSRF-Token header with every state-changing request.
//
// Throttling (in memory, per process): login attempts are counted per account and per client address
// in a sliding window. An attempt takes a slot in both counters BEFORE its password is checked (one
// atomic step), so with a limit of L at most L attempts per account and per address are ever checked
// against a password within the window, however many arrive at once; the others are refused without
// checking. A failed attempt keeps its slots until the window has passed; a successful one gives its
// address slot back and clears the account's failures. Password hashing is CPU- and memory-hard, so at
// most `max_concurrent_hashes` run at once; other logins wait.
//
// Thread safety: all methods may be called from several threads at once.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/access.h"
#include "core/areas.h"
#include "core/metrics.h"
#include "core/status.h"
#include "dashboards/password_policy.h"

namespace minyi::dashboards {

struct AccessOptions {
  std::int64_t session_ttl_ms = 8LL * 3600 * 1000;
  bool secure_cookie = false;            // add "Secure" (deployments behind TLS)
  int max_failures_per_account = 5;      // within failure_window_ms
  int max_failures_per_address = 20;
  std::int64_t failure_window_ms = 15LL * 60 * 1000;
  int max_concurrent_hashes = 2;
  std::int64_t session_cache_ms = 5000;  // how long a validated session is trusted without the store
  // Argon2id cost; 0 = libsodium's INTERACTIVE limits (2 passes, 64 MiB). Tests use the minimum.
  unsigned long long pwhash_opslimit = 0;
  std::size_t pwhash_memlimit = 0;
  // Optional (core/metrics.h), owned by the caller and outliving the service: logins refused for a wrong
  // user, password or a disabled account, and logins refused by the throttle.
  metrics::Counter* login_failures = nullptr;
  metrics::Counter* login_throttled = nullptr;
};

inline constexpr std::string_view kSessionCookie = "minyi_session";

// A logged-in caller: the user as loaded when the session was validated, and the session.
struct Principal {
  User user;
  Session session;
};

struct LoginResult {
  std::string session_id;  // the secret for the cookie; never stored
  Principal principal;
};

class AccessService {
 public:
  using Clock = std::function<std::int64_t()>;  // Unix milliseconds

  // Initializes libsodium (idempotent). kInternal when it cannot be initialized.
  static Status Init();
  // An Argon2id string (crypto_pwhash_str). kInvalidInput for a password the policy refuses
  // (password_policy.h, without a user name); kResourceExhausted when the memory for hashing is not
  // available.
  static Result<std::string> HashPassword(std::string_view password, unsigned long long opslimit = 0,
                                          std::size_t memlimit = 0);
  static bool VerifyPassword(const std::string& hash, std::string_view password);
  // `bytes` random bytes as lowercase hex.
  static std::string RandomHex(std::size_t bytes);
  // A random password of 16 characters from an unambiguous alphabet (about 90 bits) that the policy
  // accepts for `username` (password_policy.h).
  static std::string GeneratePassword(std::string_view username = {});
  // Lowercase hex SHA-256.
  static std::string Sha256Hex(std::string_view text);

  // `store` and `areas` must outlive the service. `now` defaults to the system clock.
  AccessService(UserStore& store, const AreaRegistry& areas, AccessOptions options, Clock now = {});

  // kUnauthenticated ("用户名或密码错误") for an unknown user, a wrong password or a disabled account
  // (the same answer, in about the same time); kResourceExhausted when throttled (retry_after_s, when
  // not null, says when to retry). Every attempt is audited.
  Result<LoginResult> Login(const std::string& username, std::string_view password, const std::string& remote,
                            std::int64_t* retry_after_s = nullptr);
  // The caller of a session id from a cookie. kUnauthenticated when unknown, expired or the user is
  // disabled; kUnavailable when the store fails.
  Result<Principal> Authenticate(std::string_view session_id);
  // Ends the session (idempotent) and audits it.
  Status Logout(const Principal& principal, std::string_view session_id, const std::string& remote);

  // Account management (CLI and admin page). `actor` names who did it in the audit log. A password the
  // policy refuses for that user (password_policy.h) is kInvalidInput.
  Status CreateUser(User user, std::string_view password, const std::string& actor, const std::string& remote);
  Status SetDisabled(const std::string& username, bool disabled, const std::string& actor,
                     const std::string& remote);
  Status ChangePassword(const std::string& username, std::string_view password, const std::string& actor,
                        const std::string& remote);
  Result<std::vector<User>> ListUsers() { return store_.ListUsers(); }
  Result<std::vector<AuditEvent>> ListAudit(std::int64_t limit) { return store_.ListAudit(limit); }

  // Appends an audit event (time filled in when 0). Failures are logged, not returned: auditing must
  // not take the dashboards down, but a failed audit write is visible in the log.
  void Audit(AuditEvent event);
  // Audits a view of `area_code` once per session when it is not one of the caller's home areas.
  void AuditView(const Principal& principal, const std::string& area_code, const std::string& remote);

  // Set-Cookie values.
  std::string SessionCookie(const std::string& session_id) const;
  std::string ExpiredCookie() const;

  const AreaRegistry& areas() const { return areas_; }
  const AccessOptions& options() const { return options_; }
  std::int64_t Now() const { return now_(); }

 private:
  struct CachedSession {
    Principal principal;
    std::int64_t fetched_at_ms = 0;
    bool refreshing = false;  // one request is asking the store; the others use `principal` meanwhile
  };

  // Throttling, counted in the store (UserStore::ReserveLoginAttempt) so that every server sees every
  // attempt. Takes a slot in each of `slots` at once, or in none; *reserved false (with *retry_after_s)
  // when any of them is full. A store failure is returned.
  Result<std::vector<std::int64_t>> ReserveAttempt(const std::vector<LoginSlot>& slots, std::int64_t now,
                                                   bool* reserved, std::int64_t* retry_after_s);
  // Ends the attempts ReserveAttempt let through: failures keep their slots until the window has passed.
  void EndAttempt(const std::vector<std::int64_t>& ids, bool failed, std::int64_t now);
  // Forgets the failures of `key` (attempts in flight still count).
  void ClearFailures(const std::string& key);
  void ForgetSessionsOf(std::int64_t user_id);

  class HashSlot;

  UserStore& store_;
  const AreaRegistry& areas_;
  AccessOptions options_;
  Clock now_;
  std::string dummy_hash_;  // verified against for unknown users, so they take as long as known ones

  std::mutex hash_mu_;
  std::condition_variable hash_cv_;
  int hashes_running_ = 0;

  std::mutex cache_mu_;
  std::unordered_map<std::string, CachedSession> cache_;  // by id hash
  std::set<std::pair<std::string, std::string>> viewed_;  // (session id hash, area) already audited
};

}  // namespace minyi::dashboards
