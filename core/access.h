// Access control vocabulary (issue 7): roles, users scoped to areas, sessions, audit events, and the
// UserStore port through which the access service keeps them. The SQL stores implement the port in
// sql/sqlite_access.cc and sql/mysql_access.cc (see sql/access_store.h).
//
// Scope rules (deny by default):
//   admin         every area; manages accounts; sees figures as published (low-n suppressed)
//   statistician  every area; sees low-n figures (flagged), not suppressed
//   official      only the areas it is assigned (a town, county, city or the province) and everything
//                 below them; low-n figures suppressed
//   grid_worker   assigned towns; no dashboard access (may upload exports, issue 5)
//
// Secrets are never stored: passwords as Argon2id strings (libsodium crypto_pwhash_str), session ids
// as the hex SHA-256 of 256 random bits. Thread safety: every UserStore implementation is safe to call
// from several threads at once.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/areas.h"
#include "core/status.h"

namespace minyi {

enum class Role { kAdmin, kStatistician, kOfficial, kGridWorker };
std::string_view RoleName(Role role);  // "admin", "statistician", "official", "grid_worker"
std::optional<Role> ParseRole(std::string_view name);
std::string_view RoleLabel(Role role);  // Chinese label for pages: "管理员", "统计人员", "官员", "网格员"

struct User {
  std::int64_t id = 0;  // assigned by the store
  std::string username;
  Role role = Role::kOfficial;
  std::vector<std::string> areas;  // area codes (sorted, unique); required for official and grid_worker
  std::string password_hash;       // crypto_pwhash_str output ("$argon2id$..."); never logged
  bool disabled = false;
  std::int64_t created_at_ms = 0;
  std::int64_t updated_at_ms = 0;
};

// A username is 3..32 characters of [a-z0-9_.-], starting with a letter or digit.
Status ValidateUsername(std::string_view username);

// Checks a user record before it is stored: username, role-specific area rules (official: at least
// one known area; grid_worker: at least one known town; admin/statistician: no areas), known codes.
// Sorts and de-duplicates `user->areas`. kInvalidInput names the problem.
Status NormalizeUser(User* user, const AreaRegistry& areas);

// True when `user` may see figures of `area_code` (the rules above). Unknown codes are never in scope.
bool InScope(const User& user, const AreaRegistry& areas, std::string_view area_code);
// True when `area_code` is exactly one of the user's assigned areas (or the province for roles that
// see everything): viewing anything else is audited as a view of another area.
bool IsHomeArea(const User& user, std::string_view area_code);
// The areas a user starts from: its assigned areas, or the province ("32") for admin/statistician.
std::vector<std::string> HomeAreas(const User& user, const AreaRegistry& areas);
// Whether low-n figures are shown (statisticians) or suppressed (everyone else).
bool SeesLowN(Role role);
// Whether the role may use the dashboards at all.
bool MayViewDashboards(Role role);

struct Session {
  std::string id_hash;     // hex SHA-256 of the session id sent in the cookie; primary key
  std::int64_t user_id = 0;
  std::string csrf_token;  // random; must accompany state-changing requests (X-CSRF-Token)
  std::int64_t created_at_ms = 0;
  std::int64_t expires_at_ms = 0;
  std::string remote_address;
};

struct AuditEvent {
  std::int64_t id = 0;  // assigned by the store
  std::int64_t at_ms = 0;
  std::string username;        // as given (failed logins may name unknown users)
  std::string action;          // "login", "login_failed", "login_throttled", "logout", "view_area",
                               // "export", "user_add", "user_disable", "user_enable", "password_change"
  std::string area_code;       // the area viewed or exported; empty when none
  std::string remote_address;  // empty for the command line
  std::string detail;          // short free text (never a secret)
};

// One throttle counter a login attempt takes a slot in: "u:<username>" or "a:<address>", and how many
// attempts (failed, or being checked) it allows within the window.
struct LoginSlot {
  std::string key;
  int limit = 1;
};

struct LoginReservation {
  bool reserved = false;
  std::vector<std::int64_t> ids;    // one per slot, in order, when reserved
  std::int64_t retry_after_ms = 0;  // when refused: until a slot frees
};

class UserStore {
 public:
  virtual ~UserStore() = default;

  // Login throttling, counted in the database so that every server sees every attempt. Takes a slot in
  // each of `slots` at once, or in none: refused when a slot's key already has `limit` attempts (failed,
  // or still being checked) after now_ms - window_ms. Reservations of one key are serialized
  // across connections and servers.
  virtual Result<LoginReservation> ReserveLoginAttempt(const std::vector<LoginSlot>& slots,
                                                       std::int64_t now_ms, std::int64_t window_ms) = 0;
  // Ends a reserved attempt: a failure keeps its slot (as a failure at now_ms) until it leaves the
  // window; otherwise the slot is given back.
  virtual Status EndLoginAttempt(std::int64_t id, bool failed, std::int64_t now_ms) = 0;
  // Forgets the failures of `key` (attempts being checked still count).
  virtual Status ClearLoginFailures(const std::string& key) = 0;

  // Stores a new user (already normalized). On OK `*id` (when not null) is the new id. kConflict
  // when the username exists; kInvalidInput for missing fields.
  virtual Status AddUser(const User& user, std::int64_t* id) = 0;
  // nullopt when unknown.
  virtual Result<std::optional<User>> FindUser(const std::string& username) = 0;
  virtual Result<std::optional<User>> FindUserById(std::int64_t id) = 0;
  // Every user, ordered by username.
  virtual Result<std::vector<User>> ListUsers() = 0;
  // Disables (or re-enables) an account; disabling also deletes its sessions. kNotFound when unknown.
  virtual Status SetUserDisabled(const std::string& username, bool disabled, std::int64_t at_ms) = 0;
  // Replaces the password hash and deletes the user's sessions. kNotFound when unknown.
  virtual Status SetPasswordHash(const std::string& username, const std::string& password_hash,
                                 std::int64_t at_ms) = 0;

  // kConflict when the id hash exists.
  virtual Status AddSession(const Session& session) = 0;
  // nullopt when unknown (expired sessions are returned; the caller checks expires_at_ms).
  virtual Result<std::optional<Session>> FindSession(const std::string& id_hash) = 0;
  // Deleting an unknown session is OK.
  virtual Status DeleteSession(const std::string& id_hash) = 0;
  // Deletes sessions that expired before `now_ms`; returns how many.
  virtual Result<std::int64_t> DeleteExpiredSessions(std::int64_t now_ms) = 0;

  virtual Status AppendAudit(const AuditEvent& event) = 0;
  // The newest `limit` events, newest first.
  virtual Result<std::vector<AuditEvent>> ListAudit(std::int64_t limit) = 0;
};

}  // namespace minyi
